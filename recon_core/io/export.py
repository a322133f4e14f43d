"""Export results: PNG pictures, NPY/NPZ arrays (never pickled) and a JSON configuration."""

from __future__ import annotations

import dataclasses
import io
import json
import math
import numbers
import re
import zipfile
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from recon_core.io.limits import DataLoadError

__all__ = [
    "to_png_bytes",
    "to_npy_bytes",
    "to_npz_bytes",
    "config_to_json",
    "config_from_json",
    "CONFIG_SCHEMA",
]

#: Identifies MRI Recon Lab configuration files; bump ``CONFIG_VERSION`` on breaking changes.
CONFIG_SCHEMA = "mri-recon-lab/config"
CONFIG_VERSION = 1
_MAX_CONFIG_BYTES = 1_000_000
_MAX_DEPTH = 32
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")


def _numeric(x: ArrayLike, name: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.dtype.hasobject or arr.dtype.kind not in "biufc" or arr.dtype.fields is not None:
        raise ValueError(f"{name} must be a numeric array, got dtype {arr.dtype}")
    return arr


def to_png_bytes(image: ArrayLike, window: tuple[float, float] | None = None) -> bytes:
    """Encode an image as an 8-bit greyscale PNG, mapping ``window`` (lo, hi) to 0..255.

    Args:
        image: real or complex (magnitude is used), shape (H, W), finite.
        window: display range (lo, hi) with hi > lo; values outside are clipped.
            None uses the image's own (min, max).

    Returns:
        PNG file bytes; pixel = ``round(255 * clip((|x| - lo) / (hi - lo), 0, 1))``.

    :Examples:

    >>> import numpy as np
    >>> png = to_png_bytes(np.array([[0.0, 0.5], [1.0, 2.0]]), window=(0.0, 1.0))
    >>> png[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
    True
    """
    x = _numeric(image, "image")
    if x.ndim != 2 or x.size == 0:
        raise ValueError(f"image must be a non-empty 2-D array (H, W), got shape {x.shape}")
    mag = np.abs(x) if x.dtype.kind == "c" else x.astype(np.float64)
    if not np.all(np.isfinite(mag)):
        raise ValueError("image contains NaN or Inf; cannot export it as PNG")
    if window is None:
        lo, hi = float(mag.min()), float(mag.max())
    else:
        try:
            lo, hi = (float(v) for v in window)
        except (TypeError, ValueError):
            raise ValueError(f"window must be a pair (lo, hi) of numbers, got {window!r}") from None
        if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
            raise ValueError(f"window must be finite with hi > lo, got {window!r}")
    scaled = np.zeros_like(mag) if hi == lo else np.clip((mag - lo) / (hi - lo), 0.0, 1.0)
    u8 = np.round(scaled * 255).astype(np.uint8)
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(u8).save(buf, format="PNG")
    return buf.getvalue()


def to_npy_bytes(array: ArrayLike) -> bytes:
    """An array as ``.npy`` bytes, written with ``allow_pickle=False`` (numeric dtypes only).

    :Examples:

    >>> import io, numpy as np
    >>> data = to_npy_bytes(np.arange(3, dtype=np.int16))
    >>> np.load(io.BytesIO(data), allow_pickle=False).tolist()
    [0, 1, 2]
    """
    arr = _numeric(array, "array")
    buf = io.BytesIO()
    np.lib.format.write_array(buf, arr, allow_pickle=False)
    return buf.getvalue()


def to_npz_bytes(**arrays: ArrayLike) -> bytes:
    """Several named arrays as compressed ``.npz`` bytes, without pickle.

    Names are 1-64 characters of letters, digits, ``_``, ``.``, ``-``. The conventional names
    ``image``, ``kspace`` and ``mask`` are what :func:`recon_core.io.load_npz` reads back.

    :Examples:

    >>> import io, numpy as np
    >>> data = to_npz_bytes(image=np.ones((2, 2)), mask=np.eye(2, dtype=bool))
    >>> sorted(np.load(io.BytesIO(data), allow_pickle=False).files)
    ['image', 'mask']
    """
    if not arrays:
        raise ValueError("to_npz_bytes needs at least one named array")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, value in arrays.items():
            if not _NAME.match(name):
                raise ValueError(f"array name {name!r} must match {_NAME.pattern}")
            arr = _numeric(value, name)
            with zf.open(name + ".npy", "w", force_zip64=True) as f:
                np.lib.format.write_array(f, arr, allow_pickle=False)
    return buf.getvalue()


def _plain(value: Any, path: str, depth: int) -> Any:
    """``value`` as JSON-ready plain data, or ValueError naming the path of the bad value."""
    if depth > _MAX_DEPTH:
        raise ValueError(f"configuration nested deeper than {_MAX_DEPTH} levels at {path}")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.generic) and value.dtype.kind in "biuf":
        value = value.item()
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        v = float(value)
        if not math.isfinite(v):
            raise ValueError(f"configuration value at {path} is {v}; JSON has no NaN/Inf")
        return v
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise ValueError(f"configuration keys must be strings, got {k!r} at {path}")
            out[k] = _plain(v, f"{path}.{k}", depth + 1)
        return out
    if isinstance(value, (list, tuple)):
        return [_plain(v, f"{path}[{i}]", depth + 1) for i, v in enumerate(value)]
    raise ValueError(
        f"configuration value at {path} has type {type(value).__name__}; use numbers, strings, "
        "booleans, None, lists and dicts (export arrays with to_npz_bytes)"
    )


