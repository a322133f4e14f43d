"""Analytic ellipse phantoms: rasterisation, exact k-space against fft2c / the NUFFT, coils, noise.

Tolerances are measured figures with a margin. The continuous transform and the DFT of a
rasterisation differ by aliasing and by the pixel averaging of the rasterisation, both small
at low frequencies: at |k| < N/8 the largest difference measured is 0.52 % of the DC value
(64 x 64, 4x supersampling), 0.06 % at 256 x 256.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from recon_core.ellipses import (
    DEFAULT_HARMONICS,
    AnalyticData,
    Ellipse,
    analytic_phantom_data,
    ellipse_kspace,
    fourier_sens,
    random_ellipses_params,
    rasterise,
    shepp_logan_ellipses,
)

SHAPES = [(64, 64), (63, 63), (65, 80), (128, 96)]


def grid(h, w):
    """All Cartesian grid points of fft2c, (H, W, 2) (ky, kx)."""
    return np.stack(np.meshgrid(np.arange(h) - h // 2, np.arange(w) - w // 2, indexing="ij"), -1)


def radial(h, w, n_spokes=32, n_read=None):
    """A radial trajectory inside [-H/2, H/2) x [-W/2, W/2), (n_spokes, n_read, 2)."""
    n_read = n_read or 2 * max(h, w)
    ang = np.arange(n_spokes) * np.pi / n_spokes
    r = (np.arange(n_read) - n_read // 2) / n_read  # in [-1/2, 1/2)
    return np.stack([np.outer(np.sin(ang), r) * h, np.outer(np.cos(ang), r) * w], -1)


def low_frequency(coord, shape, fraction=1 / 8):
    """|k| < fraction * N, with k in units of each axis' length."""
    c = np.asarray(coord).reshape(-1, 2)
    return np.hypot(c[:, 0] / shape[0], c[:, 1] / shape[1]) < fraction


# --- rasterisation ------------------------------------------------------------------------


