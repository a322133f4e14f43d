r"""ADMM with the coil images split off: SENSE-TV at about two FFTs per coil per iteration.

For a forward model :math:`A = B\,S` whose first factor :math:`S` is pointwise (coil maps:
image -> coil images) and whose second :math:`B = M F` is diagonal in k-space (mask after FFT),
this solver introduces the coil images :math:`v = S x` beside :math:`z = D x` (Ramani and
Fessler 2011):

.. math::

    \min_{x, v, z}\; \tfrac12\|B v - y\|^2 + \lambda\|z\|_{2,1}
    \quad\text{s.t.}\quad v = S x,\; z = D x .

With scaled duals :math:`u_1, u_2` and penalties :math:`\mu, \rho`, one iteration is

.. math::

    x &\leftarrow (\mu S^H S + \rho D^H D)^{-1}\big(\mu S^H (v - u_1) + \rho D^H (z - u_2)\big) \\
    v &\leftarrow F^H (M^H M + \mu)^{-1} \big(M^H y + \mu F (S x + u_1)\big)
        \qquad \text{(exact, per coil, in k-space)} \\
    u_1 &\leftarrow u_1 + S x - v, \qquad
    z, u_2 \text{ as in } :mod:`recon_core.recon.admm` .

The :math:`v`-step is exact. The :math:`x`-step is exact (one FFT pair of a single image) when
:math:`S^H S = I`, i.e. the maps are normalised everywhere (simulated coils); ESPIRiT-style maps
are normalised inside their support and zero outside, where a couple of preconditioned CG steps
with the exact inverse of :math:`\mu I + \rho D^H D` as preconditioner solve it (they cost no
coil FFTs). :math:`v` and :math:`u_1` are kept in k-space, so that the one forward FFT per coil
of :math:`S x` serves the :math:`v`-step, the dual step and the data term of the objective: an
iteration costs one forward and one inverse FFT per coil, against four CG steps of
:math:`A^H A` (eight per coil) for the plain ADMM.

Defaults (:class:`~recon_core.recon.configs.AdmmConfig`: ``rho = 100 lam``, ``mu = rho / 2``,
over-relaxation of both constraints, 4 PCG steps for 8 coils) were chosen on 256², 8-coil Shepp–Logan at
k-space SNR 30 dB with ESPIRiT maps and λ = 0.3 σ: after 100 iterations the objective is below
the CG-based ADMM's (Poisson 8×: 1.45418 vs 1.45498; random 4×: 1.68171 vs 1.68745), and after
30 iterations PSNR is 48.5 vs 54.1 dB (Poisson) and 51.7 vs 50.6 dB (random) — the CG-based
ADMM does more work per iteration.

References:
    S. Ramani and J. A. Fessler, "Parallel MR image reconstruction using augmented Lagrangian
    methods", IEEE Trans. Med. Imaging 30(3), 2011, 694-706.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from recon_core.ops.base import Composed, LinearOperator, abs2, fourier_layout
from recon_core.ops.fft import FFT2
from recon_core.recon.cg import cg_steps
from recon_core.recon.configs import AdmmConfig
from recon_core.recon.functionals import shrink
from recon_core.recon.monitor import ChunkedSolver, iterate, record_values

__all__ = ["SplitAdmmSolver", "coil_split"]

#: |sum_c |S_c|^2 - 1| below which the maps count as normalised everywhere (exact x-step).
NORMALISED_TOL = 1e-3


def coil_split(A: LinearOperator, D: LinearOperator):
    """``(B, S, layout)`` with ``A == B @ S``, ``B`` diagonal after an FFT of that layout and
    ``S`` pointwise with a pointwise normal map; ``None`` when ``A`` has no such structure or
    when ``A`` itself is diagonal in k-space (the plain ADMM's exact step is better then)."""
    if not isinstance(A, Composed) or len(A.ops) < 2:
        return None
    if fourier_layout([A, D]) is not None:
        return None
    s = A.ops[-1]
    b = Composed(A.ops[:-1]) if len(A.ops) > 2 else A.ops[0]
    if not hasattr(s, "sens"):  # a coil-sensitivity operator (pointwise maps)
        return None
    for layout in (False, True):
        if b.has_fourier_diagonal(layout) and D.has_fourier_diagonal(layout):
            return b, s, layout
    return None


def _build(b_t: LinearOperator, s_t: LinearOperator, d_t: LinearOperator, layout: bool,
           exact: bool, pcg_iter: int, relax_coils: bool, with_ref: bool, shifted: bool):
    def chunk(params, state, consts, n, start):
        B = b_t.with_tensors(params[0])
        S = s_t.with_tensors(params[1])
        D = d_t.with_tensors(params[2])
        y, ref, lam, alpha, tol, mu, rho = consts
        alphac = tf.cast(alpha, tf.complex64)
        betac = alphac
        muc, rhoc = tf.cast(mu, tf.complex64), tf.cast(rho, tf.complex64)
        F = FFT2(centred=layout)
        m = B.after_fft(layout).diagonal()  # sampling weights on k-space
        mty = tf.math.conj(m) * y
        inv_v = tf.cast(1.0 / (abs2(m) + mu), tf.complex64)
        x0 = state[0]
        d_d = D.normal_fourier_diagonal(x0, layout)
        inv_x = tf.cast(1.0 / (mu + rho * d_d), tf.complex64)

        def precond(r):
            return F.apply_adjoint(F.apply(r) * inv_x)

        def step(state):
            x, vk, uk, z, u2 = state
            rhs = muc * S.apply_adjoint(F.apply_adjoint(vk - uk)) + rhoc * D.apply_adjoint(z - u2)
            if exact:
                x_new = precond(rhs)
            else:
                x_new = cg_steps(lambda w: muc * S.apply_normal(w) + rhoc * D.apply_normal(w),
                                 rhs, x, pcg_iter, precond=precond)
            fsx = F.apply(S.apply(x_new))
            resid = m * fsx - y
            fsr = betac * fsx + (1.0 - betac) * vk if relax_coils else fsx  # over-relaxation
            vk_new = (mty + muc * (fsr + uk)) * inv_v
            uk_new = uk + fsr - vk_new
            g = D.apply(x_new)
            t = alphac * g + (1.0 - alphac) * z + u2
            z_new = shrink(t, lam / rho)
            u2_new = t - z_new
            values = record_values(x_new, x, resid, g, lam, ref, with_ref, shifted)
            return [x_new, vk_new, uk_new, z_new, u2_new], values

        return iterate(step, state, n, tol, start)

    return chunk


class SplitAdmmSolver(ChunkedSolver):
    """Coil-splitting ADMM (module docstring) over ``A = B @ S``, run in compiled chunks.

    Args:
        A, D, y, x0, lam, cfg, ref, shifted: as for :class:`~recon_core.recon.admm.AdmmSolver`;
            ``A`` must have the structure :func:`coil_split` finds.

    Attributes:
        exact: whether the x-step is exact (maps normalised everywhere) or by preconditioned CG.
    """

    def __init__(self, A: LinearOperator, D: LinearOperator, y: tf.Tensor, x0: tf.Tensor,
                 lam: float, cfg: AdmmConfig, ref: np.ndarray | None, shifted: bool):
        split = coil_split(A, D)
        if split is None:
            raise ValueError(f"the forward model {A.name} has no coil structure to split")
        B, S, layout = split
        if x0.shape.rank == 2:
            norm = S.apply_normal(tf.ones(tf.shape(x0), tf.complex64))
            self.exact = bool(tf.reduce_max(tf.abs(norm - 1.0)) < NORMALISED_TOL)
        else:  # sets of maps: S^H S couples the images, PCG
            self.exact = False
        rho = cfg.rho if cfg.rho is not None else cfg.split_rho_factor * max(lam, 1e-12)
        mu = cfg.mu_factor * rho
        with_ref = ref is not None
        n_coils = int(S.oshape[0])
        pcg_iter = cfg.pcg_iter if cfg.pcg_iter is not None else min(4, max(1, n_coils // 2))
        flags = (layout, self.exact, int(pcg_iter), bool(cfg.relax_coils),
                 with_ref, shifted)
        self.key = ("admm-split", B.key(), S.key(), D.key(), *flags)
        self.build = lambda: _build(B, S, D, *flags)
        self.params = [list(B.tensors()), list(S.tensors()), list(D.tensors())]
        F = FFT2(centred=layout)
        vk0 = F.apply(S.apply(x0))
        z0 = D.apply(x0)
        self.state = [x0, vk0, tf.zeros_like(vk0), z0, tf.zeros_like(z0)]
        zeros = tf.zeros(tf.shape(x0)[-2:], tf.float32)
        self.consts = [y, tf.constant(ref) if with_ref else zeros, tf.constant(lam, tf.float32),
                       tf.constant(cfg.relaxation, tf.float32), tf.constant(cfg.tol, tf.float32),
                       tf.constant(mu, tf.float32), tf.constant(rho, tf.float32)]
