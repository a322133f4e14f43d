"""Which k-space samples a file actually holds: already-undersampled data are detected, not assumed.

A scanner or a course may hand out k-space that was undersampled before anyone saw it: the
missing samples are stored as exact zeros (the SigPy tutorial's brain: 87.6 % zeros), or the
file carries its own mask (fastMRI test files, ISMRMRD/twix line counters). Treating such data
as fully sampled makes their zero-filled image the "ground truth" and undersamples them twice.

:func:`acquired_pattern` reads the pattern from the samples: a point counts as acquired when
any coil holds a non-zero value there. The data count as *undersampled* when that pattern has
holes inside its bounding box (more than :data:`HOLE_FRACTION` of it): a solid block of samples
(zero-padding, partial Fourier, asymmetric echo) is a smaller acquisition, not an undersampled
one, and its zeros are kept as zeros.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from recon_core.io.loaded import LoadedData

__all__ = ["Acquisition", "acquired_pattern", "mark_acquired", "HOLE_FRACTION"]

#: Share of missing samples inside the acquired bounding box above which data are undersampled.
HOLE_FRACTION = 0.01


@dataclass(frozen=True, eq=False)
class Acquisition:
    """The acquired pattern of one k-space slice.

    Attributes:
        mask: bool (H, W), True where any coil holds a sample.
        fraction: share of the H x W points acquired, in [0, 1].
        undersampled: True when the pattern has holes (see the module docstring).
        description: the finding in words, for the data description.
    """

    mask: np.ndarray
    fraction: float
    undersampled: bool
    description: str


def acquired_pattern(kspace: np.ndarray) -> Acquisition:
    """The acquired pattern of k-space (H, W) or (C, H, W).

    :Examples:

    >>> k = np.ones((8, 8), np.complex64); k[:, ::2] = 0
    >>> a = acquired_pattern(k)
    >>> a.undersampled, a.fraction
    (True, 0.5)
    >>> acquired_pattern(np.pad(np.ones((4, 4)), 2)).undersampled  # zero-padded: not undersampled
    False
    """
    k = np.asarray(kspace)
    if k.ndim not in (2, 3):
        raise ValueError(f"k-space must be (H, W) or (C, H, W), got shape {k.shape}")
    mask = k != 0 if k.ndim == 2 else np.any(k != 0, axis=0)
    fraction = float(mask.mean())
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return Acquisition(mask, 0.0, False, "no samples")
    box = mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    holes = 1.0 - float(box.mean())
    undersampled = holes > HOLE_FRACTION
    if undersampled:
        text = f"already undersampled: {100 * fraction:.1f} % of k-space acquired"
    elif fraction < 1.0:
        text = f"acquired block {box.shape[0]}x{box.shape[1]} ({100 * fraction:.1f} %), rest zero"
    else:
        text = "fully sampled"
    return Acquisition(mask, fraction, undersampled, text)


def mark_acquired(loaded: LoadedData, detect: bool = True) -> LoadedData:
    """``loaded`` with its acquired pattern as ``mask`` when its k-space is already undersampled.

    A mask the file brought (fastMRI, NPZ ``mask``, raw-data line counters) is kept. Otherwise
    the pattern of non-zero samples is read (:func:`acquired_pattern`); when it has holes, it
    becomes ``mask`` and the description says so (``detect=False`` skips this reading). Images
    and fully sampled k-space pass as is.

    :Examples:

    >>> from recon_core.io.loaded import LoadedData
    >>> k = np.ones((8, 8), np.complex64); k[:, 1::2] = 0
    >>> d = mark_acquired(LoadedData(image=None, kspace=k, n_coils=1, n_slices=1, slice_index=0,
    ...                              source="test", format="array"))
    >>> d.undersampled, d.has_reference, d.source
    (True, False, 'test, already undersampled: 50.0 % of k-space acquired (the zero samples)')
    """
    if loaded.kspace is None:
        return loaded
    if loaded.mask is not None:
        if "undersampled" in loaded.source or not loaded.undersampled:
            return loaded
        fraction = 100 * float(np.mean(loaded.mask))
        note = f"undersampled: {fraction:.1f} % of k-space acquired (the file's mask)"
        return dataclasses.replace(loaded, source=f"{loaded.source}, {note}")
    if not detect:
        return loaded
    found = acquired_pattern(loaded.kspace)
    if not found.undersampled:
        return loaded
    return dataclasses.replace(
        loaded, mask=found.mask, source=f"{loaded.source}, {found.description} (the zero samples)"
    )
