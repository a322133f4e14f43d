"""Coils and parallel imaging: coil images and maps, GRAPPA / CG-SENSE / SENSE-TV, g-factor."""

from __future__ import annotations

import hashlib
import time

import numpy as np
import streamlit as st

from recon_core import masks as rc_masks
from recon_core.recon.grappa import AMPLIFIED
from recon_core.figures import image_figure
from ui import cached, state, store, widgets

st.title("Coils and parallel imaging")
cfg = state.cfg()
st.markdown(r"Each receive coil sees the object through its own sensitivity, $y_c = M F (S_c x)$. "
            r"Several coils together can fill in what the mask left out: in k-space (GRAPPA) or "
            r"in image space with coil maps (SENSE). The price is noise amplification, the "
            r"g-factor.")

METHODS = ("Zero-filled RSS", "GRAPPA", "CG-SENSE", "SENSE-TV")
N_SHOWN = 16  # coil images drawn at most
N_MAPS = 4  # coils whose maps are drawn

base = state.current_data()
with st.sidebar:
    st.header("Coils")
    kind = state.maps_control()
    if not base.multicoil:
        state.bind(st.number_input, "ncoils", "Simulated coils", min_value=state.NCOILS_RANGE[0],
                   max_value=state.NCOILS_RANGE[1], step=1,
                   help="These data are single-coil: the page simulates this many smooth loop "
                        "coils around the image (recon_core.coils.simulate_multicoil), with the "
                        "k-space noise setting's noise at the same SNR.")
    state.lam_controls()
    state.bind(st.number_input, "nrep", "Pseudo-replicas (g-factor)", min_value=state.NREP_RANGE[0],
               max_value=state.NREP_RANGE[1], step=4,
               help="Noise draws for the g-factor of masks that are not regular: each costs two "
                    "CG-SENSE reconstructions; the map's error is about 1/√replicas.")
    grappa_2d = st.toggle("GRAPPA on 2-D masks (slow)", key="coils_grappa2d",
                          help="On a 2-D (point) mask nearly every missing sample has a "
                               "neighbourhood of its own, and GRAPPA fits one kernel per "
                               "neighbourhood: tens of thousands of fits, minutes of computing. "
                               "Line masks take a second.")
    state.undersampled_controls(base)
data = state.coil_data(base)
mask = state.current_mask(data)
n_coils = data.kspace.shape[0]
st.caption(f"Data: {data.description}; {state.mask_summary(data)}; {n_coils} coils.")
state.cartesian_only_note(" (GRAPPA and the coil maps need Cartesian k-space)")
if warning := state.calibration_warning(data, mask):
    st.warning(warning)

# ---- coil images and their combination
st.subheader("Coil images")
images, rss_image = cached.coil_images(data.kspace)
mags = np.abs(images[:N_SHOWN])
sampled = "as acquired (zero-filled)" if data.acquired is not None else "fully sampled"
widgets.chart(widgets.image_grid({f"coil {i + 1}": m for i, m in enumerate(mags)}, n_cols=8,
                                 zmax=float(mags.max()) or 1.0, value_label="|x_c|", percent=True,
                                 row_height=130 if len(mags) > 4 else 300), key="coils_grid")
shown = f"all {n_coils}" if len(mags) == n_coils else f"{len(mags)} of the {n_coils}"
st.caption(f"Magnitude of {shown} coil images, {sampled}, on one scale: each "
           "coil sees the part of the object near it.")

maps, maps_error = None, None
try:
    maps = cached.coil_maps(data.kspace, mask, kind)
except ValueError as exc:
    maps_error = str(exc)

top = 1.0 if data.has_reference else float(np.percentile(rss_image, 99.5)) or 1.0
a, b = st.columns(2)
widgets.chart(where=a, fig=image_figure(rss_image, "Root-sum-of-squares", zmin=0, zmax=top,
                                        value_label="|x|", percent=True, height=320), key="coils_rss")
