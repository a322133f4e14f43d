"""Centred, orthonormal 2D Fourier transforms and the MRI forward operators built on them.

Conventions (fastMRI's ``fftc``): the image and k-space both have their origin in the
centre of the array, at index ``(H // 2, W // 2)``, and the transform is unitary::

    kspace = fftshift(fft2(ifftshift(image)), norm="ortho")

All transforms act on the last two axes; any leading axes are treated as a batch.
The NumPy functions (``fft2c``, ``forward_op``, ...) are the public boundary and return
``complex64`` arrays; the ``*_tf`` variants take and return ``tf.Tensor`` and are what the
solvers and networks use inside ``tf.function``.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
from numpy.typing import ArrayLike

from recon_core.checks import as_array, as_mask

__all__ = [
    "fft2c",
    "ifft2c",
    "fft2c_tf",
    "ifft2c_tf",
    "forward_op",
    "adjoint_op",
    "sense_forward",
    "sense_adjoint",
]

_AXES = (-2, -1)


def _norm(x: tf.Tensor) -> tf.Tensor:
    shape = tf.shape(x)
    n = tf.cast(shape[-2] * shape[-1], tf.float32)
    return tf.cast(tf.math.rsqrt(n), tf.complex64)


def fft2c_tf(image: tf.Tensor) -> tf.Tensor:
    """Centred orthonormal 2D FFT of a ``complex64`` tensor of shape (..., H, W)."""
    x = tf.signal.ifftshift(image, axes=_AXES)
    k = tf.signal.fft2d(x) * _norm(x)
    return tf.signal.fftshift(k, axes=_AXES)


def ifft2c_tf(kspace: tf.Tensor) -> tf.Tensor:
    """Centred orthonormal 2D inverse FFT of a ``complex64`` tensor of shape (..., H, W)."""
    k = tf.signal.ifftshift(kspace, axes=_AXES)
    x = tf.signal.ifft2d(k) / _norm(k)
    return tf.signal.fftshift(x, axes=_AXES)


def _to_complex(x: ArrayLike, name: str) -> np.ndarray:
    return as_array(x, name, min_ndim=2).astype(np.complex64, copy=False)


def fft2c(image: ArrayLike) -> np.ndarray:
    """Centred orthonormal 2D FFT.

    Args:
        image: real or complex array, shape (..., H, W), origin at (H // 2, W // 2).

    Returns:
        kspace: complex64, shape (..., H, W), DC at index (H // 2, W // 2), ortho-normalised,
        so that ``np.linalg.norm(kspace) == np.linalg.norm(image)``.

    Raises:
        ValueError: fewer than two axes, empty input or NaN/Inf values.

    :Examples:

    >>> import numpy as np
    >>> k = fft2c(np.ones((4, 4)))
    >>> float(abs(k[2, 2]))  # all energy at DC: sqrt(16)
    4.0
    """
    x = _to_complex(image, "image")
    return fft2c_tf(tf.constant(x)).numpy()


def ifft2c(kspace: ArrayLike) -> np.ndarray:
    """Centred orthonormal 2D inverse FFT, the exact inverse (and adjoint) of :func:`fft2c`.

    Args:
        kspace: complex array, shape (..., H, W), DC at index (H // 2, W // 2).

    Returns:
        image: complex64, shape (..., H, W).

    :Examples:

    >>> import numpy as np
    >>> x = np.arange(6.0).reshape(2, 3)
    >>> bool(np.allclose(ifft2c(fft2c(x)), x, atol=1e-5))
    True
    """
    k = _to_complex(kspace, "kspace")
    return ifft2c_tf(tf.constant(k)).numpy()


def forward_op(image: ArrayLike, mask: ArrayLike) -> np.ndarray:
    """Single-coil undersampled forward operator ``y = M F x``.

    Args:
        image: complex or real, shape (..., H, W).
        mask: bool (or 0/1), shape (H, W) or broadcastable to (..., H, W); True = sampled.

    Returns:
        kspace: complex64, shape (..., H, W), zero where ``mask`` is False.
    """
    x = _to_complex(image, "image")
    m = as_mask(mask, x.shape)
    return (fft2c(x) * m).astype(np.complex64)


def adjoint_op(kspace: ArrayLike, mask: ArrayLike) -> np.ndarray:
    """Adjoint of :func:`forward_op`: ``x = F^H M y`` (the zero-filled image, complex).

    Args:
        kspace: complex, shape (..., H, W).
        mask: bool (or 0/1), shape (H, W) or broadcastable to (..., H, W).

    Returns:
        image: complex64, shape (..., H, W).
    """
    k = _to_complex(kspace, "kspace")
    m = as_mask(mask, k.shape)
    return ifft2c(k * m)


def _check_sens(sens: np.ndarray, image_shape: tuple[int, ...]) -> None:
    if sens.ndim < 3:
        raise ValueError(f"sensitivity maps must have shape (..., C, H, W), got {sens.shape}")
    if sens.shape[-2:] != tuple(image_shape[-2:]):
        raise ValueError(
            f"sensitivity maps {sens.shape} do not match image size {tuple(image_shape[-2:])}"
        )


def sense_forward(image: ArrayLike, sens: ArrayLike, mask: ArrayLike) -> np.ndarray:
    """Multi-coil (SENSE) forward operator ``y_c = M F (S_c x)``.

    Args:
        image: complex, shape (..., H, W).
        sens: complex coil sensitivity maps, shape (..., C, H, W).
        mask: bool, shape (H, W) or broadcastable to (..., C, H, W).

    Returns:
        kspace: complex64, shape (..., C, H, W).
    """
    x = _to_complex(image, "image")
    s = _to_complex(sens, "sens")
    _check_sens(s, x.shape)
    coil_images = s * x[..., None, :, :]
    m = as_mask(mask, coil_images.shape)
    return (fft2c(coil_images) * m).astype(np.complex64)


def sense_adjoint(kspace: ArrayLike, sens: ArrayLike, mask: ArrayLike) -> np.ndarray:
    """Adjoint of :func:`sense_forward`: ``x = sum_c conj(S_c) F^H M y_c``.

    Args:
        kspace: complex, shape (..., C, H, W).
        sens: complex coil sensitivity maps, shape (..., C, H, W).
        mask: bool, shape (H, W) or broadcastable to (..., C, H, W).

    Returns:
        image: complex64, shape (..., H, W).
    """
    k = _to_complex(kspace, "kspace")
    s = _to_complex(sens, "sens")
    _check_sens(s, k.shape)
    if s.shape[-3] != k.shape[-3]:
        raise ValueError(f"k-space has {k.shape[-3]} coils but sens has {s.shape[-3]}")
    m = as_mask(mask, k.shape)
    return np.sum(np.conj(s) * ifft2c(k * m), axis=-3).astype(np.complex64)
