"""Tests of TrainConfig, the training data pipeline and the training loop (tiny configs)."""

from __future__ import annotations

import json
import subprocess
import sys
import os
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from recon_core.phantoms import random_ellipses
from recon_core.ops.fft import fft2c, ifft2c
from recon_core.masks import make_mask
from recon_core.dl.models import ResCNN, UnrolledNet
from recon_core.dl.config import DEFAULT_RESCNN, DEFAULT_UNROLLED, TrainConfig
from recon_core.dl.training import (
    TrainProgress,
    build_model,
    make_optimizer,
    load_checkpoint_info,
    train,
    validate,
)
from recon_core.dl.data import (
    HELD_OUT_SEED,
    VALIDATION_SEED,
    example_mask,
    train_dataset,
    train_seed,
    validation_set,
)

ROOT = Path(__file__).resolve().parents[2]

TINY = dict(n_convs=2, n_filters=4, n_cascades=2, image_size=32, steps=4, batch_size=2,
            n_val=2, val_every=2, learning_rate=1e-2)


def _env(**extra):
    return {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3", **extra}


def tiny(model="rescnn", **changes) -> TrainConfig:
    return TrainConfig(model=model, **{**TINY, **changes})


# ------------------------------------------------------------------------------ TrainConfig


def test_config_dict_roundtrip_and_hash():
    c = tiny("unrolled", dc="soft")
    assert TrainConfig.from_dict(c.to_dict()) == c
    assert TrainConfig.from_dict(json.loads(json.dumps(c.to_dict()))).config_hash() == c.config_hash()
    assert c.replace(steps=5).config_hash() != c.config_hash()
    assert c.replace(dc="hard").config_hash() != c.config_hash()
    # Equal values of other types give the same hash; unrolled-only fields do not split ResCNN.
    assert tiny(accel=4).config_hash() == tiny(accel=4.0).config_hash()
    assert tiny(n_cascades=7).config_hash() == tiny().config_hash()
    assert tiny(n_convs=np.int64(2)).config_hash() == tiny().config_hash()


def test_config_hash_is_stable():
    """The hash is a pure function of the canonical JSON (no Python hash randomisation)."""
    code = ("from recon_core.dl.config import DEFAULT_RESCNN as c; "
            "print(c.config_hash())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=ROOT, env=_env(PYTHONHASHSEED="123"))
    assert out.stdout.strip() == DEFAULT_RESCNN.config_hash()
    assert '"format_version":' in DEFAULT_RESCNN.canonical_json()


@pytest.mark.parametrize("changes, match", [
    (dict(model="unet"), "model"),
    (dict(dc="medium"), "data-consistency"),
    (dict(mask_kind="spiral"), "mask kind"),
    (dict(steps=0), "steps"),
    (dict(batch_size=1.5), "batch_size"),
    (dict(accel=0.5), "accel"),
    (dict(learning_rate=-1.0), "learning_rate"),
    (dict(lr_schedule="step"), "lr_schedule"),
    (dict(fixed_mask=1), "fixed_mask"),
    (dict(crop_size=64), "crop_size"),
    (dict(model="unrolled", crop_size=16), "whole k-space"),
])
def test_config_rejects_bad_values(changes, match):
    with pytest.raises(ValueError, match=match):
        tiny(**changes)


def test_config_from_dict_rejects_unknown_keys():
    with pytest.raises(ValueError, match="unknown TrainConfig field"):
        TrainConfig.from_dict({**tiny().to_dict(), "dropout": 0.1})


def test_default_configs():
    assert (DEFAULT_RESCNN.n_convs, DEFAULT_RESCNN.n_filters) == (10, 32)
    assert DEFAULT_RESCNN.learning_rate == 1e-3 and DEFAULT_RESCNN.batch_size == 8
    assert DEFAULT_RESCNN.accel == 4 and DEFAULT_RESCNN.mask_kind == "random"
    assert DEFAULT_UNROLLED.model == "unrolled" and DEFAULT_UNROLLED.crop_size == 0
    assert DEFAULT_RESCNN.config_hash() != DEFAULT_UNROLLED.config_hash()


def test_default_config_hashes_never_change():
    """The cache keys of the shipped networks: a change invalidates recon_core/weights/ and
    every user's model cache. New fields must leave these hashes alone (see _ADDED_FIELDS)."""
    assert DEFAULT_RESCNN.config_hash() == "52ca6abda01b4ed1"
    assert DEFAULT_UNROLLED.config_hash() == "dbfb98dd92bf57f0"
    assert TrainConfig().config_hash() == "fa4b873e29f9ddc2"
    for name, config in (("rescnn", DEFAULT_RESCNN), ("unrolled", DEFAULT_UNROLLED)):
        meta = json.loads((ROOT / "recon_core" / "weights" / f"{name}_default.json").read_text())
        assert meta["config_hash"] == config.config_hash()
        assert TrainConfig.from_dict(meta["config"]) == config


def test_normalise_option_is_hashed_only_when_off():
    c = tiny()
    assert c.normalise is True and '"normalise"' not in c.canonical_json()
    off = c.replace(normalise=False)
    assert off.config_hash() != c.config_hash() and '"normalise":false' in off.canonical_json()
    assert TrainConfig.from_dict(json.loads(json.dumps(off.to_dict()))) == off
    old = {k: v for k, v in c.to_dict().items() if k != "normalise"}  # a config saved before it
    assert TrainConfig.from_dict(old) == c
    with pytest.raises(ValueError, match="normalise must be True or False"):
        tiny(normalise=1)


def test_unnormalised_examples_keep_the_data_scale():
    c = tiny(batch_size=3, normalise=False)
    (x, y), = _first(train_dataset(c))
    s = train_seed(c.seed)
    image = random_ellipses(32, seed=s)
    zf = np.abs(ifft2c(fft2c(image) * example_mask(c, s)))
    np.testing.assert_allclose(x[0, ..., 0], zf, atol=1e-5)
    np.testing.assert_allclose(y[0, ..., 0], image, atol=1e-6)
    ((zf2, k2, _), y2), = _first(train_dataset(tiny("unrolled", normalise=False)))
    ((zf1, k1, _), y1), = _first(train_dataset(tiny("unrolled")))
    scale = np.abs(zf2[0, ..., 0].numpy() + 1j * zf2[0, ..., 1].numpy()).max()
    np.testing.assert_allclose(k1[0].numpy() * scale, k2[0].numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(y1[0].numpy() * scale, y2[0].numpy(), rtol=1e-4, atol=1e-5)


def test_unnormalised_training_validates_without_normalisation():
    c = tiny(normalise=False, steps=2, val_every=2)
    result = train(c)
    data = validation_set(c)
    assert result.history["val_psnr"][-1] == pytest.approx(validate(result.model, data, False)[0])
    assert validate(result.model, data, False) != validate(result.model, data, True)


# ---------------------------------------------------------------------------- data pipeline


def _first(ds, n=1):
    return [b for b, _ in zip(ds, range(n))]


def test_rescnn_examples_are_normalised_zero_filled_magnitudes():
    c = tiny(batch_size=3)
    (x, y), = _first(train_dataset(c))
    assert x.shape == (3, 32, 32, 1) and y.shape == (3, 32, 32, 1)
    # Reference computed independently with NumPy.
    s = train_seed(c.seed)
    image = random_ellipses(32, seed=s)
    mask = example_mask(c, s)
    zf = np.abs(ifft2c(fft2c(image) * mask))
    np.testing.assert_allclose(x[0, ..., 0], zf / zf.max(), atol=1e-5)
    np.testing.assert_allclose(y[0, ..., 0], image / zf.max(), atol=1e-5)
    assert float(tf.reduce_max(x[0])) == pytest.approx(1.0, abs=1e-6)


def test_unrolled_examples():
    c = tiny("unrolled")
    ((zf, k, m), y), = _first(train_dataset(c))
    assert zf.shape == (2, 32, 32, 2) and k.shape == (2, 32, 32, 2) and m.shape == (2, 32, 32, 1)
    assert y.shape == (2, 32, 32, 2)
    np.testing.assert_array_equal(y[..., 1], 0.0)  # real ground truth
    kc = k[..., 0].numpy() + 1j * k[..., 1].numpy()
    assert np.all(kc[m[..., 0].numpy() == 0] == 0)  # k-space is zero where not sampled
    np.testing.assert_allclose(ifft2c(kc), zf[..., 0].numpy() + 1j * zf[..., 1].numpy(), atol=1e-5)


def test_crops_are_taken_after_zero_filling():
    c = tiny(image_size=64, crop_size=16)
    (x, y), = _first(train_dataset(c))
    assert x.shape == (2, 16, 16, 1)
    # The crop of the input is a window of the full-size zero-filled image.
    s = train_seed(c.seed)
    zf = np.abs(ifft2c(fft2c(random_ellipses(64, seed=s)) * example_mask(c, s)))
    zf = zf / zf.max()
    win = np.lib.stride_tricks.sliding_window_view(zf, (16, 16))
    err = np.abs(win - x[0, ..., 0].numpy()).max(axis=(-2, -1))
    assert err.min() < 1e-5


def test_pipeline_is_deterministic_and_resumable():
    c = tiny()
    a = _first(train_dataset(c), 3)
    b = _first(train_dataset(c), 3)
    for (xa, ya), (xb, yb) in zip(a, b):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    (x2, _), = _first(train_dataset(c, start_step=2))
    np.testing.assert_array_equal(x2, a[2][0])
    (xs, _), = _first(train_dataset(c.replace(seed=1)))
    assert not np.array_equal(xs, a[0][0])


def test_fixed_and_fresh_masks():
    fixed = tiny("unrolled", fixed_mask=True, mask_seed=3, batch_size=4)
    ((_, _, m), _), = _first(train_dataset(fixed))
    expected = make_mask((32, 32), 4.0, kind="random", seed=3)
    for i in range(4):
        np.testing.assert_array_equal(m[i, ..., 0].numpy().astype(bool), expected)
    fresh = fixed.replace(fixed_mask=False)
    ((_, _, m), _), = _first(train_dataset(fresh))
    assert len({m[i].numpy().tobytes() for i in range(4)}) == 4


def test_validation_set_is_fixed_and_disjoint():
    c = tiny(n_val=3)
    images, kspace, masks = validation_set(c)
    assert images.shape == (3, 32, 32) and kspace.dtype == np.complex64 and masks.dtype == bool
    np.testing.assert_array_equal(images[1], random_ellipses(32, seed=VALIDATION_SEED + 1))
    np.testing.assert_array_equal(kspace, (fft2c(images) * masks).astype(np.complex64))
    again = validation_set(c)
    np.testing.assert_array_equal(again[2], masks)
    assert train_seed(0) > HELD_OUT_SEED + 10_000 > VALIDATION_SEED + 10_000


# ------------------------------------------------------------------------------ training


def test_build_model():
    assert isinstance(build_model(tiny()), ResCNN)
    net = build_model(tiny("unrolled", dc="soft"))
    assert isinstance(net, UnrolledNet) and net.n_cascades == 2 and net.dc == "soft"


def test_optimizer_schedules():
    constant = make_optimizer(tiny(steps=10))
    cosine = make_optimizer(tiny(steps=10, lr_schedule="cosine"))
    for opt in (constant, cosine):
        assert isinstance(opt, keras.optimizers.Adam)
        assert float(opt.learning_rate) == pytest.approx(1e-2)
    cosine.iterations.assign(5)
    assert float(cosine.learning_rate) == pytest.approx(1e-2 * (0.05 + 0.95 * 0.5), rel=1e-5)
    cosine.iterations.assign(10)
    assert float(cosine.learning_rate) == pytest.approx(1e-2 * 0.05, rel=1e-5)


def _loss_on(model, batch):
    x, y = batch
    return float(tf.reduce_mean((model(x) - y) ** 2))


@pytest.mark.parametrize("model, ratio", [("rescnn", 0.93), ("unrolled", 0.8)])
def test_a_few_steps_lower_the_loss(model, ratio):
    """25 steps lower the loss on an unseen batch (measured: x0.89 for the 4-filter ResCNN,
    x0.61 for the unrolled net)."""
    c = tiny(model, steps=25, val_every=25)
    batch = _first(train_dataset(c.replace(seed=5), start_step=100), 1)[0]  # unseen batch
    before = build_model(c)  # same seed: the very weights training starts from
    before(batch[0])
    result = train(c)
    assert result.completed and result.steps_done == 25
    assert _loss_on(result.model, batch) < ratio * _loss_on(before, batch)


def test_progress_callbacks_receive_every_step_and_validation():
    records = []
    result = train(tiny(steps=4, val_every=2), callbacks=[records.append])
    assert [r.step for r in records] == [1, 2, 3, 4]
    assert all(isinstance(r, TrainProgress) and r.steps == 4 and r.loss > 0 for r in records)
    assert [r.val_psnr is not None for r in records] == [False, True, False, True]
    h = result.history
    assert h["step"] == [1, 2, 3, 4] and h["val_step"] == [2, 4]
    assert h["loss"] == [r.loss for r in records]
    # Validation numbers are the metrics module's, via validate().
    vp, vs = validate(result.model, validation_set(tiny()))
    assert h["val_psnr"][-1] == pytest.approx(vp, abs=1e-4)
    assert h["val_ssim"][-1] == pytest.approx(vs, abs=1e-5)


def test_keras_callbacks_are_passed_to_fit():
    seen = []

    class Spy(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(epoch)

    train(tiny(steps=3), callbacks=[Spy()])
    assert seen == [0, 1, 2]


@pytest.mark.parametrize("schedule", ["constant", "cosine"])
def test_callback_stops_and_training_resumes(tmp_path, schedule):
    c = tiny(steps=6, val_every=3, lr_schedule=schedule)
    ckpt = tmp_path / "ckpt"
    stopped = train(c, callbacks=[lambda p: p.step == 2], checkpoint_dir=ckpt)
    assert not stopped.completed and stopped.steps_done == 2
    info = load_checkpoint_info(ckpt, c)
    assert info is not None and info["step"] == 2
    assert [p.name for p in ckpt.glob("checkpoint-*.keras")] == ["checkpoint-2.keras"]
    assert load_checkpoint_info(ckpt, c.replace(steps=7)) is None  # another config

    steps_seen = []
    resumed = train(c, callbacks=[lambda p: steps_seen.append(p.step)], checkpoint_dir=ckpt)
    assert resumed.completed and steps_seen == [3, 4, 5, 6]
    assert resumed.history["step"] == [1, 2, 3, 4, 5, 6]
    assert resumed.history["resumed_from"] == [2]
    assert not ckpt.exists()  # removed once complete

    # Same data stream and optimizer state: the same weights as an uninterrupted run.
    straight = train(c)
    np.testing.assert_allclose(resumed.history["loss"], straight.history["loss"], rtol=1e-4)
    for a, b in zip(resumed.model.get_weights(), straight.model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_keras_callback_can_stop_and_training_resumes(tmp_path):
    class StopAtTwo(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch + 1 == 2:
                self.model.stop_training = True

    c = tiny(steps=5, val_every=5)
    stopped = train(c, callbacks=[StopAtTwo()], checkpoint_dir=tmp_path)
    assert not stopped.completed and load_checkpoint_info(tmp_path, c)["step"] == 2
    assert train(c, checkpoint_dir=tmp_path).history["resumed_from"] == [2]


def test_exception_in_callback_keeps_last_checkpoint(tmp_path):
    c = tiny(steps=6, val_every=2)

    def boom(p):
        if p.step == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(c, callbacks=[boom], checkpoint_dir=tmp_path)
    assert load_checkpoint_info(tmp_path, c)["step"] == 2
    assert not list(tmp_path.glob("*.tmp-*"))


def test_train_rejects_bad_arguments():
    with pytest.raises(ValueError, match="TrainConfig"):
        train({"model": "rescnn"})
    with pytest.raises(ValueError, match="callbacks"):
        train(tiny(), callbacks=[42])


@pytest.mark.slow
def test_mirrored_strategy_on_two_cpu_devices(tmp_path):
    """The distributed path (what several GPUs use), on two logical CPU devices."""
    code = textwrap.dedent("""
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        from recon_core.dl.config import TrainConfig
        from recon_core.dl.training import train
        s = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
        c = TrainConfig(model="unrolled", n_convs=2, n_filters=4, n_cascades=2, image_size=32,
                        steps=3, batch_size=4, n_val=2, val_every=3)
        r = train(c, strategy=s)
        print("OK", s.num_replicas_in_sync, r.completed, len(r.history["loss"]))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, cwd=ROOT, env=_env())
    assert "OK 2 True 3" in out.stdout, out.stderr[-2000:]
