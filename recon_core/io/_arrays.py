"""Interpret an N-D numeric array (from NPY, NPZ or BART) as an image or as k-space.

Layouts (after dropping leading singleton axes beyond the largest rank below):

* image: (H, W), or (slices, H, W) with the slice axis chosen by ``axis`` (default 0);
* k-space: (H, W) single-coil, (C, H, W) multi-coil, or (slices, C, H, W).

``kind="auto"`` reads complex arrays as k-space when :func:`looks_like_kspace` says so,
and everything else as an image.
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
from recon_core.io.limits import DataLoadError
from recon_core.io.loaded import LoadedData
from recon_core.io.options import LoadOptions

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
    kspace_3d: str = "coils",
) -> LoadedData:
    """Build :class:`~recon_core.io.loaded.LoadedData` from an array within the limits.

    Args:
        arr: numeric array, layouts as in the module docstring.
        options: ``kind``, ``slice_index`` (None: middle), ``axis`` (of a 3-D image, None: 0;
            must be None or 0 for k-space) and ``limits``; ``key`` is not used here.
        fmt: format id for :attr:`LoadedData.format`, e.g. ``"npy"``.
        label: start of the ``source`` text, e.g. ``"NumPy .npy"``.
        image: optional companion image for k-space, (H, W) or (slices, H, W).
        mask: optional companion sampling mask (H, W), 0/1 or bool.
        kspace_3d: meaning of the first axis of 3-D k-space: ``"coils"`` (C, H, W) or
            ``"slices"`` (slices, H, W) of single-coil k-space.
    """
    check_numeric_dtype(arr.dtype, label)
    kind, axis, limits = options.kind, options.axis, options.limits
    detected = ""
    if kind == "auto":
        cand = _squeeze_to(arr, 4)
        if arr.dtype.kind == "c" and (cand.ndim == 4 or looks_like_kspace(cand)):
            kind, detected = "kspace", " (detected: DC peak at the centre)"
        else:
            kind = "image"
    if kind == "kspace":
        if axis not in (None, 0):
            raise DataLoadError(
                f"axis={axis} applies to images only; k-space slices are axis 0", reason="argument"
            )
        k = _squeeze_to(arr, 4)
        if kspace_3d == "slices" and k.ndim == 3:
            k = k[:, None]
        if k.ndim not in (2, 3, 4):
            raise DataLoadError(
                f"{label} k-space has shape {arr.shape}; expected (H, W), (coils, H, W) or "
                "(slices, coils, H, W)",
                reason="rank",
            )
        n_slices = k.shape[0] if k.ndim == 4 else 1
        idx = pick_index(n_slices, options.slice_index)
        k = k[idx] if k.ndim == 4 else k
        if k.ndim == 3 and k.shape[0] == 1:  # one coil: single-coil layout
            k = k[0]
        check_slice(*k.shape[-2:], limits, f"{label} k-space")
        if k.ndim == 3 and k.shape[0] > limits.max_coils:
            raise DataLoadError(
                f"{label} has {k.shape[0]} coils, more than max_coils={limits.max_coils}",
                reason="too_large",
            )
        kspace = finish_kspace(k, limits, f"{label} k-space")
        n_coils = kspace.shape[0] if kspace.ndim == 3 else 1
        img = None
        if image is not None:
            image = _squeeze_to(image, 3)
            if image.ndim == 3 and image.shape[0] == n_slices:
                image = image[idx]
            if image.shape != kspace.shape[-2:]:
                raise DataLoadError(
                    f"{label}: image {image.shape} does not match k-space {kspace.shape}",
                    reason="shape_mismatch",
                )
            img = finish_image(image, limits, f"{label} image")
        desc = "multi-coil k-space" if kspace.ndim == 3 else "single-coil k-space"
        parts = [label, desc + detected]
        if n_slices > 1:
            parts.append(f"slice {idx} of {n_slices}")
        if kspace.ndim == 3:
            parts.append(f"{n_coils} coils")
        parts.append(dims(kspace.shape[-2:]))
        hw = kspace.shape[-2:]
        data = dict(image=img, kspace=kspace, n_coils=n_coils)
    else:
        if image is not None:
            raise DataLoadError(f"{label}: a companion image needs k-space", reason="argument")
        a = _squeeze_to(arr, 3)
        if a.ndim == 2:
            if axis not in (None, 0, 1, -1, -2):
                raise DataLoadError(
                    f"axis={axis} is out of range for a 2-D image", reason="argument"
                )
            n_slices, idx, sl = 1, pick_index(1, options.slice_index), a
        elif a.ndim == 3:
            ax = 0 if axis is None else axis
            if isinstance(ax, bool) or not isinstance(ax, (int, np.integer)) or not -3 <= ax < 3:
                raise DataLoadError(
                    f"axis={axis!r} is out of range for a 3-D array {a.shape}", reason="argument"
                )
            n_slices = a.shape[ax]
            idx = pick_index(n_slices, options.slice_index)
            sl = np.take(a, idx, axis=ax)
        else:
            raise DataLoadError(
                f"{label} has shape {arr.shape} ({arr.ndim}-D); expected a 2-D image (H, W) "
                "or a 3-D stack (slices, H, W)",
                reason="rank",
            )
        check_slice(*sl.shape, limits, f"{label} image")
        img = finish_image(sl, limits, f"{label} image")
        parts = [label, "complex image" if img.dtype.kind == "c" else "image"]
        if n_slices > 1:
            parts.append(f"slice {idx} of {n_slices} (axis {0 if axis is None else axis})")
        parts.append(dims(img.shape))
        hw = img.shape
        data = dict(image=img, kspace=None, n_coils=1)
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
        metadata=metadata or {},
    )
