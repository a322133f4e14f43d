"""TV reconstruction: run ADMM, PDHG or the tutorial's gradient descent with live curves."""

from __future__ import annotations

import time

import numpy as np
import streamlit as st

import recon_core as rc
from ui import cached, state, store, widgets
from recon_core.figures import curves_figure, image_figure

st.title("TV reconstruction")
cfg = state.cfg()
st.markdown(r"Find the image that agrees with the measured k-space and has a sparse gradient: "
            r"$\min_x \tfrac12\|F_\Omega x - y\|_2^2 + \lambda\,\mathrm{TV}(x)$.")

METHOD_LABELS = {"admm": "ADMM (split Bregman, exact FFT step)", "pdhg": "PDHG (Chambolle–Pock)",
                 "gradient": "Gradient descent (tutorial: autodiff + Keras optimizer)"}
CHUNK = {"admm": 5, "pdhg": 20, "gradient": 5}  # iterations per compiled call, after the ramp
REDRAW_S = 0.25  # live curves redraw at most this often: a redraw resends both figures


data = state.current_data()
traj_mode = state.trajectory_mode()
# the coil-split ADMM (its own ρ setting) serves Cartesian multi-coil data; non-Cartesian
# SENSE data (below) are solved by the plain ADMM with a CG x-update
multicoil = data.multicoil and not traj_mode
with st.sidebar:
    st.header("Solver")
    method = state.bind(st.selectbox, "method", "Method", options=list(rc.METHODS),
                        format_func=METHOD_LABELS.get,
                        help="All three minimise the same objective; ADMM is by far the fastest.")
    state.lam_controls()
    iters = state.bind(st.number_input, "iters", "Iterations", min_value=1, max_value=5000, step=10,
                       help="Maximum number of iterations (ADMM converges in a few dozen).")
    if method == "admm":
        # multi-coil data are solved by the coil-split ADMM, whose penalty is its own setting
        field, label, hint = (("split_rho_factor", "ρ / λ (coil-split ADMM)",
                               "Penalty of the coil-split ADMM relative to λ (the coil-image "
                               "penalty is half of it). With Adaptive ρ the CG x-update is used "
                               "instead, with ρ = 20 λ.") if multicoil else
                              ("rho_factor", "ρ / λ", "ADMM penalty relative to λ."))
        rho = st.number_input(label, 0.1, 1e4, float(getattr(rc.AdmmConfig(), field)),
                              key="tv_split_rho" if multicoil else "tv_rho", help=hint)
        config = rc.AdmmConfig(
            max_iter=int(iters),
            **{field: rho},
            relaxation=st.slider("Over-relaxation α", 1.0, 1.95, 1.5, 0.05, key="tv_relax",
                                 help="1 = plain ADMM; 1.5–1.8 usually converges faster."),
            adaptive_rho=st.toggle("Adaptive ρ", key="tv_adaptive",
                                   help="Balance primal and dual residuals by doubling/halving ρ."),
        )
    elif method == "pdhg":
        config = rc.PdhgConfig(
            max_iter=int(iters),
            tau_factor=st.number_input("Primal step × √8", 0.01, 1e3, 10.0, key="tv_tau",
                                       help="τ = value/√8 and σ = 1/(8τ), so τσ‖D‖² = 1."),
        )
    else:
        opt = st.selectbox("Optimizer", ["adam", "sgd"], key="tv_opt",
                           help="The tutorial used SGD; Adam converges much faster here.")
        config = rc.GradientConfig(
            max_iter=int(iters), optimizer=opt,
            learning_rate=st.number_input("Learning rate", 1e-5, 10.0, 5e-3 if opt == "adam" else 0.5,
                                          format="%.1e", key=f"tv_lr_{opt}", help="Optimizer step size."),
        )

with st.sidebar:
    state.undersampled_controls(data)
if traj_mode:
    # Non-Cartesian: the samples along the designed trajectory take the place of y and mask.
    try:
        with st.spinner("Simulating the non-Cartesian samples and gridding…"):
            td = state.trajectory_data(data)
            zf = np.abs(cached.trajectory_gridding(td.spec, td.samples))
    except ValueError as exc:
        st.error(f"Trajectory settings rejected: {exc}")
        st.stop()
    mask, y, sens, truth, has_ref = td.traj, td.samples, td.sens, td.truth, td.has_reference
    sampling = state.trajectory_summary() + td.coil_summary()  # also keys the TV results
    if cfg["lamauto"]:
        try:
            with st.spinner("Choosing λ from the noise level…"):
                choice = cached.trajectory_lam(td.spec, td.samples, td.noise_std, td.maps_kind)
            lam, lam_note = choice.lam, "automatic " + choice.describe()
        except ValueError as exc:
            st.warning(f"Automatic λ failed ({exc}); using λ = {float(cfg['lam']):.2e}.")
            lam, lam_note = float(cfg["lam"]), f"λ = {float(cfg['lam']):.2e} (automatic choice failed)"
    else:
        lam, lam_note = float(cfg["lam"]), f"λ = {float(cfg['lam']):.2e} (set by hand)"
    st.caption(f"Data: {data.description}; {sampling}; {lam_note}. Samples: {td.how}. "
               "Model: the NUFFT along the trajectory (Toeplitz normal map); the start image "
               f"for comparison is gridding. {td.coil_note()}".rstrip())
