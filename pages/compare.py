"""Compare: every reconstruction of the current data side by side, with metrics and exports."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import streamlit as st

import recon_core as rc
from ui import cached, state, widgets
from recon_core.figures import images_row

st.title("Compare")
cfg = state.cfg()
data = state.current_data()
with st.sidebar:
    state.undersampled_controls(data)
traj_mode = state.trajectory_mode()
TRAJ_TV_ITERS = 50  # "short" TV in trajectory mode: each iteration costs a Toeplitz product
if traj_mode:
    try:
        with st.spinner("Simulating the non-Cartesian samples and gridding…"):
            td = state.trajectory_data(data)
            grid = np.abs(cached.trajectory_gridding(td.spec, td.samples))
    except ValueError as exc:
        st.error(f"Trajectory settings rejected: {exc}")
        st.stop()
    truth, has_ref = td.truth, td.has_reference
    sampling = state.trajectory_summary() + td.coil_summary()
    tv_iters = min(int(cfg["iters"]), TRAJ_TV_ITERS)
    if cfg["lamauto"]:
        try:
            with st.spinner("Choosing λ from the noise level…"):
                choice = cached.trajectory_lam(td.spec, td.samples, td.noise_std, td.maps_kind)
            lam, lam_note = choice.lam, "automatic " + choice.describe()
        except ValueError as exc:
            lam, lam_note = float(cfg["lam"]), f"λ = {float(cfg['lam']):.2e} ({exc})"
    else:
        lam, lam_note = float(cfg["lam"]), f"λ = {float(cfg['lam']):.2e} (set by hand)"
    st.caption(f"Data: {data.description}; {sampling}; samples: {td.how}. TV with {lam_note} "
               f"({cfg['method']}, {tv_iters} iterations: at most {TRAJ_TV_ITERS} here). "
               f"{td.coil_note()}".rstrip())
else:
    mask = state.current_mask(data)
    truth, has_ref, sampling = data.truth, data.has_reference, state.mask_summary(data)
    tv_iters = int(cfg["iters"])
    try:
        tv_sens = cached.sens_maps(data.kspace, mask, cfg["maps"]) if data.multicoil else None
        with st.spinner("Choosing λ from the noise level…"):
            lam, lam_note = state.tv_lam(data, mask, tv_sens)
    except ValueError as exc:  # no coil maps for these data: TV says so below
        lam, lam_note = float(cfg["lam"]), f"λ = {float(cfg['lam']):.2e} ({exc})"
    st.caption(f"Data: {data.description}; {sampling}; TV with {lam_note} "
               f"({cfg['method']}, {cfg['iters']} iterations, as on the TV page).")

h, w = data.shape
with st.sidebar:
    st.header("Methods")
    use_tv = st.toggle("TV", value=True, key="cmp_tv", help="TV reconstruction with the TV page's settings.")
    # the networks are single-coil and Cartesian: their switches are greyed out otherwise
    nets_off = ("not for multi-coil data (the networks are single-coil)" if data.multicoil else
                "not for non-Cartesian samples (the networks are Cartesian)" if traj_mode else "")
    use_res = st.toggle("ResCNN (pre-trained)", value=True, key="cmp_rescnn", disabled=bool(nets_off),
                        help="The shipped ResCNN; networks trained on the Deep learning page are used "
                             "there." + (f" Off: {nets_off}." if nets_off else ""))
    use_unr = st.toggle("Unrolled (pre-trained)", value=True, key="cmp_unrolled", disabled=bool(nets_off),
                        help="The shipped unrolled network with data consistency."
                             + (f" Off: {nets_off}." if nets_off else ""))
    st.header("Zoom")
    ys = st.slider("Rows", 0, h, (0, h), key="cmp_rows", help="Show only this range of rows.")
    xs = st.slider("Columns", 0, w, (0, w), key="cmp_cols", help="Show only this range of columns.")
    err_max = st.slider("Error scale", 0.01, 1.0, 0.2, 0.01, key="cmp_errmax", disabled=not has_ref,
                        help="Upper end of the colour scale of the error maps"
                             + ("." if has_ref else " (none without a reference)."))

# Computing every method takes seconds the first time: say which one is running, at once (a
# spinner shows only after half a second, so a run of shorter steps would show nothing).
networks = [n for n, on in (("ResCNN", use_res), ("unrolled", use_unr))
            if on and not data.multicoil and not traj_mode]
steps = (["CG-SENSE"] if traj_mode else ["zero-filled"]) + (["TV"] if use_tv else []) + networks
work = st.progress(0.0, text="Computing the reconstructions…")


def working(name: str) -> None:
    i = steps.index(name)
    work.progress(i / len(steps), text=f"Computing {name} ({i + 1}/{len(steps)})…")


if traj_mode:
    recons: dict[str, np.ndarray] = {"gridding": grid}
    working("CG-SENSE")
    try:
        with st.spinner("CG on the NUFFT model…"):
            recons["CG-SENSE"] = cached.trajectory_cg(td.spec, td.samples, maps=td.maps_kind)
    except ValueError as exc:
        st.error(f"CG-SENSE failed: {exc}")
    if use_tv:
        working("TV")
        try:
            recons["TV"] = cached.trajectory_tv(td.spec, td.samples, float(lam), cfg["method"],
                                                tv_iters, td.maps_kind)
        except ValueError as exc:
            st.error(f"TV failed: {exc}")
    if use_res or use_unr:
        st.info("Cartesian only: the networks were trained on Cartesian masks, so they are not run "
                "on non-Cartesian samples. Switch the Mask designer's Sampling to Cartesian mask "
                "to compare them.")
else:
    working("zero-filled")
    recons = {"zero-filled": cached.zero_filled(data.kspace, mask)}
    if use_tv:
        working("TV")
        try:
            recons["TV"] = np.abs(cached.tv_image(data.kspace, mask, float(lam), cfg["method"],
                                                  int(cfg["iters"]), cfg["maps"]))
        except ValueError as exc:
            st.error(f"TV failed: {exc}")
    if data.multicoil and (use_res or use_unr):
        st.info("The networks are single-coil; they are left out for multi-coil data.")
for name, on in (("rescnn", use_res), ("unrolled", use_unr)):
    if not on or data.multicoil or traj_mode:
        continue
    working("ResCNN" if name == "rescnn" else "unrolled")
    try:
        net = cached.pretrained(name)
        recons["ResCNN" if name == "rescnn" else "unrolled"] = np.abs(cached.network_recon(net, data.kspace, mask, data.noise_std))
    except FileNotFoundError as exc:
        st.warning(f"{name} is not available: {exc}")
    except ValueError as exc:
        st.error(f"{name} cannot reconstruct these data: {exc}")

work.empty()

if ys[1] - ys[0] < 8 or xs[1] - xs[0] < 8:
    st.error("The zoom region must be at least 8×8 pixels; showing the whole image.")
    ys, xs = (0, h), (0, w)
crop = (slice(*ys), slice(*xs))
ref_name = "ground truth" if has_ref else None
shown = ({ref_name: truth[crop]} if ref_name else {}) | {k: v[crop] for k, v in recons.items()}
top = float(truth.max()) if has_ref else float(max(np.percentile(v, 99.5) for v in recons.values()))
widgets.chart(images_row(shown, zmin=0.0, zmax=top or 1.0, height=330, value_label="|x|", percent=True),
              key="cmp_images")
rows = []
if has_ref:
    errors = {f"|error| {k}": np.abs(v - truth)[crop] for k, v in recons.items()}
    widgets.chart(images_row(errors, zmin=0.0, zmax=err_max, colorscale="inferno", height=330,
                             value_label="|error|", percent=True), key="cmp_errors")
    for name, img in recons.items():
        m = cached.metrics(truth, img)
        rows.append({"method": name, "PSNR (dB)": m["psnr"], "SSIM": m["ssim"], "NMSE": m["nmse"]})
    table = pd.DataFrame(rows).set_index("method")
    st.dataframe(table.style.format({"PSNR (dB)": "{:.2f}", "SSIM": "{:.4f}", "NMSE": "{:.2e}"}))
    st.caption("Metrics on the whole image (magnitudes, data range = ground-truth maximum), not the zoom.")
else:
    st.info(state.NO_REFERENCE + " The images share one grey scale (0 to the 99.5th percentile).")
    table = pd.DataFrame({"method": list(recons)}).set_index("method")

st.subheader("Export")
report = {
    "data": data.description,
    "noise": {"kspace_snr_db": cfg["snr"], "seed": cfg["nseed"]} if cfg["snr"] is not None else None,
    "reference": "fully sampled" if has_ref else "none (already-undersampled scan)",
    ("trajectory" if traj_mode else "mask"): ({"summary": sampling, "kind": cfg["tkind"], "readouts": td.traj.n_readouts,
                  "samples_per_readout": td.traj.n_samples, "acceleration": td.traj.acceleration,
                  "samples": td.how, "coils": td.n_coils or 1,
                  "coil_maps": None if td.maps is None else
                  {"kind": td.maps["kind"], "calibration": list(td.maps["calib_shape"]),
                   "estimated_from": "the gridded k-space centre of the samples"}} if traj_mode else
                 {"summary": sampling, "kind": cfg["mkind"], "accel": cfg["accel"],
                  "center_fraction": cfg["cf"] or None, "seed": cfg["mseed"],
                  "achieved_acceleration": rc.achieved_acceleration(mask)}),
    "tv": {"method": cfg["method"], "lam": float(lam), "lam_automatic": bool(cfg["lamauto"]),
           "iterations": tv_iters},
    "metrics": {r["method"]: {k: v for k, v in r.items() if k != "method"} for r in rows},
    "link_parameters": {k: str(v) for k, v in cfg.items()},
    "recon_core_version": rc.__version__,
}
first = [truth] if has_ref else []
stack = np.stack(first + list(recons.values())).astype(np.float32)
npy = io.BytesIO()
np.save(npy, stack, allow_pickle=False)
c = st.columns(4)
c[0].download_button("Images (NPY)", npy.getvalue(), "reconstructions.npy", key="cmp_npy",
                     help=f"float32 array of shape {stack.shape}: "
                          + ("ground truth, then " if has_ref else "")
                          + f"{', '.join(recons)}.")
c[1].download_button("Report (JSON)", json.dumps(report, indent=2), "report.json", "application/json",
                     key="cmp_json", help="Settings and metrics; the link parameters reproduce this view.")
c[2].download_button("Metrics (CSV)", table.to_csv(), "metrics.csv", "text/csv", key="cmp_csv",
                     help="One row per method.")
c[3].download_button("Side by side (PNG)", cached.png_row(first + list(recons.values())),
                     "comparison.png", "image/png", key="cmp_png",
                     help=("Ground truth and every reconstruction on one grey scale, 0 to the truth's max."
                           if has_ref else
                           "Every reconstruction on one grey scale, 0 to the first one's max (no reference)."))
state.sync_url()
