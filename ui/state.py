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

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import streamlit as st

import recon_core as rc
from ui import cached

from recon_core.datasets import BUILTIN

SOURCES = {"phantom": "Shepp–Logan phantom", "ellipses": "Random ellipses",
           **{name: scan.title for name, scan in BUILTIN.items()}, "upload": "Uploaded file"}
SYNTHETIC = ("phantom", "ellipses")
PREWHITEN = {"auto": "with the file's noise scan", "on": "always (noise scan, else k-space periphery)",
             "off": "never"}  # generated at the `size` setting; the others are scans
SIZES = (64, 128, 192, 256, 320, 384)
MAP_KINDS = {"espirit": "ESPIRiT (eigenvalue maps)",
             "ratio": "Calibration ratio (low-resolution coil images / their RSS)"}
NCOILS_RANGE = (2, 32)  # the Coils page's simulated coils
NREP_RANGE = (4, 256)  # the Coils page's pseudo-replicas

SAMPLING = {"cart": "Cartesian mask", "traj": "Non-Cartesian trajectory"}
TRAJ_KINDS = ("radial", "spiral", "cartesian")  # recon_core.trajectories.TRAJECTORY_KINDS
NREAD_RANGE = (1, 512)
NSAMP_RANGE = (0, 4096)
DENSITY_RANGE = (1.0, 4.0)
TCOILS_MAX = NCOILS_RANGE[1]  # simulated coils of single-coil data in trajectory mode (0: none)

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


def _flag(v) -> bool:
    """``1``/``0`` (also true/false, on/off) in the URL."""
    if isinstance(v, bool):
        return v
    text = str(v).strip().lower()
    if text in ("1", "true", "on", "yes"):
        return True
    if text in ("0", "false", "off", "no"):
        return False
    raise ValueError("must be 1 or 0")


def _method(v: str) -> str:
    return _choice(rc.METHODS)(v)  # rc.METHODS imports the TV solvers: only when asked


