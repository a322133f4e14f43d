"""Settings shared across pages: session state, the shareable URL, and the current data.

Every setting lives in ``st.session_state["cfg"]`` (a plain dict) so it survives page switches,
and is mirrored into ``st.query_params`` so that a copied link reproduces the view. Widgets
are bound to a setting with :func:`bind`, which gives them a stable key and copies their value
back into the shared dict.

:func:`init` runs once per script run in ``streamlit_app.py``, before the page: pages only call
:func:`cfg`. Defaults that live in TensorFlow-backed modules (the TV methods and λ) are looked
up the first time a page reads them, so that opening the home page does not import TensorFlow.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import streamlit as st

import recon_core as rc
from ui import cached

SOURCES = {"phantom": "Shepp–Logan phantom", "ellipses": "Random ellipses", "upload": "Uploaded file"}
SIZES = (64, 128, 192, 256, 320, 384)

# Parsers raise ValueError for values that cannot be used.
def _choice(options):
    def parse(v: str):
        if v not in options:
            raise ValueError(f"must be one of {', '.join(map(str, options))}")
        return v
    return parse


def _int_in(lo: int, hi: int):
    def parse(v):
        i = int(v)
        if not lo <= i <= hi:
            raise ValueError(f"must be between {lo} and {hi}")
        return i
    return parse


def _float_in(lo: float, hi: float):
    def parse(v):
        f = float(v)
        if not (np.isfinite(f) and lo <= f <= hi):
            raise ValueError(f"must be between {lo} and {hi}")
        return f
    return parse


SNR_RANGE = (0, 60)  # dB, whole numbers: the noise widget's slider and the URL's `snr`
NOISELESS = ("off", "none", "inf", "+inf", "∞")  # URL spellings of "no noise" (the default)


def _snr(v) -> int | None:
    """``snr``: a whole number of dB in SNR_RANGE, or one of NOISELESS for noiseless data."""
    if v is None or str(v).strip().lower() in NOISELESS:
        return None
    lo, hi = SNR_RANGE
    try:
        f = float(v)
    except (TypeError, ValueError):
        f = float("nan")
    if not (np.isfinite(f) and f == int(f) and lo <= f <= hi):
        raise ValueError(f"must be a whole number of dB between {lo} and {hi}, or 'off'")
    return int(f)


def _method(v: str) -> str:
    return _choice(rc.METHODS)(v)  # rc.METHODS imports the TV solvers: only when asked


# name -> (default factory, parser): a default is computed when a page first reads it.
SETTINGS: dict[str, tuple[Callable[[], Any], Callable[[Any], Any]]] = {
    "src": (lambda: "phantom", _choice(tuple(SOURCES))),
    "size": (lambda: 256, lambda v: _choice(SIZES)(int(v))),
    "eseed": (lambda: 0, _int_in(0, 10_000)),
    "snr": (lambda: None, _snr),  # k-space SNR in dB of the noise added to the data; None: none
    "nseed": (lambda: 0, _int_in(0, 10_000)),  # seed of that noise
    "mkind": (lambda: "random", _choice(rc.MASK_KINDS)),
    "accel": (lambda: 4.0, _float_in(1.0, 16.0)),
    "cf": (lambda: 0.0, _float_in(0.0, 0.5)),
    "mseed": (lambda: 0, _int_in(0, 10_000)),
    "method": (lambda: "admm", _method),
    "lam": (lambda: rc.DEFAULT_LAM, _float_in(0.0, 10.0)),
    "iters": (lambda: 100, _int_in(1, 5000)),
}


def default(name: str) -> Any:
    """The default value of the shared setting ``name``."""
    return SETTINGS[name][0]()


class Settings(dict):
    """The shared settings: a dict that fills in a setting's default when it is first read."""

    def __missing__(self, name: str) -> Any:
        if name not in SETTINGS:
            raise KeyError(name)
        value = self[name] = default(name)
        return value


def init() -> Settings:
    """Create the shared settings on a session's first run, reading the URL's query parameters.

    Called by ``streamlit_app.py`` on every run, before the page. Invalid URL values fall back
    to the default with a warning naming the parameter.
    """
    if "cfg" not in st.session_state:
        cfg = Settings()
        bad = []
        for key, (_, parse) in SETTINGS.items():
            if key in st.query_params:
                raw = st.query_params[key]
                try:
                    cfg[key] = parse(raw)
                except (ValueError, TypeError) as exc:
                    bad.append(f"`{key}={raw}` ({exc})")
        st.session_state["cfg"] = cfg
        st.session_state["url_warnings"] = bad
    for msg in st.session_state.pop("url_warnings", []):
        st.warning(f"Ignored a link parameter: {msg}; using the default.")
    return st.session_state["cfg"]


def cfg() -> Settings:
    """The shared settings of this session (created by :func:`init` in ``streamlit_app.py``).

    A page can run without the entry point: Streamlit's legacy ``pages/`` mode runs a
    deep-linked page directly on a server's very first script run (and AppTest does the same
    when it switches page before its first run). The settings are then initialised here.
    """
    if "cfg" not in st.session_state:
        return init()
    return st.session_state["cfg"]


def sync_url() -> None:
    """Write the current settings into the URL (only those that differ from the defaults)."""
    c = cfg()
    wanted = {k: str(v) for k, v in c.items() if v != default(k)}
    for k in list(st.query_params):
        if k in SETTINGS and k not in wanted:
            del st.query_params[k]
    for k, v in wanted.items():
        if st.query_params.get(k) != v:
            st.query_params[k] = v


