"""BART ``.cfl``/``.hdr`` pairs: raw complex64 data plus a text header with the dimensions.

Format (BART's ``readcfl``/``writecfl``): the ``.hdr`` is text, ``"# Dimensions\\n"`` followed by
one line of up to 16 integers; the ``.cfl`` holds ``prod(dims)`` complex64 little-endian
values in Fortran (column-major) order. BART's axes are READ (0, x), PHS1 (1, y), PHS2 (2, z),
COIL (3), MAPS (4), ..., SLICE (13). Here axis 0 becomes H (rows), axis 1 W (columns),
axis 3 the coils, and at most one other non-singleton axis is the slice axis.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from recon_core.io._arrays import array_to_loaded, looks_like_kspace
from recon_core.io._source import Source, resolve_source
from recon_core.io._validate import check_total
from recon_core.io.limits import DataLoadError
from recon_core.io.loaded import LoadedData
from recon_core.io.options import LoadOptions

__all__ = ["load_bart", "parse_bart_header"]

_MAX_HDR = 64 * 1024
_MAX_DIMS = 16


def parse_bart_header(text: bytes | str, what: str = ".hdr") -> tuple[int, ...]:
    """Dimensions from a BART ``.hdr`` text.

    :Examples:

    >>> parse_bart_header("# Dimensions\\n4 3 1 1 1 1 1 1 1 1 1 1 1 1 1 1 \\n")
    (4, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1)
    """
    if isinstance(text, bytes):
        if len(text) > _MAX_HDR:
            raise DataLoadError(
                f"{what} is {len(text)} bytes; a BART header is a few lines", reason="corrupt"
            )
        try:
            text = text.decode("ascii")
        except UnicodeDecodeError:
            raise DataLoadError(
                f"{what} is not a BART header (not ASCII text)", reason="corrupt"
            ) from None
    lines = [ln.strip() for ln in text.splitlines()]
    if "# Dimensions" not in lines:
        raise DataLoadError(
            f"{what} is not a BART header (no '# Dimensions' line)", reason="corrupt"
        )
    i = lines.index("# Dimensions")
    if i + 1 >= len(lines) or not lines[i + 1]:
        raise DataLoadError(f"{what} has no dimensions after '# Dimensions'", reason="truncated")
    fields = lines[i + 1].split()
    if len(fields) > _MAX_DIMS:
        raise DataLoadError(
            f"{what} lists {len(fields)} dimensions; BART has at most {_MAX_DIMS}", reason="corrupt"
        )
    try:
        dims = tuple(int(f) for f in fields)
    except ValueError:
        raise DataLoadError(
            f"{what} has non-integer dimensions {fields[:16]}", reason="corrupt"
        ) from None
    if any(d < 0 for d in dims):
        raise DataLoadError(f"{what} has negative dimensions {dims}", reason="corrupt")
    return dims


def load_bart(
    cfl: Source,
    hdr: Source,
    *,
    cfl_name: str | None = None,
    hdr_name: str | None = None,
    options: LoadOptions | None = None,
    **keywords: Any,
) -> LoadedData:
    """Load a BART ``.cfl``/``.hdr`` pair; each part is a path, bytes or binary file object.

    Args:
        cfl, hdr: the two parts (for uploads, the two files' bytes).
        cfl_name, hdr_name: names for messages when the parts are bytes.
        options, keywords: a :class:`LoadOptions` and/or its fields as keywords, except
            ``axis`` and ``key``: ``slice_index`` (along the one non-singleton axis besides
            x, y and coils), ``kind`` (multi-coil data must be k-space) and ``limits``.

    Returns:
        :class:`LoadedData`: image (H, W) complex64, or k-space (H, W) / (C, H, W).

    :Examples:

    >>> import numpy as np
    >>> x = (np.arange(80) + 1j).reshape(8, 10).astype(np.complex64)
    >>> hdr = b"# Dimensions\\n8 10 1 1 1\\n"
    >>> d = load_bart(x.T.tobytes(), hdr, kind="image")  # Fortran order
    >>> bool(np.array_equal(d.image, x))
    True
    """
    opts = LoadOptions.from_call("load_bart", options, keywords, without=("axis", "key"))
    opts.check_format("bart")
    kind, limits = opts.kind, opts.limits
    h_src = resolve_source(hdr, hdr_name or "data.hdr", limits)
    dims = parse_bart_header(h_src.read(limits), h_src.name)
    if len(dims) < 2:
        dims = dims + (1,) * (2 - len(dims))
    check_total(dims, limits, f"BART data {dims}", itemsize=8)
    c_src = resolve_source(cfl, cfl_name or "data.cfl", limits)
    data = c_src.read(limits)
    need = math.prod(dims) * 8
    if len(data) != need:
        raise DataLoadError(
            f"{c_src.name} holds {len(data)} bytes but {h_src.name} declares dims {list(dims)} = "
            f"{need} bytes of complex64",
            reason="truncated" if len(data) < need else "shape_mismatch",
        )
    full = dims + (1,) * max(0, 4 - len(dims))
    arr = np.frombuffer(data, dtype="<c8").reshape(full, order="F")
    extra = [d for d in range(len(full)) if d not in (0, 1, 3) and full[d] > 1]
    if len(extra) > 1:
        raise DataLoadError(
            f"BART dims {list(dims)} have several non-singleton axes {extra} "
            "besides x, y and coils; "
            "only one slice axis is supported",
            reason="rank",
        )
    s_ax = extra[0] if extra else 2
    index = tuple(slice(None) if d in (0, 1, 3, s_ax) else 0 for d in range(len(full)))
    sub = arr[index]  # axes in increasing order among (0, 1, 3, s_ax)
    kept = sorted({0, 1, 3, s_ax})
    sub = np.moveaxis(
        sub, [kept.index(s_ax), kept.index(3), kept.index(0), kept.index(1)], [0, 1, 2, 3]
    )
    n_coils = sub.shape[1]
    if n_coils > 1:
        if kind == "image" or (kind == "auto" and not looks_like_kspace(sub)):
            raise DataLoadError(
                f"BART data {list(dims)} hold {n_coils} coil images; load k-space (kind='kspace') "
                "or combine the coils first",
                reason="unsupported",
            )
        arr, kind = sub, "kspace"  # (slices, coils, H, W)
    else:
        arr = sub[:, 0]  # (slices, H, W): 3-D k-space here means slices, never coils
    return array_to_loaded(
        arr,
        dataclasses.replace(opts, kind=kind, axis=None),  # BART fixes the slice axis
        fmt="bart",
        label="BART .cfl",
        filename=c_src.name,
        kspace_3d="slices",
    )
