"""Variable-density Poisson-disc sampling, the packing behind ``make_mask(kind="poisson")``.

The minimum distance between two samples grows linearly with the distance from the
k-space centre, so samples are dense near DC and sparse at the edges, yet never clumped
(the incoherent, blue-noise pattern compressed sensing prefers). Masks are boolean NumPy
arrays of shape (H, W) with DC at index ``(H // 2, W // 2)``; the only randomness is the
``np.random.Generator`` passed in.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["POISSON_ALPHA", "poisson_disc"]

#: Growth of the Poisson-disc radius: ``r = scale * (1 + POISSON_ALPHA * rho)``, where
#: ``rho`` is the distance from the centre normalised so that the edge midpoints are at 1.
POISSON_ALPHA = 2.0

_POISSON_RTOL = 0.01  # calibration tolerance on the number of samples
_POISSON_MAX_PASSES = 24


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


def poisson_disc(centre: np.ndarray, n_target: int, rng: np.random.Generator) -> np.ndarray:
    """Variable-density Poisson-disc mask of about ``n_target`` samples holding ``centre``.

    Dart throwing over the grid points in a random order: a point is accepted when no
    earlier sample is closer than that sample's radius ``scale * (1 + POISSON_ALPHA * rho)``.
    ``scale`` is calibrated over at most 24 passes (a step that assumes the count falls as
    ``1 / scale**2``, else bisection of the bracket) until the count is within 1 % of
    ``n_target``; the pass closest to ``n_target`` is returned.

    Args:
        centre: bool, shape (H, W), the samples always kept (the fully sampled centre
            rectangle); DC at index ``(H // 2, W // 2)``.
        n_target: number of samples wanted, at least ``centre.sum()``; equal to it returns
            ``centre`` itself.
        rng: the generator that orders the grid points (one permutation is drawn).

    Returns:
        mask: bool, shape (H, W), ``True`` where k-space is sampled, a superset of ``centre``.

    Raises:
        ValueError: ``centre`` is not a bool (H, W) array, or ``n_target`` is below its count.

    :Examples:

    >>> import numpy as np
    >>> centre = np.zeros((64, 64), dtype=bool)
    >>> centre[30:34, 30:34] = True
    >>> m = poisson_disc(centre, 1024, np.random.default_rng(0))
    >>> bool(m[centre].all()), abs(int(m.sum()) - 1024) <= 11
    (True, True)
    """
    centre = np.asarray(centre)
    if centre.ndim != 2 or centre.dtype != np.bool_:
        raise ValueError(f"centre must be a bool (H, W) array, got {centre.dtype} {centre.shape}")
    if n_target < np.count_nonzero(centre):
        raise ValueError(f"n_target {n_target} is below the centre's {np.count_nonzero(centre)}")
    h, w = centre.shape
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
