"""Refuse HDF5 objects that would make the reader touch anything but the uploaded file.

HDF5 can point outside the file: external links (to another file), soft links, datasets
whose data are stored in external raw files, and virtual datasets assembled from other
files. On a hosted app a crafted upload could use them to read the server's files, so every
reader opens datasets through :func:`local_dataset`.
"""

from __future__ import annotations

from .wire import ReadError


def hard_child(group, name: str):
    """``group[name]`` when ``name`` is a hard link (an object of this file), else None.

    Never follows soft or external links, so probing a file's layout opens no other file.
    """
    import h5py

    try:
        link = group.get(name, getlink=True)
        if not isinstance(link, h5py.HardLink):
            return None
        return group[name]
    except Exception:  # unreadable objects are not what the caller looks for
        return None


def local_dataset(group, name: str, what: str | None = None):
    """``group[name]`` when it is a hard-linked dataset stored in this file, else ReadError."""
    import h5py

    what = what or repr(name)
    link = group.get(name, getlink=True)
    if link is None:
        raise ReadError(f"{what} is missing", "missing")
    if not isinstance(link, h5py.HardLink):
        raise ReadError(
            f"{what} is a link to {'another file' if isinstance(link, h5py.ExternalLink) else 'elsewhere'}; "
            "only data stored in the uploaded file are read",
            "unsupported",
        )
    obj = group[name]
    if not isinstance(obj, h5py.Dataset):
        raise ReadError(f"{what} is an HDF5 group, not a dataset", "unsupported")
    if obj.external or obj.is_virtual:
        raise ReadError(
            f"{what} keeps its data outside the file (external storage or a virtual dataset); "
            "only data stored in the uploaded file are read",
            "unsupported",
        )
    return obj
