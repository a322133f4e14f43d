"""Validation of what a user hands to a TV reconstruction (NumPy only, no TensorFlow).

Every check raises :class:`ValueError` with a message that names the bad value, so the app can
show it as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from recon_core.checks import as_array, as_mask, check_positive

__all__ = ["CheckedProblem", "check_problem"]


@dataclass(frozen=True)
class CheckedProblem:
    """Validated inputs: k-space (H, W) or (C, H, W) complex64, mask (H, W) bool, weight,
    reference magnitude (H, W) float32 or None, maps (C, H, W) — or (M, C, H, W), M sets of
    maps (soft SENSE) — complex64 or None."""

    kspace: np.ndarray
    mask: np.ndarray
    lam: float
    reference: np.ndarray | None
    sens: np.ndarray | None

    @property
    def map_sets(self) -> int:
        """Number of sets of maps: 0 without maps, 1 for (C, H, W), M for (M, C, H, W)."""
        if self.sens is None:
            return 0
        return 1 if self.sens.ndim == 3 else self.sens.shape[0]


def check_problem(kspace: ArrayLike, mask: ArrayLike, lam: float, reference: ArrayLike | None,
                  sens: ArrayLike | None = None) -> CheckedProblem:
    """Validate the inputs of a TV reconstruction.

    Raises:
        ValueError: wrong rank, shapes that do not match, NaN/Inf, an empty mask, lam < 0,
            all-zero maps or reference.

    :Examples:

    >>> import numpy as np
    >>> check_problem(np.ones((8, 8)), np.ones((8, 9), bool), 1e-3, None)
    Traceback (most recent call last):
    ...
    ValueError: mask (8, 9) does not match k-space (8, 8)
    """
    k = as_array(kspace, "kspace")
    s = None
    if sens is None:
        if k.ndim != 2:
            hint = " (multi-coil k-space needs sensitivity maps: pass sens)" if k.ndim == 3 else ""
            raise ValueError(f"kspace must be a single 2-D slice (H, W), got shape {k.shape}{hint}")
    else:
        if k.ndim != 3:
            raise ValueError(f"multi-coil kspace must have shape (C, H, W), got {k.shape}")
        s = as_array(sens, "sens").astype(np.complex64)
        if s.shape != k.shape and not (s.ndim == 4 and s.shape[1:] == k.shape and s.shape[0] >= 1):
            raise ValueError(f"sens {s.shape} does not match k-space {k.shape} (maps are (C, H, W), "
                             f"or (M, C, H, W) for M sets)")
        if not np.any(np.abs(s) > 0):
            raise ValueError("sensitivity maps are all zero")
    if min(k.shape[-2:]) < 2:
        raise ValueError(f"kspace must be at least 2x2, got shape {k.shape}")
    m = as_mask(mask, k.shape)
    if m.ndim != 2:
        raise ValueError(f"mask must be 2-D (H, W), got shape {m.shape}")
    if not m.any():
        raise ValueError("mask samples no k-space point")
    lam = check_positive(lam, "lam", allow_zero=True)
    ref = None
    if reference is not None:
        ref = np.abs(as_array(reference, "reference")).astype(np.float32)
        if ref.shape != k.shape[-2:]:
            raise ValueError(f"reference {ref.shape} does not match the image size {k.shape[-2:]}")
        if ref.max() <= 0:
            raise ValueError("reference is all zeros")
    return CheckedProblem(k.astype(np.complex64), m, lam, ref, s)
