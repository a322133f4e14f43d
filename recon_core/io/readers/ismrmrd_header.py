"""The ISMRMRD group of an HDF5 file and its XML header (in the helper process).

ISMRMRD (the ISMRM raw data format) keeps a scan in one HDF5 group, usually ``/dataset``, whose
``xml`` dataset holds the XML header: encoded and recon matrix and field of view, trajectory,
encoding limits with their centres, parallel imaging, receiver channels. Here:
:func:`find_group` finds the group (hard links only), :func:`xml_bytes` reads the header text
within :data:`MAX_XML_BYTES`, :func:`parse_header` parses it with the ``ismrmrd`` package
(:func:`ismrmrd.xsd.CreateFromDocument`) and :func:`header_facts` keeps the facts the reader
and the UI use, JSON-ready.
"""

from __future__ import annotations

import math

import h5py
import ismrmrd
import numpy as np

from .h5safety import hard_child
from .wire import ReadError

#: Encoding limits reported in ``meta["header"]["limits"]``.
_LIMIT_NAMES = (
    "kspace_encoding_step_1",
    "kspace_encoding_step_2",
    "slice",
    "average",
    "contrast",
    "phase",
    "repetition",
    "set",
)
#: Largest XML header accepted (real ones are a few tens of kB).
MAX_XML_BYTES = 16 * 1024**2


# ----------------------------------------------------------------------------- the file


def _is_ismrmrd_group(obj) -> bool:
    if not isinstance(obj, h5py.Group):
        return False
    return isinstance(hard_child(obj, "xml"), h5py.Dataset) and isinstance(
        hard_child(obj, "data"), h5py.Dataset
    )


def find_group(f: h5py.File) -> h5py.Group:
    """The group holding ``xml`` and ``data``: ``/dataset`` when it does, else the first found
    among the root and the groups of the first two levels (in name order). Only hard links
    are followed: a group behind a soft or external link (another file) is never used."""
    top = hard_child(f, "dataset")
    if _is_ismrmrd_group(top):
        return top
    level, looked = [f], 0
    for _ in range(3):
        below = []
        for grp in level:
            if _is_ismrmrd_group(grp):
                return grp
            for name in sorted(grp.keys())[:200]:
                looked += 1
                if looked > 2000:
                    break
                child = hard_child(grp, name)
                if isinstance(child, h5py.Group):
                    below.append(child)
        level = below
    shown = ", ".join(repr(n) for n in sorted(f.keys())[:10])
    raise ReadError(
        "HDF5 file has no ISMRMRD dataset (a group with 'xml' and 'data'; "
        f"found at the top: {shown or 'nothing'})",
        "missing",
    )


def xml_bytes(dset) -> bytes:
    kind = dset.dtype.kind
    if h5py.check_string_dtype(dset.dtype) is None and kind not in "SO":
        raise ReadError(
            f"the ISMRMRD 'xml' dataset has dtype {dset.dtype}; expected the XML header text",
            "corrupt",
        )
    if dset.size == 0:
        raise ReadError("the ISMRMRD 'xml' dataset is empty", "empty")
    value = dset[()] if dset.ndim == 0 else dset[(0,) * dset.ndim]
    if isinstance(value, np.ndarray):
        value = value.tobytes()
    if isinstance(value, str):
        value = value.encode("utf-8")
    if not isinstance(value, (bytes, np.bytes_)):
        raise ReadError("the ISMRMRD 'xml' dataset does not hold text", "corrupt")
    value = bytes(value).rstrip(b"\x00")
    if len(value) > MAX_XML_BYTES:
        raise ReadError(
            f"the ISMRMRD XML header is {len(value)} bytes, more than {MAX_XML_BYTES}", "too_large"
        )
    if not value.strip():
        raise ReadError("the ISMRMRD XML header is empty", "empty")
    return value


