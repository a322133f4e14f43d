"""Image-quality metrics with the fastMRI conventions.

All metrics compare *magnitudes*: complex inputs are converted with ``abs`` first. The data
range is the maximum of the reference magnitude (fastMRI's ``evaluate.py``), and PSNR/SSIM are
scikit-image's implementations (SSIM: 7x7 uniform window, scikit-image defaults).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from recon_core.checks import as_array

__all__ = ["psnr", "ssim", "nmse", "all_metrics"]


def _pair(reference: ArrayLike, image: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    ref = np.abs(as_array(reference, "reference")).astype(np.float64)
    img = np.abs(as_array(image, "image")).astype(np.float64)
    if ref.shape != img.shape:
        raise ValueError(f"image {img.shape} does not match reference {ref.shape}")
    if ref.max() <= 0:
        raise ValueError("reference is all zeros: data range (reference max) must be > 0")
    return ref, img


def psnr(reference: ArrayLike, image: ArrayLike) -> float:
    """Peak signal-to-noise ratio in dB between magnitudes, data range = ``max |reference|``.

    Args:
        reference: ground truth, real or complex, shape (..., H, W).
        image: reconstruction, same shape.

    :Examples:

    >>> import numpy as np
    >>> ref = np.zeros((8, 8)); ref[2:6, 2:6] = 1.0
    >>> round(psnr(ref, ref + 0.01), 2)
    40.0
    """
    ref, img = _pair(reference, image)
    if np.array_equal(ref, img):
        return float("inf")
    return float(peak_signal_noise_ratio(ref, img, data_range=ref.max()))


def ssim(reference: ArrayLike, image: ArrayLike) -> float:
    """Structural similarity between magnitudes (scikit-image), data range = ``max |reference|``.

    Inputs of shape (H, W) or a stack (N, H, W); a stack gives the mean over slices, as
    fastMRI does for volumes. Both sides must be at least 7 pixels.

    :Examples:

    >>> import numpy as np
    >>> ref = np.zeros((16, 16)); ref[4:12, 4:12] = 1.0
    >>> ssim(ref, ref)
    1.0
    """
    ref, img = _pair(reference, image)
    if min(ref.shape[-2:]) < 7:
        raise ValueError(f"SSIM needs images of at least 7x7 pixels, got {ref.shape[-2:]}")
    data_range = ref.max()
    ref2 = ref.reshape((-1,) + ref.shape[-2:])
    img2 = img.reshape((-1,) + img.shape[-2:])
    vals = [structural_similarity(r, i, data_range=data_range) for r, i in zip(ref2, img2)]
    return float(np.mean(vals))


def nmse(reference: ArrayLike, image: ArrayLike) -> float:
    """Normalised mean squared error ``||ref - img||^2 / ||ref||^2`` on magnitudes.

    :Examples:

    >>> import numpy as np
    >>> nmse(np.ones((4, 4)), np.zeros((4, 4)))
    1.0
    """
    ref, img = _pair(reference, image)
    return float(np.sum((ref - img) ** 2) / np.sum(ref**2))


def all_metrics(reference: ArrayLike, image: ArrayLike) -> dict[str, float]:
    """PSNR (dB), SSIM and NMSE in one dictionary: ``{"psnr": ..., "ssim": ..., "nmse": ...}``."""
    return {"psnr": psnr(reference, image), "ssim": ssim(reference, image), "nmse": nmse(reference, image)}
