"""What to load from a file: the options the array loaders share, named and checked once.

:class:`LoadOptions` holds which slice to load, along which axis, whether an array is an image
or k-space, which array of an ``.npz`` to use, and the :class:`LoadLimits`. The loaders
:func:`~recon_core.io.load_file`, :func:`~recon_core.io.load_files`,
:func:`~recon_core.io.load_npy`, :func:`~recon_core.io.load_npz` and
:func:`~recon_core.io.load_bart` take these either as keywords
(``load_file(data, "scan.npy", slice_index=3)``) or as one object
(``load_file(data, "scan.npy", options=LoadOptions(slice_index=3))``; keywords given as well
replace the object's fields). :meth:`LoadOptions.from_call` turns either into one checked
object, so the names, defaults and checks below are the only ones.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from recon_core.io.limits import DEFAULT_LIMITS, DataLoadError, LoadLimits

__all__ = ["KINDS", "ARRAY_FORMATS", "ACQUISITION_FORMATS", "AXIS_ROLES", "LoadOptions", "check_kind"]

#: How an array may be read: guessed from its content, as an image, or as centred k-space.
KINDS = ("auto", "image", "kspace")

#: Formats that hold plain arrays, for which ``kind`` matters; the others know what they hold.
ARRAY_FORMATS = ("npy", "npz", "bart", "matlab")

#: Raw-data formats with acquisition counters (averages, contrasts, repetitions).
ACQUISITION_FORMATS = ("ismrmrd", "twix")

#: What an axis of an array can be (``LoadOptions.axes``): image rows; image columns, the
#: phase-encode direction that column masks undersample; receiver coils; slices (or frames);
#: or "other", an axis of which the first entry is used (sets of maps, echoes, ...).
AXIS_ROLES = ("row", "col", "coil", "slice", "other")


def check_kind(kind: str) -> str:
    """Return ``kind`` if it is one of :data:`KINDS`, else raise :class:`DataLoadError`.

    :Examples:

    >>> check_kind("kspace")
    'kspace'
    """
    if kind not in KINDS:
        raise DataLoadError(f"kind must be one of {KINDS}, got {kind!r}", reason="argument")
    return kind


def _check_integer_or_none(name: str, value: object) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer))):
        raise DataLoadError(f"{name} must be an integer or None, got {value!r}", reason="argument")


def _check_axes(axes) -> tuple[str, ...]:
    """``axes`` as a tuple of :data:`AXIS_ROLES`, with one row and one column axis."""
    if isinstance(axes, str):
        axes = tuple(a.strip() for a in axes.split(","))
    try:
        roles = tuple(axes)
    except TypeError:
        raise DataLoadError(f"axes must be a sequence of roles, got {axes!r}", reason="argument") from None
    bad = [r for r in roles if r not in AXIS_ROLES]
    if bad:
        raise DataLoadError(
            f"axes: unknown role {bad[0]!r}; each axis is one of {', '.join(AXIS_ROLES)}",
            reason="argument",
        )
    for role, (lo, hi) in {"row": (1, 1), "col": (1, 1), "coil": (0, 1), "slice": (0, 1)}.items():
        n = roles.count(role)
        if not lo <= n <= hi:
            want = "exactly one" if lo == hi else "at most one"
            raise DataLoadError(
                f"axes {roles}: {want} {role!r} axis is needed, got {n}", reason="argument"
            )
    return roles


@dataclass(frozen=True)
class LoadOptions:
    """Options of the loaders, with the defaults they use (frozen; checked when made).

    Attributes:
        slice_index: slice or frame to load: of a 3-D image stack, 4-D k-space, a multi-frame
            DICOM, a NIfTI volume, an HDF5 file or BART data (None: the middle one). Checked
            against the number of slices once the file is read.
        axis: slice axis of a 3-D NumPy image stack (None: 0) or NIfTI volume (None: 2);
            k-space slices are always axis 0. Formats with a fixed slice axis (BART, DICOM,
            fastMRI, pictures) ignore it.
        kind: how a NumPy or BART array is read (one of :data:`KINDS`): ``"image"``
            (H, W) / (slices, H, W); ``"kspace"`` (H, W) / (C, H, W) / (slices, C, H, W),
            centred; ``"auto"``: complex arrays whose energy peaks at the centre are k-space,
            everything else is an image. ``"kspace"`` is refused for the other formats.
        key: name of the array to load from an ``.npz``, or of the variable of a MATLAB
            ``.mat`` (None: chosen as :func:`~recon_core.io.load_npz` and
            :func:`~recon_core.io.load_matlab` describe); refused for other formats.
        axes: the meaning of each axis of a NumPy, MATLAB or BART array, one of
            :data:`AXIS_ROLES` per axis (e.g. ``("row", "coil", "col")`` for k-space stored as
            lines x coils x columns); exactly one ``"row"`` and one ``"col"``, at most one
            ``"coil"`` and one ``"slice"``. None: guessed (:func:`~recon_core.io.guess_axes`),
            and the guess is reported in :attr:`LoadedData.axes`.
        average: of raw data with several averages (ISMRMRD, twix), the one to load
            (None: the mean of all of them).
        contrast: of raw data with several contrasts or echoes, the one to load (None: 0).
        repetition: of raw data with several repetitions, the one to load (None: 0).
        phase_correction: for EPI raw data with phase-correction navigators (twix): apply the
            navigator-based odd/even line phase correction (default True).
        detect_undersampling: read holes of exact zeros in k-space as points never acquired
            (:func:`~recon_core.io.mark_acquired`; default True). Set False for fully sampled
            data that hold exact zeros (e.g. integer k-space whose periphery rounds to 0). A
            mask the file itself carries is always kept.
        limits: file size, pixel, element, coil and time limits (:class:`LoadLimits`).

    Raises:
        DataLoadError: ``kind`` not in :data:`KINDS`; ``slice_index`` or ``axis`` neither an
            integer nor None; ``key`` neither a string nor None (reason ``"argument"``).
        TypeError: ``limits`` is not a :class:`LoadLimits`.

    :Examples:

    >>> LoadOptions(slice_index=3).kind
    'auto'
    >>> LoadOptions(kind="coils")
    Traceback (most recent call last):
    ...
    recon_core.io.limits.DataLoadError: kind must be one of ('auto', 'image', 'kspace'), got 'coils'
    """

    slice_index: int | None = None
    axis: int | None = None
    kind: str = "auto"
    key: str | None = None
    axes: tuple[str, ...] | None = None
    average: int | None = None
    contrast: int | None = None
    repetition: int | None = None
    phase_correction: bool = True
    detect_undersampling: bool = True
    limits: LoadLimits = DEFAULT_LIMITS

    def __post_init__(self) -> None:
        for name in ("slice_index", "axis", "average", "contrast", "repetition"):
            _check_integer_or_none(name, getattr(self, name))
        if self.axes is not None:
            object.__setattr__(self, "axes", _check_axes(self.axes))
        for name in ("phase_correction", "detect_undersampling"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise DataLoadError(
                    f"{name} must be True or False, got {getattr(self, name)!r}",
                    reason="argument",
                )
        check_kind(self.kind)
        if self.key is not None and not isinstance(self.key, str):
            raise DataLoadError(
                f"key must be an array name (str) or None, got {self.key!r}", reason="argument"
            )
        if not isinstance(self.limits, LoadLimits):
            raise TypeError(f"limits must be a LoadLimits, got {type(self.limits).__name__}")

    @classmethod
    def from_call(
        cls,
        loader: str,
        options: LoadOptions | None,
        keywords: Mapping[str, Any],
        *,
        without: Collection[str] = (),
    ) -> LoadOptions:
        """The options of one loader call: ``options`` (or the defaults) updated by ``keywords``.

        Args:
            loader: the loader's name, for messages.
            options: a :class:`LoadOptions`, or None for the defaults.
            keywords: the call's option keywords.
            without: fields this loader does not take as keywords.

        Raises:
            TypeError: a keyword that is not one of this loader's options, or ``options``
                that is not a :class:`LoadOptions` (both are programming errors).

        :Examples:

        >>> opts = LoadOptions.from_call("load_npy", LoadOptions(kind="image"), {"slice_index": 2})
        >>> opts.slice_index, opts.kind
        (2, 'image')
        >>> LoadOptions.from_call("load_npy", None, {"index": 2}, without=("key",))
        ... # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        TypeError: load_npy() got an unexpected keyword argument 'index'; its options are ...
        """
        names = [f.name for f in dataclasses.fields(cls) if f.name not in without]
        unknown = [k for k in keywords if k not in names]
        if unknown:
            raise TypeError(
                f"{loader}() got an unexpected keyword argument {unknown[0]!r}; "
                f"its options are {', '.join(names)} (see LoadOptions)"
            )
        if options is None:
            return cls(**keywords)
        if not isinstance(options, LoadOptions):
            raise TypeError(
                f"{loader}() options must be a LoadOptions, got {type(options).__name__}"
            )
        return dataclasses.replace(options, **keywords) if keywords else options

    def check_format(self, fmt: str) -> None:
        """Refuse options that cannot apply to a file of format ``fmt`` (reason ``"argument"``).

        ``kind="kspace"`` and ``axes`` need an array format (:data:`ARRAY_FORMATS`), ``key`` an
        ``.npz`` or ``.mat``, ``average``/``contrast``/``repetition`` raw data
        (:data:`ACQUISITION_FORMATS`), and a picture (``"png"``, ``"jpeg"``) has only slice 0.
        """
        if self.kind == "kspace" and fmt not in ARRAY_FORMATS:
            raise DataLoadError(
                f"kind='kspace' applies to NumPy, MATLAB and BART arrays, not to {fmt} files",
                reason="argument",
            )
        if self.axes is not None and fmt not in ARRAY_FORMATS:
            raise DataLoadError(
                f"axes={self.axes!r} applies to NumPy, MATLAB and BART arrays, not to {fmt} files",
                reason="argument",
            )
        if self.key is not None and fmt not in ("npz", "matlab"):
            raise DataLoadError(
                f"key={self.key!r} applies to .npz archives and .mat files, not to {fmt} files",
                reason="argument",
            )
        for name in ("average", "contrast", "repetition"):
            value = getattr(self, name)
            if value is not None and fmt not in ACQUISITION_FORMATS:
                raise DataLoadError(
                    f"{name}={value} applies to raw data (ISMRMRD, twix), not to {fmt} files",
                    reason="argument",
                )
        if fmt in ("png", "jpeg") and self.slice_index not in (None, 0):
            raise DataLoadError(
                f"a {fmt} picture has one slice; got slice_index={self.slice_index}",
                reason="argument",
            )
