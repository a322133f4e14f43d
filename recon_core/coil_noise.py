"""Receiver noise of multi-coil data: its covariance between coils, and prewhitening.

Coils pick up correlated noise of unequal power. Reconstruction methods that treat the coils
alike (root-sum-of-squares, SENSE with an identity noise model, a single λ for TV) are right
only for white noise, so the data are *prewhitened* first: with the noise covariance
``Ψ = E[n nᴴ]`` (C x C) and its Cholesky factor ``Ψ = L Lᴴ``, every k-space sample's coil
vector is replaced by ``L⁻¹ k``, after which the noise is uncorrelated with equal power in
every (virtual) coil. Here the result is scaled by ``sqrt(mean(diag Ψ))`` so that the average
noise level, and with it the data's scale, stays as it was.

The covariance comes from noise-only samples: a noise scan when the file has one (ISMRMRD
and twix files usually do: :attr:`recon_core.io.LoadedData.noise`), otherwise the corners of
fully sampled k-space, where the signal has decayed below the noise (:func:`corner_samples`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from recon_core.checks import as_array

__all__ = ["NoiseEstimate", "noise_covariance", "corner_samples", "estimate_noise", "prewhiten"]

#: Side of each k-space corner block used for noise, as a fraction of the matrix side.
CORNER_FRACTION = 0.1


class NoiseEstimate(NamedTuple):
    """A noise covariance and where it came from.

    Attributes:
        covariance: complex128 (C, C), Hermitian, ``E[n nᴴ]`` per k-space sample.
        n_samples: noise samples per coil it was estimated from.
        source: ``"noise scan"`` or ``"k-space periphery"`` (corners, or outermost samples).
    """

    covariance: np.ndarray
    n_samples: int
    source: str

    @property
    def correlation(self) -> np.ndarray:
        """float64 (C, C): ``|Ψ_ij| / sqrt(Ψ_ii Ψ_jj)``, 1 on the diagonal."""
        d = np.sqrt(np.real(np.diag(self.covariance)))
        return np.abs(self.covariance) / np.maximum(np.outer(d, d), 1e-300)


def noise_covariance(samples: ArrayLike) -> np.ndarray:
    """Sample covariance ``n nᴴ / N`` of noise samples (C, N) -> complex128 (C, C).

    :Examples:

    >>> rng = np.random.default_rng(0)
    >>> n = rng.standard_normal((2, 20000)) + 1j * rng.standard_normal((2, 20000))
    >>> np.round(np.real(np.diag(noise_covariance(n))), 1).tolist()
    [2.0, 2.0]
    """
    n = as_array(samples, "noise samples", min_ndim=2)
    if n.ndim != 2 or n.shape[1] < n.shape[0]:
        raise ValueError(
            f"noise samples must be (coils, N) with N >= coils, got shape {n.shape}"
        )
    n = n.astype(np.complex128)
    return (n @ n.conj().T) / n.shape[1]


def corner_samples(kspace: ArrayLike, mask: ArrayLike | None = None,
                   fraction: float = CORNER_FRACTION) -> np.ndarray:
    """Samples of the four corners of multi-coil k-space (C, H, W) -> (C, N).

    Each corner block is ``round(fraction * H) x round(fraction * W)`` (at least 2 x 2); with a
    ``mask`` of acquired points only those are used. Undersampled scans often acquire nothing
    in the corners (variable-density patterns inside an ellipse); then the outermost
    ``fraction`` of the acquired samples by distance from DC are used instead (at least 64).
    """
    k = as_array(kspace, "kspace", min_ndim=3)
    if k.ndim != 3:
        raise ValueError(f"kspace must be (C, H, W), got shape {k.shape}")
    c, h, w = k.shape
    bh, bw = max(2, round(fraction * h)), max(2, round(fraction * w))
    sel = np.zeros((h, w), bool)
    for ys in (slice(0, bh), slice(h - bh, h)):
        for xs in (slice(0, bw), slice(w - bw, w)):
            sel[ys, xs] = True
    if mask is not None:
        acquired = np.asarray(mask, bool)
        sel &= acquired
        if np.count_nonzero(sel) < 4 * c:
            yy, xx = np.indices((h, w))
            r = np.hypot((yy - h // 2) / h, (xx - w // 2) / w)[acquired]
            n = min(r.size, max(64, round(fraction * r.size)))
            cut = np.sort(r)[-n] if n else np.inf
            sel = acquired & (np.hypot((yy - h // 2) / h, (xx - w // 2) / w) >= cut)
    return k[:, sel]


def estimate_noise(kspace: ArrayLike, noise: ArrayLike | None = None,
                   mask: ArrayLike | None = None) -> NoiseEstimate:
    """The noise covariance of multi-coil k-space: from ``noise`` samples, else from its corners.

    Raises:
        ValueError: too few samples to estimate a C x C covariance (fewer than 4 C), or a
            covariance that is not positive definite (a coil without noise: simulated data).
    """
    if noise is not None:
        samples, source = as_array(noise, "noise samples", min_ndim=2), "noise scan"
    else:
        samples, source = corner_samples(kspace, mask), "k-space periphery"
    c = samples.shape[0]
    if samples.ndim != 2 or samples.shape[1] < 4 * c:
        raise ValueError(
            f"{samples.shape[1] if samples.ndim == 2 else 0} noise samples per coil from the "
            f"{source} are too few to estimate a {c}x{c} noise covariance (need {4 * c})"
        )
    cov = noise_covariance(samples)
    eig = np.linalg.eigvalsh(cov)
    if not eig[0] > 1e-12 * max(eig[-1], 1e-300):
        raise ValueError(
            f"the noise covariance from the {source} is singular (smallest eigenvalue "
            f"{eig[0]:.3g}, largest {eig[-1]:.3g}): the data carry no independent noise per coil"
        )
    return NoiseEstimate(cov, samples.shape[1], source)


def prewhiten(kspace: ArrayLike, covariance: ArrayLike) -> np.ndarray:
    """``sqrt(mean(diag Ψ)) · L⁻¹ k`` for k-space (C, ...) and ``Ψ = L Lᴴ`` (C, C): complex64.

    The noise of the result is white (identity covariance times the mean noise power).

    :Examples:

    >>> rng = np.random.default_rng(1)
    >>> mix = np.array([[1.0, 0.0], [0.8, 0.5]])
    >>> n = mix @ (rng.standard_normal((2, 50000)) + 1j * rng.standard_normal((2, 50000)))
    >>> cov = noise_covariance(n)
    >>> white = noise_covariance(prewhiten(n, cov))
    >>> bool(np.allclose(white, np.eye(2) * np.mean(np.real(np.diag(cov))), atol=0.02))
    True
    """
    k = as_array(kspace, "kspace", min_ndim=2)
    cov = np.asarray(covariance, np.complex128)
    c = k.shape[0]
    if cov.shape != (c, c):
        raise ValueError(f"covariance must be ({c}, {c}) for {c} coils, got {cov.shape}")
    try:
        chol = np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        raise ValueError("the noise covariance is not positive definite") from None
    w = np.linalg.inv(chol) * np.sqrt(np.mean(np.real(np.diag(cov))))
    out = np.tensordot(w, k.astype(np.complex128), axes=(1, 0))
    return out.astype(np.complex64)
