"""Run a file parser of :mod:`recon_core.io.readers` in a helper process (or, for trusted files, here).

:func:`read_isolated` starts a child Python process that imports the ``readers`` package on
its own (never ``recon_core``), caps its address space, and answers over a pipe with a JSON
header and raw array bytes (:mod:`recon_core.io.readers.wire`). A crash, a hang past
``limits.timeout_s``, a memory error or a malformed answer becomes a :class:`DataLoadError`,
so that a hostile file cannot take the app down. :func:`read_inline` calls the same parser in
this process, for trusted local files and for tests.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

from recon_core.io._source import SourceBytes
from recon_core.io.limits import REASONS, DataLoadError, LoadLimits
from recon_core.io.readers import wire

__all__ = ["read_isolated", "read_inline", "read"]

_IO_DIR = Path(__file__).resolve().parent
# Import the readers package by path, as the top-level package ``readers``; nothing else of
# recon_core is on the helper's path: not the current directory, and not recon_core/io
# either, whose modules would shadow the format libraries (recon_core/io/ismrmrd.py would
# be found for ``import ismrmrd``).
_BOOT = (
    "import sys, runpy, importlib.util as iu; d = sys.argv[1] + '/readers'; "
    "s = iu.spec_from_file_location('readers', d + '/__init__.py', "
    "submodule_search_locations=[d]); "
    "m = iu.module_from_spec(s); sys.modules['readers'] = m; s.loader.exec_module(m); "
    "sys.flags.safe_path or sys.path.pop(0); sys.argv = sys.argv[1:]; "
    "runpy.run_module('readers', run_name='__main__', alter_sys=True)"
)


def _error(exc: wire.ReadError) -> DataLoadError:
    return DataLoadError(str(exc), reason=exc.reason if exc.reason in REASONS else "corrupt")


def _mem_budget(src: SourceBytes, limits: LoadLimits) -> int:
    in_memory = src.size if src.data is not None else 0
    return 2 * in_memory + 3 * 8 * limits.max_total_elements + 512 * 1024**2


def read_isolated(
    reader: str, src: SourceBytes, params: dict, limits: LoadLimits, *, what: str = "file"
) -> tuple[dict, dict]:
    """``(meta, arrays)`` of ``readers.<reader>.read`` on ``src``, computed in a helper process.

    Args:
        reader: one of :data:`recon_core.io.readers.wire.READERS`.
        src: the file (a path, or bytes sent over stdin).
        params: the reader's parameters (JSON-ready).
        limits: sizes and the timeout.
        what: the kind of file, for messages ("HDF5 file", "twix file", ...).

    Raises:
        DataLoadError: the reader refused the file, crashed, timed out or answered garbage.
    """
    cfg = {
        "reader": reader,
        "path": str(src.path) if src.data is None else None,
        "params": params,
        "limits": limits.as_dict(),
        "mem_bytes": _mem_budget(src, limits),
    }
    env = dict(
        os.environ,
        OPENBLAS_NUM_THREADS="1",
        OMP_NUM_THREADS="1",
        HDF5_USE_FILE_LOCKING="FALSE",
        MPLBACKEND="Agg",
        TQDM_DISABLE="1",
    )
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _BOOT, str(_IO_DIR), json.dumps(cfg)],
            input=src.data if src.data is not None else b"",
            capture_output=True,
            timeout=limits.timeout_s,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise DataLoadError(
            f"reading {src.name} took longer than timeout_s={limits.timeout_s:g} s; "
            f"the {what} is probably corrupt",
            reason="corrupt",
        ) from None
    except OSError as exc:
        raise DataLoadError(f"could not start the file reader process: {exc}", reason="corrupt") from exc
    if proc.returncode != 0:
        how = f"signal {-proc.returncode}" if proc.returncode < 0 else f"exit code {proc.returncode}"
        raise DataLoadError(
            f"the {what} reader crashed ({how}) while reading {src.name}; the file is corrupt",
            reason="corrupt",
        )
    try:
        return wire.decode(proc.stdout)
    except wire.ReadError as exc:
        raise _error(exc) from None
    except (ValueError, KeyError, TypeError) as exc:
        raise DataLoadError(f"the {what} reader's answer could not be parsed ({exc})", reason="corrupt") from exc


def read_inline(reader: str, src: SourceBytes, params: dict, limits: LoadLimits) -> tuple[dict, dict]:
    """As :func:`read_isolated`, in this process (trusted files only: a corrupt one can crash it)."""
    file = str(src.path) if src.data is None else io.BytesIO(src.data)
    try:
        return wire.reader(reader)(file, params, limits.as_dict())
    except wire.ReadError as exc:
        raise _error(exc) from None
    except MemoryError:
        raise DataLoadError("reading the file needed more memory than is available", reason="too_large") from None
    except Exception as exc:  # the format library's own errors on a corrupt file
        reply = json.loads(wire.error_reply(exc))
        raise DataLoadError(reply["error"], reason=reply["reason"]) from None


def read(
    reader: str, src: SourceBytes, params: dict, limits: LoadLimits, *, isolate: bool = True, what: str = "file"
) -> tuple[dict, dict]:
    """:func:`read_isolated` when ``isolate`` (the default), else :func:`read_inline`."""
    if isolate:
        return read_isolated(reader, src, params, limits, what=what)
    return read_inline(reader, src, params, limits)
