"""NumPy ``.npy`` and ``.npz`` files, read without pickle and without trusting the header.

The header is parsed first; the dtype (object arrays are refused: they need pickle) and the
declared shape (against :class:`LoadLimits`) are checked before any data is read, and the
data must be exactly as long as the header says. Only then is the array viewed or read.
"""

from __future__ import annotations

import io
import math
import struct
import zipfile
import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from recon_core.io._arrays import array_to_loaded
from recon_core.io._source import Source, resolve_source
from recon_core.io._validate import check_numeric_dtype, check_total
from recon_core.io.limits import DEFAULT_LIMITS, DataLoadError, LoadLimits
from recon_core.io.loaded import LoadedData
from recon_core.io.options import LoadOptions

__all__ = ["load_npy", "load_npz", "read_npy_header"]

_MAX_HEADER = 10_000
_MAX_MEMBERS = 256


def _read_exact(read: Callable[[int], bytes], n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        chunk = read(min(n - got, 1 << 24))
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def read_npy_header(
    read: Callable[[int], bytes], what: str, limits: LoadLimits = DEFAULT_LIMITS
) -> tuple[tuple[int, ...], bool, np.dtype]:
    """Read and check an NPY header from ``read`` (a ``file.read``-like callable).

    Returns:
        (shape, fortran_order, dtype), after refusing object/structured/text dtypes and
        shapes beyond ``limits.max_total_elements``; ``read`` is left at the first data byte.

    Raises:
        DataLoadError: no NPY magic, unknown version, malformed or over-long header, refused
            dtype, empty or too large shape.

    :Examples:

    >>> import io, numpy as np
    >>> buf = io.BytesIO(); np.save(buf, np.zeros((3, 4), np.float32)); _ = buf.seek(0)
    >>> read_npy_header(buf.read, "x.npy")
    ((3, 4), False, dtype('float32'))
    """
    magic = _read_exact(read, 8)
    if len(magic) < 8 or not magic.startswith(b"\x93NUMPY"):
        raise DataLoadError(
            f"{what} is not a .npy file (the \\x93NUMPY magic is missing)", reason="corrupt"
        )
    version = (magic[6], magic[7])
    if version == (1, 0):
        size_bytes = _read_exact(read, 2)
        fmt = "<H"
    elif version in ((2, 0), (3, 0)):
        size_bytes = _read_exact(read, 4)
        fmt = "<I"
    else:
        raise DataLoadError(
            f"{what} has unknown .npy format version {version[0]}.{version[1]}",
            reason="unsupported",
        )
    if len(size_bytes) < struct.calcsize(fmt):
        raise DataLoadError(f"{what} is truncated inside the .npy header", reason="truncated")
    (hlen,) = struct.unpack(fmt, size_bytes)
    if hlen > _MAX_HEADER:
        raise DataLoadError(
            f"{what} declares a {hlen}-byte .npy header (limit {_MAX_HEADER})", reason="corrupt"
        )
    header = _read_exact(read, hlen)
    if len(header) < hlen:
        raise DataLoadError(f"{what} is truncated inside the .npy header", reason="truncated")
    fp = io.BytesIO(magic + size_bytes + header)
    try:
        np.lib.format.read_magic(fp)
        reader = (
            np.lib.format.read_array_header_1_0
            if version == (1, 0)
            else np.lib.format.read_array_header_2_0
        )
        shape, fortran, dtype = reader(fp, max_header_size=_MAX_HEADER)
    except Exception as exc:  # numpy raises ValueError, literal_eval may raise others
        raise DataLoadError(
            f"{what} has a malformed .npy header ({exc})", reason="corrupt"
        ) from None
    check_numeric_dtype(dtype, what)
    check_total(shape, limits, what, itemsize=np.dtype(dtype).itemsize)
    return tuple(int(s) for s in shape), bool(fortran), np.dtype(dtype)


def _array_from(
    data: bytes, offset: int, shape, fortran: bool, dtype: np.dtype, what: str
) -> np.ndarray:
    count = math.prod(shape)
    need = count * dtype.itemsize
    have = len(data) - offset
    if have < need:
        raise DataLoadError(
            f"{what} is truncated: the header declares {dtype} {shape} ({need} bytes) "
            f"but only {have} bytes follow",
            reason="truncated",
        )
    flat = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
    return flat.reshape(shape, order="F" if fortran else "C")


def _parse_npy(data: bytes, what: str, limits: LoadLimits) -> np.ndarray:
    stream = io.BytesIO(data)
    shape, fortran, dtype = read_npy_header(stream.read, what, limits)
    return _array_from(data, stream.tell(), shape, fortran, dtype, what)


def load_npy(
    source: Source,
    filename: str | None = None,
    *,
    options: LoadOptions | None = None,
    **keywords: Any,
) -> LoadedData:
    """Load a ``.npy`` array as an image or k-space (never unpickling anything).

    Args:
        source: path, bytes or binary file object.
        filename: the file's name, for messages when ``source`` is bytes.
        options, keywords: a :class:`LoadOptions` and/or its fields as keywords, except
            ``key``: ``slice_index``, ``axis`` (of a 3-D image stack), ``kind`` (how the
            array is read: ``"image"``, ``"kspace"`` or ``"auto"``) and ``limits``.

    Returns:
        :class:`LoadedData`; real input gives a float32 image, complex input complex64.

    :Examples:

    >>> import io, numpy as np
    >>> buf = io.BytesIO(); np.save(buf, np.arange(64.0).reshape(8, 8))
    >>> d = load_npy(buf.getvalue(), "ramp.npy")
    >>> d.image.dtype, d.shape, float(d.image[1, 0])
    (dtype('float32'), (8, 8), 8.0)
    """
    opts = LoadOptions.from_call("load_npy", options, keywords, without=("key",))
    opts.check_format("npy")
    src = resolve_source(source, filename, opts.limits)
    arr = _parse_npy(src.read(opts.limits), src.name, opts.limits)
    return array_to_loaded(arr, opts, fmt="npy", label="NumPy .npy", filename=src.name)


def _npz_members(data: bytes, name: str) -> tuple[zipfile.ZipFile, dict[str, zipfile.ZipInfo]]:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except Exception as exc:  # BadZipFile, struct.error, EOFError, ValueError, ...
        raise DataLoadError(
            f"{name} is not a readable .npz (zip) archive ({exc})", reason="corrupt"
        ) from None
    if len(infos) > _MAX_MEMBERS:
        raise DataLoadError(
            f"{name} holds {len(infos)} files; at most {_MAX_MEMBERS} are read", reason="too_large"
        )
    members = {i.filename[:-4]: i for i in infos if i.filename.endswith(".npy")}
    if not members:
        raise DataLoadError(f"{name} holds no .npy arrays", reason="empty")
    return zf, members


def _read_member(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, what: str, limits: LoadLimits
) -> np.ndarray:
    try:
        with zf.open(info) as f:
            shape, fortran, dtype = read_npy_header(f.read, what, limits)
            data = _read_exact(f.read, math.prod(shape) * dtype.itemsize)
    except DataLoadError:
        raise
    except Exception as exc:  # zipfile/zlib errors: bad CRC, truncated stream, encryption, ...
        raise DataLoadError(
            f"{what} could not be read from the archive ({type(exc).__name__}: {exc})",
            reason="corrupt",
        ) from None
    return _array_from(data, 0, shape, fortran, dtype, what)


def load_npz(
    source: Source,
    filename: str | None = None,
    *,
    options: LoadOptions | None = None,
    **keywords: Any,
) -> LoadedData:
    """Load arrays from a ``.npz`` archive (as written by :func:`recon_core.io.to_npz_bytes`).

    ``options`` and ``keywords`` are a :class:`LoadOptions` and/or its fields (all of them).
    Which arrays are used:

    * ``key`` given: that array, read as ``kind`` (see :class:`LoadOptions`);
    * else ``kspace`` present: it is k-space, with ``image`` (H, W) and ``mask`` (H, W) as
      companions when present (shapes must match);
    * else ``image`` present: it is the image (``mask`` as companion);
    * else the only array in the archive.

    Raises:
        DataLoadError: as :func:`load_npy`, plus not a zip, no arrays, unknown ``key``,
            several arrays and no ``key``, mismatched companion shapes.
    """
    opts = LoadOptions.from_call("load_npz", options, keywords)
    src = resolve_source(source, filename, opts.limits)
    zf, members = _npz_members(src.read(opts.limits), src.name)
    with zf:
        arr, main, kind, image, mask = _pick_members(zf, members, src.name, opts)
    return array_to_loaded(
        arr,
        dataclasses.replace(opts, kind=kind),
        fmt="npz",
        label=f"NumPy .npz['{main}']",
        filename=src.name,
        image=image,
        mask=mask,
    )


def _pick_members(zf, members, name: str, options: LoadOptions):
    """Read the main array and its companions, as described in :func:`load_npz`."""
    names, key, kind = sorted(members), options.key, options.kind

    def read(k: str) -> np.ndarray:
        return _read_member(zf, members[k], f"{name}['{k}']", options.limits)

    image = mask = None
    if key is not None:
        if key not in members:
            raise DataLoadError(f"{name} has no array {key!r}; it holds {names}", reason="argument")
        main = key
    elif "kspace" in members and kind != "image":
        main, kind = "kspace", "kspace"
        image = read("image") if "image" in members else None
    elif "image" in members and kind != "kspace":
        main, kind = "image", "image"
    elif len(members) == 1:
        main = names[0]
    else:
        raise DataLoadError(
            f"{name} holds several arrays {names[:10]}; name one with key=", reason="argument"
        )
    if key is None and "mask" in members and main != "mask":
        mask = read("mask")
    return read(main), main, kind, image, mask
