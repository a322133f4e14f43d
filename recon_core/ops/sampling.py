"""Sampling: multiplication of k-space by a mask, and the single-coil forward model ``M F``.

The mask is real (0/1 for ordinary undersampling; any non-negative weights work), shape
(H, W) or broadcastable to the data. Mask *generation* lives in :mod:`recon_core.masks`;
this module only applies a mask.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import tensorflow as tf
from numpy.typing import ArrayLike

from recon_core.checks import as_array, as_mask
from recon_core.ops.base import LinearOperator, static_shape
from recon_core.ops.fft import FFT2

__all__ = ["Sampling", "forward_op", "adjoint_op"]


class Sampling(LinearOperator):
    """``y = m * k``: keep the sampled k-space points (self-adjoint, diagonal).

    Args:
        mask: bool or real weights, shape (H, W) (or (..., H, W) broadcasting against the data).

    :Examples:

    >>> import numpy as np
    >>> M = Sampling(np.array([[True, False], [False, True]]))
    >>> M.forward(np.ones((2, 2))).numpy().real.tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """

    def __init__(self, mask):
        if isinstance(mask, tf.Tensor):
            m = mask if mask.dtype == tf.complex64 else tf.cast(tf.cast(mask, tf.float32), tf.complex64)
        else:  # one conversion instead of two casts: solvers build this once per solve
            m = tf.constant(np.asarray(mask).astype(np.complex64))
        shape = static_shape(m)
        if len(shape) < 2:
            raise ValueError(f"a sampling mask needs at least 2 axes (H, W), got shape {shape}")
        super().__init__(shape, shape)
        self.mask = m

    def apply(self, x):
        return x * self.mask

    def apply_adjoint(self, y):
        return y * tf.math.conj(self.mask)

    def apply_normal(self, x):
        return x * (self.mask * tf.math.conj(self.mask))

    def tensors(self):
        return (self.mask,)

    def with_tensors(self, tensors):
        return Sampling(tensors[0])

    def diagonal(self):
        return self.mask

    def norm_bound(self):
        return float(tf.reduce_max(tf.abs(self.mask)))


def single_coil(mask, shape: Sequence | None = None, centred: bool = True) -> LinearOperator:
    """The single-coil forward model ``A = M F`` (k-space sampled by ``mask``).

    Args:
        mask: bool or weights (H, W).
        shape: image size (H, W); default the mask's.
        centred: the FFT's layout (see :class:`~recon_core.ops.fft.FFT2`).
    """
    op = Sampling(mask)
    return op @ FFT2(shape if shape is not None else op.ishape[-2:], centred=centred)



def forward_op(image: ArrayLike, mask: ArrayLike) -> np.ndarray:
    """Single-coil undersampled forward operator ``y = M F x`` (NumPy wrapper).

    Args:
        image: complex or real, shape (..., H, W).
        mask: bool (or 0/1), shape (H, W) or broadcastable to (..., H, W); True = sampled.

    Returns:
        kspace: complex64, shape (..., H, W), zero where ``mask`` is False.
    """
    x = as_array(image, "image", dtype=np.complex64)
    m = as_mask(mask, x.shape)
    return single_coil(m, x.shape[-2:]).apply(tf.constant(x)).numpy()


def adjoint_op(kspace: ArrayLike, mask: ArrayLike) -> np.ndarray:
    """Adjoint of :func:`forward_op`: ``x = F^H M y`` (the zero-filled image, complex).

    Args:
        kspace: complex, shape (..., H, W).
        mask: bool (or 0/1), shape (H, W) or broadcastable to (..., H, W).

    Returns:
        image: complex64, shape (..., H, W).
    """
    k = as_array(kspace, "kspace", dtype=np.complex64)
    m = as_mask(mask, k.shape)
    return single_coil(m, k.shape[-2:]).apply_adjoint(tf.constant(k)).numpy()
