r"""Measurement noise at a chosen SNR, defined once for the whole project.

**Definition.** The k-space SNR (in dB) is the ratio of the mean signal power of the *fully
sampled* k-space to the variance of the complex noise added to each sample:

.. math::

    \mathrm{SNR_{dB}} = 10 \log_{10} \frac{\operatorname{mean}_i |k_i|^2}{\sigma^2},
    \qquad n_i \sim \mathcal{CN}(0, \sigma^2)\ \text{(real and imaginary parts each
    of variance } \sigma^2/2),

with the mean over every sample of every coil. The FFT is orthonormal, so
``mean |k|^2 == mean |x|^2``: the SNR is also the image's mean power over the noise variance.
Noise is drawn for the whole k-space, before the mask, as on a scanner (undersampling keeps
the noise of the samples it keeps). ``snr_db=None`` (or ``inf``) means noiseless.

The same formula, :func:`noise_std`, serves the NumPy data path here and the TensorFlow
training pipeline (:mod:`recon_core.dl.data`).

:Examples:

>>> import numpy as np
>>> k = np.ones((64, 64), np.complex64)
>>> noisy = add_noise(k, 20.0, seed=0)
>>> round(float(np.mean(np.abs(noisy - k) ** 2)), 2)  # sigma^2 = 1 / 10**(20/10)
0.01
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from recon_core.checks import as_array

__all__ = ["noise_std", "add_noise", "check_snr_db", "measured_snr_db"]


def check_snr_db(snr_db: float | None) -> float | None:
    """``snr_db`` as a float, or None for noiseless (``None`` or ``inf``).

    Raises:
        ValueError: NaN, ``-inf``, or not a number.
    """
    if snr_db is None:
        return None
    try:
        v = float(snr_db)
    except (TypeError, ValueError):
        raise ValueError(f"snr_db must be a number of decibels or None, got {snr_db!r}") from None
    if math.isinf(v) and v > 0:
        return None
    if not math.isfinite(v):
        raise ValueError(f"snr_db must be finite (or +inf for noiseless), got {snr_db!r}")
    return v


def noise_std(signal_power, snr_db):
    """Standard deviation ``sigma`` of the complex noise for a signal power and an SNR in dB.

    Works on Python floats, NumPy arrays and TensorFlow tensors alike (one formula for the
    whole project): ``sigma = sqrt(signal_power / 10 ** (snr_db / 10))``. Each of the real and
    imaginary parts then has standard deviation ``sigma / sqrt(2)``.
    """
    return (signal_power / 10.0 ** (snr_db / 10.0)) ** 0.5


def add_noise(kspace: ArrayLike, snr_db: float | None, seed: int | np.random.Generator | None = 0,
              signal_power: float | None = None) -> np.ndarray:
    """Add complex white Gaussian noise to fully sampled k-space at ``snr_db``.

    Args:
        kspace: complex, shape (..., H, W) (all coils of a slice: (C, H, W)), fully sampled;
            or non-Cartesian samples (K,) / (C, K), best with the ``signal_power`` of the
            fully sampled grid (so that an SNR means the same noise for every trajectory).
        snr_db: the SNR defined in the module docstring; ``None`` or ``inf``: no noise.
        seed: seed or ``np.random.Generator`` (seeded: the same noise every time).
        signal_power: the mean signal power to use instead of ``mean |kspace|^2`` (for
            k-space that was already edited or undersampled).

    Returns:
        complex64 array of the same shape (a copy, also when noiseless).

    Raises:
        ValueError: bad ``snr_db``, NaN/Inf in ``kspace``, zero signal power.
    """
    k = as_array(kspace, "kspace", min_ndim=1).astype(np.complex64)
    snr = check_snr_db(snr_db)
    if snr is None:
        return k.copy()
    power = float(np.mean(np.abs(k.astype(np.complex128)) ** 2)) if signal_power is None \
        else float(signal_power)
    if not power > 0:
        raise ValueError("cannot add noise at a given SNR to all-zero k-space")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    part = noise_std(power, snr) / math.sqrt(2.0)
    noise = rng.standard_normal((2, *k.shape)) * part
    return (k + (noise[0] + 1j * noise[1])).astype(np.complex64)


def measured_snr_db(clean: ArrayLike, noisy: ArrayLike) -> float:
    """The SNR (dB) of ``noisy`` relative to ``clean``, by the module's definition."""
    c = as_array(clean, "clean").astype(np.complex128)
    n = as_array(noisy, "noisy").astype(np.complex128) - c
    return 10.0 * math.log10(float(np.mean(np.abs(c) ** 2)) / float(np.mean(np.abs(n) ** 2)))
