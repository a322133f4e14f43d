"""Tests of recon_core.dl.evaluation and of the shipped pre-trained networks."""

from __future__ import annotations

import json

import numpy as np
import pytest

from recon_core.phantoms import random_ellipses, shepp_logan
from recon_core.dl.evaluation import (
    EvaluationResult,
    evaluate,
    evaluate_tutorial_protocol,
    evaluation_masks,
    held_out_images,
)
from recon_core.ops.fft import fft2c, ifft2c
from recon_core.masks import make_mask
from recon_core.metrics import nmse, psnr, ssim
from recon_core.dl.models import ResCNN, UnrolledNet, reconstruct
from recon_core.dl.pretrained import PRETRAINED_NAMES, load_pretrained, pretrained_paths
from recon_core.dl.config import DEFAULT_CONFIGS, TrainConfig
from recon_core.dl.data import HELD_OUT_SEED, VALIDATION_SEED
from recon_core.recon import DEFAULT_LAM, reconstruct_tv


@pytest.fixture(scope="module")
def nets():
    return {"res": ResCNN(2, 4, seed=0), "unr": UnrolledNet(2, 2, 4, seed=0)}


def test_numbers_match_the_metrics_module(nets):
    images = np.stack([random_ellipses(32, seed=s) for s in (3, 4, 5)])
    res = evaluate(nets, images, tv_max_iter=20, keep_images=True)
    assert res.methods == ("zero_filled", "tv", "res", "unr")
    assert res.n_images == 3
    masks = np.stack([make_mask((32, 32), 4, kind="random", seed=i) for i in range(3)])
    k = fft2c(images) * masks
    expected = {
        "zero_filled": ifft2c(k),
        "tv": np.stack([reconstruct_tv(k[i], masks[i], DEFAULT_LAM, max_iter=20).image  # evaluate's λ
                        for i in range(3)]),
        "res": reconstruct(nets["res"], k, masks),
        "unr": reconstruct(nets["unr"], k, masks),
    }
    for method, recon in expected.items():
        np.testing.assert_allclose(res.images[method], recon, atol=1e-5)
        for i in range(3):
            assert res.per_image[method]["psnr"][i] == pytest.approx(psnr(images[i], recon[i]), abs=1e-4)
            assert res.per_image[method]["ssim"][i] == pytest.approx(ssim(images[i], recon[i]), abs=1e-5)
            assert res.per_image[method]["nmse"][i] == pytest.approx(nmse(images[i], recon[i]), rel=1e-4)
    summary = res.summary()
    for method in res.methods:
        v = res.per_image[method]["psnr"]
        assert summary[method]["psnr"] == (pytest.approx(v.mean()), pytest.approx(v.std()))
    assert len(res.rows()) == 3 * 4
    table = res.to_markdown()
    assert table.count("\n") == 2 + 4 and "| zero_filled |" in table


def test_same_inputs_for_every_method():
    """Zero-filled equals a network that returns its input, image for image."""
    identity = ResCNN(1, 1, seed=0)
    identity(np.zeros((1, 8, 8, 1), np.float32))
    identity.set_weights([np.zeros_like(w) for w in identity.get_weights()])
    res = evaluate({"identity": identity}, n=3, size=32, tv=False)
    for metric in ("psnr", "ssim", "nmse"):
        np.testing.assert_allclose(res.per_image["identity"][metric],
                                   res.per_image["zero_filled"][metric], rtol=1e-4)


def test_trained_models_are_fed_data_as_they_were_trained(nets):
    from recon_core.dl.cache import TrainedModel
    from recon_core.dl.config import TrainConfig

    images = 5.0 * np.stack([random_ellipses(32, seed=s) for s in (3, 4)])
    masks = np.stack([make_mask((32, 32), 4, kind="random", seed=i) for i in range(2)])
    k = fft2c(images) * masks
    off = TrainedModel(nets["res"], TrainConfig(normalise=False), {}, from_cache=True)
    on = TrainedModel(nets["res"], TrainConfig(), {}, from_cache=True)
    res = evaluate({"off": off, "on": on}, images, tv=False, zero_filled=False, keep_images=True)
    np.testing.assert_allclose(res.images["off"], reconstruct(nets["res"], k, masks, normalise=False),
                               atol=1e-5)
    np.testing.assert_allclose(res.images["on"], reconstruct(nets["res"], k, masks), atol=1e-5)
    assert not np.allclose(res.images["off"], res.images["on"], atol=1e-3)


def test_held_out_set_is_seeded_and_disjoint_from_validation():
    a = held_out_images(3, size=32)
    np.testing.assert_array_equal(a, held_out_images(3, size=32))
    np.testing.assert_array_equal(a[2], random_ellipses(32, seed=HELD_OUT_SEED + 2))
    assert abs(HELD_OUT_SEED - VALIDATION_SEED) > 1000