def bind(widget: Callable[..., Any], name: str, label: str, **kwargs: Any) -> Any:
    """Render ``widget`` bound to the shared setting ``name`` and return its value."""
    key = f"w_{name}"
    if key not in st.session_state:
        st.session_state[key] = cfg()[name]

    def _copy() -> None:
        cfg()[name] = st.session_state[key]

    value = widget(label, key=key, on_change=_copy, **kwargs)
    cfg()[name] = value
    return value


NOISE_HELP = ("k-space SNR = mean power of the fully sampled k-space (all coils) over the variance "
              "of the complex white Gaussian noise added to each sample, in dB (recon_core.noise). "
              "It is added before the mask, so every page sees the same noisy measurement; the "
              "reference for PSNR stays noiseless. Uploaded scans are already noisy: this adds "
              "noise on top of theirs.")


def noise_controls() -> None:
    """Widgets of the shared k-space noise setting: a toggle, the SNR (``snr``) and the seed.

    ``snr`` is None while the toggle is off; the slider keeps the last level chosen.
    """
    c = cfg()
    if c["snr"] is not None:
        st.session_state["snr_last"] = c["snr"]
    for key, value in (("w_snr_on", c["snr"] is not None),
                       ("w_snr", st.session_state.get("snr_last", 30))):
        if key not in st.session_state:
            st.session_state[key] = value

    def _copy() -> None:
        cfg()["snr"] = int(st.session_state["w_snr"]) if st.session_state["w_snr_on"] else None

    on = st.toggle("Add noise", key="w_snr_on", on_change=_copy, help=NOISE_HELP)
    level = st.slider("k-space SNR (dB)", *SNR_RANGE, step=1, key="w_snr", on_change=_copy,
                      disabled=not on, help="Higher is cleaner. " + NOISE_HELP)
    bind(st.number_input, "nseed", "Noise seed", min_value=0, max_value=10_000, step=1,
         disabled=not on, help="The same seed always draws the same noise.")
    st.session_state["snr_last"] = int(level)
    c["snr"] = int(level) if on else None


@dataclass(frozen=True)
class WorkingData:
    """The data every page works on.

    Attributes:
        truth: float32 (H, W), max 1: the fully sampled magnitude image (the reference; the
            root-sum-of-squares for multi-coil data).
        kspace: complex64, fully sampled: (H, W) single-coil or (C, H, W) multi-coil; with
            the noise of the ``snr`` setting when it is on (the truth stays noiseless).
        description: where the data came from, in words (and the SNR when noise is on).
    """

    truth: np.ndarray
    kspace: np.ndarray
    description: str

    @property
    def multicoil(self) -> bool:
        return self.kspace.ndim == 3

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.kspace.shape[-2:])


def _uploaded() -> dict | None:
    return st.session_state.get("upload") if cfg()["src"] == "upload" else None


def _source_description() -> str:
    c, up = cfg(), _uploaded()
    if up is not None:
        return up["description"]
    if c["src"] == "ellipses":
        return f"random ellipses (seed {c['eseed']}), {c['size']}×{c['size']}"
    return f"Shepp–Logan phantom, {c['size']}×{c['size']}"


def noise_summary() -> str:
    """The shared noise setting in words ("" when noiseless)."""
    c = cfg()
    return "" if c["snr"] is None else f"k-space SNR {c['snr']} dB (seed {c['nseed']})"


def data_description() -> str:
    """Where the current data come from, and their noise, in words (computes nothing)."""
    return ", ".join(filter(None, (_source_description(), noise_summary())))


def current_data() -> WorkingData:
    """The image and k-space chosen on the k-space explorer (built-in or uploaded).

    With the ``snr`` setting on, the fully sampled k-space (all coils) carries noise at that
    SNR, seeded by ``nseed``, before any mask; ``truth`` is the noiseless image.
    """
    c, up = cfg(), _uploaded()
    if up is not None:
        truth, kspace = up["truth"], up["kspace"]
    else:
        truth = (cached.ellipses(c["size"], c["eseed"]) if c["src"] == "ellipses"
                 else cached.phantom(c["size"]))
        kspace = cached.kspace(truth)
    if c["snr"] is not None:
        try:
            kspace = cached.noisy_kspace(kspace, float(c["snr"]), int(c["nseed"]))
        except ValueError as exc:
            st.error(f"Noise not added: {exc}")
            return WorkingData(truth, kspace, _source_description())
    return WorkingData(truth, kspace, data_description())


def current_mask(shape: tuple[int, int]) -> np.ndarray:
    """The mask chosen on the mask designer, for data of this shape.

    If the settings are invalid (say, a centre fraction above 1/acceleration), the error is
    shown and the last valid mask of this shape is returned, so nothing already shown is lost.
    """
    c = cfg()
    cf = c["cf"] if c["cf"] > 0 else None
    try:
        m = cached.mask(tuple(shape), float(c["accel"]), c["mkind"], cf, int(c["mseed"]))
    except ValueError as exc:
        st.error(f"Mask settings rejected: {exc}")
        last = st.session_state.get("last_good_mask")
        if last is not None and last.shape == tuple(shape):
            st.info("Showing the last valid mask instead.")
            return last
        return cached.mask(tuple(shape), 4.0, "random", None, 0)
    st.session_state["last_good_mask"] = m
    return m


def mask_summary() -> str:
    c = cfg()
    cf = f", centre fraction {c['cf']:.3f}" if c["cf"] > 0 else ""
    return f"{c['mkind']} mask, {c['accel']:g}×{cf}, seed {c['mseed']}"
