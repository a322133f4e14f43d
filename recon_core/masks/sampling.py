"""Drawing k-space sampling masks: fastMRI-style Cartesian line masks and 2D patterns.

Conventions
-----------
Every mask is a boolean NumPy array of shape (H, W), ``True`` where a k-space sample is
acquired. k-space is centred (fastMRI's ``fftc`` convention, see :mod:`recon_core.ops.fft`):
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
``max(round(H * center_fraction), MIN_CALIB_2D)`` rows by
``max(round(W * center_fraction), MIN_CALIB_2D)`` columns (each at most the axis length), so
that coil sensitivities can always be calibrated from it (:data:`MIN_CALIB_2D` = 24; the
fraction alone gives only 10 x 10 at 8x on 256 x 256). On an odd axis longer than 24 the
minimum is 25 rows or columns, symmetric about DC, so that blocks centred either way
(fastMRI's ``(n - t + 1) // 2`` or ``fft2c``'s ``n // 2 - t // 2``) find at least 24. When
this centre alone holds more than ``H * W / accel`` points, the mask is just the centre and
its achieved acceleration (:func:`recon_core.masks.achieved_acceleration`) is below
``accel`` (64 x 64 at 8x: 576 points instead of 512, 7.1x).

- ``"gaussian"``: exactly ``round(H * W / accel)`` points; those outside the centre
  rectangle are drawn without replacement with probability proportional to a 2D Gaussian
  of standard deviation ``0.25 * H`` rows and ``0.25 * W`` columns.
- ``"poisson"``: variable-density Poisson-disc sampling (:mod:`recon_core.masks.poisson`);
  the minimum distance between two samples grows linearly with the distance from the
  centre, and its scale is calibrated so that the achieved acceleration is within 1 % of
  ``accel`` (grids of 64 x 64 and more).
- ``"radial"``: straight spokes through the centre at angles uniformly spaced over pi
  (``k * pi / n_spokes``, starting on the W axis, not golden angle), rasterised onto the
  grid; ``n_spokes`` is chosen so the achieved acceleration is as close as possible to
  ``accel``. Radial masks use no random numbers.

Randomness comes only from ``np.random.default_rng(seed)``: the same seed gives the same
mask, and the global ``np.random`` state is never read or changed.

Default centre fraction: ``0.32 / accel`` (0.08 at 4x and 0.04 at 8x, as in fastMRI); for
2D kinds the centre is then widened to the :data:`MIN_CALIB_2D` minimum. Column kinds keep
fastMRI's centre exactly.

How the kinds are built (the spirit of fastMRI's ``MaskFunc``): :func:`make_mask` checks the
arguments and fixes the centre once per family, then hands over to the kind's own part,
picked by name from a table. A *column* kind receives the size of the centre block and
returns the columns it adds; a *point* kind receives the centre rectangle and returns the
whole mask. Adding a kind means writing that one function and adding it to the table.
Measuring a mask (PSF, incoherence, achieved acceleration) is in
:mod:`recon_core.masks.analysis`.
"""

from __future__ import annotations

import math
import numbers
from typing import Optional, Union

import numpy as np

from recon_core.checks import check_int, check_positive
from recon_core.masks.poisson import poisson_disc

__all__ = [
    "MASK_KINDS",
    "make_mask",
    "default_center_fraction",
    "GAUSSIAN_SIGMA_FRACTION",
    "MIN_CALIB_2D",
    "Seed",
]

#: Standard deviation of the ``"gaussian"`` density, as a fraction of each axis length.
GAUSSIAN_SIGMA_FRACTION = 0.25

#: Fewest fully sampled centre rows and columns of a 2D mask (``"gaussian"``, ``"poisson"``,
#: ``"radial"``), whatever the acceleration and centre fraction: ESPIRiT and the ratio method
#: need a calibration block of about 24 x 24 for reliable coil maps. An axis shorter than
#: this is fully sampled; an odd one gets 25 (symmetric about DC). Column kinds ignore it.
MIN_CALIB_2D = 24

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
    limit = 1 / accel if kind in _COLUMN_KINDS else 1 / math.sqrt(accel)
    if cf > limit + 1e-12:
        bound = "1/accel" if kind in _COLUMN_KINDS else "1/sqrt(accel)"
        raise ValueError(
            f"center_fraction {center_fraction!r} exceeds {bound} = {limit:.4g} for "
            f"kind {kind!r} at accel {accel:g}: the centre alone would be sampled more densely "
            "than the target rate"
        )
    return cf


# ----------------------------------------------------------------------------- the centre


def _center_block(n: int, num_low: int) -> slice:
    """fastMRI's centre block: ``num_low`` indices from ``(n - num_low + 1) // 2``; holds n // 2."""
    pad = (n - num_low + 1) // 2
    return slice(pad, pad + num_low)


def _num_low(n: int, cf: float, max_count: float) -> int:
    """``round(n * cf)`` clipped to ``[1, floor(max_count)]`` (and at least 1)."""
    return int(max(1, min(round(n * cf), math.floor(max_count + 1e-9))))


def _column_mask(h: int, w: int, accel: float, cf: float, rng, draw_columns) -> np.ndarray:
    """The 1D kinds' shared part: centre block of columns, then the kind's own columns.

    ``draw_columns(w, accel, num_low, rng)`` returns a bool (W,) array of the columns the
    kind adds outside the centre block; the result repeats ``cols`` in every row, (H, W).
    """
    num_low = _num_low(w, cf, w / accel)
    cols = draw_columns(w, accel, num_low, rng)
    cols[_center_block(w, num_low)] = True
    return np.broadcast_to(cols[None, :], (h, w)).copy()


