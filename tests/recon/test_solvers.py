"""Solvers written once over operators: closed forms on small problems, one code for every
forward model, the public status record, and CG least squares (CG-SENSE)."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from recon_core import fft2c, ifft2c, make_mask, psnr, shepp_logan
from recon_core.coils import simulate_multicoil
from recon_core.ops import FiniteDifference, sense, single_coil
from recon_core.recon import (
    AdmmConfig,
    ImageSnapshot,
    PdhgConfig,
    reconstruct_cg,
    reconstruct_tv,
    tv_iterations,
    tv_objective,
)
from recon_core.recon.admm import AdmmSolver
from recon_core.recon.cg import cg_steps


def _crandn(rng, shape):
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex64)


def _dense(op, shape):
    """The matrix of a linear operator, column by column."""
    n = int(np.prod(shape))
    cols = [op.forward(np.eye(n, dtype=np.complex64)[i].reshape(shape)).numpy().ravel() for i in range(n)]
    return np.stack(cols, axis=1)


def test_cg_matches_a_dense_solve(rng):
    # SigPy-style: the solver against np.linalg.solve on a small system
    shape = (5, 5)
    mask = rng.uniform(size=shape) < 0.6
    sens = _crandn(rng, (2, *shape))
    A = sense(mask, sens)
    a = _dense(A, shape)
    mu = 0.1
    y = _crandn(rng, (2, *shape)) * mask
    rhs = A.adjoint(y)
    x = cg_steps(lambda v: A.apply_normal(v) + mu * v, rhs, tf.zeros(shape, tf.complex64), 60)
    ref = np.linalg.solve(a.conj().T @ a + mu * np.eye(25), a.conj().T @ y.ravel())
    np.testing.assert_allclose(x.numpy().ravel(), ref, atol=2e-4 * np.abs(ref).max())  # float32


@pytest.mark.parametrize("method", ["admm", "pdhg"])
def test_lambda_zero_solves_least_squares_for_both_forward_models(method, rng):
    # with lam = 0 and a full mask both models have one minimiser: the image itself
    shape = (6, 7)
    img = _crandn(rng, shape)
    m = np.ones(shape, bool)
    single = reconstruct_tv(fft2c(img), m, 0.0, method, max_iter=300)
    np.testing.assert_allclose(single.image, img, atol=2e-3)
    sens = _crandn(rng, (3, *shape))
    k = fft2c(sens * img)
    multi = reconstruct_tv(k, m, 0.0, method, max_iter=300, sens=sens)
    np.testing.assert_allclose(multi.image, img, atol=2e-3)


def test_admm_exact_and_cg_updates_reach_the_same_minimiser():
    # single-coil data through the SENSE model (one coil of ones) take the CG x-update;
    # plain single-coil data the exact FFT-diagonal one: same problem, same answer
    x = shepp_logan(64)
    m = make_mask(x.shape, 4, seed=3)
    k = fft2c(x) * m
    cfg = AdmmConfig(max_iter=300, cg_iter=8)
    exact = reconstruct_tv(k, m, 1e-3, "admm", config=cfg)
    via_cg = reconstruct_tv(k[None], m, 1e-3, "admm", config=cfg, sens=np.ones((1, 64, 64)))
    fa = tv_objective(exact.image, k, m, 1e-3)["objective"]
    fb = tv_objective(via_cg.image, k, m, 1e-3)["objective"]
    assert abs(fa - fb) / fa < 1e-3
    assert psnr(np.abs(exact.image), np.abs(via_cg.image)) > 40


def test_solver_chooses_the_exact_update_only_where_it_holds(rng):
    shape = (8, 8)
    mask = rng.uniform(size=shape) < 0.5
    D = FiniteDifference(shape)
    x0 = tf.zeros(shape, tf.complex64)
    y = tf.zeros(shape, tf.complex64)
    assert AdmmSolver(single_coil(mask, centred=False), D, y, x0, 1e-3, AdmmConfig(), None, True).exact
    assert AdmmSolver(single_coil(mask), D, y, x0, 1e-3, AdmmConfig(), None, False).exact
    yc = tf.zeros((2, *shape), tf.complex64)
    A = sense(mask, _crandn(rng, (2, *shape)))
    assert not AdmmSolver(A, D, yc, x0, 1e-3, AdmmConfig(), None, False).exact


def test_callback_gets_the_public_status_record_with_the_image(phantom_problem):
    x, mask, k = phantom_problem
    seen = []

    def cb(rec):
        assert isinstance(rec.image, ImageSnapshot)
        seen.append((rec.iteration, rec.image.iteration, rec.image().shape))
        return rec.iteration >= 6

    res = reconstruct_tv(k, mask, max_iter=50, callback=cb, callback_every=3, reference=x)
    assert seen == [(i, 3 * ((i + 2) // 3), x.shape) for i in range(1, 7)]
    # histories keep numbers only, not one image per record
    assert all(r.image is None for r in res.history)
    rec, snap = next(tv_iterations(k, mask, max_iter=2, reference=x))
    assert rec.image is snap and "iteration 1" in repr(snap)


def test_tv_iterations_ramp_and_a_prebuilt_problem_give_the_same_solve(phantom_problem):
    from recon_core.recon.inputs import check_problem
    from recon_core.recon.problem import build_problem

    x, mask, k = phantom_problem
    plain = list(tv_iterations(k, mask, lam=1e-3, max_iter=12, chunk=5, reference=x))
    # chunks of 5: every record of the first chunk carries iteration 5's image
    assert [snap.iteration for _, snap in plain[:6]] == [5, 5, 5, 5, 5, 10]
    built = build_problem(check_problem(k * mask, mask, 0.0, None, None))  # another λ, no reference
    ramped = list(tv_iterations(k, mask, lam=1e-3, max_iter=12, chunk=5, ramp=True, reference=x,
                                problem=built))
    # chunks of 1, 2, 4, then 5: the first image after one iteration
    assert [snap.iteration for _, snap in ramped] == [1, 3, 3, 7, 7, 7, 7, 12, 12, 12, 12, 12]
    np.testing.assert_allclose([r.objective for r, _ in ramped], [r.objective for r, _ in plain],
                               rtol=1e-5)
    np.testing.assert_allclose([r.psnr for r, _ in ramped], [r.psnr for r, _ in plain], rtol=1e-5)


def test_tv_iterations_rejects_unknown_options(phantom_problem):
    x, mask, k = phantom_problem
    with pytest.raises(TypeError, match=r"unexpected keyword argument\(s\) \['maxiter'\]"):
        next(tv_iterations(k, mask, maxiter=3))


def test_pdhg_fully_dual_form_converges_on_sense():
    x = shepp_logan(64)
    kc, sens = simulate_multicoil(x, n_coils=4)
    m = make_mask(x.shape, 3, seed=0)
    y = kc * m
    res = reconstruct_tv(y, m, 1e-3, "pdhg", config=PdhgConfig(max_iter=400), sens=sens)
    ref = reconstruct_tv(y, m, 1e-3, "admm", max_iter=200, sens=sens)
    fp = tv_objective(res.image, y, m, 1e-3, sens=sens)["objective"]
    fa = tv_objective(ref.image, y, m, 1e-3, sens=sens)["objective"]
    assert abs(fp - fa) / fa < 1e-2


def test_cg_sense_with_exact_maps_unfolds_r2_equispaced(rng):
    x = shepp_logan(96)
    kc, sens = simulate_multicoil(x, n_coils=8)
    m = np.zeros(x.shape, bool)
    m[:, ::2] = True  # R = 2, no calibration block: aliasing folds the image in half
    sigma = 1e-3
    noise = sigma * _crandn(rng, kc.shape) / np.sqrt(2)
    y = (kc + noise) * m
    ref = np.abs(np.sum(np.conj(sens) * ifft2c(kc), axis=0) / np.maximum(np.sum(np.abs(sens) ** 2, 0), 1e-12))
    res = reconstruct_cg(y, m, sens, max_iter=50, tol=1e-5, reference=ref)
    zf = np.abs(np.sum(np.conj(sens) * ifft2c(y), axis=0))
    assert res.metrics["psnr"] > psnr(ref, zf) + 15
    assert res.metrics["psnr"] > 40  # within noise: noise std is 1e-3 of a max-1 image
    assert res.residuals[-1] < res.residuals[0] and res.n_iter <= 50


def test_cg_tikhonov_and_errors(rng):
    k = fft2c(_crandn(rng, (8, 8)))
    m = np.ones((8, 8), bool)
    a = reconstruct_cg(k, m, l2=0.0)
    b = reconstruct_cg(k, m, l2=1.0)
    np.testing.assert_allclose(b.image, a.image / 2, atol=1e-4)  # (I + I) x = F^H y
    with pytest.raises(ValueError, match="l2 must be >= 0"):
        reconstruct_cg(k, m, l2=-1)
    with pytest.raises(ValueError, match="needs sensitivity maps"):
        reconstruct_cg(np.ones((2, 8, 8)), m)
    stopped = reconstruct_cg(k, m[:, :8] & (rng.uniform(size=(8, 8)) < 0.5), l2=0.1,
                             callback=lambda i, r: True)
    assert stopped.stopped and stopped.n_iter == 1
