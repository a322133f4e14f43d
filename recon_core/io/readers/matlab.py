"""Read one variable of a MATLAB ``.mat`` file (in the helper process: see :mod:`..readers`).

Two families of files:

* v4 and v5-v7 (``save``, ``save -v7``): MATLAB's own binary format, read with SciPy.
  :func:`scipy.io.whosmat` lists the variables (name, shape, class) from their headers
  without loading any data; then only the chosen one is loaded with
  :func:`scipy.io.loadmat`. SciPy gives arrays in MATLAB's axis order, (rows, cols, ...).
* v7.3 (``save -v7.3``): an HDF5 file behind a 512-byte user block that starts with
  ``"MATLAB 7.3 MAT-file"``, read with h5py. Each variable is a dataset (or group) of the root;
  ``#refs#`` and ``#subsystem#`` hold MATLAB's internals. The attribute ``MATLAB_class``
  names the class; complex numbers are a compound type with fields ``real`` and ``imag``;
  and HDF5 lists the dimensions in the reverse order of MATLAB's, so the array is transposed
  back to (rows, cols, ...).

Only numeric and logical arrays with at least two axes longer than one can be loaded
(*usable*); structs, cells, objects, function handles, sparse matrices and text are listed
but refused. The shape a file declares is checked against the limits before anything is read.
"""

from __future__ import annotations

import io
import math
import os
import warnings
import zlib

import h5py
import numpy as np
import scipy.io

from .wire import ReadError, check_elements

#: Variable names that usually hold k-space, in order of preference (compared lower-cased).
KSPACE_NAMES = ("kspace", "ksp", "kdata", "raw", "data")

#: MATLAB classes of numeric arrays, with the bytes per (real) value.
NUMERIC_CLASSES = {
    "double": 8,
    "single": 4,
    "int8": 1,
    "uint8": 1,
    "int16": 2,
    "uint16": 2,
    "int32": 4,
    "uint32": 4,
    "int64": 8,
    "uint64": 8,
    "logical": 1,
}

_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_HEADER = 128  # bytes of the v5 / v7.3 text header
_MAX_LISTED = 500  # variables described in meta; the rest are counted
_MAX_NAMED = 20  # variable names shown in a message
_INTERNAL = ("#refs#", "#subsystem#")

_NOT_NUMBERS = {
    "struct": "a struct, not an array of numbers",
    "cell": "a cell array, not an array of numbers",
    "object": "a MATLAB object, not an array of numbers",
    "opaque": "a MATLAB object (opaque), not an array of numbers",
    "function": "a function handle, not data",
    "function_handle": "a function handle, not data",
    "sparse": "a sparse matrix; save it with full(...) to load it",
    "char": "text (char), not numbers",
    "unknown": "not a MATLAB array of a known class",
}


# ------------------------------------------------------------------------------- helpers


def _text(value, limit: int = 64) -> str:
    """An HDF5 attribute or header field as short printable text."""
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(()).item()
    if isinstance(value, (bytes, np.bytes_)):
        value = bytes(value).decode("latin-1")
    text = str(value)
    return "".join(c if c.isprintable() else "?" for c in text)[:limit]


def _entry(name: str, shape, cls: str, why: str = "", reason: str = "unsupported") -> dict:
    """One variable for ``meta["variables"]``; ``why`` says why it cannot be loaded.

    Two private fields travel with it until :func:`read` drops them: ``_reason`` (the
    :class:`ReadError` reason should it be chosen) and ``_itemsize`` (bytes per value).
    """
    shape = [int(s) for s in shape]
    if not why:
        if cls not in NUMERIC_CLASSES:
            why = _NOT_NUMBERS.get(cls) or f"a MATLAB object of class {cls!r}, not numbers"
        elif any(s < 0 for s in shape):
            why, reason = f"a negative size in its header ({_dims(shape)})", "corrupt"
        elif any(s == 0 for s in shape):
            why, reason = f"empty (shape {_dims(shape)})", "empty"
        elif sum(s > 1 for s in shape) < 2:
            why = f"shape {_dims(shape)}: fewer than two axes longer than 1"
            reason = "rank"
    entry = {"name": name, "shape": shape, "class": cls, "usable": not why, "why": why}
    entry["_reason"] = reason if why else ""
    entry["_itemsize"] = NUMERIC_CLASSES.get(cls, 0)
    return entry


