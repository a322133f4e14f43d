"""Any HDF5 file: fastMRI, ISMRMRD or MATLAB v7.3, told apart by content, not by name.

All three are often named ``.h5``. The helper process (:mod:`recon_core.io.readers.hdf5`)
probes the layout and reads the file with the matching reader in one go; here the answer
becomes :class:`LoadedData` through that format's own builder.
"""

from __future__ import annotations

from typing import Any

from recon_core.io import isolated
from recon_core.io._source import Source, has_hdf5_signature, resolve_source
from recon_core.io.fastmri import loaded_from_fastmri
from recon_core.io.ismrmrd import loaded_from_ismrmrd
from recon_core.io.limits import DataLoadError
from recon_core.io.loaded import LoadedData
from recon_core.io.matlab import loaded_from_matlab
from recon_core.io.options import LoadOptions

__all__ = ["load_hdf5", "CONTAINER_FORMATS"]

#: The reader's container name -> the format id whose options apply.
CONTAINER_FORMATS = {"fastmri": "fastmri-h5", "ismrmrd": "ismrmrd", "matlab": "matlab"}


def load_hdf5(
    source: Source,
    filename: str | None = None,
    *,
    options: LoadOptions | None = None,
    isolate: bool = True,
    **keywords: Any,
) -> LoadedData:
    """Load an HDF5 file of any of the supported layouts.

    Args:
        source: path, bytes or binary file object.
        filename: the file's name, for messages when ``source`` is bytes.
        options, keywords: a :class:`LoadOptions` and/or its fields; which apply depends on
            the layout found (fastMRI: ``slice_index``; ISMRMRD: ``slice_index``, ``average``,
            ``contrast``, ``repetition``; MATLAB: ``key``, ``axes``, ``kind``, ``slice_index``)
            and the others are refused once the layout is known.
        isolate: read in a helper process (default); False only for trusted files.

    Raises:
        DataLoadError: not HDF5, none of the layouts, or the layout's own refusals.

    :Examples:

    >>> import io, h5py, numpy as np
    >>> buf = io.BytesIO()
    >>> with h5py.File(buf, "w") as f:
    ...     _ = f.create_dataset("kspace", data=np.ones((2, 8, 8), np.complex64))
    >>> load_hdf5(buf.getvalue(), "scan.h5").source
    'fastMRI single-coil .h5, slice 1 of 2, 8x8'
    """
    opts = LoadOptions.from_call("load_hdf5", options, keywords)
    src = resolve_source(source, filename, opts.limits)
    if not has_hdf5_signature(src):
        raise DataLoadError(
            f"{src.name} is not an HDF5 file (signature missing)", reason="corrupt"
        )
    params = {
        "slice_index": opts.slice_index,
        "key": opts.key,
        "average": opts.average,
        "contrast": opts.contrast,
        "repetition": opts.repetition,
    }
    meta, arrays = isolated.read("hdf5", src, params, opts.limits, isolate=isolate, what="HDF5 file")
    container = meta.get("container")
    if container not in CONTAINER_FORMATS:
        raise DataLoadError(f"the HDF5 reader named an unknown layout {container!r}", reason="corrupt")
    opts.check_format(CONTAINER_FORMATS[container])
    if container == "fastmri":
        return loaded_from_fastmri(meta, arrays, src.name, opts.limits)
    if container == "ismrmrd":
        return loaded_from_ismrmrd(meta, arrays, src.name, opts.limits)
    return loaded_from_matlab(meta, arrays, src.name, opts)
