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


def _method(v: str) -> str:
    return _choice(rc.METHODS)(v)  # rc.METHODS imports the TV solvers: only when asked


# name -> (default factory, parser): a default is computed when a page first reads it.
SETTINGS: dict[str, tuple[Callable[[], Any], Callable[[Any], Any]]] = {
    "src": (lambda: "phantom", _choice(tuple(SOURCES))),
    "size": (lambda: 256, lambda v: _choice(SIZES)(int(v))),
    "eseed": (lambda: 0, _int_in(0, 10_000)),
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


@dataclass(frozen=True)
class WorkingData:
    """The data every page works on.

    Attributes:
        truth: float32 (H, W), max 1: the fully sampled magnitude image (the reference; the
            root-sum-of-squares for multi-coil data).
        kspace: complex64, fully sampled: (H, W) single-coil or (C, H, W) multi-coil.
        description: where the data came from, in words.
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


def data_description() -> str:
    """Where the current data come from, in words (computes nothing)."""
    c, up = cfg(), _uploaded()
    if up is not None:
        return up["description"]
    if c["src"] == "ellipses":
        return f"random ellipses (seed {c['eseed']}), {c['size']}×{c['size']}"
    return f"Shepp–Logan phantom, {c['size']}×{c['size']}"


def current_data() -> WorkingData:
    """The image and k-space chosen on the k-space explorer (built-in or uploaded)."""
    c, up = cfg(), _uploaded()
    if up is not None:
        return WorkingData(up["truth"], up["kspace"], up["description"])
    if c["src"] == "ellipses":
        img = cached.ellipses(c["size"], c["eseed"])
    else:
        img = cached.phantom(c["size"])
    return WorkingData(img, cached.kspace(img), data_description())


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
