"""The centred orthonormal 2D FFT as a TensorFlow operator (the NumPy functions
:func:`fft2c`/:func:`ifft2c` live in :mod:`recon_core.ops.fftc`, which does not import
TensorFlow, and are re-exported here).

Conventions (fastMRI's ``fftc``): image and k-space both have their origin in the centre of
the array, at index ``(H // 2, W // 2)``, and the transform is unitary::

    kspace = fftshift(fft2(ifftshift(image)), norm="ortho")

All transforms act on the last two axes; leading axes are a batch. The orthonormal scale
``1 / sqrt(H * W)`` is written here and nowhere else.

``FFT2(centred=False)`` is the plain orthonormal FFT without the shifts. Solvers use it on
``ifftshift``-ed arrays (a circular shift commutes with periodic finite differences and with
pointwise products), so each iteration saves four shifts.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from recon_core.ops.base import Identity, LinearOperator
from recon_core.ops.fftc import fft2c, ifft2c  # noqa: F401 (re-exported)

__all__ = ["FFT2", "fft2c", "ifft2c", "fft2c_tf", "ifft2c_tf", "fft2_ortho", "ifft2_ortho"]

_AXES = (-2, -1)


def ortho_scale(x: tf.Tensor) -> tf.Tensor:
    """``1 / sqrt(H * W)`` for a tensor of shape (..., H, W), as complex64."""
    shape = tf.shape(x)
    n = tf.cast(shape[-2] * shape[-1], tf.float32)
    return tf.cast(tf.math.rsqrt(n), tf.complex64)


def fft2_ortho(x: tf.Tensor) -> tf.Tensor:
    """Orthonormal 2D FFT over the last two axes, no shifts (origin at index 0)."""
    return tf.signal.fft2d(x) * ortho_scale(x)


def ifft2_ortho(k: tf.Tensor) -> tf.Tensor:
    """Inverse of :func:`fft2_ortho`."""
    return tf.signal.ifft2d(k) / ortho_scale(k)


def fft2c_tf(image: tf.Tensor) -> tf.Tensor:
    """Centred orthonormal 2D FFT of a ``complex64`` tensor of shape (..., H, W)."""
    return tf.signal.fftshift(fft2_ortho(tf.signal.ifftshift(image, axes=_AXES)), axes=_AXES)


def ifft2c_tf(kspace: tf.Tensor) -> tf.Tensor:
    """Centred orthonormal 2D inverse FFT of a ``complex64`` tensor of shape (..., H, W)."""
    return tf.signal.fftshift(ifft2_ortho(tf.signal.ifftshift(kspace, axes=_AXES)), axes=_AXES)


class FFT2(LinearOperator):
    """Orthonormal 2D FFT over the last two axes (unitary: adjoint = inverse, normal = I).

    Args:
        shape: (H, W), or ``(None, None)`` for any size.
        centred: True (default) for the centred transform (DC at (H // 2, W // 2));
            False for the plain transform on ``ifftshift``-ed arrays (DC at (0, 0)).

    :Examples:

    >>> import numpy as np
    >>> F = FFT2((4, 6))
    >>> x = np.random.default_rng(0).standard_normal((3, 4, 6))  # a batch of 3
    >>> bool(np.allclose(F.adjoint(F.forward(x)).numpy(), x, atol=1e-5))
    True
    """

    def __init__(self, shape: Sequence = (None, None), centred: bool = True):
        if len(shape) != 2:
            raise ValueError(f"FFT2 acts on the last two axes: shape must be (H, W), got {shape}")
        super().__init__(shape, shape)
        self.centred = bool(centred)

    @property
    def name(self) -> str:
        return "FFT2" if self.centred else "FFT2(uncentred)"

    def apply(self, x):
        return fft2c_tf(x) if self.centred else fft2_ortho(x)

    def apply_adjoint(self, y):
        return ifft2c_tf(y) if self.centred else ifft2_ortho(y)

    def apply_normal(self, x):
        return x

    def key(self):
        return ("FFT2", self.centred)

    def after_fft(self, centred):
        return Identity(self.oshape) if centred == self.centred else None

    def norm_bound(self):
        return 1.0