if maps is not None:
    combined = cached.sense_combined(data.kspace, mask, kind)
    widgets.chart(where=b, fig=image_figure(combined, "SENSE combination",
                                            zmin=0, zmax=top, value_label="|x|", percent=True, height=320),
                  key="coils_sense")
st.caption("RSS needs no maps but keeps each coil's shading and noise bias; the SENSE "
           "combination Σ S̄_c x_c / Σ |S_c|² weights the coils by their maps (from the "
           "calibration region of the current mask) and is zero outside the maps' support.")

# ---- coil maps
st.subheader("Coil sensitivity maps")
if maps_error is not None:
    st.error(f"No coil maps for these data and this mask: {maps_error}")
else:
    for note in maps["warnings"]:
        st.warning(f"Coil maps: {note}")
    s = maps["maps"][:N_MAPS]
    support = maps["support"]
    ch_cw = maps["calib_shape"]
    calib = f", calibration block {ch_cw[0]}×{ch_cw[1]}" if ch_cw else ""
    st.caption(f"{state.MAP_KINDS[maps['kind']]}{calib}; magnitude and phase of the first "
               f"{len(s)} coils; phase only inside the support ({100 * support.mean():.0f} % of "
               "the image).")
    widgets.chart(widgets.image_grid({f"|S_{i + 1}|": np.abs(m) for i, m in enumerate(s)},
                                     n_cols=N_MAPS, zmax=1.0, colorscale="viridis",
                                     value_label="|S|", percent=True), key="coils_mag")
    phase = np.where(support, np.angle(s), np.nan)
    widgets.chart(widgets.image_grid({f"phase S_{i + 1}": p for i, p in enumerate(phase)},
                                     n_cols=N_MAPS, zmin=-np.pi, zmax=np.pi, colorscale="twilight",
                                     value_label="phase", unit=" rad"), key="coils_phase")
    a, b = st.columns(2)
    if maps["eigenvalues"] is not None:
        widgets.chart(where=a, fig=image_figure(
            maps["eigenvalues"], "ESPIRiT eigenvalue λ₁", zmin=0, zmax=1, colorscale="viridis",
            value_label="λ₁", height=320), key="coils_eig")
        a.caption("About 1 where the coils' data agree with the calibration; the maps are kept "
                  "where it exceeds 0.95.")
    widgets.chart(where=b if maps["eigenvalues"] is not None else a,  # no empty column first
                  fig=image_figure(support.astype(np.float32), "Support of the maps",
                                   zmin=0, zmax=1, value_label="in support", height=320),
                  key="coils_support")

