"""MATLAB ``.mat`` files: one numeric variable, read as an image or as k-space.

Both families of MAT-files are read: v4 and v5-v7 (MATLAB's binary format, with SciPy) and
v7.3 (HDF5, with h5py). SciPy's MAT parser and the HDF5 C library are not safe against hostile
files, so by default the file is read by :mod:`recon_core.io.readers.matlab` in a helper
process with a memory cap and a timeout (:mod:`recon_core.io.isolated`); a crash or hang there
becomes a :class:`DataLoadError`.

The array keeps MATLAB's axis order, e.g. (rows, cols, coils) for multi-coil k-space, and each
axis's role is guessed from the shape and reported (:attr:`LoadedData.axes`) unless
``axes=`` names them (:func:`recon_core.io.layout.guess_axes`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from recon_core.io import isolated
from recon_core.io._arrays import array_to_loaded
from recon_core.io._source import Source, resolve_source
from recon_core.io.limits import DataLoadError
from recon_core.io.loaded import LoadedData
from recon_core.io.options import LoadOptions

__all__ = ["load_matlab", "loaded_from_matlab"]


def loaded_from_matlab(
    meta: Mapping[str, Any],
    arrays: Mapping[str, np.ndarray],
    filename: str | None,
    options: LoadOptions | None = None,
) -> LoadedData:
    """:class:`LoadedData` from the answer of the ``"matlab"`` reader.

    For loaders that have already run :mod:`recon_core.io.readers.matlab` (e.g. on an HDF5 file
    that turned out to be a MAT v7.3 file): ``meta`` and ``arrays`` are its ``(meta, arrays)``.

    Args:
        meta: the reader's meta (``variables``, ``n_variables``, ``key``, ``version``,
            ``chosen_because``, ``header``).
        arrays: the reader's arrays; ``arrays["array"]`` is the chosen variable.
        filename: the file's name, for :attr:`LoadedData.filename`.
        options: ``kind``, ``axes``, ``slice_index``, ``axis`` and ``limits`` as for
            :func:`load_matlab` (None: the defaults).

    Raises:
        DataLoadError: as :func:`~recon_core.io._arrays.array_to_loaded`, or an answer
            without the array.
    """
    options = LoadOptions() if options is None else options
    if "array" not in arrays or "key" not in meta:
        raise DataLoadError("the MATLAB reader's answer holds no variable", reason="corrupt")
    key = str(meta["key"])
    metadata = {
        "variables": meta.get("variables", []),
        "n_variables": meta.get("n_variables", len(meta.get("variables", []))),
        "key": key,
        "version": meta.get("version"),
        "chosen_because": meta.get("chosen_because", ""),
        "header": meta.get("header", ""),
    }
    return array_to_loaded(
        np.asarray(arrays["array"]),
        options,
        fmt="matlab",
        label=f"MATLAB .mat['{key}']",
        filename=filename,
        metadata=metadata,
    )


def load_matlab(
    source: Source,
    filename: str | None = None,
    *,
    options: LoadOptions | None = None,
    isolate: bool = True,
    **keywords: Any,
) -> LoadedData:
    """Load one variable of a MATLAB ``.mat`` file (v4, v5-v7 or v7.3).

    Args:
        source: path, bytes or binary file object.
        filename: the file's name, for messages when ``source`` is bytes.
        options, keywords: a :class:`LoadOptions` and/or its fields as keywords: ``key`` (the
            variable; None: the first numeric array named ``kspace``, ``ksp``, ``kdata``,
            ``raw`` or ``data``, any case, else the largest numeric array), ``kind``
            (``"auto"`` detects k-space by its peak at the centre), ``axes`` (the role of each
            axis in MATLAB's order, e.g. ``("row", "col", "coil")``), ``slice_index``,
            ``axis`` and ``limits``.
        isolate: read in a helper process (default). Pass False only for trusted local files;
            a corrupt file can then crash the interpreter.

    Returns:
        :class:`LoadedData` (``format="matlab"``); ``metadata`` has ``variables`` (each
        ``{"name", "shape", "class", "usable", "why"}``; at most 500, ``n_variables`` counts
        them all), ``key`` (the variable loaded), ``chosen_because``, ``version`` (``"4"``,
        ``"5"`` or ``"7.3"``) and ``header`` (the file's header text, ``""`` for v4).

    Raises:
        DataLoadError: not a MAT-file; unknown ``key`` (reason ``"argument"``, the message
            lists the variables); no numeric array, or a chosen struct, cell, object,
            function handle, sparse matrix or text (``"unsupported"``); limits exceeded;
            corrupt file, crash or timeout.

    :Examples:

    >>> import io, numpy as np, scipy.io
    >>> buf = io.BytesIO()
    >>> scipy.io.savemat(buf, {"img": np.arange(144.0).reshape(12, 12)})
    >>> d = load_matlab(buf.getvalue(), "phantom.mat", isolate=False)
    >>> d.format, d.image.shape, d.metadata["key"], float(d.image[1, 0])
    ('matlab', (12, 12), 'img', 12.0)
    """
    opts = LoadOptions.from_call("load_matlab", options, keywords)
    opts.check_format("matlab")
    src = resolve_source(source, filename, opts.limits)
    meta, arrays = isolated.read(
        "matlab", src, {"key": opts.key}, opts.limits, isolate=isolate, what="MATLAB file"
    )
    return loaded_from_matlab(meta, arrays, src.name, opts)
