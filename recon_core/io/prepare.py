"""Bring loaded data to a working matrix and unit scale: :func:`prepare` -> `PreparedData`."""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from recon_core.checks import as_array
from recon_core.ops.fftc import fft2c, ifft2c
from recon_core.io.limits import DEFAULT_LIMITS, DataLoadError, LoadLimits
from recon_core.io.loaded import LoadedData

__all__ = ["PreparedData", "prepare", "crop_or_pad"]

MODES = ("crop", "resize")


def _readonly(x: np.ndarray | None) -> np.ndarray | None:
    if x is not None:
        x = np.ascontiguousarray(x)
        x.setflags(write=False)
    return x


@dataclass(frozen=True, eq=False)
class PreparedData:
    """Data on the working matrix, magnitude scaled to max 1.

    Attributes:
        target: float32 (H, W), the ground-truth-like magnitude image, ``max == 1``.
        image: (H, W), normalised: the loaded image (float32 or complex64) when there is one,
            else ``ifft2c(kspace)`` (complex64) for single-coil k-space, else ``target`` for
            multi-coil k-space (its root-sum-of-squares).
        kspace: complex64 (H, W) or (C, H, W), normalised, DC at (H // 2, W // 2); None for images.
        scale: original units per normalised unit: ``original = normalised * scale``.
        size: (H, W) of the working matrix.
        mode: ``"crop"`` or ``"resize"``.
        n_coils: receiver coils (1 for images and single-coil k-space).
        source: the loaded data's description plus what was done.
        reference: float32, the stored reference reconstruction cropped/padded to ``size`` and
            divided by ``scale`` (crop mode only), or None.
        mask: bool (H, W), the acquired-sample mask of already-undersampled k-space (carried
            over to ``size``), or None for fully sampled data.
        has_reference: True when ``target`` (or ``reference``) is a fully sampled reference;
            False for undersampled k-space without a stored reference, whose ``target`` is only
            its zero-filled image and must not be used to score reconstructions.
    """

    target: np.ndarray
    image: np.ndarray
    kspace: np.ndarray | None
    scale: float
    size: tuple[int, int]
    mode: str
    n_coils: int
    source: str
    reference: np.ndarray | None = None
    mask: np.ndarray | None = None
    has_reference: bool = True

    def __post_init__(self) -> None:
        for name in ("target", "image", "kspace", "reference", "mask"):
            object.__setattr__(self, name, _readonly(getattr(self, name)))

    def to_original(self, x: ArrayLike) -> np.ndarray:
        """``x`` (normalised, e.g. a reconstruction) in the file's original units."""
        return np.asarray(x) * self.scale


def crop_or_pad(x: ArrayLike, size: tuple[int, int]) -> np.ndarray:
    """Centre-crop or zero-pad the last two axes of ``x`` to ``size``, any parity.

    Index (H // 2, W // 2) of the input lands on (h // 2, w // 2) of the output, so the
    DC sample of centred k-space stays at the centre.

    Args:
        x: array, shape (..., H, W).
        size: (h, w).

    Returns:
        array of x's dtype, shape (..., h, w).

    :Examples:

    >>> import numpy as np
    >>> crop_or_pad(np.arange(5)[None, :], (1, 3)).tolist()
    [[1, 2, 3]]
    >>> crop_or_pad(np.ones((1, 2)), (1, 4)).tolist()
    [[0.0, 1.0, 1.0, 0.0]]
    """
    x = np.asarray(x)
    if x.ndim < 2:
        raise ValueError(f"crop_or_pad needs at least 2 axes (..., H, W), got shape {x.shape}")
    h, w = _check_size(size)
    out = np.zeros(x.shape[:-2] + (h, w), dtype=x.dtype)

    def ranges(n_in: int, n_out: int) -> tuple[slice, slice]:
        off = n_out // 2 - n_in // 2
        lo, hi = max(0, -off), min(n_in, n_out - off)
        return slice(lo, hi), slice(lo + off, hi + off)

    sy, dy = ranges(x.shape[-2], h)
    sx, dx = ranges(x.shape[-1], w)
    out[..., dy, dx] = x[..., sy, sx]
    return out


def _check_size(size) -> tuple[int, int]:
    if isinstance(size, numbers.Integral) and not isinstance(size, bool):
        size = (size, size)
    try:
        h, w = size
    except (TypeError, ValueError):
        raise ValueError(f"size must be an int or a pair (H, W), got {size!r}") from None
    for v in (h, w):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
            raise ValueError(f"size must hold positive integers, got {size!r}")
    return int(h), int(w)


