"""The ISMRMRD acquisition table: its headers, flags and samples (in the helper process).

The ``data`` dataset of an ISMRMRD group is the table of acquisitions, one readout each: a
fixed binary header (flags, sample and channel counts, encoding counters ``idx``;
:data:`ismrmrd.hdf5.acquisition_header_dtype`) and its samples, channels x samples complex
numbers stored as interleaved float32. It is read with h5py directly (``ismrmrd.Dataset`` wants
a path and reads one acquisition at a time): :func:`acquisition_table` checks the table against
the limits, :func:`read_heads` reads all the headers at once (they decide everything),
:func:`classify` sorts the acquisitions by their flags (noise, skipped kinds, imaging and
calibration lines) and :func:`read_samples` reads the samples of only the rows asked for, in
blocks of bounded size.
"""

from __future__ import annotations

import math

import h5py
import ismrmrd
import numpy as np

from .h5safety import local_dataset
from .wire import ReadError

#: Acquisition kinds that carry no image data, with their ISMRMRD flag numbers.
SKIPPED_KINDS = (
    ("navigation", ismrmrd.ACQ_IS_NAVIGATION_DATA),
    ("phase correction", ismrmrd.ACQ_IS_PHASECORR_DATA),
    ("feedback", ismrmrd.ACQ_IS_HPFEEDBACK_DATA),
    ("feedback", ismrmrd.ACQ_IS_RTFEEDBACK_DATA),
    ("dummy scan", ismrmrd.ACQ_IS_DUMMYSCAN_DATA),
    ("surface coil correction", ismrmrd.ACQ_IS_SURFACECOILCORRECTIONSCAN_DATA),
    ("phase stabilisation", ismrmrd.ACQ_IS_PHASE_STABILIZATION_REFERENCE),
    ("phase stabilisation", ismrmrd.ACQ_IS_PHASE_STABILIZATION),
)

#: Header fields read from every acquisition (the names of ``acquisition_header_dtype``).
_HEAD_FIELDS = (
    "flags",
    "number_of_samples",
    "active_channels",
    "discard_pre",
    "discard_post",
    "center_sample",
    "encoding_space_ref",
    "trajectory_dimensions",
)
_IDX_FIELDS = (
    "kspace_encode_step_1",
    "kspace_encode_step_2",
    "average",
    "slice",
    "contrast",
    "phase",
    "repetition",
    "set",
)
#: Fields whose absence makes the table unreadable (the others default to 0).
_REQUIRED = ("flags", "number_of_samples", "active_channels")
#: The field names of ismrmrd's acquisition header (for messages).
ACQ_HEADER_NAMES = ismrmrd.hdf5.acquisition_header_dtype.names
#: Most acquisitions, and most declared bytes of samples, read in one HDF5 request.
_BLOCK_ROWS = 256
_BLOCK_BYTES = 32 * 1024**2


# ------------------------------------------------------------------ acquisition headers


def acquisition_table(grp: h5py.Group, limits: dict):
    """The ``data`` dataset, checked to be an ISMRMRD acquisition table within the limits."""
    table = local_dataset(grp, "data", "the ISMRMRD 'data' dataset")
    fields = table.dtype.fields
    if fields is None or "head" not in fields or "data" not in fields:
        raise ReadError(
            f"{grp.name}/data is not an ISMRMRD acquisition table "
            "(a compound dataset with 'head' and 'data' fields)",
            "unsupported",
        )
    if table.ndim != 1:
        raise ReadError(
            f"the ISMRMRD acquisition table has shape {table.shape}; expected one axis", "rank"
        )
    n = int(table.shape[0])
    if n == 0:
        raise ReadError("the ISMRMRD file holds no acquisitions", "empty")
    budget = 8 * limits["max_total_elements"]
    if n * table.dtype.itemsize > budget:
        raise ReadError(
            f"the ISMRMRD file declares {n} acquisitions ({n * table.dtype.itemsize} bytes of "
            f"headers), more than 8 * max_total_elements = {budget} bytes",
            "too_large",
        )
    if table.chunks is not None and math.prod(table.chunks) * table.dtype.itemsize > budget:
        raise ReadError(
            f"the ISMRMRD acquisition table is stored in chunks of {table.chunks} rows, more "
            f"than 8 * max_total_elements = {budget} bytes",
            "too_large",
        )
    base = h5py.check_vlen_dtype(table.dtype.fields["data"][0])
    if base is None or base.kind != "f":
        raise ReadError(
            f"the ISMRMRD acquisition table's samples have dtype {table.dtype.fields['data'][0]}; "
            "expected variable-length float32",
            "unsupported",
        )
    return table


