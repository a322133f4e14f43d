"""Deep learning: the tutorial's ResCNN and an unrolled network with data consistency."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import streamlit as st

from ui import cached, state, store, widgets
from recon_core.figures import curves_figure, image_figure, snr_figure, snr_order
from recon_core.dl.config import DEFAULT_CONFIGS, TrainConfig

st.title("Deep learning")
cfg = state.cfg()
state.cartesian_only_note(": the networks were trained on Cartesian masks")
st.markdown(
    "**ResCNN** (the tutorial's network) learns to remove aliasing from the zero-filled magnitude. "
    "The **unrolled** network alternates a small CNN with a *data-consistency* step that puts the "
    "measured k-space samples back, so it can never contradict the measurement."
)

REDRAW_S = 0.25  # live training curves redraw at most this often (each redraw resends them)
MODEL_LABELS = {"rescnn": "ResCNN (residual CNN on the zero-filled image)",
                "unrolled": "Unrolled network (CNN + data consistency, repeated)"}

with st.sidebar:
    st.header("Network")
    arch = st.selectbox("Model", list(MODEL_LABELS), format_func=MODEL_LABELS.get, key="dl_arch",
                        help="Both are trained on random ellipses and tested on your image.")
    source = st.radio("Weights", ["pre-trained", "train"], key="dl_source", horizontal=True,
                      help="Pre-trained: the shipped network, instant. Train: your own settings "
                           "(cached on disk: the same settings never train twice).")
    base = DEFAULT_CONFIGS[arch]
    if source == "train":
        n_convs = st.number_input("Convolutions per block", 2, 16, min(base.n_convs, 5), key="dl_nconvs",
                                  help="Depth of the CNN (per cascade for the unrolled network).")
        n_filters = st.select_slider("Filters", [4, 8, 16, 32, 64], value=8, key="dl_nfilters",
                                     help="Width of the hidden convolutions.")
        extra = {}
        if arch == "unrolled":
            extra["n_cascades"] = st.number_input("Cascades", 1, 10, 3, key="dl_ncasc",
                                                  help="How many CNN + data-consistency stages.")
            extra["dc"] = st.selectbox(
                "Data consistency", ["hard", "soft", "noise"], key="dl_dc",
                format_func={"hard": "hard", "soft": "soft (learned blend)",
                             "noise": "noise-weighted (told the noise level)"}.get,
                help="Hard: replace the measured samples. Soft: a learned blend of network and "
                     "measurement. Noise-weighted: the blend follows each example's noise level "
                     "(hard when noiseless), and the CNN is told that level; needs noisy training.")
        image_size = st.select_slider("Training image size", [32, 64, 128, 256], value=64, key="dl_size",
                                      help="Random-ellipse images are simulated at this size.")
        steps = st.number_input("Steps", 1, 20_000, 200, step=50, key="dl_steps",
                                help="Optimiser steps (Adam, MSE loss).")
        batch = st.select_slider("Batch size", [1, 2, 4, 8, 16], value=4, key="dl_batch",
                                 help="Images per step.")
        lr = st.number_input("Learning rate", 1e-5, 1e-1, 1e-3, format="%.1e", key="dl_lr",
                             help="Adam step size.")
        seed = st.number_input("Seed", 0, 10_000, 0, key="dl_seed",
                               help="Seeds the weights, the training images and the masks.")
        if st.toggle("Noisy training k-space", key="dl_noisy", value=False,
                     help="Add k-space noise to each training example at an SNR drawn from a "
                          "range (the SNR of the Data settings' noise), so the network learns "
                          "to reconstruct noisy scans."):
            lo, hi = st.slider("Training SNR range (dB)", 0, 60, (15, 50), key="dl_snr_range")
            extra.update(snr_min_db=float(lo), snr_max_db=float(hi),
                         clean_fraction=st.slider("Noiseless fraction", 0.0, 1.0, 0.25, 0.05,
                                                  key="dl_clean",
                                                  help="Share of examples left noiseless."))
        try:
            config = TrainConfig(model=arch, n_convs=int(n_convs), n_filters=int(n_filters),
                                 accel=float(cfg["accel"]), mask_kind=cfg["mkind"],
                                 image_size=int(image_size), steps=int(steps), batch_size=int(batch),
                                 learning_rate=float(lr), seed=int(seed), n_val=4, **extra)
        except ValueError as exc:
            st.error(f"Invalid training settings: {exc}")
            config = None
    else:
        config = None

data = state.current_data()
with st.sidebar:
    state.undersampled_controls(data)
mask = state.current_mask(data)
st.caption(f"Data: {data.description}; {state.mask_summary(data)}.")

trained = None
if source == "pre-trained":
    try:
        trained = cached.pretrained(arch)
    except FileNotFoundError as exc:
        st.error(f"The shipped {arch} network is missing: {exc}")
    else:
        t = trained.config
        from recon_core.dl.pretrained import score_summary  # imports TensorFlow: only when needed

        scores = score_summary(arch, trained.meta)
        noisy = (f" with k-space noise at {t.snr_min_db:g}–{t.snr_max_db:g} dB SNR "
                 f"({t.clean_fraction:.0%} noiseless)" if t.noisy else "")
        told = (" It is told the noise level: the Data settings' SNR, or an estimate from the "
                "outermost k-space samples for files." if t.model == "unrolled" and t.dc == "noise"
                else "")
        st.info(f"Shipped {arch}: trained for {t.steps} steps on {t.image_size}² random ellipses, "
                f"{t.accel:g}× {t.mask_kind} masks{noisy}.{told} " + (f"{scores} " if scores else "")
                + "Its training curves are below.")
else:
    models = store.LruStore(
        "dl_models", store.DL_MODELS, "trained network",
        describe=lambda k, m: (f"{m.config.model}, {m.config.steps} steps; pressing Train with "
                               "its settings loads it again from the model cache"))
    b1, b2, _ = st.columns([1, 1, 4])
    go = b1.button("Train", type="primary", key="dl_train", disabled=config is None,
                   help="Train with these settings, or load them from the cache if trained before.")
    b2.button("Stop", key="dl_stop", help="Stop training; a checkpoint is kept and the next Train resumes.")
    if config is not None:
        key = config.config_hash()
        if key in models:
            trained = models.get(key)
        elif go:
            bar = st.progress(0.0, text="Preparing the training data…")
            # one placeholder per curve: each redraw replaces the chart in place
            live_cols = st.columns(2)
            live = [c.empty() for c in live_cols]
            hist: dict[str, list] = {"step": [], "loss": [], "val_step": [], "val_psnr": []}
            last_draw = [None]

            def on_progress(p) -> None:
                hist["step"].append(p.step)
                hist["loss"].append(p.loss)
                if p.val_psnr is not None:
                    hist["val_step"].append(p.step)
                    hist["val_psnr"].append(p.val_psnr)
                bar.progress(p.step / p.steps, text=f"Step {p.step}/{p.steps} · loss {p.loss:.2e}"
                             + (f" · validation {p.val_psnr:.2f} dB" if p.val_psnr is not None else ""))
                # the first step at once, then a few times a second
                if last_draw[0] is None or time.perf_counter() - last_draw[0] > REDRAW_S:
                    widgets.chart(curves_figure({"training loss": hist["loss"]}, x=hist["step"],
                                                xlabel="step", title="Loss (MSE)", log_y=True),
                                  key=f"dl_live_loss_{p.step}", where=live[0])
                    widgets.chart(curves_figure({"validation PSNR": hist["val_psnr"]}, x=hist["val_step"],
                                                xlabel="step", title="Validation PSNR (dB)"),
                                  key=f"dl_live_val_{p.step}", where=live[1])
                    last_draw[0] = time.perf_counter()

            try:
                trained = cached.train_or_load(config, on_progress)
            except (ValueError, FloatingPointError) as exc:
                st.error(f"Training failed: {exc}")
            else:
                models.put(key, trained)
                models.note()
            bar.empty()
            for slot in live:
                slot.empty()
        else:
            step = cached.checkpoint_step(config)
            if step:
                st.info(f"Training with these settings was stopped at step {step} of {config.steps}; "
                        "**Train** resumes from that checkpoint.")
            else:
                st.info("Press **Train**. Settings trained before (by anyone on this server) load at once.")

if trained is not None:
    h = trained.history
    if trained.from_cache and source == "train":
        st.success("Loaded from the model cache: these settings were trained before.")
    c1, c2 = st.columns(2)
    if h.get("step"):
        widgets.chart(curves_figure({"training loss": h["loss"]}, x=h["step"], xlabel="step",
                                    title="Loss (MSE)", log_y=True), key="dl_loss", where=c1)
    if h.get("val_step"):
        widgets.chart(curves_figure({"validation PSNR": h["val_psnr"]}, x=h["val_step"], xlabel="step",
                                    title="Validation PSNR (dB)"), key="dl_val", where=c2)

    st.subheader("On the current image and mask")
    if data.multicoil:
        st.info("The networks are single-coil; multi-coil data are reconstructed on the TV page.")
    else:
        try:
            rec = np.abs(cached.network_recon(trained, data.kspace, mask, data.noise_std))
        except ValueError as exc:
            st.error(f"The network cannot reconstruct these data: {exc}")
        else:
            zf = cached.zero_filled(data.kspace, mask)
            m, mz = state.score(data, rec), state.score(data, zf)
            c = st.columns(3)
            if not widgets.score_metrics(c, m, mz, state.NO_REFERENCE):
                st.caption(state.NO_REFERENCE)
            a, b = st.columns(2)
            widgets.chart(image_figure(rec, f"{arch} reconstruction", zmin=0, zmax=1, value_label="|x|",
                                       percent=True), key="dl_img", where=a)
            if m is not None:
                widgets.chart(image_figure(np.abs(rec - data.truth), "|error|", zmin=0, zmax=0.3,
                                           colorscale="inferno", value_label="|error|", percent=True),
                              key="dl_err", where=b)
            else:
                widgets.chart(image_figure(zf, "Zero-filled (for comparison)", zmin=0, zmax=1,
                                           value_label="|x|", percent=True), key="dl_zf", where=b)

    st.subheader("On a held-out set of random ellipses")
    n_eval = st.select_slider("Images", [4, 8, 16, 32, 64], value=8, key="dl_neval",
                              help="Seeded held-out images, never used for training; zero-filled and "
                                   "TV run on the very same inputs.")
    evals = store.LruStore("dl_evals", store.DL_EVALS, "held-out evaluation",
                           describe=lambda k, v: f"{k[1]} images, {k[2]:g}× {k[3]} masks")
    ekey = (cached.model_key(trained), int(n_eval), float(cfg["accel"]), cfg["mkind"])
    if st.button("Evaluate", key="dl_eval", help="Score the network, zero-filled and TV on the held-out set."):
        with st.spinner(f"Reconstructing {n_eval} images with three methods…"):
            res = cached.evaluate_network(trained, int(n_eval), float(cfg["accel"]), cfg["mkind"])
        evals.put(ekey, res)
        evals.note()
    if ekey in evals:
        fmt = {"psnr": ("PSNR (dB)", "{:.2f} ± {:.2f}"), "ssim": ("SSIM", "{:.4f} ± {:.4f}"),
               "nmse": ("NMSE", "{:.2e} ± {:.1e}")}  # evaluate_network's metrics
        rows = [{"method": meth, **{fmt[k][0]: fmt[k][1].format(*v) for k, v in stats.items()}}
                for meth, stats in evals.get(ekey).items()]
        st.dataframe(pd.DataFrame(rows).set_index("method"))
        st.caption(f"Mean ± standard deviation over the {n_eval} images.")

    with st.spinner("Preparing the model file…"):
        path = cached.model_file(trained)
    st.download_button("Download the .keras model", data=path.read_bytes(), file_name=f"{arch}.keras",
                       mime="application/octet-stream", key="dl_download",
                       help="Load it with keras.models.load_model after `import recon_core`.")
st.subheader("Across noise levels (the shipped networks)")
study = cached.noise_study()
if study is None:
    st.info("No stored comparison across noise: `python scripts/train_defaults.py --skip-training` "
            "writes one.")
else:
    view = st.radio("Images", ["64 held-out ellipses", "Shepp–Logan 256²", "tutorial protocol (400², 8 masks)"],
                    horizontal=True, key="dl_noise_view")
    key = {"64 held-out ellipses": "held_out", "Shepp–Logan 256²": "phantom_256"}.get(view, "tutorial_400")
    images = {"held_out": "the same 64 held-out ellipse images (4× random masks, image i: seed i)",
              "phantom_256": "the 256² Shepp–Logan phantom (4× random mask, seed 0)",
              "tutorial_400": "the tutorial's protocol: the 400² Shepp–Logan phantom under 4× random "
                              "masks of seeds 0–7 (mean ± std over the masks)"}[key]
    st.markdown(
        f"Real k-space is noisy. Each point scores zero-filled, TV and both shipped networks on "
        f"{images}, with k-space noise at that SNR (signal power of the fully sampled k-space over "
        "the noise variance). TV's λ is tuned for each SNR on a separate tuning set, never on these "
        "images.")
    psnr_series = {m: v["psnr"] for m, v in study[key].items()}
    widgets.chart(snr_figure(study["snr_db"], psnr_series, title=f"PSNR against k-space SNR: {view}"),
                  key="dl_noise_fig")
    order = snr_order(study["snr_db"])  # as the plot: lowest SNR first, noiseless last
    labels = ["∞" if study["snr_db"][i] is None else f"{study['snr_db'][i]:g} dB" for i in order]
    table = pd.DataFrame({m: [f"{v[i][0]:.2f} ± {v[i][1]:.2f}" for i in order]
                          for m, v in psnr_series.items()}, index=labels).T
    table.loc["TV λ (tuned)"] = [f"{study['lam'][i]:.1e}" for i in order]
    st.dataframe(table)
state.sync_url()
