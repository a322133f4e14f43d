"""DICOM images (pydicom): one frame of a single- or multi-frame file, in rescaled units."""

from __future__ import annotations

import io

import numpy as np

from recon_core.io._source import Source, resolve_source
from recon_core.io._validate import check_slice, check_total, dims, finish_image, pick_index
from recon_core.io.limits import DEFAULT_LIMITS, DataLoadError, LoadLimits
from recon_core.io.loaded import LoadedData

__all__ = ["load_dicom"]


def _int(ds, keyword: str, default: int | None = None) -> int:
    value = ds.get(keyword, default)
    if value is None:
        raise DataLoadError(
            f"DICOM file lacks {keyword}, needed to read its pixels", reason="missing"
        )
    try:
        out = int(float(value))
    except (TypeError, ValueError):
        raise DataLoadError(
            f"DICOM {keyword} is not a number: {str(value)[:40]!r}", reason="corrupt"
        ) from None
    return out


def _float(ds, keyword: str, default: float) -> float:
    value = ds.get(keyword, default)
    try:
        if hasattr(value, "__len__") and not isinstance(value, str):
            value = value[0]
        out = float(value)
    except (TypeError, ValueError, IndexError):
        raise DataLoadError(
            f"DICOM {keyword} is not a number: {str(value)[:40]!r}", reason="corrupt"
        ) from None
    if not np.isfinite(out):
        raise DataLoadError(f"DICOM {keyword} is {out}", reason="nonfinite")
    return out


def _metadata(ds) -> dict:
    meta: dict = {}
    for key in ("Modality", "PhotometricInterpretation", "SeriesDescription"):
        try:
            if key in ds:
                meta[key] = str(ds.get(key))[:80]
        except Exception:  # an odd element is not worth failing the load
            pass
    for key in ("WindowCenter", "WindowWidth"):
        try:
            if key in ds:
                meta[key] = _float(ds, key, 0.0)
        except Exception:
            pass
    try:
        if "PixelSpacing" in ds:
            meta["PixelSpacing"] = tuple(float(v) for v in ds.PixelSpacing)[:2]
    except Exception:
        pass
    return meta


def _read_pixels(
    ds, rows: int, cols: int, frames: int, spp: int, bits: int, name: str
) -> np.ndarray:
    meta = getattr(ds, "file_meta", None)
    ts = meta.get("TransferSyntaxUID") if meta is not None else None
    compressed = bool(ts is not None and getattr(ts, "is_compressed", False))
    if not compressed:
        expected = (rows * cols * frames * spp * bits + 7) // 8
        have = len(ds.PixelData)
        if have < expected:
            raise DataLoadError(
                f"{name} is truncated: pixel data has {have} bytes, "
                f"{rows}x{cols}x{frames} frames of "
                f"{bits}-bit samples need {expected}",
                reason="truncated",
            )
    try:
        return np.asarray(ds.pixel_array)
    except MemoryError:
        raise DataLoadError(
            f"{name}: decoding the pixels needs more memory than is available", reason="too_large"
        ) from None
    except Exception as exc:
        what = f"compressed DICOM ({getattr(ts, 'name', ts)})" if compressed else "DICOM pixel data"
        hint = "; export it uncompressed" if compressed else ""
        raise DataLoadError(
            f"{name}: could not decode {what}: {type(exc).__name__}: {exc}"[:400] + hint,
            reason="corrupt",
        ) from None


def load_dicom(
    source: Source,
    filename: str | None = None,
    *,
    slice_index: int | None = None,
    limits: LoadLimits = DEFAULT_LIMITS,
) -> LoadedData:
    """Load one frame of a DICOM file as a float32 image (H, W) = (Rows, Columns).

    Values are ``stored * RescaleSlope + RescaleIntercept``; colour (3 samples per pixel)
    becomes luma ``0.299 R + 0.587 G + 0.114 B``. ``WindowCenter``/``WindowWidth``,
    ``PixelSpacing`` and ``Modality`` go into ``metadata``; no patient data is kept.

    Args:
        source: path, bytes or binary file object. Files without the 128-byte preamble and
            ``DICM`` marker are tried as raw DICOM.
        slice_index: frame of a multi-frame file (None: middle).

    Raises:
        DataLoadError: not DICOM, no pixel data, limits exceeded, truncated pixel data,
            undecodable compression, constant image.
    """
    src = resolve_source(source, filename, limits)
    data = src.read(limits)
    import pydicom

    try:
        ds = pydicom.dcmread(io.BytesIO(data), force=data[128:132] != b"DICM")
    except Exception as exc:  # InvalidDicomError, EOFError, struct.error, ValueError, ...
        raise DataLoadError(
            f"{src.name} is not a readable DICOM file ({type(exc).__name__}: {exc})"[:400],
            reason="corrupt",
        ) from None
    try:
        if "PixelData" not in ds:
            raise DataLoadError(f"{src.name} is DICOM but holds no pixel data", reason="missing")
        rows, cols = _int(ds, "Rows"), _int(ds, "Columns")
        frames, spp = _int(ds, "NumberOfFrames", 1), _int(ds, "SamplesPerPixel", 1)
        bits = _int(ds, "BitsAllocated")
        if frames < 1 or spp not in (1, 3) or bits not in (1, 8, 16, 32, 64):
            raise DataLoadError(
                f"{src.name}: unsupported DICOM pixel layout "
                f"(frames={frames}, samples={spp}, bits={bits})",
                reason="unsupported",
            )
        check_total(
            (frames, rows, cols, spp), limits, f"DICOM {src.name}", itemsize=max(1, bits // 8)
        )
        check_slice(rows, cols, limits, f"DICOM {src.name}")
        idx = pick_index(frames, slice_index)
        slope = _float(ds, "RescaleSlope", 1.0)
        intercept = _float(ds, "RescaleIntercept", 0.0)
        arr = _read_pixels(ds, rows, cols, frames, spp, bits, src.name)
        metadata = _metadata(ds)
    except DataLoadError:
        raise
    except Exception as exc:  # malformed elements surface lazily in pydicom
        raise DataLoadError(
            f"{src.name}: malformed DICOM ({type(exc).__name__}: {exc})"[:400], reason="corrupt"
        ) from None
    expected = (rows, cols) if spp == 1 else (rows, cols, 3)
    if frames > 1:
        expected = (frames, *expected)
    if arr.shape != expected:
        raise DataLoadError(
            f"{src.name}: decoded pixels have shape {arr.shape}, expected {expected}",
            reason="corrupt",
        )
    if frames > 1:
        arr = arr[idx]
    arr = arr.astype(np.float64)
    if spp == 3:
        arr = arr @ np.array([0.299, 0.587, 0.114])
    image = finish_image(arr * slope + intercept, limits, f"DICOM {src.name}")
    modality = metadata.get("Modality", "")
    parts = [f"DICOM {modality} image".replace("  ", " ")]
    if frames > 1:
        parts.append(f"frame {idx} of {frames}")
    parts.append(dims(image.shape))
    parts.append(f"{bits}-bit")
    source = ", ".join(parts)
    return LoadedData.from_image(
        image, source, "dicom", src.name, n_slices=frames, slice_index=idx, metadata=metadata
    )
