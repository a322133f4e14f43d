"""The TV objective evaluated in NumPy (float64), independently of the solvers and operators.

Tests and benchmarks use it to check what the solvers report, so it shares no code with them
beyond input validation.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from recon_core.checks import as_array
from recon_core.recon.inputs import check_problem

__all__ = ["tv_objective"]


def tv_objective(image: ArrayLike, kspace: ArrayLike, mask: ArrayLike, lam: float,
                 sens: ArrayLike | None = None) -> dict[str, float]:
    """Evaluate the TV objective in NumPy (float64), independently of the solvers.

    Args:
        image: complex, shape (H, W), centred ((M, H, W) with M sets of maps).
        kspace: complex, shape (H, W), centred.
        mask: bool, shape (H, W).
        lam: regularisation weight.
        sens: coil maps (C, H, W) for multi-coil k-space (C, H, W), or (M, C, H, W).

    Returns:
        ``{"objective": ..., "data_term": ..., "tv_term": ...}``.
    """
    x = as_array(image, "image").astype(np.complex128)
    c = check_problem(kspace, mask, lam, None, sens)
    k, m, lam, s = c.kspace, c.mask, c.lam, c.sens
    sets = c.map_sets > 1 or (s is not None and s.ndim == 4)
    want = (s.shape[0], *k.shape[-2:]) if sets else k.shape[-2:]
    if x.shape != tuple(want):
        raise ValueError(f"image {x.shape} does not match k-space {k.shape}"
                         + (f" with {s.shape[0]} sets of maps (expected {tuple(want)})" if sets else ""))
    coil = x if s is None else (np.sum(s * x[:, None], axis=0) if sets else s * x)
    ax = (-2, -1)
    fx = np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(coil, axes=ax), norm="ortho"), axes=ax)
    data = 0.5 * float(np.sum(np.abs((fx - k) * m) ** 2))
    gv = np.roll(x, -1, axis=-2) - x
    gh = np.roll(x, -1, axis=-1) - x
    tv = float(np.sum(np.sqrt(np.abs(gv) ** 2 + np.abs(gh) ** 2)))
    return {"objective": data + lam * tv, "data_term": data, "tv_term": tv}
