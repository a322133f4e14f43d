"""Multi-coil (SENSE) TV: operators, agreement with single-coil, and the issue's +8 dB target."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from recon_core import fft2c, make_mask, psnr, reconstruct_tv, sense_forward, shepp_logan, tv_objective
from recon_core.coils import coil_zero_filled, estimate_sens_maps, rss, simulate_multicoil
from recon_core.ops.fft import ifft2c
from recon_core.ops import sense
from recon_core.recon import GradientConfig


def _crandn(rng, shape):
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex64)


def test_tf_operators_are_adjoint_and_match_numpy(rng):
    c, h, w = 3, 10, 12
    sens, x, y = _crandn(rng, (c, h, w)), _crandn(rng, (h, w)), _crandn(rng, (c, h, w))
    mask = (rng.uniform(size=(h, w)) < 0.5).astype(np.float32)
    A = sense(mask, sens, centred=False)  # the solvers' layout (see recon_core.recon.problem)
    ax = A.forward(tf.constant(x)).numpy()
    aty = A.adjoint(tf.constant(y)).numpy()
    np.testing.assert_allclose(np.vdot(ax, y), np.vdot(x, aty), rtol=1e-4)
    # in the unshifted layout the operator is the plain FFT version of sense_forward
    shift = lambda a: np.fft.ifftshift(a, axes=(-2, -1))  # noqa: E731
    ref = sense_forward(np.fft.fftshift(x), np.fft.fftshift(sens, axes=(-2, -1)), np.fft.fftshift(mask) > 0)
    np.testing.assert_allclose(ax, shift(ref), atol=1e-4)


def test_one_coil_of_ones_equals_single_coil():
    x = shepp_logan(64)
    m = make_mask(x.shape, 4, seed=1)
    k = fft2c(x) * m
    single = reconstruct_tv(k, m, 1e-3, "pdhg", max_iter=200)
    multi = reconstruct_tv(k[None], m, 1e-3, "pdhg", max_iter=200, sens=np.ones((1, 64, 64)))
    fs = tv_objective(single.image, k, m, 1e-3)["objective"]
    fm = tv_objective(multi.image, k[None], m, 1e-3, sens=np.ones((1, 64, 64)))["objective"]
    assert abs(fs - fm) / fs < 1e-3


@pytest.mark.slow
@pytest.mark.parametrize("method, iters", [("admm", 60), ("pdhg", 300)])
def test_eight_coils_beat_rss_zero_filled_by_8db(method, iters):
    x = shepp_logan(128)
    k, _ = simulate_multicoil(x, n_coils=8)
    m = make_mask(x.shape, 4, seed=0)
    y = k * m
    ref = rss(ifft2c(k))
    zf = psnr(ref, coil_zero_filled(y, m).rss)
    sens = estimate_sens_maps(y, m)
    res = reconstruct_tv(y, m, 1e-3, method, max_iter=iters, sens=sens, reference=ref)
    assert res.metrics["psnr"] >= zf + 8
    h = res.history_arrays()
    assert h["objective"][-1] < h["objective"][0]
    np.testing.assert_allclose(h["objective"][-1],
                               tv_objective(res.image, y, m, 1e-3, sens=sens)["objective"], rtol=1e-3)


def test_multicoil_errors():
    k = np.ones((2, 8, 8), np.complex64)
    m = np.ones((8, 8), bool)
    with pytest.raises(ValueError, match="needs sensitivity maps"):
        reconstruct_tv(k, m)
    with pytest.raises(ValueError, match=r"sens \(3, 8, 8\) does not match k-space \(2, 8, 8\)"):
        reconstruct_tv(k, m, sens=np.ones((3, 8, 8)))
    with pytest.raises(ValueError, match="all zero"):
        reconstruct_tv(k, m, sens=np.zeros((2, 8, 8)))


def test_gradient_method_runs_on_the_sense_model_too():
    # one solver over operators: the tutorial's gradient descent takes coil maps as well
    x = shepp_logan(48)
    m = make_mask(x.shape, 4, seed=1)
    k = fft2c(x) * m
    cfg = GradientConfig(max_iter=40)
    single = reconstruct_tv(k, m, 1e-3, "gradient", config=cfg)
    multi = reconstruct_tv(k[None], m, 1e-3, "gradient", config=cfg, sens=np.ones((1, 48, 48)))
    np.testing.assert_allclose(multi.image, single.image, atol=1e-5)
    assert multi.history[-1].objective < multi.history[0].objective


@pytest.mark.slow
def test_multicoil_tv_from_a_fastmri_layout_file(tmp_path):
    """Issue 5: an 8-coil fastMRI-layout .h5, loaded like an upload, TV >= RSS zero-filled + 8 dB."""
    import h5py

    from recon_core.io import load_file

    x = shepp_logan(128)
    k, _ = simulate_multicoil(x, n_coils=8)
    path = tmp_path / "file_multicoil.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("kspace", data=np.stack([k, k])[:, :, :, :].astype(np.complex64))
        f.create_dataset("reconstruction_rss", data=np.stack([x, x]).astype(np.float32))
        f.attrs["acquisition"] = "CORPD_FBK"
    data = load_file(path, slice_index=1)
    assert data.n_coils == 8 and data.kspace.shape == (8, 128, 128)
    m = make_mask((128, 128), 4, seed=0)
    y = data.kspace * m
    ref = rss(ifft2c(data.kspace))
    zf = psnr(ref, coil_zero_filled(y, m).rss)
    res = reconstruct_tv(y, m, 1e-3, "admm", max_iter=60, sens=estimate_sens_maps(y, m), reference=ref)
    assert res.metrics["psnr"] >= zf + 8