def test_rasterise_pixel_convention_and_dtype():
    # a disc of radius 0.5 centred on pixel (N//2, N//2), also for odd sizes
    for n in (8, 9):
        img = rasterise([Ellipse(1.0, 0.5, 0.5)], (n, n), supersample=1)
        assert img.dtype == np.float32 and img.shape == (n, n)
        assert img[n // 2, n // 2] == 1 and img[0, 0] == 0
        rows, cols = np.nonzero(img)
        assert rows.min() + rows.max() == 2 * (n // 2) and cols.min() + cols.max() == 2 * (n // 2)
    # y points up: an ellipse at y0 > 0 is in the top half, x0 > 0 in the right half
    img = rasterise([Ellipse(1.0, 0.1, 0.1, x0=0.5, y0=0.5)], (32, 32))
    rows, cols = np.mgrid[:32, :32]
    centroid = (np.sum(rows * img) / img.sum(), np.sum(cols * img) / img.sum())
    np.testing.assert_allclose(centroid, (16 - 8, 16 + 8), atol=1e-3)


def test_rasterise_supersampling_antialiases_edges():
    e = [Ellipse(1.0, 0.61, 0.37, 0.05, -0.1, 20.0)]
    sharp, soft = rasterise(e, (64, 64), 1), rasterise(e, (64, 64), 4)
    assert set(np.unique(sharp)) <= {0.0, 1.0}
    partial = (soft > 0) & (soft < 1)
    assert partial.sum() > 50  # the edge pixels are fractional
    assert abs(soft.sum() - np.pi * 0.61 * 0.37 * 32 * 32) / soft.sum() < 0.005  # the area


@pytest.mark.parametrize("n", [65, 33])
def test_rotation_by_90_degrees_matches_rot90(n):
    e = Ellipse(0.7, 0.4, 0.15, x0=0.2, y0=-0.3, angle=25.0)
    r = Ellipse(0.7, 0.4, 0.15, x0=0.3, y0=0.2, angle=115.0)  # e rotated counter-clockwise
    a, b = rasterise([e], (n, n)), rasterise([r], (n, n))
    np.testing.assert_allclose(b, np.rot90(a), atol=1 / 16 + 1e-6)  # ties at sub-pixel points
    assert np.abs(b - np.rot90(a)).mean() < 1e-3
    # the same rotation in k-space: F_r(ky, kx) = F_e(kx, -ky), at arbitrary points
    k = np.random.default_rng(0).uniform(-n / 2 + 1, n / 2 - 1, (200, 2))
    np.testing.assert_allclose(ellipse_kspace([r], k, (n, n)),
                               ellipse_kspace([e], np.stack([k[:, 1], -k[:, 0]], -1), (n, n)),
                               atol=1e-5 * n)


def test_integer_pixel_shift():
    h, w, dy, dx = 64, 48, 5, -7  # rows down, columns right
    e = Ellipse(1.0, 0.3, 0.2, 0.1, 0.05, 40.0)
    s = Ellipse(1.0, 0.3, 0.2, 0.1 + dx / (w / 2), 0.05 - dy / (h / 2), 40.0)
    a, b = rasterise([e], (h, w)), rasterise([s], (h, w))
    assert np.abs(b - np.roll(a, (dy, dx), axis=(0, 1))).max() <= 1 / 16 + 1e-6
    # shift theorem of fft2c: y_s(k) = y(k) exp(-2 pi i (ky dy / H + kx dx / W))
    k = np.random.default_rng(1).uniform(-20, 20, (100, 2))
    ramp = np.exp(-2j * np.pi * (k[:, 0] * dy / h + k[:, 1] * dx / w))
    np.testing.assert_allclose(ellipse_kspace([s], k, (h, w)),
                               ellipse_kspace([e], k, (h, w)) * ramp, atol=1e-4)


# --- Shepp-Logan --------------------------------------------------------------------------


def test_shepp_logan_matches_scikit_image_orientation_included():
    from skimage.data import shepp_logan_phantom

    ref = shepp_logan_phantom()  # 400 x 400, y up like the published table
    table = shepp_logan_ellipses()
    img = rasterise(table, ref.shape)
    mad = np.abs(img - ref).mean()
    assert mad < 0.01  # measured 0.0070 (edges: half-pixel grid offset and anti-aliasing)
    sharp = rasterise(table, ref.shape, supersample=1)
    assert np.median(np.abs(sharp - ref)) == 0.0
    assert np.mean(np.abs(sharp - ref) > 0.05) < 0.015  # measured 0.97 % of pixels
    # the wrong way up, mirrored, or with the angles' sign flipped is clearly worse
    assert np.abs(img[::-1] - ref).mean() > 4 * mad
    assert np.abs(img[:, ::-1] - ref).mean() > 2 * mad
    flipped = [Ellipse(e.intensity, e.a, e.b, e.x0, e.y0, -e.angle) for e in table]
    assert np.abs(rasterise(flipped, ref.shape) - ref).mean() > 2 * mad
    # the values of the modified phantom
    assert img.min() >= -1e-6 and abs(img.max() - 1) < 1e-6


def test_shepp_logan_matches_the_apps_raster_phantom():
    from recon_core.phantoms import shepp_logan

    for n in (256, 255):
        assert np.abs(rasterise(shepp_logan_ellipses(), (n, n)) - shepp_logan(n)).mean() < 0.015


# --- k-space against fft2c ----------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
def test_grid_points_agree_with_fft2c_of_supersampled_rasterisation(shape):
    from recon_core.ops.fft import fft2c

    h, w = shape
    e = shepp_logan_ellipses()
    ref = fft2c(rasterise(e, shape, supersample=4))
    k = ellipse_kspace(e, grid(h, w), shape)
    assert k.shape == (h * w,) and k.dtype == np.complex64
    k = k.reshape(h, w)
    dc = abs(ref[h // 2, w // 2])
    low = low_frequency(grid(h, w), shape).reshape(h, w)
    assert np.abs(k - ref)[low].max() < 0.01 * dc  # measured <= 0.52 %
    assert np.abs(k - ref).max() < 0.03 * dc  # everywhere (aliasing): measured <= 1.8 %


@pytest.mark.parametrize("shape", SHAPES + [(256, 256)])
def test_dc_is_image_sum_over_sqrt_hw(shape):
    h, w = shape
    for e in (shepp_logan_ellipses(), random_ellipses_params(3)):
        dc = ellipse_kspace(e, [[0.0, 0.0]], shape)[0]
        s = rasterise(e, shape).sum() / np.sqrt(h * w)
        assert abs(dc.imag) < 1e-6 * abs(dc)  # ellipses are real images
        assert abs(dc.real - s) < 0.005 * s  # measured <= 0.33 % (63 x 63)


@pytest.mark.parametrize("shape", [(64, 64), (63, 80)])
def test_hermitian_symmetry(shape):
    h, w = shape
    k = np.random.default_rng(2).uniform(-1, 1, (500, 2)) * (np.array([h, w]) / 2 - 1e-3)
    e = random_ellipses_params(7)
    a, b = ellipse_kspace(e, k, shape), ellipse_kspace(e, -k, shape)
    np.testing.assert_allclose(b, np.conj(a), atol=1e-6 * np.abs(a).max())


def test_single_ellipse_rotated_and_shifted_against_its_rasterisation():
    from recon_core.ops.fft import fft2c

    h, w = 96, 81
    for e in (Ellipse(1.0, 0.35, 0.12, 0.3, -0.25, 30.0), Ellipse(-0.5, 0.2, 0.4, -0.4, 0.1, -70)):
        ref = fft2c(rasterise([e], (h, w), supersample=8))
        k = ellipse_kspace([e], grid(h, w), (h, w)).reshape(h, w)
        low = low_frequency(grid(h, w), (h, w)).reshape(h, w)
        dc = abs(ref[h // 2, w // 2])
        assert np.abs(k - ref)[low].max() < 0.01 * dc
        # the centre shift shows in the phase: a wrong sign would fail at the first harmonic
        assert np.abs(k[h // 2 + 1, w // 2 + 1] - ref[h // 2 + 1, w // 2 + 1]) < 0.01 * dc


def test_coord_layout_follows_nufft_forward():
    e = shepp_logan_ellipses()
    c = radial(32, 32, n_spokes=4, n_read=16)
    k = ellipse_kspace(e, c, (32, 32))
    assert k.shape == (64,)
    np.testing.assert_array_equal(k, ellipse_kspace(e, c.reshape(-1, 2), (32, 32)))


# --- coils --------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(16, 12), (15, 17)])
def test_fourier_sens_recovers_a_trigonometric_polynomial(shape):
    h, w = shape
    py, px = np.meshgrid(np.arange(h) - h // 2, np.arange(w) - w // 2, indexing="ij")
    s = np.stack([np.exp(2j * np.pi * (py / h - 2 * px / w)) + 0.5,
                  0.3 * np.exp(-2j * np.pi * 2 * py / h)])
    fs = fourier_sens(s, harmonics=2)
    assert fs.coeffs.shape == (2, 5, 5) and fs.maps.shape == s.shape
    assert fs.fit_error < 1e-6
    assert abs(fs.coeffs[0, 2 + 1, 2 - 2] - 1) < 1e-6  # m_y = 1, m_x = -2
    assert abs(fs.coeffs[0, 2, 2] - 0.5) < 1e-6 and abs(fs.coeffs[1, 0, 2] - 0.3) < 1e-6


def test_fourier_sens_fit_of_simulated_maps():
    from recon_core.coils import simulate_sens_maps

    shape = (256, 256)
    e = shepp_logan_ellipses()
    supp = rasterise(e[:1], shape) > 0
    s = simulate_sens_maps(shape, 8)
    fs = fourier_sens(s, DEFAULT_HARMONICS, support=supp)
    assert fs.fit_error < 0.015  # measured 0.9 %
    plain = fourier_sens(s, DEFAULT_HARMONICS)  # truncated DFT: rings at the FOV's edges
    assert plain.fit_error > 0.1
    inside = np.linalg.norm((plain.maps - s)[:, supp]) / np.linalg.norm(s[:, supp])
    assert inside > 3 * fs.fit_error  # measured 4.4 % against 0.9 %
    assert np.abs(fs.maps).max() < 1.5  # bounded outside the support


@pytest.mark.parametrize("shape", [(64, 64), (63, 50)])
def test_coil_kspace_matches_nufft_of_band_limited_coil_images(shape):
    from recon_core.coils import simulate_sens_maps
    from recon_core.ops.nufft import nufft_forward

    h, w = shape
    e = shepp_logan_ellipses()
    coord = radial(h, w, n_spokes=24)
    fs = fourier_sens(simulate_sens_maps(shape, 4), 4, support=rasterise(e[:1], shape) > 0)
    k = ellipse_kspace(e, coord, shape, fs)
    assert k.shape == (4, coord.shape[0] * coord.shape[1]) and k.dtype == np.complex64
    ref = nufft_forward(fs.maps * rasterise(e, shape, supersample=4), coord)
    low = low_frequency(coord, shape)
    scale = np.abs(ref).max()
    assert np.abs(k - ref)[:, low].max() < 0.01 * scale
    # raw maps are fitted inside the phantom with the default harmonics
    raw = ellipse_kspace(e, coord[:2], shape, simulate_sens_maps(shape, 4), harmonics=3)
    assert raw.shape == (4, 2 * coord.shape[1])


def test_unit_map_reproduces_single_coil():
    shape = (40, 40)
    e = random_ellipses_params(4)
    coord = radial(*shape, n_spokes=8)
    fs = fourier_sens(np.ones((1, *shape)), harmonics=0)
    single = ellipse_kspace(e, coord, shape)
    coil = ellipse_kspace(e, coord, shape, fs)
    np.testing.assert_allclose(coil[0], single, atol=1e-6 * np.abs(single).max())


# --- random ellipses ----------------------------------------------------------------------


def test_random_ellipses_are_seeded_valid_and_leave_global_state_alone():
    state = np.random.get_state()[1].copy()
    a, b, c = random_ellipses_params(5), random_ellipses_params(5), random_ellipses_params(6)
    assert np.array_equal(state, np.random.get_state()[1])
    assert a == b and a != c and len(a) == 10
    assert random_ellipses_params(np.random.default_rng(5)) == a
    assert len(random_ellipses_params(1, n=3)) == 3
    for seed in range(5):
        es = random_ellipses_params(seed)
        assert all(e.intensity > 0 for e in es)
        img = rasterise(es, (128, 128))
        assert img.min() >= 0 and 0.9 < img.max() <= 1.0 + 1e-6
        edge = np.concatenate([img[0], img[-1], img[:, 0], img[:, -1]])
        assert edge.max() == 0


# --- the convenience function -------------------------------------------------------------


def test_analytic_phantom_data_single_coil_noise():
    shape = (64, 64)
    coord = radial(*shape, n_spokes=32)
    clean = analytic_phantom_data(coord, shape)
    assert isinstance(clean, AnalyticData) and clean.sens is None
    assert clean.kspace.shape == (coord.shape[0] * coord.shape[1],)
    assert clean.coord.shape == (clean.kspace.shape[0], 2) and clean.shape == shape
    np.testing.assert_array_equal(clean.kspace, ellipse_kspace(shepp_logan_ellipses(), coord,
                                                               shape))
    np.testing.assert_array_equal(clean.image, rasterise(shepp_logan_ellipses(), shape))
    noisy = analytic_phantom_data(coord, shape, snr_db=20, seed=3)
    again = analytic_phantom_data(coord, shape, snr_db=20, seed=3)
    np.testing.assert_array_equal(noisy.kspace, again.kspace)
    # sigma^2 from the image power (= fully sampled Cartesian k-space power), not the samples'
    sigma2 = np.mean(clean.image.astype(float) ** 2) / 10 ** 2
    measured = np.mean(np.abs(noisy.kspace - clean.kspace) ** 2)
    assert abs(measured / sigma2 - 1) < 0.1  # 32768 samples: 1 % statistical spread


def test_analytic_phantom_data_multicoil():
    shape = (48, 40)
    coord = radial(*shape, n_spokes=16)
    d = analytic_phantom_data(coord, shape, phantom="random", n_coils=4, snr_db=30, seed=1,
                              harmonics=4)
    assert d.kspace.shape == (4, coord.shape[0] * coord.shape[1])
    assert d.sens.shape == (4, *shape) and d.sens.dtype == np.complex64
    assert 0 < d.sens_fit_error < 0.1 and d.snr_db == 30
    assert d.ellipses == random_ellipses_params(np.random.default_rng(1))
    clean = analytic_phantom_data(coord, shape, phantom=list(d.ellipses), n_coils=4,
                                  harmonics=4)
    np.testing.assert_allclose(clean.sens, d.sens)
    sigma2 = np.mean(np.abs(d.sens * d.image) ** 2) / 10 ** 3
    assert abs(np.mean(np.abs(d.kspace - clean.kspace) ** 2) / sigma2 - 1) < 0.15


@pytest.mark.slow
def test_performance_256_shepp_logan():
    shape = (256, 256)
    coord = radial(*shape, n_spokes=64, n_read=512)  # 32768 points
    e = shepp_logan_ellipses()
    t = time.perf_counter()
    ellipse_kspace(e, coord, shape)
    single = time.perf_counter() - t
    from recon_core.coils import simulate_sens_maps

    sens = simulate_sens_maps(shape, 8)
    t = time.perf_counter()
    ellipse_kspace(e, coord, shape, sens)
    coils = time.perf_counter() - t
    # measured 0.03 s and 0.7 s (two shared cores); generous bounds against load
    assert single < 1.0 and coils < 8.0, (single, coils)


# --- errors -------------------------------------------------------------------------------


def test_module_needs_no_tensorflow():
    import subprocess
    import sys

    code = "import sys, recon_core.ellipses; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("call, match", [
    (lambda: rasterise([], (8, 8)), "empty"),
    (lambda: ellipse_kspace([], [[0, 0]], (8, 8)), "empty"),
    (lambda: rasterise(shepp_logan_ellipses(), (8,)), "pair"),
    (lambda: rasterise(shepp_logan_ellipses(), (0, 8)), "H"),
    (lambda: rasterise(shepp_logan_ellipses(), (8, 8), supersample=0), "supersample"),
    (lambda: rasterise([(1.0, 0.5)], (8, 8)), "six numbers"),
    (lambda: Ellipse(1.0, 0.0, 0.5), "semi-axes"),
    (lambda: Ellipse(1.0, 0.5, float("nan")), "finite"),
    (lambda: ellipse_kspace(shepp_logan_ellipses(), np.zeros((4, 3)), (8, 8)), r"\(\.\.\., 2\)"),
    (lambda: ellipse_kspace(shepp_logan_ellipses(), [[4.0, 0.0]], (8, 8)), "outside"),
    (lambda: ellipse_kspace(shepp_logan_ellipses(), [[0.0, 0.0]], (8, 8), np.ones((2, 8, 9))),
     "sens"),
    (lambda: ellipse_kspace(shepp_logan_ellipses(), [[0.0, 0.0]], (8, 8),
                            fourier_sens(np.ones((1, 8, 9)), 1)), "do not match"),
    (lambda: fourier_sens(np.ones((1, 8, 8)), harmonics=4), "harmonics"),
    (lambda: fourier_sens(np.ones((8, 8)), harmonics=1), "sens"),
    (lambda: fourier_sens(np.ones((1, 8, 8)), 1, support=np.zeros((8, 8))), "support is empty"),
    (lambda: random_ellipses_params(0, n=0), "n"),
    (lambda: analytic_phantom_data([[0, 0]], (8, 8), phantom="brain"), "unknown phantom"),
    (lambda: analytic_phantom_data([[0, 0]], (8, 8), snr_db=float("nan")), "snr_db"),
])
def test_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