# name -> (default factory, parser): a default is computed when a page first reads it.
SETTINGS: dict[str, tuple[Callable[[], Any], Callable[[Any], Any]]] = {
    "src": (lambda: "phantom", _choice(tuple(SOURCES))),
    "size": (lambda: 256, lambda v: _choice(SIZES)(int(v))),
    "eseed": (lambda: 0, _int_in(0, 10_000)),
    "snr": (lambda: None, _snr),  # k-space SNR in dB of the noise added to the data; None: none
    "nseed": (lambda: 0, _int_in(0, 10_000)),  # seed of that noise
    "pw": (lambda: "auto", _choice(("auto", "on", "off"))),  # prewhiten multi-coil scans
    "further": (lambda: False, _flag),  # undersample an already-undersampled scan further
    "mkind": (lambda: "random", _choice(rc.MASK_KINDS)),
    "accel": (lambda: 4.0, _float_in(1.0, 16.0)),
    "cf": (lambda: 0.0, _float_in(0.0, 0.5)),
    "mseed": (lambda: 0, _int_in(0, 10_000)),
    "method": (lambda: "admm", _method),
    "lamauto": (lambda: True, _flag),  # choose λ from the noise level (recon_core auto_lambda)
    "lam": (lambda: rc.DEFAULT_LAM, _float_in(0.0, 10.0)),  # λ set by hand (lamauto off)
    "iters": (lambda: 100, _int_in(1, 5000)),
    "maps": (lambda: "espirit", _choice(tuple(MAP_KINDS))),  # coil maps of every SENSE model
    "ncoils": (lambda: 8, _int_in(*NCOILS_RANGE)),  # simulated coils for single-coil data
    "nrep": (lambda: 16, _int_in(*NREP_RANGE)),  # pseudo-replicas of the g-factor map
    # sampling: a Cartesian mask (the settings above) or a non-Cartesian trajectory (below)
    "samp": (lambda: "cart", _choice(tuple(SAMPLING))),
    "tkind": (lambda: "radial", _choice(TRAJ_KINDS)),
    "nread": (lambda: 64, _int_in(*NREAD_RANGE)),  # spokes / interleaves / lines
    "nsamp": (lambda: 0, _int_in(*NSAMP_RANGE)),  # samples per readout; 0: the design's (2N radial)
    "golden": (lambda: True, _flag),  # golden-angle spokes (radial)
    "density": (lambda: 1.0, _float_in(*DENSITY_RANGE)),  # spiral density exponent
    "tcoils": (lambda: 0, _int_in(0, TCOILS_MAX)),  # simulated coils of the samples; 0/1: none
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
        if "lam" in st.query_params and "lamauto" not in st.query_params and "lam" in cfg:
            cfg["lamauto"] = False  # a link that names λ means that λ, set by hand
        st.session_state["cfg"] = cfg
        st.session_state["url_warnings"] = bad
    for msg in st.session_state.pop("url_warnings", []):
        st.warning(f"Ignored a link parameter: {msg}; using the default.")
    return st.session_state["cfg"]


_ENTRY_POINT_RAN = False  # process-wide: streamlit_app.py has run, so Streamlit ignores pages/


def entry_point_ran() -> None:
    """Called by ``streamlit_app.py`` on every run: its ``st.navigation`` is in charge."""
    global _ENTRY_POINT_RAN
    _ENTRY_POINT_RAN = True


def _leave_legacy_navigation() -> None:
    """Hand a deep-linked first run over to the entry point's navigation.

    A server treats a ``pages/`` folder as Streamlit's legacy multipage app until some run calls
    ``st.navigation``. So when the first visitor of a fresh server opens a shared link such as
    ``/masks?accel=8``, Streamlit runs ``pages/masks.py`` directly: without the entry point's page
    list, page config and per-run hooks, and it keeps doing so for every visitor until someone
    opens the home page. Calling ``st.navigation`` switches the whole server to the entry point's
    navigation, and a rerun then draws the same URL through it (once per session at most).
    """
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is None or st.session_state.get("left_legacy_navigation"):
        return
    st.session_state["left_legacy_navigation"] = True
    from pathlib import Path

    # the same scripts, hence the same URL paths, as the entry point's pages: the URL is kept
    folder = Path(ctx.main_script_path).parent / "pages"
    st.navigation([st.Page(str(p)) for p in sorted(folder.glob("*.py"))], position="hidden")
    st.rerun()


def cfg() -> Settings:
    """The shared settings of this session (created by :func:`init` in ``streamlit_app.py``).

    A page can run without the entry point: Streamlit's legacy ``pages/`` mode runs a
    deep-linked page directly on a server's very first script run (handed over to the entry
    point by a rerun, :func:`_leave_legacy_navigation`), and AppTest does the same when it
    switches page. The settings are then initialised here.
    """
    if not _ENTRY_POINT_RAN:
        _leave_legacy_navigation()
    if "cfg" not in st.session_state:
        return init()
    return st.session_state["cfg"]


def sync_url() -> None:
    """Write the current settings into the URL (only those that differ from the defaults)."""
    c = cfg()
    wanted = {k: (str(int(v)) if isinstance(v, bool) else str(v))
              for k, v in c.items() if v != default(k)}
    if c.get("lamauto", True):
        wanted.pop("lam", None)  # the hand-set λ is not in use (and a link naming it means it)
    for k in list(st.query_params):
        if k in SETTINGS and k not in wanted:
            del st.query_params[k]
    for k, v in wanted.items():
        if st.query_params.get(k) != v:
            st.query_params[k] = v


def _page_id() -> str | None:
    """Which page this script run draws (also in Streamlit's legacy ``pages/`` mode, where
    the entry point does not run)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return None if ctx is None else ctx.page_script_hash


def bind(widget: Callable[..., Any], name: str, label: str, **kwargs: Any) -> Any:
    """Render ``widget`` bound to the shared setting ``name`` and return its value."""
    key = f"w_{name}"
    # Seed the widget from the shared setting when it is new, and when it was last drawn by
    # another page: to Streamlit the same setting's widget on another page is another widget,
    # and a page switch would reset it to the widget's default. Not on every rerun: that would
    # send the server's value back while the user is still moving the widget.
    drawn_on = st.session_state.setdefault("bound_on_page", {})
    here = _page_id()
    if key not in st.session_state or drawn_on.get(key) != here:
        st.session_state[key] = cfg()[name]
    drawn_on[key] = here

    def _copy() -> None:
        cfg()[name] = st.session_state[key]

    value = widget(label, key=key, on_change=_copy, **kwargs)
    cfg()[name] = value
    return value


NOISE_HELP = ("k-space SNR = mean power of the fully sampled k-space (all coils) over the variance "
              "of the complex white Gaussian noise added to each sample, in dB (recon_core.noise). "
              "It is added before the mask, so every page sees the same noisy measurement; the "
              "reference for PSNR stays noiseless. Uploaded scans are already noisy: this adds "
              "noise on top of theirs; for an already-undersampled scan the signal power is the "
              "mean over its acquired samples, and noise is added only there.")


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
        acquired: bool (H, W), the points an already-undersampled scan holds; None when the
            data are fully sampled. Masks act only within it (:func:`current_mask`).
        has_reference: False when no fully sampled reference exists (undersampled scans
            without a stored one): ``truth`` is then only the zero-filled image of the acquired
            data, and pages show no reference metrics or error maps.
        noise: the coil noise estimate used to prewhiten (:class:`recon_core.coil_noise.NoiseEstimate`),
            or None.
        noise_std: the noise standard deviation per k-space sample when it is known (0 for
            noiseless synthetic data, the added noise's, a noise scan's), for the automatic λ;
            None: estimated from the k-space corners.
        clean_kspace: the k-space before the ``snr`` setting's noise (same shape as
            ``kspace``), or None when no noise was added (it is ``kspace`` then). Trajectory
            mode samples the coil images of these and adds its own noise per sample.
    """

    truth: np.ndarray
    kspace: np.ndarray
    description: str
    acquired: np.ndarray | None = None
    has_reference: bool = True
    noise: Any = None
    noise_std: float | None = None
    clean_kspace: np.ndarray | None = None

    @property
    def multicoil(self) -> bool:
        return self.kspace.ndim == 3

    @property
    def fingerprint(self) -> str:
        """A hash of the k-space (and acquired pattern): keys results to the data themselves,
        not to their description, which two different files can share."""
        h = hashlib.blake2b(np.ascontiguousarray(self.kspace).tobytes(), digest_size=12)
        if self.acquired is not None:
            h.update(np.packbits(self.acquired).tobytes())
        return h.hexdigest()

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.kspace.shape[-2:])


