"""Read one slice of a fastMRI-layout HDF5 file; also runs alone as the loader's helper process.

The HDF5 C library can crash (segfault, double free) or spin on corrupt files, so
:func:`recon_core.io.fastmri.load_fastmri_h5` runs this file in a separate Python process
with a memory cap and a timeout. It therefore imports only the standard library, NumPy and
h5py, never ``recon_core``.

Protocol (helper process): ``argv[1]`` is a JSON object ``{"path": str | null, "slice_index":
int | null, "limits": {...}, "mem_bytes": int}``; without a path the file's bytes arrive on
stdin. Stdout gets one JSON line ``{"meta": {...}, "arrays": [{"name", "dtype", "shape"}]}``
(or ``{"error": message, "reason": reason}``) followed by the raw little-endian C-order bytes
of each array in that order. No pickle is involved anywhere.

fastMRI layout: ``kspace`` is complex64 (slices, H, W) single-coil or (slices, coils, H, W)
multi-coil, already centred (DC at (H//2, W//2)); ``reconstruction_esc`` / ``reconstruction_rss``
are float32 (slices, 320, 320); test files hold a ``mask`` of shape (W,) instead.
"""

from __future__ import annotations

import io
import json
import math
import sys

import numpy as np

_ATTRS = ("acquisition", "max", "norm")


class H5ReadError(ValueError):
    """A problem with the file, with one of the reasons of ``recon_core.io.limits.REASONS``."""

    def __init__(self, message: str, reason: str = "corrupt") -> None:
        super().__init__(message)
        self.reason = reason


def _check_shape(shape, limits: dict, what: str, total: int) -> None:
    if any(s == 0 for s in shape):
        raise H5ReadError(f"{what} is empty: shape {tuple(shape)} has a zero-length axis", "empty")
    h, w = shape[-2:]
    if h * w > limits["max_pixels"]:
        raise H5ReadError(
            f"{what} slice is too large: {h}x{w} = {h * w} pixels exceeds "
            f"max_pixels={limits['max_pixels']}",
            "too_large",
        )
    if total > limits["max_total_elements"]:
        raise H5ReadError(
            f"{what} slice is too large: {total} elements exceeds "
            f"max_total_elements={limits['max_total_elements']}",
            "too_large",
        )


def _numeric(dset, what: str) -> None:
    kind = dset.dtype.kind
    if dset.dtype.fields is not None or kind not in "biufc":
        raise H5ReadError(
            f"{what} has dtype {dset.dtype}; expected complex numbers (or real numbers)",
            "unsupported",
        )


def _chunks_ok(dset, limits: dict, what: str) -> None:
    chunks = dset.chunks
    if chunks is not None and math.prod(chunks) > limits["max_total_elements"]:
        raise H5ReadError(
            f"{what} is stored in chunks of {chunks} elements, more than "
            f"max_total_elements={limits['max_total_elements']}",
            "too_large",
        )


