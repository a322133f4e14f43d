"""K-space sampling masks: fastMRI-style Cartesian line masks and 2D variable-density patterns.

Conventions
-----------
Every mask is a boolean NumPy array of shape (H, W), ``True`` where a k-space sample is
acquired. k-space is centred (fastMRI's ``fftc`` convention, see :mod:`recon_core.fourier`):
the DC sample sits at index ``(H // 2, W // 2)``, and every kind of mask samples it.

1D (Cartesian) kinds follow ``fastmri/data/subsample.py``: the mask selects *columns*
(the last axis, W, the phase-encode direction of fastMRI knee data), and a selected column is
sampled in every row, so ``mask[:, j]`` is constant. Each 1D mask holds a fully sampled
block of ``num_low = round(W * center_fraction)`` low-frequency columns starting at
``pad = (W - num_low + 1) // 2``; that block always contains column ``W // 2``.

- ``"random"`` (fastMRI ``RandomMaskFunc``): outside the centre block each column is kept
  independently with probability ``(W / accel - num_low) / (W - num_low)``, so the
  *expected* sampling rate is exactly ``1 / accel``.
- ``"equispaced"`` (fastMRI ``EquispacedMaskFractionFunc``): columns every
  ``adjusted_accel`` lines from a random offset, with ``adjusted_accel`` chosen so that the
  centre block plus the regular lines give a rate of ``1 / accel`` up to rounding.

2D kinds sample individual k-space points (as for 3D Cartesian acquisitions, where both
phase-encode axes are undersampled), with a fully sampled centred rectangle of
``round(H * center_fraction)`` rows by ``round(W * center_fraction)`` columns:

- ``"gaussian"``: exactly ``round(H * W / accel)`` points; those outside the centre
  rectangle are drawn without replacement with probability proportional to a 2D Gaussian
  of standard deviation ``0.25 * H`` rows and ``0.25 * W`` columns.
- ``"poisson"``: variable-density Poisson-disc sampling; the minimum distance between two
  samples grows linearly with the distance from the centre, and its scale is calibrated so
  that the achieved acceleration is within 1 % of ``accel`` (grids of 64 x 64 and more).
- ``"radial"``: straight spokes through the centre at angles uniformly spaced over pi
  (``k * pi / n_spokes``, starting on the W axis, not golden angle), rasterised onto the
  grid; ``n_spokes`` is chosen so the achieved acceleration is as close as possible to
  ``accel``. Radial masks use no random numbers.

Randomness comes only from ``np.random.default_rng(seed)``: the same seed gives the same
mask, and the global ``np.random`` state is never read or changed.

Default centre fraction: ``0.32 / accel`` (0.08 at 4x and 0.04 at 8x, as in fastMRI).
"""

from __future__ import annotations

import math
import numbers
from typing import Optional, Union

import numpy as np
from numpy.typing import ArrayLike

from recon_core.checks import as_mask, check_int, check_positive

__all__ = [
    "MASK_KINDS",
    "make_mask",
    "default_center_fraction",
    "achieved_acceleration",
    "center_lines",
    "center_region",
    "point_spread_function",
    "incoherence",
]

#: Names accepted by :func:`make_mask`'s ``kind`` argument.
MASK_KINDS: tuple[str, ...] = ("random", "equispaced", "gaussian", "poisson", "radial")

_1D_KINDS = ("random", "equispaced")

#: Standard deviation of the ``"gaussian"`` density, as a fraction of each axis length.
GAUSSIAN_SIGMA_FRACTION = 0.25

#: Growth of the Poisson-disc radius: ``r = scale * (1 + POISSON_ALPHA * rho)``, where
#: ``rho`` is the distance from the centre normalised so that the edge midpoints are at 1.
POISSON_ALPHA = 2.0

_POISSON_RTOL = 0.01  # calibration tolerance on the number of samples
_POISSON_MAX_PASSES = 24

Seed = Union[int, np.random.Generator, None]


# ----------------------------------------------------------------------------- checks


def _check_shape(shape) -> tuple[int, int]:
    try:
        dims = tuple(shape)
    except TypeError:
        raise ValueError(f"shape must be a tuple (..., H, W), got {shape!r}") from None
    if len(dims) < 2:
        raise ValueError(f"shape must have at least two entries (..., H, W), got {shape!r}")
    h = check_int(dims[-2], "shape H", minimum=2)
    w = check_int(dims[-1], "shape W", minimum=2)
    return h, w


def _check_accel(accel: float) -> float:
    a = check_positive(accel, "accel")
    if a < 1:
        raise ValueError(f"accel must be >= 1, got {accel!r}")
    return a


