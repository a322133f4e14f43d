"""Argument checks shared by the public API.

Every public function of :mod:`recon_core` validates its inputs at the top and raises
:class:`ValueError` with a message that names the offending value, so that the app can
show the message as it is.
"""

from __future__ import annotations

import numbers

import numpy as np
from numpy.typing import ArrayLike


def as_array(x: ArrayLike, name: str, *, min_ndim: int = 2, dtype=None) -> np.ndarray:
    """Return ``x`` as a NumPy array with at least ``min_ndim`` axes, all values finite.

    Raises:
        ValueError: if ``x`` is not numeric, has too few axes, is empty or holds NaN/Inf.
    """
    try:
        arr = np.asarray(x)
    except Exception as exc:  # pragma: no cover - exotic array-likes
        raise ValueError(f"{name} could not be converted to an array: {exc}") from exc
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_
    ):
        raise ValueError(f"{name} must be numeric, got dtype {arr.dtype}")
    if arr.ndim < min_ndim:
        raise ValueError(
            f"{name} must have at least {min_ndim} dimensions (..., H, W), "
            f"got shape {arr.shape}"
        )
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    if arr.dtype != np.bool_ and not np.all(np.isfinite(arr)):
        n_bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"{name} contains {n_bad} NaN or Inf value(s)")
    if dtype is not None:
        arr = arr.astype(dtype, copy=False)
    return arr


def as_mask(mask: ArrayLike, shape: tuple[int, ...], name: str = "mask") -> np.ndarray:
    """Return ``mask`` as a boolean array that broadcasts against the last two axes of ``shape``.

    Accepts boolean masks or 0/1 numeric masks of shape (H, W) or (..., H, W).
    """
    m = as_array(mask, name, min_ndim=2)
    if m.dtype != np.bool_:
        if not np.all((m == 0) | (m == 1)):
            raise ValueError(f"{name} must be boolean or contain only 0 and 1")
        m = m.astype(bool)
    if m.shape[-2:] != tuple(shape[-2:]):
        raise ValueError(f"{name} {m.shape} does not match k-space {tuple(shape)}")
    try:
        np.broadcast_shapes(m.shape, tuple(shape))
    except ValueError:
        raise ValueError(f"{name} {m.shape} does not broadcast against k-space {tuple(shape)}") from None
    return m


def check_positive(value: float, name: str, *, allow_zero: bool = False) -> float:
    """Return ``value`` as float after checking it is finite and > 0 (or >= 0)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    v = float(value)
    if not np.isfinite(v):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if v < 0 or (v == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be {bound}, got {value!r}")
    return v


def check_int(value: int, name: str, *, minimum: int = 1) -> int:
    """Return ``value`` as int after checking it is an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def check_int_pair(value, name: str, *, minimum: int = 1) -> tuple[int, int]:
    """``value`` (an int n, meaning (n, n), or a pair) as two ints >= ``minimum``."""
    if np.isscalar(value):
        value = (value, value)
    try:
        a, b = value
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an int or a pair (h, w), got {value!r}") from None
    return check_int(a, name, minimum=minimum), check_int(b, name, minimum=minimum)


def check_image_shape(shape) -> tuple[int, int]:
    """``shape`` as an image size (H, W) of integers >= 2.

    Raises:
        ValueError: not a pair, or an entry that is not an integer >= 2.
    """
    try:
        dims = tuple(shape)
    except TypeError:
        raise ValueError(f"shape must be a tuple (H, W), got {shape!r}") from None
    if len(dims) != 2:
        raise ValueError(f"shape must be (H, W), got {shape!r}")
    return check_int(dims[0], "shape H", minimum=2), check_int(dims[1], "shape W", minimum=2)
