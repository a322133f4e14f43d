"""One twix readout to one k-space row, and the EPI odd/even phase correction it applies.

:class:`Readout` does everything along the readout axis, one readout at a time: ramp-sampling
regridding (twixtools' trajectory), reversal of lines flagged ``REFLECT``, zero-filling to
the full oversampled length about ``CenterCol``, the EPI phase correction and readout
oversampling removal. :func:`prepare_epi` estimates that phase correction from the slice's
phase-correction navigators (see the :mod:`.twix` module docstring for the method).
"""

from __future__ import annotations

import numpy as np

from .twix_mdh import COL, column, mdh_table
from .wire import ReadError

PHASE_CORRECTION = "navigator odd/even (constant + linear)"


class Readout:
    """How one readout becomes a row of the output: ramp-sampling regridding, reversal,
    zero-filling to the full oversampled length about ``CenterCol``, the EPI phase correction
    and oversampling removal, in that order, one readout at a time (so that no array larger
    than the output is ever made)."""

    def __init__(self, n_col: int, center_col: int, n_full: int, n_out: int, traj) -> None:
        self.n_col, self.n_full, self.n_out = n_col, n_full, n_out
        self.offset = n_full // 2 - center_col
        self.traj = traj if traj is not None and len(traj) == n_col and n_col >= 4 else None
        self.phi = None  # EPI phase difference, (n_full,), set by the navigator estimate

    def start(self, reflect: bool) -> int:
        """First index of the acquired samples in the full readout (reversed ones mirror)."""
        return self.n_full - self.offset - self.n_col if reflect else self.offset

    def place(self, mdb, reflect: bool, skip_regrid: bool) -> np.ndarray:
        """complex128 (C, n_full): the readout regridded, reversed if reflected, zero-filled."""
        from twixtools.recon_helpers import perform_regrid

        data = np.asarray(mdb.data, dtype=np.complex128)
        if data.ndim != 2 or data.shape[-1] != self.n_col:
            raise ReadError(f"twix readout has shape {data.shape}; expected (C, {self.n_col})")
        if self.traj is not None and not skip_regrid:
            data = np.asarray(perform_regrid(data, self.traj, float(mdb.mdh.ReadOutOffcentre)))
        if reflect:
            data = data[:, ::-1]
        out = np.zeros((data.shape[0], self.n_full), np.complex128)
        start = self.start(reflect)
        out[:, start : start + self.n_col] = data
        return out

    def row(self, mdb, flags: np.ndarray) -> np.ndarray:
        """complex128 (C, n_out): one readout, ready to be added into the k-space."""
        reflect = bool(flags[COL["REFLECT"]])
        line = self.place(mdb, reflect, bool(flags[COL["SKIP_REGRIDDING"]]))
        if self.phi is None and self.n_out == self.n_full:
            return line
        hybrid = ifftc(line, axis=-1)
        if self.phi is not None:  # half the odd/even difference each way
            hybrid *= np.exp((0.5j if reflect else -0.5j) * self.phi)
        first = self.n_full // 2 - self.n_out // 2
        return fftc(hybrid[:, first : first + self.n_out], axis=-1)

    def acquired(self, reflected: bool, forward: bool) -> np.ndarray:
        """bool (n_out,): output samples inside the acquired readout (asymmetric echo)."""
        step = self.n_full / self.n_out
        pos = self.n_full // 2 + (np.arange(self.n_out) - self.n_out // 2) * step
        out = np.zeros(self.n_out, bool)
        for use, flip in ((forward, False), (reflected, True)):
            if use:
                start = self.start(flip)
                out |= (pos >= start - 0.5) & (pos <= start + self.n_col - 0.5)
        return out


def ifftc(x: np.ndarray, axis: int) -> np.ndarray:
    x = np.fft.ifftshift(x, axes=axis)
    return np.fft.fftshift(np.fft.ifft(x, axis=axis, norm="ortho"), axes=axis)


def fftc(x: np.ndarray, axis: int) -> np.ndarray:
    x = np.fft.ifftshift(x, axes=axis)
    return np.fft.fftshift(np.fft.fft(x, axis=axis, norm="ortho"), axes=axis)


# ------------------------------------------------------------------- EPI phase correction


def _navigator_phase(navs, nav_table: np.ndarray, readout: Readout, n_coils: int):
    """phi(x) (n_full,): phase of the non-reflected minus the reflected navigators.

    The navigators are processed like image readouts (regridded, reversed, zero-filled), taken
    to hybrid space, averaged per polarity, multiplied (forward x conj(reflected)) and summed
    over coils; the phase of that product is fitted as constant + linear in x: the slope from
    the lag-1 autocorrelation, the constant from the mean phase after removing the slope (both
    weighted by the signal, so noise-only samples hardly count).

    Returns:
        (phi, None), or (None, why not).
    """
    groups: dict[bool, list[np.ndarray]] = {True: [], False: []}
    for mdb, flags in zip(navs, nav_table):
        if flags[COL["Col"]] != readout.n_col or flags[COL["Cha"]] != n_coils:
            continue
        reflect = bool(flags[COL["REFLECT"]])
        line = readout.place(mdb, reflect, bool(flags[COL["SKIP_REGRIDDING"]]))
        groups[reflect].append(ifftc(line, axis=-1))
    if not groups[True] or not groups[False]:
        return None, "the navigators do not include both readout polarities"
    forward, reflected = np.mean(groups[False], axis=0), np.mean(groups[True], axis=0)
    product = np.sum(forward * np.conj(reflected), axis=0)
    if not np.isfinite(product).all() or not np.any(product):
        return None, "the navigators hold no usable signal"
    x = np.arange(readout.n_full) - readout.n_full // 2
    slope = float(np.angle(np.sum(product[1:] * np.conj(product[:-1]))))
    const = float(np.angle(np.sum(product * np.exp(-1j * slope * x))))
    return const + slope * x, None


def prepare_epi(meas: dict, sel: np.ndarray, choice: dict, readout: Readout, n_coils: int,
         wanted: bool) -> dict | None:
    """Report of the EPI handling (None without reflected lines); sets ``readout.phi``."""
    reflect = column(sel, "REFLECT").astype(bool)
    if not reflect.any():
        return None
    epi = {"reflected_lines": int(reflect.sum()), "phase_correction": "none"}
    navs = meas.get("phasecorr")
    if not wanted:
        epi["phase_correction_note"] = "switched off"
        return epi
    if navs is None or not navs.mdb_list:
        epi["phase_correction_note"] = "the file has no phase-correction navigators"
        return epi
    table = mdh_table(navs.mdb_list)
    use = column(table, "Sli") == choice["sli"]
    same_rep = use & (column(table, "Rep") == choice["repetition"])
    if same_rep.any():
        use = same_rep
    phi, why = _navigator_phase(
        [m for m, u in zip(navs.mdb_list, use) if u], table[use], readout, n_coils
    )
    if phi is None:
        epi["phase_correction_note"] = why
        return epi
    readout.phi = phi
    n = readout.n_full
    epi.update({
        "phase_correction": PHASE_CORRECTION,
        "navigators": int(use.sum()),
        "phase_difference_rad": {"constant": round(float(phi[n // 2]), 4),
                                 "per_sample": round(float(phi[1] - phi[0]), 6)},
    })
    return epi
