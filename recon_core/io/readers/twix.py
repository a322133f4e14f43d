"""Read one slice of a Siemens twix raw-data file (``.dat``, VB or VD/VE) in the helper process.

A twix file holds one or more *measurements* (VD/VE "multi-raid" files; the last one is the
imaging scan, earlier ones are adjustments such as noise scans), each a text protocol header
followed by a chain of *measurement data blocks* (MDBs): one readout of every coil with a
header (MDH) of flags and loop counters (``Lin``, ``Par``, ``Sli``, ``Ave``, ``Eco``, ``Rep``,
``Seg``, ...). twixtools parses the header and the MDH chain and sorts the MDBs by their flags
into categories (``image``, ``noise``, ``refscan``, ``phasecorr``, ...); this module builds one
Cartesian k-space slice from them, its own way, so that every size is checked before anything
is allocated and the k-space centre lands where the app expects it:

* **Layout**: ``kspace`` is complex64 (coils, readout, lines): rows (H) are the readout, columns
  (W) the phase-encode lines that undersampling masks remove. The readout sample
  ``CenterCol`` and the line ``CenterLin`` of the MDHs land at index (H // 2, W // 2)
  (the centred, orthonormal convention of :func:`recon_core.ops.fft.fft2c`).
* **Matrix**: full size from the protocol (``sKSpace.lBaseResolution`` x readout oversampling,
  ``lPhaseEncodingLines``); an asymmetric echo or phase partial Fourier is zero-filled in place
  (missing samples and lines are zeros at their own positions). Header values that cannot hold
  the acquired counters are widened to fit them, symmetrically about the centre (at most
  :data:`~.twix_mdh.MAX_WIDENING` times; header values that much larger than the data are
  ignored).
* **Readout oversampling** (``Dicom.flReadoutOSFactor``, 2 on Siemens scanners) is removed by
  cropping the readout field of view, one readout at a time: 320 samples of the shipped GRE
  become 160.
* **Ramp sampling** (EPI, ``Meas.alRegridMode`` >= 2) is regridded with twixtools'
  trajectory (:func:`twixtools.recon_helpers.perform_regrid`, whose k = 0 lies half a sample
  before index H // 2: a phase ramp in the image, no change to its magnitude); lines flagged
  ``REFLECT`` (every other EPI line) are reversed, as twixtools does.
* **EPI odd/even correction** (``params["phase_correction"]``): from the phase-correction
  navigators of the slice, the phase difference phi(x) between the non-reflected and the
  reflected navigators, in hybrid space (x, ky) and pooled over coils, is fitted as
  constant + linear in x (lag-1 autocorrelation for the slope, then the weighted mean phase);
  reflected lines get exp(+i phi / 2), the others exp(-i phi / 2), before lines are averaged.
* **Selection**: one slice (``Sli``), contrast (``Eco``, None: 0), repetition (``Rep``,
  None: 0); averages (``Ave``) and segments (``Seg``) of the same line are averaged, unless
  ``average`` picks one. Other counters (``Set``, ``Phs``, ``Ida``..``Ide``) keep their first
  value, reported in ``meta["ignored_counters"]``.
* **3-D** (``Par`` counters > 0): the partitions (zero-filled to ``lPartitions`` about
  ``CenterPar``) are inverse-Fourier transformed along ``Par`` and become slices:
  ``n_slices`` = slices x partitions, slice index ``s * partitions + p``.
* **GRAPPA reference lines** (``PATREFSCAN``): merged into the image k-space where the image
  lines are missing. ``mask`` (bool (H, W), acquired image + reference points) is returned only
  when lines inside the sampled range are missing; ``meta["calibration_lines"]`` counts the
  reference lines.
* **Noise scans** (``NOISEADJSCAN``, in the image measurement or an earlier one): ``noise`` is
  complex64 (coils, samples), every noise sample of each coil, oversampling kept.

Safety: twixtools trusts the file (a lying MDH makes its parser loop forever, a lying header
buffer length allocates gigabytes, a lying array index in the protocol builds a list that
long), so :func:`~.twix_survey.survey_file` first walks the file's structure the way twixtools
will, refusing anything that does not fit in the file or would explode, and only then is
twixtools called (:func:`twixtools.read_twix` without its geometry and PMU parsing, which trust
the file too, then :func:`twixtools.map_twix` on the result). k-space sizes are checked against
the limits from the MDHs before any array is made, and readouts are processed one at a time, so
nothing much larger than the output is allocated. Only the standard library, NumPy and twixtools
are imported (see :mod:`..readers`).

This module holds :func:`read` and the k-space assembly: choosing the readouts of the slice,
sizing the grid, adding the image and reference lines, 3-D partitions, noise scans and the
``meta`` report. The rest of the reader lives in its siblings:

* :mod:`.twix_survey`: the structure walk above, and the path on disk twixtools needs;
* :mod:`.twix_protocol`: safe lookups in the parsed protocol header, and its facts for the UI;
* :mod:`.twix_mdh`: the table of MDH counters and flags, and the axis sizes they span;
* :mod:`.twix_readout`: one readout to one k-space row (regridding, reversal, zero-filling,
  oversampling removal) and the EPI odd/even phase correction from the navigators.
"""

