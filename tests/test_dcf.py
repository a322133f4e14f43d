"""Tests for recon_core.dcf: the radial ramp, Pipe–Menon through the NUFFT, the smoothed density
and the dispatcher.

Two criteria throughout. (1) The gridding of a constant k-space is flat: the Gaussian-smoothed
density sum_j w_j g(k - k_j) at the Cartesian grid points inside 0.9 of the sampled radius is
within 5 % of 1. (2) Gridding reconstruction nufft_adjoint(w * nufft_forward(x)) of a smooth
Gaussian blob gives back x. Independent references: closed forms of the ramp, a brute-force
kernel sum, fft2c for Cartesian grids.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from recon_core.dcf import (
    DCF_METHODS,
    _Convolution,
    _cosine_window,
    _gaussian_window,
    dcf,
    density,
    pipe_menon_dcf,
    ramp_dcf,
)
from recon_core.ops.nonuniform import nufft_adjoint, nufft_forward
from recon_core.trajectories import (
    Trajectory,
    cartesian,
    default_nyquist_interleaves,
    radial,
    spiral,
)


def _grid(shape):
    h, w = shape
    u, v = np.meshgrid(np.arange(h) - h // 2, np.arange(w) - w // 2, indexing="ij")
    return np.stack([u, v], -1).reshape(-1, 2).astype(np.float64)


def _flatness(traj, w, radius, sigma=1.0):
    """(min, max) of the smoothed density at the grid points with |k| < radius."""
    g = _grid(traj.shape)
    g = g[np.hypot(g[:, 0], g[:, 1]) < radius]
    d = density(traj.coord, w, traj.shape, g, sigma=sigma)
    return float(d.min()), float(d.max())


def _blob(shape, s):
    h, w = shape
    y, x = np.arange(h) - h // 2, np.arange(w) - w // 2
    return np.exp(-(y[:, None] ** 2 + x[None, :] ** 2) / (2 * s * s))


def _gridding_error(traj, w, x):
    y = nufft_forward(x, traj.points)
    xr = nufft_adjoint(np.asarray(w, np.float64).reshape(-1) * y, traj.points, traj.shape)
    return float(np.linalg.norm(xr - x) / np.linalg.norm(x))


def _g1(k):
    """Pipe–Menon's kernel per axis in closed form (8 / pi^2) cos^2(pi k) / (1 - 4 k^2)^2."""
    den = 1 - 4 * k ** 2
    near = np.abs(den) < 1e-6
    safe = np.where(near, 1.0, den)
    return np.where(near, 0.5, 8 / np.pi ** 2 * np.cos(np.pi * k) ** 2 / safe ** 2)


# ----------------------------------------------------------------------------- the convolution


@pytest.mark.parametrize("shape", [(16, 16), (15, 18)])
def test_density_is_the_brute_force_gaussian_sum(shape, rng):
    h, w = shape
    coord = rng.uniform(-0.5, 0.5, (300, 2)) * np.array([h, w])
    wt = rng.uniform(0.2, 1.0, 300)
    pts = rng.uniform(-0.5, 0.5, (50, 2)) * np.array([h, w])
    for sigma in (1.0, 1.8):
        got = density(coord, wt, shape, pts, sigma=sigma)
        # k-space is periodic with period (H, W): sum over the neighbouring periods too
        d = pts[:, None, :] - coord[None, :, :]
        ref = np.zeros(50)
        for my in (-1, 0, 1):
            for mx in (-1, 0, 1):
                e = d + np.array([my * h, mx * w])
                g = np.exp(-(e ** 2).sum(-1) / (2 * sigma ** 2)) / (2 * np.pi * sigma ** 2)
                ref += g @ wt
        np.testing.assert_allclose(got, ref, rtol=2e-5, atol=1e-6 * ref.max())


