"""Read one slice of an ISMRMRD ``.h5`` raw-data file (in the helper process: see :mod:`..readers`).

ISMRMRD (the ISMRM raw data format) keeps a scan in one HDF5 group, usually ``/dataset``:

* ``xml``: the XML header (encoded and recon matrix and field of view, trajectory, encoding
  limits with their centres, parallel imaging, receiver channels), parsed with the
  ``ismrmrd`` package (:func:`ismrmrd.xsd.CreateFromDocument`);
* ``data``: the table of acquisitions, one readout each: a fixed binary header (flags, sample
  and channel counts, encoding counters ``idx``; :data:`ismrmrd.hdf5.acquisition_header_dtype`)
  and its samples, channels x samples complex numbers stored as interleaved float32.

The table is read with h5py directly (``ismrmrd.Dataset`` wants a path and reads one
acquisition at a time): first all the headers, which decide everything, then the samples of
only the acquisitions of the chosen slice. What :func:`read` makes of them, in the app's layout
(rows H = readout samples, columns W = phase-encoding steps, the direction masks undersample):

* imaging lines go to column ``idx.kspace_encode_step_1 - center + W // 2`` (``center`` of the
  header's ``kspace_encoding_step_1`` limits), so the encoding centre lands on W // 2; a line of
  the full readout length fills all H rows, a shorter one (asymmetric echo) is placed so that
  its ``center_sample`` lands on H // 2. ``discard_pre``/``discard_post`` samples are dropped,
  lines flagged ACQ_IS_REVERSE are flipped;
* calibration lines: ACQ_IS_PARALLEL_CALIBRATION_AND_IMAGING lines are imaging lines;
  ACQ_IS_PARALLEL_CALIBRATION-only lines fill the columns that no imaging line fills (embedded
  auto-calibration lines), of any average and repetition of the chosen slice and contrast;
  the number of distinct calibration columns is ``calibration_lines``;
* navigator, phase-correction, dummy, feedback, surface-coil-correction and phase-stabilisation
  scans are skipped, and so are acquisitions of another encoding space than the first;
* noise scans (ACQ_IS_NOISE_MEASUREMENT) are returned as ``noise``, complex64 (C, N);
* averages: the mean of all of them per line (``average`` None) or the chosen one; one contrast
  (None: 0), one repetition (None: 0), the first cardiac phase and set;
* readout oversampling: when the encoded readout is longer than the recon one, the central
  recon field of view is kept (inverse FFT along the readout, crop, FFT back, orthonormal both
  ways, computed in double precision);
* 3-D data (encoded z > 1) are read as a stack of partitions: the chosen partition is the
  centred orthonormal inverse FFT along ``kspace_encode_step_2`` (computed as a weighted sum of
  the lines, so only one partition is ever held). This needs the same kz lines for every
  acquired ky line; other kz undersampling, and 3-D data with several slabs, are refused;
* ``mask``, bool (H, W), when lines are missing inside the acquired range (undersampled data);
  a solid block of lines (partial Fourier) is a smaller acquisition, not an undersampled one;
* non-Cartesian data (header trajectory other than ``cartesian``, or acquisitions with a
  stored trajectory) are refused with reason ``"unsupported"``: the app has no non-Cartesian
  reconstruction yet.

K-space comes out centred (DC at (H // 2, W // 2)), in the file's units: the centred orthonormal
FFT convention of the app (``fftshift(fft2(ifftshift(x), norm="ortho"))``).

The reader is split by concept: :mod:`.ismrmrd_header` (the group and the XML header),
:mod:`.ismrmrd_acquisitions` (the acquisition table: headers, flags, samples),
:mod:`.ismrmrd_kspace` (choosing and placing the lines of one slice, readout oversampling) and
this module (:func:`read`: the checks, the noise scans, ``meta`` and its description).
"""

from __future__ import annotations

import h5py
import numpy as np

from .h5safety import local_dataset
from .ismrmrd_acquisitions import acquisition_table, classify, read_heads, read_samples
from .ismrmrd_header import find_group, header_facts, parse_header, xml_bytes
from .ismrmrd_kspace import (
    channel_count,
    fill_kspace,
    line_weights,
    matrix_shape,
    oversampling,
    place_lines,
    readout_offsets,
    remove_oversampling,
    select_lines,
)
from .wire import ReadError, check_elements, check_plane

# --------------------------------------------------------------------------------- read


