"""TV solvers: accuracy on the phantom, agreement between methods, callbacks, errors."""

from __future__ import annotations

import numpy as np
import pytest

from recon_core import fft2c, ifft2c, psnr, ssim
from recon_core.recon import (
    DEFAULT_LAM,
    AdmmConfig,
    GradientConfig,
    PdhgConfig,
    reconstruct_tv,
    sweep_lambda,
    tv_iterations,
    tv_objective,
)


def test_admm_phantom_default_lambda_reaches_48db(phantom_problem):
    x, mask, k = phantom_problem
    res = reconstruct_tv(k, mask, DEFAULT_LAM, method="admm", reference=x)
    assert res.metrics["psnr"] >= 48.0
    assert res.metrics["ssim"] >= 0.99
    zf = np.abs(ifft2c(k))
    assert res.metrics["psnr"] > psnr(x, zf) + 20  # zero-filled is about 20 dB
    assert res.image.dtype == np.complex64 and res.image.shape == x.shape


def test_history_records_objective_terms_and_metrics(phantom_problem):
    x, mask, k = phantom_problem
    res = reconstruct_tv(k, mask, DEFAULT_LAM, max_iter=30, reference=x)
    h = res.history_arrays()
    assert list(h["iteration"]) == list(range(1, 31))
    np.testing.assert_allclose(h["objective"], h["data_term"] + DEFAULT_LAM * h["tv_term"], rtol=1e-5)
    # the objective decreases overall and PSNR improves
    assert h["objective"][-1] < 0.5 * h["objective"][0]
    assert h["psnr"][-1] > h["psnr"][0] + 10
    # in-graph metrics agree with the metrics module on the final image
    assert h["psnr"][-1] == pytest.approx(psnr(x, np.abs(res.image)), abs=0.05)
    assert h["ssim"][-1] == pytest.approx(ssim(x, np.abs(res.image)), abs=2e-3)
    # the recorded objective agrees with an independent NumPy evaluation
    ref = tv_objective(res.image, k, mask, DEFAULT_LAM)
    assert h["objective"][-1] == pytest.approx(ref["objective"], rel=1e-3)


@pytest.mark.slow
def test_pdhg_reaches_the_same_minimiser(phantom_problem):
    x, mask, k = phantom_problem
    admm = reconstruct_tv(k, mask, DEFAULT_LAM, method="admm", max_iter=600)
    pdhg = reconstruct_tv(k, mask, DEFAULT_LAM, method="pdhg", max_iter=1500)
    fa = tv_objective(admm.image, k, mask, DEFAULT_LAM)["objective"]
    fp = tv_objective(pdhg.image, k, mask, DEFAULT_LAM)["objective"]
    assert abs(fa - fp) / fa < 1e-3
    assert psnr(np.abs(admm.image), np.abs(pdhg.image)) > 45


@pytest.mark.slow
@pytest.mark.parametrize("optimizer, lr", [("adam", 5e-3), ("sgd", 0.5)])
def test_gradient_beats_zero_filled(phantom_problem, optimizer, lr):
    x, mask, k = phantom_problem
    cfg = GradientConfig(optimizer=optimizer, learning_rate=lr, max_iter=150)
    res = reconstruct_tv(k, mask, DEFAULT_LAM, method="gradient", config=cfg, reference=x)
    zf = np.abs(ifft2c(k))
    assert res.metrics["psnr"] > psnr(x, zf) + 0.5
    assert res.metrics["ssim"] > ssim(x, zf)
    assert res.history[-1].objective < res.history[0].objective


def test_lambda_zero_full_mask_returns_the_inverse_fft(rng):
    img = (rng.standard_normal((12, 14)) + 1j * rng.standard_normal((12, 14))).astype(np.complex64)
    k = fft2c(img)
    res = reconstruct_tv(k, np.ones(k.shape, bool), lam=0.0, max_iter=3)
    np.testing.assert_allclose(res.image, img, atol=1e-4)