else:
    mask = state.current_mask(data)
    y = data.kspace * mask
    sens = cached.sens_maps(data.kspace, mask, cfg["maps"]) if data.multicoil else None
    with st.spinner("Choosing λ from the noise level…"):
        lam, lam_note = state.tv_lam(data, mask, sens)
    truth, has_ref, sampling = data.truth, data.has_reference, state.mask_summary(data)
    zf = None
    crime = data.noise_std == 0  # known noiseless: k-space simulated from the image, no noise
    st.caption(f"Data: {data.description}; {sampling}; {lam_note}."
               + (" Multi-coil: SENSE model with coil maps estimated from the calibration region."
                  if data.multicoil else "")
               + (" Noiseless k-space computed by the FFT of the very pixel grid TV reconstructs "
                  "(the 'inverse crime'): TV can be near-exact here (60–80 dB). Add noise under "
                  "Data, or use a non-Cartesian trajectory (k-space of the ellipses computed "
                  "analytically), for a fairer test." if crime else ""))
    if warning := state.calibration_warning(data, mask): st.warning(warning)  # noqa: E701

def _describe(key, entry) -> str:
    return (f"{METHOD_LABELS[key[2]].split(' (')[0]}, λ={key[3]:.2e}, "
            f"{len(entry['history'])} iterations")


results = store.LruStore("tv_results", store.TV_RESULTS, "TV result", describe=_describe)
# A run is only ever in progress inside the script run that started it: anything still marked
# "running" now was interrupted (Stop, or another widget), so keep what it computed.
for entry in results.values():
    if entry["status"] == "running":
        entry["status"] = "stopped"
key = (data.fingerprint, sampling, method, float(lam), repr(config))

b1, b2, _ = st.columns([1, 1, 4])
run = b1.button("Run", type="primary", key="tv_run", help="Start the solve (results are kept per setting).")
b2.button("Stop", key="tv_stop", help="Stop the solve; the iterations done so far are kept.")
progress = st.empty()
# The two curves live in one placeholder each: every redraw replaces the chart in place.
curve_cols = st.columns(2)
loss_slot, side_slot = curve_cols[0].empty(), curve_cols[1].empty()
result_slot = st.container()


def draw_curves(history: list[rc.IterationRecord], tag: str) -> None:
    h = {f: np.array([getattr(r, f) for r in history])
         for f in ("objective", "data_term", "tv_term", "rel_change", "psnr", "ssim")}
    loss = {"objective": h["objective"], "data term": h["data_term"], "λ·TV term": lam * h["tv_term"]}
    widgets.chart(where=loss_slot, fig=curves_figure(loss, title="Loss", log_y=True),
                  key=f"tv_loss_{tag}")
    if has_ref:
        widgets.chart(where=side_slot, fig=curves_figure({"PSNR (dB)": h["psnr"]},
                                                         title="PSNR against the reference"),
                      key=f"tv_psnr_{tag}")
    else:
        widgets.chart(where=side_slot, fig=curves_figure({"relative change": h["rel_change"]},
                                                         title="Relative change per iteration",
                                                         log_y=True), key=f"tv_rel_{tag}")


if run and key in results and results.get(key)["status"] == "done":
    st.info("This exact setting was already solved; showing the stored result.")
elif run:
    entry = results.put(key, {"history": [], "image": None, "status": "running", "elapsed": 0.0})
    bar = progress.progress(0.0, text="Starting (the first run of a method compiles it)…")
    try:
        last_draw = None
        built = cached.trajectory_problem(td.spec, td.samples, td.maps_kind) if traj_mode else None
        # first curve point after one iteration (ramp), then chunks of CHUNK[method]
        for rec, snapshot in rc.tv_iterations(y, mask, lam, method, config=config, sens=sens,
                                              reference=truth if has_ref else None,
                                              chunk=CHUNK[method], ramp=True, problem=built):
            entry["history"].append(rec.without_image())  # numbers only: no tensor per record
            entry["elapsed"] = rec.elapsed_s
            if entry.get("image_iteration") != snapshot.iteration:  # a new chunk finished
                entry["image"], entry["image_iteration"] = snapshot(), snapshot.iteration
            # Draw at the end of the first chunk (one iteration), then a few times a second:
            # drawing costs more than ADMM steps.
            if rec.iteration == snapshot.iteration and (
                    last_draw is None or time.perf_counter() - last_draw > REDRAW_S):
                score = f" · PSNR {rec.psnr:.2f} dB" if has_ref else ""
                bar.progress(rec.iteration / config.max_iter,
                             text=f"Iteration {rec.iteration}/{config.max_iter}{score}")
                draw_curves(entry["history"], f"live{rec.iteration}")
                last_draw = time.perf_counter()
        entry["status"] = "done"
    except ValueError as exc:
        entry["status"] = "failed"
        st.error(f"Reconstruction failed: {exc}")
    progress.empty()