from __future__ import annotations

import contextlib
import io
import math

import numpy as np

from .twix_mdh import COL, FIRST_ONLY, check_centre, column, count, grid_size, mdh_table, mode
from .twix_protocol import as_integer, as_number, header_facts, lookup
from .twix_readout import Readout, prepare_epi
from .twix_survey import on_disk, survey_file
from .wire import ReadError, check_elements, check_plane, pick


def read(file, params: dict, limits: dict) -> tuple[dict, dict]:
    """Read one slice of a Siemens twix file.

    Args:
        file: path (str) or binary file object (e.g. :class:`io.BytesIO`) of a ``.dat`` file.
        params: ``slice_index``, ``average``, ``contrast``, ``repetition`` (int or None) and
            ``phase_correction`` (bool); see the module docstring for their meaning.
        limits: ``LoadLimits.as_dict()``.

    Returns:
        (meta, arrays): ``arrays["kspace"]`` complex64 (coils, readout, lines), centred;
        ``arrays["mask"]`` bool (readout, lines) when undersampled; ``arrays["noise"]``
        complex64 (coils, samples) when the file has noise scans. ``meta`` holds
        ``n_slices``, ``slice_index``, ``n_coils``, ``selectable``, ``description``, the
        protocol's facts (see :func:`header_facts`) and what was done, JSON-ready.

    Raises:
        ReadError: not a twix file, truncated, lying sizes, limits exceeded, no image data,
            an index out of range (reason ``"argument"``).
        Exception: whatever twixtools raises on a corrupt header (the caller wraps it).
    """
    import twixtools

    with on_disk(file, limits) as path:
        survey = survey_file(path, limits)
        with contextlib.redirect_stdout(io.StringIO()):  # twixtools prints its warnings
            scans = twixtools.read_twix(
                path, verbose=False, parse_pmu=False, parse_geometry=False, keep_syncdata=False
            )
            twix = twixtools.map_twix(scans, verbose=False)
        if not twix:
            raise ReadError("twix file holds no measurement", "empty")
        return _assemble(twix, survey, params, limits)


