r"""ADMM (split Bregman) for :math:`\min_x \tfrac12\|Ax - y\|_2^2 + \lambda\|Dx\|_{2,1}`.

Written once over operators: ``A`` is any forward model (single-coil ``M F``, SENSE
``M F S``, ...) and ``D`` the finite differences. With the splitting :math:`z = Dx`:

.. math::

    x^{k+1} &= (A^H A + \rho D^H D)^{-1} (A^H y + \rho D^H (z^k - u^k)) \\
    v &= \alpha D x^{k+1} + (1 - \alpha) z^k \quad \text{(over-relaxation)} \\
    z^{k+1} &= \mathrm{shrink}(v + u^k, \lambda/\rho), \qquad u^{k+1} = u^k + v - z^{k+1}

The x-update is **exact** (one FFT pair) when both normal operators are diagonal in one FFT
basis (:func:`recon_core.ops.base.fourier_layout`: Cartesian sampling ``A = M F``), and a few
warm-started conjugate-gradient steps otherwise. For the NUFFT, whose forward map is not
available in a compiled loop, the iterations use :math:`A^H y` (computed once) and the
Toeplitz normal map only, and the data term is recorded from them
(:func:`~recon_core.recon.monitor.gram_data`, with :math:`A^H A x` recovered from CG's
residual, so that recording costs no extra product). Optional residual balancing adapts
:math:`\rho` (doubled or halved when the primal and dual residuals differ by 10×).

References:
    Goldstein, T. and Osher, S. "The split Bregman method for L1-regularized problems."
    SIAM J. Imaging Sci. 2(2), 2009.
    Boyd, S. et al. "Distributed optimization and statistical learning via the alternating
    direction method of multipliers." Found. Trends Mach. Learn. 3(1), 2011, sec. 3.4.1.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from recon_core.ops.base import LinearOperator, abs2, fourier_layout, inner
from recon_core.ops.fft import FFT2
from recon_core.recon.cg import cg_steps
from recon_core.recon.configs import AdmmConfig
from recon_core.recon.functionals import shrink
from recon_core.recon.monitor import ChunkedSolver, iterate, record_values

__all__ = ["AdmmSolver"]


def _build(a_t: LinearOperator, d_t: LinearOperator, layout: bool | None, cg_iter: int,
           adaptive: bool, with_ref: bool, shifted: bool, gram: bool, circulant: bool):
    def chunk(params, state, consts, n, start):
        A, D = a_t.with_tensors(params[0]), d_t.with_tensors(params[1])
        y, ref, lam, alpha, tol, yy = consts  # y is A^H y for a Gram-only A (the NUFFT)
        alphac = tf.cast(alpha, tf.complex64)
        x0 = state[0]
        if layout is not None:  # exact x-update in the FFT basis
            F = FFT2(centred=layout)
            B = A.after_fft(layout)
            bty = B.apply_adjoint(y)
            d_a = A.normal_fourier_diagonal(x0, layout)
            d_d = D.normal_fourier_diagonal(x0, layout)

            def inverse(rho):
                den = d_a + rho * d_d
                return tf.cast(tf.where(den > 0, 1.0 / tf.where(den > 0, den, 1.0), 0.0),
                               tf.complex64)

            fixed_inv = None if adaptive else inverse(state[3])  # rho only moves if adaptive
        else:
            aty = y if gram else A.apply_adjoint(y)
            if circulant:  # F^H (c + rho d_D)^-1 F, c: A^H A's circulant approximation
                c_a = A.circulant_normal()
                d_d = tf.cast(D.normal_fourier_diagonal(x0, False), tf.complex64)

                def precond(rho_c):
                    inv = 1.0 / (c_a + rho_c * d_d)
                    return lambda v: tf.signal.ifft2d(tf.signal.fft2d(v) * inv)

        def step(state):
            x, z, u, rho = state
            rhoc = tf.cast(rho, tf.complex64)
            if layout is not None:
                inv = inverse(rho) if adaptive else fixed_inv
                k = (bty + rhoc * F.apply(D.apply_adjoint(z - u))) * inv
                x_new = F.apply_adjoint(k)
                resid = B.apply(k) - y
            else:
                rhs = aty + rhoc * D.apply_adjoint(z - u)
                x_new, r = cg_steps(lambda v: A.apply_normal(v) + rhoc * D.apply_normal(v),
                                    rhs, x, cg_iter, with_residual=True,
                                    precond=precond(rhoc) if circulant else None)
                resid = None if gram else A.apply(x_new) - y
                if gram:  # A^H A x_new from CG's residual: no extra Toeplitz product
                    ahax = rhs - r - rhoc * D.apply_normal(x_new)
            g = D.apply(x_new)
            t = alphac * g + (1.0 - alphac) * z + u
            z_new = shrink(t, lam / rho)
            u_new = t - z_new
            rho_new = rho
            if adaptive:
                r_norm = tf.sqrt(tf.reduce_sum(abs2(g - z_new)))
                s_norm = rho * tf.sqrt(tf.reduce_sum(abs2(D.apply_adjoint(z_new - z))))
                factor = tf.where(r_norm > 10.0 * s_norm, 2.0,
                                  tf.where(s_norm > 10.0 * r_norm, 0.5, 1.0))
                rho_new = rho * factor
                u_new = u_new / tf.cast(factor, tf.complex64)
            data = None
            if gram:
                data = 0.5 * tf.maximum(inner(x_new, ahax) - 2.0 * inner(x_new, aty) + yy, 0.0)
            values = record_values(x_new, x, resid, g, lam, ref, with_ref, shifted, data)
            return [x_new, z_new, u_new, rho_new], values

        return iterate(step, state, n, tol, start)

    return chunk


class AdmmSolver(ChunkedSolver):
    """ADMM iterations over operators, run in compiled chunks.

    Args:
        A: forward model (image -> data).
        D: finite differences (image -> gradient field).
        y: measured data (A's output shape), zero where not measured.
        x0: starting image.
        lam: TV weight.
        cfg: :class:`~recon_core.recon.configs.AdmmConfig`.
        ref: reference magnitude for in-graph PSNR/SSIM (centred), or ``None``.
        shifted: True if images are in the ``ifftshift``-ed layout (for the metrics).

    :attr:`exact` says whether the x-update is exact (FFT-diagonal) or by CG.
    """

    def __init__(self, A: LinearOperator, D: LinearOperator, y: tf.Tensor, x0: tf.Tensor,
                 lam: float, cfg: AdmmConfig, ref: np.ndarray | None, shifted: bool):
        layout = fourier_layout([A, D])
        self.exact = layout is not None
        rho = cfg.rho if cfg.rho is not None else cfg.rho_factor * max(lam, 1e-12)
        with_ref = ref is not None
        gram = not A.graph_forward()  # the NUFFT: work from A^H y and the Toeplitz normal map
        circulant = bool(cfg.circulant_precond and gram and hasattr(A, "circulant_normal"))
        cg_iter = cfg.cg_iter if cfg.cg_iter is not None else (2 if circulant else 4)
        flags = (layout, int(cg_iter), bool(cfg.adaptive_rho), with_ref, shifted, gram,
                 circulant)
        self.key = ("admm", A.key(), D.key(), *flags)
        self.build = lambda: _build(A, D, *flags)
        self.params = [list(A.tensors()), list(D.tensors())]
        z0 = D.apply(x0)
        self.state = [x0, z0, tf.zeros_like(z0), tf.constant(rho, tf.float32)]
        zeros = tf.zeros(tf.shape(x0)[-2:], tf.float32)
        self.consts = [A.adjoint(y) if gram else y, tf.constant(ref) if with_ref else zeros,
                       tf.constant(lam, tf.float32), tf.constant(cfg.relaxation, tf.float32),
                       tf.constant(cfg.tol, tf.float32), tf.reduce_sum(abs2(y))]
