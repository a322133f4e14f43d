"""Turn what the caller passes (path, bytes, file object) into bounded bytes, and sniff the format.

A *source* is one of:

* ``str`` or :class:`os.PathLike`: a path on disk (a ``str`` is never file content);
* ``bytes``, ``bytearray`` or ``memoryview``: the file content, e.g. from Streamlit's uploader;
* a binary file object with ``read`` (Streamlit's ``UploadedFile`` is one); it is rewound to
  the start when it is seekable, and read up to ``max_file_bytes + 1`` bytes.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Union

from recon_core.io._validate import check_file_size
from recon_core.io.limits import DataLoadError, LoadLimits

Source = Union[str, os.PathLike, bytes, bytearray, memoryview, BinaryIO]

#: Format id -> extensions (lower case, with dot). ``.nii.gz`` is matched before ``.gz``.
EXTENSIONS: dict[str, tuple[str, ...]] = {
    "hdf5": (".h5", ".hdf5", ".mrd"),  # fastMRI, ISMRMRD or MATLAB v7.3: told apart by content
    "matlab": (".mat",),
    "twix": (".dat",),
    "dicom": (".dcm", ".dicom", ".ima"),
    "nifti": (".nii", ".nii.gz"),
    "png": (".png",),
    "jpeg": (".jpg", ".jpeg", ".jpe"),
    "npy": (".npy",),
    "npz": (".npz",),
    "bart": (".cfl", ".hdr"),
}

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


@dataclass(frozen=True)
class SourceBytes:
    """A source read into memory (or, for a path, opened lazily by the HDF5 reader).

    Attributes:
        name: file name used for messages and extension dispatch ("upload" if unknown).
        size: length in bytes, already checked against ``max_file_bytes``.
        path: the path on disk, or None for bytes/file objects.
        data: the content, or None when ``path`` is set and nothing has been read yet.
    """

    name: str
    size: int
    path: Path | None = None
    data: bytes | None = None

    def read(self, limits: LoadLimits) -> bytes:
        """All bytes of the source (at most ``limits.max_file_bytes``)."""
        if self.data is not None:
            return self.data
        assert self.path is not None
        try:
            with open(self.path, "rb") as f:
                data = f.read(limits.max_file_bytes + 1)
        except OSError as exc:
            raise DataLoadError(
                f"cannot read {self.name}: {exc.strerror or exc}", reason="missing"
            ) from exc
        check_file_size(len(data), limits, self.name)
        return data

    def head(self, n: int = 1024) -> bytes:
        """The first ``n`` bytes."""
        if self.data is not None:
            return self.data[:n]
        assert self.path is not None
        try:
            with open(self.path, "rb") as f:
                return f.read(n)
        except OSError as exc:
            raise DataLoadError(
                f"cannot read {self.name}: {exc.strerror or exc}", reason="missing"
            ) from exc


def resolve_source(source: Source, filename: str | None, limits: LoadLimits) -> SourceBytes:
    """Check the size of ``source`` and return it as :class:`SourceBytes`.

    Args:
        source: path, bytes or binary file object (see module docstring).
        filename: name to use for dispatch and messages; defaults to the path's name or the
            file object's ``name`` attribute.

    Raises:
        DataLoadError: missing/unreadable path, empty or too large content.
        TypeError: ``source`` is none of the accepted types (a programming error).
    """
    if isinstance(source, (str, os.PathLike)):
        path = Path(os.fspath(source))
        name = filename or path.name
        try:
            st = path.stat()
        except OSError as exc:
            raise DataLoadError(
                f"file not found or unreadable: {path} ({exc.strerror or exc})", reason="missing"
            ) from exc
        if not path.is_file():
            raise DataLoadError(f"{path} is not a regular file", reason="missing")
        check_file_size(st.st_size, limits, name)
        return SourceBytes(name=name, size=st.st_size, path=path)
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        name = filename or "upload"
    elif hasattr(source, "read"):
        name = filename or os.path.basename(str(getattr(source, "name", "") or "")) or "upload"
        try:
            if getattr(source, "seekable", lambda: False)():
                source.seek(0)
            data = source.read(limits.max_file_bytes + 1)
        except (OSError, ValueError) as exc:
            raise DataLoadError(f"cannot read {name}: {exc}", reason="corrupt") from exc
        if isinstance(data, str):
            raise TypeError(f"file object {name!r} is in text mode; open it in binary mode ('rb')")
        data = bytes(data)
    else:
        raise TypeError(
            f"source must be a path, bytes or a binary file object, got {type(source).__name__}"
        )
    check_file_size(len(data), limits, name)
    return SourceBytes(name=name, size=len(data), data=data)


def extension(name: str) -> str:
    """Lower-case extension, with ``.nii.gz`` kept whole: ``'Brain.NII.GZ'`` -> ``'.nii.gz'``."""
    lower = name.lower()
    if lower.endswith(".nii.gz"):
        return ".nii.gz"
    return os.path.splitext(lower)[1]


def format_from_extension(name: str) -> str | None:
    """Format id for the file name's extension, or None."""
    ext = extension(name)
    for fmt, exts in EXTENSIONS.items():
        if ext in exts:
            return fmt
    return None


def format_from_magic(head: bytes, name: str) -> str | None:
    """Format id from the first bytes (at least 1024 when the file is that long), or None."""
    if head.startswith(HDF5_SIGNATURE):
        return "hdf5"
    if head.startswith(b"MATLAB"):  # the text header of MAT v5-v7 and v7.3 (its user block)
        return "matlab"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x93NUMPY"):
        return "npy"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "npz"
    if head[128:132] == b"DICM":
        return "dicom"
    if head[344:348] in (b"n+1\x00",) or head[4:12] == b"n+2\x00\r\n\x1a\n":
        return "nifti"
    if head.startswith(b"\x1f\x8b") and extension(name) == ".nii.gz":
        return "nifti"
    if head.startswith(b"# Dimensions"):
        return "bart"
    return None


def supported_extensions() -> list[str]:
    """All accepted extensions, e.g. for the uploader's ``type=`` list (without dots)."""
    return sorted({e.lstrip(".") for exts in EXTENSIONS.values() for e in exts})


def as_stream(src: SourceBytes, limits: LoadLimits) -> io.BytesIO:
    """The source's bytes as a fresh in-memory stream."""
    return io.BytesIO(src.read(limits))


def has_hdf5_signature(src: SourceBytes) -> bool:
    """True when ``src`` starts with the HDF5 superblock signature (after a user block)."""
    # HDF5 allows a user block of 512, 1024, 2048, ... bytes before the superblock.
    head = src.head(8)
    if head == HDF5_SIGNATURE:
        return True
    offset = 512
    while offset + 8 <= min(src.size, 1 << 20):
        if src.data is not None:
            chunk = src.data[offset : offset + 8]
        else:
            with open(src.path, "rb") as f:  # type: ignore[arg-type]
                f.seek(offset)
                chunk = f.read(8)
        if chunk == HDF5_SIGNATURE:
            return True
        offset *= 2
    return False