def scan_record() -> dict | None:
    """The record (``ui.cached.scan_record``) of the chosen scan: uploaded or built in."""
    src = cfg()["src"]
    if src == "upload":
        return st.session_state.get("upload")
    if src in BUILTIN:
        try:
            return cached.builtin_scan(src)
        except ValueError as exc:  # a broken installation: say so, fall back to the phantom
            st.error(f"The built-in scan {BUILTIN[src].title!r} could not be read: {exc}")
    return None


def _source_description() -> str:
    c, up = cfg(), scan_record()
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
    c, up = cfg(), scan_record()
    acquired, has_ref, noise, notes = None, True, None, []
    if up is not None:
        truth, kspace = up["truth"], up["kspace"]
        acquired, has_ref = up.get("acquired"), up.get("has_reference", True)
        if kspace.ndim == 3 and (c["pw"] == "on" or (c["pw"] == "auto" and up.get("noise") is not None)):
            try:
                kspace, white_rss, noise = cached.prewhitened(kspace, up.get("noise"), acquired)
            except ValueError as exc:
                notes.append(f"coils not prewhitened: {exc}")
            else:
                notes.append(f"coils prewhitened (noise from the {noise.source})")
                if acquired is None:  # fully sampled: the reference is the whitened RSS
                    truth = white_rss
                elif has_ref:
                    notes.append("the stored reference is not whitened")
                else:
                    truth = white_rss  # the zero-filled image of the whitened data
    else:
        truth = (cached.ellipses(c["size"], c["eseed"]) if c["src"] == "ellipses"
                 else cached.phantom(c["size"]))
        kspace = cached.kspace(truth)
    if up is None:
        sigma = 0.0  # synthetic: noiseless until the snr setting adds noise
    elif noise is not None:
        sigma = float(np.sqrt(np.mean(np.real(np.diag(noise.covariance)))))
    elif up.get("noise") is not None:
        sigma = float(np.sqrt(np.mean(np.abs(up["noise"]) ** 2)))
    else:
        sigma = None  # the automatic λ estimates it from the k-space corners
    desc, clean = data_description(), None
    if c["snr"] is not None:
        try:
            noisy = cached.noisy_kspace(kspace, float(c["snr"]), int(c["nseed"]), acquired)
        except ValueError as exc:
            st.error(f"Noise not added: {exc}")
            desc = _source_description()
        else:
            sigma = added_noise(sigma, kspace, float(c["snr"]), acquired)
            kspace, clean = noisy, kspace
    return WorkingData(truth, kspace, ", ".join([desc, *notes]), acquired, has_ref, noise, sigma,
                       clean)