@pytest.mark.parametrize("method", ["admm", "pdhg"])
def test_huge_lambda_gives_the_constant_image(rng, method):
    # For lam -> inf, TV forces a constant image c; the data term then picks c = y_DC / sqrt(HW).
    h, w = 15, 16
    img = rng.uniform(size=(h, w)).astype(np.float32)
    mask = rng.uniform(size=(h, w)) < 0.5
    mask[h // 2, w // 2] = True
    k = fft2c(img) * mask
    res = reconstruct_tv(k, mask, lam=1e3, method=method, max_iter=3000)
    expected = k[h // 2, w // 2] / np.sqrt(h * w)
    np.testing.assert_allclose(res.image, np.full((h, w), expected), atol=2e-3)


def test_odd_non_square_sizes_and_determinism(rng):
    from recon_core import shepp_logan
    from recon_core.masks import make_mask

    x = shepp_logan((63, 81))
    m = make_mask(x.shape, 3, seed=2)
    k = fft2c(x) * m
    a = reconstruct_tv(k, m, max_iter=40, reference=x)
    b = reconstruct_tv(k, m, max_iter=40, reference=x)
    np.testing.assert_array_equal(a.image, b.image)
    assert a.metrics["psnr"] > psnr(x, np.abs(ifft2c(k))) + 5


def test_callback_sees_every_iteration_and_can_stop(phantom_problem):
    x, mask, k = phantom_problem
    seen = []

    def cb(rec):
        seen.append(rec.iteration)
        return rec.iteration >= 7

    res = reconstruct_tv(k, mask, max_iter=100, callback=cb, reference=x)
    assert res.stopped and not res.converged
    assert seen == list(range(1, 8)) and res.n_iter == 7

    seen.clear()
    res = reconstruct_tv(k, mask, max_iter=100, callback=cb, callback_every=5)
    # the chunk holding iteration 7 is already computed (it ends at 10): the callback is not
    # called again, but history keeps the chunk so that it matches the returned image
    assert res.stopped and seen == list(range(1, 8)) and res.n_iter == 10
    ten = reconstruct_tv(k, mask, max_iter=10)
    np.testing.assert_array_equal(res.image, ten.image)


def test_generator_interface_and_tolerance(phantom_problem):
    x, mask, k = phantom_problem
    gen = tv_iterations(k, mask, max_iter=500, tol=1e-3, chunk=10)
    recs = [rec for rec, _ in gen]
    assert 1 < len(recs) < 500
    # iteration 1 is exempt from the test (ADMM moves only z there)
    assert recs[-1].rel_change < 1e-3 and all(r.rel_change >= 1e-3 for r in recs[1:-1])
    res = reconstruct_tv(k, mask, max_iter=500, tol=1e-3)
    assert res.converged and res.n_iter == len(recs)


def test_adaptive_rho_also_converges(phantom_problem):
    x, mask, k = phantom_problem
    res = reconstruct_tv(k, mask, DEFAULT_LAM, config=AdmmConfig(adaptive_rho=True, max_iter=80),
                         reference=x)
    assert res.metrics["psnr"] >= 48.0


def test_sweep_lambda_scores_each_weight(phantom_problem):
    x, mask, k = phantom_problem
    lams = [1e-4, 1e-2, 1e-1]
    pts = sweep_lambda(k, mask, x, lams, config=AdmmConfig(max_iter=40))
    assert [p.lam for p in pts] == lams
    assert pts[-1].psnr < pts[0].psnr  # heavy smoothing hurts a noiseless phantom
    stopped = sweep_lambda(k, mask, x, lams, config=AdmmConfig(max_iter=5), callback=lambda i, p: True)
    assert len(stopped) == 1


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"kspace": np.ones((2, 8, 8))}, r"single 2-D slice"),
        ({"kspace": np.ones(8)}, "at least 2 dimensions"),
        ({"mask": np.ones((8, 9), bool)}, r"mask \(8, 9\) does not match k-space \(8, 8\)"),
        ({"mask": np.zeros((8, 8), bool)}, "samples no k-space point"),
        ({"lam": -1.0}, r"lam must be >= 0, got -1.0"),
        ({"lam": float("nan")}, "lam must be finite"),
        ({"method": "fista"}, "unknown TV method 'fista'"),
        ({"max_iter": 0}, "max_iter must be >= 1"),
        ({"config": PdhgConfig()}, "needs a AdmmConfig"),
        ({"config": AdmmConfig(relaxation=2.5)}, "relaxation"),
        ({"reference": np.ones((4, 4))}, "reference"),
    ],
)
def test_bad_arguments_raise_value_error(kwargs, match):
    args = {"kspace": np.ones((8, 8), np.complex64), "mask": np.ones((8, 8), bool), "lam": 1e-3}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        reconstruct_tv(**args)


def test_nan_kspace_raises():
    k = np.ones((8, 8), np.complex64)
    k[2, 3] = np.nan
    with pytest.raises(ValueError, match="kspace contains 1 NaN or Inf"):
        reconstruct_tv(k, np.ones((8, 8), bool))


def test_gradient_tolerance_stop_inside_a_chunk_returns_that_iterations_image():
    from recon_core.phantoms import shepp_logan
    from recon_core.masks import make_mask

    x = shepp_logan(64)
    mask = make_mask((64, 64), 4, seed=0)
    k = fft2c(x) * mask
    res = reconstruct_tv(k, mask, method="gradient", tol=3e-3, max_iter=400)
    # converges inside the second compiled chunk (iterations 65..128)
    assert res.converged and 64 < res.n_iter < 128 and len(res.history) == res.n_iter
    same = reconstruct_tv(k, mask, method="gradient", max_iter=res.n_iter)
    np.testing.assert_array_equal(res.image, same.image)
