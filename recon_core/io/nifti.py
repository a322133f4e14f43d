"""NIfTI-1/2 volumes (``.nii``, ``.nii.gz``): one 2-D slice along a chosen axis.

nibabel parses and checks the header; the declared shape is checked against the limits
before the (bounded) gunzip, so a small ``.nii.gz`` cannot expand into gigabytes.
"""

from __future__ import annotations

import io
import math
import struct
import zlib

import numpy as np

from recon_core.io._source import Source, resolve_source
from recon_core.io._validate import (
    check_numeric_dtype,
    check_slice,
    check_total,
    dims,
    finish_image,
    pick_index,
)
from recon_core.io.limits import DEFAULT_LIMITS, DataLoadError, LoadLimits
from recon_core.io.loaded import LoadedData

__all__ = ["load_nifti"]


def _gunzip(data: bytes, limit: int, name: str) -> bytes:
    """Decompress (possibly multi-member) gzip ``data``, stopping after ``limit`` bytes."""
    out: list[bytes] = []
    n, rest = 0, data
    try:
        while rest and n < limit:
            d = zlib.decompressobj(wbits=31)
            buf = rest
            rest = b""
            while n < limit:
                chunk = d.decompress(buf, limit - n)
                out.append(chunk)
                n += len(chunk)
                if d.eof:
                    rest = d.unused_data
                    break
                buf = d.unconsumed_tail
                if not buf:
                    break
    except zlib.error as exc:
        raise DataLoadError(
            f"{name} is not a valid gzip stream ({exc})", reason="corrupt"
        ) from None
    return b"".join(out)


def _header(head: bytes, name: str):
    import nibabel as nib

    if len(head) < 348:
        raise DataLoadError(
            f"{name} is too short for a NIfTI header ({len(head)} bytes)", reason="truncated"
        )
    size_le, size_be = struct.unpack("<i", head[:4])[0], struct.unpack(">i", head[:4])[0]
    if 348 in (size_le, size_be):
        cls, version = nib.Nifti1Header, 1
    elif 540 in (size_le, size_be):
        cls, version = nib.Nifti2Header, 2
    else:
        raise DataLoadError(
            f"{name} is not NIfTI (header size field is {size_le}, expected 348 or 540)",
            reason="corrupt",
        )
    try:
        hdr = cls.from_fileobj(io.BytesIO(head), check=True)
        magic = bytes(hdr["magic"])
        shape = tuple(int(s) for s in hdr.get_data_shape())
        dtype = np.dtype(hdr.get_data_dtype())
        offset = int(hdr.get_data_offset())
        slope, inter = hdr.get_slope_inter()
        zooms = tuple(float(z) for z in hdr.get_zooms())
    except DataLoadError:
        raise
    except Exception as exc:  # HeaderDataError, ValueError, struct.error, ...
        raise DataLoadError(
            f"{name} has an invalid NIfTI header ({type(exc).__name__}: {exc})"[:400],
            reason="corrupt",
        ) from None
    if magic.rstrip(b"\x00") in (b"ni1", b"ni2"):
        raise DataLoadError(
            f"{name} is the header of a NIfTI pair (.hdr/.img); save it as a single .nii",
            reason="unsupported",
        )
    return version, shape, dtype, offset, slope, inter, zooms


def load_nifti(
    source: Source,
    filename: str | None = None,
    *,
    slice_index: int | None = None,
    axis: int | None = None,
    limits: LoadLimits = DEFAULT_LIMITS,
) -> LoadedData:
    """Load one slice of a NIfTI volume as an image (H, W), scaled by ``scl_slope``/``scl_inter``.

    Args:
        source: path, bytes or binary file object of a ``.nii`` or ``.nii.gz`` file.
        slice_index: slice along ``axis`` (None: middle).
        axis: axis of the 3-D volume (X, Y, Z) to slice (None: 2, i.e. axial for RAS data).
            The slice keeps the stored orientation: its rows are the first remaining axis.
            Trailing singleton axes are dropped; 4-D volumes with several time points are refused.

    Returns:
        :class:`LoadedData` with ``image`` float32 (complex64 for complex NIfTI) and
        ``metadata["zooms"]`` (voxel sizes) and ``metadata["axis"]``.
    """
    src = resolve_source(source, filename, limits)
    data = src.read(limits)
    gz = data[:2] == b"\x1f\x8b"
    head = _gunzip(data, 540, src.name) if gz else data[:540]
    version, shape, dtype, offset, slope, inter, zooms = _header(head, src.name)
    check_numeric_dtype(dtype, f"NIfTI {src.name}")
    vol = list(shape)
    while len(vol) > 3 and vol[-1] == 1:
        vol.pop()
    if len(vol) not in (2, 3):
        raise DataLoadError(
            f"NIfTI {src.name} has shape {shape}; expected a 2-D image or a 3-D volume "
            "(4-D series: pick one volume first)",
            reason="rank",
        )
    check_total(shape, limits, f"NIfTI {src.name}", itemsize=dtype.itemsize)
    count = math.prod(shape)
    need = offset + count * dtype.itemsize
    raw = _gunzip(data, need, src.name) if gz else data
    if len(raw) < need:
        raise DataLoadError(
            f"NIfTI {src.name} is truncated: {dtype} {shape} at offset {offset} "
            f"needs {need} bytes, found {len(raw)}",
            reason="truncated",
        )
    arr = np.frombuffer(raw, dtype=dtype, count=count, offset=offset).reshape(vol, order="F")
    if len(vol) == 2:
        if axis not in (None, 0, 1, -1, -2):
            raise DataLoadError(
                f"axis={axis} is out of range for a 2-D NIfTI image", reason="argument"
            )
        ax, n_slices, idx, sl = None, 1, pick_index(1, slice_index), arr
    else:
        ax = 2 if axis is None else axis
        if isinstance(ax, bool) or not isinstance(ax, (int, np.integer)) or not -3 <= ax < 3:
            raise DataLoadError(
                f"axis={axis!r} is out of range for a 3-D volume {tuple(vol)}", reason="argument"
            )
        ax = int(ax) % 3
        n_slices = vol[ax]
        idx = pick_index(n_slices, slice_index)
        sl = np.take(arr, idx, axis=ax)
    check_slice(*sl.shape, limits, f"NIfTI {src.name}")
    if slope is not None:  # a hostile slope (inf, nan) gives non-finite pixels, refused below
        with np.errstate(invalid="ignore", over="ignore"):
            sl = sl * slope + (inter or 0.0)
    image = finish_image(sl, limits, f"NIfTI {src.name}")
    parts = [f"NIfTI-{version} {'.nii.gz' if gz else '.nii'}"]
    if n_slices > 1:
        parts.append(f"slice {idx} of {n_slices} (axis {ax})")
    parts.append(dims(image.shape))
    source, meta = ", ".join(parts), {"zooms": zooms, "axis": ax, "shape": tuple(shape)}
    return LoadedData.from_image(
        image, source, "nifti", src.name, n_slices=n_slices, slice_index=idx, metadata=meta
    )