def _check_kind(kind: str) -> str:
    if not isinstance(kind, str) or kind.lower() not in MASK_KINDS:
        raise ValueError(f"unknown mask kind {kind!r}; valid kinds are {', '.join(MASK_KINDS)}")
    return kind.lower()


def _rng(seed: Seed) -> np.random.Generator:
    if seed is None or isinstance(seed, np.random.Generator):
        return np.random.default_rng(seed)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, a Generator or None, got {seed!r}")
    return np.random.default_rng(int(seed))


def default_center_fraction(accel: float) -> float:
    """Default fraction of each axis that is fully sampled around the k-space centre.

    ``0.32 / accel``: 0.08 at 4x and 0.04 at 8x (the fastMRI challenge values), 0.16 at 2x.

    Args:
        accel: acceleration factor, a real number >= 1.

    Returns:
        The centre fraction, a float in (0, 0.32].

    Raises:
        ValueError: ``accel`` is not a finite real number >= 1.

    :Examples:

    >>> default_center_fraction(4), default_center_fraction(8)
    (0.08, 0.04)
    """
    return 0.32 / _check_accel(accel)


def _check_center_fraction(center_fraction, accel: float, kind: str) -> float:
    if center_fraction is None:
        return 0.32 / accel
    cf = check_positive(center_fraction, "center_fraction")
    if cf > 1:
        raise ValueError(f"center_fraction must be in (0, 1], got {center_fraction!r}")
    # A 1D block of cf * W columns costs a rate of cf; a 2D rectangle costs cf ** 2.
    limit = 1 / accel if kind in _1D_KINDS else 1 / math.sqrt(accel)
    if cf > limit + 1e-12:
        bound = "1/accel" if kind in _1D_KINDS else "1/sqrt(accel)"
        raise ValueError(
            f"center_fraction {center_fraction!r} exceeds {bound} = {limit:.4g} for "
            f"kind {kind!r} at accel {accel:g}: the centre alone would be sampled more densely "
            "than the target rate"
        )
    return cf


# ----------------------------------------------------------------------------- helpers


def _center_block(n: int, num_low: int) -> slice:
    """fastMRI's centre block: ``num_low`` indices from ``(n - num_low + 1) // 2``; holds n // 2."""
    pad = (n - num_low + 1) // 2
    return slice(pad, pad + num_low)


def _num_low(n: int, cf: float, max_count: float) -> int:
    """``round(n * cf)`` clipped to ``[1, floor(max_count)]`` (and at least 1)."""
    return int(max(1, min(round(n * cf), math.floor(max_count + 1e-9))))


def _center_rect(h: int, w: int, cf: float) -> np.ndarray:
    """Boolean (H, W) mask of the fully sampled centred rectangle for the 2D kinds."""
    mask = np.zeros((h, w), dtype=bool)
    ch = int(min(h, max(1, round(h * cf))))
    cw = int(min(w, max(1, round(w * cf))))
    mask[_center_block(h, ch), _center_block(w, cw)] = True
    return mask


# ----------------------------------------------------------------------------- 1D kinds


def _random_columns(w: int, accel: float, cf: float, rng: np.random.Generator) -> np.ndarray:
    num_low = _num_low(w, cf, w / accel)
    prob = (w / accel - num_low) / (w - num_low)
    cols = rng.uniform(size=w) < prob
    cols[_center_block(w, num_low)] = True
    return cols


def _equispaced_columns(w: int, accel: float, cf: float, rng: np.random.Generator) -> np.ndarray:
    num_low = _num_low(w, cf, w / accel)
    cols = np.zeros(w, dtype=bool)
    cols[_center_block(w, num_low)] = True
    if num_low * accel < w:  # otherwise the centre block alone already meets the rate
        adjusted_accel = (accel * (num_low - w)) / (num_low * accel - w)
        offset = rng.integers(0, round(adjusted_accel))
        samples = np.around(np.arange(offset, w - 1, adjusted_accel)).astype(int)
        cols[samples] = True
    return cols


# ----------------------------------------------------------------------------- 2D kinds


def _n_target(h: int, w: int, accel: float, centre: np.ndarray) -> int:
    return int(max(round(h * w / accel), np.count_nonzero(centre)))


