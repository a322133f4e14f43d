"""What each axis of a stored array means: guessed from the shape, shown, and chosen by the user.

A NumPy, MATLAB or BART array can hold one slice (rows x columns) or many, with or without a
coil axis, in any order: ``(coils, rows, cols)`` is usual in Python, ``(rows, cols, coils)`` in
MATLAB, ``(lines, coils, columns)`` in some scanner exports. Each axis gets a *role* of
:data:`~recon_core.io.options.AXIS_ROLES`:

* ``row`` and ``col``: the image plane; **columns are the phase-encode direction** that the
  app's column masks undersample (rows are the readout);
* ``coil``: receiver coils (k-space only); ``slice``: slices or frames (one is loaded);
* ``other``: any further axis (sets of maps, echoes, ...), of which the first entry is used.

:func:`guess_axes` proposes roles: the last two axes are the plane unless one of them is
implausibly thin beside a larger leading axis (or, for k-space, the leading axis is too long
to be coils), in which case the two largest axes are; of the
remaining axes the last is the coil axis (k-space) or the slice axis (images), the one before
it the slice axis, and any others are ``other``. The guess is always reported
(:attr:`LoadedData.axes`), and :class:`~recon_core.io.options.LoadOptions` ``axes`` overrides it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from recon_core.io.limits import DataLoadError

__all__ = ["guess_axes", "arrange", "describe_axes"]

#: A trailing axis at most this long, beside a leading axis at least 4x longer, is not a
#: side of the image (it is coils, echoes or slices stored last).
THIN = 32

#: More receiver channels than this are not guessed: the axis is a side of the image.
MOST_COILS = 128


def guess_axes(
    shape: Sequence[int], *, kspace: bool, slice_axis: int | None = None
) -> tuple[tuple[str, ...], bool]:
    """Roles for an array of ``shape`` and whether they were a guess.

    Args:
        shape: the stored array's shape (at least 2 axes).
        kspace: True for k-space (a spare axis is coils), False for images (it is slices).
        slice_axis: an axis the caller names as the slice axis (images: ``LoadOptions.axis``).

    Returns:
        (roles, guessed): one role per axis; ``guessed`` is False only when the shape admits one
        reading (two non-singleton axes in their usual order, or a named slice axis).

    :Examples:

    >>> guess_axes((8, 230, 180), kspace=True)
    (('coil', 'row', 'col'), True)
    >>> guess_axes((160, 2, 320), kspace=True)
    (('row', 'coil', 'col'), True)
    >>> guess_axes((256, 256, 8), kspace=True)
    (('row', 'col', 'coil'), True)
    >>> guess_axes((512, 512, 96), kspace=True)
    (('row', 'col', 'coil'), True)
    >>> guess_axes((1, 64, 48), kspace=False)
    (('other', 'row', 'col'), False)
    """
    shape = tuple(int(s) for s in shape)
    nd = len(shape)
    if nd < 2:
        raise DataLoadError(f"an array of shape {shape} has no image plane", reason="rank")
    roles: list[str] = ["other"] * nd
    if slice_axis is not None:
        if isinstance(slice_axis, bool) or not -nd <= slice_axis < nd:
            raise DataLoadError(
                f"axis={slice_axis!r} is out of range for an array of shape {shape}",
                reason="argument",
            )
        slice_axis %= nd
    live = [a for a in range(nd) if shape[a] > 1 and a != slice_axis]
    if len(live) < 2:  # singleton axes only besides: the last two non-slice axes
        live = [a for a in range(nd) if a != slice_axis][-2:]
    plane = live[-2:]
    largest = sorted(sorted(live, key=lambda a: (shape[a], a))[-2:])
    thin = min(shape[a] for a in plane)
    if any(shape[a] >= 4 * thin for a in live[:-2]) and thin <= THIN:
        plane = largest
    elif kspace and slice_axis is None and len(live) > 2 and shape[live[-3]] > MOST_COILS:
        plane = largest  # (512, 512, 96): 512 "coils" is not a reading, 96 coils is
    roles[plane[0]], roles[plane[1]] = "row", "col"
    spare = [a for a in live if a not in plane]
    if slice_axis is not None:
        roles[slice_axis] = "slice"
    elif spare:
        last = spare.pop()
        roles[last] = "coil" if kspace else "slice"
        if kspace and spare:
            roles[spare.pop()] = "slice"
    guessed = slice_axis is None and (len([a for a in range(nd) if shape[a] > 1]) > 2 or plane != live[-2:])
    return tuple(roles), guessed


def arrange(arr: np.ndarray, roles: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """``arr`` as (slices, coils, rows, cols) by ``roles``; ``other`` axes keep their first entry.

    Returns:
        (array of shape (S, C, H, W), notes): ``notes`` name each ``other`` axis longer than one
        whose first entry was taken, e.g. ``"axis 4: entry 0 of 2"``.

    :Examples:

    >>> a = np.zeros((160, 2, 320))
    >>> out, notes = arrange(a, ("row", "coil", "col"))
    >>> out.shape, notes
    ((1, 2, 160, 320), [])
    """
    roles = tuple(roles)
    if len(roles) != arr.ndim:
        raise DataLoadError(
            f"axes {roles} name {len(roles)} axes but the array has shape {arr.shape} "
            f"({arr.ndim} axes)",
            reason="argument",
        )
    notes = [
        f"axis {a}: entry 0 of {arr.shape[a]}"
        for a, r in enumerate(roles)
        if r == "other" and arr.shape[a] > 1
    ]
    index = tuple(0 if r == "other" else slice(None) for r in roles)
    sub = arr[index]
    kept = [r for r in roles if r != "other"]
    for role in ("slice", "coil"):
        if role not in kept:
            sub, kept = sub[np.newaxis], [role, *kept]
    order = [kept.index(r) for r in ("slice", "coil", "row", "col")]
    return np.transpose(sub, order), notes


def describe_axes(shape: Sequence[int], roles: Sequence[str], guessed: bool) -> str:
    """``"(160, 2, 320) read as row × coil × col (guessed)"``.

    :Examples:

    >>> describe_axes((8, 230, 180), ("coil", "row", "col"), True)
    '(8, 230, 180) read as coil × row × col (guessed; columns are the phase-encode direction)'
    """
    text = f"({', '.join(str(int(s)) for s in shape)}) read as {' × '.join(roles)}"
    return text + (" (guessed; columns are the phase-encode direction)" if guessed else "")
