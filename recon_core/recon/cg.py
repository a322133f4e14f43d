r"""Conjugate gradient for Hermitian positive (semi-)definite systems :math:`N x = b`.

:func:`cg_steps` is the in-graph kernel (a fixed number of steps, unrolled, warm-started),
used by ADMM's x-update when the normal operator is not diagonal in k-space, and by
:func:`recon_core.recon.least_squares.reconstruct_cg` for (Tikhonov-regularised) least squares.

References:
    Hestenes, M. R. and Stiefel, E. "Methods of conjugate gradients for solving linear
    systems." J. Res. Nat. Bur. Standards 49(6), 1952.
"""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf

from recon_core.ops.base import inner

__all__ = ["cg_step", "cg_steps"]


def cg_steps(apply_normal: Callable[[tf.Tensor], tf.Tensor], rhs: tf.Tensor, x0: tf.Tensor,
             n_steps: int, precond: Callable[[tf.Tensor], tf.Tensor] | None = None,
             with_residual: bool = False):
    """``n_steps`` (preconditioned) conjugate-gradient steps on ``apply_normal(x) = rhs``.

    Args:
        apply_normal: a Hermitian positive semi-definite linear map (tensor -> tensor).
        rhs: right-hand side, complex64, any shape.
        x0: starting point, same shape (a warm start makes few steps enough).
        n_steps: number of steps (a Python int: the loop is unrolled in the graph).
        precond: an approximate inverse of ``apply_normal`` (Hermitian positive definite), or
            None for plain CG.
        with_residual: also return the residual ``rhs - apply_normal(x)`` that CG carries
            (so that a caller needing ``apply_normal(x)`` gets it without another product).

    Returns:
        The approximate solution, shaped like ``x0`` (and the residual, with ``with_residual``).

    :Examples:

    >>> import tensorflow as tf
    >>> d = tf.constant([1.0, 2.0, 4.0], tf.complex64)
    >>> x = cg_steps(lambda v: d * v, tf.ones(3, tf.complex64), tf.zeros(3, tf.complex64), 3)
    >>> [round(float(v), 4) for v in tf.math.real(x)]
    [1.0, 0.5, 0.25]
    """
    x = x0
    r = rhs - apply_normal(x)
    if precond is None:
        p = r
        rs = inner(r, r)
        for _ in range(n_steps):
            x, r, p, rs = cg_step(apply_normal, x, r, p, rs)
        return (x, r) if with_residual else x
    z = precond(r)
    p = z
    rz = inner(r, z)
    for _ in range(n_steps):
        ap = apply_normal(p)
        alpha = tf.cast(rz / tf.maximum(inner(p, ap), 1e-30), tf.complex64)
        x = x + alpha * p
        r = r - alpha * ap
        z = precond(r)
        rz_new = inner(r, z)
        p = z + tf.cast(rz_new / tf.maximum(rz, 1e-30), tf.complex64) * p
        rz = rz_new
    return (x, r) if with_residual else x


def cg_step(apply_normal: Callable[[tf.Tensor], tf.Tensor], x: tf.Tensor, r: tf.Tensor,
            p: tf.Tensor, rs: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]:
    """One conjugate-gradient step: ``(x, r, p, rs) -> (x', r', p', rs')``.

    ``r`` is the residual ``rhs - N x``, ``p`` the search direction and ``rs = <r, r>``;
    start with ``r = p = rhs - N x0``.
    """
    ap = apply_normal(p)
    alpha = tf.cast(rs / tf.maximum(inner(p, ap), 1e-30), tf.complex64)
    x = x + alpha * p
    r = r - alpha * ap
    rs_new = inner(r, r)
    p = r + tf.cast(rs_new / tf.maximum(rs, 1e-30), tf.complex64) * p
    return x, r, p, rs_new