def test_masks_of_the_evaluation():
    m = evaluation_masks(3, (64, 64))
    np.testing.assert_array_equal(m[0], make_mask((64, 64), 4, kind="random", seed=0))
    assert not np.array_equal(m[0], m[1])
    fixed = evaluation_masks(3, (64, 64), fixed_mask=True, mask_seed=5)
    assert all(np.array_equal(fixed[i], make_mask((64, 64), 4, seed=5)) for i in range(3))


def test_explicit_masks_and_single_image():
    x = shepp_logan(32)
    mask = np.zeros((32, 32), bool)
    mask[:, ::2] = True
    res = evaluate(images=x, masks=mask, tv=False)
    assert res.per_image["zero_filled"]["psnr"][0] == pytest.approx(psnr(x, ifft2c(fft2c(x) * mask)))


def test_rejects_bad_arguments(nets):
    with pytest.raises(ValueError, match="clash"):
        evaluate({"tv": nets["res"]}, n=1, size=32)
    with pytest.raises(ValueError, match="nothing to evaluate"):
        evaluate(n=1, size=32, zero_filled=False, tv=False)
    with pytest.raises(ValueError, match="models"):
        evaluate(models=[1, 2], n=1, size=32)
    with pytest.raises(ValueError, match="images"):
        evaluate(images=np.zeros((1, 1, 8, 8)))


def test_result_summary_std_is_population_std():
    r = EvaluationResult(("a",), {"a": {"psnr": np.array([1.0, 3.0]), "ssim": np.array([0.5, 0.5]),
                                        "nmse": np.array([0.1, 0.3])}})
    assert r.summary()["a"]["psnr"] == (2.0, 1.0)


# ------------------------------------------------------------------------ shipped networks


@pytest.mark.parametrize("name", PRETRAINED_NAMES)
def test_shipped_files_are_small_and_documented(name):
    model_path, json_path = pretrained_paths(name)
    assert model_path.stat().st_size < 2 * 2**20
    meta = json.loads(json_path.read_text())
    assert meta["config"] == DEFAULT_CONFIGS[name].to_dict()  # every field, written out
    assert TrainConfig.from_dict(meta["config"]).config_hash() == DEFAULT_CONFIGS[name].config_hash()
    assert meta["command"] == "python scripts/train_defaults.py"
    assert len(meta["history"]["loss"]) == DEFAULT_CONFIGS[name].steps


@pytest.fixture(scope="module")
def phantom():
    x = shepp_logan(256)
    m = make_mask(x.shape, 4, kind="random", seed=0)
    return x, fft2c(x) * m, m


# Measured on the shipped files (scripts/train_defaults.py, 2 CPU cores): ResCNN 27.75 dB,
# unrolled 36.58 dB; zero-filled 19.69 dB. The floors below are those figures minus 0.1 dB.
@pytest.mark.parametrize("name, floor", [("rescnn", 27.65), ("unrolled", 36.48)])
def test_shipped_networks_on_the_phantom(name, floor, phantom):
    x, k, m = phantom
    loaded = load_pretrained(name)
    assert loaded.from_cache and loaded.config == DEFAULT_CONFIGS[name]
    value = psnr(x, reconstruct(loaded.model, k, m, noise_std=0.0))
    assert value >= floor
    assert value > psnr(x, ifft2c(k)) + 5  # far better than zero-filled (19.7 dB)


def test_shipped_unrolled_reaches_its_target(phantom):
    x, k, m = phantom
    assert psnr(x, reconstruct(load_pretrained("unrolled").model, k, m, noise_std=0.0)) >= 36.0


@pytest.fixture(scope="module")
def tutorial_scores():
    """Shipped networks at the tutorial's protocol: 400² phantom, 4x random masks, seeds 0-7."""
    nets = {name: load_pretrained(name) for name in PRETRAINED_NAMES}
    return evaluate_tutorial_protocol(nets, tv=False).summary()


# The tutorial scored ResCNN on its shepp_logan.npy (scikit-image's phantom at 400x400) with a
# freshly drawn 4x mask and printed 31.92 dB (zero-filled 20.15). Its figure is the target of
# issue #3 at that protocol; the 256² resize of the other tests is a different, harder image.
def test_shipped_rescnn_reaches_the_tutorial_figure_at_its_protocol(tutorial_scores):
    mean, _ = tutorial_scores["rescnn"]["psnr"]
    assert mean >= 31.9
    assert mean > tutorial_scores["zero_filled"]["psnr"][0] + 10


