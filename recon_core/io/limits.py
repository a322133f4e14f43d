"""The one error type of the loaders and the size limits they enforce.

Every loader in :mod:`recon_core.io` raises :class:`DataLoadError` (a :class:`ValueError`)
for bad input, with a message that names the offending values, so the app can show it as is.
:class:`LoadLimits` bounds what a file may make the loaders read or allocate; each limit is
checked against the sizes a file *declares* before any array of that size is created.
"""

from __future__ import annotations

import dataclasses
import numbers
from dataclasses import dataclass

__all__ = ["DataLoadError", "LoadLimits", "DEFAULT_LIMITS", "REASONS"]

#: Machine-readable reasons carried by :attr:`DataLoadError.reason`.
REASONS = frozenset(
    {
        "unsupported",  # file type or content kind the loaders do not handle
        "corrupt",  # the parser rejected the file
        "truncated",  # fewer bytes than the header declares
        "too_large",  # a LoadLimits limit was exceeded
        "empty",  # zero bytes, or an array with a zero-length axis
        "constant",  # every pixel has the same value
        "nonfinite",  # NaN or Inf values
        "rank",  # wrong number of axes
        "missing",  # a required part is absent (no 'kspace' dataset, no .hdr beside a .cfl)
        "shape_mismatch",  # parts of one dataset disagree in shape
        "argument",  # a loader argument (slice index, axis, key, ...) does not fit the file
    }
)


class DataLoadError(ValueError):
    """Bad input file or array; the message says what is wrong and with which values.

    Attributes:
        reason: one of :data:`REASONS`, for code that branches on the kind of failure.

    :Examples:

    >>> err = DataLoadError("file is empty (0 bytes)", reason="empty")
    >>> isinstance(err, ValueError), err.reason
    (True, 'empty')
    """

    def __init__(self, message: str, *, reason: str = "corrupt") -> None:
        if reason not in REASONS:
            raise ValueError(
                f"unknown DataLoadError reason {reason!r}; use one of {sorted(REASONS)}"
            )
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class LoadLimits:
    """Size and time limits applied by every loader (frozen; make a new one to change them).

    Attributes:
        max_file_bytes: largest file accepted, in bytes (default 200 MiB, Streamlit's upload limit).
        max_pixels: largest 2-D slice, H * W (default 4096 * 4096).
        max_total_elements: most array elements one load may decode at once: the whole declared
            array for NPY/BART/NIfTI/DICOM and for each array of an NPZ, coils * H * W for one
            slice of an HDF5 file
            (default 2**25). The decoded bytes are capped at 8 bytes per element (256 MiB by
            default), so elements wider than complex64 (complex128, long double) count more.
        max_coils: most receiver coils in multi-coil k-space (default 128).
        min_side: smallest accepted H and W (default 8).
        timeout_s: wall-clock limit for reading an HDF5 file in its helper process (default 30 s).

    :Examples:

    >>> small = LoadLimits(max_file_bytes=1_000_000, max_pixels=256 * 256)
    >>> small.max_coils
    128
    """

    max_file_bytes: int = 200 * 1024**2
    max_pixels: int = 4096 * 4096
    max_total_elements: int = 2**25
    max_coils: int = 128
    min_side: int = 8
    timeout_s: float = 30.0

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "timeout_s":
                ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and value > 0
            else:
                ok = (
                    isinstance(value, numbers.Integral)
                    and not isinstance(value, bool)
                    and value >= 1
                )
            if not ok:
                raise ValueError(f"LoadLimits.{f.name} must be a positive number, got {value!r}")

    def as_dict(self) -> dict[str, float]:
        """The limits as a plain dict (JSON-ready), e.g. for the HDF5 helper process."""
        return dataclasses.asdict(self)


#: The limits used when a loader is not given any.
DEFAULT_LIMITS = LoadLimits()
