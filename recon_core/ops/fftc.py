"""The centred orthonormal 2D FFT on NumPy arrays, without TensorFlow.

The same transform as :class:`recon_core.ops.fft.FFT2` (fastMRI's ``fftc``: origin in the
centre of the array, at index ``(H // 2, W // 2)``, unitary)::

    kspace = fftshift(fft2(ifftshift(image)), norm="ortho")

computed by NumPy's pocketfft in single precision, so that pages and functions that only need
a transform (zero-filled images, PSFs, file loading, coil images) do not import TensorFlow
(several seconds and hundreds of MB on a fresh server). ``tests/ops`` checks it against the
TensorFlow operator.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from recon_core.checks import as_array

__all__ = ["fft2c", "ifft2c"]

_AXES = (-2, -1)


def fft2c(image: ArrayLike) -> np.ndarray:
    """Centred orthonormal 2D FFT (NumPy in, NumPy out; the same transform as :class:`FFT2`).

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
    x = as_array(image, "image", dtype=np.complex64)
    return np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(x, axes=_AXES), norm="ortho"),
                           axes=_AXES).astype(np.complex64, copy=False)


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
    k = as_array(kspace, "kspace", dtype=np.complex64)
    return np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(k, axes=_AXES), norm="ortho"),
                           axes=_AXES).astype(np.complex64, copy=False)
