"""BART ``.cfl``/``.hdr`` pairs: raw complex64 data plus a text header with the dimensions.

Format (BART's ``readcfl``/``writecfl``): the ``.hdr`` is text, ``"# Dimensions\\n"`` followed by
one line of up to 16 integers; the ``.cfl`` holds ``prod(dims)`` complex64 little-endian
values in Fortran (column-major) order. BART's axes are READ (0, x), PHS1 (1, y), PHS2 (2, z),
COIL (3), MAPS (4), ..., SLICE (13). The axes are read by that meaning (:func:`bart_roles`):
the first two non-singleton spatial axes are the image plane (rows, columns), COIL the coils,
SLICE (or a third spatial axis) the slices, and of any other axis (MAPS, TE, ...) the first
entry is used and named in the description.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from recon_core.io._arrays import array_to_loaded, looks_like_kspace
from recon_core.io.layout import arrange
from recon_core.io._source import Source, resolve_source
from recon_core.io._validate import check_total
from recon_core.io.limits import DataLoadError
from recon_core.io.loaded import LoadedData
from recon_core.io.options import LoadOptions

__all__ = ["load_bart", "parse_bart_header", "bart_roles", "BART_AXES"]

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
    roles, notes = bart_roles(full)
    if opts.axes is None and full[3] > 1:
        a4, _ = arrange(arr, roles)
        if kind == "image" or (kind == "auto" and not looks_like_kspace(a4.reshape(-1, *a4.shape[-2:]))):
            raise DataLoadError(
                f"BART data {list(dims)} hold {full[3]} coil images; load k-space (kind='kspace') "
                "or combine the coils first",
                reason="unsupported",
            )
        kind = "kspace"
    elif opts.axes is None and kind == "auto":
        kind = "image" if not looks_like_kspace(arrange(arr, roles)[0][:, 0]) else "kspace"
    return array_to_loaded(
        arr,
        dataclasses.replace(opts, kind=kind, axis=None),  # BART fixes the slice axis
        fmt="bart",
        label="BART .cfl",
        filename=c_src.name,
        roles=roles,
        notes=tuple(notes) if opts.axes is None else (),
    )


def bart_roles(dims: tuple[int, ...]) -> tuple[tuple[str, ...], list[str]]:
    """Roles of BART's axes by their meaning, and notes on the axes of which entry 0 is used.

    The image plane is the first two non-singleton axes of READ, PHS1, PHS2 (so a 2-D slice of
    a 3-D scan stored as ``1 180 230 8`` is PHS1 x PHS2); COIL is the coil axis; SLICE, or else a
    third spatial axis, the slice axis; every other axis (MAPS, TE, ...) keeps its first entry.

    :Examples:

    >>> bart_roles((1, 180, 230, 8))
    (('other', 'row', 'col', 'coil'), [])
    >>> bart_roles((64, 64, 1, 1, 2))
    (('row', 'col', 'other', 'coil', 'other'), ['MAPS: entry 0 of 2'])
    """
    roles = ["other"] * len(dims)
    spatial = [d for d in (0, 1, 2) if dims[d] > 1]
    plane = spatial[:2] if len(spatial) >= 2 else [0, 1]
    roles[plane[0]], roles[plane[1]] = "row", "col"
    roles[3] = "coil"
    third = [d for d in spatial if d not in plane]
    if third:
        roles[third[0]] = "slice"
    elif len(dims) > 13 and dims[13] > 1:
        roles[13] = "slice"
    notes = [
        f"{BART_AXES[d] if d < len(BART_AXES) else f'axis {d}'}: entry 0 of {n}"
        for d, (r, n) in enumerate(zip(roles, dims))
        if r == "other" and n > 1
    ]
    return tuple(roles), notes


#: BART's names of its 16 axes.
BART_AXES = ("READ", "PHS1", "PHS2", "COIL", "MAPS", "TE", "COEFF", "COEFF2", "ITER", "CSHIFT",
             "TIME", "TIME2", "LEVEL", "SLICE", "AVG", "BATCH")
