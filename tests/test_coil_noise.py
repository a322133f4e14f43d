"""Coil noise covariance and prewhitening (recon_core.coil_noise)."""

from __future__ import annotations

import numpy as np
import pytest

from recon_core.coil_noise import corner_samples, estimate_noise, noise_covariance, prewhiten


def correlated_noise(rng, c=4, n=40_000):
    mix = np.tril(rng.standard_normal((c, c))) + 3 * np.eye(c)
    white = (rng.standard_normal((c, n)) + 1j * rng.standard_normal((c, n))) / np.sqrt(2)
    return mix @ white, mix @ mix.T


def test_covariance_and_prewhitening_are_right(rng):
    noise, true_cov = correlated_noise(rng)
    cov = noise_covariance(noise)
    np.testing.assert_allclose(cov, true_cov, atol=0.1 * np.abs(true_cov).max())
    white = noise_covariance(prewhiten(noise, cov))
    level = np.mean(np.real(np.diag(cov)))
    np.testing.assert_allclose(white, level * np.eye(4), atol=0.02 * level)


def test_prewhitening_k_space_keeps_zeros_and_is_linear(rng):
    noise, _ = correlated_noise(rng, c=3, n=3000)
    cov = noise_covariance(noise)
    k = rng.standard_normal((3, 16, 12)) + 1j * rng.standard_normal((3, 16, 12))
    k[:, :, ::2] = 0
    w = prewhiten(k, cov)
    assert w.shape == k.shape and w.dtype == np.complex64
    assert np.all(w[:, :, ::2] == 0)
    np.testing.assert_allclose(prewhiten(2 * k, cov), 2 * w, rtol=1e-5, atol=1e-6)


def test_estimate_from_corners_of_noisy_kspace(rng):
    noise, true_cov = correlated_noise(rng, c=2, n=64 * 64)
    k = noise.reshape(2, 64, 64).copy()
    k[:, 24:40, 24:40] += 100  # "signal" only at the centre
    est = estimate_noise(k)
    assert est.source == "k-space periphery" and est.n_samples == 4 * 6 * 6
    np.testing.assert_allclose(np.real(np.diag(est.covariance)), np.diag(true_cov), rtol=0.35)
    scan = estimate_noise(k, noise=noise)
    assert scan.source == "noise scan" and scan.n_samples == 64 * 64
    assert np.all(np.diag(scan.correlation) == pytest.approx(1.0))


def test_outermost_acquired_samples_when_the_corners_are_empty():
    yy, xx = np.mgrid[:40, :40]
    radius = np.hypot(yy - 20, xx - 20)
    mask = radius < 18  # a disc-shaped pattern: nothing in the corners
    k = np.stack([radius, 2 * radius]).astype(complex) * mask  # each sample holds its radius
    samples = corner_samples(k, mask)
    n = samples.shape[1]
    assert 64 <= n < mask.sum() // 4
    # the outermost acquired samples, not a random draw: every chosen radius is beyond the rest
    assert np.real(samples[0]).min() >= np.sort(radius[mask])[-n] - 1e-9
    np.testing.assert_allclose(samples[1], 2 * samples[0])


def test_errors_are_specific(rng):
    with pytest.raises(ValueError, match="too few"):
        estimate_noise(np.ones((4, 8, 8), complex), noise=np.ones((4, 10)))
    with pytest.raises(ValueError, match="singular"):
        z = np.zeros((2, 64, 64), complex)
        z[0] = rng.standard_normal((64, 64))
        estimate_noise(z)
    with pytest.raises(ValueError, match=r"\(3, 3\)"):
        prewhiten(np.ones((3, 4, 4)), np.eye(2))
