"""Tests for recon_core.coils: RSS, coil-wise zero-filling, sensitivity maps, simulation."""

from __future__ import annotations

import io

import h5py
import numpy as np
import pytest

from recon_core.coils import (
    calibration_region,
    coil_zero_filled,
    estimate_sens_maps,
    rss,
    sens_combine,
    simulate_multicoil,
    simulate_sens_maps,
)
from recon_core.ops.coils import sense_adjoint, sense_forward
from recon_core.ops.fft import fft2c, ifft2c
from recon_core.io import load_file, prepare


def object_image(n: int = 64, m: int | None = None) -> np.ndarray:
    """A smooth-edged elliptical object with some structure, zero outside (H, W) = (n, m)."""
    m = m or n
    y, x = np.mgrid[:n, :m]
    yy, xx = (y - n / 2) / (0.4 * n), (x - m / 2) / (0.35 * m)
    r2 = yy**2 + xx**2
    img = np.clip(1.5 - 1.5 * r2, 0, 1) * (1 + 0.3 * np.sin(x / 3.0))
    return img.astype(np.float32)


def line_mask(shape, n_center: int, step: int = 4) -> np.ndarray:
    h, w = shape
    m = np.zeros(shape, bool)
    m[:, ::step] = True
    m[:, w // 2 - n_center // 2 : w // 2 - n_center // 2 + n_center] = True
    return m


def test_rss_matches_definition(rng):
    x = rng.standard_normal((3, 5, 7)) + 1j * rng.standard_normal((3, 5, 7))
    np.testing.assert_allclose(rss(x), np.sqrt((np.abs(x) ** 2).sum(0)), rtol=1e-6)
    np.testing.assert_allclose(rss(np.moveaxis(x, 0, -1), axis=-1), rss(x), rtol=1e-6)
    assert rss(x).dtype == np.float32
    with pytest.raises(ValueError, match="axis"):
        rss(x, axis=3)


@pytest.mark.parametrize("shape", [(32, 32), (33, 20)])
def test_simulated_maps_are_normalised_smooth_and_deterministic(shape):
    s = simulate_sens_maps(shape, n_coils=6)
    assert s.shape == (6, *shape) and s.dtype == np.complex64
    np.testing.assert_allclose(np.sum(np.abs(s) ** 2, axis=0), 1.0, atol=1e-5)
    assert np.max(np.abs(np.diff(s, axis=-1))) < 0.3  # smooth from pixel to pixel
    np.testing.assert_array_equal(s, simulate_sens_maps(shape, n_coils=6))
    assert len({np.argmax(np.abs(c)) for c in s}) == 6  # each coil peaks somewhere else
    with pytest.raises(ValueError, match="n_coils"):
        simulate_sens_maps(shape, n_coils=0)


def test_simulate_multicoil_forward_model_and_seeding():
    x = object_image(32, 28)
    k, s = simulate_multicoil(x, n_coils=4)
    np.testing.assert_allclose(k, sense_forward(x, s, np.ones(x.shape, bool)), atol=1e-5)
    np.testing.assert_allclose(rss(ifft2c(k)), x, atol=1e-5)
    np.testing.assert_allclose(sens_combine(ifft2c(k), s), x, atol=1e-5)
    state = np.random.get_state()[1].copy()
    k1, _ = simulate_multicoil(x, 4, noise_std=0.1, seed=3)
    k2, _ = simulate_multicoil(x, 4, noise_std=0.1, seed=np.random.default_rng(3))
    np.testing.assert_array_equal(k1, k2)
    np.testing.assert_array_equal(np.random.get_state()[1], state)
    assert 0.05 < np.std(k1 - k) < 0.15


def test_coil_zero_filled_is_coilwise_ifft_of_masked_kspace():
    x = object_image(32)
    k, _ = simulate_multicoil(x, n_coils=3)
    mask = line_mask(x.shape, 6)
    zf = coil_zero_filled(k, mask)
    np.testing.assert_allclose(
        zf.coil_images,
        np.fft.fftshift(
            np.fft.ifft2(np.fft.ifftshift(k * mask, axes=(-2, -1)), norm="ortho"), axes=(-2, -1)
        ),
        atol=1e-5,
    )
    np.testing.assert_allclose(zf.rss, rss(zf.coil_images), rtol=1e-6)
    full = coil_zero_filled(k, np.ones(x.shape, bool))
    np.testing.assert_allclose(full.rss, x, atol=1e-5)
    with pytest.raises(ValueError, match="mask"):
        coil_zero_filled(k, np.ones((8, 8), bool))
    with pytest.raises(ValueError, match="dimensions"):
        coil_zero_filled(k[0], mask)


def test_calibration_region_shapes():
    assert calibration_region(line_mask((64, 48), 8, step=5)) == (32, 8)
    assert calibration_region(line_mask((64, 48), 8, step=5), max_size=None) == (64, 8)
    rows = line_mask((48, 64), 6, step=10).T
    assert calibration_region(rows, max_size=None) == (6, 48)
    sq = np.zeros((40, 40), bool)
    sq[15:25, 15:25] = True  # centred the fft2c way: starts at 40 // 2 - 10 // 2
    assert calibration_region(sq) == (10, 10)
    assert calibration_region(np.zeros((16, 16), bool)) == (0, 0)
    assert calibration_region(np.ones((20, 12), bool)) == (20, 12)
    odd = np.zeros((8, 41), bool)
    odd[:, 16:26] = (
        True  # fastMRI centres 10 of 41 columns at 16..25; fft2c's block would be 15..24
    )
    assert calibration_region(odd) == (8, 9)


def test_estimated_maps_match_truth_and_are_sense_consistent():
    x = object_image(96, 80)
    k, s_true = simulate_multicoil(x, n_coils=8)
    mask = line_mask(x.shape, 20)
    est = estimate_sens_maps(k * mask)  # mask inferred from the non-zero k-space
    np.testing.assert_array_equal(est, estimate_sens_maps(k, mask))
    assert est.shape == s_true.shape and est.dtype == np.complex64
    support = x > 0.05 * x.max()
    power = np.sum(np.abs(est) ** 2, axis=0)
    np.testing.assert_allclose(power[support], 1.0, atol=1e-4)
    assert set(np.unique(np.round(power, 4))) <= {0.0, 1.0}
    # magnitudes agree with the true maps inside the object (phases differ by a common term)
    assert np.median(np.abs(np.abs(est) - np.abs(s_true))[:, support]) < 0.01
    # SENSE consistency: S * combine(S, coil images) reproduces the coil images
    coil_images = ifft2c(k)
    combined = sens_combine(coil_images, est)
    err = np.linalg.norm((est * combined - coil_images)[:, support]) / np.linalg.norm(
        coil_images[:, support]
    )
    assert err < 0.05
    np.testing.assert_allclose(np.abs(combined)[support], x[support], rtol=0.02, atol=0.01)


def test_estimate_sens_maps_arguments():
    x = object_image(32)
    k, _ = simulate_multicoil(x, n_coils=4)
    random_mask = np.random.default_rng(0).random(x.shape) < 0.3
    random_mask[16, 16] = False
    with pytest.raises(ValueError, match="calib_size"):
        estimate_sens_maps(k * random_mask)
    assert estimate_sens_maps(k * random_mask, calib_size=8).shape == k.shape
    with pytest.raises(ValueError, match="exceeds"):
        estimate_sens_maps(k, calib_size=(40, 8))
    with pytest.raises(ValueError, match="threshold"):
        estimate_sens_maps(k, calib_size=8, threshold=1.5)
    with pytest.raises(ValueError, match="dimensions"):
        estimate_sens_maps(k[0])
    with pytest.raises(ValueError, match=r"\(C, H, W\)"):
        estimate_sens_maps(k[None])


def test_sense_adjoint_with_estimated_maps_recovers_image():
    x = object_image(64)
    k, _ = simulate_multicoil(x, n_coils=8)
    full = np.ones(x.shape, bool)
    est = estimate_sens_maps(k, calib_size=24)
    recon = sense_adjoint(k, est, full)  # sum_c conj(S_c) F^H y_c, with sum |S|^2 = 1
    support = x > 0.05 * x.max()
    np.testing.assert_allclose(np.abs(recon)[support], x[support], rtol=0.03, atol=0.01)


def test_multicoil_h5_pipeline(tmp_path):
    """fastMRI multi-coil file -> LoadedData -> prepare -> zero-filled RSS + sensitivity maps."""
    x = object_image(48, 40)
    k, _ = simulate_multicoil(x, n_coils=6)
    with h5py.File(tmp_path / "mc.h5", "w") as f:
        f["kspace"] = np.stack([k, 0.5 * k]).astype(np.complex64)
        f["reconstruction_rss"] = np.stack([x, 0.5 * x])
    d = load_file(tmp_path / "mc.h5", slice_index=0)
    np.testing.assert_allclose(d.display_image(), d.reference, atol=1e-5)
    p = prepare(d, (40, 40))
    mask = line_mask(p.size, 12)
    zf = coil_zero_filled(p.kspace, mask)
    sens = estimate_sens_maps(p.kspace * mask)
    assert zf.rss.shape == (40, 40) and sens.shape == (6, 40, 40)
    y = fft2c(sens * sens_combine(ifft2c(p.kspace), sens)) * mask
    support = p.target > 0.05
    assert np.linalg.norm((ifft2c(y) - zf.coil_images)[:, support]) < 0.1 * np.linalg.norm(
        zf.coil_images[:, support]
    )


def test_h5_bytes_helper_for_uploads(tmp_path):
    """The same multi-coil file, handed over as an upload (bytes + name)."""
    x = object_image(32)
    k, _ = simulate_multicoil(x, n_coils=2)
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        f["kspace"] = k[None]
    d = load_file(buf.getvalue(), "upload.h5")
    assert d.n_coils == 2 and d.source == "fastMRI multi-coil .h5, slice 0 of 1, 2 coils, 32x32"