def test_pipe_menon_kernel_is_the_brute_force_sum_of_its_closed_form(rng):
    h, w = 16, 20
    coord = rng.uniform(-0.5, 0.5, (200, 2)) * np.array([h, w])
    wt = rng.uniform(0.2, 1.0, 200)
    got = _Convolution(coord, (h, w), _cosine_window)(wt)
    d = coord[:, None, :] - coord[None, :, :]
    m = np.arange(-40, 41)  # the kernel decays as k^-4: many periods
    gy = _g1(d[..., 0, None] + m * h).sum(-1)
    gx = _g1(d[..., 1, None] + m * w).sum(-1)
    np.testing.assert_allclose(got, (gy * gx) @ wt, rtol=1e-5)


def test_pipe_menon_kernel_is_positive_normalised_and_half_a_grid_unit_wide():
    k = np.linspace(-400, 400, 1_600_001)
    g = _g1(k)
    assert g.min() >= 0
    dk = k[1] - k[0]
    assert g.sum() * dk == pytest.approx(1, abs=1e-6)
    assert (k ** 2 * g).sum() * dk == pytest.approx(0.25, abs=2e-3)  # std 1/2
    x = np.linspace(-1, 1, 2001)
    assert _cosine_window(np.array([0.0]))[0] == 1 and _cosine_window(np.array([1.0]))[0] == 0
    assert np.all(np.diff(_cosine_window(x[1000:])) <= 0)  # 1 at 0, down to 0 at one FOV
    assert _gaussian_window(np.array([1.0]), 0.75)[0] < 2e-5  # density()'s sigma bound


def test_density_of_a_cartesian_grid_is_one_everywhere():
    traj = cartesian((20, 17))
    pts = np.random.default_rng(0).uniform(-0.5, 0.5, (100, 2)) * np.array([20, 17])
    for sigma in (0.75, 1.0, 2.0):
        d = density(traj.coord, np.ones(traj.coord.shape[:-1]), traj.shape, pts, sigma=sigma)
        np.testing.assert_allclose(d, 1, atol=1e-4)  # measured 3e-5: the NUFFT's accuracy
    d = density(traj.coord, np.ones(traj.coord.shape[:-1]), traj.shape)
    assert d.shape == traj.coord.shape[:-1] and d.dtype == np.float32


# ----------------------------------------------------------------------------- ramp


@pytest.mark.parametrize("n_samples", [128, 127])
def test_ramp_is_the_closed_form(n_samples):
    n, n_spokes = 64, 50
    traj = radial((n, n), n_spokes, n_samples=n_samples)
    w = ramp_dcf(traj)
    assert w.shape == (n_spokes, n_samples) and w.dtype == np.float32
    dk = n / n_samples
    r = np.abs(np.arange(n_samples) - n_samples / 2) * dk
    expected = np.where(r == 0, np.pi * dk ** 2 / (4 * n_spokes), np.pi * r * dk / n_spokes)
    np.testing.assert_allclose(w, np.broadcast_to(expected, w.shape), rtol=1e-5)
    assert w.sum() == pytest.approx(np.pi * (n / 2) ** 2, rel=2e-3)


def test_ramp_of_golden_angles_shares_the_half_circle():
    n = 64
    uniform = ramp_dcf(radial((n, n), 21))
    golden = ramp_dcf(radial((n, n), 21, golden=True))
    # each spoke's weights are the uniform ones scaled by its share of pi over pi / 21
    shares = golden[:, 10] / uniform[0, 10]
    np.testing.assert_allclose(golden, shares[:, None] * uniform[0], rtol=1e-4)
    assert shares.sum() == pytest.approx(21, rel=1e-5)
    assert np.ptp(shares) > 0.2  # golden gaps are not uniform (21: 0.947 and 1.170)
    assert golden.sum() == pytest.approx(uniform.sum(), rel=1e-5)


def test_ramp_of_a_non_square_image_covers_the_ellipse():
    traj = radial((48, 80), 200)
    assert ramp_dcf(traj).sum() == pytest.approx(np.pi * 48 * 80 / 4, rel=2e-3)
    lo, hi = _flatness_ellipse(traj, ramp_dcf(traj))
    assert 0.95 < lo and hi < 1.05, (lo, hi)


