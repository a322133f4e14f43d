r"""PDHG (Chambolle–Pock) for :math:`\min_x \tfrac12\|Ax - y\|_2^2 + \lambda\|Dx\|_{2,1}`.

Written once over operators, in one of two forms:

* **exact data prox** (when :math:`A^H A` is diagonal in an FFT basis, i.e. Cartesian
  sampling): only the TV term is dualised (:math:`K = D`), and the data term's prox is one FFT
  pair; steps with :math:`\tau\sigma\|D\|^2 \le 1` (:math:`\|D\|^2 \le 8`);
* **fully dual** otherwise (SENSE, ...): both terms are dualised (:math:`K = [A; D]`), with
  :math:`\tau\sigma(\|A\|^2 + 8) \le 1`; :math:`\|A\|` comes from the operator's bound or a
  power iteration;
* **linearised data term** (Condat–Vũ) for the NUFFT, whose forward map is not available in
  a compiled loop: the primal step takes the data term's gradient
  :math:`A^H A x - A^H y` (Toeplitz normal map), only TV is dualised, and the steps satisfy
  :math:`1/\tau - 8\sigma \ge \|A\|^2 / 2` (here :math:`\tau = 1/\|A\|^2`,
  :math:`\sigma = 1/(16\tau)`).

References:
    Chambolle, A. and Pock, T. "A first-order primal-dual algorithm for convex problems with
    applications to imaging." J. Math. Imaging Vis. 40, 2011.
    Condat, L. "A primal-dual splitting method for convex optimization involving Lipschitzian,
    proximable and linear composite terms." J. Optim. Theory Appl. 158, 2013.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from recon_core.ops.base import LinearOperator, abs2, estimate_norm, fourier_layout
from recon_core.ops.fft import FFT2
from recon_core.recon.configs import PdhgConfig
from recon_core.recon.functionals import project_ball
from recon_core.recon.monitor import ChunkedSolver, gram_data, iterate, record_values

__all__ = ["PdhgSolver"]


def _build(a_t: LinearOperator, d_t: LinearOperator, layout: bool | None, with_ref: bool,
           shifted: bool, gram: bool):
    def chunk(params, state, consts, n, start):
        A, D = a_t.with_tensors(params[0]), d_t.with_tensors(params[1])
        y, ref, lam, tau, sigma, theta, tol, yy = consts  # y is A^H y when gram
        tauc, sigc = tf.cast(tau, tf.complex64), tf.cast(sigma, tf.complex64)
        thetac = tf.cast(theta, tf.complex64)
        if layout is not None:
            F = FFT2(centred=layout)
            B = A.after_fft(layout)
            tau_bty = tauc * B.apply_adjoint(y)
            d_a = A.normal_fourier_diagonal(state[0], layout)
            inv = tf.cast(1.0 / (1.0 + tau * d_a), tf.complex64)

        def step(state):
            x, xbar, p, q = state
            q_new = project_ball(q + sigc * D.apply(xbar), lam)
            if layout is not None:  # prox of tau * data term, exactly in k-space
                k = (F.apply(x - tauc * D.apply_adjoint(q_new)) + tau_bty) * inv
                x_new = F.apply_adjoint(k)
                p_new = p
                resid = B.apply(k) - y
            elif gram:  # Condat–Vũ: a gradient step on the data term
                x_new = x - tauc * (A.apply_normal(x) - y + D.apply_adjoint(q_new))
                p_new = p
                resid = None
            else:  # dual of the data term: prox of sigma * (1/2||.||^2 + <., y>)^*
                p_new = (p + sigc * (A.apply(xbar) - y)) / (1.0 + sigc)
                x_new = x - tauc * (A.apply_adjoint(p_new) + D.apply_adjoint(q_new))
                resid = A.apply(x_new) - y
            xbar_new = x_new + thetac * (x_new - x)
            data = gram_data(A, x_new, y, yy) if gram else None
            values = record_values(x_new, x, resid, D.apply(x_new), lam, ref, with_ref, shifted,
                                   data)
            return [x_new, xbar_new, p_new, q_new], values

        return iterate(step, state, n, tol, start)

    return chunk


class PdhgSolver(ChunkedSolver):
    """PDHG iterations over operators, run in compiled chunks (arguments as for
    :class:`~recon_core.recon.admm.AdmmSolver`, with a
    :class:`~recon_core.recon.configs.PdhgConfig`).

    :attr:`exact` says whether the data term's prox is exact (FFT-diagonal) or dualised.
    """

    def __init__(self, A: LinearOperator, D: LinearOperator, y: tf.Tensor, x0: tf.Tensor,
                 lam: float, cfg: PdhgConfig, ref: np.ndarray | None, shifted: bool):
        layout = fourier_layout([A])
        self.exact = layout is not None
        gram = not A.graph_forward()
        k_norm2 = D.norm_bound() ** 2
        if not self.exact:
            a_norm = A.norm_bound()
            if a_norm is None:
                a_norm = estimate_norm(A, tuple(x0.shape))
            if gram:
                lip = a_norm**2  # Lipschitz constant of the data term's gradient
                tau = cfg.tau if cfg.tau is not None else 1.0 / lip
                sigma = 0.5 / (k_norm2 * tau) if cfg.tau is None else max(
                    (1.0 / tau - lip / 2) / k_norm2, 1e-12)
            else:
                k_norm2 += a_norm**2
        if not gram:
            tau = cfg.tau if cfg.tau is not None else cfg.tau_factor / math.sqrt(k_norm2)
            sigma = 1.0 / (k_norm2 * tau)
        with_ref = ref is not None
        self.key = ("pdhg", A.key(), D.key(), layout, with_ref, shifted, gram)
        self.build = lambda: _build(A, D, layout, with_ref, shifted, gram)
        self.params = [list(A.tensors()), list(D.tensors())]
        p0 = tf.zeros((1,), tf.complex64) if (self.exact or gram) else tf.zeros_like(y)
        self.state = [x0, x0, p0, tf.zeros((2, *x0.shape), tf.complex64)]
        zeros = tf.zeros(tf.shape(x0)[-2:], tf.float32)
        self.consts = [A.adjoint(y) if gram else y, tf.constant(ref) if with_ref else zeros,
                       tf.constant(lam, tf.float32), tf.constant(tau, tf.float32),
                       tf.constant(sigma, tf.float32), tf.constant(cfg.theta, tf.float32),
                       tf.constant(cfg.tol, tf.float32), tf.reduce_sum(abs2(y))]