def read_heads(table) -> dict[str, np.ndarray]:
    """The acquisition headers as one int64 array per field (``flags`` uint64), by name.

    Keys: the names of :data:`_HEAD_FIELDS` and :data:`_IDX_FIELDS`; a field missing from the
    file's header type reads as zeros, unless it is one of :data:`_REQUIRED`.
    """
    head_type = table.dtype.fields["head"][0]
    names = head_type.names or ()
    missing = [f for f in _REQUIRED if f not in names]
    if missing or "idx" not in names or head_type["idx"].names is None:
        raise ReadError(
            f"the ISMRMRD acquisition headers lack {', '.join(missing) or 'idx'}; "
            f"expected the fields of ismrmrd's acquisition header ({len(ACQ_HEADER_NAMES)} fields)",
            "corrupt",
        )
    heads = table.fields("head")[()]
    n = heads.shape[0]
    out: dict[str, np.ndarray] = {}
    for name in _HEAD_FIELDS:
        out[name] = _column(heads, (name,), n, np.uint64 if name == "flags" else np.int64)
    for name in _IDX_FIELDS:
        out[name] = _column(heads, ("idx", name), n, np.int64)
    return out


def _column(heads: np.ndarray, path: tuple[str, ...], n: int, dtype) -> np.ndarray:
    arr = heads
    for name in path:
        if arr.dtype.names is None or name not in arr.dtype.names:
            return np.zeros(n, dtype)
        arr = arr[name]
    if arr.shape != (n,) or arr.dtype.kind not in "iu":
        raise ReadError(
            f"the ISMRMRD acquisition header field {'.'.join(path)} has dtype {arr.dtype} and "
            f"shape {arr.shape[1:]}; expected one integer",
            "corrupt",
        )
    return arr.astype(dtype)


def flag(flags: np.ndarray, bit: int) -> np.ndarray:
    """Which acquisitions have ISMRMRD flag ``bit`` (1-based, as ``ismrmrd.ACQ_*``) set."""
    return (flags >> np.uint64(bit - 1)) & np.uint64(1) != 0


def classify(heads: dict) -> dict:
    """Which acquisitions are noise, skipped, imaging and calibration-only lines."""
    flags = heads["flags"]
    noise = flag(flags, ismrmrd.ACQ_IS_NOISE_MEASUREMENT)
    skipped: dict[str, int] = {}
    skip = np.zeros(flags.size, bool)
    for label, bit in SKIPPED_KINDS:
        hit = flag(flags, bit) & ~noise & ~skip
        if hit.any():
            skipped[label] = skipped.get(label, 0) + int(np.count_nonzero(hit))
        skip |= hit
    other = (heads["encoding_space_ref"] != 0) & ~noise & ~skip
    if other.any():
        skipped["other encoding space"] = int(np.count_nonzero(other))
    lines = ~noise & ~skip & ~other
    cal_and_img = flag(flags, ismrmrd.ACQ_IS_PARALLEL_CALIBRATION_AND_IMAGING)
    cal_only = lines & flag(flags, ismrmrd.ACQ_IS_PARALLEL_CALIBRATION) & ~cal_and_img
    return {
        "noise": noise,
        "lines": lines,
        "image": lines & ~cal_only,
        "cal_only": cal_only,
        "cal_and_img": cal_and_img,
        "reverse": flag(flags, ismrmrd.ACQ_IS_REVERSE),
        "skipped": skipped,
        "n_skipped": int(np.count_nonzero(skip | other)),
    }


# -------------------------------------------------------------------------- the samples


def _blocks(rows: np.ndarray, nbytes: np.ndarray):
    """Consecutive runs of ``rows``: at most :data:`_BLOCK_ROWS` rows and :data:`_BLOCK_BYTES`
    of ``nbytes``, except that a run always holds at least one row."""
    start = 0
    while start < rows.size:
        more = np.cumsum(nbytes[start + 1 : start + _BLOCK_ROWS])
        stop = start + 1 + int(np.searchsorted(more, _BLOCK_BYTES - nbytes[start], side="right"))
        yield rows[start:stop]
        start = stop


def read_samples(table, rows: np.ndarray, heads: dict):
    """Yield ``(row, samples complex64 (channels, number_of_samples))`` for ``rows`` (sorted)."""
    data = table.fields("data")
    declared = 8 * heads["active_channels"][rows] * heads["number_of_samples"][rows]
    for block in _blocks(rows, declared):
        values = data[block.tolist()]
        for row, raw in zip(block, values):
            c, n = int(heads["active_channels"][row]), int(heads["number_of_samples"][row])
            raw = np.asarray(raw)
            if raw.ndim != 1 or raw.size != 2 * c * n:
                raise ReadError(
                    f"acquisition {row} holds {raw.size} values, but its header declares "
                    f"{c} channels x {n} samples = {2 * c * n} (real, imaginary) values",
                    "truncated" if raw.size < 2 * c * n else "shape_mismatch",
                )
            yield int(row), raw.astype(np.float32, copy=False).view(np.complex64).reshape(c, n)
