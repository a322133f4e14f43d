"""K-space manipulations for teaching (low/high-pass, partial Fourier, noise, spikes, DC) and
display helpers (log-magnitude, window/level).

Every function takes and returns centred k-space, complex64, shape (H, W), DC at
(H // 2, W // 2); nothing is modified in place.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from recon_core.checks import as_array, check_positive
from recon_core.noise import add_noise

__all__ = ["KspaceEdit", "edit_kspace", "radial_frequency", "log_magnitude", "apply_window"]


@dataclass(frozen=True)
class KspaceEdit:
    """A set of k-space manipulations, applied in the order of the fields.

    Attributes:
        lowpass: keep frequencies with normalised radius <= lowpass (1 = the k-space edge along
            each axis; values >= sqrt(2) keep everything). ``None`` disables it.
        highpass: remove frequencies with normalised radius < highpass. ``None`` disables it.
        partial_fourier: fraction in [0.5, 1] of the phase-encode columns (last axis) kept,
            starting from the left edge; the rest is zeroed (asymmetric acquisition).
        snr_db: add complex white Gaussian noise so that mean |k|^2 / noise variance equals
            ``10 ** (snr_db / 10)``. ``None`` adds no noise.
        spike: ``(ky, kx, amplitude)``: add ``amplitude * max|k|`` at the centred frequency
            index (ky, kx) (a "herringbone" artefact). ``None`` adds no spike.
        dc_scale: multiply the DC sample by this factor.
        seed: seed of the noise.
    """

    lowpass: float | None = None
    highpass: float | None = None
    partial_fourier: float = 1.0
    snr_db: float | None = None
    spike: tuple[int, int, float] | None = None
    dc_scale: float = 1.0
    seed: int = 0


def radial_frequency(shape: tuple[int, int]) -> np.ndarray:
    """Normalised radial frequency of each k-space sample: 0 at DC, 1 at the edge of each axis.

    Returns:
        float32 array (H, W).
    """
    h, w = shape
    ky = (np.arange(h) - h // 2) / max(h / 2, 1)
    kx = (np.arange(w) - w // 2) / max(w / 2, 1)
    return np.sqrt(ky[:, None] ** 2 + kx[None, :] ** 2).astype(np.float32)


def edit_kspace(kspace: ArrayLike, edit: KspaceEdit) -> np.ndarray:
    """Apply the manipulations of ``edit`` to a copy of ``kspace``.

    Args:
        kspace: complex, shape (H, W), centred.
        edit: the manipulations.

    Returns:
        complex64 (H, W).

    :Examples:

    >>> import numpy as np
    >>> k = np.ones((8, 8), np.complex64)
    >>> out = edit_kspace(k, KspaceEdit(lowpass=0.5))
    >>> int((out != 0).sum()) < 64
    True
    """
    k = as_array(kspace, "kspace").astype(np.complex64, copy=True)
    if k.ndim != 2:
        raise ValueError(f"kspace must be 2-D (H, W), got shape {k.shape}")
    h, w = k.shape
    r = radial_frequency((h, w))
    if edit.lowpass is not None:
        check_positive(edit.lowpass, "lowpass", allow_zero=True)
        k[r > edit.lowpass] = 0
    if edit.highpass is not None:
        check_positive(edit.highpass, "highpass", allow_zero=True)
        k[r < edit.highpass] = 0
    pf = float(edit.partial_fourier)
    if not 0.5 <= pf <= 1.0:
        raise ValueError(f"partial_fourier must be in [0.5, 1], got {edit.partial_fourier}")
    if pf < 1.0:
        keep = max(w // 2 + 1, int(round(pf * w)))
        k[:, keep:] = 0
    if edit.snr_db is not None:
        if not np.isfinite(edit.snr_db):
            raise ValueError(f"snr_db must be finite, got {edit.snr_db}")
        # the project's one SNR definition (recon_core.noise), on the k-space as edited so far
        k = add_noise(k, edit.snr_db, edit.seed)
    if edit.spike is not None:
        ky, kx, amp = edit.spike
        iy, ix = int(ky) + h // 2, int(kx) + w // 2
        if not (0 <= iy < h and 0 <= ix < w):
            raise ValueError(
                f"spike position (ky={ky}, kx={kx}) is outside k-space "
                f"(ky in [{-(h // 2)}, {h - h // 2 - 1}], kx in [{-(w // 2)}, {w - w // 2 - 1}])"
            )
        k[iy, ix] += np.float32(amp) * np.abs(k).max()
    if edit.dc_scale != 1.0:
        if not np.isfinite(edit.dc_scale):
            raise ValueError(f"dc_scale must be finite, got {edit.dc_scale}")
        k[h // 2, w // 2] *= np.float32(edit.dc_scale)
    return k.astype(np.complex64)


def log_magnitude(kspace: ArrayLike, eps: float = 1e-6) -> np.ndarray:
    """``log10(|k| + eps * max|k|)``: the usual way to show k-space (float32, same shape)."""
    k = np.abs(as_array(kspace, "kspace"))
    floor = eps * max(float(k.max()), 1e-30)
    return np.log10(k + floor).astype(np.float32)


def apply_window(image: ArrayLike, level: float, width: float) -> np.ndarray:
    """Window/level an image for display: maps [level - width/2, level + width/2] to [0, 1].

    :Examples:

    >>> import numpy as np
    >>> apply_window(np.array([[0.0, 0.5], [1.0, 2.0]]), level=0.5, width=1.0).tolist()
    [[0.0, 0.5], [1.0, 1.0]]
    """
    a = as_array(image, "image").astype(np.float32)
    width = check_positive(width, "width")
    lo = level - width / 2
    return np.clip((a - lo) / width, 0.0, 1.0).astype(np.float32)
