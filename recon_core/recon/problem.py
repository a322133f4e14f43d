r"""A TV problem as the solvers see it: forward model, data, start and reference.

:func:`build_problem` turns validated inputs
(:func:`recon_core.recon.inputs.check_problem`) into operators and data.

Solvers work in the ``ifftshift``-ed layout: with :math:`P` the centring shift,
:math:`F_c = P F P^{-1}`, and because :math:`P` commutes with periodic differences and with
pointwise products, the problem in :math:`x' = P^{-1} x` is the same problem with the plain
FFT and shifted mask, maps and data. The shifts are then done once per solve, not four times
per iteration.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf
from numpy.typing import ArrayLike

from recon_core.checks import as_array
from recon_core.ops.base import LinearOperator, abs2, inner
from recon_core.ops.coils import CoilSensitivities, sense
from recon_core.ops.finite_diff import FiniteDifference
from recon_core.ops.sampling import single_coil
from recon_core.recon.inputs import CheckedProblem

__all__ = ["TVProblem", "build_problem"]


@dataclass
class TVProblem:
    """:math:`\\min_x \\tfrac12\\|Ax - y\\|^2 + \\lambda\\|Dx\\|_{2,1}` in the solvers' layout.

    Attributes:
        A: forward model (``M F`` or ``M F S``, plain FFT on shifted arrays; ``N`` or ``N S``
            with ``N`` the NUFFT for non-Cartesian data, centred arrays).
        D: periodic finite differences.
        y: measured data, shifted, zero outside the mask.
        x0: starting image, shifted.
        lam: TV weight.
        reference: reference magnitude in the centred layout, or None.
        shifted: True (the layout described in the module docstring); False for
            non-Cartesian data, whose images stay centred.
    """

    A: LinearOperator
    D: LinearOperator
    y: tf.Tensor
    x0: tf.Tensor
    lam: float
    reference: np.ndarray | None
    shifted: bool = True

    def to_image(self, x: tf.Tensor) -> np.ndarray:
        """A solver's iterate as a complex64 (H, W) array in the centred layout ((M, H, W), one
        image per set, with M sets of maps)."""
        x = x.numpy()
        return (np.fft.fftshift(x, axes=(-2, -1)) if self.shifted else x).astype(np.complex64)


def build_problem(checked: CheckedProblem, x0: ArrayLike | None = None) -> TVProblem:
    """Operators and data for :class:`TVProblem` from validated inputs.

    Args:
        checked: from :func:`check_problem`.
        x0: starting image (H, W), centred; default the zero-filled image (for multi-coil
            data the SENSE-combined one, ``sum_c conj(S_c) x_c / sum_c |S_c|^2``).
    """
    if not checked.cartesian:
        return _build_noncartesian(checked, x0)
    k, m, sens = checked.kspace, checked.mask, checked.sens
    h, w = k.shape[-2:]
    ax = (-2, -1)
    y = tf.constant(np.fft.ifftshift(k * m, axes=ax))
    ms = np.fft.ifftshift(m)
    if sens is None:
        A = single_coil(ms, (h, w), centred=False)
    else:
        A = sense(ms, np.fft.ifftshift(sens, axes=ax), centred=False, sets=sens.ndim == 4)
    D = FiniteDifference((h, w))
    if x0 is not None:
        x0a = as_array(x0, "x0")
        shape = tuple(A.ishape)
        if x0a.shape == (h, w) and shape != (h, w):  # map sets: start the first image only
            x0a = np.concatenate([x0a[None], np.zeros((shape[0] - 1, h, w), x0a.dtype)])
        if x0a.shape != shape:
            raise ValueError(f"x0 {x0a.shape} does not match the image size {shape}")
        xs = tf.constant(np.fft.ifftshift(x0a, axes=ax).astype(np.complex64))
    else:
        xs = A.adjoint(y)
        if sens is not None:
            norm = tf.reduce_sum(abs2(tf.constant(np.fft.ifftshift(sens, axes=ax))), axis=-3)
            xs = xs / tf.cast(tf.where(norm > 0, norm, 1.0), tf.complex64)
    return TVProblem(A, D, y, xs, checked.lam, checked.reference, shifted=True)


def _build_noncartesian(checked: CheckedProblem, x0: ArrayLike | None) -> TVProblem:
    r"""Non-Cartesian data: ``A = N`` or ``N S`` with the NUFFT ``N``, centred images.

    The default start is the scaled adjoint :math:`\alpha A^H y` with the :math:`\alpha`
    that fits the data best, :math:`\alpha = \|A^H y\|^2 / \langle A^H y, A^H A A^H y\rangle`
    (one Toeplitz product; without density compensation, :math:`A^H y` alone is far too bright).
    """
    from recon_core.ops.nufft import NUFFT

    h, w = checked.shape
    A: LinearOperator = NUFFT(checked.coord, (h, w))
    if checked.sens is not None:
        A = A @ CoilSensitivities(checked.sens)
    y = tf.constant(checked.kspace)
    D = FiniteDifference((h, w))
    if x0 is not None:
        x0a = as_array(x0, "x0")
        if x0a.shape != (h, w):
            raise ValueError(f"x0 {x0a.shape} does not match the image size {(h, w)}")
        xs = tf.constant(x0a.astype(np.complex64))
    else:
        b = A.adjoint(y)
        num = inner(b, b)
        den = inner(b, A.normal(b))
        alpha = float(num / den) if float(den) > 0 else 0.0
        xs = b * tf.cast(alpha, tf.complex64)
    return TVProblem(A, D, y, xs, checked.lam, checked.reference, shifted=False)
