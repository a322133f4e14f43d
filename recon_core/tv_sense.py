r"""Multi-coil (SENSE-type) TV reconstruction: the solvers behind ``reconstruct_tv(..., sens=...)``.

The objective is the single-coil one with the SENSE forward model
:math:`A x = (M F S_c x)_c`:

.. math::

    \min_x \; \tfrac12 \sum_c \| M F (S_c x) - y_c \|_2^2 + \lambda \, \mathrm{TV}(x)

:math:`A^H A` is no longer diagonal in k-space, so

* ``admm`` solves its x-update :math:`(A^H A + \rho D^H D) x = A^H y + \rho D^H (z - u)` with a
  few warm-started conjugate-gradient steps (``AdmmConfig.cg_iter``);
* ``pdhg`` dualises both terms (:math:`K = [A; D]`, steps with
  :math:`\tau\sigma(\|A\|^2 + 8) \le 1`).

As in :mod:`recon_core.tv`, arrays are ``ifftshift``-ed once so each iteration uses the plain
FFT. Records have the same fields as single-coil ones.

References:
    Pruessmann, K. P. et al. "SENSE: sensitivity encoding for fast MRI." MRM 42, 1999.
    Block, K. T., Uecker, M. and Frahm, J. "Undersampled radial MRI with multiple coils.
    Iterative image reconstruction using a total variation constraint." MRM 57, 2007.
"""

from __future__ import annotations

import functools

import tensorflow as tf

from recon_core.tv import (
    _XLA,
    _SPEC_C,
    _SPEC_C2,
    _SPEC_I,
    _SPEC_R,
    _SPEC_S,
    _abs2,
    _converged,
    _grad,
    _grad_adj,
    _quality,
    _record_arrays,
    _shrink,
    _rel_change,
    _stack,
    _tv_norm,
)

_SPEC_C3 = tf.TensorSpec([None, None, None], tf.complex64)


def _scale(x: tf.Tensor) -> tf.Tensor:
    shape = tf.shape(x)
    return tf.cast(tf.math.rsqrt(tf.cast(shape[-2] * shape[-1], tf.float32)), tf.complex64)


def sense_fwd(x: tf.Tensor, sens: tf.Tensor, maskc: tf.Tensor) -> tf.Tensor:
    """(H, W) image -> (C, H, W) masked k-space (shifted layout, plain orthonormal FFT)."""
    return tf.signal.fft2d(sens * x[None]) * _scale(x) * maskc


def sense_adj(k: tf.Tensor, sens: tf.Tensor, maskc: tf.Tensor) -> tf.Tensor:
    """Adjoint of :func:`sense_fwd`: (C, H, W) -> (H, W)."""
    return tf.reduce_sum(tf.math.conj(sens) * (tf.signal.ifft2d(k * maskc) / _scale(k)), axis=0)


