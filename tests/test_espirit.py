"""Tests for recon_core.espirit: ESPIRiT maps against the simulated truth, calibration handling.

The standard problem: 128 x 128 Shepp-Logan, 8 simulated coils (:func:`simulate_multicoil`),
complex Gaussian k-space noise of std 0.01 (orthonormal FFT, so 0.01 per pixel per coil: an
SNR of 20 to 30 in the phantom's interior, values 0.2 to 0.3, after coil combination). Measured on it (kernel
6, threshold 0.02, eig_threshold 0.95): map correlation with the truth in the support, median
0.99994, 5th percentile 0.9986; inside the object, 5th percentile 0.9999.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from recon_core.coils import estimate_sens_maps, sens_combine, simulate_multicoil
from recon_core.espirit import (
    MIN_ROWS_PER_KERNEL,
    SMALL_CALIB,
    EspiritResult,
    calibration_block,
    espirit_maps,
)
from recon_core.metrics import nmse
from recon_core.ops.fft import ifft2c
from recon_core.phantoms import shepp_logan

N, COILS, SIGMA = 128, 8, 0.01
ROOT = Path(__file__).resolve().parents[1]


def correlation(maps: np.ndarray, true: np.ndarray) -> np.ndarray:
    """Per-pixel ``|sum_c s_c conj(t_c)| / (||s|| ||t||)``: 1 when equal up to a common phase."""
    num = np.abs(np.sum(maps * np.conj(true), axis=0))
    den = np.linalg.norm(maps, axis=0) * np.linalg.norm(true, axis=0)
    return np.where(den > 0, num / np.where(den > 0, den, 1), 0)


def line_mask(n_center: int, step: int = 4) -> np.ndarray:
    """Every ``step``-th column plus ``n_center`` full centre columns (no sampled neighbour)."""
    m = np.zeros((N, N), bool)
    m[:, ::step] = True
    lo = N // 2 - n_center // 2
    m[:, lo - 1 : lo + n_center + 1] = False
    m[:, lo : lo + n_center] = True
    return m


@pytest.fixture(scope="module")
def problem():
    img = shepp_logan(N)
    kspace, true = simulate_multicoil(img, COILS, noise_std=SIGMA, seed=1)
    return img, kspace, true


@pytest.fixture(scope="module")
def result(problem):
    _, kspace, _ = problem
    return espirit_maps(kspace)


# ------------------------------------------------------------------------- accuracy


def test_maps_match_the_true_sensitivities_up_to_a_common_phase(problem, result):
    img, _, true = problem
    assert isinstance(result, EspiritResult)
    assert result.maps.shape == (COILS, N, N) and result.maps.dtype == np.complex64
    assert result.eigenvalues.shape == (1, N, N) and result.eigenvalues.dtype == np.float32
    assert result.support.dtype == bool and result.calib_shape == (48, 48)
    assert result.warnings == []
    corr = correlation(result.maps, true)
    sup, obj = result.support, img > 0
    median, p5 = float(np.median(corr[sup])), float(np.percentile(corr[sup], 5))
    print(f"\nESPIRiT map correlation in the support: median {median:.5f}, 5th percentile {p5:.4f}"
          f" (support {sup.mean():.0%} of the image, {result.n_kernels} kernels)")
    assert median >= 0.995 and p5 >= 0.98
    assert np.percentile(corr[obj], 5) >= 0.995  # inside the object itself
    # the support covers the object, maps are unit-norm there and zero outside
    assert sup[obj].mean() >= 0.99
    norm2 = np.sum(np.abs(result.maps) ** 2, axis=0)
    assert np.allclose(norm2[sup], 1, atol=1e-4) and not np.any(result.maps[:, ~sup])
    assert np.all(result.eigenvalues[0][sup] > 0.95) and np.all(result.eigenvalues <= 1 + 1e-6)


def test_sense_combination_is_at_least_as_good_as_with_calibration_ratio_maps(problem, result):
    """Fully sampled: the noisy coil images combined with either set of maps, and the noise-free
    coil images combined with maps estimated from the noisy data (map error alone)."""
    img, kspace, true = problem
    ratio = estimate_sens_maps(kspace)
    coils, clean = ifft2c(kspace), true * img
    obj = img > 0
    noisy_e = nmse(img * obj, sens_combine(coils, result.maps) * obj)
    noisy_r = nmse(img * obj, sens_combine(coils, ratio) * obj)
    clean_e = nmse(img, sens_combine(clean, result.maps))
    clean_r = nmse(img, sens_combine(clean, ratio))
    print(f"\nNMSE in the object, noisy coils: ESPIRiT {noisy_e:.4e}, ratio {noisy_r:.4e}; "
          f"noise-free coils (map error): ESPIRiT {clean_e:.2e}, ratio {clean_r:.2e}")
    # with noise, both are noise-limited (unit-norm maps pass the same noise): equal within 1 %
    assert noisy_e <= 1.01 * noisy_r
    # the maps themselves are an order of magnitude closer to the truth
    assert clean_e <= 0.2 * clean_r


def test_odd_non_square_image():
    img = shepp_logan((97, 121))
    kspace, true = simulate_multicoil(img, 6, noise_std=SIGMA / 2, seed=0)
    res = espirit_maps(kspace)
    assert res.maps.shape == (6, 97, 121) and res.calib_shape == (48, 48)
    corr = correlation(res.maps, true)[res.support]
    assert np.median(corr) >= 0.995 and np.percentile(corr, 5) >= 0.98


def test_phase_reference_first_coil(problem, result):
    _, kspace, true = problem
    res = espirit_maps(kspace, phase_ref="first")
    sup = res.support
    s0 = res.maps[0][sup]
    assert np.all(np.abs(s0.imag) <= 1e-6 * np.abs(s0).max()) and np.all(s0.real >= 0)
    # the same maps up to a per-pixel phase
    assert np.allclose(np.abs(res.maps), np.abs(result.maps), atol=1e-5)
    assert np.percentile(correlation(res.maps, true)[sup], 5) >= 0.98


# ------------------------------------------------------------------------- calibration regions


def test_line_shaped_calibration_24_centre_columns(problem):
    img, kspace, true = problem
    mask = line_mask(24)
    res = espirit_maps(kspace * mask, mask)
    assert res.calib_shape == (48, 24)  # full height, capped at max_calib
    assert res.warnings == []
    corr = correlation(res.maps, true)[res.support]
    print(f"\n24-column calibration: median {np.median(corr):.5f}, "
          f"5th percentile {np.percentile(corr, 5):.4f}")
    assert np.median(corr) >= 0.995 and np.percentile(corr, 5) >= 0.98
    assert res.support[img > 0].mean() >= 0.99
    # mask=None infers the same region from the zeros of the k-space
    assert espirit_maps(kspace * mask).calib_shape == (48, 24)


def test_rectangular_calibration_block_in_a_2d_mask(problem):
    _, kspace, true = problem
    mask = np.random.default_rng(0).random((N, N)) < 0.2
    mask[N // 2 - 16 : N // 2 + 16, N // 2 - 12 : N // 2 + 12] = True
    res = espirit_maps(kspace * mask, mask)
    assert res.calib_shape == (32, 24)
    assert np.percentile(correlation(res.maps, true)[res.support], 5) >= 0.98


def test_four_line_calibration_raises_naming_the_size(problem):
    _, kspace, _ = problem
    mask = line_mask(4)
    with pytest.raises(ValueError, match=r"calibration region 48x4 is too small.*at least 6"):
        espirit_maps(kspace * mask, mask)
    # fewer than MIN_CALIB lines raises whatever the kernel
    with pytest.raises(ValueError, match=r"calibration region 3x40 is too small.*at least 4"):
        espirit_maps(kspace, calib=(3, 40), kernel=2)


def test_too_few_windows_raises_and_small_region_warns(problem):
    _, kspace, true = problem
    need = MIN_ROWS_PER_KERNEL * 36
    with pytest.raises(ValueError, match=rf"10x10 gives only 25 6x6 windows; at least {need}"):
        espirit_maps(kspace, calib=10)
    res = espirit_maps(kspace, calib=16)
    assert res.calib_shape == (16, 16)
    assert len(res.warnings) == 2
    assert f"16x16 is small (under {SMALL_CALIB}" in res.warnings[0]
    assert "fewer rows (121 windows) than columns (8 coils x 6x6 = 288)" in res.warnings[1]
    # poorer, but still computed
    assert np.median(correlation(res.maps, true)[res.support]) >= 0.99


def test_no_calibration_region_raises():
    k = np.ones((4, 32, 32), np.complex64)
    mask = np.zeros((32, 32), bool)
    mask[:, ::2] = True  # DC column (16) sampled, neighbours not: no block
    mask[:, 16] = False
    with pytest.raises(ValueError, match=r"no fully sampled calibration region .* \(0x0\)"):
        espirit_maps(k * mask, mask)


def test_calib_given_but_not_fully_sampled_warns(problem):
    _, kspace, _ = problem
    mask = line_mask(24)
    res = espirit_maps(kspace * mask, mask, calib=(32, 32))
    assert any("32x32 calibration block is not fully sampled" in w for w in res.warnings)
    res = espirit_maps(kspace * mask, calib=(32, 32))
    assert any("are zero in every coil" in w for w in res.warnings)


def test_small_support_warns():
    yy, xx = np.mgrid[:N, :N] - N // 2
    disc = (yy**2 + xx**2 < 12**2).astype(np.float32)  # 2.7 % of the image
    kspace, _ = simulate_multicoil(disc, COILS, noise_std=SIGMA, seed=2)
    res = espirit_maps(kspace)
    assert res.support.mean() < 0.2
    assert any("the maps cover only" in w for w in res.warnings)


# ------------------------------------------------------------------------- noise


def test_noise_guard_keeps_maps_usable_at_low_snr():
    img = shepp_logan(N)
    kspace, true = simulate_multicoil(img, COILS, noise_std=0.05, seed=3)
    res = espirit_maps(kspace)
    assert any(w.startswith("noisy calibration data") for w in res.warnings)
    assert res.n_kernels < 8 * 36
    assert np.percentile(correlation(res.maps, true)[img > 0], 5) >= 0.98
    # without the guard all singular values pass threshold * s_max: no null space, and it says so
    raw = espirit_maps(kspace, noise_guard=False)
    assert raw.n_kernels == 8 * 36 and any("no null space" in w for w in raw.warnings)


def test_pure_noise_gives_empty_maps_and_says_so():
    rng = np.random.default_rng(0)
    k = rng.standard_normal((4, 64, 64)) + 1j * rng.standard_normal((4, 64, 64))
    res = espirit_maps(k)
    assert res.n_kernels == 0 and not res.support.any() and not res.maps.any()
    assert any("pure noise" in w for w in res.warnings)


# ------------------------------------------------------------------------- API


def test_deterministic(problem, result):
    _, kspace, _ = problem
    again = espirit_maps(kspace.copy())
    assert np.array_equal(again.maps, result.maps)
    assert np.array_equal(again.eigenvalues, result.eigenvalues)
    assert np.array_equal(again.support, result.support)


def test_two_sets_of_maps(problem, result):
    _, kspace, _ = problem
    res = espirit_maps(kspace, n_maps=2)
    assert res.maps.shape == (2, COILS, N, N) and res.eigenvalues.shape == (2, N, N)
    assert np.all(res.eigenvalues[0] >= res.eigenvalues[1])
    assert np.array_equal(res.maps[0], result.maps)
    assert np.array_equal(res.support, result.support)
    second = res.eigenvalues[1] > 0.95
    assert not np.any(res.maps[1][:, ~second])
    # no aliasing in this object: the second set is (almost) empty
    assert second.mean() < 0.05


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"kernel": 1}, "kernel must be >= 2"),
        ({"threshold": 1.0}, "threshold must be < 1"),
        ({"threshold": 0}, "threshold must be > 0"),
        ({"eig_threshold": 1.0}, "eig_threshold must be < 1"),
        ({"n_maps": 9}, r"n_maps must be <= the number of coils \(8\)"),
        ({"phase_ref": "coil0"}, "phase_ref must be one of"),
        ({"calib": (200, 20)}, r"calib \(200, 20\) exceeds the k-space size \(128, 128\)"),
        ({"calib": (20, 20, 2)}, "calib must be an int or a pair"),
    ],
)
def test_bad_arguments(problem, kwargs, match):
    _, kspace, _ = problem
    with pytest.raises(ValueError, match=match):
        espirit_maps(kspace, **kwargs)


def test_bad_shapes():
    with pytest.raises(ValueError, match=r"kspace must have shape \(C, H, W\)"):
        espirit_maps(np.ones((2, 2, 8, 8), np.complex64))
    with pytest.raises(ValueError, match="does not match k-space"):
        espirit_maps(np.ones((2, 8, 8), np.complex64), np.ones((4, 4), bool))
    with pytest.raises(ValueError, match="zero in every coil"):
        espirit_maps(np.zeros((2, 32, 32), np.complex64), calib=16, kernel=4)


def _brute_block(m: np.ndarray, cap: int | None) -> int:
    """Largest (capped) area of a fully sampled centred rectangle, by trying them all."""
    h, w = m.shape
    best = 0
    for t in range(1, h + 1):
        y0 = h // 2 - t // 2
        for u in range(1, w + 1):
            x0 = w // 2 - u // 2
            if y0 >= 0 and x0 >= 0 and m[y0 : y0 + t, x0 : x0 + u].all():
                best = max(best, t * u if cap is None else min(t, cap) * min(u, cap))
    return best


def test_calibration_block_is_the_largest_centred_rectangle():
    rng = np.random.default_rng(5)
    for _ in range(300):
        h, w = rng.integers(1, 10, 2)
        m = rng.random((h, w)) < 0.85
        cap = [None, 3, 5][rng.integers(3)]
        bh, bw = calibration_block(m, max_size=cap)
        assert bh * bw == _brute_block(m, cap), (m, cap, (bh, bw))
        if bh:
            y0, x0 = h // 2 - bh // 2, w // 2 - bw // 2
            assert m[y0 : y0 + bh, x0 : x0 + bw].all()
    full = np.ones((256, 200), bool)
    assert calibration_block(full) == (48, 48) and calibration_block(full, None) == (256, 200)
    rows = np.zeros((64, 64), bool)
    rows[28:36] = True
    assert calibration_block(rows) == (8, 48)


def test_import_does_not_load_tensorflow():
    code = ("import json, sys; import recon_core.espirit; "
            "print(json.dumps('tensorflow' in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) is False
