"""The twix reader's hostile-input defences: the file's structure, walked before twixtools runs.

twixtools trusts the file: a lying MDH makes its parser loop forever, a lying header buffer
length allocates gigabytes, a lying array index in the protocol builds a list that long. So
:func:`survey_file` first walks the file's structure the way :func:`twixtools.read_twix` will
-- the measurement table of a VD/VE file, each measurement's protocol header and its buffers,
then the chain of measurement data blocks (MDBs) -- and refuses, with a
:class:`~.wire.ReadError`, anything that does not fit in the file or would explode. Also here:
:func:`on_disk`, which gives twixtools (it reads by file name only) a path for any input.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import struct
import tempfile

from .wire import ReadError

#: Most MDBs (readouts) accepted in one file: more than a 200 MiB file of 2-channel
#: 128-sample readouts holds (about 90 000), few enough for twixtools' Python objects.
MAX_MDBS = 1 << 18

#: Most protocol buffers in one measurement header (real files have six).
MAX_HEADER_BUFFERS = 256

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


# --------------------------------------------------------------------------- file on disk


@contextlib.contextmanager
def on_disk(file, limits: dict):
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


def survey_file(path: str, limits: dict) -> dict:
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
