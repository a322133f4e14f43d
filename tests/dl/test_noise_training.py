"""Noise-aware training data and the comparison across noise levels."""

from __future__ import annotations

import numpy as np
import pytest

from recon_core.dl.config import TrainConfig
from recon_core.dl.data import simulate, train_dataset, validation_set
from recon_core.dl.evaluation import evaluate
from recon_core.dl.noise_study import noise_study, study_table, tune_tv_lambda
from recon_core.ops.fft import fft2c
from recon_core.phantoms import shepp_logan

TINY = TrainConfig(model="unrolled", n_cascades=1, n_convs=2, n_filters=4, image_size=32,
                   steps=2, batch_size=4, n_val=3, normalise=False)


def _kspace(batch):
    inputs, _ = batch
    y = inputs[1].numpy()
    return y[..., 0] + 1j * y[..., 1]


def test_noise_range_is_checked_and_hashed_only_when_set():
    import json

    base = TrainConfig()
    # at their defaults the noise fields are left out of the hashed JSON (old hashes hold)
    assert not {"snr_min_db", "snr_max_db", "clean_fraction"} & set(json.loads(base.canonical_json()))
    noisy = base.replace(snr_min_db=20, snr_max_db=40)
    assert noisy.noisy and noisy.config_hash() != base.config_hash()
    with pytest.raises(ValueError, match="both snr_min_db and snr_max_db"):
        base.replace(snr_min_db=20)
    with pytest.raises(ValueError, match="must not exceed"):
        base.replace(snr_min_db=40, snr_max_db=20)
    with pytest.raises(ValueError, match="finite number of dB"):
        base.replace(snr_min_db=20, snr_max_db=float("inf"))
    with pytest.raises(ValueError, match="needs a noise range"):
        base.replace(clean_fraction=0.5)
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        noisy.replace(clean_fraction=1.5)
    assert TrainConfig.from_dict(noisy.to_dict()) == noisy


def test_training_examples_get_seeded_noise_at_the_drawn_snr():
    clean = _kspace(next(iter(train_dataset(TINY))))
    cfg = TINY.replace(snr_min_db=10, snr_max_db=10)
    a = _kspace(next(iter(train_dataset(cfg))))
    b = _kspace(next(iter(train_dataset(cfg))))
    np.testing.assert_array_equal(a, b)  # stateless: the same stream every time (resumable)
    # SNR is defined on the full k-space: signal power mean|x|^2 over the noise variance.
    inputs, target = next(iter(train_dataset(cfg)))
    x = target.numpy()[..., 0]
    mask = inputs[2].numpy()[..., 0]
    noise = (a - clean)[mask > 0]
    power = np.mean(x ** 2, axis=(1, 2))
    measured = 10 * np.log10(np.mean(power) / np.mean(np.abs(noise) ** 2))
    assert measured == pytest.approx(10.0, abs=0.6)
    # a clean fraction of 1 leaves every example noiseless
    ones = TINY.replace(snr_min_db=10, snr_max_db=10, clean_fraction=1.0)
    np.testing.assert_allclose(_kspace(next(iter(train_dataset(ones)))), clean, atol=1e-6)


def test_noise_conditioned_examples_carry_their_noise_level():
    cfg = TINY.replace(dc="noise", snr_min_db=10, snr_max_db=30, clean_fraction=0.5, batch_size=8,
                       normalise=True)
    inputs, target = next(iter(train_dataset(cfg)))
    assert len(inputs) == 4
    sigma = inputs[3].numpy()[:, 0]
    noisy = _kspace((inputs, None))
    mask = inputs[2].numpy()[..., 0] > 0
    clean = fft2c(target.numpy()[..., 0])  # the target is on the same normalised scale
    for s, a, b, m in zip(sigma, noisy, clean, mask):
        measured = np.sqrt(np.mean(np.abs(a - b)[m] ** 2))  # on the network's normalised scale
        if s == 0:
            assert measured < 1e-6  # a clean example is told it is clean
        else:
            assert measured == pytest.approx(s, rel=0.15)
    assert (sigma == 0).any() and (sigma > 0).any()
    with pytest.raises(ValueError, match="needs a noise range"):
        TINY.replace(dc="noise")
    # the validation set knows each image's level too (0 for the clean ones)
    images, k, masks, stds = validation_set(cfg, with_noise_std=True)
    for kk, x, m, s in zip(k, images, masks, stds):
        measured = np.sqrt(np.mean(np.abs(kk - fft2c(x))[m] ** 2))
        assert measured == pytest.approx(s, rel=0.15, abs=1e-7)


def test_validation_set_follows_the_training_noise():
    cfg = TINY.replace(snr_min_db=5, snr_max_db=5)
    images, k, masks = validation_set(cfg)
    clean = fft2c(images) * masks
    # noise of the full-k-space SNR (5 dB), seen at the sampled points
    noise = (k - clean)[masks]
    measured = 10 * np.log10(np.mean(images ** 2) / np.mean(np.abs(noise) ** 2))
    assert measured == pytest.approx(5.0, abs=0.3)
    again = validation_set(cfg)[1]
    np.testing.assert_array_equal(k, again)
    np.testing.assert_array_equal(validation_set(TINY)[1], clean.astype(np.complex64))


def test_simulate_adds_noise_before_the_mask():
    import tensorflow as tf

    x = tf.constant(shepp_logan(16))
    m = tf.constant(np.eye(16, dtype=np.float32))
    n = tf.complex(tf.ones((16, 16)), tf.zeros((16, 16)))
    _, y, _ = simulate(x, m, normalise=False, noise=n)
    _, y0, _ = simulate(x, m, normalise=False)
    np.testing.assert_allclose((y - y0).numpy(), np.eye(16), atol=1e-5)


def test_evaluate_with_noise_is_seeded_and_lowers_every_score():
    x = shepp_logan(64)
    clean = evaluate(images=x, tv_max_iter=30).summary()
    noisy = evaluate(images=x, tv_max_iter=30, snr_db=15).summary()
    again = evaluate(images=x, tv_max_iter=30, snr_db=15).summary()
    assert noisy == again
    for method in ("zero_filled", "tv"):
        assert noisy[method]["psnr"][0] < clean[method]["psnr"][0]


def test_tuned_lambda_grows_with_noise():
    lam_clean, scores = tune_tv_lambda(None, n=2, size=64, lams=(1e-4, 3e-2), max_iter=40)
    lam_noisy, _ = tune_tv_lambda(10.0, n=2, size=64, lams=(1e-4, 3e-2), max_iter=40)
    assert (lam_clean, lam_noisy) == (1e-4, 3e-2)
    assert set(scores) == {1e-4, 3e-2}


@pytest.mark.slow
def test_noise_study_scores_every_method_at_every_snr():
    lines = []
    study = noise_study({}, snrs=(None, 20.0), n_held_out=2, lams=(1e-3, 1e-2),
                        progress=lines.append)
    assert study["snr_db"] == [None, 20.0] and len(study["lam"]) == 2
    for key in ("held_out", "phantom_256", "tutorial_400"):
        assert set(study[key]) == {"zero_filled", "tv"}
        for method in study[key].values():
            assert len(method["psnr"]) == 2
        # noise costs every method some PSNR
        assert all(v["psnr"][1][0] < v["psnr"][0][0] for v in study[key].values())
    assert "| TV λ (tuned) |" in study_table(study) and len(lines) == 4
