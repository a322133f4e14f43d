r"""Least-squares reconstruction by conjugate gradient (CG-SENSE for multi-coil data).

.. math::

    \min_x \; \tfrac12 \| A x - y \|_2^2 + \tfrac{\mu}{2} \|x\|_2^2
    \quad\Longleftrightarrow\quad (A^H A + \mu I)\, x = A^H y

with the same forward models as TV (:mod:`recon_core.recon.problem`): ``A = M F`` or
``A = M F S``. Without regularisation (``l2=0``) and with a Cartesian mask the solution is the
zero-filled image in one step for single-coil data; with coils, CG-SENSE unfolds aliasing.

References:
    Pruessmann, K. P. et al. "Advances in sensitivity encoding with arbitrary k-space
    trajectories." MRM 46, 2001.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import tensorflow as tf
from numpy.typing import ArrayLike

from recon_core.checks import check_int, check_positive
from recon_core.ops.base import inner
from recon_core.recon.cg import cg_step
from recon_core.recon.inputs import check_problem
from recon_core.recon.monitor import compiled
from recon_core.recon.problem import build_problem
from recon_core.recon.records import SolveResult

__all__ = ["CGResult", "reconstruct_cg"]


@dataclass(kw_only=True)
class CGResult(SolveResult):
    """Outcome of :func:`reconstruct_cg` (fields of
    :class:`~recon_core.recon.records.SolveResult`, and ``residuals``: the relative residual
    ``||b - N x|| / ||b||`` after each iteration)."""

    residuals: list[float]

    @property
    def n_iter(self) -> int:
        """Number of iterations run."""
        return len(self.residuals)


def _build(a_t):
    def step(params, x, r, p, rs, l2):
        A = a_t.with_tensors(params)
        l2c = tf.cast(l2, tf.complex64)
        return cg_step(lambda v: A.apply_normal(v) + l2c * v, x, r, p, rs)

    return step


def reconstruct_cg(
    kspace: ArrayLike,
    mask: ArrayLike,
    sens: ArrayLike | None = None,
    *,
    l2: float = 0.0,
    max_iter: int = 30,
    tol: float = 1e-6,
    reference: ArrayLike | None = None,
    callback: Callable[[int, float], bool | None] | None = None,
) -> CGResult:
    """Least squares (optionally Tikhonov-regularised) by conjugate gradient, from zero.

    Args:
        kspace: complex, centred, (H, W) or (C, H, W) with ``sens``.
        mask: bool (H, W).
        sens: coil maps (C, H, W) for multi-coil data (CG-SENSE).
        l2: Tikhonov weight ``mu >= 0``.
        max_iter: maximum CG iterations.
        tol: stop when the relative residual falls below it.
        reference: ground truth (H, W) for the final metrics.
        callback: ``callback(iteration, rel_residual)`` after each iteration; True stops.

    Returns:
        :class:`CGResult`.

    :Examples:

    >>> import numpy as np
    >>> from recon_core.ops.fft import fft2c
    >>> x = np.random.default_rng(0).standard_normal((8, 8))
    >>> res = reconstruct_cg(fft2c(x), np.ones((8, 8), bool), max_iter=3)
    >>> bool(np.allclose(res.image.real, x, atol=1e-4)), res.n_iter
    (True, 1)
    """
    checked = check_problem(kspace, mask, 0.0, reference, sens)
    l2 = check_positive(l2, "l2", allow_zero=True)
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    tol = check_positive(tol, "tol", allow_zero=True)
    t0 = time.perf_counter()
    problem = build_problem(checked, np.zeros(checked.shape, np.complex64))
    A = problem.A
    b = A.adjoint(problem.y)
    x = tf.zeros_like(b)
    r = b
    p = r
    rs = inner(r, r)
    b_norm = float(tf.sqrt(rs))
    residuals: list[float] = []
    stopped = converged = False
    if b_norm == 0.0:
        converged = True
    params = list(A.tensors())
    l2_t = tf.constant(l2, tf.float32)
    for it in range(1, max_iter + 1):
        if converged:
            break
        args = [params, x, r, p, rs, l2_t]
        x, r, p, rs = compiled(("cg", A.key()), lambda: _build(A), args)(*args)
        rel = float(tf.sqrt(rs)) / b_norm
        residuals.append(rel)
        converged = rel < tol
        if callback is not None and callback(it, rel):
            stopped = True
            break
    result = CGResult(image=problem.to_image(x), residuals=residuals,
                      converged=converged and not stopped, stopped=stopped,
                      elapsed_s=time.perf_counter() - t0)
    result.score(checked.reference)
    return result
