"""ISMRMRD ``.h5`` raw data: Cartesian acquisitions assembled into one slice of k-space.

An ISMRMRD file holds an XML header and a table of acquisitions (readout lines with their
encoding counters and flags), plus noise scans. The HDF5 C library is not safe against hostile
files, so by default the file is read by :mod:`recon_core.io.readers.ismrmrd_h5` in a helper
process with a memory cap and a timeout (:mod:`recon_core.io.isolated`); that module's
docstring says how lines, calibration lines, averages, readout oversampling and 3-D data are
handled. Non-Cartesian data (radial, spiral, EPI, stored trajectories) are refused with reason
``"unsupported"``: the app has no non-Cartesian reconstruction yet.

:func:`load_ismrmrd` reads a file; :func:`loaded_from_ismrmrd` turns the reader's answer into
:class:`LoadedData`, for callers that ran the reader themselves (e.g. after probing an HDF5
file's content).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from recon_core.io import isolated
from recon_core.io._source import Source, has_hdf5_signature, resolve_source
from recon_core.io._validate import finish_kspace
from recon_core.io.limits import DataLoadError, LoadLimits
from recon_core.io.loaded import LoadedData
from recon_core.io.options import LoadOptions

__all__ = ["load_ismrmrd", "loaded_from_ismrmrd"]

#: Facts of the reader's ``meta`` copied into :attr:`LoadedData.metadata`.
METADATA_KEYS = (
    "header",
    "group",
    "calibration_lines",
    "acceleration",
    "acquired_lines",
    "undersampled",
    "three_d",
    "average",
    "n_averages",
    "contrast",
    "repetition",
    "phase",
    "set",
    "oversampling_removed",
    "oversampling_factor",
    "encoded_readout",
    "n_acquisitions",
    "lines_used",
    "skipped",
    "noise_scans",
    "noise_samples",
    "noise_scans_other_channels",
)


def load_ismrmrd(
    source: Source,
    filename: str | None = None,
    *,
    options: LoadOptions | None = None,
    isolate: bool = True,
    **keywords,
) -> LoadedData:
    """Load one slice of a Cartesian ISMRMRD ``.h5`` file as multi-coil k-space.

    Args:
        source: path, bytes or binary file object of an ISMRMRD HDF5 file (the group holding
            ``xml`` and ``data`` is found wherever it is; usually ``/dataset``).
        filename: name for messages when ``source`` is bytes.
        options: :class:`LoadOptions`; of them ``slice_index`` (slice, or partition of 3-D
            data; None: the middle one), ``average`` (None: the mean of all averages),
            ``contrast`` and ``repetition`` (None: 0) and ``limits`` apply.
        isolate: read in a helper process (default). Pass False only for trusted local files;
            a corrupt file can then crash the interpreter.
        **keywords: the same options as keywords (``slice_index=1, average=0``), overriding
            ``options``.

    Returns:
        :class:`LoadedData` (format ``"ismrmrd"``) with ``kspace`` complex64 (C, H, W), or
        (H, W) for one coil: rows H the readout (oversampling removed), columns W the
        phase-encoding steps, DC at (H // 2, W // 2); ``mask`` (H, W) of the acquired lines
        when lines are missing (undersampled data, calibration lines included); ``noise``
        (C, N) from the noise scans; ``selectable`` the counts of slices, averages, contrasts
        and repetitions above one; ``metadata`` the XML header's facts (``"header"``) and
        what was read (``"calibration_lines"``, ``"skipped"``, ...).

    Raises:
        DataLoadError: not HDF5, no ISMRMRD group, unparsable header, non-Cartesian data
            (reason ``"unsupported"``), a slice/average/contrast/repetition the file does not
            have (``"argument"``), headers that disagree with the samples, limits exceeded,
            NaN/Inf, corrupt file, crash or timeout of the reader.
        TypeError: an unknown keyword, or ``options`` that is not a :class:`LoadOptions`.
    """
    opts = LoadOptions.from_call(
        "load_ismrmrd", options, keywords, without=("axis", "key", "axes", "kind")
    )
    opts.check_format("ismrmrd")
    src = resolve_source(source, filename, opts.limits)
    if not has_hdf5_signature(src):
        raise DataLoadError(
            f"{src.name} is not an HDF5 file (signature missing); ISMRMRD files are HDF5 .h5",
            reason="corrupt",
        )
    params = {
        "slice_index": opts.slice_index,
        "average": opts.average,
        "contrast": opts.contrast,
        "repetition": opts.repetition,
    }
    meta, arrays = isolated.read(
        "ismrmrd", src, params, opts.limits, isolate=isolate, what="HDF5 file"
    )
    return loaded_from_ismrmrd(meta, arrays, src.name, opts.limits)


def loaded_from_ismrmrd(
    meta: Mapping, arrays: Mapping[str, np.ndarray], filename: str | None, limits: LoadLimits
) -> LoadedData:
    """The :class:`LoadedData` of the ISMRMRD reader's answer ``(meta, arrays)``.

    Checks what crosses the process boundary: k-space finite, non-constant and within
    ``limits`` (:func:`~recon_core.io._validate.finish_kspace`), mask and noise of matching
    shapes, noise finite, counts consistent. One-coil k-space becomes (H, W).

    Args:
        meta, arrays: what ``recon_core.io.readers.ismrmrd_h5.read`` returned.
        filename: the file's name, for :attr:`LoadedData.filename`.
        limits: the limits the file was read with.

    Raises:
        DataLoadError: the answer is incomplete or inconsistent (reason ``"corrupt"``), or
            k-space fails the checks of :func:`~recon_core.io._validate.finish_kspace`.
    """
    if "kspace" not in arrays:
        raise DataLoadError("the ISMRMRD reader returned no k-space", reason="corrupt")
    raw = np.asarray(arrays["kspace"])
    if raw.ndim != 3:
        raise DataLoadError(
            f"the ISMRMRD reader returned k-space of shape {raw.shape}; expected (C, H, W)",
            reason="corrupt",
        )
    kspace = finish_kspace(raw, limits, "ISMRMRD k-space")
    n_coils = int(kspace.shape[0])
    h, w = kspace.shape[-2:]
    try:
        n_slices, slice_index = int(meta["n_slices"]), int(meta["slice_index"])
        reported = int(meta["n_coils"])
        selectable = {str(k): int(v) for k, v in dict(meta.get("selectable") or {}).items()}
        source = str(meta["description"])
    except (KeyError, TypeError, ValueError) as exc:
        raise DataLoadError(
            f"the ISMRMRD reader's answer is incomplete ({type(exc).__name__}: {exc})",
            reason="corrupt",
        ) from None
    if reported != n_coils or not 0 <= slice_index < n_slices:
        raise DataLoadError(
            f"the ISMRMRD reader's answer is inconsistent: {reported} coils for k-space "
            f"{kspace.shape}, slice {slice_index} of {n_slices}",
            reason="corrupt",
        )
    mask = arrays.get("mask")
    if mask is not None:
        mask = np.asarray(mask)
        if mask.shape != (h, w):
            raise DataLoadError(
                f"the ISMRMRD mask has shape {mask.shape}, k-space {kspace.shape}",
                reason="shape_mismatch",
            )
        mask = mask.astype(bool)
    noise = arrays.get("noise")
    if noise is not None:
        noise = np.asarray(noise)
        if noise.ndim != 2 or noise.shape[0] != n_coils or noise.shape[1] == 0:
            raise DataLoadError(
                f"the ISMRMRD noise scans have shape {noise.shape}; expected ({n_coils}, N)",
                reason="shape_mismatch",
            )
        noise = noise.astype(np.complex64)
        if not np.isfinite(noise).all():
            raise DataLoadError(
                "the ISMRMRD noise scans contain NaN or Inf values", reason="nonfinite"
            )
    if n_coils == 1:
        kspace = kspace[0]
    return LoadedData(
        image=None,
        kspace=kspace,
        n_coils=n_coils,
        n_slices=n_slices,
        slice_index=slice_index,
        source=source,
        format="ismrmrd",
        filename=filename,
        mask=mask,
        noise=noise,
        selectable=selectable,
        metadata={k: meta[k] for k in METADATA_KEYS if k in meta},
    )
