"""Analysis of k-space sampling masks: acceleration, calibration region, PSF, incoherence.

The calibration region (the fully sampled block around DC) is found here once, in two senses:
:func:`calibration_slices` (largest fully sampled rectangle *containing* DC: GRAPPA, and
:func:`center_region`) and :func:`centred_calibration_block` (largest one *centred* on DC,
optionally capped per side: coil sensitivity maps, ratio method and ESPIRiT).

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

from recon_core.checks import as_mask, check_int

__all__ = [
    "achieved_acceleration",
    "is_line_mask",
    "regular_lines",
    "center_lines",
    "center_region",
    "calibration_slices",
    "centred_calibration_block",
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


def calibration_slices(mask: ArrayLike) -> tuple[slice, slice]:
    """The largest fully sampled rectangle of a mask that contains DC, as slices.

    Searches all axis-aligned all-``True`` rectangles that contain index ``(H // 2, W // 2)``
    and returns the one of largest area. The rectangle need not be *centred* on DC, only
    contain it (GRAPPA's calibration region, and the region :func:`center_region` reports);
    for the block ``fft2c``-centred on DC that sensitivity maps use, see
    :func:`centred_calibration_block`. Column masks give a full-height block of the centre
    columns, 2D masks their centre rectangle (plus any samples that happen to extend it).
    Among rectangles of equal area, the one with the fewest columns left of DC wins, then the
    fewest right of it.

    Args:
        mask: bool or 0/1 array, shape (H, W), DC at index ``(H // 2, W // 2)``.

    Returns:
        ``(rows, cols)``: slices with ``mask[rows, cols].all()``; ``(slice(0, 0), slice(0, 0))``
        when DC itself is not sampled.

    Raises:
        ValueError: the mask is not a 2D 0/1 array.

    :Examples:

    >>> import numpy as np
    >>> m = np.zeros((16, 32), bool); m[:, ::3] = True; m[:, 12:20] = True
    >>> calibration_slices(m)
    (slice(0, 16, None), slice(12, 20, None))
    >>> m = np.zeros((9, 9), bool); m[2:5, 3:8] = True  # holds DC (4, 4), not centred on it
    >>> calibration_slices(m)
    (slice(2, 5, None), slice(3, 8, None))
    """
    m = _as_2d_mask(mask)
    h, w = m.shape
    cy, cx = h // 2, w // 2
    if not m[cy, cx]:
        return slice(0, 0), slice(0, 0)
    # Only columns connected to cx along row cy can be in the rectangle: lo .. hi.
    lo = cx - (_run_length(m[cy, : cx + 1], cx) - 1)
    hi = lo + _run_length(m[cy], cx) - 1
    # For each of those columns, how far the run of True through row cy reaches up and down.
    col = m[:, lo : hi + 1]
    up_blocked = ~col[: cy + 1][::-1]  # row 0 is cy, going up
    down_blocked = ~col[cy:]
    up = np.where(up_blocked.any(0), up_blocked.argmax(0), cy + 1)  # rows cy-up+1 .. cy
    down = np.where(down_blocked.any(0), down_blocked.argmax(0), h - cy)  # rows cy .. cy+down-1
    i0 = cx - lo
    # Running minima outwards from cx: index i covers columns cx-i .. cx (left), j cx .. cx+j.
    l_up = np.minimum.accumulate(up[: i0 + 1][::-1])
    l_dn = np.minimum.accumulate(down[: i0 + 1][::-1])
    r_up = np.minimum.accumulate(up[i0:])
    r_dn = np.minimum.accumulate(down[i0:])
    ups = np.minimum(l_up[:, None], r_up[None, :])
    dns = np.minimum(l_dn[:, None], r_dn[None, :])
    widths = np.arange(l_up.size)[:, None] + np.arange(r_up.size)[None, :] + 1
    area = (ups + dns - 1) * widths
    i, j = np.unravel_index(int(np.argmax(area)), area.shape)
    return (slice(int(cy - ups[i, j] + 1), int(cy + dns[i, j])),
            slice(int(cx - i), int(cx + j + 1)))


def center_region(mask: ArrayLike) -> tuple[int, int]:
    """Size of the largest fully sampled rectangle that contains the k-space centre.

    The size of :func:`calibration_slices`: the rectangle contains index ``(H // 2, W // 2)``
    but need not be centred on it (the calibration region of a 2D mask, at least its
    ``center_fraction`` rectangle; for a 1D mask it is ``(H, center_lines(mask))``).

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
    rows, cols = calibration_slices(mask)
    return (rows.stop - rows.start, cols.stop - cols.start)


def _centred_width(flags: np.ndarray) -> int:
    """Largest t with ``flags[n // 2 - t // 2 : n // 2 - t // 2 + t]`` all True (0 if none)."""
    c = flags.shape[0] // 2
    left = _run_length(flags[: c + 1], c) - 1 if flags[c] else 0  # True run left of c
    right = _run_length(flags[c:], 0)  # counts c itself
    if right == 0:
        return 0
    # t covers t // 2 samples left of c and t - t // 2 from c on
    return max(2 * min(left, right), 2 * min(left, right - 1) + 1)


def centred_calibration_block(mask: ArrayLike, max_size: int | None = None) -> tuple[int, int]:
    """Size (h, w) of the largest fully sampled rectangle *centred* on DC of a sampling mask.

    The block is ``mask[H//2 - h//2 : H//2 - h//2 + h, W//2 - w//2 : W//2 - w//2 + w]``, the
    centring of ``fft2c`` (one more sample left of DC than right for even sizes), which is how
    coil sensitivity maps cut it out (:func:`recon_core.coils.estimate_sens_maps`,
    :func:`recon_core.espirit.espirit_maps`). Any centred rectangle counts: full-height column
    blocks (line masks), full-width row blocks, squares and h x w blocks of 2D masks. Without
    ``max_size`` the block of largest area is chosen; with it, the block maximising
    ``min(h, max_size) * min(w, max_size)`` (the most data a capped block can hold), and each
    side is then capped at ``max_size``. Ties go to the fewest rows. The block never
    has more area than :func:`calibration_slices`' rectangle, and has less when that is
    off-centre.

    Args:
        mask: bool or 0/1 array, shape (H, W), DC at index ``(H // 2, W // 2)``.
        max_size: cap on each side (an int >= 1), or None for none.

    Returns:
        (h, w); (0, 0) when DC itself is not sampled.

    Raises:
        ValueError: the mask is not a 2D 0/1 array, or ``max_size`` is not an int >= 1.

    :Examples:

    >>> import numpy as np
    >>> m = np.zeros((128, 96), bool); m[:, 36:60] = True; m[:, 1::4] = True
    >>> centred_calibration_block(m), centred_calibration_block(m, max_size=48)
    ((128, 24), (48, 24))
    >>> m = np.zeros((64, 64), bool); m[16:48, 20:44] = True  # a 32 x 24 rectangle
    >>> centred_calibration_block(m), centred_calibration_block(m, max_size=16)
    ((32, 24), (16, 16))
    >>> m = np.zeros((9, 9), bool); m[2:5, 3:8] = True  # holds DC (4, 4), not centred on it
    >>> centred_calibration_block(m), center_region(m)
    ((2, 3), (3, 5))
    """
    m = _as_2d_mask(mask)
    cap = None if max_size is None else check_int(max_size, "max_size")
    h, w = m.shape
    c = h // 2
    best, best_score = (0, 0), 0
    cols = np.ones(w, bool)  # columns fully sampled over the current rows
    for t in range(1, h + 1):
        lo = c - t // 2  # rows lo .. lo + t - 1: each t's rows contain the previous t's
        if lo < 0 or lo + t > h:
            break
        cols &= m[lo] & m[lo + t - 1]
        width = _centred_width(cols)
        if width == 0:
            break
        score = t * width if cap is None else min(t, cap) * min(width, cap)
        if score > best_score:
            best, best_score = (t, width), score
    if cap is not None:
        best = (min(best[0], cap), min(best[1], cap))
    return best


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


def is_line_mask(mask: np.ndarray) -> bool:
    """True for a Cartesian line mask (every row alike, or every column alike).

    >>> import numpy as np
    >>> m = np.zeros((4, 6), bool); m[:, ::2] = True
    >>> is_line_mask(m), is_line_mask(np.eye(4, dtype=bool))
    (True, False)
    """
    return line_axis(mask) is not None


def line_axis(mask: np.ndarray) -> int | None:
    """The axis a Cartesian line mask undersamples: -1 when it samples whole columns (every
    row alike: it aliases along x), -2 when it samples whole rows (along y); None for a 2-D
    pattern. A fully sampled mask counts as columns (-1).

    Its point spread function is then zero off the line through the centre along that axis
    (the mask is separable: a function of one coordinate times a constant).

    >>> import numpy as np
    >>> m = np.zeros((4, 6), bool); m[:, ::2] = True
    >>> line_axis(m), line_axis(m.T), line_axis(np.eye(4, dtype=bool))
    (-1, -2, None)
    """
    m = np.asarray(mask, bool)
    if m.ndim != 2:
        raise ValueError(f"mask must be 2-D (H, W), got shape {m.shape}")
    if (m == m[:1]).all():
        return -1
    if (m == m[:, :1]).all():
        return -2
    return None


def regular_lines(mask: np.ndarray) -> tuple[int, int] | None:
    """``(axis, R)`` when a line mask samples every R-th line outside its calibration block
    (R >= 2 dividing the size along the undersampled axis; axis -1: columns, -2: rows), the
    case of the analytic SENSE g-factor; None otherwise. The calibration block
    (:func:`calibration_slices`) may hold any lines.

    >>> import numpy as np
    >>> m = np.zeros((8, 16), bool); m[:, 1::4] = True; m[:, 7:10] = True
    >>> regular_lines(m), regular_lines(m.T)
    ((-1, 4), (-2, 4))
    >>> m[:, 14] = True; print(regular_lines(m))
    None
    """
    m = np.asarray(mask, bool)
    rows, cols = calibration_slices(m)
    for axis, alike, line, block in ((-1, (m == m[:1]).all(), m[0], cols),
                                     (-2, (m == m[:, :1]).all(), m[:, 0], rows)):
        idx = np.flatnonzero(line)
        outer = idx[(idx < block.start) | (idx >= block.stop)]
        if not alike or outer.size < 2:
            continue
        r, n = int(np.diff(outer).min()), line.size
        grid = np.arange(outer[0] % r, n, r)
        grid = grid[(grid < block.start) | (grid >= block.stop)]
        if r >= 2 and n % r == 0 and np.array_equal(grid, outer):
            return axis, r
    return None