def _dot(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    return tf.math.real(tf.reduce_sum(tf.math.conj(a) * b))


def _admm_sense_impl(x, z, u, y, sens, mask, ref, lam, rho, alpha, tol, n, start, cg_iter, with_ref):
    maskc = tf.cast(mask, tf.complex64)
    rhoc = tf.cast(rho, tf.complex64)
    aty = sense_adj(y, sens, maskc)
    tas = _record_arrays(n)

    def normal(v):
        return sense_adj(sense_fwd(v, sens, maskc), sens, maskc) + rhoc * _grad_adj(_grad(v))

    def body(i, x, z, u, done, tas):
        rhs = aty + rhoc * _grad_adj(z - u)
        v = x
        r = rhs - normal(v)
        p = r
        rs = _dot(r, r)
        for _ in range(cg_iter):  # warm-started CG, unrolled
            ap = normal(p)
            a = rs / tf.maximum(_dot(p, ap), 1e-30)
            v = v + tf.cast(a, tf.complex64) * p
            r = r - tf.cast(a, tf.complex64) * ap
            rs_new = _dot(r, r)
            p = r + tf.cast(rs_new / tf.maximum(rs, 1e-30), tf.complex64) * p
            rs = rs_new
        x_new = v
        g = _grad(x_new)
        vv = tf.cast(alpha, tf.complex64) * g + tf.cast(1.0 - alpha, tf.complex64) * z
        t = vv + u
        z_new = _shrink(t, lam / rho)
        u_new = t - z_new
        data = 0.5 * tf.reduce_sum(_abs2(sense_fwd(x_new, sens, maskc) - y))
        tv = _tv_norm(g)
        rc = _rel_change(x_new, x)
        ps, ss = _quality(x_new, ref, with_ref)
        tas = [ta.write(i, val) for ta, val in zip(tas, [data + lam * tv, data, tv, rc, ps, ss])]
        return i + 1, x_new, z_new, u_new, _converged(rc, tol, start + i), tas

    def cond(i, x, z, u, done, tas):
        return tf.logical_and(i < n, tf.logical_not(done))

    i, x, z, u, done, tas = tf.while_loop(cond, body, (tf.constant(0), x, z, u, tf.constant(False), tas))
    return x, z, u, _stack(tas, i), done


_ADMM_SPECS = [_SPEC_C, _SPEC_C2, _SPEC_C2, _SPEC_C3, _SPEC_C3, _SPEC_R, _SPEC_R, _SPEC_S, _SPEC_S,
               _SPEC_S, _SPEC_S, _SPEC_I, _SPEC_I]


@functools.lru_cache(maxsize=16)
def admm_sense_chunk(cg_iter: int, with_ref: bool):
    """Compiled ADMM chunk for a CG depth (one trace per depth, reused across calls)."""
    return tf.function(functools.partial(_admm_sense_impl, cg_iter=cg_iter, with_ref=with_ref),
                       input_signature=_ADMM_SPECS, jit_compile=_XLA)


def _pdhg_sense_impl(x, xbar, p, q, y, sens, mask, ref, lam, tau, sigma, theta, tol, n, start, with_ref):
    maskc = tf.cast(mask, tf.complex64)
    tauc, sigc = tf.cast(tau, tf.complex64), tf.cast(sigma, tf.complex64)
    tas = _record_arrays(n)

    def body(i, x, xbar, p, q, done, tas):
        # dual of the data term: prox of sigma * (1/2||.||^2 + <., y>)^*
        p_new = (p + sigc * (sense_fwd(xbar, sens, maskc) - y)) / (1.0 + sigc)
        qq = q + sigc * _grad(xbar)
        qmag = tf.sqrt(_abs2(qq[0]) + _abs2(qq[1]))
        q_new = qq / tf.cast(tf.maximum(qmag / lam, 1.0), tf.complex64)[None]
        x_new = x - tauc * (sense_adj(p_new, sens, maskc) + _grad_adj(q_new))
        xbar_new = x_new + tf.cast(theta, tf.complex64) * (x_new - x)
        data = 0.5 * tf.reduce_sum(_abs2(sense_fwd(x_new, sens, maskc) - y))
        tv = _tv_norm(_grad(x_new))
        rc = _rel_change(x_new, x)
        ps, ss = _quality(x_new, ref, with_ref)
        tas = [ta.write(i, val) for ta, val in zip(tas, [data + lam * tv, data, tv, rc, ps, ss])]
        return i + 1, x_new, xbar_new, p_new, q_new, _converged(rc, tol, start + i), tas

    def cond(i, x, xbar, p, q, done, tas):
        return tf.logical_and(i < n, tf.logical_not(done))

    i, x, xbar, p, q, done, tas = tf.while_loop(
        cond, body, (tf.constant(0), x, xbar, p, q, tf.constant(False), tas))
    return x, xbar, p, q, _stack(tas, i), done


_PDHG_SPECS = [_SPEC_C, _SPEC_C, _SPEC_C3, _SPEC_C2, _SPEC_C3, _SPEC_C3, _SPEC_R, _SPEC_R, _SPEC_S,
               _SPEC_S, _SPEC_S, _SPEC_S, _SPEC_S, _SPEC_I, _SPEC_I]
pdhg_sense_chunk = {
    wr: tf.function(functools.partial(_pdhg_sense_impl, with_ref=wr), input_signature=_PDHG_SPECS,
                    jit_compile=_XLA)
    for wr in (False, True)
}
