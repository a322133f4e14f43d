"""fastMRI ``.h5`` files: raw k-space, single-coil (slices, H, W) or multi-coil (slices, C, H, W).

The HDF5 C library is not safe against hostile files (fuzzing crashes it), so by default the
file is read by :mod:`recon_core.io.readers.fastmri` in a child Python process with a memory cap
and a timeout; a crash or hang there becomes a :class:`DataLoadError`.
"""

from __future__ import annotations

import numpy as np

from recon_core.io import isolated
from recon_core.io._source import Source, has_hdf5_signature, resolve_source
from recon_core.io._validate import dims, finish_kspace, finish_reference
from recon_core.io.limits import DEFAULT_LIMITS, DataLoadError, LoadLimits
from recon_core.io.loaded import LoadedData

__all__ = ["load_fastmri_h5", "loaded_from_fastmri"]


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
    if not has_hdf5_signature(src):
        raise DataLoadError(
            f"{src.name} is not an HDF5 file (signature missing); fastMRI files are HDF5 .h5",
            reason="corrupt",
        )
    meta, arrays = isolated.read(
        "fastmri", src, {"slice_index": slice_index}, limits, isolate=isolate, what="HDF5 file"
    )
    return loaded_from_fastmri(meta, arrays, src.name, limits)


def loaded_from_fastmri(meta: dict, arrays: dict, filename: str, limits: LoadLimits) -> LoadedData:
    """:class:`LoadedData` from the answer of the fastMRI reader (:mod:`.readers.fastmri`)."""
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
        filename=filename,
        reference=reference,
        reference_name=name if reference is not None else None,
        mask=None if mask is None else np.asarray(mask, dtype=bool),
        metadata={"layout": meta["layout"], **meta["attrs"]},
    )
