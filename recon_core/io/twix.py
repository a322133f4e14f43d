"""Siemens twix raw data (``.dat``, VB and VD/VE): one Cartesian k-space slice per load.

twixtools trusts the files it parses (a lying data-block header makes it loop forever or
allocate gigabytes), so by default the file is read by :mod:`recon_core.io.readers.twix` in a
child Python process with a memory cap and a timeout; a crash, hang or error there becomes a
:class:`DataLoadError`. That reader also checks the file's structure itself before twixtools
sees it, so ordinary corrupt or truncated files are refused at once, not by the timeout.
"""

from __future__ import annotations

import struct

import numpy as np

from recon_core.io import isolated
from recon_core.io._source import Source, SourceBytes, resolve_source
from recon_core.io._validate import finish_kspace
from recon_core.io.limits import DataLoadError
from recon_core.io.loaded import LoadedData
from recon_core.io.options import LoadOptions

__all__ = ["load_twix", "has_twix_signature"]

_RAID_HEADER = 8 + 64 * 152  # VD/VE measurement table
_FIRST_BUFFER = b"Config\x00"  # the first protocol buffer of every twix header


def has_twix_signature(src: SourceBytes) -> bool:
    """True when ``src`` looks like a Siemens twix file (for format sniffing; cheap).

    twix files have no magic number; this checks that the first protocol buffer of the (last
    listed) measurement header is named ``Config``: at byte 8 for VB files, and at the offset
    the VD/VE measurement table gives plus 8 for VD/VE files.
    """
    head = src.head(_RAID_HEADER)
    if len(head) < 16:
        return False
    first, count = struct.unpack_from("<II", head)
    if head[8:15] == _FIRST_BUFFER:  # VB: header length, buffer count, then "Config\0"
        return True
    if not (first < 10000 and 1 <= count <= 64) or len(head) < _RAID_HEADER:
        return False
    (offset,) = struct.unpack_from("<Q", head, 8 + (count - 1) * 152 + 8)
    if not _RAID_HEADER <= offset <= src.size - 16:
        return False
    if src.data is not None:
        chunk = src.data[offset + 8 : offset + 15]
    else:
        try:
            with open(src.path, "rb") as f:  # type: ignore[arg-type]
                f.seek(offset + 8)
                chunk = f.read(7)
        except OSError:
            return False
    return chunk == _FIRST_BUFFER


