"""Choosing and placing the ISMRMRD lines of one slice in k-space (in the helper process).

The choice (:func:`select_lines`): one slice, or one partition of 3-D data, one contrast and
repetition, the first cardiac phase and set, all averages or one. The placement, in the app's
layout (rows H = readout samples, columns W = phase-encoding steps): :func:`place_lines` puts
imaging lines at column ``idx.kspace_encode_step_1 - center + W // 2`` and calibration-only
lines at the columns no imaging line fills; :func:`readout_offsets` puts a shorter readout
(asymmetric echo) so that its ``center_sample`` lands on H // 2; :func:`line_weights` averages
the lines at one place and, for 3-D data, weighs each kz line by its factor in the centred
orthonormal inverse FFT at the chosen partition; :func:`fill_kspace` adds them up.
:func:`oversampling` and :func:`remove_oversampling` keep the recon field of view of an
oversampled readout.
"""

from __future__ import annotations

import math

import numpy as np

from .ismrmrd_acquisitions import read_samples
from .wire import ReadError, pick


# --------------------------------------------------------------------------- the choice


def _choose(n: int, value, what: str, default: int | None) -> int:
    if value is None and default is not None:
        value = default
    if value is not None and not isinstance(value, bool) and isinstance(value, int):
        if not 0 <= value < n:
            raise ReadError(
                f"{what} {value} is out of range: the file has {n} {what.replace('_index', '')}"
                f"{'' if n == 1 else 's'} (valid: 0..{n - 1})",
                "argument",
            )
    return pick(n, value, what)


def _count(values: np.ndarray) -> int:
    return int(values.max()) + 1 if values.size else 1


def matrix_shape(facts: dict, heads: dict, image: np.ndarray) -> tuple[int, int, int]:
    """(H, W, partitions) of the encoded matrix, checked to be addressable by the counters."""
    enc_x, enc_y, enc_z = facts["encoded_matrix"]
    h = enc_x if enc_x and enc_x > 0 else int(heads["number_of_samples"][image].max())
    if not enc_y or enc_y <= 0:
        raise ReadError(
            f"the ISMRMRD header's encoded matrix has y = {enc_y}; expected the number of "
            "phase-encoding steps",
            "corrupt",
        )
    depth = int(enc_z) if enc_z and enc_z > 1 else 1
    for size, axis in ((enc_y, "y"), (depth, "z")):
        if size > 65536:
            raise ReadError(
                f"the ISMRMRD header's encoded matrix has {axis} = {size}, more than its 16-bit "
                "encoding counters can address (65536)",
                "corrupt",
            )
    return int(h), int(enc_y), depth


def select_lines(heads: dict, kinds: dict, params: dict, depth: int) -> dict:
    """The chosen slice (or partition), contrast, repetition, average, phase and set, and
    which imaging lines (``rows``) and calibration-only lines (``cal_rows``) they hold."""
    image = kinds["image"]
    n_slab = _count(heads["slice"][image])
    three_d = depth > 1
    if three_d and n_slab > 1:
        raise ReadError(
            f"ISMRMRD 3-D data with {n_slab} slabs of {depth} partitions: the app reads one "
            "3-D slab or 2-D slices only",
            "unsupported",
        )
    counts = {
        "slice": depth if three_d else n_slab,
        "average": _count(heads["average"][image]),
        "contrast": _count(heads["contrast"][image]),
        "repetition": _count(heads["repetition"][image]),
    }
    s = _choose(counts["slice"], params.get("slice_index"), "slice_index", None)
    contrast = _choose(counts["contrast"], params.get("contrast"), "contrast", 0)
    repetition = _choose(counts["repetition"], params.get("repetition"), "repetition", 0)
    average = params.get("average")
    if average is not None:
        average = _choose(counts["average"], average, "average", None)

    here = (heads["contrast"] == contrast) & (heads["slice"] == (0 if three_d else s))
    chosen = image & here & (heads["repetition"] == repetition)
    where = f"slice {s}, contrast {contrast}, repetition {repetition}"
    if not chosen.any():
        raise ReadError(f"the ISMRMRD file has no imaging acquisitions for {where}", "missing")
    phase = int(heads["phase"][chosen].min())
    set_ = int(heads["set"][chosen].min())
    same = (heads["phase"] == phase) & (heads["set"] == set_)
    chosen &= same
    if average is not None:
        chosen &= heads["average"] == average
        if not chosen.any():
            raise ReadError(
                f"the ISMRMRD file has no imaging acquisitions of average {average} for {where}",
                "missing",
            )
    return {
        "three_d": three_d,
        "counts": counts,
        "slice": s,
        "contrast": contrast,
        "repetition": repetition,
        "average": average,
        "phase": phase,
        "set": set_,
        "n_phases": len(np.unique(heads["phase"][image & here])),
        "n_sets": len(np.unique(heads["set"][image & here])),
        "rows": np.flatnonzero(chosen),
        "cal_rows": np.flatnonzero(kinds["cal_only"] & here & same),
    }