def _gaussian(h: int, w: int, accel: float, cf: float, rng: np.random.Generator) -> np.ndarray:
    mask = _center_rect(h, w, cf)
    n_draw = _n_target(h, w, accel, mask) - np.count_nonzero(mask)
    y = (np.arange(h) - h // 2) / (GAUSSIAN_SIGMA_FRACTION * h)
    x = (np.arange(w) - w // 2) / (GAUSSIAN_SIGMA_FRACTION * w)
    log_w = -0.5 * (y[:, None] ** 2 + x[None, :] ** 2)
    # Efraimidis-Spirakis: the n smallest Exp(1) / weight keys are a weighted sample of n
    # items drawn without replacement with probability proportional to the weights.
    keys = (rng.exponential(size=(h, w)) * np.exp(-log_w)).ravel()
    keys[mask.ravel()] = np.inf
    if n_draw > 0:
        chosen = np.argpartition(keys, n_draw - 1)[:n_draw]
        mask.ravel()[chosen] = True
    return mask


def _disc(key: int, cache: dict) -> np.ndarray:
    """Boolean (2R+1, 2R+1) stamp of offsets closer than r = key / 8 pixels (holds the centre)."""
    stamp = cache.get(key)
    if stamp is None:
        r = key / 8.0
        big = int(math.ceil(r))
        d = np.arange(-big, big + 1)
        stamp = (d[:, None] ** 2 + d[None, :] ** 2) < r * r
        stamp[big, big] = True
        cache[key] = stamp
    return stamp


def _poisson_pass(
    scale: float,
    rho: np.ndarray,
    order_y: list,
    order_x: list,
    centre_y: np.ndarray,
    centre_x: np.ndarray,
    cache: dict,
) -> np.ndarray:
    """One dart-throwing pass: accept, in the given order, grid points no earlier sample blocks.

    Each accepted point blocks every grid point closer than its own radius
    ``scale * (1 + POISSON_ALPHA * rho)``; the check for a candidate is one lookup in the
    (padded) occupancy grid ``blocked``.
    """
    h, w = rho.shape
    keys = np.maximum(np.rint(8 * scale * (1 + POISSON_ALPHA * rho)), 1).astype(np.int64)
    pad = int(math.ceil(keys.max() / 8.0)) + 1
    blocked = np.zeros((h + 2 * pad, w + 2 * pad), dtype=bool)
    sampled = np.zeros((h, w), dtype=bool)
    keys_l = keys.tolist()

    def accept(y: int, x: int) -> None:
        stamp = _disc(keys_l[y][x], cache)
        big = stamp.shape[0] // 2
        blocked[y + pad - big : y + pad + big + 1, x + pad - big : x + pad + big + 1] |= stamp
        sampled[y, x] = True

    for y, x in zip(centre_y.tolist(), centre_x.tolist()):
        accept(y, x)
    for y, x in zip(order_y, order_x):
        if not blocked[y + pad, x + pad]:
            accept(y, x)
    return sampled


def _poisson(h: int, w: int, accel: float, cf: float, rng: np.random.Generator) -> np.ndarray:
    centre = _center_rect(h, w, cf)
    n_target = _n_target(h, w, accel, centre)
    if n_target == np.count_nonzero(centre):
        return centre
    yy = (np.arange(h) - h // 2) / (h / 2)
    xx = (np.arange(w) - w // 2) / (w / 2)
    rho = np.sqrt(yy[:, None] ** 2 + xx[None, :] ** 2)
    perm = rng.permutation(h * w)
    perm = perm[~centre.ravel()[perm]]
    order_y, order_x = (a.tolist() for a in np.divmod(perm, w))
    centre_y, centre_x = np.nonzero(centre)
    cache: dict = {}

    # Random sequential packing keeps about 0.62 / r**2 points per unit area; start there.
    n_free = n_target - centre_y.size
    scale = math.sqrt(0.62 * float(np.sum(1.0 / (1 + POISSON_ALPHA * rho[~centre]) ** 2)) / n_free)
    lo, hi = 0.0, math.inf  # bracket: too many samples at scale lo, too few at scale hi
    best, best_err = centre, math.inf
    for _ in range(_POISSON_MAX_PASSES):
        mask = _poisson_pass(scale, rho, order_y, order_x, centre_y, centre_x, cache)
        n = int(np.count_nonzero(mask))
        err = abs(n - n_target)
        if err < best_err:
            best, best_err = mask, err
        if err <= _POISSON_RTOL * n_target:
            break
        if n > n_target:
            lo = max(lo, scale)  # too many samples: the radius must grow
        else:
            hi = min(hi, scale)
        # The count falls roughly as 1 / scale**2 for the points outside the centre.
        guess = scale * math.sqrt(max(n - centre_y.size, 1) / n_free)
        if not lo < guess < hi:  # fall back to (geometric) bisection of the bracket
            guess = 2 * lo if math.isinf(hi) else (hi / 2 if lo == 0 else math.sqrt(lo * hi))
        scale = guess
    return best


def _radial_spokes(h: int, w: int, n_spokes: int) -> np.ndarray:
    """Rasterise ``n_spokes`` full lines through (H//2, W//2) at angles k * pi / n_spokes."""
    mask = np.zeros((h, w), dtype=bool)
    half = math.hypot(h, w) / 2 + 1
    steps = math.ceil(2 * half)
    t = np.arange(-steps, steps + 1) / 2.0  # half-pixel steps along the spoke, t = 0 included
    theta = np.arange(n_spokes) * (math.pi / n_spokes)
    ys = np.rint(h // 2 + np.sin(theta)[:, None] * t[None, :]).astype(np.int64).ravel()
    xs = np.rint(w // 2 + np.cos(theta)[:, None] * t[None, :]).astype(np.int64).ravel()
    inside = (ys >= 0) & (ys < h) & (xs >= 0) & (xs < w)
    mask[ys[inside], xs[inside]] = True
    return mask


def _radial(h: int, w: int, accel: float, center_fraction: Optional[float]) -> np.ndarray:
    centre = (
        _center_rect(h, w, center_fraction)
        if center_fraction is not None
        else np.zeros((h, w), dtype=bool)
    )
    target = h * w / accel

    def build(n: int) -> np.ndarray:
        return _radial_spokes(h, w, n) | centre

    # Bisection for the smallest spoke count reaching the target, then the closer neighbour.
    lo, hi = 1, 4 * (h + w)
    if np.count_nonzero(build(hi)) < target:
        return build(hi)
    while lo < hi:
        mid = (lo + hi) // 2
        if np.count_nonzero(build(mid)) >= target:
            hi = mid
        else:
            lo = mid + 1
    candidates = [build(n) for n in (lo - 1, lo, lo + 1) if n >= 1]
    return min(candidates, key=lambda m: abs(np.count_nonzero(m) - target))


# ----------------------------------------------------------------------------- public API


def make_mask(
    shape: tuple[int, ...],
    accel: float,
    kind: str = "random",
    center_fraction: Optional[float] = None,
    seed: Seed = 0,
) -> np.ndarray:
    """Draw a k-space sampling mask.

    Args:
        shape: ``(H, W)`` or a longer tuple ``(..., H, W)`` of which the last two entries
            are used; H and W are integers >= 2 (odd sizes are fine).
        accel: acceleration factor, a real number >= 1 (``H * W / samples``); 1 gives a
            fully sampled mask for every kind.
        kind: one of :data:`MASK_KINDS` (see the module docstring).
        center_fraction: fraction of each axis fully sampled around the centre. ``None``
            selects ``0.32 / accel``; the resulting count is rounded and kept between 1
            and the number the target rate allows. It must be in (0, 1] and at most
            ``1 / accel`` for 1D kinds (the block costs a rate of ``center_fraction``) or
            ``1 / sqrt(accel)`` for 2D kinds (the rectangle costs its square). For
            ``"radial"``, ``None`` means no extra centre rectangle (the spokes already
            cover the centre densely).
        seed: non-negative int, ``np.random.Generator`` or ``None``. Passed to
            ``np.random.default_rng``; the global NumPy random state is never touched.
            Unused by ``"radial"``.

    Returns:
        mask: bool, shape (H, W), ``True`` where k-space is sampled, DC at index
        ``(H // 2, W // 2)`` (always sampled). For 1D kinds every row is identical.

    Raises:
        ValueError: bad shape, ``accel`` not a finite real >= 1, unknown ``kind``,
            ``center_fraction`` out of range or a bad ``seed``.

    :Examples:

    >>> m = make_mask((256, 256), 4, kind="random", seed=0)
    >>> m.shape, m.dtype
    ((256, 256), dtype('bool'))
    >>> bool(m[:, 118:138].all())  # round(256 * 0.08) = 20 centre columns from 118
    True
    >>> bool((make_mask((256, 256), 4, seed=3) == make_mask((256, 256), 4, seed=3)).all())
    True
    """
    h, w = _check_shape(shape)
    a = _check_accel(accel)
    kind = _check_kind(kind)
    if kind == "radial" and center_fraction is None:
        cf = None
    else:
        cf = _check_center_fraction(center_fraction, a, kind)
    rng = _rng(seed)
    if a == 1:
        return np.ones((h, w), dtype=bool)
    if kind in _1D_KINDS:
        draw = _random_columns if kind == "random" else _equispaced_columns
        cols = draw(w, a, cf, rng)
        return np.broadcast_to(cols[None, :], (h, w)).copy()
    if kind == "gaussian":
        return _gaussian(h, w, a, cf, rng)
    if kind == "poisson":
        return _poisson(h, w, a, cf, rng)
    return _radial(h, w, a, cf)


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