def _choose(table: np.ndarray, hdr: dict, params: dict) -> tuple[np.ndarray, dict]:
    """Which image MDBs make the slice: (bool per MDB, the choices and counts)."""
    n_sli, n_eco = count(table, "Sli"), count(table, "Eco")
    n_rep, n_ave = count(table, "Rep"), count(table, "Ave")
    contrast = pick(n_eco, 0 if params.get("contrast") is None else params["contrast"], "contrast")
    repetition = pick(n_rep, 0 if params.get("repetition") is None else params["repetition"],
                      "repetition")
    average = params.get("average")
    if average is not None:
        average = pick(n_ave, average, "average")
    keep = (column(table, "Eco") == contrast) & (column(table, "Rep") == repetition)
    if average is not None:
        keep &= column(table, "Ave") == average

    # slices: the Sli counter, times the partitions of a 3-D scan
    par = column(table, "Par")
    three_d = bool(par.max() > 0)
    c_par, n_par = 0, 1
    if three_d:
        centres = column(table, "CenterPar")
        c_par = mode(centres[keep] if keep.any() else centres)
        hdr_par = None
        if lookup(hdr, "MeasYaps", "sKSpace", "ucDimension") == 4:
            hdr_par = as_integer(lookup(hdr, "MeasYaps", "sKSpace", "lPartitions"), 1, 65535)
        check_centre("CenterPar", c_par, par[keep] if keep.any() else par)
        n_par = grid_size(hdr_par, c_par, int(par.min()), int(par.max()), "partition")
    slice_index = pick(n_sli * n_par, params.get("slice_index"))
    sli, par_out = divmod(slice_index, n_par)
    keep &= column(table, "Sli") == sli
    if not keep.any():
        chosen = any(params.get(k) is not None
                     for k in ("slice_index", "contrast", "repetition", "average"))
        raise ReadError(
            f"twix file has no image readouts for slice {slice_index}, contrast {contrast}, "
            f"repetition {repetition}" + ("" if average is None else f", average {average}"),
            "argument" if chosen else "empty",
        )
    ignored = {}
    for name in FIRST_ONLY:
        values = column(table, name)[keep]
        if values.min() != values.max():
            ignored[name] = int(len(np.unique(values)))
            keep &= column(table, name) == values.min()
    return keep, {
        "slice_index": slice_index, "n_slices": n_sli * n_par, "sli": sli, "n_sli": n_sli,
        "three_d": three_d, "n_par": n_par, "par_off": n_par // 2 - c_par, "par_out": par_out,
        "contrast": contrast, "n_contrasts": n_eco, "repetition": repetition,
        "n_repetitions": n_rep, "average": average, "n_averages": n_ave, "ignored": ignored,
    }


def _geometry(sel: np.ndarray, hdr: dict, traj, limits: dict) -> tuple[Readout, int, int]:
    """(readout, lines, line offset) of the slice, sizes checked against the limits."""
    n_coils, n_col = int(column(sel, "Cha")[0]), int(column(sel, "Col")[0])
    if (column(sel, "Cha") != n_coils).any() or (column(sel, "Col") != n_col).any():
        raise ReadError(
            "twix image readouts of one slice differ in channels or samples (channels "
            f"{sorted(set(column(sel, 'Cha').tolist()))[:5]}, samples "
            f"{sorted(set(column(sel, 'Col').tolist()))[:5]})", "shape_mismatch",
        )
    if n_coils < 1 or n_col < 2:
        raise ReadError(f"twix image readouts have {n_coils} channels of {n_col} samples", "empty")
    osf = as_number(lookup(hdr, "Dicom", "flReadoutOSFactor"), 1, 16) or 1.0
    base = as_integer(lookup(hdr, "MeasYaps", "sKSpace", "lBaseResolution"), 1, 65535)
    c_col, c_lin = mode(column(sel, "CenterCol")), mode(column(sel, "CenterLin"))
    if c_col >= n_col:
        raise ReadError(
            f"twix readouts have {n_col} samples but their centre sample is {c_col}; "
            "the data headers are corrupt", "corrupt",
        )
    lin = column(sel, "Lin")
    check_centre("CenterLin", c_lin, lin)
    # full readout: the protocol's, widened to hold the samples about CenterCol
    hdr_col = None if base is None else int(round(base * osf))
    n_full = grid_size(hdr_col, c_col, 0, n_col - 1, "readout sample")
    n_out = min(n_full, max(2, int(round(n_full / osf))))
    hdr_lin = as_integer(lookup(hdr, "MeasYaps", "sKSpace", "lPhaseEncodingLines"), 1, 65535)
    n_lin = grid_size(hdr_lin, c_lin, int(lin.min()), int(lin.max()), "line")
    check_plane(n_out, n_lin, limits, "twix k-space")
    return Readout(n_col, c_col, n_full, n_out, traj), n_lin, n_lin // 2 - c_lin


