"""Read one slice of a Siemens twix raw-data file (``.dat``, VB or VD/VE) in the helper process.

A twix file holds one or more *measurements* (VD/VE "multi-raid" files; the last one is the
imaging scan, earlier ones are adjustments such as noise scans), each a text protocol header
followed by a chain of *measurement data blocks* (MDBs): one readout of every coil with a
header (MDH) of flags and loop counters (``Lin``, ``Par``, ``Sli``, ``Ave``, ``Eco``, ``Rep``,
``Seg``, ...). twixtools parses the header and the MDH chain and sorts the MDBs by their flags
into categories (``image``, ``noise``, ``refscan``, ``phasecorr``, ...); this module builds one
Cartesian k-space slice from them, its own way, so that every size is checked before anything
is allocated and the k-space centre lands where the app expects it:

* **Layout**: ``kspace`` is complex64 (coils, readout, lines): rows (H) are the readout, columns
  (W) the phase-encode lines that undersampling masks remove. The readout sample
  ``CenterCol`` and the line ``CenterLin`` of the MDHs land at index (H // 2, W // 2)
  (the centred, orthonormal convention of :func:`recon_core.ops.fft.fft2c`).
* **Matrix**: full size from the protocol (``sKSpace.lBaseResolution`` x readout oversampling,
  ``lPhaseEncodingLines``); an asymmetric echo or phase partial Fourier is zero-filled in place
  (missing samples and lines are zeros at their own positions). Header values that cannot hold
  the acquired counters are widened to fit them, symmetrically about the centre (at most
  :data:`MAX_WIDENING` times; header values that much larger than the data are ignored).
* **Readout oversampling** (``Dicom.flReadoutOSFactor``, 2 on Siemens scanners) is removed by
  cropping the readout field of view, one readout at a time: 320 samples of the shipped GRE
  become 160.
* **Ramp sampling** (EPI, ``Meas.alRegridMode`` >= 2) is regridded with twixtools'
  trajectory (:func:`twixtools.recon_helpers.perform_regrid`, whose k = 0 lies half a sample
  before index H // 2: a phase ramp in the image, no change to its magnitude); lines flagged
  ``REFLECT`` (every other EPI line) are reversed, as twixtools does.
* **EPI odd/even correction** (``params["phase_correction"]``): from the phase-correction
  navigators of the slice, the phase difference phi(x) between the non-reflected and the
  reflected navigators, in hybrid space (x, ky) and pooled over coils, is fitted as
  constant + linear in x (lag-1 autocorrelation for the slope, then the weighted mean phase);
  reflected lines get exp(+i phi / 2), the others exp(-i phi / 2), before lines are averaged.
* **Selection**: one slice (``Sli``), contrast (``Eco``, None: 0), repetition (``Rep``,
  None: 0); averages (``Ave``) and segments (``Seg``) of the same line are averaged, unless
  ``average`` picks one. Other counters (``Set``, ``Phs``, ``Ida``..``Ide``) keep their first
  value, reported in ``meta["ignored_counters"]``.
* **3-D** (``Par`` counters > 0): the partitions (zero-filled to ``lPartitions`` about
  ``CenterPar``) are inverse-Fourier transformed along ``Par`` and become slices:
  ``n_slices`` = slices x partitions, slice index ``s * partitions + p``.
* **GRAPPA reference lines** (``PATREFSCAN``): merged into the image k-space where the image
  lines are missing. ``mask`` (bool (H, W), acquired image + reference points) is returned only
  when lines inside the sampled range are missing; ``meta["calibration_lines"]`` counts the
  reference lines.
* **Noise scans** (``NOISEADJSCAN``, in the image measurement or an earlier one): ``noise`` is
  complex64 (coils, samples), every noise sample of each coil, oversampling kept.

Safety: twixtools trusts the file (a lying MDH makes its parser loop forever, a lying header
buffer length allocates gigabytes, a lying array index in the protocol builds a list that
long), so :func:`_survey` first walks the file's structure the way twixtools will, refusing
anything that does not fit in the file or would explode, and only then is twixtools called
(:func:`twixtools.read_twix` without its geometry and PMU parsing, which trust the file too,
then :func:`twixtools.map_twix` on the result). k-space sizes are checked against the limits
from the MDHs before any array is made, and readouts are processed one at a time, so nothing
much larger than the output is allocated. Only the standard library, NumPy and twixtools are
imported (see :mod:`..readers`).
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import re
import shutil
import struct
import tempfile

import numpy as np

from .wire import ReadError, check_elements, check_plane, pick

#: Most MDBs (readouts) accepted in one file: more than a 200 MiB file of 2-channel
#: 128-sample readouts holds (about 90 000), few enough for twixtools' Python objects.
MAX_MDBS = 1 << 18

#: Most protocol buffers in one measurement header (real files have six).
MAX_HEADER_BUFFERS = 256

#: Most an axis may be widened beyond the protocol's matrix to hold the acquired counters
#: (phase oversampling doubles the lines at most).
MAX_WIDENING = 4

#: Array indices above this in a protocol make twixtools build huge lists; real ones stay < 100.
MAX_PROTOCOL_INDEX = 99_999

#: Most ``### ASCCONV BEGIN`` markers in one protocol buffer (real ones have one or none), and
#: the longest word in its ASCCONV part (real ones: under 100 bytes).
MAX_ASCCONV_BLOCKS, MAX_ASCCONV_TOKEN = 4, 4096

_VE_RAID_HEADER = 8 + 64 * 152  # MultiRaidFileHeader: count + 64 entries
_VE_MDH, _VB_MDH, _VE_CHANNEL_HDR = 192, 128, 32
_FLAG_ACQEND, _FLAG_SYNCDATA = 1 << 0, 1 << 5
_BUFFER_NAME = re.compile(rb"(\w{4,})\x00(.{4})", re.DOTALL)  # twixtools' pattern
_BIG_INDEX = re.compile(rb"\[\s*(\d{%d,})\s*\]" % (len(str(MAX_PROTOCOL_INDEX)) + 1))

#: MDH loop counters, in the columns of :func:`_table`.
_COUNTERS = ("Lin", "Par", "Sli", "Ave", "Eco", "Rep", "Seg", "Set", "Phs",
             "Ida", "Idb", "Idc", "Idd", "Ide")
_EXTRA = ("Cha", "Col", "CenterCol", "CenterLin", "CenterPar", "REFLECT", "SKIP_REGRIDDING")
_COL = {name: i for i, name in enumerate(_COUNTERS + _EXTRA)}
#: Counters of which only the first value present is used.
_FIRST_ONLY = ("Set", "Phs", "Ida", "Idb", "Idc", "Idd", "Ide")

PHASE_CORRECTION = "navigator odd/even (constant + linear)"


# --------------------------------------------------------------------------- file on disk


@contextlib.contextmanager
def _on_disk(file, limits: dict):
    """A path twixtools can open: ``file`` itself, or a temporary ``.dat`` copy / link.

    twixtools reads by file name only (numpy ``fromfile``), and appends ``.dat`` to a name
    without an extension, so bytes and extension-less paths go through a temporary directory
    that is removed afterwards.
    """
    if isinstance(file, (str, os.PathLike)):
        path = os.fspath(file)
        if os.path.splitext(path)[1]:
            yield path
            return
        with tempfile.TemporaryDirectory(prefix="twix-") as tmp:
            link = os.path.join(tmp, "raw.dat")
            try:
                os.symlink(os.path.abspath(path), link)
            except OSError:
                shutil.copyfile(path, link)
            yield link
        return
    data = file.read(int(limits["max_file_bytes"]) + 1)
    if len(data) > limits["max_file_bytes"]:
        raise ReadError(
            f"twix file is larger than max_file_bytes={limits['max_file_bytes']}", "too_large"
        )
    with tempfile.TemporaryDirectory(prefix="twix-") as tmp:
        path = os.path.join(tmp, "upload.dat")
        with open(path, "wb") as f:
            f.write(data)
        yield path


# ----------------------------------------------------------------------- structure survey


def _measurements(f, size: int) -> tuple[bool, list[tuple[int, int]]]:
    """(VD/VE?, [(offset, end), ...]) of the measurements, decided as twixtools decides."""
    if size < 8:
        raise ReadError(f"file of {size} bytes is too short to be a Siemens twix file", "truncated")
    f.seek(0)
    first, second = struct.unpack("<II", f.read(8))
    if not (first < 10000 and second <= 64):  # twixtools: then it is a VB file
        return False, [(0, size)]
    if size < _VE_RAID_HEADER:
        raise ReadError(
            f"twix (VD/VE) file of {size} bytes is shorter than its {_VE_RAID_HEADER}-byte "
            "measurement table", "truncated",
        )
    if second == 0:
        raise ReadError("twix (VD/VE) file lists no measurements", "empty")
    f.seek(8)
    table = f.read(64 * 152)
    scans = []
    for k in range(second):
        off, length = struct.unpack_from("<QQ", table, k * 152 + 8)
        if length == 0 and second == 1:
            length = size - off
        if off < _VE_RAID_HEADER or off + 8 > size:
            raise ReadError(
                f"twix measurement {k} starts at byte {off}, outside the file of {size} bytes",
                "corrupt" if off < _VE_RAID_HEADER else "truncated",
            )
        if off + length > size:
            raise ReadError(
                f"twix measurement {k} declares {length} bytes from byte {off}, but the file "
                f"has only {size} bytes: the file is truncated", "truncated",
            )
        scans.append((off, off + length))
    return True, scans


def _survey_header(f, off: int, size: int, ve: bool) -> tuple[int, list[str]]:
    """Check a measurement's protocol header as twixtools will read it; (length, buffer names)."""
    f.seek(off)
    head = f.read(8)
    if len(head) < 8:
        raise ReadError("twix measurement header is cut off", "truncated")
    hdr_len, n_buffers = struct.unpack("<II", head)
    end = off + hdr_len
    if hdr_len < 8 or end > size:
        if not ve:  # the first four bytes are all that made this look like a VB file
            raise ReadError(
                f"not a Siemens twix file, or a truncated one: its header would be {hdr_len} "
                f"bytes long, but the file has {size} bytes", "corrupt",
            )
        raise ReadError(
            f"twix measurement header declares {hdr_len} bytes from byte {off}, but the file "
            f"has {size} bytes", "truncated" if hdr_len >= 8 else "corrupt",
        )
    if n_buffers > MAX_HEADER_BUFFERS:
        raise ReadError(
            f"twix header declares {n_buffers} protocol buffers (at most {MAX_HEADER_BUFFERS})",
            "corrupt",
        )
    names, pos = [], off + 8
    for _ in range(n_buffers):
        f.seek(pos)
        match = _BUFFER_NAME.search(f.read(48))
        if match is None:
            break
        name = match.group(1).decode("latin1")
        (buf_len,) = struct.unpack("<I", match.group(2))
        pos += len(match.group())
        if pos + buf_len > end:
            raise ReadError(
                f"twix protocol buffer {name[:40]!r} declares {buf_len} bytes, more than the "
                f"header of {hdr_len} bytes holds", "corrupt",
            )
        f.seek(pos)
        why = _protocol_problem(f.read(buf_len))
        if why:
            raise ReadError(f"twix protocol buffer {name[:40]!r} {why}; the header is corrupt",
                            "corrupt")
        names.append(name)
        pos += buf_len
    return hdr_len, names