def added_noise(sigma: float | None, kspace: np.ndarray, snr_db: float,
                acquired: np.ndarray | None) -> float | None:
    """The noise level after :func:`ui.cached.noisy_kspace` adds noise at ``snr_db`` to data of
    noise level ``sigma`` (independent noises add in power; None stays unknown)."""
    if sigma is None:
        return None
    signal = kspace if acquired is None else kspace[..., acquired]
    power = float(np.mean(np.abs(signal.astype(np.complex128)) ** 2))
    return float(np.hypot(sigma, rc.noise_std(power, snr_db)))


def designed_mask(shape: tuple[int, int]) -> np.ndarray:
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


def current_mask(data: WorkingData | tuple[int, int]) -> np.ndarray:
    """The sampling mask every page applies to ``data`` (or to data of a shape).

    Fully sampled data: the designed mask. An already-undersampled scan: its own acquired
    pattern, or, with the ``further`` setting on, the designed mask within it (points the scan
    never measured are never "sampled").
    """
    if not isinstance(data, WorkingData):
        return designed_mask(tuple(data))
    if data.acquired is None:
        return designed_mask(data.shape)
    if not cfg()["further"]:
        return data.acquired
    return data.acquired & designed_mask(data.shape)


def mask_summary(data: WorkingData | None = None) -> str:
    """The mask in words; for an undersampled scan, its own pattern (and the further mask)."""
    c = cfg()
    cf = f", centre fraction {c['cf']:.3f}" if c["cf"] > 0 else ""
    designed = f"{c['mkind']} mask, {c['accel']:g}×{cf}, seed {c['mseed']}"
    if data is None or data.acquired is None:
        return designed
    own = f"the scan's own sampling ({100 * float(np.mean(data.acquired)):.1f} % acquired)"
    return f"{own} ∩ {designed}" if c["further"] else own


def undersampled_controls(data: WorkingData) -> None:
    """For an already-undersampled scan: say so, and offer to undersample further within it."""
    if data.acquired is None:
        return
    how = ("the designed mask is applied within that pattern" if cfg()["further"]
           else "that pattern is the mask")
    st.info(f"This scan is already undersampled: {100 * float(np.mean(data.acquired)):.1f} % of "
            f"k-space was acquired, and {how}. "
            + ("" if data.has_reference else "No fully sampled reference exists, so PSNR, SSIM, "
               "NMSE and error maps are not shown."))
    bind(st.toggle, "further", "Undersample further within the acquired points",
         help="Apply the designed mask on top of the scan's own sampling (their intersection).")


def score(data: WorkingData, image: np.ndarray) -> dict[str, float] | None:
    """PSNR/SSIM/NMSE of ``image`` against the reference, or None when there is none."""
    return cached.metrics(data.truth, image) if data.has_reference else None