def _flatness_ellipse(traj, w):
    h, wd = traj.shape
    g = _grid(traj.shape)
    g = g[np.hypot(2 * g[:, 0] / h, 2 * g[:, 1] / wd) < 0.9]
    d = density(traj.coord, w, traj.shape, g)
    return float(d.min()), float(d.max())


def test_ramp_refuses_other_kinds():
    with pytest.raises(ValueError, match="ramp_dcf needs a radial trajectory, got 'spiral'"):
        ramp_dcf(spiral((32, 32), 2))
    with pytest.raises(ValueError, match="got 'ndarray'"):
        ramp_dcf(np.zeros((4, 8, 2)))
    with pytest.raises(ValueError, match="spoke 0 has no extent"):
        ramp_dcf(Trajectory(np.zeros((1, 3, 2)), (8, 8), "radial", 13))


# ----------------------------------------------------------------------------- flat density


@pytest.mark.slow  # 256 x 256 with 206k samples: 1-5 s depending on the load
def test_radial_at_nyquist_is_flat_with_ramp_and_pipe_menon():
    traj = radial((256, 256), 402)  # pi/2 * 256 = 402.1
    for w in (ramp_dcf(traj), pipe_menon_dcf(traj.coord, traj.shape)):
        lo, hi = _flatness(traj, w, 0.9 * 128)
        assert 0.95 < lo and hi < 1.05, (lo, hi)  # measured: ramp [1.000, 1.010], PM [0.998, 1.000]
        assert w.sum() == pytest.approx(np.pi * 128 ** 2, rel=0.02)  # the disc's area


def test_undersampled_radial():
    traj = radial((256, 256), 64)  # 6.3x
    ramp = ramp_dcf(traj)
    pm = pipe_menon_dcf(traj.coord, traj.shape)
    # The ramp is flat everywhere once the kernel bridges the gaps between spokes (6.3 cycles/FOV
    # at the edge, 5.7 at 0.9 of it): measured [0.999, 1.001] with sigma = 3.8.
    lo, hi = _flatness(traj, ramp, 0.9 * 128, sigma=0.6 * traj.acceleration)
    assert 0.95 < lo and hi < 1.05, (lo, hi)
    # Both are flat inside the disc the spokes sample at Nyquist, r < n / pi = 20.4
    # (measured: ramp [1.000, 1.010], Pipe–Menon [0.991, 1.000]) ...
    for w in (ramp, pm):
        lo, hi = _flatness(traj, w, 64 / np.pi)
        assert 0.95 < lo and hi < 1.05, (lo, hi)
    # ... where Pipe–Menon's weights are the ramp's (an independent check of both; measured
    # within 1 % for 3 < r < 16, 3 % for 1 < r < 3). At the very centre, where 64 spokes
    # cross, only the total is determined: within 1 % inside r < 3.
    r = np.hypot(*traj.points.astype(np.float64).T)
    pm_flat, ramp_flat = pm.reshape(-1), ramp.reshape(-1)
    inner = (r > 3) & (r < 0.8 * 64 / np.pi)
    np.testing.assert_allclose(pm_flat[inner] / ramp_flat[inner], 1, atol=0.015)
    centre = r < 3
    assert pm_flat[centre].sum() == pytest.approx(ramp_flat[centre].sum(), rel=0.01)
    # ... and outside, where the spokes are further apart than its kernel, it compensates each
    # spoke along itself only: weights below the ramp, falling with the radius (documented).
    outer = np.median(pm.reshape(-1)[r > 80] / ramp.reshape(-1)[r > 80])
    assert 0.15 < outer < 0.4, outer  # measured 0.21-0.26
    # At the samples themselves Pipe–Menon reaches its fixed point C w = 1.
    c = traj.points.astype(np.float64)
    res = np.abs(_Convolution(c, traj.shape, _cosine_window)(pm.reshape(-1).astype(np.float64)) - 1)
    assert res[r < 0.9 * 128].max() < 0.01  # measured 0.0033 (0.034 at the very edge)