def _assemble(twix: list, survey: dict, params: dict, limits: dict) -> tuple[dict, dict]:
    meas = twix[-1]
    hdr = meas.get("hdr") if isinstance(meas.get("hdr"), dict) else {}
    image = meas.get("image")
    if image is None or not image.mdb_list:
        found = ", ".join(k for k in meas if k not in ("hdr", "hdr_str")) or "nothing"
        raise ReadError(f"twix file has no image readouts (found: {found})", "missing")
    mdbs = image.mdb_list
    table = mdh_table(mdbs)
    keep, choice = _choose(table, hdr, params)
    rows = np.flatnonzero(keep)
    sel = table[rows]
    readout, n_lin, lin_off = _geometry(sel, hdr, getattr(image, "rs_traj", None), limits)
    n_coils, n_out = int(sel[0, COL["Cha"]]), readout.n_out
    n_par, par_off = choice["n_par"], choice["par_off"]
    check_elements(n_coils * n_out * n_lin * n_par, limits, "twix k-space (all partitions)")
    epi = prepare_epi(meas, sel, choice, readout, n_coils,
                      bool(params.get("phase_correction", True)))
    notes: list[str] = []

    # image readouts; averages and segments of one line are averaged
    acc = np.zeros((n_par, n_coils, n_out, n_lin), np.complex64)
    hits = np.zeros((n_lin, n_par), np.int64)
    for i, flags in zip(rows, sel):
        li, pi = int(flags[COL["Lin"]]) + lin_off, int(flags[COL["Par"]]) + par_off
        acc[pi, :, :, li] += readout.row(mdbs[i], flags)
        hits[li, pi] += 1
    image_lines = hits > 0

    # GRAPPA reference lines fill the lines the image lacks
    calibration, merged = 0, 0
    refs = meas.get("refscan")
    if refs is not None and refs.mdb_list:
        ref_table = mdh_table(refs.mdb_list)
        use = ((column(ref_table, "Sli") == choice["sli"])
               & (column(ref_table, "Eco") == choice["contrast"])
               & (column(ref_table, "Rep") == choice["repetition"]))
        if choice["average"] is not None:
            same_ave = use & (column(ref_table, "Ave") == choice["average"])
            use = same_ave if same_ave.any() else use
        calibration = int(len(np.unique(column(ref_table, "Lin")[use])))
        ref_hits = np.zeros_like(hits)
        for i in np.flatnonzero(use):
            flags = ref_table[i]
            li, pi = int(flags[COL["Lin"]]) + lin_off, int(flags[COL["Par"]]) + par_off
            if flags[COL["Cha"]] != n_coils or flags[COL["Col"]] != readout.n_col:
                notes.append("reference lines with other channels or samples were left out")
            elif 0 <= li < n_lin and 0 <= pi < n_par and not image_lines[li, pi]:
                acc[pi, :, :, li] += readout.row(refs.mdb_list[i], flags)
                ref_hits[li, pi] += 1
        merged = int(np.count_nonzero(ref_hits.any(axis=1)))
        hits += ref_hits
    np.divide(acc, np.maximum(hits, 1).T[:, None, None, :].astype(np.float32), out=acc)

    # samples an asymmetric echo did not reach stay zero (oversampling removal smeared them)
    reflect = column(sel, "REFLECT").astype(bool)
    rows_acquired = readout.acquired(bool(reflect.any()), bool((~reflect).any()))
    if not rows_acquired.all():
        acc[:, :, ~rows_acquired] = 0

    # a 3-D scan: the chosen partition of the inverse DFT along Par
    if choice["three_d"]:
        acquired = hits > 0
        kz = np.flatnonzero(acquired.any(axis=0))
        if (kz.size and kz.size != kz[-1] - kz[0] + 1) or np.any(
            acquired[acquired.any(axis=1)] != acquired[acquired.any(axis=1)][:1]
        ):
            raise ReadError(
                f"twix 3-D data undersampled along the partitions ({kz.size} of {n_par} "
                "partition encodings, or different ones per line): the app reads 3-D data as "
                "partitions, which needs the same contiguous partitions for every line",
                "unsupported",
            )
        weights = _centred_idft_row(n_par, choice["par_out"]).astype(np.complex64)
        kspace = (weights @ acc.reshape(n_par, -1)).reshape(acc.shape[1:])
    else:
        kspace = acc[0]
    del acc
    lines = (hits > 0).any(axis=1)
    image_cols = image_lines.any(axis=1)
    sampled = np.flatnonzero(image_cols)
    undersampled = bool(sampled.size and not image_cols[sampled[0] : sampled[-1] + 1].all())
    arrays = {"kspace": kspace}
    if undersampled:
        arrays["mask"] = rows_acquired[:, None] & lines[None, :]
    noise_info = _noise(twix, n_coils, limits, arrays, notes)

    facts = header_facts(hdr, choice["contrast"])
    counts = (("slice", choice["n_slices"]), ("average", choice["n_averages"]),
              ("contrast", choice["n_contrasts"]), ("repetition", choice["n_repetitions"]))
    meta = {
        "n_slices": choice["n_slices"],
        "slice_index": choice["slice_index"],
        "n_coils": n_coils,
        "selectable": {k: v for k, v in counts if v > 1},
        "version": survey["version"],
        "measurements": survey["n_measurements"],
        **facts,
        "readout_samples": readout.n_col,
        "oversampling_removed": readout.n_out < readout.n_full,
        "ramp_sampling_regridded": readout.traj is not None,
        "contrast": choice["contrast"],
        "repetition": choice["repetition"],
        "average": "mean" if choice["average"] is None else choice["average"],
        "n_averages": choice["n_averages"],
        "acquired_lines": int(lines.sum()),
        "zero_filled_lines": int(n_lin - lines.sum()),
        "zero_filled_readout": int((~rows_acquired).sum()),
        "undersampled": undersampled,
        "calibration_lines": calibration,
        "merged_reference_lines": merged,
    }
    if choice["three_d"]:
        meta["partitions"] = {"n": n_par, "index": choice["par_out"], "slices_2d": choice["n_sli"]}
    if epi is not None:
        meta["epi"] = epi
    if noise_info is not None:
        meta["noise"] = noise_info
    if choice["ignored"]:
        meta["ignored_counters"] = choice["ignored"]
        notes.append("only the first of " + ", ".join(
            f"{v} {k}" for k, v in choice["ignored"].items()) + " was read")
    if notes:
        meta["notes"] = sorted(set(notes))
    meta["description"] = _describe(meta, n_out, n_lin, arrays.get("mask"))
    return meta, arrays