def calibration_warning(data: WorkingData, mask: np.ndarray) -> str | None:
    """For multi-coil data, a warning when ``mask`` leaves too small a calibration region.

    Coil sensitivity maps (ESPIRiT, the ratio method) are estimated from the fully sampled
    block centred on DC, :func:`recon_core.masks.centred_calibration_block`. When that block
    is shorter than :data:`recon_core.masks.MIN_CALIB_2D` (24) along either axis (or than the
    axis, for smaller images), the message says the size found, the minimum and what to do.

    Args:
        data: the working data; single-coil data never get a warning.
        mask: bool (H, W), the mask the pages apply (:func:`current_mask`), DC at (H//2, W//2).

    Returns:
        The message, or None when the data are single-coil or the block is large enough.
    """
    if not data.multicoil:
        return None
    m = np.asarray(mask, dtype=bool)
    h, w = m.shape
    need_h, need_w = min(rc.MIN_CALIB_2D, h), min(rc.MIN_CALIB_2D, w)
    ch, cw = rc.centred_calibration_block(m, max_size=rc.MIN_CALIB_2D)
    if ch >= need_h and cw >= need_w:
        return None
    fh, fw = rc.centred_calibration_block(m)
    found = f"only {fh}×{fw}" if fh else "empty (the k-space centre is not sampled)"
    text = (f"Calibration region too small for multi-coil data: the fully sampled block around "
            f"the k-space centre is {found}, and coil sensitivity maps need at least "
            f"{need_h}×{need_w}, so the estimated maps (and the SENSE reconstructions built on "
            "them) may be poor.")
    c = cfg()
    if data.acquired is not None and not c["further"]:
        return (text + " This scan was acquired undersampled and its own calibration region is "
                "this small; there is no setting to enlarge it.")
    accel = float(c["accel"])
    centre = "raise the centre fraction"
    if c["mkind"] in ("random", "equispaced") and fw < need_w:
        cols = need_w + (w % 2 if w > need_w else 0)  # odd W: odd, to centre both ways
        cf_need = math.ceil(100 * (cols - 0.5) / w) / 100
        centre += (f" to {cf_need:.2f} or more ({cols} of {w} columns; column masks allow at "
                   f"most 1/acceleration = {1 / accel:.2f})")
    text += (f" Lower the acceleration ({accel:g}× now), {centre}, or choose a mask kind with a "
             f"larger centre (gaussian, poisson and radial keep at least "
             f"{rc.MIN_CALIB_2D}×{rc.MIN_CALIB_2D}).")
    if data.acquired is not None:
        text += " The mask is applied within the scan's own sampling, which may be the limit."
    return text


NO_REFERENCE = ("No fully sampled reference exists for this scan, so reconstructions are shown "
                "without reference metrics or error maps.")


MAPS_HELP = ("Coil sensitivity maps of every SENSE model in the app (TV, Compare, Coils), "
             "estimated from the fully sampled k-space centre of the undersampled data. ESPIRiT: the "
             "eigenvector of the calibration data's image-space operator (Uecker et al. 2014), "
             "zero outside the support it finds. Ratio: low-resolution coil images divided by "
             "their root-sum-of-squares.")


def maps_control() -> str:
    """The shared coil-map setting (``maps`` in the URL): a select box; returns its value."""
    return bind(st.selectbox, "maps", "Coil maps", options=list(MAP_KINDS),
                format_func=MAP_KINDS.get, help=MAPS_HELP)


def coil_data(data: WorkingData) -> WorkingData:
    """The data of the Coils page: multi-coil data as they are; single-coil data as
    ``ncoils`` simulated coils.

    Simulated coils are :func:`recon_core.coils.simulate_multicoil` of the reference image
    (``truth``), whose coil RSS is that image again, so ``truth`` stays the reference. With the
    ``snr`` setting on, they carry noise at that SNR (``recon_core.noise``'s definition over all
    coils, seeded by ``nseed``), like :func:`current_data`'s single-coil k-space; for an
    already-undersampled scan, only at its acquired points.
    """
    if data.multicoil:
        return data
    c = cfg()
    n = int(c["ncoils"])
    kspace = cached.simulated_coils(data.truth, n)
    desc = f"{data.description}; {n} simulated coils"
    sigma = 0.0
    if c["snr"] is not None:
        try:
            noisy = cached.noisy_kspace(kspace, float(c["snr"]), int(c["nseed"]), data.acquired)
        except ValueError as exc:
            st.error(f"Noise not added to the simulated coils: {exc}")
        else:
            sigma = added_noise(0.0, kspace, float(c["snr"]), data.acquired)
            kspace = noisy
    elif data.acquired is not None:
        kspace = (kspace * data.acquired).astype(np.complex64)
    return replace(data, kspace=kspace, description=desc, noise_std=sigma)


