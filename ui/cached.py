"""Streamlit cache wrappers around pure recon_core calls (the only place pages cache).

Nothing here imports TensorFlow at import time: ``recon_core`` resolves its names lazily, and
the deep-learning modules are imported inside the functions that use them.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

import recon_core as rc
import recon_core.kspace_tools as rc_kt

# ---- cache sizes -----------------------------------------------------------------------------
# These caches are shared by every visitor of the server process, so each has a cap on its
# entries, set by the largest value it returns (images up to 384², the largest size; coil data
# up to 16 coils, the built-in scans'; sizes of complex64 arrays):
NUMBERS = 256  # metrics and λ choices: a few numbers, < 1 kB each
IMAGES = 32  # one (H, W) image: at most 1.2 MB (complex64 at 384²), so at most 38 MB
MASKS = 64  # bool (H, W): at most 0.15 MB each, 9 MB in all
BIG_IMAGES = 16  # TV images, PSFs, edited k-space: at most 1.2–2.4 MB each, so at most 38 MB
COIL_DATA = 6  # (C, H, W) complex64 coil data and maps: 19 MB at 16 coils × 384², so 113 MB
SCANS = 4  # a built-in scan's record (its multi-coil k-space, about 10–20 MB)
SAMPLES = 8  # non-Cartesian samples: up to 512 × 4096 complex64 (16 MB) each, all coils
MAX_COIL_SAMPLES = 512 * 4096  # samples × coils of one entry (trajectory_samples refuses more)
NETWORKS = 2  # the shipped networks (Keras models, several MB with their compiled functions)


@st.cache_data(show_spinner=False, max_entries=IMAGES)
def phantom(size: int) -> np.ndarray:
    return rc.shepp_logan(size)


@st.cache_data(show_spinner=False, max_entries=IMAGES)
def ellipses(size: int, seed: int) -> np.ndarray:
    return rc.random_ellipses(size, seed=seed)


@st.cache_data(show_spinner=False, max_entries=MASKS)
def mask(shape: tuple[int, int], accel: float, kind: str, center_fraction: float | None, seed: int) -> np.ndarray:
    return rc.make_mask(shape, accel, kind=kind, center_fraction=center_fraction, seed=seed)


@st.cache_data(show_spinner=False, max_entries=IMAGES)
def kspace(image: np.ndarray) -> np.ndarray:
    return rc.fft2c(image)


@st.cache_data(show_spinner=False, max_entries=COIL_DATA)
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


@st.cache_data(show_spinner="Reading the built-in scan…", max_entries=SCANS)
def builtin_scan(name: str) -> dict:
    """The record (:func:`scan_record`) of a built-in real scan, at its own size."""
    from recon_core.datasets import load_builtin

    return scan_record(load_builtin(name), "keep", "crop")


@st.cache_data(show_spinner="Prewhitening the coils…", max_entries=COIL_DATA)
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


@st.cache_data(show_spinner=False, max_entries=4)  # one per size asked for (the home page: 256)
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


@st.cache_data(show_spinner=False, max_entries=BIG_IMAGES)
def edited_kspace(kspace: np.ndarray, **edit) -> tuple[np.ndarray, np.ndarray]:
    """The edited k-space and its image(s): (H, W) each, or (C, H, W) for multi-coil data."""
    e = rc_kt.KspaceEdit(**edit)
    k = rc_kt.edit_kspace(kspace, e) if kspace.ndim == 2 else np.stack(
        [rc_kt.edit_kspace(kc, e) for kc in kspace])
    return k, rc.ifft2c(k)


@st.cache_data(show_spinner=False, max_entries=IMAGES)
def zero_filled(kspace: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Zero-filled magnitude (float32 (H, W)); the RSS of coil images for multi-coil k-space."""
    if kspace.ndim == 3:
        return rc.coil_zero_filled(kspace, mask).rss.astype(np.float32)
    return np.abs(rc.zero_filled(kspace, mask))


def sens_maps(kspace: np.ndarray, mask: np.ndarray, kind: str = "espirit") -> np.ndarray:
    """Coil maps (complex64 (C, H, W)) from the calibration region of the *undersampled*
    k-space: ``kind`` "espirit" or "ratio" (the ``maps`` setting), see :func:`coil_maps`, which
    also gives the estimator's warnings. Raises ValueError when no maps can be estimated."""
    return coil_maps(kspace, mask, kind)["maps"]