def _pick(n: int, index) -> int:
    if index is None:
        return n // 2
    if not 0 <= index < n:
        raise H5ReadError(
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


def read_fastmri_slice(file, slice_index: int | None, limits: dict) -> tuple[dict, dict]:
    """Read one slice of ``kspace`` plus its reference and mask.

    Args:
        file: path or binary file object of an HDF5 file.
        slice_index: 0-based slice, or None for the middle one.
        limits: ``LoadLimits.as_dict()``.

    Returns:
        (meta, arrays): ``arrays["kspace"]`` complex64 (H, W) or (C, H, W); optional
        ``arrays["reference"]`` float32 (H', W'); optional ``arrays["mask"]`` bool (H, W).

    Raises:
        H5ReadError: missing ``kspace``, wrong rank or dtype, shape mismatch, limits exceeded.
        Exception: whatever h5py raises on a corrupt file (the caller wraps it).
    """
    import h5py

    with h5py.File(file, "r") as f:
        names = sorted(f.keys())
        if "kspace" not in f:
            shown = ", ".join(repr(n) for n in names[:10]) + (" ..." if len(names) > 10 else "")
            raise H5ReadError(
                f"HDF5 file has no 'kspace' dataset (found: {shown or 'nothing'}); "
                "expected the fastMRI layout",
                "missing",
            )
        ks = f["kspace"]
        if not isinstance(ks, h5py.Dataset):
            raise H5ReadError("'kspace' is an HDF5 group, not a dataset", "unsupported")
        _numeric(ks, "'kspace'")
        shape = tuple(int(s) for s in ks.shape)
        if len(shape) == 2:
            n_slices, n_coils = 1, 1
        elif len(shape) == 3:
            n_slices, n_coils = shape[0], 1
        elif len(shape) == 4:
            n_slices, n_coils = shape[0], shape[1]
        else:
            raise H5ReadError(
                f"'kspace' has shape {shape}; expected (slices, H, W) single-coil or "
                "(slices, coils, H, W) multi-coil",
                "rank",
            )
        if len(shape) == 4 and n_coils > limits["max_coils"]:
            raise H5ReadError(
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
            ref = f[name]
            _numeric(ref, repr(name))
            rshape = tuple(int(s) for s in ref.shape)
            want = 2 if len(shape) == 2 else 3
            if len(rshape) != want or (want == 3 and rshape[0] != n_slices):
                raise H5ReadError(
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
            m = f["mask"]
            _numeric(m, "'mask'")
            mshape = tuple(int(s) for s in m.shape)
            if mshape == (w,):
                arrays["mask"] = np.broadcast_to(np.asarray(m[()]) != 0, (h, w)).copy()
            elif mshape == (h, w):
                arrays["mask"] = np.asarray(m[()]) != 0
            else:
                raise H5ReadError(
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


def _as_wire(name: str, arr: np.ndarray) -> np.ndarray:
    if name == "mask":
        return np.ascontiguousarray(arr, dtype=np.bool_)
    if name == "kspace":
        target = np.complex64
    else:
        target = np.complex64 if arr.dtype.kind == "c" else np.float32
    with np.errstate(over="ignore", invalid="ignore"):
        return np.ascontiguousarray(arr, dtype=np.dtype(target).newbyteorder("<"))


def _limit_memory(mem_bytes: int) -> None:
    try:
        import resource

        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        with open("/proc/self/statm") as f:
            vm = int(f.read().split()[0]) * resource.getpagesize()
        cap = vm + int(mem_bytes)
        if hard != resource.RLIM_INFINITY:
            cap = min(cap, hard)
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    except (ImportError, OSError, ValueError):  # not Linux: no cap, the timeout still applies
        pass


def main(argv: list[str]) -> int:
    """Helper-process entry point; see the module docstring for the protocol."""
    out = sys.stdout.buffer
    try:
        cfg = json.loads(argv[1])
        data = None if cfg.get("path") else sys.stdin.buffer.read()
        _limit_memory(cfg["mem_bytes"])
        file = cfg["path"] or io.BytesIO(data)
        meta, arrays = read_fastmri_slice(file, cfg.get("slice_index"), cfg["limits"])
        wire = {k: _as_wire(k, v) for k, v in arrays.items()}
        header = {
            "meta": meta,
            "arrays": [
                {"name": k, "dtype": v.dtype.str, "shape": list(v.shape)} for k, v in wire.items()
            ],
        }
        out.write(json.dumps(header).encode() + b"\n")
        for v in wire.values():
            out.write(v.tobytes())
    except H5ReadError as exc:
        out.write(json.dumps({"error": str(exc), "reason": exc.reason}).encode() + b"\n")
    except MemoryError:
        out.write(
            json.dumps(
                {
                    "error": "reading the HDF5 file needed more memory than the limits allow",
                    "reason": "too_large",
                }
            ).encode()
            + b"\n"
        )
    except Exception as exc:  # h5py/HDF5 errors on corrupt files
        msg = f"{type(exc).__name__}: {exc}"[:300]
        reason = "truncated" if "truncated" in msg.lower() else "corrupt"
        out.write(
            json.dumps(
                {"error": f"corrupt or unreadable HDF5 file ({msg})", "reason": reason}
            ).encode()
            + b"\n"
        )
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
