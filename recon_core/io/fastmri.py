"""fastMRI ``.h5`` files: raw k-space, single-coil (slices, H, W) or multi-coil (slices, C, H, W).

The HDF5 C library is not safe against hostile files (fuzzing crashes it), so by default the
file is read by :mod:`recon_core.io._h5_worker` in a child Python process with a memory cap
and a timeout; a crash or hang there becomes a :class:`DataLoadError`.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

import recon_core.io._h5_worker as h5_worker
from recon_core.io._source import HDF5_SIGNATURE, Source, SourceBytes, resolve_source
from recon_core.io._validate import dims, finish_kspace, finish_reference
from recon_core.io.limits import DEFAULT_LIMITS, REASONS, DataLoadError, LoadLimits
from recon_core.io.loaded import LoadedData

__all__ = ["load_fastmri_h5"]

_WORKER = Path(h5_worker.__file__).resolve()
# Run the worker by path, without the current directory on sys.path.
_BOOT = (
    "import sys, runpy; sys.path.pop(0); sys.argv = sys.argv[1:]; "
    "runpy.run_path(sys.argv[0], run_name='__main__')"
)
_WIRE_DTYPES = {"<c8": np.complex64, "<f4": np.float32, "|b1": np.bool_}


def _has_signature(src: SourceBytes) -> bool:
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


def _mem_budget(src: SourceBytes, limits: LoadLimits) -> int:
    in_memory = src.size if src.data is not None else 0
    return 2 * in_memory + 3 * 8 * limits.max_total_elements + 256 * 1024**2


def _parse_reply(stdout: bytes) -> tuple[dict, dict[str, np.ndarray]]:
    line, sep, payload = stdout.partition(b"\n")
    if not sep:
        raise DataLoadError(
            "the HDF5 reader returned no answer; the file is probably corrupt", reason="corrupt"
        )
    reply = json.loads(line)
    if "error" in reply:
        reason = reply.get("reason")
        raise DataLoadError(str(reply["error"]), reason=reason if reason in REASONS else "corrupt")
    arrays: dict[str, np.ndarray] = {}
    offset = 0
    for spec in reply["arrays"]:
        dtype = np.dtype(_WIRE_DTYPES[spec["dtype"]])
        shape = tuple(int(s) for s in spec["shape"])
        count = math.prod(shape)
        nbytes = count * dtype.itemsize
        if offset + nbytes > len(payload):
            raise DataLoadError("the HDF5 reader's answer is incomplete", reason="corrupt")
        arrays[spec["name"]] = np.frombuffer(payload, dtype, count, offset).reshape(shape)
        offset += nbytes
    return reply["meta"], arrays


def _read_isolated(
    src: SourceBytes, slice_index: int | None, limits: LoadLimits
) -> tuple[dict, dict]:
    cfg = {
        "path": str(src.path) if src.data is None else None,
        "slice_index": slice_index,
        "limits": limits.as_dict(),
        "mem_bytes": _mem_budget(src, limits),
    }
    env = dict(
        os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", HDF5_USE_FILE_LOCKING="FALSE"
    )
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _BOOT, str(_WORKER), json.dumps(cfg)],
            input=src.data if src.data is not None else b"",
            capture_output=True,
            timeout=limits.timeout_s,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise DataLoadError(
            f"reading {src.name} took longer than timeout_s={limits.timeout_s:g} s; "
            "the HDF5 file is probably corrupt",
            reason="corrupt",
        ) from None
    except OSError as exc:
        raise DataLoadError(
            f"could not start the HDF5 reader process: {exc}", reason="corrupt"
        ) from exc
    if proc.returncode != 0:
        how = (
            f"signal {-proc.returncode}" if proc.returncode < 0 else f"exit code {proc.returncode}"
        )
        raise DataLoadError(
            f"the HDF5 library crashed ({how}) while reading {src.name}; the file is corrupt",
            reason="corrupt",
        )
    try:
        return _parse_reply(proc.stdout)
    except DataLoadError:
        raise
    except (ValueError, KeyError, TypeError) as exc:
        raise DataLoadError(
            f"the HDF5 reader's answer could not be parsed ({exc})", reason="corrupt"
        ) from exc


def _read_inline(
    src: SourceBytes, slice_index: int | None, limits: LoadLimits
) -> tuple[dict, dict]:
    import io

    file = str(src.path) if src.data is None else io.BytesIO(src.data)
    try:
        return h5_worker.read_fastmri_slice(file, slice_index, limits.as_dict())
    except h5_worker.H5ReadError as exc:
        raise DataLoadError(str(exc), reason=exc.reason) from None
    except MemoryError:
        raise DataLoadError(
            "reading the HDF5 file needed more memory than is available", reason="too_large"
        ) from None
    except Exception as exc:
        msg = f"{type(exc).__name__}: {exc}"[:300]
        reason = "truncated" if "truncated" in msg.lower() else "corrupt"
        raise DataLoadError(f"corrupt or unreadable HDF5 file ({msg})", reason=reason) from None


def load_fastmri_h5(
    source: Source,
    filename: str | None = None,
    *,
    slice_index: int | None = None,
    limits: LoadLimits = DEFAULT_LIMITS,
    isolate: bool = True,
) -> LoadedData:
    """Load one slice of a fastMRI ``.h5`` file.

    Args:
        source: path, bytes or binary file object of an HDF5 file with a ``kspace`` dataset:
            complex (slices, H, W) single-coil, (slices, coils, H, W) multi-coil, or (H, W).
        filename: name for messages when ``source`` is bytes.
        slice_index: 0-based slice; None loads the middle slice (``slices // 2``).
        limits: size and time limits; only the chosen slice is read, so the per-slice limits
            apply (coils * H * W <= ``max_total_elements``).
        isolate: read in a helper process (default). Pass False only for trusted local files;
            a corrupt file can then crash the interpreter.

    Returns:
        :class:`LoadedData` with ``kspace`` complex64 (H, W) or (C, H, W) (fastMRI k-space is
        already centred), ``image`` None, ``reference`` from ``reconstruction_rss`` (multi-coil)
        or ``reconstruction_esc`` (single-coil) when present, and ``mask`` (H, W) when the file
        has a fastMRI ``mask`` (test/challenge data are undersampled).

    Raises:
        DataLoadError: not HDF5, no ``kspace``, wrong rank/dtype, mismatched reference or mask
            shape, limits exceeded, NaN/Inf, all-zero k-space, corrupt file, crash or timeout.
    """
    src = resolve_source(source, filename, limits)
    if not _has_signature(src):
        raise DataLoadError(
            f"{src.name} is not an HDF5 file (signature missing); fastMRI files are HDF5 .h5",
            reason="corrupt",
        )
    reader = _read_isolated if isolate else _read_inline
    meta, arrays = reader(src, slice_index, limits)
    kspace = finish_kspace(arrays["kspace"], limits, "'kspace' slice")
    ref = arrays.get("reference")
    name = meta["reference_name"]
    reference = finish_reference(ref, limits, repr(name)) if ref is not None else None
    mask = arrays.get("mask")
    n_slices, n_coils, idx = int(meta["n_slices"]), int(meta["n_coils"]), int(meta["slice_index"])
    multi = meta["layout"] == "multicoil"
    h, w = kspace.shape[-2:]
    parts = [
        f"fastMRI {'multi' if multi else 'single'}-coil .h5",
        f"slice {idx} of {n_slices}",
    ]
    if multi:
        parts.append(f"{n_coils} coils")
    parts.append(dims((h, w)))
    if mask is not None:
        parts.append(f"undersampled ({100 * float(np.mean(mask)):.0f}% of k-space acquired)")
    return LoadedData(
        image=None,
        kspace=kspace,
        n_coils=n_coils,
        n_slices=n_slices,
        slice_index=idx,
        source=", ".join(parts),
        format="fastmri-h5",
        filename=src.name,
        reference=reference,
        reference_name=name if reference is not None else None,
        mask=None if mask is None else np.asarray(mask, dtype=bool),
        metadata={"layout": meta["layout"], **meta["attrs"]},
    )
