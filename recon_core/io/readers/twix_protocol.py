"""Facts of a twix file's text protocol header (``MeasYaps``, ``Dicom``, ``Config``), read safely.

twixtools parses the protocol into nested dicts and lists of whatever the file says; the
lookups here (:func:`lookup`, :func:`as_number`, :func:`as_integer`) return None for anything
missing, of the wrong type, non-finite or out of range, and :func:`header_facts` gathers the
protocol's facts (sequence, TR/TE/TI, flip angle, FOV, matrix, scanner, ...) for the UI.
"""

from __future__ import annotations

import math


def lookup(tree, *path):
    """``tree[p0][p1]...`` for dicts (str keys) and lists (int keys), or None."""
    for key in path:
        if isinstance(key, str) and isinstance(tree, dict):
            tree = tree.get(key)
        elif isinstance(key, int) and isinstance(tree, list) and 0 <= key < len(tree):
            tree = tree[key]
        else:
            return None
    return tree


def as_number(value, lo: float = -math.inf, hi: float = math.inf):
    """``value`` as a finite float within [lo, hi], else None (bools and text are None)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) and lo <= value <= hi else None


def as_integer(value, lo: int, hi: int):
    number = as_number(value, lo, hi)
    return int(number) if number is not None and number == int(number) else None


def _text(value, limit: int = 80):
    """Printable text of at most ``limit`` characters, or None."""
    if not isinstance(value, str):
        return None
    value = "".join(ch for ch in value.strip().strip('"') if ch.isprintable())[:limit]
    return value or None


def header_facts(hdr: dict, contrast: int) -> dict:
    """Facts of the protocol for the UI, each None when the header lacks it."""
    yaps = lookup(hdr, "MeasYaps") or {}
    seq_file = _text(lookup(yaps, "tSequenceFileName"), 200)
    sequence = seq_file.replace("/", "\\").rsplit("\\", 1)[-1] if seq_file else None
    te = lookup(yaps, "alTE", contrast)
    return {
        "protocol": (_text(lookup(yaps, "tProtocolName"))
                     or _text(lookup(hdr, "Config", "ProtocolName"))),
        "sequence": _text(sequence) or _text(lookup(hdr, "Config", "SequenceFileName")),
        "sequence_string": _text(lookup(hdr, "Config", "SequenceString")),
        "tr_ms": _ms(lookup(yaps, "alTR", 0)),
        "te_ms": _ms(te if te is not None else lookup(yaps, "alTE", 0)),
        "ti_ms": _ms(lookup(yaps, "alTI", 0)),
        "flip_angle_deg": as_number(lookup(yaps, "adFlipAngleDegree", 0), 0, 360),
        "fov_mm": _pair(lookup(yaps, "sSliceArray", "asSlice", 0, "dReadoutFOV"),
                        lookup(yaps, "sSliceArray", "asSlice", 0, "dPhaseFOV"), 0, 1e4),
        "slice_thickness_mm": as_number(
            lookup(yaps, "sSliceArray", "asSlice", 0, "dThickness"), 0, 1e4),
        "field_strength_t": as_number(lookup(hdr, "Dicom", "flMagneticFieldStrength"), 0, 100),
        "matrix": _pair(lookup(yaps, "sKSpace", "lBaseResolution"),
                        lookup(yaps, "sKSpace", "lPhaseEncodingLines"), 1, 65535, integer=True),
        "readout_oversampling": as_number(lookup(hdr, "Dicom", "flReadoutOSFactor"), 1, 16),
        "scanner": _text(" ".join(
            t for t in (_text(lookup(hdr, "Dicom", "Manufacturer")),
                        _text(lookup(hdr, "Dicom", "ManufacturersModelName"))) if t
        )),
        "software": _text(lookup(hdr, "Dicom", "SoftwareVersions")),
    }


def _ms(microseconds):
    value = as_number(microseconds, 0, 1e9)
    return None if value is None else round(value / 1000.0, 4)


def _pair(a, b, lo, hi, integer: bool = False):
    conv = (lambda v: as_integer(v, lo, hi)) if integer else (lambda v: as_number(v, lo, hi))
    a, b = conv(a), conv(b)
    return None if a is None or b is None else [a, b]
