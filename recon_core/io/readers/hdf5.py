"""Tell the HDF5 layouts apart (fastMRI, ISMRMRD, MATLAB v7.3) and read with the right reader.

All three are HDF5 files, often all named ``.h5``; opening one needs the HDF5 C library, so
the content is probed here, inside the helper process, and the matching reader runs in the
same process. ``meta["container"]`` says which one it was.
"""

from __future__ import annotations

import importlib

from .h5safety import hard_child
from .wire import ReadError

#: Container -> reader module.
CONTAINERS = {"fastmri": ".fastmri", "ismrmrd": ".ismrmrd_h5", "matlab": ".matlab"}

MATLAB_MAGIC = b"MATLAB"


def _head(file, n: int = 128) -> bytes:
    if isinstance(file, str):
        with open(file, "rb") as f:
            return f.read(n)
    pos = file.tell()
    head = file.read(n)
    file.seek(pos)
    return head


def container(file) -> tuple[str, list[str]]:
    """``("fastmri" | "ismrmrd" | "matlab", root names)`` of an HDF5 file.

    Raises:
        ReadError: a readable HDF5 file with none of the three layouts (reason "missing").
    """
    import h5py

    if _head(file).startswith(MATLAB_MAGIC):
        return "matlab", []
    with h5py.File(file, "r") as f:
        names = sorted(f.keys())
        if "kspace" in names:  # a link is refused by the fastMRI reader, with its own message
            return "fastmri", names
        children = [hard_child(f, n) for n in names[:500]]
        if any(isinstance(c, h5py.Dataset) and "MATLAB_class" in c.attrs for c in children):
            return "matlab", names
        from .ismrmrd_header import find_group  # the same search as the ISMRMRD reader's

        try:
            find_group(f)
            return "ismrmrd", names
        except ReadError:
            pass
    shown = ", ".join(repr(n) for n in names[:10]) + (" ..." if len(names) > 10 else "")
    raise ReadError(
        f"HDF5 file has no 'kspace' dataset (found: {shown or 'nothing'}); expected the fastMRI "
        "layout, an ISMRMRD file (a group with 'xml' and 'data') or a MATLAB v7.3 .mat file",
        "missing",
    )


def read(file, params: dict, limits: dict) -> tuple[dict, dict]:
    """Probe the layout, then read with its reader; ``meta["container"]`` names it."""
    kind, _ = container(file)
    if not isinstance(file, str):
        file.seek(0)
    module = importlib.import_module(CONTAINERS[kind], __package__)
    meta, arrays = module.read(file, params, limits)
    return {**meta, "container": kind}, arrays