@st.cache_data(show_spinner=False, max_entries=NUMBERS)
def auto_lam(kspace: np.ndarray, mask: np.ndarray, sens: np.ndarray | None, noise_std: float | None):
    """``recon_core.auto_lambda`` of the masked k-space (an ``AutoLambda``)."""
    return rc.auto_lambda(kspace * mask, mask, sens=sens, noise_std=noise_std)


@st.cache_data(show_spinner=False, max_entries=BIG_IMAGES)
def psf(mask: np.ndarray) -> tuple[np.ndarray, float]:
    return rc.point_spread_function(mask), rc.incoherence(mask)


@st.cache_data(show_spinner=False, max_entries=NUMBERS)
def metrics(reference: np.ndarray, image: np.ndarray) -> dict[str, float]:
    return rc.all_metrics(reference, image)


# ---- deep learning ------------------------------------------------------------------------


@st.cache_resource(show_spinner="Loading the pre-trained network…", max_entries=NETWORKS)
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


@st.cache_data(show_spinner="Running the network…", max_entries=IMAGES)
def _network_recon(_trained, key: str, kspace: np.ndarray, mask: np.ndarray,
                   noise_std: float | None) -> np.ndarray:
    from recon_core.dl.models import reconstruct

    return reconstruct(_trained.model, kspace, mask, normalise=_trained.config.normalise,
                       noise_std=noise_std)


def network_recon(trained, kspace: np.ndarray, mask: np.ndarray,
                  noise_std: float | None = None) -> np.ndarray:
    """The network's image; ``noise_std`` (σ per k-space sample, None: estimated) is what a
    noise-conditioned network is told (other networks ignore it)."""
    return _network_recon(trained, model_key(trained), kspace, mask, noise_std)


@st.cache_data(show_spinner=False, max_entries=NUMBERS)
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


@st.cache_data(show_spinner="Running TV…", max_entries=BIG_IMAGES)
def tv_image(kspace: np.ndarray, mask: np.ndarray, lam: float, method: str, iters: int,
             maps: str = "espirit") -> np.ndarray:
    sens = sens_maps(kspace, mask, maps) if kspace.ndim == 3 else None
    if sens is not None and method == "gradient":
        method = "admm"
    return rc.reconstruct_tv(kspace * mask, mask, lam, method, max_iter=iters, sens=sens).image


@st.cache_data(show_spinner=False, max_entries=BIG_IMAGES)
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


# ---- coils page ---------------------------------------------------------------------------


@st.cache_data(show_spinner="Estimating coil sensitivities…", max_entries=COIL_DATA)
def coil_maps(kspace: np.ndarray, mask: np.ndarray, kind: str = "espirit") -> dict:
    """Coil sensitivity maps of multi-coil k-space from its undersampled calibration region.

    Args:
        kspace: complex (C, H, W), centred; only ``kspace * mask`` is used.
        mask: bool (H, W).
        kind: "espirit" (:func:`recon_core.espirit.espirit_maps`) or "ratio"
            (:func:`recon_core.coils.estimate_sens_maps`).

    Returns:
        ``maps`` (complex64 (C, H, W)), ``kind`` (the kind computed: "ratio" when ESPIRiT could
        not calibrate and the ratio maps could), ``warnings`` (list of str: ESPIRiT's own, and
        the fallback), ``support`` (bool (H, W)), ``eigenvalues`` (float32 (H, W), ESPIRiT's
        largest eigenvalue per pixel, None for ratio maps) and ``calib_shape`` ((h, w) or None).

    Raises:
        ValueError: an unknown kind, or no maps of either kind (the message says why).
    """
    from recon_core.espirit import espirit_maps

    y = kspace * mask
    notes: list[str] = []
    if kind not in ("espirit", "ratio"):
        raise ValueError(f"coil maps must be 'espirit' or 'ratio', got {kind!r}")
    if kind == "espirit":
        try:
            res = espirit_maps(y, mask)
        except ValueError as exc:
            try:
                maps = rc.estimate_sens_maps(y, mask)
            except ValueError as exc2:
                raise ValueError(f"ESPIRiT: {exc}; the ratio maps cannot be estimated either: "
                                 f"{exc2}") from None
            notes.append(f"ESPIRiT could not calibrate ({exc}); the calibration-ratio maps are "
                         "used instead.")
            kind = "ratio"
        else:
            return {"maps": res.maps, "kind": "espirit", "warnings": list(res.warnings),
                    "support": res.support, "eigenvalues": res.eigenvalues[0],
                    "calib_shape": tuple(res.calib_shape)}
    else:
        maps = rc.estimate_sens_maps(y, mask)
    return {"maps": maps, "kind": kind, "warnings": notes,
            "support": np.sum(np.abs(maps) ** 2, axis=0) > 0, "eigenvalues": None,
            "calib_shape": None}


