"""Checks shared by all loaders: declared sizes against limits, dtypes, finiteness, constancy.

Every check raises :class:`~recon_core.io.limits.DataLoadError` with the values in the message.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from recon_core.io.limits import DataLoadError, LoadLimits

#: dtype kinds the loaders accept: bool, signed/unsigned int, float, complex.
NUMERIC_KINDS = "biufc"


def dims(shape: Sequence[int]) -> str:
    """``(640, 368)`` -> ``'640x368'``."""
    return "x".join(str(int(s)) for s in shape)


def check_numeric_dtype(dtype: np.dtype, what: str) -> np.dtype:
    """Refuse object (pickled), structured, string and date dtypes."""
    dtype = np.dtype(dtype)
    if dtype.hasobject:
        raise DataLoadError(
            f"{what} holds Python objects (dtype {dtype}); object arrays need pickle, "
            "which is refused for safety; save a numeric array instead",
            reason="unsupported",
        )
    if dtype.fields is not None or dtype.subdtype is not None or dtype.kind not in NUMERIC_KINDS:
        raise DataLoadError(
            f"{what} has dtype {dtype}; expected bool, integer, float or complex numbers",
            reason="unsupported",
        )
    return dtype


def check_total(
    shape: Sequence[int],
    limits: LoadLimits,
    what: str,
    *,
    total: int | None = None,
    itemsize: int | None = None,
) -> None:
    """Check a header-declared shape before anything of that size is allocated.

    Refuses negative or zero-length axes, more than ``limits.max_total_elements`` elements
    (``total`` overrides the product of ``shape``, e.g. for one slice of a file), and, given
    ``itemsize``, more than ``8 * max_total_elements`` bytes.
    """
    shape = tuple(int(s) for s in shape)
    if any(s < 0 for s in shape):
        raise DataLoadError(f"{what} declares a negative size {shape}", reason="corrupt")
    if any(s == 0 for s in shape):
        raise DataLoadError(
            f"{what} is empty: shape {shape} has a zero-length axis", reason="empty"
        )
    n = math.prod(shape) if total is None else int(total)
    if n > limits.max_total_elements:
        raise DataLoadError(
            f"{what} is too large: shape {shape} has {n} elements, more than "
            f"max_total_elements={limits.max_total_elements}",
            reason="too_large",
        )
    if itemsize is not None and n * itemsize > 8 * limits.max_total_elements:
        raise DataLoadError(
            f"{what} is too large: shape {shape} of {itemsize}-byte values needs {n * itemsize} "
            f"bytes, more than 8 * max_total_elements = {8 * limits.max_total_elements}",
            reason="too_large",
        )


def check_slice(h: int, w: int, limits: LoadLimits, what: str) -> None:
    """Check one 2-D slice of H x W pixels against ``max_pixels`` and ``min_side``."""
    if h * w > limits.max_pixels:
        raise DataLoadError(
            f"{what} slice is too large: {h}x{w} = {h * w} pixels exceeds "
            f"max_pixels={limits.max_pixels}",
            reason="too_large",
        )
    if min(h, w) < limits.min_side:
        raise DataLoadError(
            f"{what} is too small: {h}x{w}; each side needs at least "
            f"min_side={limits.min_side} pixels",
            reason="empty",
        )


def check_file_size(n_bytes: int, limits: LoadLimits, name: str) -> None:
    """Refuse empty files and files above ``limits.max_file_bytes``."""
    if n_bytes == 0:
        raise DataLoadError(f"{name} is empty (0 bytes)", reason="empty")
    if n_bytes > limits.max_file_bytes:
        raise DataLoadError(
            f"{name} is too large: {n_bytes} bytes exceeds max_file_bytes={limits.max_file_bytes}",
            reason="too_large",
        )


def pick_index(n: int, index: int | None, what: str = "slice_index") -> int:
    """Return ``index`` checked against ``n`` items; ``None`` picks the middle one (``n // 2``)."""
    if index is None:
        return n // 2
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
        raise DataLoadError(f"{what} must be an integer or None, got {index!r}", reason="argument")
    if not 0 <= index < n:
        raise DataLoadError(
            f"{what} {index} is out of range for {n} slice(s) (valid: 0..{n - 1})",
            reason="argument",
        )
    return int(index)


def _finite_or_error(arr: np.ndarray, what: str) -> None:
    if arr.dtype.kind in "fc":
        finite = np.isfinite(arr)
        if not finite.all():
            n_bad = int(finite.size - np.count_nonzero(finite))
            raise DataLoadError(
                f"{what} contains {n_bad} NaN or Inf value(s) out of {finite.size}",
                reason="nonfinite",
            )


def _convert(arr: np.ndarray, complex_out: bool, what: str) -> np.ndarray:
    check_numeric_dtype(arr.dtype, what)
    _finite_or_error(arr, what)
    target = np.complex64 if complex_out else np.float32
    with np.errstate(over="ignore", invalid="ignore"):
        out = np.array(arr, dtype=target, order="C")  # always a fresh, owned copy
    if not np.isfinite(out).all():
        wide = arr.astype(np.complex128 if complex_out else np.float64)
        raise DataLoadError(
            f"{what} has values beyond the float32 range "
            f"(max |value| {float(np.max(np.abs(wide))):.3g})",
            reason="nonfinite",
        )
    return out


def finish_image(arr: np.ndarray, limits: LoadLimits, what: str = "image") -> np.ndarray:
    """Return a 2-D slice as float32 (real input) or complex64 (complex input), read-only.

    Args:
        arr: shape (H, W), any numeric dtype.

    Raises:
        DataLoadError: wrong rank, too small, NaN/Inf, values beyond float32, or constant.
    """
    if arr.ndim != 2:
        raise DataLoadError(f"{what} must be 2-D (H, W), got shape {arr.shape}", reason="rank")
    check_slice(*arr.shape[-2:], limits, what)
    out = _convert(arr, arr.dtype.kind == "c", what)
    mag = np.abs(out)
    lo, hi = float(mag.min()), float(mag.max())
    if hi == lo:
        raise DataLoadError(
            f"{what} is constant (every |value| equals {lo:g}); there is nothing to reconstruct",
            reason="constant",
        )
    out.setflags(write=False)
    return out


def finish_kspace(arr: np.ndarray, limits: LoadLimits, what: str = "k-space") -> np.ndarray:
    """Return k-space of shape (H, W) or (C, H, W) as complex64, read-only.

    Refuses k-space that holds energy only at DC (H//2, W//2): its image is constant.
    """
    if arr.ndim not in (2, 3):
        raise DataLoadError(
            f"{what} must be (H, W) or (coils, H, W), got shape {arr.shape}", reason="rank"
        )
    check_slice(*arr.shape[-2:], limits, what)
    out = _convert(arr, True, what)
    h, w = out.shape[-2:]
    n_dc = int(np.count_nonzero(out[..., h // 2, w // 2]))
    if np.count_nonzero(out) == n_dc:
        raise DataLoadError(
            f"{what} is zero except at DC, so its image is constant; "
            "there is nothing to reconstruct",
            reason="constant",
        )
    out.setflags(write=False)
    return out


def finish_reference(arr: np.ndarray, limits: LoadLimits, what: str) -> np.ndarray:
    """Return a reference image (H', W') as float32, read-only; NaN/Inf refused."""
    if arr.ndim != 2:
        raise DataLoadError(f"{what} must be 2-D, got shape {arr.shape}", reason="rank")
    out = _convert(np.abs(arr) if arr.dtype.kind == "c" else arr, False, what)
    out.setflags(write=False)
    return out
