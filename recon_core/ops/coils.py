"""Coil sensitivities: ``x -> (S_c x)_c``, and the SENSE forward model ``M F S``.

Maps are complex, shape (C, H, W); an image (..., H, W) becomes coil images (..., C, H, W).
The adjoint combines coils, ``sum_c conj(S_c) y_c``. Coil-map *estimation* and simulation
live in :mod:`recon_core.coils`.

References:
    Pruessmann, K. P. et al. "SENSE: sensitivity encoding for fast MRI." MRM 42, 1999.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import tensorflow as tf
from numpy.typing import ArrayLike

from recon_core.checks import as_array, as_mask
from recon_core.ops.base import LinearOperator, abs2, as_complex, static_shape
from recon_core.ops.fft import FFT2
from recon_core.ops.sampling import Sampling

__all__ = ["CoilSensitivities", "CoilSensitivitySets", "sense", "sense_forward", "sense_adjoint"]


class CoilSensitivities(LinearOperator):
    """Multiplication by coil maps: (..., H, W) -> (..., C, H, W).

    Args:
        sens: complex maps, shape (C, H, W) (or (..., C, H, W): one set per batch item).

    :Examples:

    >>> import numpy as np
    >>> S = CoilSensitivities(np.ones((3, 4, 5)))
    >>> S.ishape, S.oshape
    ((4, 5), (3, 4, 5))
    """

    def __init__(self, sens):
        s = as_complex(sens)
        shape = static_shape(s)
        if len(shape) < 3:
            raise ValueError(f"sensitivity maps must have shape (..., C, H, W), got {shape}")
        super().__init__(shape[-2:], shape[-3:])
        self.sens = s

    def apply(self, x):
        return self.sens * x[..., None, :, :]

    def apply_adjoint(self, y):
        return tf.reduce_sum(tf.math.conj(self.sens) * y, axis=-3)

    def apply_normal(self, x):
        return tf.cast(tf.reduce_sum(abs2(self.sens), axis=-3), tf.complex64) * x

    def tensors(self):
        return (self.sens,)

    def with_tensors(self, tensors):
        return CoilSensitivities(tensors[0])

    def norm_bound(self):
        return float(np.sqrt(tf.reduce_max(tf.reduce_sum(abs2(self.sens), axis=-3))))


class CoilSensitivitySets(LinearOperator):
    """Several sets of coil maps ("soft SENSE"): images (M, H, W) -> coil images (C, H, W).

    Coil image ``c`` is ``sum_m S[m, c] x[m]``: each set of maps sees its own image. With
    ESPIRiT's second set of maps, the second image absorbs what the first set cannot explain,
    such as an object larger than the field of view folding onto itself (Uecker et al. 2014).

    Args:
        sens: complex maps, shape (M, C, H, W), M >= 1 sets.

    :Examples:

    >>> import numpy as np
    >>> S = CoilSensitivitySets(np.ones((2, 3, 4, 5)))
    >>> S.ishape, S.oshape, S.apply(tf.ones((2, 4, 5), tf.complex64)).shape
    ((2, 4, 5), (3, 4, 5), TensorShape([3, 4, 5]))
    """

    def __init__(self, sens):
        s = as_complex(sens)
        shape = static_shape(s)
        if len(shape) != 4:
            raise ValueError(f"sets of sensitivity maps must have shape (M, C, H, W), got {shape}")
        super().__init__((shape[0], *shape[-2:]), shape[-3:])
        self.sens = s

    def apply(self, x):
        return tf.reduce_sum(self.sens * x[..., :, None, :, :], axis=-4)

    def apply_adjoint(self, y):
        return tf.reduce_sum(tf.math.conj(self.sens) * y[..., None, :, :, :], axis=-3)

    def apply_normal(self, x):
        return self.apply_adjoint(self.apply(x))

    def tensors(self):
        return (self.sens,)

    def with_tensors(self, tensors):
        return CoilSensitivitySets(tensors[0])

    def norm_bound(self):
        return float(np.sqrt(tf.reduce_max(tf.reduce_sum(abs2(self.sens), axis=(-4, -3)))))


def sense(mask, sens, centred: bool = True, sets: bool = False) -> LinearOperator:
    """The SENSE forward model ``A = M F S``: image (H, W) -> coil k-space (C, H, W).

    Args:
        mask: bool or weights, (H, W).
        sens: complex maps, (C, H, W); with ``sets``, (M, C, H, W) and images (M, H, W)
            (:class:`CoilSensitivitySets`).
        centred: the FFT's layout (see :class:`~recon_core.ops.fft.FFT2`).
        sets: the maps are several sets (soft SENSE).
    """
    if sets:
        s = CoilSensitivitySets(sens)
        return Sampling(mask) @ FFT2(s.ishape[-2:], centred=centred) @ s
    s = CoilSensitivities(sens)
    return Sampling(mask) @ FFT2(s.ishape, centred=centred) @ s



def _check_sens(sens: np.ndarray, image_shape: Sequence[int]) -> None:
    if sens.ndim < 3:
        raise ValueError(f"sensitivity maps must have shape (..., C, H, W), got {sens.shape}")
    if sens.shape[-2:] != tuple(image_shape[-2:]):
        raise ValueError(
            f"sensitivity maps {sens.shape} do not match image size {tuple(image_shape[-2:])}"
        )


def sense_forward(image: ArrayLike, sens: ArrayLike, mask: ArrayLike) -> np.ndarray:
    """Multi-coil (SENSE) forward operator ``y_c = M F (S_c x)`` (NumPy wrapper).

    Args:
        image: complex, shape (..., H, W).
        sens: complex coil sensitivity maps, shape (C, H, W) (or (..., C, H, W) per batch).
        mask: bool, shape (H, W) or broadcastable to (..., C, H, W).

    Returns:
        kspace: complex64, shape (..., C, H, W).
    """
    x = as_array(image, "image", dtype=np.complex64)
    s = as_array(sens, "sens", dtype=np.complex64)
    _check_sens(s, x.shape)
    m = as_mask(mask, np.broadcast_shapes(s.shape, x.shape[:-2] + (1,) + x.shape[-2:]))
    return sense(m, s).apply(tf.constant(x)).numpy()


def sense_adjoint(kspace: ArrayLike, sens: ArrayLike, mask: ArrayLike) -> np.ndarray:
    """Adjoint of :func:`sense_forward`: ``x = sum_c conj(S_c) F^H M y_c``.

    Args:
        kspace: complex, shape (..., C, H, W).
        sens: complex coil sensitivity maps, shape (C, H, W) (or (..., C, H, W)).
        mask: bool, shape (H, W) or broadcastable to (..., C, H, W).

    Returns:
        image: complex64, shape (..., H, W).
    """
    k = as_array(kspace, "kspace", dtype=np.complex64)
    s = as_array(sens, "sens", dtype=np.complex64)
    _check_sens(s, k.shape)
    if s.shape[-3] != k.shape[-3]:
        raise ValueError(f"k-space has {k.shape[-3]} coils but sens has {s.shape[-3]}")
    m = as_mask(mask, k.shape)
    return sense(m, s).apply_adjoint(tf.constant(k)).numpy()
