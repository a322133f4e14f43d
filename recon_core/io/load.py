"""One entry point for the uploader: :func:`load_file` (and :func:`load_files` for BART pairs)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from recon_core.io._source import (
    Source,
    extension,
    format_from_extension,
    format_from_magic,
    resolve_source,
    supported_extensions,
)
from recon_core.io.acquired import mark_acquired
from recon_core.io.bart import load_bart
from recon_core.io.dicom import load_dicom
from recon_core.io.hdf5 import load_hdf5
from recon_core.io.matlab import load_matlab
from recon_core.io.twix import load_twix
from recon_core.io.limits import DEFAULT_LIMITS, DataLoadError, LoadLimits
from recon_core.io.loaded import LoadedData
from recon_core.io.nifti import load_nifti
from recon_core.io.npy import load_npy, load_npz
from recon_core.io.options import LoadOptions
from recon_core.io.raster import load_picture

__all__ = ["load_file", "load_files", "detect_format", "supported_extensions"]


def detect_format(
    source: Source, filename: str | None = None, *, limits: LoadLimits = DEFAULT_LIMITS
) -> str:
    """Format id of ``source``: magic bytes first, then the extension.

    Returns one of ``"hdf5"`` (fastMRI, ISMRMRD or MATLAB v7.3: told apart when read),
    ``"matlab"``, ``"twix"``, ``"dicom"``, ``"nifti"``, ``"png"``, ``"jpeg"``, ``"npy"``,
    ``"npz"``, ``"bart"``.

    :Examples:

    >>> detect_format(b"\\x89PNG\\r\\n\\x1a\\n" + bytes(100), "picture.jpg")
    'png'

    Raises:
        DataLoadError: empty, too large, or neither the content nor the extension is known.
    """
    src = resolve_source(source, filename, limits)
    return _detect(src.head(1024), src.name)


def _detect(head: bytes, name: str) -> str:
    fmt = format_from_magic(head, name) or format_from_extension(name)
    if fmt is None:
        ext = extension(name) or "(none)"
        raise DataLoadError(
            f"unsupported file type {ext!r} for {name}; supported: "
            + ", ".join("." + e for e in supported_extensions()),
            reason="unsupported",
        )
    return fmt


def _bart_from_path(path: Path, options: LoadOptions) -> LoadedData:
    ext = extension(path.name)
    cfl, hdr = path.with_suffix(".cfl"), path.with_suffix(".hdr")
    if ext == ".hdr":
        with open(path, "rb") as f:
            if not f.read(64).lstrip().startswith(b"# Dimensions"):
                raise DataLoadError(
                    f"{path.name} is not a BART header "
                    "(Analyze/NIfTI .hdr/.img pairs are not supported)",
                    reason="unsupported",
                )
    other = hdr if ext == ".cfl" else cfl
    if not other.is_file():
        raise DataLoadError(
            f"found {path.name} but not {other.name} beside it; BART data need both",
            reason="missing",
        )
    return load_bart(cfl, hdr, options=options)


def load_file(
    source: Source,
    filename: str | None = None,
    *,
    options: LoadOptions | None = None,
    **keywords: Any,
) -> LoadedData:
    """Load any supported file: fastMRI or ISMRMRD ``.h5``, Siemens twix ``.dat``, MATLAB ``.mat``,
    DICOM, NIfTI, PNG/JPEG, ``.npy``/``.npz``, BART.

    The format comes from the magic bytes when they identify one, otherwise from the
    extension of ``filename`` (or of the path). K-space that was already undersampled (the
    file's own mask, or holes of exact zeros) comes back with that pattern as ``mask``
    (:func:`~recon_core.io.acquired.mark_acquired`). Nothing is unpickled, sizes are checked
    against ``limits`` before allocation, and every problem with the input raises
    :class:`DataLoadError` (a ``ValueError``) with a specific message.

    Args:
        source: path (``str``/``Path``), ``bytes``, or a binary file object such as
            Streamlit's ``UploadedFile``. A ``.cfl`` or ``.hdr`` *path* finds its partner
            beside it; for uploaded BART pairs use :func:`load_files`.
        filename: the file's name, needed for bytes (dispatch and messages).
        options, keywords: a :class:`LoadOptions` and/or its fields as keywords:
            ``slice_index`` (None: the middle slice), ``axis``, ``kind``, ``key`` (of an
            ``.npz`` or ``.mat``), ``axes``, ``average``, ``contrast``, ``repetition``,
            ``phase_correction`` and ``limits``; :class:`LoadOptions` says which formats each
            applies to.

    Returns:
        :class:`LoadedData` for the chosen slice.

    :Examples:

    >>> import io, numpy as np
    >>> buf = io.BytesIO(); np.save(buf, np.eye(8, dtype=np.float32))
    >>> load_file(buf.getvalue(), "eye.npy").source
    'NumPy .npy, image, 8x8'
    >>> load_file(b"hello", "notes.txt")
    Traceback (most recent call last):
    ...
    recon_core.io.limits.DataLoadError: unsupported file type '.txt' for notes.txt; ...
    """
    opts = LoadOptions.from_call("load_file", options, keywords)
    return mark_acquired(_load_one(source, filename, opts), opts.detect_undersampling)


def _load_one(source: Source, filename: str | None, opts: LoadOptions) -> LoadedData:
    src = resolve_source(source, filename, opts.limits)
    fmt = _detect(src.head(1024), src.name)
    if fmt != "hdf5":  # an HDF5 file's options are checked once its layout is known
        opts.check_format(fmt)
    # Pass the resolved bytes (or path) on, so that a file object is read only once.
    inner: Source = src.path if src.data is None else src.data
    name, slice_index, limits = src.name, opts.slice_index, opts.limits
    if fmt == "hdf5":
        return load_hdf5(inner, name, options=opts)
    if fmt == "matlab":
        return load_matlab(inner, name, options=opts)
    if fmt == "twix":
        return load_twix(inner, name, options=opts)
    if fmt == "dicom":
        return load_dicom(inner, name, slice_index=slice_index, limits=limits)
    if fmt == "nifti":
        return load_nifti(inner, name, slice_index=slice_index, axis=opts.axis, limits=limits)
    if fmt in ("png", "jpeg"):
        return load_picture(inner, name, limits=limits)
    if fmt == "npy":
        return load_npy(inner, name, options=opts)
    if fmt == "npz":
        return load_npz(inner, name, options=opts)
    # BART
    if src.path is not None:
        return _bart_from_path(src.path, opts)
    partner = (
        ".hdr"
        if extension(name) == ".cfl" or not src.head(12).startswith(b"# Dimensions")
        else ".cfl"
    )
    raise DataLoadError(
        f"{name} is one half of a BART pair; load it together with its {partner} file (load_files)",
        reason="missing",
    )


def load_files(
    files: Mapping[str, Source] | Iterable[Source],
    *,
    options: LoadOptions | None = None,
    **keywords: Any,
) -> LoadedData:
    """Load an upload of one file, or of a BART ``.cfl`` + ``.hdr`` pair.

    Args:
        files: ``{filename: bytes or file object}``, or file objects with a ``name``
            (Streamlit's ``accept_multiple_files=True`` gives a list of ``UploadedFile``).
        options, keywords: as :func:`load_file` (see :class:`LoadOptions`).

    :Examples:

    >>> import numpy as np
    >>> x = np.ones((8, 8), np.complex64); x[2, 3] = 5
    >>> pair = {"scan.cfl": x.T.tobytes(), "scan.hdr": b"# Dimensions\\n8 8 1 1\\n"}
    >>> load_files(pair, kind="image").source
    'BART .cfl, complex image, 8x8'
    """
    opts = LoadOptions.from_call("load_files", options, keywords)
    if isinstance(files, Mapping):
        items = list(files.items())
    else:
        items = []
        for f in files:
            name = os.path.basename(str(getattr(f, "name", "") or ""))
            if not name:
                raise DataLoadError(
                    "each uploaded file needs a name to tell the formats apart", reason="argument"
                )
            items.append((name, f))
    if not items:
        raise DataLoadError("no file given", reason="empty")
    if len(items) == 1:
        name, f = items[0]
        return load_file(f, name, options=opts)
    names = [n for n, _ in items]
    by_ext = {extension(n): (n, f) for n, f in items}
    if len(items) == 2 and set(by_ext) == {".cfl", ".hdr"}:
        (cn, cf), (hn, hf) = by_ext[".cfl"], by_ext[".hdr"]
        if os.path.splitext(cn)[0] != os.path.splitext(hn)[0]:
            raise DataLoadError(f"BART pair names differ: {cn} and {hn}", reason="argument")
        return mark_acquired(
            load_bart(cf, hf, cfl_name=cn, hdr_name=hn, options=opts), opts.detect_undersampling
        )
    raise DataLoadError(
        f"expected one file or a BART .cfl/.hdr pair, got {len(items)} files: {names[:10]}",
        reason="argument",
    )