def channel_count(heads: dict, rows: np.ndarray, limits: dict, where: str) -> int:
    channels = heads["active_channels"][rows]
    c = int(channels[0])
    if np.any(channels != c):
        raise ReadError(
            f"the imaging acquisitions of {where} have different channel counts "
            f"({sorted(set(channels.tolist()))[:5]})",
            "shape_mismatch",
        )
    if c == 0:
        raise ReadError("the ISMRMRD acquisitions have 0 active channels", "empty")
    if c > limits["max_coils"]:
        raise ReadError(
            f"the ISMRMRD data have {c} coils, more than max_coils={limits['max_coils']}",
            "too_large",
        )
    return c


# ---------------------------------------------------------------------------- the place


def _centre(facts: dict, name: str, size: int) -> int:
    """The header's centre of encoding counter ``name``, or ``size // 2`` when it has none."""
    centre = facts["limits"].get(name, {}).get("center")
    return size // 2 if centre is None else int(centre)


def _positions(values: np.ndarray, centre: int, size: int, what: str, rows) -> np.ndarray:
    """``values - centre + size // 2``, each checked to lie in ``[0, size)``."""
    pos = values - centre + size // 2
    bad = np.flatnonzero((pos < 0) | (pos >= size))
    if bad.size:
        raise ReadError(
            f"acquisition {rows[bad[0]]} has {what} {values[bad[0]]}, outside the encoded "
            f"matrix of {size} (encoding centre {centre})",
            "shape_mismatch",
        )
    return pos