# ---- reconstructions
with st.container(key="coils_recons"):
    st.subheader("Reconstructions from the current mask")
    mask_id = hashlib.blake2b(np.packbits(mask).tobytes() + str(mask.shape).encode(),
                              digest_size=8).hexdigest()
    method, iters = cfg["method"], int(cfg["iters"])
    with st.spinner("Choosing λ…"):
        lam, lam_note = state.tv_lam(data, mask, None if maps is None else maps["maps"])
    key = (data.fingerprint, mask_id, kind, lam, method, iters)
    line_mask = rc_masks.is_line_mask(mask)
    st.caption(f"GRAPPA: default kernel, calibration from the mask's centre. CG-SENSE: "
               f"{cached.CG_ITERS} CG iterations, no regularisation. SENSE-TV: the TV page's "
               f"settings ({'ADMM' if method == 'gradient' else method.upper()}, {lam_note}, "
               f"{iters} iterations). CG-SENSE and SENSE-TV use the maps above.")
    results = store.LruStore(
        "coils_results", store.COIL_RESULTS, "Coils page result", "Coils page results",
        describe=lambda k, e: f"{k[2]} maps, λ={k[3]:.2e}, {k[5]} TV iterations")
    run = st.button("Run", type="primary", key="coils_run",
                    help="Reconstruct with all four methods (results are kept per data, mask "
                         "and settings).")
    progress = st.empty()

    def reconstruct(name: str) -> np.ndarray:
        if name == "Zero-filled RSS":
            return cached.zero_filled(data.kspace, mask)
        if name == "GRAPPA":
            res = cached.grappa_recon(data.kspace, mask)
            entry["grappa_amplification"] = res["amplification"]
            return res["image"]
        if maps is None:
            raise ValueError(f"needs coil maps: {maps_error}")
        if name == "CG-SENSE":
            return cached.cg_sense(data.kspace, mask, kind)
        return np.abs(cached.tv_image(data.kspace, mask, lam, method, iters, kind))

    if run:
        entry = results.get(key) or results.put(key, {"images": {}, "errors": {}, "times": {}})
        started = time.perf_counter()
        for i, name in enumerate(METHODS):
            if name in entry["images"]:
                continue
            if name == "GRAPPA" and not line_mask and not grappa_2d:
                entry["errors"][name] = None  # skipped, see below
                continue
            slow = name == "GRAPPA" and not line_mask
            progress.progress(i / len(METHODS), text=f"{name} ({i + 1}/{len(METHODS)})…"
                              + (" A 2-D mask: GRAPPA fits thousands of kernels, minutes."
                                 if slow else ""))
            t0 = time.perf_counter()
            try:
                entry["images"][name] = np.asarray(reconstruct(name), np.float32)
                entry["errors"].pop(name, None)
                entry["times"][name] = time.perf_counter() - t0
            except ValueError as exc:
                entry["errors"][name] = str(exc)
        entry["elapsed"] = time.perf_counter() - started
        progress.empty()

    entry = results.get(key)  # the result shown is the most recently used: never evicted
    results.note()
    if entry is None:
        st.info("Press **Run** to reconstruct with zero-filling, GRAPPA, CG-SENSE and SENSE-TV "
                "(a few seconds; the first SENSE run of an image size also compiles the solvers).")
    else:
        zf = entry["images"].get("Zero-filled RSS")
        mz = state.score(data, zf) if zf is not None else None
        cols = st.columns(len(METHODS))
        for c, name in zip(cols, METHODS):
            c.markdown(f"**{name}**")
            img = entry["images"].get(name)
            if img is None:
                msg = entry["errors"].get(name, "not run")
                if msg is None:
                    c.info("Skipped: GRAPPA on a 2-D mask takes minutes (one kernel fit per "
                           "neighbourhood pattern). Turn on **GRAPPA on 2-D masks** and press Run.")
                else:
                    c.error(f"{name} failed: {msg}")
                continue
            m = state.score(data, img)
            details = [f"{entry['times'][name]:.2f} s"] if name in entry["times"] else []
            blowup = entry.get("grappa_amplification", 1.0) if name == "GRAPPA" else 1.0
            if blowup > AMPLIFIED:
                c.warning(f"GRAPPA's image is {blowup:.0f}× brighter than the zero-filled one: "
                          f"its kernels amplified noise across wide gaps of this mask "
                          f"({n_coils} coils, calibration from the centre lines). Do not trust "
                          "it; a regular (equispaced) mask, a wider centre or more coils help.")
            if m is not None:  # (without a reference, one caption under the row says so)
                if mz is None or name == METHODS[0]:
                    c.metric("PSNR", f"{m['psnr']:.2f} dB", "baseline", delta_color="off",
                             delta_arrow="off")
                else:
                    c.metric("PSNR", f"{m['psnr']:.2f} dB", f"{m['psnr'] - mz['psnr']:+.1f} dB")
                c.metric("SSIM", f"{m['ssim']:.4f}")
            c.caption(" · ".join(details) or " ")
            widgets.chart(where=c, fig=widgets.image_grid(  # untitled: the column is
                {"": img}, 1, zmax=top, value_label="|x|", percent=True, row_height=260, colorbar=False),
                key=f"coils_img_{name}")
            if data.has_reference:
                widgets.chart(where=c, fig=widgets.image_grid(
                    {f"|error| {name}": np.abs(img - data.truth)}, 1, zmax=0.1,
                    colorscale="inferno", value_label="|error|", percent=True, row_height=260, colorbar=False),
                    key=f"coils_err_{name}")
        errors_scale = (", errors |x − reference| on 0 to 0.1 (inferno)" if data.has_reference
                        else "")
        last = f". Last Run: {entry['elapsed']:.1f} s." if "elapsed" in entry else "."
        scores = "" if data.has_reference else f" No PSNR or SSIM. {state.NO_REFERENCE}"
        st.caption(f"Images on one grey scale, 0 to {top:.2g}{errors_scale}{last}{scores}")

