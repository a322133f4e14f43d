"""The helper process's side of the protocol, and what every reader shares.

Protocol: ``argv[1]`` is a JSON object ``{"reader": name, "path": str | null, "params": {...},
"limits": {...}, "mem_bytes": int}``; without a path the file's bytes arrive on stdin. Stdout
gets one JSON line ``{"meta": {...}, "arrays": [{"name", "dtype", "shape"}, ...]}`` (or
``{"error": message, "reason": reason}``) followed by the raw little-endian C-order bytes of
each array in that order. No pickle is involved anywhere.
"""

from __future__ import annotations

import importlib
import io
import json
import math
import sys

import numpy as np

#: Reader name -> module (relative to this package) with a ``read(file, params, limits)``.
READERS = {
    "hdf5": ".hdf5",
    "fastmri": ".fastmri",
    "ismrmrd": ".ismrmrd_h5",
    "matlab": ".matlab",
    "twix": ".twix",
}

#: dtypes that may cross the process boundary (little-endian).
WIRE_DTYPES = ("<c8", "<f4", "|b1", "<i8")


class ReadError(ValueError):
    """A problem with the file, with one of the reasons of ``recon_core.io.limits.REASONS``."""

    def __init__(self, message: str, reason: str = "corrupt") -> None:
        super().__init__(message)
        self.reason = reason


def reader(name: str):
    """The ``read`` function of reader ``name`` (one of :data:`READERS`)."""
    if name not in READERS:
        raise ReadError(f"unknown reader {name!r}; known: {sorted(READERS)}", "argument")
    return importlib.import_module(READERS[name], __package__).read


def check_elements(n: int, limits: dict, what: str) -> None:
    """Refuse ``n`` elements above ``max_total_elements`` (before allocating them)."""
    if n > limits["max_total_elements"]:
        raise ReadError(
            f"{what} is too large: {n} elements, more than "
            f"max_total_elements={limits['max_total_elements']}",
            "too_large",
        )


def check_plane(h: int, w: int, limits: dict, what: str) -> None:
    """Refuse one 2-D plane beyond ``max_pixels`` or below ``min_side``."""
    if h * w > limits["max_pixels"]:
        raise ReadError(
            f"{what} slice is too large: {h}x{w} = {h * w} pixels exceeds "
            f"max_pixels={limits['max_pixels']}",
            "too_large",
        )
    if min(h, w) < limits["min_side"]:
        raise ReadError(
            f"{what} is too small: {h}x{w}; each side needs at least "
            f"min_side={limits['min_side']} pixels",
            "empty",
        )


def pick(n: int, index, what: str = "slice_index") -> int:
    """``index`` checked against ``n`` items; None picks the middle one."""
    if index is None:
        return n // 2
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < n:
        raise ReadError(f"{what} {index!r} is out of range for {n} (valid: 0..{n - 1})", "argument")
    return index


def as_wire(arr: np.ndarray) -> np.ndarray:
    """``arr`` as one of :data:`WIRE_DTYPES`, C-contiguous."""
    arr = np.asarray(arr)
    if arr.dtype == np.bool_:
        target = np.dtype(np.bool_)
    elif arr.dtype.kind == "c":
        target = np.dtype("<c8")
    elif arr.dtype.kind in "iu":
        target = np.dtype("<i8")
    else:
        target = np.dtype("<f4")
    with np.errstate(over="ignore", invalid="ignore"):
        return np.ascontiguousarray(arr, dtype=target)


def encode(meta: dict, arrays: dict) -> bytes:
    """The reply for ``(meta, arrays)``: a JSON line and the arrays' bytes."""
    wire = {k: as_wire(v) for k, v in arrays.items()}
    header = {
        "meta": meta,
        "arrays": [{"name": k, "dtype": v.dtype.str, "shape": list(v.shape)} for k, v in wire.items()],
    }
    return json.dumps(header).encode() + b"\n" + b"".join(v.tobytes() for v in wire.values())


def decode(stdout: bytes) -> tuple[dict, dict]:
    """Inverse of :func:`encode`; an error reply raises :class:`ReadError`."""
    line, sep, payload = stdout.partition(b"\n")
    if not sep:
        raise ReadError("the file reader returned no answer; the file is probably corrupt")
    reply = json.loads(line)
    if "error" in reply:
        raise ReadError(str(reply["error"]), str(reply.get("reason", "corrupt")))
    arrays, offset = {}, 0
    for spec in reply["arrays"]:
        if spec["dtype"] not in WIRE_DTYPES:
            raise ReadError(f"the file reader sent an array of dtype {spec['dtype']}")
        dtype = np.dtype(spec["dtype"])
        shape = tuple(int(s) for s in spec["shape"])
        count = math.prod(shape)
        nbytes = count * dtype.itemsize
        if offset + nbytes > len(payload):
            raise ReadError("the file reader's answer is incomplete")
        arrays[spec["name"]] = np.frombuffer(payload, dtype, count, offset).reshape(shape)
        offset += nbytes
    return reply["meta"], arrays


def error_reply(exc: BaseException) -> bytes:
    """The reply for a failure: ReadError as is, MemoryError as too large, others as corrupt."""
    if isinstance(exc, ReadError):
        msg, reason = str(exc), exc.reason
    elif isinstance(exc, MemoryError):
        msg, reason = "reading the file needed more memory than the limits allow", "too_large"
    else:
        text = f"{type(exc).__name__}: {exc}"[:300]
        msg = f"corrupt or unreadable file ({text})"
        reason = "truncated" if "truncat" in text.lower() else "corrupt"
    return json.dumps({"error": msg, "reason": reason}).encode() + b"\n"


def limit_memory(mem_bytes: int) -> None:
    """Cap this process's address space at its current size plus ``mem_bytes`` (Linux)."""
    try:
        import resource

        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        with open("/proc/self/statm") as f:
            vm = int(f.read().split()[0]) * resource.getpagesize()
        cap = vm + int(mem_bytes)
        if hard != resource.RLIM_INFINITY:
            cap = min(cap, hard)
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    except (ImportError, OSError, ValueError):  # not Linux: no cap, the timeout still applies
        pass


def main(argv: list[str]) -> int:
    """Helper-process entry point; see the module docstring for the protocol."""
    out = sys.stdout.buffer
    try:
        cfg = json.loads(argv[1])
        read = reader(cfg["reader"])  # import the format's library before capping memory
        data = None if cfg.get("path") else sys.stdin.buffer.read()
        limit_memory(cfg["mem_bytes"])
        file = cfg["path"] or io.BytesIO(data)
        reply = encode(*read(file, cfg.get("params") or {}, cfg["limits"]))
    except BaseException as exc:  # every failure becomes an answer, never a traceback
        reply = error_reply(exc)
    out.write(reply)
    out.flush()
    return 0