def lam_controls() -> None:
    """The λ widgets shared by the TV and Coils pages: automatic (default) or by hand."""
    auto = bind(st.toggle, "lamauto", "Automatic λ",
                help=f"λ = {rc.AUTO_RATIO:g} × the noise level σ per k-space sample (known for "
                     "synthetic data, from a noise scan, else from the k-space corners); "
                     "recon_core.recon.auto_lambda. The chosen value is shown with the result.")
    bind(st.number_input, "lam", "λ (regularisation weight)", min_value=0.0, max_value=10.0,
         format="%.2e", step=1e-4, disabled=auto,
         help=f"Used when Automatic λ is off. Larger λ gives smoother images; "
              f"{rc.DEFAULT_LAM:g} suits noiseless images with max 1.")


def tv_lam(data: WorkingData, mask: np.ndarray, sens: np.ndarray | None = None) -> tuple[float, str]:
    """The TV weight for ``data`` under ``mask`` (and maps), and how it was chosen, in words."""
    c = cfg()
    if not c["lamauto"]:
        return float(c["lam"]), f"λ = {float(c['lam']):.2e} (set by hand)"
    try:
        choice = cached.auto_lam(data.kspace, mask, sens, data.noise_std)
    except ValueError as exc:
        st.warning(f"Automatic λ failed ({exc}); using λ = {float(c['lam']):.2e}.")
        return float(c["lam"]), f"λ = {float(c['lam']):.2e} (automatic choice failed)"
    return choice.lam, "automatic " + choice.describe()


# ---- non-Cartesian sampling ---------------------------------------------------------------


def cartesian_only_note(why: str) -> None:
    """On a Cartesian-only page in trajectory mode: say that the Cartesian mask applies here."""
    if trajectory_mode():
        st.info(f"This page works with Cartesian masks{why}. The non-Cartesian trajectory chosen "
                "in the Mask designer is used by TV reconstruction and Compare; here the Cartesian "
                "mask settings apply.")


def trajectory_mode() -> bool:
    """True when the ``samp`` setting chooses a non-Cartesian trajectory."""
    return cfg()["samp"] == "traj"


def trajectory_spec(shape: tuple[int, int]) -> tuple:
    """The hashable trajectory settings for images of ``shape`` (see ``ui.cached.trajectory``):
    (kind, shape, readouts, samples per readout or None, golden, density)."""
    c = cfg()
    n = int(c["nsamp"]) or None
    if c["tkind"] == "cartesian":
        n = None
    return (c["tkind"], tuple(int(v) for v in shape), int(c["nread"]), n,
            bool(c["golden"]), float(c["density"]))


def trajectory_summary() -> str:
    c = cfg()
    what = {"radial": "spokes", "spiral": "interleaves", "cartesian": "lines"}[c["tkind"]]
    extra = {"radial": ", golden angle" if c["golden"] else ", uniform angles",
             "spiral": f", density {c['density']:g}", "cartesian": ""}[c["tkind"]]
    n = f", {c['nsamp']} samples per readout" if c["nsamp"] and c["tkind"] != "cartesian" else ""
    return f"{c['tkind']} trajectory, {c['nread']} {what}{n}{extra}"


