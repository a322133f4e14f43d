"""Zero-filled reconstruction: the inverse FFT of the sampled k-space, unsampled points set to 0.

It is the adjoint of the forward model applied to the data, ``x_zf = F^H M y``, and the
baseline every other method is compared against.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from recon_core.checks import as_array, as_mask
from recon_core.ops.fftc import ifft2c

__all__ = ["zero_filled"]


def zero_filled(kspace: ArrayLike, mask: ArrayLike | None = None) -> np.ndarray:
    """Zero-filled reconstruction of (possibly batched) single-coil k-space.

    Args:
        kspace: complex, shape (..., H, W), centred (DC at (H // 2, W // 2)), orthonormal.
        mask: bool (or 0/1), shape (H, W) or broadcastable to (..., H, W); ``None`` uses the
            k-space as it is (already zero where not sampled).

    Returns:
        complex64 image, shape (..., H, W). Take ``np.abs`` for display and metrics.

    :Examples:

    >>> import numpy as np
    >>> from recon_core.ops.fftc import fft2c
    >>> x = np.zeros((8, 8)); x[2:6, 2:6] = 1
    >>> bool(np.allclose(np.abs(zero_filled(fft2c(x), np.ones((8, 8), bool))), x, atol=1e-6))
    True
    """
    k = as_array(kspace, "kspace").astype(np.complex64, copy=False)
    if mask is not None:
        m = as_mask(mask, k.shape)
        k = k * m
    return ifft2c(k)