def _fourier_resample(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize complex (..., H, W) by cropping/padding its k-space; keeps field of view and units."""
    n_in, n_out = x.shape[-2] * x.shape[-1], size[0] * size[1]
    return crop_or_pad(fft2c(x), size) * np.float32(np.sqrt(n_out / n_in))


def _resize_real(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    from skimage.transform import resize

    return resize(
        x.astype(np.float64), size, order=1, anti_aliasing=True, preserve_range=True, mode="edge"
    )


def _rss(coil_images: np.ndarray) -> np.ndarray:
    if coil_images.ndim == 2:
        return np.abs(coil_images)
    return np.sqrt(np.sum(np.abs(coil_images) ** 2, axis=0))


def prepare(
    data: LoadedData | ArrayLike,
    size: int | tuple[int, int] | None = None,
    mode: str = "crop",
    *,
    limits: LoadLimits = DEFAULT_LIMITS,
) -> PreparedData:
    """Crop/pad or resize to the working matrix and scale the magnitude to max 1.

    ``mode="crop"`` keeps the pixel size: images are centre-cropped or zero-padded; k-space
    is cropped in image space (``ifft2c`` -> crop -> ``fft2c``), as fastMRI does for its
    320x320 targets. ``mode="resize"`` keeps the field of view: real images are resampled
    with ``skimage.transform.resize`` (bilinear, anti-aliased); complex images and k-space
    are resampled in Fourier space (centred crop/zero-pad of k-space, amplitude preserved).

    Args:
        data: :class:`LoadedData`, or a 2-D real/complex image (H, W).
        size: int ``n`` for (n, n), a pair (H, W), or None to keep the shape; odd sizes allowed.
        mode: ``"crop"`` or ``"resize"``.
        limits: ``size`` must satisfy ``max_pixels``.

    Returns:
        :class:`PreparedData`; ``scale`` is the maximum of the target magnitude before scaling.

    Raises:
        ValueError: bad size or mode. DataLoadError: the result is constant (e.g. all zero).

    :Examples:

    >>> import numpy as np
    >>> p = prepare(np.arange(25.0).reshape(5, 5), size=3)
    >>> p.scale, float(p.target.max()), p.target.shape
    (18.0, 1.0, (3, 3))
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if isinstance(data, LoadedData):
        loaded = data
    else:
        arr = as_array(data, "image", min_ndim=2)
        if arr.ndim != 2:
            raise ValueError(
                f"prepare takes a 2-D image (H, W) or LoadedData, got shape {arr.shape}"
            )
        arr = arr.astype(np.complex64 if np.iscomplexobj(arr) else np.float32)
        loaded = None
    image = loaded.image if loaded is not None else arr
    kspace = loaded.kspace if loaded is not None else None
    shape = tuple((image if image is not None else kspace).shape[-2:])
    size_hw = shape if size is None else _check_size(size)
    if size_hw[0] * size_hw[1] > limits.max_pixels:
        raise ValueError(f"size {size_hw} has more than max_pixels={limits.max_pixels} pixels")
    changed = size_hw != shape
    if loaded is not None and loaded.undersampled and changed and mode == "crop":
        m = loaded.mask
        if not (size_hw[1] == shape[1] and bool(np.all(m == m[:1]))):
            raise DataLoadError(
                f"this k-space is already undersampled ({100 * float(np.mean(m)):.1f} % acquired): "
                f"cropping it to {size_hw[0]}x{size_hw[1]} in image space would fill in the "
                "missing samples; keep its size, or resize it (mode='resize' crops k-space)",
                reason="argument",
            )

    new_k = None
    if kspace is not None:
        if mode == "crop":
            coil_images = crop_or_pad(ifft2c(kspace), size_hw) if changed else ifft2c(kspace)
            new_k = fft2c(coil_images) if changed else np.array(kspace)
        else:
            new_k = _fourier_resample(ifft2c(kspace), size_hw) if changed else np.array(kspace)
            coil_images = ifft2c(new_k)
    new_img = None
    if image is not None:
        if not changed:
            new_img = np.array(image)
        elif mode == "crop":
            new_img = crop_or_pad(image, size_hw)
        elif np.iscomplexobj(image):
            new_img = ifft2c(_fourier_resample(image, size_hw))
        else:
            new_img = _resize_real(image, size_hw).astype(np.float32)
    if new_img is not None:
        target = np.abs(new_img)
    else:
        target = _rss(coil_images)
        new_img = coil_images if coil_images.ndim == 2 else target
    scale = float(np.max(target))
    if not np.isfinite(scale) or scale == 0.0 or float(np.min(target)) == scale:
        raise DataLoadError(
            f"image is constant after preparing to {size_hw[0]}x{size_hw[1]} "
            f"(every value {scale:g}); "
            "there is nothing to reconstruct",
            reason="constant",
        )
    inv = np.float32(1.0 / scale)
    reference = mask = None
    if loaded is not None and loaded.reference is not None and mode == "crop":
        reference = (crop_or_pad(loaded.reference, size_hw) * inv).astype(np.float32)
    if loaded is not None and loaded.mask is not None:
        m = loaded.mask
        if not changed:
            mask = np.array(m)
        elif mode == "resize":
            mask = crop_or_pad(m, size_hw)
        elif size_hw[1] == shape[1] and bool(np.all(m == m[:1])):  # column mask, W unchanged
            mask = np.broadcast_to(m[:1], size_hw).copy()
    source = loaded.source if loaded is not None else f"array {shape[0]}x{shape[1]}"
    how = f"{mode} to {size_hw[0]}x{size_hw[1]}" if changed else f"{size_hw[0]}x{size_hw[1]}"
    return PreparedData(
        target=(target * inv).astype(np.float32),
        image=(new_img * inv).astype(
            new_img.dtype if new_img.dtype in (np.float32, np.complex64) else np.float32
        ),
        kspace=None if new_k is None else (new_k * inv).astype(np.complex64),
        scale=scale,
        size=size_hw,
        mode=mode,
        n_coils=loaded.n_coils if loaded is not None else 1,
        source=f"{source}; {how}" + ("" if scale == 1 else f", divided by {scale:.3g} (maximum 1)"),
        reference=reference,
        mask=mask if loaded is not None and loaded.undersampled else None,
        has_reference=(
            True
            if loaded is None or not loaded.undersampled
            else loaded.image is not None or reference is not None  # what survived preparing
        ),
    )
