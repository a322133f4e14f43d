"""PNG and JPEG pictures (Pillow), read as a greyscale float32 image in the file's value range."""

from __future__ import annotations

import io

import numpy as np

from recon_core.io._source import Source, resolve_source
from recon_core.io._validate import check_slice, dims, finish_image
from recon_core.io.limits import DEFAULT_LIMITS, DataLoadError, LoadLimits
from recon_core.io.loaded import LoadedData

__all__ = ["load_picture"]

_LUMA = np.array([0.299, 0.587, 0.114])
_KEEP_MODES = ("L", "I", "I;16", "I;16B", "I;16L", "F")


def _to_grey(im) -> np.ndarray:
    """(H, W) float64 grey values; colour -> ITU-R 601 luma on 0..255, 16-bit kept as is."""
    if im.mode in _KEEP_MODES:
        return np.asarray(im).astype(np.float64)
    if im.mode in ("1", "P", "PA", "LA", "La"):
        im = im.convert("RGBA" if "A" in im.mode or im.mode == "P" else "L")
    if im.mode == "L":
        return np.asarray(im).astype(np.float64)
    rgb = np.asarray(im.convert("RGB")).astype(np.float64)
    return rgb @ _LUMA


def load_picture(
    source: Source,
    filename: str | None = None,
    *,
    limits: LoadLimits = DEFAULT_LIMITS,
) -> LoadedData:
    """Load a PNG or JPEG picture as a greyscale image (H, W), float32.

    8-bit pictures keep their 0..255 values, 16-bit PNGs their 0..65535 values; colour
    becomes luma ``0.299 R + 0.587 G + 0.114 B`` (alpha is ignored); the EXIF orientation of
    JPEGs is applied. The size is checked against ``max_pixels`` before decoding.

    Raises:
        DataLoadError: not PNG/JPEG, too many pixels, truncated or corrupt data, constant picture.
    """
    src = resolve_source(source, filename, limits)
    data = src.read(limits)
    from PIL import Image, ImageOps

    try:
        im = Image.open(io.BytesIO(data), formats=("PNG", "JPEG"))
        w, h = im.size
        fmt = im.format
    except Image.DecompressionBombError as exc:
        raise DataLoadError(
            f"{src.name} declares too many pixels ({exc})", reason="too_large"
        ) from None
    except Exception as exc:  # UnidentifiedImageError, OSError, SyntaxError, struct.error ...
        raise DataLoadError(
            f"{src.name} is not a readable PNG or JPEG picture ({type(exc).__name__}: {exc})"[:400],
            reason="corrupt",
        ) from None
    check_slice(h, w, limits, f"{fmt} {src.name}")
    try:
        if fmt == "PNG":
            im.verify()  # checks chunk CRCs; the image must be reopened afterwards
            im = Image.open(io.BytesIO(data), formats=("PNG",))
        im.load()
        if fmt == "JPEG":
            im = ImageOps.exif_transpose(im)
        grey = _to_grey(im)
    except MemoryError:
        raise DataLoadError(
            f"{src.name}: decoding needs more memory than is available", reason="too_large"
        ) from None
    except (
        Exception
    ) as exc:  # OSError("image file is truncated"), SyntaxError("broken PNG file"), ...
        text = str(exc)
        reason = "truncated" if "truncat" in text.lower() else "corrupt"
        raise DataLoadError(
            f"{src.name}: corrupt or truncated {fmt} ({type(exc).__name__}: {text})"[:400],
            reason=reason,
        ) from None
    image = finish_image(grey, limits, f"{fmt} {src.name}")
    mode = im.mode
    source = f"{fmt} picture ({mode}), {dims(image.shape)}, greyscale"
    return LoadedData.from_image(image, source, fmt.lower(), src.name, metadata={"mode": mode})
