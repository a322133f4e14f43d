"""Choosing the TV weight by a sweep: reconstruct with several weights, score each one.

A sweep needs a reference image; the best weight is the one with the highest PSNR.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from recon_core.checks import check_positive
from recon_core.recon.configs import SolverConfig
from recon_core.recon.driver import reconstruct_tv

__all__ = ["LambdaSweepPoint", "sweep_lambda"]


@dataclass(frozen=True)
class LambdaSweepPoint:
    """One point of :func:`sweep_lambda`: the weight, final metrics and the image."""

    lam: float
    psnr: float
    ssim: float
    objective: float
    image: np.ndarray


def sweep_lambda(
    kspace: ArrayLike,
    mask: ArrayLike,
    reference: ArrayLike,
    lams: Sequence[float] | None = None,
    method: str = "admm",
    *,
    config: SolverConfig | None = None,
    sens: ArrayLike | None = None,
    callback: Callable[[int, LambdaSweepPoint], bool | None] | None = None,
) -> list[LambdaSweepPoint]:
    """Reconstruct with several regularisation weights and score each against ``reference``.

    Args:
        kspace, mask: as for :func:`reconstruct_tv`.
        reference: ground-truth image (H, W).
        lams: weights to try; default 9 values log-spaced from 1e-5 to 1e-1.
        method, config: solver and its settings.
        sens: coil maps for multi-coil k-space, as for :func:`reconstruct_tv`.
        callback: called as ``callback(index, point)`` after each weight; returning ``True``
            stops the sweep (the points so far are returned).

    Returns:
        A list of :class:`LambdaSweepPoint`, in the order of ``lams``. The best weight is
        ``max(points, key=lambda p: p.psnr).lam``.
    """
    if reference is None:
        raise ValueError("sweep_lambda needs a reference image to score each weight")
    if lams is None:
        lams = list(np.logspace(-5, -1, 9))
    lams = [check_positive(v, "lam", allow_zero=True) for v in lams]
    if not lams:
        raise ValueError("lams is empty")
    points: list[LambdaSweepPoint] = []
    for i, lam in enumerate(lams):
        res = reconstruct_tv(kspace, mask, lam, method, reference=reference, config=config, sens=sens)
        pt = LambdaSweepPoint(lam, res.metrics["psnr"], res.metrics["ssim"],
                              res.history[-1].objective, res.image)
        points.append(pt)
        if callback is not None and callback(i, pt):
            break
    return points