def config_to_json(config: Mapping[str, Any]) -> str:
    """The configuration that reproduces a result, as JSON text with a schema tag.

    Args:
        config: dict of str keys to numbers, strings, booleans, None, lists, dicts, or frozen
            dataclasses such as solver configs (stored as dicts of their fields).

    Returns:
        ``{"schema": "mri-recon-lab/config", "version": 1, "config": {...}}`` as sorted,
        indented JSON.

    :Examples:

    >>> text = config_to_json({"mask": {"kind": "random", "acceleration": 4}, "lam": 0.01})
    >>> config_from_json(text)
    {'lam': 0.01, 'mask': {'acceleration': 4, 'kind': 'random'}}
    """
    if not isinstance(config, Mapping):
        raise ValueError(f"config must be a dict, got {type(config).__name__}")
    body = _plain(config, "config", 0)
    return json.dumps(
        {"schema": CONFIG_SCHEMA, "version": CONFIG_VERSION, "config": body},
        indent=2,
        sort_keys=True,
    )


def _reject_constant(name: str) -> Any:
    raise DataLoadError(
        f"configuration JSON contains {name}; only finite numbers are allowed", reason="nonfinite"
    )


def config_from_json(text: str | bytes) -> dict[str, Any]:
    """Parse and check a configuration written by :func:`config_to_json`; returns the inner dict.

    Raises:
        DataLoadError: over 1 MB, not UTF-8, invalid JSON (with line and column), NaN/Infinity,
            nesting deeper than 32, not a MRI Recon Lab configuration, or a newer version.
    """
    if isinstance(text, (bytes, bytearray)):
        if len(text) > _MAX_CONFIG_BYTES:
            raise DataLoadError(
                f"configuration is {len(text)} bytes; the limit is {_MAX_CONFIG_BYTES}",
                reason="too_large",
            )
        try:
            text = bytes(text).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise DataLoadError(
                f"configuration is not UTF-8 text ({exc.reason} at byte {exc.start})",
                reason="corrupt",
            ) from None
    if not isinstance(text, str):
        raise ValueError(f"config_from_json takes str or bytes, got {type(text).__name__}")
    if len(text) > _MAX_CONFIG_BYTES:
        raise DataLoadError(
            f"configuration is {len(text)} characters; the limit is {_MAX_CONFIG_BYTES}",
            reason="too_large",
        )
    try:
        doc = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise DataLoadError(
            f"configuration is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
            reason="corrupt",
        ) from None
    except RecursionError:
        raise DataLoadError(
            f"configuration is nested too deeply (limit {_MAX_DEPTH})", reason="corrupt"
        ) from None
    if not isinstance(doc, dict) or doc.get("schema") != CONFIG_SCHEMA:
        raise DataLoadError(
            f'not a MRI Recon Lab configuration (expected "schema": "{CONFIG_SCHEMA}")',
            reason="unsupported",
        )
    version = doc.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise DataLoadError(
            f"configuration version must be a positive integer, got {version!r}", reason="corrupt"
        )
    if version > CONFIG_VERSION:
        raise DataLoadError(
            f"configuration version {version} is newer than this app understands "
            f"({CONFIG_VERSION})",
            reason="unsupported",
        )
    config = doc.get("config")
    if not isinstance(config, dict):
        raise DataLoadError(
            f"configuration 'config' must be an object, got {type(config).__name__}",
            reason="corrupt",
        )
    try:
        _plain(config, "config", 0)
    except ValueError as exc:
        raise DataLoadError(str(exc), reason="corrupt") from None
    return config