def _dims(shape) -> str:
    return "x".join(str(int(s)) for s in shape) or "()"


def _names(variables: list[dict]) -> str:
    shown = [v["name"] for v in variables[:_MAX_NAMED]]
    more = f" and {len(variables) - _MAX_NAMED} more" if len(variables) > _MAX_NAMED else ""
    return (", ".join(repr(n) for n in shown) + more) or "none"


def _described(variables: list[dict]) -> str:
    shown = [
        f"{v['name']!r} ({v['class']} {_dims(v['shape'])}: {v['why'] or 'usable'})"
        for v in variables[:_MAX_NAMED]
    ]
    more = f"; and {len(variables) - _MAX_NAMED} more" if len(variables) > _MAX_NAMED else ""
    return "; ".join(shown) + more


def _choose(variables: list[dict], key) -> tuple[dict, str]:
    """The variable to load and why it was chosen (see :func:`read`)."""
    if key is not None:
        if not isinstance(key, str):
            raise ReadError(f"key must be a variable name (str), got {key!r}", "argument")
        found = [v for v in variables if v["name"] == key]
        if not found:
            raise ReadError(
                f"the .mat file has no variable {key!r}; its variables are {_names(variables)}",
                "argument",
            )
        return found[0], "named with key="  # loadmat reads the first of a name
    if not variables:
        raise ReadError("the .mat file holds no variables", "missing")
    usable = [v for v in variables if v["usable"]]
    if not usable:
        raise ReadError(
            "the .mat file has no numeric array of at least two axes to load; its variables: "
            + _described(variables),
            "unsupported",
        )
    for want in KSPACE_NAMES:
        for v in usable:
            if v["name"].lower() == want:
                return v, f"named like k-space ({v['name']!r})"
    best = max(usable, key=lambda v: math.prod(v["shape"]))  # the first of equals
    if len(usable) == 1:
        return best, "the only numeric array in the file"
    n = math.prod(best["shape"])
    return best, f"the largest of {len(usable)} numeric arrays ({n} elements)"


def _check_chosen(var: dict, limits: dict) -> None:
    """Refuse a chosen variable that cannot be loaded, or would be too large."""
    name, shape = var["name"], var["shape"]
    if not var["usable"]:
        hint = (
            "; an image or k-space needs at least two axes longer than 1"
            if var["_reason"] == "rank"
            else ""
        )
        raise ReadError(
            f"variable {name!r} ({var['class']} {_dims(shape)}) cannot be loaded: "
            f"{var['why']}{hint}",
            var["_reason"],
        )
    n = math.prod(shape)
    check_elements(n, limits, f"variable {name!r} ({_dims(shape)})")
    itemsize = var["_itemsize"]
    if n * itemsize > 8 * limits["max_total_elements"]:
        raise ReadError(
            f"variable {name!r} ({_dims(shape)}) is too large: {n} values of {itemsize} bytes "
            f"need {n * itemsize} bytes, more than 8 * max_total_elements = "
            f"{8 * limits['max_total_elements']}",
            "too_large",
        )


def _as_output(arr: np.ndarray, var: dict) -> np.ndarray:
    """``arr`` as complex64 (complex data) or float32 (anything else), C-ordered, checked."""
    shape = tuple(var["shape"])
    if type(arr) is not np.ndarray or arr.dtype.hasobject or arr.dtype.fields is not None:
        raise ReadError(
            f"variable {var['name']!r} did not read as an array of numbers", "unsupported"
        )
    if arr.dtype.kind not in "biufc":
        raise ReadError(
            f"variable {var['name']!r} has dtype {arr.dtype}, not numbers", "unsupported"
        )
    if arr.shape != shape:
        raise ReadError(
            f"variable {var['name']!r} read as shape {arr.shape}, but its header says "
            f"{shape}; the file is corrupt",
            "corrupt",
        )
    target = np.complex64 if arr.dtype.kind == "c" else np.float32
    with np.errstate(over="ignore", invalid="ignore"):
        return np.ascontiguousarray(arr, dtype=target)


# --------------------------------------------------------------------------- the version