entry = results.get(key)  # the result shown is the most recently used: never evicted
results.note(result_slot)
if entry is None or not entry["history"]:
    st.info("Press **Run** to reconstruct with these settings.")
else:
    hist = entry["history"]
    if entry["status"] == "stopped":
        shown = entry["image_iteration"]
        progress.warning(f"Stopped at iteration {len(hist)}; showing the result so far"
                         + (f" (the image is from iteration {shown}: solves run in compiled chunks)."
                            if shown != len(hist) else "."))
    draw_curves(hist, "final")
    img = np.abs(entry["image"])
    if zf is None:
        zf = cached.zero_filled(data.kspace, mask)
    m, mz = (cached.metrics(truth, img), cached.metrics(truth, zf)) if has_ref else (None, None)
    with result_slot:
        c = st.columns(4)
        if not widgets.score_metrics(c, m, mz, state.NO_REFERENCE, "gridding" if traj_mode else "zero-filled"):
            c[1].metric("Final objective", f"{hist[-1].objective:.3e}")
            c[2].metric("Relative change", f"{hist[-1].rel_change:.1e}")
        c[3].metric("Iterations · time", f"{len(hist)} · {entry['elapsed']:.2f} s")
        a, b = st.columns(2)
        top = 1.0 if has_ref else float(np.percentile(img, 99.5)) or 1.0
        widgets.chart(where=a, fig=image_figure(img, "TV reconstruction", zmin=0, zmax=top, value_label="|x|",
                                                percent=True), key="tv_img")
        if traj_mode:
            widgets.chart(where=b, fig=image_figure(zf, "Gridding (for comparison)", zmin=0, zmax=top,
                                                    value_label="|x|", percent=True), key="tv_grid")
        if has_ref:
            widgets.chart(where=b if not traj_mode else a,
                          fig=image_figure(np.abs(img - truth), "|error|", zmin=0, zmax=0.1,
                                           colorscale="inferno", value_label="|error|", percent=True),
                          key="tv_err")
            if traj_mode:
                widgets.chart(where=b, fig=image_figure(np.abs(zf - truth), "Gridding |error|", zmin=0,
                                                        zmax=0.1, colorscale="inferno",
                                                        value_label="|error|", percent=True), key="tv_grid_err")
        elif not traj_mode:
            widgets.chart(where=b, fig=image_figure(zf, "Zero-filled (for comparison)", zmin=0, zmax=top,
                                                    value_label="|x|", percent=True), key="tv_zf")

with st.expander("λ sweep: which weight is best for these data?"):
    c = st.columns(3)
    lo = c[0].number_input("Smallest λ", 1e-7, 1.0, 1e-5, format="%.1e", key="sw_lo", help="Start of the sweep.")
    hi = c[1].number_input("Largest λ", 1e-7, 10.0, 1e-1, format="%.1e", key="sw_hi", help="End of the sweep.")
    n = c[2].number_input("Points", 2, 25, 9, key="sw_n", help="Log-spaced weights between the two.")
    sweeps = store.LruStore("tv_sweeps", store.TV_SWEEPS, "λ sweep",
                            describe=lambda k, pts: f"{k[2]}, λ {k[4]:.0e} to {k[5]:.0e}, "
                                                    f"{k[6]} points")
    skey = (data.fingerprint, state.mask_summary(data), method, repr(config), float(lo), float(hi), int(n))
    if traj_mode:
        st.info("The λ sweep is for Cartesian masks; switch the Mask designer's Sampling to "
                "Cartesian mask to use it.")
    elif not data.has_reference:
        st.info("A sweep scores each λ against a fully sampled reference, and this scan has none. "
                + "Judge λ by eye here: too small leaves noise and aliasing, too large flattens detail.")
    elif st.button("Run sweep", key="sw_run", help="Reconstruct once per λ and score each against the reference."):
        if lo >= hi:
            st.error(f"Smallest λ ({lo:g}) must be below the largest ({hi:g}).")
        else:
            lams = list(np.logspace(np.log10(lo), np.log10(hi), int(n)))
            bar = st.progress(0.0, text="Sweeping λ…")
            pts = rc.sweep_lambda(y, mask, data.truth, lams, method, config=config, sens=sens,
                                  callback=lambda i, p: bar.progress((i + 1) / len(lams),
                                                                     text=f"λ = {p.lam:.1e}: {p.psnr:.2f} dB"))
            sweeps.put(skey, [(p.lam, p.psnr, p.ssim) for p in pts])
            bar.empty()
            sweeps.note()
    if skey in sweeps:
        pts = sweeps.get(skey)
        best = max(pts, key=lambda p: p[1])
        widgets.chart(curves_figure({"PSNR (dB)": [p[1] for p in pts]}, x=[p[0] for p in pts],
                                          xlabel="λ", title="PSNR against λ", log_x=True), key="sw_chart")
        st.success(f"Best λ = {best[0]:.2e} ({best[1]:.2f} dB, SSIM {best[2]:.4f})"
                   + (f"; the automatic λ is {lam:.2e}." if cfg["lamauto"] else "."))
state.sync_url()