def read(file, params: dict, limits: dict) -> tuple[dict, dict]:
    """Assemble one slice of k-space (and the noise scans) from an ISMRMRD ``.h5`` file.

    Args:
        file: path or binary file object of an HDF5 file.
        params: ``slice_index`` (slice, or partition of 3-D data; None: the middle one),
            ``average`` (None: the mean of all), ``contrast`` and ``repetition`` (None: 0).
        limits: ``LoadLimits.as_dict()``.

    Returns:
        (meta, arrays): ``arrays["kspace"]`` complex64 (C, H, W), H the readout (after
        oversampling removal), W the encoding steps, DC at (H // 2, W // 2); optional
        ``arrays["mask"]`` bool (H, W) for undersampled data; optional ``arrays["noise"]``
        complex64 (C, N). ``meta``: ``n_slices``, ``slice_index``, ``n_coils``, ``selectable``,
        ``calibration_lines``, ``description``, ``header`` (:func:`header_facts`) and the
        details of the choice (``average``, ``contrast``, ``repetition``, ``skipped``, ...).

    Raises:
        ReadError: no ISMRMRD group, unparsable header, non-Cartesian data (``"unsupported"``),
            choices out of range (``"argument"``), headers that disagree with the samples or
            the matrix, limits exceeded.
        Exception: whatever h5py raises on a corrupt file (the caller wraps it).
    """
    with h5py.File(file, "r") as f:
        grp = find_group(f)
        xml = local_dataset(grp, "xml", "the ISMRMRD 'xml' dataset")
        facts = header_facts(parse_header(xml_bytes(xml)))
        table = acquisition_table(grp, limits)
        heads = read_heads(table)
        meta, arrays = _assemble(table, heads, facts, params, limits)
        meta["group"] = grp.name
    return meta, arrays


def _unsupported_trajectory(facts: dict, heads: dict, lines: np.ndarray) -> None:
    kind = facts["trajectory"]
    dims = heads["trajectory_dimensions"][lines]
    if kind == "cartesian" and not np.any(dims > 0):
        return
    n = int(np.count_nonzero(lines))
    samples = heads["number_of_samples"][lines]
    common = int(np.bincount(samples).argmax()) if n else 0
    dim = int(dims.max()) if n else 0
    traj = f"{dim}-D trajectory" if dim else "no stored trajectory"
    what = kind if kind != "cartesian" else "non-Cartesian (stored trajectory)"
    raise ReadError(
        f"ISMRMRD {what} data ({n} readouts of {common} samples, {traj}): the app "
        "reconstructs Cartesian data only so far",
        "unsupported",
    )


def _assemble(table, heads: dict, facts: dict, params: dict, limits: dict) -> tuple[dict, dict]:
    kinds = classify(heads)
    _unsupported_trajectory(facts, heads, kinds["lines"])
    if not kinds["image"].any():
        raise ReadError(
            f"the ISMRMRD file holds no imaging acquisitions ({heads['flags'].size} acquisitions: "
            f"{int(np.count_nonzero(kinds['noise']))} noise scans, "
            f"{int(np.count_nonzero(kinds['cal_only']))} calibration lines, "
            f"{kinds['n_skipped']} skipped)",
            "empty",
        )
    h, w, depth = matrix_shape(facts, heads, kinds["image"])
    choice = select_lines(heads, kinds, params, depth)
    c = channel_count(heads, choice["rows"], limits, f"slice {choice['slice']}")
    keep, factor = oversampling(facts, h)
    h_out = keep or h
    check_plane(h_out, w, limits, "ISMRMRD k-space")
    check_elements(c * h * w, limits, f"ISMRMRD k-space ({c} coils x {h} x {w})")

    rows, cols, kzs, calibration = place_lines(heads, facts, kinds, choice, c, w, depth)
    kept, offsets = readout_offsets(heads, rows, h)
    weights = line_weights(cols, kzs, depth, choice["slice"])
    kspace = fill_kspace(table, heads, kinds, rows, cols, weights, kept, offsets, (c, h, w))
    if keep:
        kspace = remove_oversampling(kspace, keep)
    arrays = {"kspace": kspace}

    sampled = np.unique(cols)
    span = int(sampled[-1] - sampled[0] + 1)
    undersampled = span > sampled.size
    if undersampled:
        mask = np.zeros((h_out, w), bool)
        mask[:, sampled] = True
        arrays["mask"] = mask
    noise = _noise(table, heads, kinds["noise"], c, limits, arrays)

    accel = facts["acceleration"] or [None, None]
    meta = {
        "n_slices": int(choice["counts"]["slice"]),
        "slice_index": int(choice["slice"]),
        "n_coils": c,
        "selectable": {k: v for k, v in choice["counts"].items() if v > 1},
        "calibration_lines": int(calibration.size),
        "header": facts,
        "three_d": choice["three_d"],
        "average": choice["average"],
        "n_averages": choice["counts"]["average"],
        "contrast": choice["contrast"],
        "repetition": choice["repetition"],
        "phase": choice["phase"],
        "set": choice["set"],
        "acquired_lines": int(sampled.size),
        "sampled_span": span,
        "undersampled": bool(undersampled),
        "acceleration": accel[0] if accel[0] and accel[0] > 1 else None,
        "oversampling_removed": bool(keep),
        "oversampling_factor": float(factor),
        "encoded_readout": int(h),
        "n_acquisitions": int(heads["flags"].size),
        "lines_used": int(rows.size),
        "skipped": kinds["skipped"],
        **noise,
    }
    meta["description"] = describe(meta, choice, (h_out, w))
    return meta, arrays


