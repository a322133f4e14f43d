"""Read one slice of an ISMRMRD ``.h5`` raw-data file (in the helper process: see :mod:`..readers`).

ISMRMRD (the ISMRM raw data format) keeps a scan in one HDF5 group, usually ``/dataset``:

* ``xml``: the XML header (encoded and recon matrix and field of view, trajectory, encoding
  limits with their centres, parallel imaging, receiver channels), parsed here with the
  ``ismrmrd`` package (:func:`ismrmrd.xsd.CreateFromDocument`);
* ``data``: the table of acquisitions, one readout each: a fixed binary header (flags, sample
  and channel counts, encoding counters ``idx``; :data:`ismrmrd.hdf5.acquisition_header_dtype`)
  and its samples, channels x samples complex numbers stored as interleaved float32.

The table is read with h5py directly (``ismrmrd.Dataset`` wants a path and reads one
acquisition at a time): first all the headers, which decide everything, then the samples of
only the acquisitions of the chosen slice. What :func:`read` makes of them, in the app's layout
(rows H = readout samples, columns W = phase-encoding steps, the direction masks undersample):

* imaging lines go to column ``idx.kspace_encode_step_1 - center + W // 2`` (``center`` of the
  header's ``kspace_encoding_step_1`` limits), so the encoding centre lands on W // 2; a line of
  the full readout length fills all H rows, a shorter one (asymmetric echo) is placed so that
  its ``center_sample`` lands on H // 2. ``discard_pre``/``discard_post`` samples are dropped,
  lines flagged ACQ_IS_REVERSE are flipped;
* calibration lines: ACQ_IS_PARALLEL_CALIBRATION_AND_IMAGING lines are imaging lines;
  ACQ_IS_PARALLEL_CALIBRATION-only lines fill the columns that no imaging line fills (embedded
  auto-calibration lines), of any average and repetition of the chosen slice and contrast;
  the number of distinct calibration columns is ``calibration_lines``;
* navigator, phase-correction, dummy, feedback, surface-coil-correction and phase-stabilisation
  scans are skipped, and so are acquisitions of another encoding space than the first;
* noise scans (ACQ_IS_NOISE_MEASUREMENT) are returned as ``noise``, complex64 (C, N);
* averages: the mean of all of them per line (``average`` None) or the chosen one; one contrast
  (None: 0), one repetition (None: 0), the first cardiac phase and set;
* readout oversampling: when the encoded readout is longer than the recon one, the central
  recon field of view is kept (inverse FFT along the readout, crop, FFT back, orthonormal both
  ways, computed in double precision);
* 3-D data (encoded z > 1) are read as a stack of partitions: the chosen partition is the
  centred orthonormal inverse FFT along ``kspace_encode_step_2`` (computed as a weighted sum of
  the lines, so only one partition is ever held). This needs the same kz lines for every
  acquired ky line; other kz undersampling, and 3-D data with several slabs, are refused;
* ``mask``, bool (H, W), when lines are missing inside the acquired range (undersampled data);
  a solid block of lines (partial Fourier) is a smaller acquisition, not an undersampled one;
* non-Cartesian data (header trajectory other than ``cartesian``, or acquisitions with a
  stored trajectory) are refused with reason ``"unsupported"``: the app has no non-Cartesian
  reconstruction yet.

K-space comes out centred (DC at (H // 2, W // 2)), in the file's units: the centred orthonormal
FFT convention of the app (``fftshift(fft2(ifftshift(x), norm="ortho"))``).
"""

from __future__ import annotations

import math

import h5py
import ismrmrd
import numpy as np

from .h5safety import hard_child, local_dataset
from .wire import ReadError, check_elements, check_plane, pick

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
#: Encoding limits reported in ``meta["header"]["limits"]``.
_LIMIT_NAMES = (
    "kspace_encoding_step_1",
    "kspace_encoding_step_2",
    "slice",
    "average",
    "contrast",
    "phase",
    "repetition",
    "set",
)
#: Largest XML header accepted (real ones are a few tens of kB).
MAX_XML_BYTES = 16 * 1024**2
#: Most acquisitions, and most declared bytes of samples, read in one HDF5 request.
_BLOCK_ROWS = 256
_BLOCK_BYTES = 32 * 1024**2