def _protocol_problem(text: bytes) -> str | None:
    """What in a protocol buffer would make twixtools' text parser explode, or None.

    An array index ``[N]`` makes it build a list of N entries; each ``### ASCCONV BEGIN``
    without its end costs a scan of the whole buffer; and its ``name = value`` pattern is
    quadratic in the length of a token. Real protocols have indices below 100, one ASCCONV
    block and tokens below 100 bytes in it. (Hand-crafted text can still make twixtools' other
    patterns slow; the helper process's timeout bounds that.)
    """
    if _BIG_INDEX.search(text):
        return f"has an array index above {MAX_PROTOCOL_INDEX}"
    begins = text.count(b"### ASCCONV BEGIN")
    if begins > MAX_ASCCONV_BLOCKS:
        return f"has {begins} ASCCONV blocks (at most {MAX_ASCCONV_BLOCKS})"
    if begins:
        block = text[text.index(b"### ASCCONV BEGIN") :]
        longest = max(map(len, block.split()), default=0)
        if longest > MAX_ASCCONV_TOKEN:
            return f"has a {longest}-byte word in its ASCCONV part (at most {MAX_ASCCONV_TOKEN})"
    return None


def _survey(path: str, limits: dict) -> dict:
    """Walk the file as :func:`twixtools.read_twix` will, refusing what would hang or explode.

    twixtools loops while the next MDB header fits in a measurement and advances by the MDB's
    length computed from its channel and sample counts; a zero length loops forever and a
    length past the end of the file reads garbage. Here each length is checked, MDBs are
    counted, and channel counts are bounded by ``max_coils``.

    Returns:
        ``{"version": "VB" | "VD/VE", "n_measurements": int, "n_mdbs": int}``.
    """
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        ve, scans = _measurements(f, size)
        mdh_size = _VE_MDH if ve else _VB_MDH
        n_mdbs = 0
        for k, (off, end) in enumerate(scans):
            hdr_len, names = _survey_header(f, off, size, ve)
            if k == len(scans) - 1 and "MeasYaps" not in names:
                raise ReadError(
                    "not a Siemens twix file: its header has no MeasYaps protocol "
                    f"(buffers found: {', '.join(n[:20] for n in names[:8]) or 'none'})",
                    "corrupt",
                )
            pos = off + hdr_len
            while pos + 128 < end:
                f.seek(pos)
                mdh = f.read(mdh_size)
                if len(mdh) < mdh_size:
                    raise ReadError(
                        f"twix data block at byte {pos} is cut off (file of {size} bytes)",
                        "truncated",
                    )
                (flags_dma,) = struct.unpack_from("<I", mdh, 0)
                (mask,) = struct.unpack_from("<Q", mdh, 40 if ve else 20)
                samples, channels = struct.unpack_from("<HH", mdh, 48 if ve else 28)
                if mask & _FLAG_ACQEND:
                    break
                if mask & _FLAG_SYNCDATA:
                    dma = flags_dma % (1 << 25)
                    if dma < mdh_size:
                        raise ReadError(
                            f"twix sync-data block at byte {pos} declares {dma} bytes, fewer "
                            "than its own header", "corrupt",
                        )
                else:
                    if channels > limits["max_coils"]:
                        raise ReadError(
                            f"twix readout at byte {pos} has {channels} channels, more than "
                            f"max_coils={limits['max_coils']}", "too_large",
                        )
                    per_channel = 8 * samples + (_VE_CHANNEL_HDR if ve else _VB_MDH)
                    dma = channels * per_channel + (_VE_MDH if ve else 0)
                    if dma == 0:
                        raise ReadError(f"twix readout at byte {pos} has no channels", "corrupt")
                if pos + dma > size:
                    raise ReadError(
                        f"twix readout at byte {pos} needs {dma} bytes but the file ends at "
                        f"byte {size}: the file is truncated", "truncated",
                    )
                n_mdbs += 1
                if n_mdbs > MAX_MDBS:
                    raise ReadError(
                        f"twix file has more than {MAX_MDBS} readouts; too many to read",
                        "too_large",
                    )
                pos += dma
    return {"version": "VD/VE" if ve else "VB", "n_measurements": len(scans), "n_mdbs": n_mdbs}