def describe(meta: dict, choice: dict, shape: tuple[int, int]) -> str:
    """The data in words, e.g. ``"ISMRMRD .h5, Cartesian, slice 1 of 2, 4 coils, 128x128,
    2x accelerated with 24 calibration lines, readout oversampling removed (2x)"``."""
    h, w = shape
    three_d, counts = choice["three_d"], choice["counts"]
    c = meta["n_coils"]
    parts = [
        "ISMRMRD .h5",
        "3-D Cartesian" if three_d else "Cartesian",
        f"{'partition' if three_d else 'slice'} {meta['slice_index']} of {meta['n_slices']}",
        f"{c} coil{'s' if c > 1 else ''}",
        f"{h}x{w}",
    ]
    n_cal, lines = meta["calibration_lines"], meta["acquired_lines"]
    if meta["undersampled"]:
        if meta["acceleration"]:
            text = f"{meta['acceleration']}x accelerated"
        else:
            text = f"undersampled ({100 * lines / w:.3g}% of lines acquired)"
        parts.append(text + (f" with {n_cal} calibration lines" if n_cal else ""))
    elif meta["sampled_span"] < w:
        parts.append(f"partial Fourier ({meta['sampled_span']} of {w} lines)")
    if meta["oversampling_removed"]:
        parts.append(f"readout oversampling removed ({meta['oversampling_factor']:g}x)")
    n_avg = counts["average"]
    if n_avg > 1:
        avg = choice["average"]
        parts.append(f"mean of {n_avg} averages" if avg is None else f"average {avg} of {n_avg}")
    for name in ("contrast", "repetition"):
        if counts[name] > 1:
            parts.append(f"{name} {choice[name]} of {counts[name]}")
    if choice["n_phases"] > 1:
        parts.append(f"phase {choice['phase']} of {choice['n_phases']}")
    if choice["n_sets"] > 1:
        parts.append(f"set {choice['set']} of {choice['n_sets']}")
    n_noise = meta["noise_scans"]
    if n_noise:
        parts.append(f"{n_noise} noise scan{'s' if n_noise > 1 else ''}")
    return ", ".join(parts)


def _noise(table, heads: dict, noise: np.ndarray, c: int, limits: dict, arrays: dict) -> dict:
    """Concatenate the noise scans with ``c`` channels into ``arrays["noise"]`` (C, N)."""
    rows = np.flatnonzero(noise)
    other = rows[heads["active_channels"][rows] != c]
    rows = rows[heads["active_channels"][rows] == c]
    info = {"noise_scans": int(rows.size), "noise_scans_other_channels": int(other.size)}
    if not rows.size:
        return info
    pre, post = heads["discard_pre"][rows], heads["discard_post"][rows]
    kept = np.maximum(heads["number_of_samples"][rows] - pre - post, 0)
    total = int(kept.sum())
    info["noise_samples"] = total
    if total == 0:
        return info
    check_elements(c * total, limits, f"ISMRMRD noise scans ({c} coils x {total} samples)")
    out = np.empty((c, total), np.complex64)
    start = 0
    for i, (_, samples) in enumerate(read_samples(table, rows, heads)):
        n = int(kept[i])
        out[:, start : start + n] = samples[:, int(pre[i]) : int(pre[i]) + n]
        start += n
    arrays["noise"] = out
    return info
