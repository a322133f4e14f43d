"""The MDH counters of a twix file's readouts as a table, and the k-space axes they span.

Each measurement data block (MDB, one readout of every coil) has a header (MDH) of loop
counters (``Lin``, ``Par``, ``Sli``, ...), channel and sample counts, k-space centres and
flags. :func:`mdh_table` gathers them for a list of MDBs into one int64 array, with its
columns named by :data:`COL`; :func:`grid_size` and :func:`check_centre` turn the counters
and the protocol's matrix into axis lengths with the k-space centre at length // 2.
"""

from __future__ import annotations

import numpy as np

from .wire import ReadError

#: Most an axis may be widened beyond the protocol's matrix to hold the acquired counters
#: (phase oversampling doubles the lines at most).
MAX_WIDENING = 4

#: MDH loop counters, in the columns of :func:`mdh_table`.
_COUNTERS = ("Lin", "Par", "Sli", "Ave", "Eco", "Rep", "Seg", "Set", "Phs",
             "Ida", "Idb", "Idc", "Idd", "Ide")
_EXTRA = ("Cha", "Col", "CenterCol", "CenterLin", "CenterPar", "REFLECT", "SKIP_REGRIDDING")
COL = {name: i for i, name in enumerate(_COUNTERS + _EXTRA)}
#: Counters of which only the first value present is used.
FIRST_ONLY = ("Set", "Phs", "Ida", "Idb", "Idc", "Idd", "Ide")


def mdh_table(mdbs) -> np.ndarray:
    """int64 (n, len(COL)): counters, channels, samples, centres and flags of each MDB."""
    rows = []
    for mdb in mdbs:
        mdh = mdb.mdh
        counter = mdh.Counter
        rows.append([getattr(counter, key) for key in _COUNTERS] + [
            mdh.UsedChannels, mdh.SamplesInScan, mdh.CenterCol, mdh.CenterLin, mdh.CenterPar,
            mdb.is_flag_set("REFLECT"), mdb.is_flag_set("SKIP_REGRIDDING"),
        ])
    return np.array(rows, dtype=np.int64).reshape(len(rows), len(COL))


def column(table: np.ndarray, name: str) -> np.ndarray:
    return table[:, COL[name]]


def mode(values: np.ndarray) -> int:
    """The most common value (the smallest among ties)."""
    uniq, counts = np.unique(values, return_counts=True)
    return int(uniq[np.argmax(counts)])


def count(table: np.ndarray, name: str) -> int:
    """max + 1 of a counter (its declared range)."""
    return int(column(table, name).max()) + 1 if len(table) else 0


def grid_size(header_size, centre: int, lo: int, hi: int, what: str) -> int:
    """Length of an axis holding indices lo..hi with ``centre`` at length // 2.

    The protocol's size when the acquired indices fit it, else the smallest even length that
    holds them symmetrically about the centre. Sizes more than :data:`MAX_WIDENING` times
    apart are not trusted: a protocol size that large is ignored, counters that far out are
    refused (either would otherwise make a huge, nearly empty k-space).
    """
    n = max(2 * centre, 2 * (hi - centre + 1), hi + 1, 2)
    n += n % 2
    if header_size is not None and header_size <= MAX_WIDENING * n:
        off = header_size // 2 - centre
        if lo + off >= 0 and hi + off < header_size:
            return int(header_size)
    if header_size is not None and n > MAX_WIDENING * header_size:
        raise ReadError(
            f"twix {what} counters {lo}..{hi} about centre {centre} need {n} {what}s, far more "
            f"than the protocol's {header_size}; the data headers are corrupt", "corrupt",
        )
    return n


def check_centre(name: str, centre: int, indices: np.ndarray) -> None:
    """The k-space centre (line or partition) lies among the acquired ones, as it always does."""
    lo, hi = int(indices.min()), int(indices.max())
    if not lo <= centre <= hi:
        raise ReadError(
            f"twix image readouts span {name[6:].lower()} counters {lo}..{hi} but their "
            f"{name} is {centre}; the data headers are corrupt", "corrupt",
        )