@dataclass(frozen=True)
class TrajectoryData:
    """Non-Cartesian data of the working image: the samples, their trajectory and reference.

    ``samples`` are complex64 (K,) for single-coil data, (C, K) for C coils. ``truth`` is the
    reference (the analytic phantom's rasterisation for the built-in Shepp–Logan, else the
    working image: the coils' RSS for a multi-coil scan); ``how`` says how the samples were
    made. Multi-coil samples carry ``maps``, the record of :func:`ui.cached.trajectory_maps`
    (estimated from the samples alone), and ``maps_kind``, the ``maps`` setting the cached
    reconstructions are keyed by.
    """

    spec: tuple
    traj: Any
    samples: np.ndarray
    truth: np.ndarray
    has_reference: bool
    how: str
    noise_std: float | None
    n_coils: int = 0
    maps: dict | None = None
    maps_kind: str = "espirit"

    @property
    def multicoil(self) -> bool:
        return self.samples.ndim == 2

    @property
    def sens(self) -> np.ndarray | None:
        """complex64 (C, H, W) coil maps of multi-coil samples, None for single-coil ones."""
        return None if self.maps is None else self.maps["maps"]

    def coil_summary(self) -> str:
        """", C coils, <kind> maps" for multi-coil samples ("" for single-coil ones): appended to
        :func:`trajectory_summary` where results are keyed by the sampling in words."""
        return "" if self.maps is None else f", {self.n_coils} coils, {self.maps['kind']} maps"

    def coil_note(self) -> str:
        """The coils, how they were sampled and how their maps were found, in words ("" for
        single-coil samples)."""
        if self.maps is None:
            return ""
        m = self.maps
        ch, cw = m["calib_shape"]
        kind = MAP_KINDS[m["kind"]].split(" (")[0]
        text = (f"Multi-coil: {self.n_coils} coils, sampled coil by coil. Coil maps ({kind}) "
                f"estimated from the samples alone, from the {ch}×{cw} centre of each coil's "
                "gridded k-space (recon_core.traj_maps); gridding shows the coils' RSS, CG and "
                "TV use the SENSE model with these maps.")
        if m["kind"] != self.maps_kind:
            text += f" ({MAP_KINDS[self.maps_kind].split(' (')[0]} was asked for.)"
        if m["warnings"]:
            text += " Map estimation notes: " + "; ".join(m["warnings"]) + "."
        return text


def trajectory_coils(data: WorkingData) -> int:
    """Coils of the non-Cartesian samples: the scan's for multi-coil data, else the
    ``tcoils`` setting (0: single-coil samples)."""
    if data.multicoil:
        return int(data.kspace.shape[0])
    n = int(cfg()["tcoils"])
    return n if n >= 2 else 0


def trajectory_coil_controls(data: WorkingData) -> None:
    """The Mask designer's coil widgets in trajectory mode: simulated coils for single-coil
    data (``tcoils``), and the shared coil-map setting when the samples are multi-coil."""
    if data.multicoil:
        st.caption(f"Coils: the scan's {data.kspace.shape[0]}, sampled per coil.")
    else:
        bind(st.number_input, "tcoils", "Simulated coils (0 = single coil)", min_value=0,
             max_value=TCOILS_MAX, step=1,
             help="Sample the working image through this many simulated receive coils (the "
                  "built-in phantom: its analytic k-space through band-limited maps); 0 keeps "
                  "single-coil samples (so does 1).")
    if trajectory_coils(data):
        maps_control()


def trajectory_data(data: WorkingData) -> TrajectoryData:
    """The non-Cartesian samples of the working data along the designed trajectory.

    Multi-coil scans are sampled coil by coil (their coil images, before the ``snr``
    setting's noise, which is then added per sample); single-coil data through ``tcoils``
    simulated coils when that setting is on. Multi-coil samples get coil maps estimated from
    the samples (:func:`ui.cached.trajectory_maps`, the ``maps`` setting's kind).

    Raises:
        ValueError: trajectory settings recon_core rejects, or coil maps that cannot be
            estimated (the page shows the message).
    """
    c = cfg()
    spec = trajectory_spec(data.shape)
    source = c["src"] if scan_record() is None else "scan"
    if source == "ellipses":
        source = f"ellipses:{c['eseed']}"
    coil_images = None
    if data.multicoil:
        k = data.kspace if data.clean_kspace is None else data.clean_kspace
        coil_images = cached.coil_images(k)[0]
    n_sim = 0 if data.multicoil else trajectory_coils(data)
    res = cached.trajectory_samples(spec, source, c["snr"], int(c["nseed"]), data.truth, n_sim,
                                    coil_images)
    maps, kind = None, c["maps"]
    if res["samples"].ndim == 2:
        try:
            maps = cached.trajectory_maps(spec, res["samples"], kind)
        except ValueError as exc:
            raise ValueError(f"no coil maps could be estimated from the samples: {exc}") from None
    return TrajectoryData(spec, cached.trajectory(spec), res["samples"], res["truth"],
                          data.has_reference, res["how"], res["noise_std"], res["n_coils"],
                          maps, kind)