def _at(file, offset: int, n: int) -> bytes:
    """``n`` bytes of ``file`` (a path or a seekable binary file object) from ``offset``."""
    if isinstance(file, (str, os.PathLike)):
        with open(file, "rb") as f:
            f.seek(offset)
            return f.read(n)
    file.seek(offset)
    data = file.read(n)
    file.seek(0)
    return data


def _size(file) -> int:
    if isinstance(file, (str, os.PathLike)):
        return os.path.getsize(file)
    return file.seek(0, io.SEEK_END)


def _is_hdf5(file, size: int) -> bool:
    """HDF5 signature at offset 0 or after a user block of 512, 1024, 2048, ... bytes."""
    offset = 0
    while offset + 8 <= min(size, 1 << 20):
        if _at(file, offset, 8) == _HDF5_SIGNATURE:
            return True
        offset = max(512, 2 * offset)
    return False


def mat_version(file) -> str:
    """``"4"``, ``"5"`` (v5 to v7) or ``"7.3"`` (HDF5), from the file's first bytes.

    Raises:
        ReadError: not a MAT-file, or a v7.3 header without the HDF5 data after it.

    :Examples:

    >>> import io, numpy as np, scipy.io
    >>> buf = io.BytesIO(); scipy.io.savemat(buf, {"x": np.eye(3)})
    >>> mat_version(buf)
    '5'
    """
    size = _size(file)
    head = _at(file, 0, _HEADER)
    if _is_hdf5(file, size):
        return "7.3"
    claims_73 = head.startswith(b"MATLAB 7.3") or (
        len(head) == _HEADER and head[126:128] in (b"IM", b"MI")
        and int.from_bytes(head[124:126], "little" if head[126:128] == b"IM" else "big") == 0x0200
    )
    if claims_73:
        raise ReadError(
            "the file has a MATLAB v7.3 header but no HDF5 data after it "
            f"({size} bytes); it is probably truncated",
            "truncated" if size <= 520 else "corrupt",
        )
    if len(head) >= 4 and 0 in head[:4] and any(head[:_HEADER]):
        return "4"  # v4 files have no text header; their first int32 holds small numbers
    if len(head) < _HEADER:
        raise ReadError(
            f"the file is {size} bytes, shorter than the {_HEADER}-byte header of a .mat file",
            "truncated",
        )
    endian = head[126:128]
    if endian not in (b"IM", b"MI"):
        raise ReadError(
            "not a MATLAB .mat file (no 'IM'/'MI' endian mark at bytes 126-127 of the header)",
            "corrupt",
        )
    version = int.from_bytes(head[124:126], "little" if endian == b"IM" else "big")
    if version != 0x0100:
        raise ReadError(f"unknown MAT-file version 0x{version:04x} in the header", "corrupt")
    return "5"


def _header_text(file) -> str:
    """The text that starts a v5 or v7.3 file ("MATLAB 5.0 MAT-file, ..."), or ""."""
    head = _at(file, 0, 116)
    if not head.startswith(b"MATLAB"):
        return ""
    return _text(head.rstrip(b"\x00 "), 116).strip()


# ------------------------------------------------------------------------- v4 and v5-v7


def _scipy(call, *args, **kwargs):
    """``call(*args, **kwargs)`` of :mod:`scipy.io`, quietly, with its usual failures named."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return call(*args, **kwargs)
        except zlib.error as exc:
            raise ReadError(f"a compressed variable of the file is corrupt (zlib: {exc})") from None
        except (EOFError, OSError) as exc:
            if isinstance(exc, EOFError) or "could not read" in str(exc):
                raise ReadError(
                    "the file ends before the data its headers declare; it is truncated "
                    f"or corrupt ({type(exc).__name__}: {exc})",
                    "truncated",
                ) from None
            raise


def _read_v5(file, key, limits: dict) -> tuple[list[dict], dict, str, np.ndarray]:
    listing = _scipy(scipy.io.whosmat, file)
    variables = [_entry(str(name), shape, str(cls)) for name, shape, cls in listing]
    var, because = _choose(variables, key)
    for same in (v for v in variables if v["name"] == var["name"]):  # duplicates: check all
        _check_chosen(same, limits)
    if hasattr(file, "seek"):
        file.seek(0)
    out = _scipy(scipy.io.loadmat, file, variable_names=[var["name"]], squeeze_me=False)
    if var["name"] not in out:
        raise ReadError(f"variable {var['name']!r} could not be read; the file is corrupt")
    return variables, var, because, _as_output(out[var["name"]], var)


# ---------------------------------------------------------------------------------- v7.3


def _numeric_dtype(dtype: np.dtype) -> bool:
    """Whether an HDF5 dataset's dtype holds numbers as MATLAB (or h5py) writes them."""
    if dtype.subdtype is not None:
        return False
    if dtype.fields is not None:  # MATLAB's complex: a compound of "real" and "imag"
        return set(dtype.fields) == {"real", "imag"} and all(
            dtype.fields[f][0].kind in "biuf" and dtype.fields[f][0].subdtype is None
            for f in ("real", "imag")
        )
    return dtype.kind in "biufc"  # "c": h5py's own complex (a compound of "r" and "i")