def readout_offsets(heads: dict, rows: np.ndarray, h: int) -> tuple[np.ndarray, np.ndarray]:
    """Kept samples per line and the row where each line starts, checked to fit in ``h`` rows."""
    total = heads["number_of_samples"][rows]
    pre, post = heads["discard_pre"][rows], heads["discard_post"][rows]
    kept = total - pre - post
    bad = np.flatnonzero(kept <= 0)
    if bad.size:
        i = rows[bad[0]]
        raise ReadError(
            f"acquisition {i} has {total[bad[0]]} samples and discards {pre[bad[0]]} + "
            f"{post[bad[0]]} of them: nothing is left",
            "corrupt",
        )
    centre = heads["center_sample"][rows] - pre
    use_centre = (kept != h) & (centre > 0) & (centre < kept)
    offsets = np.where(kept == h, 0, np.where(use_centre, h // 2 - centre, h // 2 - kept // 2))
    bad = np.flatnonzero((offsets < 0) | (offsets + kept > h))
    if bad.size:
        i = rows[bad[0]]
        raise ReadError(
            f"acquisition {i} has {kept[bad[0]]} readout samples (centre sample "
            f"{centre[bad[0]]}), which do not fit the encoded matrix's {h} readout points",
            "shape_mismatch",
        )
    return kept, offsets


def place_lines(heads: dict, facts: dict, kinds: dict, choice: dict, c: int, w: int, depth: int):
    """Column and partition of every line used: imaging lines, then the calibration-only
    lines of the positions no imaging line has. Also returns the calibration columns."""
    centre1 = _centre(facts, "kspace_encoding_step_1", w)
    centre2 = _centre(facts, "kspace_encoding_step_2", depth) if depth > 1 else 0

    def where(rows):
        step1, step2 = "kspace_encode_step_1", "kspace_encode_step_2"
        col = _positions(heads[step1][rows], centre1, w, step1, rows)
        kz = _positions(heads[step2][rows], centre2, depth, step2, rows)
        return col, kz

    rows, cal_rows = choice["rows"], choice["cal_rows"]
    other = heads["active_channels"][cal_rows] != c
    if other.any():
        kinds["skipped"]["calibration with other channels"] = int(np.count_nonzero(other))
        cal_rows = cal_rows[~other]
    col, kz = where(rows)
    cal_col, cal_kz = where(cal_rows)
    calibration = np.unique(np.concatenate([cal_col, col[kinds["cal_and_img"][rows]]]))
    free = ~np.isin(cal_col * depth + cal_kz, col * depth + kz)
    return (
        np.concatenate([rows, cal_rows[free]]),
        np.concatenate([col, cal_col[free]]),
        np.concatenate([kz, cal_kz[free]]),
        calibration,
    )


def line_weights(cols: np.ndarray, kzs: np.ndarray, depth: int, partition: int) -> np.ndarray:
    """Per line: 1 / (lines at its position) (the mean of averages), times, for 3-D data,
    the factor of its kz in the centred orthonormal inverse FFT at ``partition``."""
    _, inverse, per_key = np.unique(cols * depth + kzs, return_inverse=True, return_counts=True)
    weights = 1.0 / per_key[inverse.reshape(-1)]
    if depth == 1:
        return weights
    pairs = np.unique(cols * depth + kzs)  # sorted by column, then kz
    _, per_col = np.unique(pairs // depth, return_counts=True)
    kz_sets = pairs % depth
    if np.any(per_col != per_col[0]) or np.any(
        kz_sets.reshape(per_col.size, per_col[0]) != kz_sets[: per_col[0]]
    ):
        raise ReadError(
            "ISMRMRD 3-D data with different kz lines for different ky lines (2-D "
            "undersampling): the app reads 3-D data as partitions, which needs the same kz "
            "lines for every ky line",
            "unsupported",
        )
    kz_set = kz_sets[: per_col[0]]
    if kz_set.size != kz_set[-1] - kz_set[0] + 1:  # holes along kz: the partitions would fold
        raise ReadError(
            f"ISMRMRD 3-D data undersampled along kz ({kz_set.size} of {depth} partition "
            "encodings, not contiguous): the app reads 3-D data as partitions, which needs "
            "contiguous kz lines (a partial-Fourier block is fine)",
            "unsupported",
        )
    angle = 2 * np.pi * (kzs - depth // 2) * (partition - depth // 2) / depth
    return weights * np.exp(1j * angle) / math.sqrt(depth)


def fill_kspace(table, heads, kinds, rows, cols, weights, kept, offsets, shape) -> np.ndarray:
    """K-space (C, H, W): each line's kept samples, weighted, added at its place."""
    kspace = np.zeros(shape, np.complex64)
    slot = {int(r): i for i, r in enumerate(rows)}
    for row, samples in read_samples(table, np.sort(rows), heads):
        i = slot[row]
        pre, n, off = int(heads["discard_pre"][row]), int(kept[i]), int(offsets[i])
        line = samples[:, pre : pre + n]
        if kinds["reverse"][row]:
            line = line[:, ::-1]
        target = kspace[:, off : off + n, cols[i]]  # a view
        if weights[i] == 1:
            target += line
        else:
            target += (line * weights[i]).astype(np.complex64)
    return kspace


# ----------------------------------------------------------------- readout oversampling


def oversampling(facts: dict, h: int) -> tuple[int | None, float]:
    """Rows to keep when the readout is oversampled (None: it is not), and the factor."""
    enc_x, rec_x = facts["encoded_matrix"][0], facts["recon_matrix"][0]
    if not (enc_x and rec_x and 0 < rec_x < enc_x):
        return None, 1.0
    enc_fov, rec_fov = facts["encoded_fov_mm"][0], facts["recon_fov_mm"][0]
    if enc_fov and rec_fov and 0 < rec_fov < enc_fov:
        factor = enc_fov / rec_fov
    else:
        factor = enc_x / rec_x
    keep = int(round(h / factor))
    if not 0 < keep < h:
        return None, 1.0
    return keep, factor


def remove_oversampling(k: np.ndarray, keep: int) -> np.ndarray:
    """Keep the central ``keep`` of the H image rows of k-space (C, H, W): the recon FOV."""
    c, h, w = k.shape
    start = h // 2 - keep // 2
    out = np.empty((c, keep, w), np.complex64)
    for i in range(c):  # one coil at a time, in double precision
        img = np.fft.fftshift(
            np.fft.ifft(np.fft.ifftshift(k[i].astype(np.complex128), axes=0), axis=0, norm="ortho"),
            axes=0,
        )[start : start + keep]
        out[i] = np.fft.fftshift(
            np.fft.fft(np.fft.ifftshift(img, axes=0), axis=0, norm="ortho"), axes=0
        )
    return out
