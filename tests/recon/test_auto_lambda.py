"""lam="auto": the noise estimate, the rule, and that it lands near the best weight."""

from __future__ import annotations

import numpy as np
import pytest

from recon_core.coils import simulate_multicoil
from recon_core.noise import add_noise, noise_std
from recon_core.ops.fft import fft2c
from recon_core.phantoms import shepp_logan
from recon_core.masks import make_mask
from recon_core.recon import reconstruct_tv
from recon_core.recon.auto_lambda import AUTO_RATIO, LAMBDA_FLOOR, auto_lambda, noise_level


def _noisy_phantom(n=64, snr=25.0, seed=1):
    x = shepp_logan(n)
    k0 = fft2c(x)
    return x, add_noise(k0, snr, seed=seed), noise_std(float(np.mean(np.abs(k0) ** 2)), snr)


def test_given_noise_gives_the_rule_exactly():
    x, k, sigma = _noisy_phantom()
    m = make_mask(k.shape, 4, seed=0)
    choice = auto_lambda(k * m, m, noise_std=sigma)
    assert choice.source == "given" and not choice.floored
    assert choice.lam == pytest.approx(AUTO_RATIO * sigma)


def test_corner_estimate_finds_the_noise_where_corners_hold_only_noise():
    rng = np.random.default_rng(0)
    img = np.zeros((128, 128)); img[48:80, 40:88] = np.outer(np.hanning(32), np.hanning(48))
    k = add_noise(fft2c(img), None)
    sigma = 0.02
    k = k + sigma / np.sqrt(2) * (rng.standard_normal(k.shape) + 1j * rng.standard_normal(k.shape))
    m = make_mask(k.shape, 4, seed=0)
    est, source, _ = noise_level(k * m, m)
    assert source == "k-space corners" and est == pytest.approx(sigma, rel=0.1)


def test_noise_scan_is_used_and_a_disagreement_is_reported():
    rng = np.random.default_rng(3)
    k = (rng.standard_normal((2, 64, 64)) + 1j * rng.standard_normal((2, 64, 64))) * 0.01
    scan = (rng.standard_normal((2, 500)) + 1j * rng.standard_normal((2, 500))) * 0.01
    sigma, source, notes = noise_level(k, noise=scan)
    assert source == "noise scan" and sigma == pytest.approx(0.01 * np.sqrt(2), rel=0.1) and not notes
    _, _, notes = noise_level(k, noise=scan * 10)
    assert notes and "differ" in notes[0]
    with pytest.raises(ValueError, match="do not match 2 coil"):
        noise_level(k, noise=scan[:1].repeat(3, axis=0))


def test_noiseless_data_get_the_floor_and_it_is_deterministic():
    x = shepp_logan(64)
    m = make_mask(x.shape, 4, seed=0)
    k = fft2c(x) * m
    a, b = auto_lambda(k, m, noise_std=0.0), auto_lambda(k, m, noise_std=0.0)
    assert a == b and a.floored and a.lam == pytest.approx(LAMBDA_FLOOR * a.signal)
    assert auto_lambda(k, m) == auto_lambda(k, m)


def test_map_scale_scales_lambda():
    x, k, sigma = _noisy_phantom()
    kc, sens = simulate_multicoil(x, 4)
    m = make_mask(x.shape, 4, seed=0)
    one = auto_lambda(kc * m, m, sens=sens, noise_std=sigma)
    two = auto_lambda(kc * m, m, sens=2 * sens, noise_std=sigma)
    assert one.map_scale == pytest.approx(1.0, abs=1e-4)
    assert two.lam == pytest.approx(2 * one.lam, rel=1e-4)


def test_reconstruct_tv_defaults_to_auto_and_reports_the_choice():
    x, k, sigma = _noisy_phantom()
    m = make_mask(x.shape, 4, seed=0)
    res = reconstruct_tv(k * m, m, max_iter=5, noise_std=sigma)
    assert res.lam_choice is not None and res.lam == pytest.approx(AUTO_RATIO * sigma)
    with pytest.raises(ValueError, match="'auto'"):
        reconstruct_tv(k * m, m, "best", max_iter=5)


@pytest.mark.slow
@pytest.mark.parametrize("snr", [30.0, 20.0])
def test_auto_is_within_one_db_of_the_best_of_a_grid(snr):
    x, k, sigma = _noisy_phantom(128, snr)
    m = make_mask(x.shape, 4, seed=0)
    auto = reconstruct_tv(k * m, m, "auto", max_iter=100, reference=x, noise_std=sigma)
    grid = [reconstruct_tv(k * m, m, r * sigma, max_iter=100, reference=x).metrics["psnr"]
            for r in (0.05, 0.1, 0.2, 0.4, 0.8, 1.6)]
    zero_filled = reconstruct_tv(k * m, m, 0.0, max_iter=1, reference=x).metrics["psnr"]
    assert auto.metrics["psnr"] >= max(grid) - 1.0
    assert auto.metrics["psnr"] > zero_filled + 3