def _min_centre(n: int) -> int:
    """The :data:`MIN_CALIB_2D` minimum along an axis of n: n if shorter, else 24 with n's parity.

    Same parity as n makes the fastMRI block ``(n - t + 1) // 2`` equal the ``fft2c`` block
    ``n // 2 - t // 2``, so both centrings see all of it.
    """
    if n <= MIN_CALIB_2D:
        return n
    return MIN_CALIB_2D + (n - MIN_CALIB_2D) % 2


def _point_centre(h: int, w: int, cf: Optional[float]) -> np.ndarray:
    """The 2D kinds' shared part: bool (H, W), the fully sampled centred rectangle of
    ``max(round(H * cf), MIN_CALIB_2D)`` by ``max(round(W * cf), MIN_CALIB_2D)`` (each at most
    the axis, see :func:`_min_centre`); the minimum alone when ``cf`` is None."""
    mask = np.zeros((h, w), dtype=bool)
    ch, cw = _min_centre(h), _min_centre(w)
    if cf is not None:
        ch = int(min(h, max(ch, round(h * cf))))
        cw = int(min(w, max(cw, round(w * cf))))
    mask[_center_block(h, ch), _center_block(w, cw)] = True
    return mask


def _n_target(accel: float, centre: np.ndarray) -> int:
    """Samples a 2D mask of ``centre.shape`` holds at ``accel``: never fewer than the centre.

    When the centre alone exceeds ``H * W / accel`` the mask is the centre and the achieved
    acceleration is lower than ``accel`` (documented in :func:`make_mask`)."""
    return int(max(round(centre.size / accel), np.count_nonzero(centre)))


# ----------------------------------------------------------------------------- column kinds


def _random_columns(w: int, accel: float, num_low: int, rng: np.random.Generator) -> np.ndarray:
    prob = (w / accel - num_low) / (w - num_low)
    return rng.uniform(size=w) < prob


def _equispaced_columns(
    w: int, accel: float, num_low: int, rng: np.random.Generator
) -> np.ndarray:
    cols = np.zeros(w, dtype=bool)
    if num_low * accel < w:  # otherwise the centre block alone already meets the rate
        adjusted_accel = (accel * (num_low - w)) / (num_low * accel - w)
        offset = rng.integers(0, round(adjusted_accel))
        samples = np.around(np.arange(offset, w - 1, adjusted_accel)).astype(int)
        cols[samples] = True
    return cols


# ----------------------------------------------------------------------------- point kinds


def _gaussian(centre: np.ndarray, accel: float, rng: np.random.Generator) -> np.ndarray:
    mask = centre
    h, w = mask.shape
    n_draw = _n_target(accel, mask) - np.count_nonzero(mask)
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


def _poisson(centre: np.ndarray, accel: float, rng: np.random.Generator) -> np.ndarray:
    return poisson_disc(centre, _n_target(accel, centre), rng)


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


def _radial(centre: np.ndarray, accel: float, rng: np.random.Generator) -> np.ndarray:
    """Spokes (no random numbers: ``rng`` is unused) plus the centre rectangle."""
    h, w = centre.shape
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


# ----------------------------------------------------------------------------- factory

#: Column kinds: ``draw_columns(w, accel, num_low, rng) -> bool (W,)``, see :func:`_column_mask`.
_COLUMN_KINDS = {"random": _random_columns, "equispaced": _equispaced_columns}
#: Point kinds: ``draw(centre, accel, rng) -> bool (H, W)`` holding ``centre``.
_POINT_KINDS = {"gaussian": _gaussian, "poisson": _poisson, "radial": _radial}

#: Names accepted by :func:`make_mask`'s ``kind`` argument.
MASK_KINDS: tuple[str, ...] = (*_COLUMN_KINDS, *_POINT_KINDS)


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
            selects ``0.32 / accel`` (fastMRI's 0.08 at 4x, 0.04 at 8x). For 1D kinds the
            resulting count of columns is rounded and kept between 1 and the number the
            target rate allows. For 2D kinds each side of the centre rectangle is the larger
            of ``round(n * center_fraction)`` and :data:`MIN_CALIB_2D` (24, or the whole
            axis if shorter, 25 on an odd axis): a fully sampled centre of at least 24 x 24
            is always kept, for coil calibration. It must be in (0, 1] and at most
            ``1 / accel`` for 1D kinds (the block costs a rate of ``center_fraction``) or
            ``1 / sqrt(accel)`` for 2D kinds (the rectangle costs its square). For
            ``"radial"``, ``None`` means the minimum rectangle only (the spokes already
            cover the centre densely).
        seed: non-negative int, ``np.random.Generator`` or ``None``. Passed to
            ``np.random.default_rng``; the global NumPy random state is never touched.
            Unused by ``"radial"``.

    Returns:
        mask: bool, shape (H, W), ``True`` where k-space is sampled, DC at index
        ``(H // 2, W // 2)`` (always sampled). For 1D kinds every row is identical. A 2D
        mask never holds fewer points than its centre rectangle: when that exceeds
        ``H * W / accel`` (small images at high acceleration, e.g. 64 x 64 at 8x or more)
        the mask is the centre alone and samples more densely than asked; measure the
        rate actually reached with :func:`recon_core.masks.achieved_acceleration`.

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
    >>> p = make_mask((256, 256), 8, kind="poisson", seed=0)  # centre 24 x 24, not 10 x 10
    >>> bool(p[116:140, 116:140].all())
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
    if kind in _COLUMN_KINDS:
        return _column_mask(h, w, a, cf, rng, _COLUMN_KINDS[kind])
    return _POINT_KINDS[kind](_point_centre(h, w, cf), a, rng)
