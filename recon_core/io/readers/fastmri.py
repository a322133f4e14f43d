"""Read one slice of a fastMRI-layout HDF5 file (in the helper process: see :mod:`..readers`).

fastMRI layout: ``kspace`` is complex64 (slices, H, W) single-coil or (slices, coils, H, W)
multi-coil, already centred (DC at (H//2, W//2)); ``reconstruction_esc`` / ``reconstruction_rss``
are float32 (slices, 320, 320); test files hold a ``mask`` of shape (W,) instead.
"""

from __future__ import annotations

import math

import numpy as np

from .h5safety import local_dataset
from .wire import ReadError

_ATTRS = ("acquisition", "max", "norm")


def _check_shape(shape, limits: dict, what: str, total: int) -> None:
    if any(s == 0 for s in shape):
        raise ReadError(f"{what} is empty: shape {tuple(shape)} has a zero-length axis", "empty")
    h, w = shape[-2:]
    if h * w > limits["max_pixels"]:
        raise ReadError(
            f"{what} slice is too large: {h}x{w} = {h * w} pixels exceeds "
            f"max_pixels={limits['max_pixels']}",
            "too_large",
        )
    if total > limits["max_total_elements"]:
        raise ReadError(
            f"{what} slice is too large: {total} elements exceeds "
            f"max_total_elements={limits['max_total_elements']}",
            "too_large",
        )


def _numeric(dset, what: str) -> None:
    kind = dset.dtype.kind
    if dset.dtype.fields is not None or kind not in "biufc":
        raise ReadError(
            f"{what} has dtype {dset.dtype}; expected complex numbers (or real numbers)",
            "unsupported",
        )


def _chunks_ok(dset, limits: dict, what: str) -> None:
    chunks = dset.chunks
    if chunks is not None and math.prod(chunks) > limits["max_total_elements"]:
        raise ReadError(
            f"{what} is stored in chunks of {chunks} elements, more than "
            f"max_total_elements={limits['max_total_elements']}",
            "too_large",
        )


def _pick(n: int, index) -> int:
    if index is None:
        return n // 2
    if not 0 <= index < n:
        raise ReadError(
            f"slice_index {index} is out of range for {n} slice(s) (valid: 0..{n - 1})", "argument"
        )
    return int(index)


def _attr(value):
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str):
        return value[:200]
    arr = np.asarray(value)
    if arr.size == 1 and arr.dtype.kind in "biuf":
        return float(arr.reshape(()))
    return None


def read(file, params: dict, limits: dict) -> tuple[dict, dict]:
    """Read one slice of ``kspace`` plus its reference and mask.

    Args:
        file: path or binary file object of an HDF5 file.
        params: ``{"slice_index": 0-based slice, or None for the middle one}``.
        limits: ``LoadLimits.as_dict()``.

    Returns:
        (meta, arrays): ``arrays["kspace"]`` complex64 (H, W) or (C, H, W); optional
        ``arrays["reference"]`` float32 (H', W'); optional ``arrays["mask"]`` bool (H, W).

    Raises:
        ReadError: missing ``kspace``, wrong rank or dtype, shape mismatch, limits exceeded.
        Exception: whatever h5py raises on a corrupt file (the caller wraps it).
    """
    import h5py

    slice_index = params.get("slice_index")
    with h5py.File(file, "r") as f:
        names = sorted(f.keys())
        if "kspace" not in f:
            shown = ", ".join(repr(n) for n in names[:10]) + (" ..." if len(names) > 10 else "")
            raise ReadError(
                f"HDF5 file has no 'kspace' dataset (found: {shown or 'nothing'}); "
                "expected the fastMRI layout",
                "missing",
            )
        ks = local_dataset(f, "kspace", "'kspace'")
        if not isinstance(ks, h5py.Dataset):
            raise ReadError("'kspace' is an HDF5 group, not a dataset", "unsupported")
        _numeric(ks, "'kspace'")
        shape = tuple(int(s) for s in ks.shape)
        if len(shape) == 2:
            n_slices, n_coils = 1, 1
        elif len(shape) == 3:
            n_slices, n_coils = shape[0], 1
        elif len(shape) == 4:
            n_slices, n_coils = shape[0], shape[1]
        else:
            raise ReadError(
                f"'kspace' has shape {shape}; expected (slices, H, W) single-coil or "
                "(slices, coils, H, W) multi-coil",
                "rank",
            )
        if len(shape) == 4 and n_coils > limits["max_coils"]:
            raise ReadError(
                f"'kspace' has {n_coils} coils, more than max_coils={limits['max_coils']}",
                "too_large",
            )
        h, w = shape[-2:]
        _check_shape(shape, limits, "'kspace'", n_coils * h * w)
        _chunks_ok(ks, limits, "'kspace'")
        idx = _pick(n_slices, slice_index)
        kspace = np.asarray(ks[()] if len(shape) == 2 else ks[idx])

        arrays = {"kspace": kspace}
        meta = {
            "layout": "multicoil" if len(shape) == 4 else "singlecoil",
            "n_slices": n_slices,
            "n_coils": n_coils,
            "slice_index": idx,
            "file_shape": list(shape),
            "reference_name": None,
            "attrs": {},
        }
        order = ("reconstruction_rss", "reconstruction_esc")
        if len(shape) != 4:
            order = order[::-1]
        for name in order:
            if name not in f or not isinstance(f[name], h5py.Dataset):
                continue
            ref = local_dataset(f, name)
            _numeric(ref, repr(name))
            rshape = tuple(int(s) for s in ref.shape)
            want = 2 if len(shape) == 2 else 3
            if len(rshape) != want or (want == 3 and rshape[0] != n_slices):
                raise ReadError(
                    f"{name!r} has shape {rshape} but 'kspace' has shape {shape}: "
                    f"expected {'(H, W)' if want == 2 else f'({n_slices}, H, W)'}",
                    "shape_mismatch",
                )
            _check_shape(rshape, limits, repr(name), rshape[-2] * rshape[-1])
            _chunks_ok(ref, limits, repr(name))
            arrays["reference"] = np.asarray(ref[()] if want == 2 else ref[idx])
            meta["reference_name"] = name
            break
        if "mask" in f and isinstance(f["mask"], h5py.Dataset):
            m = local_dataset(f, "mask", "'mask'")
            _numeric(m, "'mask'")
            mshape = tuple(int(s) for s in m.shape)
            if mshape == (w,):
                arrays["mask"] = np.broadcast_to(np.asarray(m[()]) != 0, (h, w)).copy()
            elif mshape == (h, w):
                arrays["mask"] = np.asarray(m[()]) != 0
            else:
                raise ReadError(
                    f"'mask' has shape {mshape}; expected ({w},) or ({h}, {w}) "
                    f"to match 'kspace' {shape}",
                    "shape_mismatch",
                )
        for key in _ATTRS:
            try:
                value = _attr(f.attrs[key]) if key in f.attrs else None
            except Exception:  # an unreadable attribute is not worth failing the load
                value = None
            if value is not None:
                meta["attrs"][key] = value
    return meta, arrays