def load_twix(
    source: Source,
    filename: str | None = None,
    *,
    options: LoadOptions | None = None,
    isolate: bool = True,
    **keywords,
) -> LoadedData:
    """Load one slice of a Siemens twix ``.dat`` file as centred multi-coil k-space.

    The image data of the last measurement in the file (earlier ones are adjustment scans) are
    sorted by their loop counters into one slice, contrast and repetition; averages are
    averaged unless one is chosen. Readout oversampling is removed (the shipped GRE's 320
    samples become 160), ramp-sampled EPI readouts are regridded and reversed lines flipped,
    and, for EPI with phase-correction navigators, odd and even lines are phase-corrected
    (constant + linear in x, from the navigators). An asymmetric echo or phase partial Fourier
    is zero-filled in place to the protocol's matrix; GRAPPA reference lines fill the lines
    the image lacks. A 3-D scan's partitions are inverse-Fourier transformed and offered as
    slices (``slice_index = slice * partitions + partition``). See
    :mod:`recon_core.io.readers.twix` for the details.

    Args:
        source: path, bytes or binary file object of a ``.dat`` file (VB or VD/VE).
        filename: name for messages when ``source`` is bytes.
        options: a :class:`LoadOptions`; keywords given as well replace its fields.
        isolate: read in a helper process (default). Pass False only for trusted local files;
            a hostile file can then exhaust this process's memory or time.
        **keywords: the :class:`LoadOptions` fields this loader takes: ``slice_index`` (None:
            the middle slice), ``average`` (None: the mean of all), ``contrast`` (echo,
            None: 0), ``repetition`` (None: 0), ``phase_correction`` (EPI navigator
            correction, default True) and ``limits``.

    Returns:
        :class:`LoadedData` with ``kspace`` complex64 (coils, readout, lines) with DC at
        (H // 2, W // 2) (rows are the readout, columns the phase-encode lines that masks
        undersample), ``format="twix"``, ``mask`` bool (H, W) of the acquired image and
        reference lines when lines inside the sampled range are missing (GRAPPA), else None,
        ``noise`` complex64 (coils, samples) from the file's noise scans or None,
        ``selectable`` with the counts above one of ``slice``, ``average``, ``contrast`` and
        ``repetition``, and ``metadata`` with the protocol's facts (``protocol``,
        ``sequence``, ``tr_ms``, ``te_ms``, ``flip_angle_deg``, ``fov_mm``,
        ``field_strength_t``, ``matrix``, ``readout_oversampling``, ...), the choices made
        (``contrast``, ``repetition``, ``average``), ``calibration_lines`` and, for EPI,
        ``epi = {"reflected_lines": n, "phase_correction": "navigator odd/even (constant +
        linear)" or "none", ...}``.

    Raises:
        DataLoadError: not a twix file, truncated or corrupt (also a crash or timeout of the
            helper process), no image data, limits exceeded, NaN/Inf values; an index out of
            range, or ``kind="kspace"``, ``key`` or ``axes`` options (reason ``"argument"``);
            ``axis`` is ignored, as for the other formats with a fixed layout.
        TypeError: an unknown keyword, or ``options`` that is not a :class:`LoadOptions`.

    :Examples:

    >>> load_twix(b"not a twix file", "x.dat", isolate=False)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    recon_core.io.limits.DataLoadError: not a Siemens twix file, or a truncated one: ...
    """
    opts = LoadOptions.from_call(
        "load_twix", options, keywords, without=("axis", "key", "axes", "kind")
    )
    opts.check_format("twix")
    limits = opts.limits
    src = resolve_source(source, filename, limits)

    def index(value):
        return None if value is None else int(value)

    params = {
        "slice_index": index(opts.slice_index),
        "average": index(opts.average),
        "contrast": index(opts.contrast),
        "repetition": index(opts.repetition),
        "phase_correction": bool(opts.phase_correction),
    }
    meta, arrays = isolated.read("twix", src, params, limits, isolate=isolate, what="twix file")
    try:
        return _loaded(meta, arrays, src, limits)
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, DataLoadError):
            raise
        raise DataLoadError(
            f"the twix reader's answer for {src.name} is inconsistent ({exc})", reason="corrupt"
        ) from exc


def _loaded(meta: dict, arrays: dict, src: SourceBytes, limits) -> LoadedData:
    kspace = finish_kspace(arrays["kspace"], limits, "twix k-space")
    if kspace.ndim == 2:
        kspace = kspace[None]
    n_coils = kspace.shape[0]
    mask = arrays.get("mask")
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != kspace.shape[-2:]:
            raise DataLoadError(
                f"twix mask {mask.shape} does not match k-space {kspace.shape}",
                reason="shape_mismatch",
            )
    noise = arrays.get("noise")
    if noise is not None:
        noise = np.asarray(noise, dtype=np.complex64)
        if noise.ndim != 2 or noise.shape[0] != n_coils or noise.shape[1] == 0:
            raise DataLoadError(
                f"twix noise scans have shape {noise.shape}; expected ({n_coils}, samples)",
                reason="shape_mismatch",
            )
        if not np.isfinite(noise).all():
            raise DataLoadError("twix noise scans contain NaN or Inf values", reason="nonfinite")
    selectable = {str(k): int(v) for k, v in dict(meta["selectable"]).items()}
    own = ("n_slices", "slice_index", "n_coils", "selectable", "description")
    return LoadedData(
        image=None,
        kspace=kspace[0] if n_coils == 1 else kspace,  # one coil: the single-coil layout
        n_coils=n_coils,
        n_slices=int(meta["n_slices"]),
        slice_index=int(meta["slice_index"]),
        source=str(meta["description"]),
        format="twix",
        filename=src.name,
        mask=mask,
        noise=noise,
        selectable=selectable,
        metadata={k: v for k, v in meta.items() if k not in own},
    )
