"""Analysis of k-space sampling masks: acceleration, calibration region, PSF, incoherence.

Conventions
-----------
Masks are boolean (or 0/1) NumPy arrays of shape (H, W), ``True`` where a k-space sample is
acquired, with the DC sample at index ``(H // 2, W // 2)`` (centred k-space, see
:mod:`recon_core.ops.fft`). Any mask works, not only those of
:func:`recon_core.masks.sampling.make_mask`; :func:`achieved_acceleration` also accepts
batched masks of shape (..., H, W).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from recon_core.checks import as_mask

__all__ = [
    "achieved_acceleration",
    "center_lines",
    "center_region",
    "point_spread_function",
    "incoherence",
]


def _as_2d_mask(mask: ArrayLike) -> np.ndarray:
    m = as_mask(mask, np.shape(mask))
    if m.ndim != 2:
        raise ValueError(f"mask must have shape (H, W), got {m.shape}")
    return m


def achieved_acceleration(mask: ArrayLike) -> float:
    """Acceleration actually achieved by a mask: ``mask.size / mask.sum()``.

    Args:
        mask: bool or 0/1 array, shape (..., H, W).

    Returns:
        The acceleration factor as a float (>= 1).

    Raises:
        ValueError: the mask is empty, not 0/1, or holds no samples.

    :Examples:

    >>> import numpy as np
    >>> achieved_acceleration(np.eye(4, dtype=bool))
    4.0
    """
    m = as_mask(mask, np.shape(mask))
    n = int(np.count_nonzero(m))
    if n == 0:
        raise ValueError(f"mask of shape {m.shape} has no samples")
    return m.size / n


def center_lines(mask: ArrayLike) -> int:
    """Number of fully sampled columns in the contiguous block around the centre column.

    A column is fully sampled when it is ``True`` in every row. For 1D masks this is the
    fastMRI centre block (plus any sampled columns that happen to touch it). For 2D kinds
    (``"gaussian"``, ``"poisson"``, ``"radial"``) columns are rarely fully sampled, so the
    result is usually 0; use :func:`center_region` for those.

    Args:
        mask: bool or 0/1 array, shape (H, W), DC at column ``W // 2``.

    Returns:
        The width of the block containing column ``W // 2``, or 0 if that column is not
        fully sampled.

    Raises:
        ValueError: the mask is not a 2D 0/1 array.

    :Examples:

    >>> import numpy as np
    >>> m = np.zeros((4, 8), dtype=bool)
    >>> m[:, 3:6] = True
    >>> center_lines(m)
    3
    """
    m = _as_2d_mask(mask)
    return _run_length(m.all(axis=0), m.shape[1] // 2)


def _run_length(full: np.ndarray, c: int) -> int:
    """Length of the run of ``True`` in 1D ``full`` that contains index ``c`` (0 if none)."""
    if not full[c]:
        return 0
    left = full[: c + 1][::-1]
    right = full[c:]
    n_left = int(np.argmin(left)) if not left.all() else left.size
    n_right = int(np.argmin(right)) if not right.all() else right.size
    return n_left + n_right - 1


def center_region(mask: ArrayLike) -> tuple[int, int]:
    """Size of the largest fully sampled rectangle that contains the k-space centre.

    Searches all-``True`` axis-aligned rectangles that contain index ``(H // 2, W // 2)``
    and returns the one of largest area (the calibration region of a 2D mask, at least
    its ``center_fraction`` rectangle; for a 1D mask it is ``(H, center_lines(mask))``).

    Args:
        mask: bool or 0/1 array, shape (H, W), DC at index ``(H // 2, W // 2)``.

    Returns:
        ``(rows, cols)`` of that rectangle, ``(0, 0)`` if the centre is not sampled.

    Raises:
        ValueError: the mask is not a 2D 0/1 array.

    :Examples:

    >>> import numpy as np
    >>> m = np.zeros((9, 9), dtype=bool)
    >>> m[3:6, 2:7] = True
    >>> center_region(m)
    (3, 5)
    """
    m = _as_2d_mask(mask)
    h, w = m.shape
    cy, cx = h // 2, w // 2
    if not m[cy, cx]:
        return (0, 0)
    # For every column, how far the run of True through row cy reaches up and down.
    up_blocked = ~m[: cy + 1][::-1]  # row 0 is cy, going up
    down_blocked = ~m[cy:]
    up = np.where(up_blocked.any(0), up_blocked.argmax(0), cy + 1)
    down = np.where(down_blocked.any(0), down_blocked.argmax(0), h - cy)
    # Only columns connected to cx along row cy can be in the rectangle.
    width = _run_length(m[cy], cx)
    left_end = cx - (_run_length(m[cy, : cx + 1], cx) - 1)
    right_end = left_end + width - 1
    # Running minima going outwards from cx, on each side.
    l_up = np.minimum.accumulate(up[left_end : cx + 1][::-1])  # index i: columns cx-i .. cx
    l_dn = np.minimum.accumulate(down[left_end : cx + 1][::-1])
    r_up = np.minimum.accumulate(up[cx : right_end + 1])  # index j: columns cx .. cx+j
    r_dn = np.minimum.accumulate(down[cx : right_end + 1])
    heights = (
        np.minimum(l_up[:, None], r_up[None, :]) + np.minimum(l_dn[:, None], r_dn[None, :]) - 1
    )
    widths = np.arange(l_up.size)[:, None] + np.arange(r_up.size)[None, :] + 1
    area = heights * widths
    i, j = np.unravel_index(int(np.argmax(area)), area.shape)
    return (int(heights[i, j]), int(widths[i, j]))


def point_spread_function(mask: ArrayLike) -> np.ndarray:
    """Magnitude of the point spread function of a sampling mask, peak normalised to 1.

    ``|fftshift(ifft2(ifftshift(mask), norm="ortho"))|`` divided by its value at the
    centre, which is its maximum because the mask is non-negative.

    Args:
        mask: bool or 0/1 array, shape (H, W), DC at index ``(H // 2, W // 2)``.

    Returns:
        psf: float32, shape (H, W), image-domain origin at ``(H // 2, W // 2)`` where
        ``psf == 1``; values in [0, 1].

    Raises:
        ValueError: the mask is not a 2D 0/1 array, or it has no samples.

    :Examples:

    >>> import numpy as np
    >>> psf = point_spread_function(np.ones((4, 6), dtype=bool))
    >>> psf.dtype, float(psf[2, 3]), float(psf.sum())
    (dtype('float32'), 1.0, 1.0)
    """
    m = _as_2d_mask(mask)
    if not m.any():
        raise ValueError(f"mask of shape {m.shape} has no samples")
    spectrum = np.fft.ifft2(np.fft.ifftshift(m.astype(np.float64)), norm="ortho")
    psf = np.abs(np.fft.fftshift(spectrum))
    h, w = m.shape
    return (psf / psf[h // 2, w // 2]).astype(np.float32)


def incoherence(mask: ArrayLike) -> float:
    """Peak side-lobe to main-lobe ratio of the mask's point spread function.

    The largest normalised PSF value away from the central pixel ``(H // 2, W // 2)``:
    0 for a fully sampled mask, close to 1 for regular (coherent) undersampling such as
    ``"equispaced"``, and small for incoherent random 2D patterns.

    Args:
        mask: bool or 0/1 array, shape (H, W), DC at index ``(H // 2, W // 2)``.

    Returns:
        The ratio as a float in [0, 1].

    Raises:
        ValueError: the mask is not a 2D 0/1 array, or it has no samples.

    :Examples:

    >>> import numpy as np
    >>> incoherence(np.ones((8, 8), dtype=bool))
    0.0
    >>> m = np.zeros((8, 8), dtype=bool)
    >>> m[:, ::2] = True  # every other column: a full-strength alias
    >>> round(incoherence(m), 3)
    1.0
    """
    m = _as_2d_mask(mask)
    if m.all():
        return 0.0
    psf = point_spread_function(m).astype(np.float64)
    h, w = psf.shape
    psf[h // 2, w // 2] = 0.0
    return float(psf.max())