@st.cache_data(show_spinner="Simulating coils…", max_entries=COIL_DATA)
def simulated_coils(image: np.ndarray, n_coils: int) -> np.ndarray:
    """Noiseless k-space (complex64 (n_coils, H, W)) of ``image`` seen by
    :func:`recon_core.coils.simulate_sens_maps` coils; its coil RSS is ``|image|``."""
    return rc.simulate_multicoil(image, int(n_coils))[0]


@st.cache_data(show_spinner=False, max_entries=COIL_DATA)
def coil_images(kspace: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(coil images, complex64 (C, H, W); their root-sum-of-squares, float32 (H, W)) of the
    k-space as it is (fully sampled, or as acquired)."""
    images = rc.ifft2c(kspace)
    return images.astype(np.complex64), rc.rss(images)


@st.cache_data(show_spinner=False, max_entries=IMAGES)
def sense_combined(kspace: np.ndarray, mask: np.ndarray, kind: str) -> np.ndarray:
    """|SENSE combination| (float32 (H, W)) of the coil images of ``kspace`` as it is, with
    the maps estimated from ``kspace * mask`` (:func:`coil_maps`)."""
    from recon_core.coils import sens_combine

    images, _ = coil_images(kspace)
    return np.abs(sens_combine(images, coil_maps(kspace, mask, kind)["maps"])).astype(np.float32)


@st.cache_data(show_spinner=False, max_entries=IMAGES)
def grappa_recon(kspace: np.ndarray, mask: np.ndarray) -> dict:
    """GRAPPA (:func:`recon_core.recon.grappa.grappa`, default kernel) of ``kspace * mask``:
    ``image`` (float32 (H, W), coil RSS), ``n_patterns``, ``unfilled``, ``calib_shape``,
    ``amplification`` (see ``GrappaResult``)."""
    from recon_core.recon.grappa import grappa

    res = grappa(kspace * mask, mask)
    return {"image": res.image, "n_patterns": int(res.n_patterns), "unfilled": int(res.unfilled),
            "calib_shape": tuple(res.calib_shape), "amplification": float(res.amplification)}


CG_ITERS = 30  # CG-SENSE iterations on the Coils page (and in its pseudo-replicas)


@st.cache_data(show_spinner=False, max_entries=IMAGES)
def cg_sense(kspace: np.ndarray, mask: np.ndarray, maps: str, iters: int = CG_ITERS) -> np.ndarray:
    """|CG-SENSE| (float32 (H, W)): unregularised least squares by CG from zero
    (:func:`recon_core.reconstruct_cg`), maps of kind ``maps`` (:func:`coil_maps`)."""
    sens = sens_maps(kspace, mask, maps)
    return np.abs(rc.reconstruct_cg(kspace * mask, mask, sens, max_iter=int(iters)).image)


@st.cache_data(show_spinner="Computing the g-factor…", max_entries=IMAGES)
def analytic_gfactor(kspace: np.ndarray, mask: np.ndarray, maps: str, accel: int,
                     axis: int) -> np.ndarray:
    """Analytic SENSE g-factor (float32 (H, W), NaN outside the maps' support) for every
    ``accel``-th line along ``axis`` (:func:`recon_core.gfactor.sense_gfactor`), with the maps
    of kind ``maps`` estimated from ``kspace * mask``."""
    from recon_core.gfactor import sense_gfactor

    return sense_gfactor(sens_maps(kspace, mask, maps), int(accel), axis=int(axis))


def replica_gfactor(kspace: np.ndarray, mask: np.ndarray, maps: str, n_replicas: int,
                    on_progress=None) -> np.ndarray:
    """g-factor (float32 (H, W), NaN outside the support) of CG-SENSE (:data:`CG_ITERS`
    iterations) by pseudo-replicas (:func:`recon_core.gfactor.pseudo_replica_gfactor`, seed 0).

    Not cached here (the page keeps the result): ``on_progress(fraction)`` is called after
    each of the ``2 * n_replicas`` reconstructions.
    """
    from recon_core.gfactor import pseudo_replica_gfactor

    sens = sens_maps(kspace, mask, maps)
    done = [0]

    def recon(k, m, s):
        image = rc.reconstruct_cg(k, m, s, max_iter=CG_ITERS).image
        done[0] += 1
        if on_progress is not None:
            on_progress(done[0] / (2 * int(n_replicas)))
        return image

    return pseudo_replica_gfactor(recon, kspace * mask, mask, sens, n_replicas=int(n_replicas),
                                  seed=0)


# ---- non-Cartesian sampling ---------------------------------------------------------------
# A trajectory is named by its spec, (kind, shape, readouts, samples or None, golden, density)
# (ui.state.trajectory_spec), so that every cached function below has hashable arguments.


@st.cache_resource(show_spinner=False, max_entries=SAMPLES)
def trajectory(spec: tuple):
    """The :class:`recon_core.trajectories.Trajectory` of ``spec`` (immutable: shared)."""
    kind, shape, n_readouts, n_samples, golden, density = spec
    return rc.make_trajectory(kind, tuple(shape), int(n_readouts), n_samples, golden=bool(golden),
                              density=float(density))


@st.cache_data(show_spinner=False, max_entries=SAMPLES)
def trajectory_dcf(spec: tuple) -> tuple[np.ndarray, str]:
    """(density compensation weights (K,) float32, how they were computed)."""
    traj = trajectory(spec)
    how = {"radial": "analytic ramp", "cartesian": "none needed on the grid"}.get(
        traj.kind, "Pipe–Menon, 30 iterations")
    from recon_core.dcf import dcf

    return np.asarray(dcf(traj, method="auto"), np.float32).reshape(-1), how


@st.cache_data(show_spinner=False, max_entries=IMAGES)
def trajectory_psf(spec: tuple) -> np.ndarray:
    """PSF (float32 (H, W), peak 1) of the density-compensated trajectory."""
    return rc.trajectory_psf(trajectory(spec), trajectory_dcf(spec)[0])


@st.cache_data(show_spinner=False, max_entries=SAMPLES)
def trajectory_samples(spec: tuple, source: str, snr: int | None, seed: int,
                       image: np.ndarray, n_coils: int = 0,
                       coil_images: np.ndarray | None = None) -> dict:
    """Non-Cartesian samples of the working data along the trajectory ``spec``.

    Single-coil (``n_coils`` 0 and no ``coil_images``): ``source`` "phantom" gives the analytic
    Shepp–Logan k-space (recon_core.ellipses, no inverse crime); anything else the NUFFT of
    ``image``. Multi-coil: ``coil_images`` (complex (C, H, W), a multi-coil scan's) are sampled
    coil by coil by NUFFT, and ``image`` (their RSS) is the reference; without them,
    ``n_coils`` >= 2 simulated coils: the analytic k-space through band-limited coil maps for
    the phantom, else the NUFFT of ``recon_core.coils.simulate_multicoil``'s coil images of
    ``image``. Noise at ``snr`` dB (recon_core.noise: over the signal power of the fully
    sampled Cartesian k-space of all coils) seeded by ``seed``, independent per coil.

    Returns ``samples`` (complex64 (K,), or (C, K) for C coils), ``truth`` (float32 (H, W)),
    ``how`` (str), ``noise_std`` (float: per-sample noise standard deviation, 0 when
    noiseless), ``n_coils`` (0 for single-coil samples, else C).
    """
    from recon_core.noise import noise_std as std_of

    traj = trajectory(spec)
    n_coils = 0 if coil_images is not None else int(n_coils)
    coils = coil_images.shape[0] if coil_images is not None else max(n_coils, 1)
    if coils * traj.points.shape[0] > MAX_COIL_SAMPLES:
        raise ValueError(f"{coils} coils × {traj.points.shape[0]:,} samples is more than this app "
                         f"holds ({MAX_COIL_SAMPLES:,} samples in all): use fewer readouts, "
                         "samples per readout or coils")
    if source == "phantom" and coil_images is None:
        try:
            from recon_core.ellipses import analytic_phantom_data
        except ImportError:
            pass
        else:
            d = analytic_phantom_data(traj.points, traj.shape, "shepp_logan", n_coils=n_coils,
                                      snr_db=snr, seed=seed)
            signal = d.image if d.sens is None else d.sens * d.image
            power = float(np.mean(np.abs(signal.astype(np.complex128)) ** 2))
            how = ("analytic k-space of the Shepp–Logan ellipses at the trajectory's points "
                   "(recon_core.ellipses: no inverse crime)")
            if n_coils:
                how = (f"{n_coils} simulated coils: analytic k-space of the Shepp–Logan ellipses "
                       "seen through band-limited coil maps, per coil, at the trajectory's points "
                       "(recon_core.ellipses: no inverse crime)")
            return {"samples": d.kspace, "truth": d.image, "noise_std": 0.0 if snr is None else
                    float(std_of(power, snr)), "how": how, "n_coils": n_coils}
    truth = np.asarray(image, np.float32)
    if coil_images is not None:
        signal = np.asarray(coil_images, np.complex64)
        n_coils = signal.shape[0]
        how = (f"the scan's {n_coils} coils, simulated per coil by NUFFT of the coil images "
               "(each coil's k-space at the trajectory's points)")
    elif n_coils:
        from recon_core.coils import simulate_sens_maps

        signal = simulate_sens_maps(truth.shape, n_coils) * truth
        how = (f"{n_coils} simulated coils (recon_core.coils maps), simulated per coil by NUFFT "
               "of the coil images of the working image")
    else:
        signal = truth.astype(np.complex64)
        how = ("simulated from the working image by NUFFT (the image's own k-space at the "
               "trajectory's points)")
    samples = rc.nufft_forward(signal, traj.points).astype(np.complex64)
    sigma = 0.0
    if snr is not None:
        power = float(np.mean(np.abs(signal.astype(np.complex128)) ** 2))
        flat = samples.reshape(-1, samples.shape[-1])  # add_noise wants (1, K) for one coil
        samples = rc.add_noise(flat, snr, seed, signal_power=power).reshape(samples.shape)
        samples = samples.astype(np.complex64)
        sigma = float(std_of(power, snr))
    return {"samples": samples, "truth": truth, "noise_std": sigma, "how": how, "n_coils": n_coils}


@st.cache_data(show_spinner="Estimating coil maps from the gridded k-space centre…",
               max_entries=COIL_DATA)
def trajectory_maps(spec: tuple, samples: np.ndarray, kind: str = "espirit") -> dict:
    """Coil maps of multi-coil non-Cartesian samples (C, K), estimated from the samples alone
    (:func:`recon_core.traj_maps.sens_maps_from_gridded` of :func:`trajectory_coil_kspace`:
    every coil gridded with :func:`trajectory_dcf`'s weights, ESPIRiT or ratio maps from the
    centre of their k-space).

    Returns ``maps`` (complex64 (C, H, W)), ``kind`` (the kind computed: "ratio" after an
    ESPIRiT fallback), ``calib_shape`` ((h, w)), ``support`` (bool (H, W)) and ``warnings``
    (list of str). Raises ValueError (single-coil samples, an unknown kind)."""
    from recon_core.traj_maps import sens_maps_from_gridded

    res = sens_maps_from_gridded(trajectory_coil_kspace(spec, samples), kind)
    return {"maps": res.maps, "kind": res.kind, "calib_shape": tuple(res.calib_shape),
            "support": res.support, "warnings": list(res.warnings)}


@st.cache_data(show_spinner=False, max_entries=COIL_DATA)
def trajectory_coil_kspace(spec: tuple, samples: np.ndarray) -> np.ndarray:
    """Each coil's gridded Cartesian k-space (complex64 (C, H, W)) of (C, K) samples, with
    :func:`trajectory_dcf`'s weights: computed once for the coil maps and the gridded
    k-space figure."""
    from recon_core.traj_maps import gridded_coil_kspace

    return gridded_coil_kspace(samples, trajectory(spec), trajectory_dcf(spec)[0])


def _trajectory_sens(spec: tuple, samples: np.ndarray, maps: str) -> np.ndarray | None:
    """The coil maps of (C, K) samples (kind ``maps``); None for single-coil samples."""
    return trajectory_maps(spec, samples, maps)["maps"] if np.ndim(samples) == 2 else None


@st.cache_data(show_spinner=False, max_entries=IMAGES)
def trajectory_gridding(spec: tuple, samples: np.ndarray) -> np.ndarray:
    """Gridding image (complex64 (H, W)): density-compensated adjoint NUFFT; for (C, K)
    samples, the root-sum-of-squares of the coils' gridding images."""
    w, _ = trajectory_dcf(spec)
    return rc.gridding(samples, trajectory(spec), dcf=w).image


@st.cache_data(show_spinner=False, max_entries=IMAGES)
def trajectory_cg(spec: tuple, samples: np.ndarray, iters: int = CG_ITERS,
                  maps: str = "espirit") -> np.ndarray:
    """|CG| (float32 (H, W)): least squares on the NUFFT model by CG from zero; CG-SENSE with
    the maps of kind ``maps`` (:func:`trajectory_maps`) for (C, K) samples."""
    sens = _trajectory_sens(spec, samples, maps)
    return np.abs(rc.reconstruct_cg(samples, trajectory(spec), sens, max_iter=int(iters)).image)


@st.cache_data(show_spinner=False, max_entries=NUMBERS)
def trajectory_lam(spec: tuple, samples: np.ndarray, noise_std: float | None,
                   maps: str = "espirit"):
    """``auto_lambda_noncartesian`` of the samples (an ``AutoLambda``), with the maps of
    kind ``maps`` for (C, K) samples."""
    from recon_core.recon import auto_lambda_noncartesian

    return auto_lambda_noncartesian(samples, trajectory(spec), noise_std=noise_std,
                                    sens=_trajectory_sens(spec, samples, maps))


@st.cache_resource(show_spinner=False, max_entries=SAMPLES)
def trajectory_problem(spec: tuple, samples: np.ndarray, maps: str = "espirit"):
    """The TV problem (``recon_core.recon.problem.TVProblem``, λ = 0, no reference) of the
    non-Cartesian samples (with the maps of kind ``maps`` for (C, K) samples), for the TV
    page's live solve. Its NUFFT's Toeplitz kernel and start image take about half a second
    at 256² and depend on neither λ nor the solver, so a new λ starts at once (immutable
    tensors: shared). Pages set λ and the reference with ``dataclasses.replace``."""
    from recon_core.recon.inputs import check_problem
    from recon_core.recon.problem import build_problem

    sens = _trajectory_sens(spec, samples, maps)
    return build_problem(check_problem(samples, trajectory(spec), 0.0, None, sens))


@st.cache_data(show_spinner="Running TV…", max_entries=BIG_IMAGES)
def trajectory_tv(spec: tuple, samples: np.ndarray, lam: float, method: str, iters: int,
                  maps: str = "espirit") -> np.ndarray:
    """|TV| (float32 (H, W)) of the non-Cartesian samples (SENSE-TV with the maps of kind
    ``maps`` for (C, K) samples)."""
    if method == "gradient":
        method = "admm"
    sens = _trajectory_sens(spec, samples, maps)
    return np.abs(rc.reconstruct_tv(samples, trajectory(spec), lam, method, max_iter=int(iters),
                                    sens=sens).image)


@st.cache_data(show_spinner=False, max_entries=IMAGES)
def gridded_kspace(spec: tuple, samples: np.ndarray) -> np.ndarray:
    """|Cartesian k-space| (float32 (H, W), DC at the centre, max 1) of the gridding image;
    for (C, K) samples the root-sum-of-squares over coils of each coil's gridded k-space
    (NumPy's FFT, as in :func:`home_example`: the mask designer does not load TensorFlow)."""
    if np.ndim(samples) == 2:
        k = np.sqrt(np.sum(np.abs(trajectory_coil_kspace(spec, samples)) ** 2, axis=0))
        return (k / (k.max() or 1.0)).astype(np.float32)
    x = trajectory_gridding(spec, samples)
    axes = (-2, -1)
    k = np.abs(np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(x, axes=axes), norm="ortho"), axes=axes))
    return (k / (k.max() or 1.0)).astype(np.float32)