def test_shipped_unrolled_beats_40db_at_the_tutorial_protocol(tutorial_scores):
    assert tutorial_scores["unrolled"]["psnr"][0] >= 40.0


# Mean PSNR of the shipped (noise-aware) networks on the 64 held-out images, measured by
# scripts/train_defaults.py's noise study (the same inputs), minus 0.1 dB.
HELD_OUT_FLOORS = {None: {"rescnn": 38.07, "unrolled": 46.95}, 40.0: {"rescnn": 38.07, "unrolled": 46.39},
                   30.0: {"rescnn": 37.98, "unrolled": 43.61}, 20.0: {"rescnn": 37.23, "unrolled": 39.01}}


@pytest.mark.slow
@pytest.mark.parametrize("snr", [None, 40.0, 30.0, 20.0])
def test_shipped_networks_beat_zero_filled_at_every_snr(snr):
    nets = {name: load_pretrained(name) for name in PRETRAINED_NAMES}
    stats = evaluate(nets, n=64, tv=False, snr_db=snr, noise_seed=30_000).summary()
    for name in PRETRAINED_NAMES:
        assert stats[name]["psnr"][0] > stats["zero_filled"]["psnr"][0] + 5
        assert stats[name]["psnr"][0] >= HELD_OUT_FLOORS[snr][name]


def test_stored_noise_study_covers_every_snr_and_method():
    from recon_core.dl.noise_study import SNRS, TEST_NOISE_SEED
    from recon_core.dl.pretrained import load_noise_study

    study = load_noise_study()
    assert study is not None and study["snr_db"] == list(SNRS) and TEST_NOISE_SEED == 30_000
    for key in ("held_out", "phantom_256", "tutorial_400"):
        assert set(study[key]) == {"zero_filled", "tv", *PRETRAINED_NAMES}
        for name in PRETRAINED_NAMES:  # the networks beat zero-filled at every SNR
            for net, zf in zip(study[key][name]["psnr"], study[key]["zero_filled"]["psnr"]):
                assert net[0] > zf[0] + 5
    # TV's weight grows with the noise (tuned on the tuning set, not on these images)
    assert study["lam"] == sorted(study["lam"])


def test_tutorial_protocol_is_the_native_phantom_under_eight_masks():
    from skimage.data import shepp_logan_phantom

    res = evaluate_tutorial_protocol(None, mask_seeds=(0, 1), tv=False, keep_images=True)
    assert res.n_images == 2 and res.images["zero_filled"].shape == (2, 400, 400)
    x = shepp_logan(400)
    np.testing.assert_allclose(x, shepp_logan_phantom(), atol=1e-6)  # the tutorial's array
    for i, seed in enumerate((0, 1)):
        m = make_mask(x.shape, 4, kind="random", seed=seed)
        assert res.per_image["zero_filled"]["psnr"][i] == pytest.approx(psnr(x, ifft2c(fft2c(x) * m)))
    with pytest.raises(ValueError, match="mask_seeds is empty"):
        evaluate_tutorial_protocol(None, mask_seeds=())


def test_shipped_scores_are_recorded():
    for name in PRETRAINED_NAMES:
        meta = json.loads(pretrained_paths(name)[1].read_text())
        held = meta["evaluation"]["held_out_64"]
        assert held[name]["psnr"][0] > held["zero_filled"]["psnr"][0] + 5


def test_load_pretrained_rejects_unknown_names(tmp_path):
    with pytest.raises(ValueError, match="unknown pre-trained"):
        load_pretrained("unet")
    with pytest.raises(FileNotFoundError, match="train_defaults"):
        load_pretrained("rescnn", tmp_path)


@pytest.mark.parametrize("name", PRETRAINED_NAMES)
def test_score_summary_of_the_shipped_files_quotes_their_stored_scores(name):
    import json

    from recon_core.dl.pretrained import score_summary

    meta = json.loads(pretrained_paths(name)[1].read_text(encoding="utf-8"))
    text = score_summary(name, meta)
    phantom = meta["evaluation"]["shepp_logan_256_4x_seed0"][name]["psnr"]
    mean, std = meta["evaluation"]["held_out_64"][name]["psnr"]
    assert f"{phantom:.2f} dB on the 256² Shepp–Logan phantom" in text
    assert f"{mean:.2f} ± {std:.2f} dB on 64 held-out" in text
    t_mean, t_std = meta["evaluation"]["tutorial_shepp_logan_400_4x_seeds0-7"][name]["psnr"]
    assert f"{t_mean:.2f} ± {t_std:.2f} dB at the tutorial's protocol" in text
    broken = {"evaluation": {"held_out_64": {name: {"psnr": "n/a"}, "zero_filled": {}}}}
    assert score_summary(name, broken) is None