# ----------------------------------------------------------------------------- the file


def _is_ismrmrd_group(obj) -> bool:
    if not isinstance(obj, h5py.Group):
        return False
    return isinstance(hard_child(obj, "xml"), h5py.Dataset) and isinstance(
        hard_child(obj, "data"), h5py.Dataset
    )


def find_group(f: h5py.File) -> h5py.Group:
    """The group holding ``xml`` and ``data``: ``/dataset`` when it does, else the first found
    among the root and the groups of the first two levels (in name order). Only hard links
    are followed: a group behind a soft or external link (another file) is never used."""
    top = hard_child(f, "dataset")
    if _is_ismrmrd_group(top):
        return top
    level, looked = [f], 0
    for _ in range(3):
        below = []
        for grp in level:
            if _is_ismrmrd_group(grp):
                return grp
            for name in sorted(grp.keys())[:200]:
                looked += 1
                if looked > 2000:
                    break
                child = hard_child(grp, name)
                if isinstance(child, h5py.Group):
                    below.append(child)
        level = below
    shown = ", ".join(repr(n) for n in sorted(f.keys())[:10])
    raise ReadError(
        "HDF5 file has no ISMRMRD dataset (a group with 'xml' and 'data'; "
        f"found at the top: {shown or 'nothing'})",
        "missing",
    )


def _xml_bytes(dset) -> bytes:
    kind = dset.dtype.kind
    if h5py.check_string_dtype(dset.dtype) is None and kind not in "SO":
        raise ReadError(
            f"the ISMRMRD 'xml' dataset has dtype {dset.dtype}; expected the XML header text",
            "corrupt",
        )
    if dset.size == 0:
        raise ReadError("the ISMRMRD 'xml' dataset is empty", "empty")
    value = dset[()] if dset.ndim == 0 else dset[(0,) * dset.ndim]
    if isinstance(value, np.ndarray):
        value = value.tobytes()
    if isinstance(value, str):
        value = value.encode("utf-8")
    if not isinstance(value, (bytes, np.bytes_)):
        raise ReadError("the ISMRMRD 'xml' dataset does not hold text", "corrupt")
    value = bytes(value).rstrip(b"\x00")
    if len(value) > MAX_XML_BYTES:
        raise ReadError(
            f"the ISMRMRD XML header is {len(value)} bytes, more than {MAX_XML_BYTES}", "too_large"
        )
    if not value.strip():
        raise ReadError("the ISMRMRD XML header is empty", "empty")
    return value


def parse_header(raw: bytes):
    """The XML header as an ``ismrmrd.xsd.ismrmrdHeader``.

    The schema-strict parser of the ``ismrmrd`` package first; when it refuses the text (an
    element of a newer or older schema version), the same binding without the strictness.
    """
    try:
        return ismrmrd.xsd.CreateFromDocument(raw)
    except Exception as exc:
        strict = exc
    try:
        from xsdata.formats.dataclass.parsers import XmlParser  # ismrmrd's own XML binding
        from xsdata.formats.dataclass.parsers.config import ParserConfig

        parser = XmlParser(config=ParserConfig(fail_on_unknown_properties=False))
        return parser.from_bytes(raw, ismrmrd.xsd.ismrmrdHeader)
    except Exception:
        text = f"{type(strict).__name__}: {strict}"[:200]
        raise ReadError(f"the ISMRMRD XML header could not be parsed ({text})", "corrupt") from None


# ---------------------------------------------------------------------------- the header


def _get(obj, path: str):
    for name in path.split("."):
        if obj is None:
            return None
        obj = getattr(obj, name, None)
    return obj


def _int(value) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return None


def _float(value) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return out if math.isfinite(out) else None


def _text(value) -> str | None:
    value = getattr(value, "value", value)  # enumerations
    if value is None:
        return None
    return str(value)[:200]


def _xyz(space, what: str, kind) -> list:
    return [kind(_get(space, f"{what}.{axis}")) for axis in "xyz"]