# ---- g-factor
with st.container(key="coils_gfactor"):
    st.subheader("g-factor: noise amplification of the unfolding")
    st.markdown(r"$\mathrm{SNR}_{\text{accelerated}} = \mathrm{SNR}_{\text{full}} / (g \sqrt{R})$:"
                r" $g \geq 1$ measures how badly the coil maps separate the pixels that the mask "
                r"folds onto each other.")
    regular = rc_masks.regular_lines(mask)
    g, how = None, ""
    if maps is None:
        st.error(f"No g-factor without coil maps: {maps_error}")
    elif regular is not None:
        axis, r = regular
        how = (f"analytic SENSE g-factor of one {'column' if axis == -1 else 'row'} in {r} "
               "(Pruessmann et al. 1999); the calibration lines are left out, so this is the g of "
               "the regular pattern")
        try:
            g = cached.analytic_gfactor(data.kspace, mask, kind, r, axis)
        except ValueError as exc:
            st.error(f"g-factor failed: {exc}")
    else:
        n_rep = int(cfg["nrep"])
        gresults = store.LruStore("coils_gfactor", store.COIL_GFACTORS, "g-factor map",
                                  describe=lambda k, g: f"{k[3]} pseudo-replicas")
        gkey = key[:3] + (n_rep,)
        how = (f"CG-SENSE by {n_rep} pseudo-replicas (Robson et al. 2008): the mask is not a "
               "regular line pattern, so there is no closed form")
        if run and gkey not in gresults:
            bar = st.progress(0.0, text=f"g-factor: {2 * n_rep} CG-SENSE reconstructions…")
            try:
                gresults.put(gkey, cached.replica_gfactor(
                    data.kspace, mask, kind, n_rep, on_progress=lambda f: bar.progress(
                        min(f, 1.0), text=f"g-factor: {100 * f:.0f} % of {2 * n_rep} CG-SENSE")))
            except ValueError as exc:
                st.error(f"g-factor failed: {exc}")
            bar.empty()
        g = gresults.get(gkey)
        gresults.note()
        if g is None:
            st.info(f"Press **Run** to measure the g-factor: {how}.")
    if g is not None:
        inside = np.isfinite(g)
        finite = g[inside]
        infinite = int(np.count_nonzero(np.isposinf(g)))
        c = st.columns(4)
        c[0].metric("mean g", f"{finite.mean():.3f}" if finite.size else "—",
                    help="Over the maps' support.")
        c[1].metric("max g", f"{finite.max():.3f}" if finite.size else "—")
        c[2].metric("pixels with g > 2",
                    f"{100 * float(np.mean(finite > 2)):.1f} %" if finite.size else "—")
        if infinite:
            c[3].metric("unfolding singular", f"{infinite} pixels",
                        help="More pixels fold onto each other than there are coils to "
                             "separate them.")
        st.caption(f"{how[0].upper()}{how[1:]}.")
        zmax = max(1.5, float(np.percentile(finite, 99))) if finite.size else 2.0
        widgets.chart(image_figure(np.where(inside, g, 0), "g-factor map (0 outside the support)",
                                   zmin=0, zmax=zmax, colorscale="inferno", value_label="g",
                                   height=420), key="coils_gmap")
state.sync_url()