def _class_from_dtype(dtype: np.dtype) -> str:
    base = dtype.fields["real"][0] if dtype.fields is not None and "real" in dtype.fields else dtype
    if base.kind == "b":
        return "logical"
    if base.kind in "fc":
        size = base.itemsize // (2 if base.kind == "c" else 1)
        return {4: "single", 8: "double"}.get(size, "unknown")
    if base.kind in "iu":
        return f"{'u' if base.kind == 'u' else ''}int{8 * base.itemsize}"
    return "unknown"


def _h5_entry(f, name: str) -> tuple[dict, object]:
    """The variable ``name`` of the root of ``f``, and its dataset when it can be loaded."""
    link = f.get(name, getlink=True)
    if not isinstance(link, h5py.HardLink):  # soft and external links: nothing MATLAB writes
        kind = "a link to another file" if isinstance(link, h5py.ExternalLink) else "a link"
        return _entry(name, [], "unknown", f"{kind}, not a variable stored in this file"), None
    obj = f[name]
    attrs = obj.attrs
    cls = _text(attrs["MATLAB_class"]) if "MATLAB_class" in attrs else None
    if isinstance(obj, h5py.Group):  # structs, sparse matrices, function handles, objects
        if "MATLAB_sparse" in attrs:
            return _entry(name, [], "sparse"), None
        if cls is None or cls in NUMERIC_CLASSES:
            return _entry(name, [], "group", "an HDF5 group, not an array"), None
        return _entry(name, [], cls), None
    if not isinstance(obj, h5py.Dataset):
        return _entry(name, [], "unknown", "not an HDF5 dataset"), None
    if obj.shape is None:  # an HDF5 null dataspace: no data at all
        why = "empty (an HDF5 null dataspace)"
        return _entry(name, [0, 0], cls or "unknown", why, "empty"), None
    shape = [int(s) for s in reversed(obj.shape)]
    readable = _numeric_dtype(obj.dtype)
    if cls is None:  # not written by MATLAB: read it as MATLAB would, class from the dtype
        cls = _class_from_dtype(obj.dtype) if readable else "unknown"
    if "MATLAB_empty" in attrs and _text(attrs["MATLAB_empty"]) not in ("0", "False"):
        return _entry(name, [0, 0], cls, "empty (MATLAB [])", "empty"), None
    if cls in NUMERIC_CLASSES and not readable:
        return _entry(name, shape, cls, f"stored as HDF5 type {obj.dtype}, not numbers"), None
    if cls in NUMERIC_CLASSES and (obj.external or obj.is_virtual):
        return _entry(name, shape, cls, "its data are stored outside this file (refused)"), None
    entry = _entry(name, shape, cls)
    entry["_itemsize"] = obj.dtype.itemsize
    return entry, obj if entry["usable"] else None


def _read_v73(file, key, limits: dict) -> tuple[list[dict], dict, str, np.ndarray]:
    with h5py.File(file, "r") as f:
        variables, datasets = [], {}
        for name in f.keys():
            if name in _INTERNAL:
                continue
            try:
                entry, dset = _h5_entry(f, name)
            except Exception as exc:  # one unreadable variable need not spoil the others
                why = f"unreadable ({type(exc).__name__}: {str(exc)[:120]})"
                entry, dset = _entry(name, [], "unknown", why, "corrupt"), None
            variables.append(entry)
            if dset is not None:
                datasets[name] = dset
        var, because = _choose(variables, key)
        _check_chosen(var, limits)
        dset = datasets[var["name"]]
        chunks = dset.chunks
        if chunks is not None and math.prod(chunks) > limits["max_total_elements"]:
            raise ReadError(
                f"variable {var['name']!r} is stored in chunks of {chunks} elements, more than "
                f"max_total_elements={limits['max_total_elements']}",
                "too_large",
            )
        arr = _read_dataset(dset, var["shape"])
    return variables, var, because, _as_output(arr, var)


