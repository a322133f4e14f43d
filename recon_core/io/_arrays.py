"""Interpret an N-D numeric array (from NPY, NPZ, MATLAB or BART) as an image or as k-space.

Each axis gets a role (row, col, coil, slice, other): given by ``LoadOptions.axes`` or by the
format (BART), or guessed by :func:`recon_core.io.layout.guess_axes` and reported. Images have
no coil axis; of k-space, one slice of (coils, rows, cols) is loaded.

``kind="auto"`` reads complex arrays as k-space when :func:`looks_like_kspace` says so (or
when they have four or more non-singleton axes), and everything else as an image.
"""

from __future__ import annotations

import numpy as np

from recon_core.io._validate import (
    check_numeric_dtype,
    check_slice,
    dims,
    finish_image,
    finish_kspace,
    pick_index,
)
from recon_core.io.layout import arrange, describe_axes, guess_axes
from recon_core.io.limits import DataLoadError
from recon_core.io.loaded import LoadedData
from recon_core.io.options import LoadOptions

__all__ = ["looks_like_kspace", "array_to_loaded"]


def looks_like_kspace(arr: np.ndarray) -> bool:
    """Guess whether a complex array of shape (..., H, W) is centred k-space.

    True when the energy summed over the leading axes peaks within 2 pixels of DC
    (H // 2, W // 2) and the central quarter-by-quarter block holds more than half of it.
    Real arrays are never k-space.

    :Examples:

    >>> import numpy as np
    >>> from recon_core.ops.fft import fft2c
    >>> img = np.zeros((32, 32)); img[8:24, 10:20] = 1
    >>> looks_like_kspace(fft2c(img)), looks_like_kspace(img.astype(complex))
    (True, False)
    """
    if arr.dtype.kind != "c" or arr.ndim < 2:
        return False
    h, w = arr.shape[-2:]
    peak = float(np.max(np.abs(arr))) if arr.size else 0.0
    if not np.isfinite(peak) or peak == 0:
        return False
    energy = np.zeros((h, w))
    for plane in arr.reshape(-1, h, w):  # scaled by the peak: no overflow for huge values
        energy += np.abs(plane.astype(np.complex128) / peak) ** 2
    total = energy.sum()
    if not np.isfinite(total) or total == 0:
        return False
    py, px = np.unravel_index(int(np.argmax(energy)), energy.shape)
    if abs(py - h // 2) > 2 or abs(px - w // 2) > 2:
        return False
    bh, bw = max(3, h // 4), max(3, w // 4)
    block = energy[
        max(0, h // 2 - bh // 2) : h // 2 - bh // 2 + bh,
        max(0, w // 2 - bw // 2) : w // 2 - bw // 2 + bw,
    ]
    return bool(block.sum() > 0.5 * total)


def _squeeze_to(arr: np.ndarray, rank: int) -> np.ndarray:
    while arr.ndim > rank and arr.shape[0] == 1:
        arr = arr[0]
    return arr


def _roles(arr: np.ndarray, options: LoadOptions, kspace: bool, given) -> tuple[tuple[str, ...], bool]:
    if options.axes is not None:
        if len(options.axes) != arr.ndim:
            raise DataLoadError(
                f"axes {options.axes} name {len(options.axes)} axes but the array has shape "
                f"{arr.shape} ({arr.ndim} axes)",
                reason="argument",
            )
        return options.axes, False
    if given is not None:
        return tuple(given), False
    if kspace and options.axis not in (None, 0):
        raise DataLoadError(
            f"axis={options.axis} applies to images only; name k-space axes with axes=",
            reason="argument",
        )
    return guess_axes(arr.shape, kspace=kspace, slice_axis=None if kspace else options.axis)


def array_to_loaded(
    arr: np.ndarray,
    options: LoadOptions,
    *,
    fmt: str,
    label: str,
    filename: str | None,
    image: np.ndarray | None = None,
    mask: np.ndarray | None = None,
    metadata: dict | None = None,
    roles: tuple[str, ...] | None = None,
    notes: tuple[str, ...] = (),
) -> LoadedData:
    """Build :class:`~recon_core.io.loaded.LoadedData` from an array within the limits.

    Args:
        arr: numeric array of at least 2 axes.
        options: ``kind``, ``slice_index`` (None: middle), ``axes`` (roles per axis; None:
            ``roles`` or a guess), ``axis`` (the slice axis of an image, for the guess) and
            ``limits``; ``key`` is not used here.
        fmt: format id for :attr:`LoadedData.format`, e.g. ``"npy"``.
        label: start of the ``source`` text, e.g. ``"NumPy .npy"``.
        image: optional companion image for k-space, (H, W) or (slices, H, W).
        mask: optional companion sampling mask (H, W), 0/1 or bool.
        roles: the roles the format itself gives the axes (BART), used unless ``options.axes``.
        notes: extra facts for the description (e.g. BART's names of the ``other`` axes).
    """
    check_numeric_dtype(arr.dtype, label)
    if arr.ndim < 2:
        raise DataLoadError(
            f"{label} has shape {arr.shape} ({arr.ndim}-D); expected at least a 2-D image (H, W)",
            reason="rank",
        )
    kind, limits = options.kind, options.limits
    detected = ""
    if kind == "auto":
        kind = "image"
        if options.axes is not None and "coil" in options.axes:
            kind = "kspace"
        elif arr.dtype.kind == "c" and options.axis in (None, 0):
            cand, _ = arrange(arr, _roles(arr, options, True, roles)[0])
            flat = cand.reshape(-1, *cand.shape[-2:])
            if sum(s > 1 for s in arr.shape) >= 4 or looks_like_kspace(flat):
                kind, detected = "kspace", " (detected: DC peak at the centre)"
    kspace = kind == "kspace"
    axes_roles, guessed = _roles(arr, options, kspace, roles)
    if not kspace and "coil" in axes_roles and arr.shape[axes_roles.index("coil")] > 1:
        raise DataLoadError(
            f"{label}: axes {axes_roles} name a coil axis, which only k-space has "
            "(load it with kind='kspace', or combine the coils first)",
            reason="argument",
        )
    a4, other = arrange(arr, axes_roles)
    n_slices = a4.shape[0]
    idx = pick_index(n_slices, options.slice_index)
    check_slice(*a4.shape[-2:], limits, f"{label} {'k-space' if kspace else 'image'}")
    shown = arr.ndim > 2 or guessed or options.axes is not None
    axes_text = describe_axes(arr.shape, axes_roles, guessed) if shown else None
    if kspace:
        k = a4[idx]
        if k.shape[0] == 1:  # one coil: single-coil layout
            k = k[0]
        elif k.shape[0] > limits.max_coils:
            raise DataLoadError(
                f"{label} has {k.shape[0]} coils, more than max_coils={limits.max_coils}",
                reason="too_large",
            )
        kspace_arr = finish_kspace(k, limits, f"{label} k-space")
        n_coils = kspace_arr.shape[0] if kspace_arr.ndim == 3 else 1
        img = None
        if image is not None:
            image = _squeeze_to(image, 3)
            if image.ndim == 3 and image.shape[0] == n_slices:
                image = image[idx]
            if image.shape != kspace_arr.shape[-2:]:
                raise DataLoadError(
                    f"{label}: image {image.shape} does not match k-space {kspace_arr.shape}",
                    reason="shape_mismatch",
                )
            img = finish_image(image, limits, f"{label} image")
        desc = "multi-coil k-space" if kspace_arr.ndim == 3 else "single-coil k-space"
        parts = [label, desc + detected]
        if n_slices > 1:
            parts.append(f"slice {idx} of {n_slices}")
        if kspace_arr.ndim == 3:
            parts.append(f"{n_coils} coils")
        parts.append(dims(kspace_arr.shape[-2:]))
        hw = kspace_arr.shape[-2:]
        data = dict(image=img, kspace=kspace_arr, n_coils=n_coils)
    else:
        if image is not None:
            raise DataLoadError(f"{label}: a companion image needs k-space", reason="argument")
        img = finish_image(a4[idx, 0], limits, f"{label} image")
        parts = [label, "complex image" if img.dtype.kind == "c" else "image"]
        if n_slices > 1:
            parts.append(f"slice {idx} of {n_slices} (axis {axes_roles.index('slice')})")
        parts.append(dims(img.shape))
        hw = img.shape
        data = dict(image=img, kspace=None, n_coils=1)
    parts.extend(notes or other)
    m = None
    if mask is not None:
        m = _squeeze_to(np.asarray(mask), 2)
        check_numeric_dtype(m.dtype, f"{label} mask")
        if m.shape != tuple(hw):
            raise DataLoadError(
                f"{label}: mask {m.shape} does not match data {tuple(hw)}", reason="shape_mismatch"
            )
        if m.dtype != np.bool_:
            if not np.all((m == 0) | (m == 1)):
                raise DataLoadError(
                    f"{label}: mask must hold only 0 and 1 (or bool)", reason="corrupt"
                )
            m = m != 0
    return LoadedData(
        **data,
        n_slices=n_slices,
        slice_index=idx,
        source=", ".join(parts),
        format=fmt,
        filename=filename,
        mask=m,
        axes=axes_text,
        axes_roles=tuple(axes_roles) if shown else None,
        axes_guessed=guessed,
        selectable={"slice": n_slices} if n_slices > 1 else {},
        metadata=metadata or {},
    )