def parse_header(raw: bytes):
    """The XML header as an ``ismrmrd.xsd.ismrmrdHeader``.

    The schema-strict parser of the ``ismrmrd`` package first; when it refuses the text (an
    element of a newer or older schema version), the same binding without the strictness.
    """
    try:
        return ismrmrd.xsd.CreateFromDocument(raw)
    except Exception as exc:
        strict = exc
    try:
        from xsdata.formats.dataclass.parsers import XmlParser  # ismrmrd's own XML binding
        from xsdata.formats.dataclass.parsers.config import ParserConfig

        parser = XmlParser(config=ParserConfig(fail_on_unknown_properties=False))
        return parser.from_bytes(raw, ismrmrd.xsd.ismrmrdHeader)
    except Exception:
        text = f"{type(strict).__name__}: {strict}"[:200]
        raise ReadError(f"the ISMRMRD XML header could not be parsed ({text})", "corrupt") from None


# --------------------------------------------------------------------------- the header


def _get(obj, path: str):
    for name in path.split("."):
        if obj is None:
            return None
        obj = getattr(obj, name, None)
    return obj


def _int(value) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return None


def _float(value) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return out if math.isfinite(out) else None


def _text(value) -> str | None:
    value = getattr(value, "value", value)  # enumerations
    if value is None:
        return None
    return str(value)[:200]


def _xyz(space, what: str, kind) -> list:
    return [kind(_get(space, f"{what}.{axis}")) for axis in "xyz"]


def header_facts(hdr) -> dict:
    """The facts of the XML header the loader and the UI use, JSON-ready.

    Keys: ``n_encodings``, ``encoded_matrix`` / ``recon_matrix`` ([x, y, z], x the readout),
    ``encoded_fov_mm`` / ``recon_fov_mm``, ``trajectory``, ``acceleration`` ([step 1, step 2]
    or None), ``calibration_mode``, ``receiver_channels``, ``limits`` (encoding limits by name:
    ``{"minimum", "maximum", "center"}``, absent ones left out), and where present
    ``vendor``, ``model``, ``field_strength_T``, ``protocol``, ``sequence``, ``TR_ms``, ``TE_ms``.
    """
    encodings = list(getattr(hdr, "encoding", None) or [])
    if not encodings:
        raise ReadError("the ISMRMRD XML header has no <encoding>", "missing")
    enc = encodings[0]
    limits = {}
    for name in _LIMIT_NAMES:
        lim = _get(enc, f"encodingLimits.{name}")
        if lim is not None:
            limits[name] = {
                k: _int(getattr(lim, k, None)) for k in ("minimum", "maximum", "center")
            }
    accel = _get(enc, "parallelImaging.accelerationFactor")
    facts = {
        "n_encodings": len(encodings),
        "encoded_matrix": _xyz(enc.encodedSpace, "matrixSize", _int),
        "encoded_fov_mm": _xyz(enc.encodedSpace, "fieldOfView_mm", _float),
        "recon_matrix": _xyz(getattr(enc, "reconSpace", None), "matrixSize", _int),
        "recon_fov_mm": _xyz(getattr(enc, "reconSpace", None), "fieldOfView_mm", _float),
        "trajectory": (_text(getattr(enc, "trajectory", None)) or "cartesian").lower(),
        "acceleration": None
        if accel is None
        else [_int(accel.kspace_encoding_step_1), _int(accel.kspace_encoding_step_2)],
        "calibration_mode": _text(_get(enc, "parallelImaging.calibrationMode")),
        "receiver_channels": _int(_get(hdr, "acquisitionSystemInformation.receiverChannels")),
        "limits": limits,
    }
    extra = {
        "vendor": _text(_get(hdr, "acquisitionSystemInformation.systemVendor")),
        "model": _text(_get(hdr, "acquisitionSystemInformation.systemModel")),
        "field_strength_T": _float(_get(hdr, "acquisitionSystemInformation.systemFieldStrength_T")),
        "protocol": _text(_get(hdr, "measurementInformation.protocolName")),
        "sequence": _text(_get(hdr, "sequenceParameters.sequence_type")),
    }
    for key, path in (("TR_ms", "sequenceParameters.TR"), ("TE_ms", "sequenceParameters.TE")):
        values = _get(hdr, path) or []
        first = _float(values[0]) if len(values) else None
        if first is not None:
            extra[key] = first
    facts.update({k: v for k, v in extra.items() if v is not None})
    return facts
