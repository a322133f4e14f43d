"""Streamlit cache wrappers around pure recon_core calls (the only place pages cache).

Nothing here imports TensorFlow at import time: ``recon_core`` resolves its names lazily, and
the deep-learning modules are imported inside the functions that use them.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

import recon_core as rc
import recon_core.kspace_tools as rc_kt


@st.cache_data(show_spinner=False, max_entries=32)
def phantom(size: int) -> np.ndarray:
    return rc.shepp_logan(size)


@st.cache_data(show_spinner=False, max_entries=64)
def ellipses(size: int, seed: int) -> np.ndarray:
    return rc.random_ellipses(size, seed=seed)


@st.cache_data(show_spinner=False, max_entries=64)
def mask(shape: tuple[int, int], accel: float, kind: str, center_fraction: float | None, seed: int) -> np.ndarray:
    return rc.make_mask(shape, accel, kind=kind, center_fraction=center_fraction, seed=seed)


@st.cache_data(show_spinner=False, max_entries=64)
def kspace(image: np.ndarray) -> np.ndarray:
    return rc.fft2c(image)


@st.cache_data(show_spinner=False, max_entries=16)
def noisy_kspace(kspace: np.ndarray, snr_db: float, seed: int,
                 acquired: np.ndarray | None = None) -> np.ndarray:
    """K-space (any coils) plus noise at ``snr_db``: recon_core.noise's definition.

    With ``acquired`` (an already-undersampled scan), the signal power is the mean over the
    acquired samples and the noise goes only there (the unmeasured points stay zero).
    """
    if acquired is None:
        return rc.add_noise(kspace, snr_db, seed)
    power = float(np.mean(np.abs(kspace[..., acquired].astype(np.complex128)) ** 2))
    return (rc.add_noise(kspace, snr_db, seed, signal_power=power) * acquired).astype(np.complex64)


def scan_record(loaded, size, mode: str) -> dict:
    """What the pages need of a loaded file (``recon_core.io.LoadedData``), prepared.

    Keys: ``truth`` (float32 (H, W), max 1), ``kspace`` (complex64, fully sampled or as
    acquired), ``description``, ``n_slices``, ``slice_index``, ``n_coils``, ``scale``,
    ``acquired`` (bool (H, W) of an already-undersampled scan, else None), ``has_reference``,
    ``noise`` (complex64 (C, N) noise-scan samples on the prepared scale, or None), ``axes``,
    ``axes_roles``, ``axes_guessed``, ``selectable`` and ``variables`` (for the choosers).
    """
    from recon_core import io as rio

    prepared = rio.prepare(loaded, None if size == "keep" else int(size), mode)
    kspace = rc.fft2c(prepared.image) if prepared.kspace is None else np.array(prepared.kspace)
    truth, has_reference = np.array(prepared.target, dtype=np.float32), bool(prepared.has_reference)
    if prepared.mask is not None:
        kspace = kspace * prepared.mask
        if loaded.image is None and prepared.reference is not None:
            # the target is only the zero-filled image: score on the stored reference instead
            truth = np.array(prepared.reference, dtype=np.float32)
    noise = None if loaded.noise is None else (np.array(loaded.noise) / prepared.scale).astype(np.complex64)
    return {
        "truth": truth,
        "kspace": kspace.astype(np.complex64),
        "description": prepared.source,
        "n_slices": loaded.n_slices,
        "slice_index": loaded.slice_index,
        "n_coils": prepared.n_coils,
        "scale": float(prepared.scale),
        "acquired": None if prepared.mask is None else np.array(prepared.mask, dtype=bool),
        "has_reference": has_reference,
        "noise": noise,
        "axes": loaded.axes,
        "axes_roles": loaded.axes_roles,
        "axes_guessed": loaded.axes_guessed,
        "selectable": dict(loaded.selectable),
        "variables": list(loaded.metadata.get("variables", [])),
        "format": loaded.format,
        "metadata": {k: v for k, v in loaded.metadata.items() if isinstance(v, (str, int, float, bool))},
        "epi": dict(loaded.metadata["epi"]) if isinstance(loaded.metadata.get("epi"), dict) else None,
    }


@st.cache_data(show_spinner="Reading the built-in scan…", max_entries=4)
def builtin_scan(name: str) -> dict:
    """The record (:func:`scan_record`) of a built-in real scan, at its own size."""
    from recon_core.datasets import load_builtin

    return scan_record(load_builtin(name), "keep", "crop")


@st.cache_data(show_spinner="Prewhitening the coils…", max_entries=16)
def prewhitened(kspace: np.ndarray, noise: np.ndarray | None, acquired: np.ndarray | None):
    """(prewhitened k-space, its RSS image, the NoiseEstimate used), both scaled so that the
    RSS image has maximum 1. The noise covariance is the noise scan's, else the k-space
    periphery's. Whitening re-weights the coils, so the fully sampled reference of whitened
    data is the RSS of the whitened coil images, not the original RSS."""
    from recon_core.coil_noise import estimate_noise, prewhiten

    est = estimate_noise(kspace, noise, acquired)
    white = prewhiten(kspace, est.covariance)
    image = rc.rss(rc.ifft2c(white))
    top = float(np.max(image)) or 1.0
    return (white / top).astype(np.complex64), (image / top).astype(np.float32), est


@st.cache_data(show_spinner=False, max_entries=4)
def home_example(size: int) -> dict[str, np.ndarray]:
    """The home page's figure data, computed without TensorFlow.

    Shepp–Logan (float32 (size, size), max 1), its centred orthonormal k-space (complex,
    DC at (size//2, size//2)), the fastMRI random 4× mask of seed 0 (bool) and the zero-filled
    magnitude (float32). NumPy's FFT stands in for recon_core's TensorFlow one so that the
    first page a visitor opens does not wait for TensorFlow to load; the two agree to float32
    round-off (``tests/app/test_home.py``).
    """
    x = phantom(size)
    m = mask((size, size), 4.0, "random", None, 0)
    axes = (-2, -1)
    k = np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(x, axes=axes), norm="ortho"), axes=axes)
    zf = np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(k * m, axes=axes), norm="ortho"), axes=axes)
    return {"image": x, "kspace": k.astype(np.complex64), "mask": m,
            "zero_filled": np.abs(zf).astype(np.float32)}


@st.cache_data(show_spinner=False, max_entries=64)
def edited_kspace(kspace: np.ndarray, **edit) -> tuple[np.ndarray, np.ndarray]:
    """The edited k-space and its image(s): (H, W) each, or (C, H, W) for multi-coil data."""
    e = rc_kt.KspaceEdit(**edit)
    k = rc_kt.edit_kspace(kspace, e) if kspace.ndim == 2 else np.stack(
        [rc_kt.edit_kspace(kc, e) for kc in kspace])
    return k, rc.ifft2c(k)


@st.cache_data(show_spinner=False, max_entries=64)
def zero_filled(kspace: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Zero-filled magnitude (float32 (H, W)); the RSS of coil images for multi-coil k-space."""
    if kspace.ndim == 3:
        return rc.coil_zero_filled(kspace, mask).rss.astype(np.float32)
    return np.abs(rc.zero_filled(kspace, mask))


@st.cache_data(show_spinner="Estimating coil sensitivities…", max_entries=16)
def sens_maps(kspace: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Coil maps from the calibration region of the *undersampled* k-space."""
    return rc.estimate_sens_maps(kspace * mask, mask)


@st.cache_data(show_spinner=False, max_entries=64)
def psf(mask: np.ndarray) -> tuple[np.ndarray, float]:
    return rc.point_spread_function(mask), rc.incoherence(mask)


@st.cache_data(show_spinner=False, max_entries=256)
def metrics(reference: np.ndarray, image: np.ndarray) -> dict[str, float]:
    return rc.all_metrics(reference, image)


# ---- deep learning ------------------------------------------------------------------------


@st.cache_resource(show_spinner="Loading the pre-trained network…")
def pretrained(name: str):
    from recon_core.dl.pretrained import load_pretrained

    return load_pretrained(name)


def train_or_load(config, on_progress):
    """Train ``config`` with live progress, or load it from the on-disk model cache."""
    from recon_core.dl.cache import get_or_train

    return get_or_train(config, on_progress=on_progress)


def model_key(trained) -> str:
    """A stable identity of a trained network: its config hash and where it is stored."""
    return trained.config.config_hash() + (str(trained.path) if trained.path else "")


@st.cache_data(show_spinner="Running the network…", max_entries=64)
def _network_recon(_trained, key: str, kspace: np.ndarray, mask: np.ndarray) -> np.ndarray:
    from recon_core.dl.models import reconstruct

    return reconstruct(_trained.model, kspace, mask, normalise=_trained.config.normalise)


def network_recon(trained, kspace: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return _network_recon(trained, model_key(trained), kspace, mask)


@st.cache_data(show_spinner=False, max_entries=32)
def _evaluate(_trained, key: str, n: int, accel: float, kind: str) -> dict:
    from recon_core.dl.evaluation import evaluate

    res = evaluate({_trained.config.model: _trained}, n=n, accel=accel, mask_kind=kind)
    return res.summary()


def evaluate_network(trained, n: int, accel: float, kind: str) -> dict:
    """{method: {metric: (mean, std)}} for the network, zero-filled and TV on n held-out images."""
    return _evaluate(trained, model_key(trained), n, accel, kind)


def model_file(trained):
    """Path of the network's .keras file (saving one to a temporary file if it has none)."""
    from pathlib import Path
    import tempfile

    p = Path(trained.path) if trained.path else None
    if p is not None and p.is_dir():
        p = p / "model.keras"
    if p is None or not p.is_file():
        p = Path(tempfile.gettempdir()) / f"recon-lab-{model_key(trained)[:16]}.keras"
        if not p.exists():
            trained.model.save(p)
    return p


@st.cache_data(show_spinner="Running TV…", max_entries=64)
def tv_image(kspace: np.ndarray, mask: np.ndarray, lam: float, method: str, iters: int) -> np.ndarray:
    sens = sens_maps(kspace, mask) if kspace.ndim == 3 else None
    if sens is not None and method == "gradient":
        method = "admm"
    return rc.reconstruct_tv(kspace * mask, mask, lam, method, max_iter=iters, sens=sens).image


@st.cache_data(show_spinner=False, max_entries=16)
def png_row(images: list[np.ndarray]) -> bytes:
    """Images side by side as one 8-bit greyscale PNG, on the first image's scale."""
    import io

    from PIL import Image

    top = float(np.max(np.abs(images[0]))) or 1.0
    gap = np.ones((images[0].shape[0], 4), np.float32)
    row = np.concatenate([p for img in images for p in (np.clip(np.abs(img) / top, 0, 1), gap)][:-1], axis=1)
    buf = io.BytesIO()
    Image.fromarray((row * 255).round().astype(np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def checkpoint_step(config) -> int | None:
    """Step of a stopped, resumable training of ``config`` in the model cache, if any."""
    from recon_core.dl.cache import ModelCache
    from recon_core.dl.training import load_checkpoint_info

    info = load_checkpoint_info(ModelCache().checkpoint_path(config), config)
    return None if info is None else info["step"]


@st.cache_data(show_spinner=False, max_entries=1)
def noise_study() -> dict | None:
    """The shipped networks' stored comparison across noise levels (None if not stored)."""
    from recon_core.dl.pretrained import load_noise_study  # imports TensorFlow: only when needed

    return load_noise_study()