def _read_dataset(dset, shape: list[int]) -> np.ndarray:
    """The dataset in MATLAB's axis order ``shape`` (HDF5's reversed), C-ordered.

    Read in blocks of HDF5's first axis (MATLAB's last) of about 16 MiB, each written straight
    into its place in the transposed result: no full-size temporary, no copy to transpose.
    """
    compound = dset.dtype.fields is not None  # MATLAB's complex: fields "real" and "imag"
    kind = "c" if compound else dset.dtype.kind
    out = np.empty(shape, np.complex64 if kind == "c" else np.float32)
    view = out.T  # the dataset's own axis order
    row_bytes = dset.dtype.itemsize * math.prod(dset.shape[1:])
    step = max(1, (16 << 20) // max(1, row_bytes))
    with np.errstate(over="ignore", invalid="ignore"):  # beyond float32: refused later
        for i in range(0, dset.shape[0], step):
            block = dset[i : i + step]
            if compound:
                view[i : i + step].real = block["real"]
                view[i : i + step].imag = block["imag"]
            else:
                view[i : i + step] = block
    return out


# ---------------------------------------------------------------------------------- read


def read(file, params: dict, limits: dict) -> tuple[dict, dict]:
    """Read one numeric variable of a ``.mat`` file, in MATLAB's axis order.

    Args:
        file: path or binary file object of a MATLAB v4, v5-v7 or v7.3 file.
        params: ``{"key": variable name, or None to choose one}``. Without a name the first
            usable variable named like k-space (:data:`KSPACE_NAMES`, in that order, any case)
            is chosen, else the usable one with the most elements.
        limits: ``LoadLimits.as_dict()``; the chosen variable's declared shape is checked
            against ``max_total_elements`` before its data are read.

    Returns:
        (meta, arrays): ``arrays["array"]`` complex64 (complex data) or float32 (real, integer
        or logical data), shape as in MATLAB (rows, cols, ...); ``meta`` has ``variables``
        (each ``{"name", "shape", "class", "usable", "why"}``, at most 500, with
        ``n_variables`` counting all), ``key`` (the chosen name), ``chosen_because``,
        ``version`` (``"4"``, ``"5"`` or ``"7.3"``) and ``header`` (the file's header text).

    Raises:
        ReadError: not a MAT-file; unknown ``key`` (``"argument"``); no variables
            (``"missing"``); no usable variable, or a chosen struct, cell, object, function
            handle, sparse matrix or text (``"unsupported"``); too large; corrupt data.
        Exception: whatever SciPy or h5py raise on a corrupt file (the caller wraps it).

    :Examples:

    >>> import io, numpy as np, scipy.io
    >>> buf = io.BytesIO()
    >>> scipy.io.savemat(buf, {"img": np.ones((16, 12)), "kdata": np.ones((8, 8, 2)) * 1j})
    >>> meta, arrays = read(buf, {"key": None}, {"max_total_elements": 2**20})
    >>> meta["key"], meta["chosen_because"], arrays["array"].dtype, arrays["array"].shape
    ('kdata', "named like k-space ('kdata')", dtype('complex64'), (8, 8, 2))
    """
    key = params.get("key")
    version = mat_version(file)
    header = _header_text(file)
    if version == "7.3":
        variables, var, because, arr = _read_v73(file, key, limits)
    else:
        variables, var, because, arr = _read_v5(file, key, limits)
    listed = [{k: v for k, v in entry.items() if not k.startswith("_")} for entry in variables]
    meta = {
        "variables": listed[:_MAX_LISTED],
        "n_variables": len(variables),
        "key": var["name"],
        "chosen_because": because,
        "version": version,
        "header": header,
    }
    return meta, {"array": arr}