def test_golden_angle_radial_ramp_is_flat():
    # 233 (a Fibonacci number) golden-angle spokes leave two gap sizes: measured [0.993, 1.010]
    traj = radial((128, 128), 233, golden=True)
    lo, hi = _flatness(traj, ramp_dcf(traj), 0.9 * 64)
    assert 0.95 < lo and hi < 1.05, (lo, hi)
    # 202 leave three, up to 1.4x the mean gap: the cell areas are exact, but a kernel of std 1
    # sees the uneven gaps (measured [0.934, 1.060]); std 2 smooths them ([0.991, 1.007]).
    traj = radial((128, 128), 202, golden=True)
    lo, hi = _flatness(traj, ramp_dcf(traj), 0.9 * 64, sigma=2.0)
    assert 0.95 < lo and hi < 1.05, (lo, hi)


@pytest.mark.parametrize("shape", [(64, 64), (63, 65)])
def test_pipe_menon_on_a_nyquist_spiral_is_flat(shape):
    traj = spiral(shape, default_nyquist_interleaves(shape))
    w = pipe_menon_dcf(traj.coord, traj.shape)
    assert w.shape == traj.coord.shape[:-1] and w.dtype == np.float32 and w.min() > 0
    lo, hi = _flatness_ellipse(traj, w)
    assert 0.95 < lo and hi < 1.05, (lo, hi)  # measured [0.989, 1.001] at 64 x 64
    assert w.sum() == pytest.approx(np.pi * shape[0] * shape[1] / 4, rel=0.03)


def test_pipe_menon_on_a_variable_density_spiral_is_flat_where_it_is_at_nyquist():
    traj = spiral((64, 64), 2, density=2.0)  # 2x at the edge, Nyquist out to 1/4 of the radius
    w = pipe_menon_dcf(traj.coord, traj.shape)
    lo, hi = _flatness(traj, w, 0.25 * 32)
    assert 0.95 < lo and hi < 1.05, (lo, hi)


@pytest.mark.parametrize("shape", [(63, 64), (64, 64), (65, 65)])
def test_pipe_menon_on_the_full_cartesian_grid_is_one(shape):
    traj = cartesian(shape)
    w = pipe_menon_dcf(traj.coord, shape)
    np.testing.assert_allclose(w, 1, atol=1e-4)


# ----------------------------------------------------------------------------- gridding


@pytest.mark.parametrize("s", [2, 4, 8])
def test_gridding_gives_back_a_smooth_blob(s):
    shape = (64, 64)
    x = _blob(shape, s)
    rad = radial(shape, math.ceil(np.pi / 2 * 64))
    spi = spiral(shape, default_nyquist_interleaves(shape))
    # measured: ramp 0.007 / 0.013 / 0.026 (s = 2, 4, 8), Pipe–Menon 2e-4 / 4e-4 / 0.003 on
    # radial and 0.006 / 0.008 / 0.007 on the spiral
    assert _gridding_error(rad, ramp_dcf(rad), x) < 0.04
    assert _gridding_error(rad, pipe_menon_dcf(rad.coord, shape), x) < 0.006
    assert _gridding_error(spi, pipe_menon_dcf(spi.coord, shape), x) < 0.015
    # without compensation the centre of k-space dominates: far from the image
    assert _gridding_error(rad, np.ones(rad.coord.shape[:-1]), x) > 0.5


@pytest.mark.slow  # 256 x 256 with 206k samples: 1-5 s depending on the load
def test_gridding_at_256_with_ramp_and_pipe_menon():
    shape = (256, 256)
    x = _blob(shape, 4)
    traj = radial(shape, 402)
    assert _gridding_error(traj, ramp_dcf(traj), x) < 0.01  # measured 0.0033
    assert _gridding_error(traj, pipe_menon_dcf(traj.coord, shape), x) < 0.001  # measured 1e-4