def header_facts(hdr) -> dict:
    """The facts of the XML header the loader and the UI use, JSON-ready.

    Keys: ``n_encodings``, ``encoded_matrix`` / ``recon_matrix`` ([x, y, z], x the readout),
    ``encoded_fov_mm`` / ``recon_fov_mm``, ``trajectory``, ``acceleration`` ([step 1, step 2]
    or None), ``calibration_mode``, ``receiver_channels``, ``limits`` (encoding limits by name:
    ``{"minimum", "maximum", "center"}``, absent ones left out), and where present
    ``vendor``, ``model``, ``field_strength_T``, ``protocol``, ``sequence``, ``TR_ms``, ``TE_ms``.
    """
    encodings = list(getattr(hdr, "encoding", None) or [])
    if not encodings:
        raise ReadError("the ISMRMRD XML header has no <encoding>", "missing")
    enc = encodings[0]
    limits = {}
    for name in _LIMIT_NAMES:
        lim = _get(enc, f"encodingLimits.{name}")
        if lim is not None:
            limits[name] = {
                k: _int(getattr(lim, k, None)) for k in ("minimum", "maximum", "center")
            }
    accel = _get(enc, "parallelImaging.accelerationFactor")
    facts = {
        "n_encodings": len(encodings),
        "encoded_matrix": _xyz(enc.encodedSpace, "matrixSize", _int),
        "encoded_fov_mm": _xyz(enc.encodedSpace, "fieldOfView_mm", _float),
        "recon_matrix": _xyz(getattr(enc, "reconSpace", None), "matrixSize", _int),
        "recon_fov_mm": _xyz(getattr(enc, "reconSpace", None), "fieldOfView_mm", _float),
        "trajectory": (_text(getattr(enc, "trajectory", None)) or "cartesian").lower(),
        "acceleration": None
        if accel is None
        else [_int(accel.kspace_encoding_step_1), _int(accel.kspace_encoding_step_2)],
        "calibration_mode": _text(_get(enc, "parallelImaging.calibrationMode")),
        "receiver_channels": _int(_get(hdr, "acquisitionSystemInformation.receiverChannels")),
        "limits": limits,
    }
    extra = {
        "vendor": _text(_get(hdr, "acquisitionSystemInformation.systemVendor")),
        "model": _text(_get(hdr, "acquisitionSystemInformation.systemModel")),
        "field_strength_T": _float(_get(hdr, "acquisitionSystemInformation.systemFieldStrength_T")),
        "protocol": _text(_get(hdr, "measurementInformation.protocolName")),
        "sequence": _text(_get(hdr, "sequenceParameters.sequence_type")),
    }
    for key, path in (("TR_ms", "sequenceParameters.TR"), ("TE_ms", "sequenceParameters.TE")):
        values = _get(hdr, path) or []
        first = _float(values[0]) if len(values) else None
        if first is not None:
            extra[key] = first
    facts.update({k: v for k, v in extra.items() if v is not None})
    return facts


# ------------------------------------------------------------------- acquisition headers


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


# ---------------------------------------------------------------------------- the choice


def _choose(n: int, value, what: str, default: int | None) -> int:
    if value is None and default is not None:
        value = default
    if value is not None and not isinstance(value, bool) and isinstance(value, int):
        if not 0 <= value < n:
            raise ReadError(
                f"{what} {value} is out of range: the file has {n} {what.replace('_index', '')}"
                f"{'' if n == 1 else 's'} (valid: 0..{n - 1})",
                "argument",
            )
    return pick(n, value, what)


def _count(values: np.ndarray) -> int:
    return int(values.max()) + 1 if values.size else 1


def _centre(facts: dict, name: str, size: int) -> int:
    """The header's centre of encoding counter ``name``, or ``size // 2`` when it has none."""
    centre = facts["limits"].get(name, {}).get("center")
    return size // 2 if centre is None else int(centre)