# --------------------------------------------------------------------------- header facts


def _get(tree, *path):
    """``tree[p0][p1]...`` for dicts (str keys) and lists (int keys), or None."""
    for key in path:
        if isinstance(key, str) and isinstance(tree, dict):
            tree = tree.get(key)
        elif isinstance(key, int) and isinstance(tree, list) and 0 <= key < len(tree):
            tree = tree[key]
        else:
            return None
    return tree


def _number(value, lo: float = -math.inf, hi: float = math.inf):
    """``value`` as a finite float within [lo, hi], else None (bools and text are None)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) and lo <= value <= hi else None


def _integer(value, lo: int, hi: int):
    number = _number(value, lo, hi)
    return int(number) if number is not None and number == int(number) else None


def _text(value, limit: int = 80):
    """Printable text of at most ``limit`` characters, or None."""
    if not isinstance(value, str):
        return None
    value = "".join(ch for ch in value.strip().strip('"') if ch.isprintable())[:limit]
    return value or None


def _header_facts(hdr: dict, contrast: int) -> dict:
    """Facts of the protocol for the UI, each None when the header lacks it."""
    yaps = _get(hdr, "MeasYaps") or {}
    seq_file = _text(_get(yaps, "tSequenceFileName"), 200)
    sequence = seq_file.replace("/", "\\").rsplit("\\", 1)[-1] if seq_file else None
    te = _get(yaps, "alTE", contrast)
    return {
        "protocol": (_text(_get(yaps, "tProtocolName"))
                     or _text(_get(hdr, "Config", "ProtocolName"))),
        "sequence": _text(sequence) or _text(_get(hdr, "Config", "SequenceFileName")),
        "sequence_string": _text(_get(hdr, "Config", "SequenceString")),
        "tr_ms": _ms(_get(yaps, "alTR", 0)),
        "te_ms": _ms(te if te is not None else _get(yaps, "alTE", 0)),
        "ti_ms": _ms(_get(yaps, "alTI", 0)),
        "flip_angle_deg": _number(_get(yaps, "adFlipAngleDegree", 0), 0, 360),
        "fov_mm": _pair(_get(yaps, "sSliceArray", "asSlice", 0, "dReadoutFOV"),
                        _get(yaps, "sSliceArray", "asSlice", 0, "dPhaseFOV"), 0, 1e4),
        "slice_thickness_mm": _number(
            _get(yaps, "sSliceArray", "asSlice", 0, "dThickness"), 0, 1e4),
        "field_strength_t": _number(_get(hdr, "Dicom", "flMagneticFieldStrength"), 0, 100),
        "matrix": _pair(_get(yaps, "sKSpace", "lBaseResolution"),
                        _get(yaps, "sKSpace", "lPhaseEncodingLines"), 1, 65535, integer=True),
        "readout_oversampling": _number(_get(hdr, "Dicom", "flReadoutOSFactor"), 1, 16),
        "scanner": _text(" ".join(
            t for t in (_text(_get(hdr, "Dicom", "Manufacturer")),
                        _text(_get(hdr, "Dicom", "ManufacturersModelName"))) if t
        )),
        "software": _text(_get(hdr, "Dicom", "SoftwareVersions")),
    }


def _ms(microseconds):
    value = _number(microseconds, 0, 1e9)
    return None if value is None else round(value / 1000.0, 4)


def _pair(a, b, lo, hi, integer: bool = False):
    conv = (lambda v: _integer(v, lo, hi)) if integer else (lambda v: _number(v, lo, hi))
    a, b = conv(a), conv(b)
    return None if a is None or b is None else [a, b]


# ------------------------------------------------------------------------ MDB bookkeeping


def _table(mdbs) -> np.ndarray:
    """int64 (n, len(_COL)): counters, channels, samples, centres and flags of each MDB."""
    rows = []
    for mdb in mdbs:
        mdh = mdb.mdh
        counter = mdh.Counter
        rows.append([getattr(counter, key) for key in _COUNTERS] + [
            mdh.UsedChannels, mdh.SamplesInScan, mdh.CenterCol, mdh.CenterLin, mdh.CenterPar,
            mdb.is_flag_set("REFLECT"), mdb.is_flag_set("SKIP_REGRIDDING"),
        ])
    return np.array(rows, dtype=np.int64).reshape(len(rows), len(_COL))


def _column(table: np.ndarray, name: str) -> np.ndarray:
    return table[:, _COL[name]]


def _mode(values: np.ndarray) -> int:
    """The most common value (the smallest among ties)."""
    uniq, counts = np.unique(values, return_counts=True)
    return int(uniq[np.argmax(counts)])


def _count(table: np.ndarray, name: str) -> int:
    """max + 1 of a counter (its declared range)."""
    return int(_column(table, name).max()) + 1 if len(table) else 0


def _grid_size(header_size, centre: int, lo: int, hi: int, what: str) -> int:
    """Length of an axis holding indices lo..hi with ``centre`` at length // 2.

    The protocol's size when the acquired indices fit it, else the smallest even length that
    holds them symmetrically about the centre. Sizes more than :data:`MAX_WIDENING` times
    apart are not trusted: a protocol size that large is ignored, counters that far out are
    refused (either would otherwise make a huge, nearly empty k-space).
    """
    n = max(2 * centre, 2 * (hi - centre + 1), hi + 1, 2)
    n += n % 2
    if header_size is not None and header_size <= MAX_WIDENING * n:
        off = header_size // 2 - centre
        if lo + off >= 0 and hi + off < header_size:
            return int(header_size)
    if header_size is not None and n > MAX_WIDENING * header_size:
        raise ReadError(
            f"twix {what} counters {lo}..{hi} about centre {centre} need {n} {what}s, far more "
            f"than the protocol's {header_size}; the data headers are corrupt", "corrupt",
        )
    return n


class _Readout:
    """How one readout becomes a row of the output: ramp-sampling regridding, reversal,
    zero-filling to the full oversampled length about ``CenterCol``, the EPI phase correction
    and oversampling removal, in that order, one readout at a time (so that no array larger
    than the output is ever made)."""

    def __init__(self, n_col: int, center_col: int, n_full: int, n_out: int, traj) -> None:
        self.n_col, self.n_full, self.n_out = n_col, n_full, n_out
        self.offset = n_full // 2 - center_col
        self.traj = traj if traj is not None and len(traj) == n_col and n_col >= 4 else None
        self.phi = None  # EPI phase difference, (n_full,), set by the navigator estimate

    def start(self, reflect: bool) -> int:
        """First index of the acquired samples in the full readout (reversed ones mirror)."""
        return self.n_full - self.offset - self.n_col if reflect else self.offset

    def place(self, mdb, reflect: bool, skip_regrid: bool) -> np.ndarray:
        """complex128 (C, n_full): the readout regridded, reversed if reflected, zero-filled."""
        from twixtools.recon_helpers import perform_regrid

        data = np.asarray(mdb.data, dtype=np.complex128)
        if data.ndim != 2 or data.shape[-1] != self.n_col:
            raise ReadError(f"twix readout has shape {data.shape}; expected (C, {self.n_col})")
        if self.traj is not None and not skip_regrid:
            data = np.asarray(perform_regrid(data, self.traj, float(mdb.mdh.ReadOutOffcentre)))
        if reflect:
            data = data[:, ::-1]
        out = np.zeros((data.shape[0], self.n_full), np.complex128)
        start = self.start(reflect)
        out[:, start : start + self.n_col] = data
        return out

    def row(self, mdb, flags: np.ndarray) -> np.ndarray:
        """complex128 (C, n_out): one readout, ready to be added into the k-space."""
        reflect = bool(flags[_COL["REFLECT"]])
        line = self.place(mdb, reflect, bool(flags[_COL["SKIP_REGRIDDING"]]))
        if self.phi is None and self.n_out == self.n_full:
            return line
        hybrid = _ifftc(line, axis=-1)
        if self.phi is not None:  # half the odd/even difference each way
            hybrid *= np.exp((0.5j if reflect else -0.5j) * self.phi)
        first = self.n_full // 2 - self.n_out // 2
        return _fftc(hybrid[:, first : first + self.n_out], axis=-1)

    def acquired(self, reflected: bool, forward: bool) -> np.ndarray:
        """bool (n_out,): output samples inside the acquired readout (asymmetric echo)."""
        step = self.n_full / self.n_out
        pos = self.n_full // 2 + (np.arange(self.n_out) - self.n_out // 2) * step
        out = np.zeros(self.n_out, bool)
        for use, flip in ((forward, False), (reflected, True)):
            if use:
                start = self.start(flip)
                out |= (pos >= start - 0.5) & (pos <= start + self.n_col - 0.5)
        return out


def _ifftc(x: np.ndarray, axis: int) -> np.ndarray:
    x = np.fft.ifftshift(x, axes=axis)
    return np.fft.fftshift(np.fft.ifft(x, axis=axis, norm="ortho"), axes=axis)


def _fftc(x: np.ndarray, axis: int) -> np.ndarray:
    x = np.fft.ifftshift(x, axes=axis)
    return np.fft.fftshift(np.fft.fft(x, axis=axis, norm="ortho"), axes=axis)


def _centred_idft_row(n: int, index: int) -> np.ndarray:
    """Row ``index`` of the centred orthonormal inverse DFT of length n (DC at n // 2)."""
    k = np.arange(n) - n // 2
    x = index - n // 2
    return np.exp(2j * np.pi * k * x / n) / math.sqrt(n)


# ------------------------------------------------------------------- EPI phase correction


def _navigator_phase(navs, nav_table: np.ndarray, readout: _Readout, n_coils: int):
    """phi(x) (n_full,): phase of the non-reflected minus the reflected navigators.

    The navigators are processed like image readouts (regridded, reversed, zero-filled), taken
    to hybrid space, averaged per polarity, multiplied (forward x conj(reflected)) and summed
    over coils; the phase of that product is fitted as constant + linear in x: the slope from
    the lag-1 autocorrelation, the constant from the mean phase after removing the slope (both
    weighted by the signal, so noise-only samples hardly count).

    Returns:
        (phi, None), or (None, why not).
    """
    groups: dict[bool, list[np.ndarray]] = {True: [], False: []}
    for mdb, flags in zip(navs, nav_table):
        if flags[_COL["Col"]] != readout.n_col or flags[_COL["Cha"]] != n_coils:
            continue
        reflect = bool(flags[_COL["REFLECT"]])
        line = readout.place(mdb, reflect, bool(flags[_COL["SKIP_REGRIDDING"]]))
        groups[reflect].append(_ifftc(line, axis=-1))
    if not groups[True] or not groups[False]:
        return None, "the navigators do not include both readout polarities"
    forward, reflected = np.mean(groups[False], axis=0), np.mean(groups[True], axis=0)
    product = np.sum(forward * np.conj(reflected), axis=0)
    if not np.isfinite(product).all() or not np.any(product):
        return None, "the navigators hold no usable signal"
    x = np.arange(readout.n_full) - readout.n_full // 2
    slope = float(np.angle(np.sum(product[1:] * np.conj(product[:-1]))))
    const = float(np.angle(np.sum(product * np.exp(-1j * slope * x))))
    return const + slope * x, None


def _epi(meas: dict, sel: np.ndarray, choice: dict, readout: _Readout, n_coils: int,
         wanted: bool) -> dict | None:
    """Report of the EPI handling (None without reflected lines); sets ``readout.phi``."""
    reflect = _column(sel, "REFLECT").astype(bool)
    if not reflect.any():
        return None
    epi = {"reflected_lines": int(reflect.sum()), "phase_correction": "none"}
    navs = meas.get("phasecorr")
    if not wanted:
        epi["phase_correction_note"] = "switched off"
        return epi
    if navs is None or not navs.mdb_list:
        epi["phase_correction_note"] = "the file has no phase-correction navigators"
        return epi
    table = _table(navs.mdb_list)
    use = _column(table, "Sli") == choice["sli"]
    same_rep = use & (_column(table, "Rep") == choice["repetition"])
    if same_rep.any():
        use = same_rep
    phi, why = _navigator_phase(
        [m for m, u in zip(navs.mdb_list, use) if u], table[use], readout, n_coils
    )
    if phi is None:
        epi["phase_correction_note"] = why
        return epi
    readout.phi = phi
    n = readout.n_full
    epi.update({
        "phase_correction": PHASE_CORRECTION,
        "navigators": int(use.sum()),
        "phase_difference_rad": {"constant": round(float(phi[n // 2]), 4),
                                 "per_sample": round(float(phi[1] - phi[0]), 6)},
    })
    return epi


# ------------------------------------------------------------------------------ the read


def read(file, params: dict, limits: dict) -> tuple[dict, dict]:
    """Read one slice of a Siemens twix file.

    Args:
        file: path (str) or binary file object (e.g. :class:`io.BytesIO`) of a ``.dat`` file.
        params: ``slice_index``, ``average``, ``contrast``, ``repetition`` (int or None) and
            ``phase_correction`` (bool); see the module docstring for their meaning.
        limits: ``LoadLimits.as_dict()``.

    Returns:
        (meta, arrays): ``arrays["kspace"]`` complex64 (coils, readout, lines), centred;
        ``arrays["mask"]`` bool (readout, lines) when undersampled; ``arrays["noise"]``
        complex64 (coils, samples) when the file has noise scans. ``meta`` holds
        ``n_slices``, ``slice_index``, ``n_coils``, ``selectable``, ``description``, the
        protocol's facts (see :func:`_header_facts`) and what was done, JSON-ready.

    Raises:
        ReadError: not a twix file, truncated, lying sizes, limits exceeded, no image data,
            an index out of range (reason ``"argument"``).
        Exception: whatever twixtools raises on a corrupt header (the caller wraps it).
    """
    import twixtools

    with _on_disk(file, limits) as path:
        survey = _survey(path, limits)
        with contextlib.redirect_stdout(io.StringIO()):  # twixtools prints its warnings
            scans = twixtools.read_twix(
                path, verbose=False, parse_pmu=False, parse_geometry=False, keep_syncdata=False
            )
            twix = twixtools.map_twix(scans, verbose=False)
        if not twix:
            raise ReadError("twix file holds no measurement", "empty")
        return _assemble(twix, survey, params, limits)


def _choose(table: np.ndarray, hdr: dict, params: dict) -> tuple[np.ndarray, dict]:
    """Which image MDBs make the slice: (bool per MDB, the choices and counts)."""
    n_sli, n_eco = _count(table, "Sli"), _count(table, "Eco")
    n_rep, n_ave = _count(table, "Rep"), _count(table, "Ave")
    contrast = pick(n_eco, 0 if params.get("contrast") is None else params["contrast"], "contrast")
    repetition = pick(n_rep, 0 if params.get("repetition") is None else params["repetition"],
                      "repetition")
    average = params.get("average")
    if average is not None:
        average = pick(n_ave, average, "average")
    keep = (_column(table, "Eco") == contrast) & (_column(table, "Rep") == repetition)
    if average is not None:
        keep &= _column(table, "Ave") == average

    # slices: the Sli counter, times the partitions of a 3-D scan
    par = _column(table, "Par")
    three_d = bool(par.max() > 0)
    c_par, n_par = 0, 1
    if three_d:
        centres = _column(table, "CenterPar")
        c_par = _mode(centres[keep] if keep.any() else centres)
        hdr_par = None
        if _get(hdr, "MeasYaps", "sKSpace", "ucDimension") == 4:
            hdr_par = _integer(_get(hdr, "MeasYaps", "sKSpace", "lPartitions"), 1, 65535)
        _check_centre("CenterPar", c_par, par[keep] if keep.any() else par)
        n_par = _grid_size(hdr_par, c_par, int(par.min()), int(par.max()), "partition")
    slice_index = pick(n_sli * n_par, params.get("slice_index"))
    sli, par_out = divmod(slice_index, n_par)
    keep &= _column(table, "Sli") == sli
    if not keep.any():
        chosen = any(params.get(k) is not None
                     for k in ("slice_index", "contrast", "repetition", "average"))
        raise ReadError(
            f"twix file has no image readouts for slice {slice_index}, contrast {contrast}, "
            f"repetition {repetition}" + ("" if average is None else f", average {average}"),
            "argument" if chosen else "empty",
        )
    ignored = {}
    for name in _FIRST_ONLY:
        values = _column(table, name)[keep]
        if values.min() != values.max():
            ignored[name] = int(len(np.unique(values)))
            keep &= _column(table, name) == values.min()
    return keep, {
        "slice_index": slice_index, "n_slices": n_sli * n_par, "sli": sli, "n_sli": n_sli,
        "three_d": three_d, "n_par": n_par, "par_off": n_par // 2 - c_par, "par_out": par_out,
        "contrast": contrast, "n_contrasts": n_eco, "repetition": repetition,
        "n_repetitions": n_rep, "average": average, "n_averages": n_ave, "ignored": ignored,
    }


def _check_centre(name: str, centre: int, indices: np.ndarray) -> None:
    """The k-space centre (line or partition) lies among the acquired ones, as it always does."""
    lo, hi = int(indices.min()), int(indices.max())
    if not lo <= centre <= hi:
        raise ReadError(
            f"twix image readouts span {name[6:].lower()} counters {lo}..{hi} but their "
            f"{name} is {centre}; the data headers are corrupt", "corrupt",
        )


def _geometry(sel: np.ndarray, hdr: dict, traj, limits: dict) -> tuple[_Readout, int, int]:
    """(readout, lines, line offset) of the slice, sizes checked against the limits."""
    n_coils, n_col = int(_column(sel, "Cha")[0]), int(_column(sel, "Col")[0])
    if (_column(sel, "Cha") != n_coils).any() or (_column(sel, "Col") != n_col).any():
        raise ReadError(
            "twix image readouts of one slice differ in channels or samples (channels "
            f"{sorted(set(_column(sel, 'Cha').tolist()))[:5]}, samples "
            f"{sorted(set(_column(sel, 'Col').tolist()))[:5]})", "shape_mismatch",
        )
    if n_coils < 1 or n_col < 2:
        raise ReadError(f"twix image readouts have {n_coils} channels of {n_col} samples", "empty")
    osf = _number(_get(hdr, "Dicom", "flReadoutOSFactor"), 1, 16) or 1.0
    base = _integer(_get(hdr, "MeasYaps", "sKSpace", "lBaseResolution"), 1, 65535)
    c_col, c_lin = _mode(_column(sel, "CenterCol")), _mode(_column(sel, "CenterLin"))
    if c_col >= n_col:
        raise ReadError(
            f"twix readouts have {n_col} samples but their centre sample is {c_col}; "
            "the data headers are corrupt", "corrupt",
        )
    lin = _column(sel, "Lin")
    _check_centre("CenterLin", c_lin, lin)
    # full readout: the protocol's, widened to hold the samples about CenterCol
    hdr_col = None if base is None else int(round(base * osf))
    n_full = _grid_size(hdr_col, c_col, 0, n_col - 1, "readout sample")
    n_out = min(n_full, max(2, int(round(n_full / osf))))
    hdr_lin = _integer(_get(hdr, "MeasYaps", "sKSpace", "lPhaseEncodingLines"), 1, 65535)
    n_lin = _grid_size(hdr_lin, c_lin, int(lin.min()), int(lin.max()), "line")
    check_plane(n_out, n_lin, limits, "twix k-space")
    return _Readout(n_col, c_col, n_full, n_out, traj), n_lin, n_lin // 2 - c_lin


def _assemble(twix: list, survey: dict, params: dict, limits: dict) -> tuple[dict, dict]:
    meas = twix[-1]
    hdr = meas.get("hdr") if isinstance(meas.get("hdr"), dict) else {}
    image = meas.get("image")
    if image is None or not image.mdb_list:
        found = ", ".join(k for k in meas if k not in ("hdr", "hdr_str")) or "nothing"
        raise ReadError(f"twix file has no image readouts (found: {found})", "missing")
    mdbs = image.mdb_list
    table = _table(mdbs)
    keep, choice = _choose(table, hdr, params)
    rows = np.flatnonzero(keep)
    sel = table[rows]
    readout, n_lin, lin_off = _geometry(sel, hdr, getattr(image, "rs_traj", None), limits)
    n_coils, n_out = int(sel[0, _COL["Cha"]]), readout.n_out
    n_par, par_off = choice["n_par"], choice["par_off"]
    check_elements(n_coils * n_out * n_lin * n_par, limits, "twix k-space (all partitions)")
    epi = _epi(meas, sel, choice, readout, n_coils, bool(params.get("phase_correction", True)))
    notes: list[str] = []

    # image readouts; averages and segments of one line are averaged
    acc = np.zeros((n_par, n_coils, n_out, n_lin), np.complex64)
    hits = np.zeros((n_lin, n_par), np.int64)
    for i, flags in zip(rows, sel):
        li, pi = int(flags[_COL["Lin"]]) + lin_off, int(flags[_COL["Par"]]) + par_off
        acc[pi, :, :, li] += readout.row(mdbs[i], flags)
        hits[li, pi] += 1
    image_lines = hits > 0

    # GRAPPA reference lines fill the lines the image lacks
    calibration, merged = 0, 0
    refs = meas.get("refscan")
    if refs is not None and refs.mdb_list:
        ref_table = _table(refs.mdb_list)
        use = ((_column(ref_table, "Sli") == choice["sli"])
               & (_column(ref_table, "Eco") == choice["contrast"])
               & (_column(ref_table, "Rep") == choice["repetition"]))
        if choice["average"] is not None:
            same_ave = use & (_column(ref_table, "Ave") == choice["average"])
            use = same_ave if same_ave.any() else use
        calibration = int(len(np.unique(_column(ref_table, "Lin")[use])))
        ref_hits = np.zeros_like(hits)
        for i in np.flatnonzero(use):
            flags = ref_table[i]
            li, pi = int(flags[_COL["Lin"]]) + lin_off, int(flags[_COL["Par"]]) + par_off
            if flags[_COL["Cha"]] != n_coils or flags[_COL["Col"]] != readout.n_col:
                notes.append("reference lines with other channels or samples were left out")
            elif 0 <= li < n_lin and 0 <= pi < n_par and not image_lines[li, pi]:
                acc[pi, :, :, li] += readout.row(refs.mdb_list[i], flags)
                ref_hits[li, pi] += 1
        merged = int(np.count_nonzero(ref_hits.any(axis=1)))
        hits += ref_hits
    np.divide(acc, np.maximum(hits, 1).T[:, None, None, :].astype(np.float32), out=acc)

    # samples an asymmetric echo did not reach stay zero (oversampling removal smeared them)
    reflect = _column(sel, "REFLECT").astype(bool)
    rows_acquired = readout.acquired(bool(reflect.any()), bool((~reflect).any()))
    if not rows_acquired.all():
        acc[:, :, ~rows_acquired] = 0

    # a 3-D scan: the chosen partition of the inverse DFT along Par
    if choice["three_d"]:
        acquired = hits > 0
        kz = np.flatnonzero(acquired.any(axis=0))
        if (kz.size and kz.size != kz[-1] - kz[0] + 1) or np.any(
            acquired[acquired.any(axis=1)] != acquired[acquired.any(axis=1)][:1]
        ):
            raise ReadError(
                f"twix 3-D data undersampled along the partitions ({kz.size} of {n_par} "
                "partition encodings, or different ones per line): the app reads 3-D data as "
                "partitions, which needs the same contiguous partitions for every line",
                "unsupported",
            )
        weights = _centred_idft_row(n_par, choice["par_out"]).astype(np.complex64)
        kspace = (weights @ acc.reshape(n_par, -1)).reshape(acc.shape[1:])
    else:
        kspace = acc[0]
    del acc
    lines = (hits > 0).any(axis=1)
    image_cols = image_lines.any(axis=1)
    sampled = np.flatnonzero(image_cols)
    undersampled = bool(sampled.size and not image_cols[sampled[0] : sampled[-1] + 1].all())
    arrays = {"kspace": kspace}
    if undersampled:
        arrays["mask"] = rows_acquired[:, None] & lines[None, :]
    noise_info = _noise(twix, n_coils, limits, arrays, notes)

    facts = _header_facts(hdr, choice["contrast"])
    counts = (("slice", choice["n_slices"]), ("average", choice["n_averages"]),
              ("contrast", choice["n_contrasts"]), ("repetition", choice["n_repetitions"]))
    meta = {
        "n_slices": choice["n_slices"],
        "slice_index": choice["slice_index"],
        "n_coils": n_coils,
        "selectable": {k: v for k, v in counts if v > 1},
        "version": survey["version"],
        "measurements": survey["n_measurements"],
        **facts,
        "readout_samples": readout.n_col,
        "oversampling_removed": readout.n_out < readout.n_full,
        "ramp_sampling_regridded": readout.traj is not None,
        "contrast": choice["contrast"],
        "repetition": choice["repetition"],
        "average": "mean" if choice["average"] is None else choice["average"],
        "n_averages": choice["n_averages"],
        "acquired_lines": int(lines.sum()),
        "zero_filled_lines": int(n_lin - lines.sum()),
        "zero_filled_readout": int((~rows_acquired).sum()),
        "undersampled": undersampled,
        "calibration_lines": calibration,
        "merged_reference_lines": merged,
    }
    if choice["three_d"]:
        meta["partitions"] = {"n": n_par, "index": choice["par_out"], "slices_2d": choice["n_sli"]}
    if epi is not None:
        meta["epi"] = epi
    if noise_info is not None:
        meta["noise"] = noise_info
    if choice["ignored"]:
        meta["ignored_counters"] = choice["ignored"]
        notes.append("only the first of " + ", ".join(
            f"{v} {k}" for k, v in choice["ignored"].items()) + " was read")
    if notes:
        meta["notes"] = sorted(set(notes))
    meta["description"] = _describe(meta, n_out, n_lin, arrays.get("mask"))
    return meta, arrays


def _noise(twix: list, n_coils: int, limits: dict, arrays: dict, notes: list) -> dict | None:
    """Put the noise scans (this measurement's, else the latest earlier one's) in ``arrays``."""
    for meas in reversed(twix):
        cat = meas.get("noise") if isinstance(meas, dict) else None
        if cat is None or not cat.mdb_list:
            continue
        good = [m for m in cat.mdb_list if int(m.mdh.UsedChannels) == n_coils]
        if not good:
            notes.append("noise scans with another number of channels were left out")
            continue
        total = sum(int(m.mdh.SamplesInScan) for m in good)
        check_elements(n_coils * total, limits, "twix noise scans")
        noise = np.concatenate([np.asarray(m.data, np.complex64) for m in good], axis=1)
        if not np.isfinite(noise).all():
            raise ReadError("twix noise scans contain NaN or Inf values", "nonfinite")
        arrays["noise"] = noise
        return {"scans": len(good), "samples": int(noise.shape[1])}
    return None


def _describe(meta: dict, h: int, w: int, mask) -> str:
    """The one-line description of the load, for the UI."""
    name = meta.get("sequence") or meta.get("protocol") or "scan"
    parts = [f"Siemens twix ({meta['version']}) {name}",
             f"slice {meta['slice_index']} of {meta['n_slices']}",
             f"{meta['n_coils']} coil{'s' if meta['n_coils'] != 1 else ''}", f"{h}x{w}"]
    if meta["oversampling_removed"]:
        parts.append("readout oversampling removed")
    if meta["n_averages"] > 1:
        parts.append(f"mean of {meta['n_averages']} averages" if meta["average"] == "mean"
                     else f"average {meta['average']} of {meta['n_averages']}")
    epi = meta.get("epi")
    if epi is not None:
        parts.append("EPI, odd/even phase-corrected" if epi["phase_correction"] != "none"
                     else "EPI, no odd/even phase correction")
    if mask is not None:
        text = f"undersampled ({100 * float(np.mean(mask)):.0f}% of k-space acquired"
        if meta["calibration_lines"]:
            text += f", {meta['calibration_lines']} calibration lines"
        parts.append(text + ")")
    elif meta["zero_filled_lines"] or meta["zero_filled_readout"]:
        parts.append("partial Fourier zero-filled")
    return ", ".join(parts)