def _gaussian_pipe_menon(coord, shape, n_iter=30):
    conv = _Convolution(coord, shape, lambda x: _gaussian_window(x, 1.0))
    w = np.ones(coord.shape[0])
    for _ in range(n_iter):
        w = w / conv(w)
    return w


def test_a_gaussian_kernel_gives_flat_density_but_worse_gridding():
    """Why Pipe–Menon uses the cosine window: a Gaussian of std 1 grid unit (window 0.007 at half
    a FOV) leaves the weights free where its window vanishes."""
    shape = (64, 64)
    traj = radial(shape, 101)
    c = traj.points.astype(np.float64)
    gauss = _gaussian_pipe_menon(c, shape)
    lo, hi = _flatness(traj, gauss, 0.9 * 32)
    assert 0.95 < lo and hi < 1.05  # flat, as with the cosine window ...
    x = _blob(shape, 4)
    err_gauss = _gridding_error(traj, gauss, x)
    err_cos = _gridding_error(traj, pipe_menon_dcf(traj.coord, shape), x)
    assert err_gauss > 0.04 and err_cos < err_gauss / 20  # measured 0.09 vs 0.0004


# ----------------------------------------------------------------------------- dispatcher


def test_dispatcher_picks_by_kind():
    assert DCF_METHODS == ("auto", "ramp", "pipe-menon", "none")
    rad = radial((32, 32), 20)
    np.testing.assert_array_equal(dcf(rad), ramp_dcf(rad))
    np.testing.assert_array_equal(dcf(rad, "Pipe-Menon", n_iter=5),
                                  pipe_menon_dcf(rad.coord, rad.shape, n_iter=5))
    spi = spiral((32, 32), 2)
    np.testing.assert_array_equal(dcf(spi), pipe_menon_dcf(spi.coord, spi.shape))
    cart = cartesian((16, 12), np.arange(12)[None, :].repeat(16, 0) % 2 == 0)
    w = dcf(cart)
    assert w.shape == (6, 16) and w.dtype == np.float32 and np.all(w == 1)
    assert np.all(dcf(rad, "none") == 1) and dcf(rad, "none").shape == (20, 64)


def test_errors():
    rad = radial((32, 32), 4)
    with pytest.raises(ValueError, match="unknown DCF method 'voronoi'; valid methods are auto, "
                                         "ramp, pipe-menon, none"):
        dcf(rad, "voronoi")
    with pytest.raises(ValueError, match="got 'spiral'"):
        dcf(spiral((32, 32), 2), "ramp")
    with pytest.raises(ValueError, match="traj must be a Trajectory, got ndarray"):
        dcf(rad.coord)
    with pytest.raises(ValueError, match="n_iter must be >= 1, got 0"):
        pipe_menon_dcf(rad.coord, rad.shape, n_iter=0)
    with pytest.raises(ValueError, match=r"coordinate \(16, 0\) of sample 0 is outside"):
        pipe_menon_dcf([[16.0, 0.0]], (32, 32))
    with pytest.raises(ValueError, match=r"shape must be \(H, W\)"):
        pipe_menon_dcf(rad.coord, (32,))
    with pytest.raises(ValueError, match=r"sigma must be in \[0.75, min\(H, W\) / 8\] = "
                                         r"\[0.75, 4\] grid units for a \(32, 32\) image, got 5"):
        density(rad.coord, np.ones(rad.coord.shape[:-1]), rad.shape, sigma=5)
    with pytest.raises(ValueError, match="sigma must be in"):
        density(rad.coord, np.ones(rad.coord.shape[:-1]), rad.shape, sigma=0.5)
    with pytest.raises(ValueError, match=r"weights of shape \(3,\) do not match the 256"):
        density(rad.coord, np.ones(3), rad.shape)
    with pytest.raises(ValueError, match="weights contain NaN or Inf"):
        density(rad.coord, np.full(rad.coord.shape[:-1], np.nan), rad.shape)
