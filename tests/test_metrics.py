"""Metrics follow fastMRI: magnitudes, data range = reference max, scikit-image implementations."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from recon_core import all_metrics, nmse, psnr, shepp_logan, ssim


@pytest.fixture
def pair(rng):
    ref = shepp_logan(64).astype(np.float64)
    noisy = ref + 0.05 * rng.standard_normal(ref.shape)
    return ref, noisy


def test_agree_with_scikit_image(pair):
    ref, img = pair
    dr = ref.max()
    assert psnr(ref, img) == pytest.approx(peak_signal_noise_ratio(ref, np.abs(img), data_range=dr))
    assert ssim(ref, img) == pytest.approx(structural_similarity(ref, np.abs(img), data_range=dr))


def test_known_values():
    ref = np.zeros((16, 16)); ref[4:12, 4:12] = 2.0
    img = ref + 0.02  # mse = 4e-4, data range 2 -> 10 log10(4 / 4e-4) = 40 dB
    assert psnr(ref, img) == pytest.approx(40.0, abs=1e-9)
    assert nmse(ref, np.zeros_like(ref)) == 1.0
    assert nmse(ref, ref) == 0.0
    assert psnr(ref, ref) == float("inf")
    assert ssim(ref, ref) == 1.0


def test_magnitudes_of_complex_inputs(pair):
    ref, img = pair
    phase = np.exp(1j * 0.7)
    assert psnr(ref * phase, img * phase) == pytest.approx(psnr(ref, img))
    assert all_metrics(ref, img) == {"psnr": psnr(ref, img), "ssim": ssim(ref, img), "nmse": nmse(ref, img)}


def test_stack_ssim_is_mean_over_slices(pair):
    ref, img = pair
    stack_ref, stack_img = np.stack([ref, ref]), np.stack([img, ref])
    assert ssim(stack_ref, stack_img) == pytest.approx((ssim(ref, img) + 1.0) / 2)


def test_errors():
    with pytest.raises(ValueError, match="does not match reference"):
        psnr(np.ones((8, 8)), np.ones((8, 9)))
    with pytest.raises(ValueError, match="all zeros"):
        ssim(np.zeros((8, 8)), np.ones((8, 8)))
    with pytest.raises(ValueError, match="at least 7x7"):
        ssim(np.ones((5, 5)), np.ones((5, 5)))
    with pytest.raises(ValueError, match="NaN"):
        nmse(np.ones((8, 8)), np.full((8, 8), np.nan))