def _unsupported_trajectory(facts: dict, heads: dict, lines: np.ndarray) -> None:
    kind = facts["trajectory"]
    dims = heads["trajectory_dimensions"][lines]
    if kind == "cartesian" and not np.any(dims > 0):
        return
    n = int(np.count_nonzero(lines))
    samples = heads["number_of_samples"][lines]
    common = int(np.bincount(samples).argmax()) if n else 0
    dim = int(dims.max()) if n else 0
    traj = f"{dim}-D trajectory" if dim else "no stored trajectory"
    what = kind if kind != "cartesian" else "non-Cartesian (stored trajectory)"
    raise ReadError(
        f"ISMRMRD {what} data ({n} readouts of {common} samples, {traj}): the app "
        "reconstructs Cartesian data only so far",
        "unsupported",
    )


def _readout_offsets(heads: dict, rows: np.ndarray, h: int) -> tuple[np.ndarray, np.ndarray]:
    """Kept samples per line and the row where each line starts, checked to fit in ``h`` rows."""
    total = heads["number_of_samples"][rows]
    pre, post = heads["discard_pre"][rows], heads["discard_post"][rows]
    kept = total - pre - post
    bad = np.flatnonzero(kept <= 0)
    if bad.size:
        i = rows[bad[0]]
        raise ReadError(
            f"acquisition {i} has {total[bad[0]]} samples and discards {pre[bad[0]]} + "
            f"{post[bad[0]]} of them: nothing is left",
            "corrupt",
        )
    centre = heads["center_sample"][rows] - pre
    use_centre = (kept != h) & (centre > 0) & (centre < kept)
    offsets = np.where(kept == h, 0, np.where(use_centre, h // 2 - centre, h // 2 - kept // 2))
    bad = np.flatnonzero((offsets < 0) | (offsets + kept > h))
    if bad.size:
        i = rows[bad[0]]
        raise ReadError(
            f"acquisition {i} has {kept[bad[0]]} readout samples (centre sample "
            f"{centre[bad[0]]}), which do not fit the encoded matrix's {h} readout points",
            "shape_mismatch",
        )
    return kept, offsets


def _positions(values: np.ndarray, centre: int, size: int, what: str, rows) -> np.ndarray:
    """``values - centre + size // 2``, each checked to lie in ``[0, size)``."""
    pos = values - centre + size // 2
    bad = np.flatnonzero((pos < 0) | (pos >= size))
    if bad.size:
        raise ReadError(
            f"acquisition {rows[bad[0]]} has {what} {values[bad[0]]}, outside the encoded "
            f"matrix of {size} (encoding centre {centre})",
            "shape_mismatch",
        )
    return pos


# ---------------------------------------------------------------------------- the samples


def _blocks(rows: np.ndarray, nbytes: np.ndarray):
    """Consecutive runs of ``rows``: at most :data:`_BLOCK_ROWS` rows and :data:`_BLOCK_BYTES`
    of ``nbytes``, except that a run always holds at least one row."""
    start = 0
    while start < rows.size:
        more = np.cumsum(nbytes[start + 1 : start + _BLOCK_ROWS])
        stop = start + 1 + int(np.searchsorted(more, _BLOCK_BYTES - nbytes[start], side="right"))
        yield rows[start:stop]
        start = stop


def _samples(table, rows: np.ndarray, heads: dict):
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


def _remove_oversampling(k: np.ndarray, keep: int) -> np.ndarray:
    """Keep the central ``keep`` of the H image rows of k-space (C, H, W): the recon FOV."""
    c, h, w = k.shape
    start = h // 2 - keep // 2
    out = np.empty((c, keep, w), np.complex64)
    for i in range(c):  # one coil at a time, in double precision
        img = np.fft.fftshift(
            np.fft.ifft(np.fft.ifftshift(k[i].astype(np.complex128), axes=0), axis=0, norm="ortho"),
            axes=0,
        )[start : start + keep]
        out[i] = np.fft.fftshift(
            np.fft.fft(np.fft.ifftshift(img, axes=0), axis=0, norm="ortho"), axes=0
        )
    return out


def _oversampling(facts: dict, h: int) -> tuple[int | None, float]:
    """Rows to keep when the readout is oversampled (None: it is not), and the factor."""
    enc_x, rec_x = facts["encoded_matrix"][0], facts["recon_matrix"][0]
    if not (enc_x and rec_x and 0 < rec_x < enc_x):
        return None, 1.0
    enc_fov, rec_fov = facts["encoded_fov_mm"][0], facts["recon_fov_mm"][0]
    if enc_fov and rec_fov and 0 < rec_fov < enc_fov:
        factor = enc_fov / rec_fov
    else:
        factor = enc_x / rec_x
    keep = int(round(h / factor))
    if not 0 < keep < h:
        return None, 1.0
    return keep, factor


# --------------------------------------------------------------------------------- read


def read(file, params: dict, limits: dict) -> tuple[dict, dict]:
    """Assemble one slice of k-space (and the noise scans) from an ISMRMRD ``.h5`` file.

    Args:
        file: path or binary file object of an HDF5 file.
        params: ``slice_index`` (slice, or partition of 3-D data; None: the middle one),
            ``average`` (None: the mean of all), ``contrast`` and ``repetition`` (None: 0).
        limits: ``LoadLimits.as_dict()``.

    Returns:
        (meta, arrays): ``arrays["kspace"]`` complex64 (C, H, W), H the readout (after
        oversampling removal), W the encoding steps, DC at (H // 2, W // 2); optional
        ``arrays["mask"]`` bool (H, W) for undersampled data; optional ``arrays["noise"]``
        complex64 (C, N). ``meta``: ``n_slices``, ``slice_index``, ``n_coils``, ``selectable``,
        ``calibration_lines``, ``description``, ``header`` (:func:`header_facts`) and the
        details of the choice (``average``, ``contrast``, ``repetition``, ``skipped``, ...).

    Raises:
        ReadError: no ISMRMRD group, unparsable header, non-Cartesian data (``"unsupported"``),
            choices out of range (``"argument"``), headers that disagree with the samples or
            the matrix, limits exceeded.
        Exception: whatever h5py raises on a corrupt file (the caller wraps it).
    """
    with h5py.File(file, "r") as f:
        grp = find_group(f)
        facts = header_facts(parse_header(_xml_bytes(local_dataset(grp, "xml", "the ISMRMRD 'xml' dataset"))))
        table = acquisition_table(grp, limits)
        heads = read_heads(table)
        meta, arrays = _assemble(table, heads, facts, params, limits)
        meta["group"] = grp.name
    return meta, arrays


def _classify(heads: dict) -> dict:
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


def _matrix(facts: dict, heads: dict, image: np.ndarray) -> tuple[int, int, int]:
    """(H, W, partitions) of the encoded matrix, checked to be addressable by the counters."""
    enc_x, enc_y, enc_z = facts["encoded_matrix"]
    h = enc_x if enc_x and enc_x > 0 else int(heads["number_of_samples"][image].max())
    if not enc_y or enc_y <= 0:
        raise ReadError(
            f"the ISMRMRD header's encoded matrix has y = {enc_y}; expected the number of "
            "phase-encoding steps",
            "corrupt",
        )
    depth = int(enc_z) if enc_z and enc_z > 1 else 1
    for size, axis in ((enc_y, "y"), (depth, "z")):
        if size > 65536:
            raise ReadError(
                f"the ISMRMRD header's encoded matrix has {axis} = {size}, more than its 16-bit "
                "encoding counters can address (65536)",
                "corrupt",
            )
    return int(h), int(enc_y), depth


def _select(heads: dict, kinds: dict, params: dict, depth: int) -> dict:
    """The chosen slice (or partition), contrast, repetition, average, phase and set, and
    which imaging lines (``rows``) and calibration-only lines (``cal_rows``) they hold."""
    image = kinds["image"]
    n_slab = _count(heads["slice"][image])
    three_d = depth > 1
    if three_d and n_slab > 1:
        raise ReadError(
            f"ISMRMRD 3-D data with {n_slab} slabs of {depth} partitions: the app reads one "
            "3-D slab or 2-D slices only",
            "unsupported",
        )
    counts = {
        "slice": depth if three_d else n_slab,
        "average": _count(heads["average"][image]),
        "contrast": _count(heads["contrast"][image]),
        "repetition": _count(heads["repetition"][image]),
    }
    s = _choose(counts["slice"], params.get("slice_index"), "slice_index", None)
    contrast = _choose(counts["contrast"], params.get("contrast"), "contrast", 0)
    repetition = _choose(counts["repetition"], params.get("repetition"), "repetition", 0)
    average = params.get("average")
    if average is not None:
        average = _choose(counts["average"], average, "average", None)

    here = (heads["contrast"] == contrast) & (heads["slice"] == (0 if three_d else s))
    chosen = image & here & (heads["repetition"] == repetition)
    where = f"slice {s}, contrast {contrast}, repetition {repetition}"
    if not chosen.any():
        raise ReadError(f"the ISMRMRD file has no imaging acquisitions for {where}", "missing")
    phase = int(heads["phase"][chosen].min())
    set_ = int(heads["set"][chosen].min())
    same = (heads["phase"] == phase) & (heads["set"] == set_)
    chosen &= same
    if average is not None:
        chosen &= heads["average"] == average
        if not chosen.any():
            raise ReadError(
                f"the ISMRMRD file has no imaging acquisitions of average {average} for {where}",
                "missing",
            )
    return {
        "three_d": three_d,
        "counts": counts,
        "slice": s,
        "contrast": contrast,
        "repetition": repetition,
        "average": average,
        "phase": phase,
        "set": set_,
        "n_phases": len(np.unique(heads["phase"][image & here])),
        "n_sets": len(np.unique(heads["set"][image & here])),
        "rows": np.flatnonzero(chosen),
        "cal_rows": np.flatnonzero(kinds["cal_only"] & here & same),
    }


def _channels(heads: dict, rows: np.ndarray, limits: dict, where: str) -> int:
    channels = heads["active_channels"][rows]
    c = int(channels[0])
    if np.any(channels != c):
        raise ReadError(
            f"the imaging acquisitions of {where} have different channel counts "
            f"({sorted(set(channels.tolist()))[:5]})",
            "shape_mismatch",
        )
    if c == 0:
        raise ReadError("the ISMRMRD acquisitions have 0 active channels", "empty")
    if c > limits["max_coils"]:
        raise ReadError(
            f"the ISMRMRD data have {c} coils, more than max_coils={limits['max_coils']}",
            "too_large",
        )
    return c


def _place(heads: dict, facts: dict, kinds: dict, choice: dict, c: int, w: int, depth: int):
    """Column and partition of every line used: imaging lines, then the calibration-only
    lines of the positions no imaging line has. Also returns the calibration columns."""
    centre1 = _centre(facts, "kspace_encoding_step_1", w)
    centre2 = _centre(facts, "kspace_encoding_step_2", depth) if depth > 1 else 0

    def where(rows):
        step1, step2 = "kspace_encode_step_1", "kspace_encode_step_2"
        col = _positions(heads[step1][rows], centre1, w, step1, rows)
        kz = _positions(heads[step2][rows], centre2, depth, step2, rows)
        return col, kz

    rows, cal_rows = choice["rows"], choice["cal_rows"]
    other = heads["active_channels"][cal_rows] != c
    if other.any():
        kinds["skipped"]["calibration with other channels"] = int(np.count_nonzero(other))
        cal_rows = cal_rows[~other]
    col, kz = where(rows)
    cal_col, cal_kz = where(cal_rows)
    calibration = np.unique(np.concatenate([cal_col, col[kinds["cal_and_img"][rows]]]))
    free = ~np.isin(cal_col * depth + cal_kz, col * depth + kz)
    return (
        np.concatenate([rows, cal_rows[free]]),
        np.concatenate([col, cal_col[free]]),
        np.concatenate([kz, cal_kz[free]]),
        calibration,
    )


def _weights(cols: np.ndarray, kzs: np.ndarray, depth: int, partition: int) -> np.ndarray:
    """Per line: 1 / (lines at its position) (the mean of averages), times, for 3-D data,
    the factor of its kz in the centred orthonormal inverse FFT at ``partition``."""
    _, inverse, per_key = np.unique(cols * depth + kzs, return_inverse=True, return_counts=True)
    weights = 1.0 / per_key[inverse.reshape(-1)]
    if depth == 1:
        return weights
    pairs = np.unique(cols * depth + kzs)  # sorted by column, then kz
    _, per_col = np.unique(pairs // depth, return_counts=True)
    kz_sets = pairs % depth
    if np.any(per_col != per_col[0]) or np.any(
        kz_sets.reshape(per_col.size, per_col[0]) != kz_sets[: per_col[0]]
    ):
        raise ReadError(
            "ISMRMRD 3-D data with different kz lines for different ky lines (2-D "
            "undersampling): the app reads 3-D data as partitions, which needs the same kz "
            "lines for every ky line",
            "unsupported",
        )
    kz_set = kz_sets[: per_col[0]]
    if kz_set.size != kz_set[-1] - kz_set[0] + 1:  # holes along kz: the partitions would fold
        raise ReadError(
            f"ISMRMRD 3-D data undersampled along kz ({kz_set.size} of {depth} partition "
            "encodings, not contiguous): the app reads 3-D data as partitions, which needs "
            "contiguous kz lines (a partial-Fourier block is fine)",
            "unsupported",
        )
    angle = 2 * np.pi * (kzs - depth // 2) * (partition - depth // 2) / depth
    return weights * np.exp(1j * angle) / math.sqrt(depth)


def _fill(table, heads, kinds, rows, cols, weights, kept, offsets, shape) -> np.ndarray:
    """K-space (C, H, W): each line's kept samples, weighted, added at its place."""
    kspace = np.zeros(shape, np.complex64)
    slot = {int(r): i for i, r in enumerate(rows)}
    for row, samples in _samples(table, np.sort(rows), heads):
        i = slot[row]
        pre, n, off = int(heads["discard_pre"][row]), int(kept[i]), int(offsets[i])
        line = samples[:, pre : pre + n]
        if kinds["reverse"][row]:
            line = line[:, ::-1]
        target = kspace[:, off : off + n, cols[i]]  # a view
        if weights[i] == 1:
            target += line
        else:
            target += (line * weights[i]).astype(np.complex64)
    return kspace


def _assemble(table, heads: dict, facts: dict, params: dict, limits: dict) -> tuple[dict, dict]:
    kinds = _classify(heads)
    _unsupported_trajectory(facts, heads, kinds["lines"])
    if not kinds["image"].any():
        raise ReadError(
            f"the ISMRMRD file holds no imaging acquisitions ({heads['flags'].size} acquisitions: "
            f"{int(np.count_nonzero(kinds['noise']))} noise scans, "
            f"{int(np.count_nonzero(kinds['cal_only']))} calibration lines, "
            f"{kinds['n_skipped']} skipped)",
            "empty",
        )
    h, w, depth = _matrix(facts, heads, kinds["image"])
    choice = _select(heads, kinds, params, depth)
    c = _channels(heads, choice["rows"], limits, f"slice {choice['slice']}")
    keep, factor = _oversampling(facts, h)
    h_out = keep or h
    check_plane(h_out, w, limits, "ISMRMRD k-space")
    check_elements(c * h * w, limits, f"ISMRMRD k-space ({c} coils x {h} x {w})")

    rows, cols, kzs, calibration = _place(heads, facts, kinds, choice, c, w, depth)
    kept, offsets = _readout_offsets(heads, rows, h)
    weights = _weights(cols, kzs, depth, choice["slice"])
    kspace = _fill(table, heads, kinds, rows, cols, weights, kept, offsets, (c, h, w))
    if keep:
        kspace = _remove_oversampling(kspace, keep)
    arrays = {"kspace": kspace}

    sampled = np.unique(cols)
    span = int(sampled[-1] - sampled[0] + 1)
    undersampled = span > sampled.size
    if undersampled:
        mask = np.zeros((h_out, w), bool)
        mask[:, sampled] = True
        arrays["mask"] = mask
    noise = _noise(table, heads, kinds["noise"], c, limits, arrays)

    accel = facts["acceleration"] or [None, None]
    meta = {
        "n_slices": int(choice["counts"]["slice"]),
        "slice_index": int(choice["slice"]),
        "n_coils": c,
        "selectable": {k: v for k, v in choice["counts"].items() if v > 1},
        "calibration_lines": int(calibration.size),
        "header": facts,
        "three_d": choice["three_d"],
        "average": choice["average"],
        "n_averages": choice["counts"]["average"],
        "contrast": choice["contrast"],
        "repetition": choice["repetition"],
        "phase": choice["phase"],
        "set": choice["set"],
        "acquired_lines": int(sampled.size),
        "sampled_span": span,
        "undersampled": bool(undersampled),
        "acceleration": accel[0] if accel[0] and accel[0] > 1 else None,
        "oversampling_removed": bool(keep),
        "oversampling_factor": float(factor),
        "encoded_readout": int(h),
        "n_acquisitions": int(heads["flags"].size),
        "lines_used": int(rows.size),
        "skipped": kinds["skipped"],
        **noise,
    }
    meta["description"] = describe(meta, choice, (h_out, w))
    return meta, arrays


def describe(meta: dict, choice: dict, shape: tuple[int, int]) -> str:
    """The data in words, e.g. ``"ISMRMRD .h5, Cartesian, slice 1 of 2, 4 coils, 128x128,
    2x accelerated with 24 calibration lines, readout oversampling removed (2x)"``."""
    h, w = shape
    three_d, counts = choice["three_d"], choice["counts"]
    c = meta["n_coils"]
    parts = [
        "ISMRMRD .h5",
        "3-D Cartesian" if three_d else "Cartesian",
        f"{'partition' if three_d else 'slice'} {meta['slice_index']} of {meta['n_slices']}",
        f"{c} coil{'s' if c > 1 else ''}",
        f"{h}x{w}",
    ]
    n_cal, lines = meta["calibration_lines"], meta["acquired_lines"]
    if meta["undersampled"]:
        if meta["acceleration"]:
            text = f"{meta['acceleration']}x accelerated"
        else:
            text = f"undersampled ({100 * lines / w:.3g}% of lines acquired)"
        parts.append(text + (f" with {n_cal} calibration lines" if n_cal else ""))
    elif meta["sampled_span"] < w:
        parts.append(f"partial Fourier ({meta['sampled_span']} of {w} lines)")
    if meta["oversampling_removed"]:
        parts.append(f"readout oversampling removed ({meta['oversampling_factor']:g}x)")
    n_avg = counts["average"]
    if n_avg > 1:
        avg = choice["average"]
        parts.append(f"mean of {n_avg} averages" if avg is None else f"average {avg} of {n_avg}")
    for name in ("contrast", "repetition"):
        if counts[name] > 1:
            parts.append(f"{name} {choice[name]} of {counts[name]}")
    if choice["n_phases"] > 1:
        parts.append(f"phase {choice['phase']} of {choice['n_phases']}")
    if choice["n_sets"] > 1:
        parts.append(f"set {choice['set']} of {choice['n_sets']}")
    n_noise = meta["noise_scans"]
    if n_noise:
        parts.append(f"{n_noise} noise scan{'s' if n_noise > 1 else ''}")
    return ", ".join(parts)


def _noise(table, heads: dict, noise: np.ndarray, c: int, limits: dict, arrays: dict) -> dict:
    """Concatenate the noise scans with ``c`` channels into ``arrays["noise"]`` (C, N)."""
    rows = np.flatnonzero(noise)
    other = rows[heads["active_channels"][rows] != c]
    rows = rows[heads["active_channels"][rows] == c]
    info = {"noise_scans": int(rows.size), "noise_scans_other_channels": int(other.size)}
    if not rows.size:
        return info
    pre, post = heads["discard_pre"][rows], heads["discard_post"][rows]
    kept = np.maximum(heads["number_of_samples"][rows] - pre - post, 0)
    total = int(kept.sum())
    info["noise_samples"] = total
    if total == 0:
        return info
    check_elements(c * total, limits, f"ISMRMRD noise scans ({c} coils x {total} samples)")
    out = np.empty((c, total), np.complex64)
    start = 0
    for i, (_, samples) in enumerate(_samples(table, rows, heads)):
        n = int(kept[i])
        out[:, start : start + n] = samples[:, int(pre[i]) : int(pre[i]) + n]
        start += n
    arrays["noise"] = out
    return info