def _noise(twix: list, n_coils: int, limits: dict, arrays: dict, notes: list) -> dict | None:
    """Put the noise scans (this measurement's, else the latest earlier one's) in ``arrays``."""
    for meas in reversed(twix):
        cat = meas.get("noise") if isinstance(meas, dict) else None
        if cat is None or not cat.mdb_list:
            continue
        good = [m for m in cat.mdb_list if int(m.mdh.UsedChannels) == n_coils]
        if not good:
            notes.append("noise scans with another number of channels were left out")
            continue
        total = sum(int(m.mdh.SamplesInScan) for m in good)
        check_elements(n_coils * total, limits, "twix noise scans")
        noise = np.concatenate([np.asarray(m.data, np.complex64) for m in good], axis=1)
        if not np.isfinite(noise).all():
            raise ReadError("twix noise scans contain NaN or Inf values", "nonfinite")
        arrays["noise"] = noise
        return {"scans": len(good), "samples": int(noise.shape[1])}
    return None


def _describe(meta: dict, h: int, w: int, mask) -> str:
    """The one-line description of the load, for the UI."""
    name = meta.get("sequence") or meta.get("protocol") or "scan"
    parts = [f"Siemens twix ({meta['version']}) {name}",
             f"slice {meta['slice_index']} of {meta['n_slices']}",
             f"{meta['n_coils']} coil{'s' if meta['n_coils'] != 1 else ''}", f"{h}x{w}"]
    if meta["oversampling_removed"]:
        parts.append("readout oversampling removed")
    if meta["n_averages"] > 1:
        parts.append(f"mean of {meta['n_averages']} averages" if meta["average"] == "mean"
                     else f"average {meta['average']} of {meta['n_averages']}")
    epi = meta.get("epi")
    if epi is not None:
        parts.append("EPI, odd/even phase-corrected" if epi["phase_correction"] != "none"
                     else "EPI, no odd/even phase correction")
    if mask is not None:
        text = f"undersampled ({100 * float(np.mean(mask)):.0f}% of k-space acquired"
        if meta["calibration_lines"]:
            text += f", {meta['calibration_lines']} calibration lines"
        parts.append(text + ")")
    elif meta["zero_filled_lines"] or meta["zero_filled_readout"]:
        parts.append("partial Fourier zero-filled")
    return ", ".join(parts)


def _centred_idft_row(n: int, index: int) -> np.ndarray:
    """Row ``index`` of the centred orthonormal inverse DFT of length n (DC at n // 2)."""
    k = np.arange(n) - n // 2
    x = index - n // 2
    return np.exp(2j * np.pi * k * x / n) / math.sqrt(n)
