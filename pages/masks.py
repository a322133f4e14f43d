"""Mask designer: choose the sampling pattern every later page uses, and see what it costs."""

from __future__ import annotations

import numpy as np
import streamlit as st

import recon_core as rc
from recon_core.masks import line_axis
from ui import cached, state, widgets
from recon_core.figures import (decibels, image_figure, psf_figure, trajectory_animation,
                                trajectory_figure)

st.title("Mask designer")
cfg = state.cfg()
st.caption("Which k-space points are measured decides the artefacts. Incoherent (random-looking) "
           "aliasing is what TV and networks can remove; coherent aliasing (regular lines) is not.")

KIND_HELP = {
    "random": "fastMRI RandomMaskFunc: random columns plus a fully sampled centre block.",
    "equispaced": "fastMRI EquispacedMaskFractionFunc: regular columns plus the centre block.",
    "gaussian": "2D random points, denser near the centre (Gaussian density).",
    "poisson": "2D variable-density Poisson disc: random but evenly spread points.",
    "radial": "Straight spokes through the centre, drawn on the Cartesian grid.",
}

TRAJ_HELP = {
    "radial": "Straight spokes through the centre at any angle (golden angle: 111.25° apart, "
              "so any run of spokes covers k-space evenly).",
    "spiral": "Archimedean (density 1) or variable-density spiral-out interleaves.",
    "cartesian": "Evenly spread Cartesian lines, read as a trajectory (NUFFT on grid points).",
}
READOUT = {"radial": "Spokes", "spiral": "Interleaves", "cartesian": "Lines"}

def trajectory_view(data: state.WorkingData) -> None:
    """Metrics and figures of the designed trajectory on the working data."""
    st.subheader(state.trajectory_summary())
    try:
        with st.spinner("Simulating the non-Cartesian samples and gridding…"):
            td = state.trajectory_data(data)
            grid = np.abs(cached.trajectory_gridding(td.spec, td.samples))
            psf = cached.trajectory_psf(td.spec)
            gk = cached.gridded_kspace(td.spec, td.samples)
            dcf_how = cached.trajectory_dcf(td.spec)[1]
    except ValueError as exc:
        st.error(f"Trajectory settings rejected: {exc}")
        return
    t = td.traj
    c = st.columns(4)
    c[0].metric("Acceleration", f"{t.acceleration:.2f}×",
                help=f"Nyquist number of readouts / readouts = {t.nyquist_readouts} / {t.n_readouts}.")
    c[1].metric("Readouts × samples", f"{t.n_readouts} × {t.n_samples}",
                help=f"{t.n_readouts * t.n_samples:,} k-space samples in all.")
    m = cached.metrics(td.truth, grid) if td.has_reference else None
    if m is not None:
        c[2].metric("Gridding PSNR", f"{m['psnr']:.1f} dB")
        c[3].metric("Gridding SSIM", f"{m['ssim']:.3f}")
    else:
        c[2].metric("Gridding PSNR", "—", help=state.NO_REFERENCE)
    a, b = st.columns(2)
    widgets.chart(where=a, fig=trajectory_figure(t, "Trajectory (colour: acquisition order)", height=340),
                  key="tr_points")
    widgets.chart(where=b, fig=psf_figure(psf, None, "PSF", height=340), key="tr_psf")
    widgets.chart(where=a, fig=trajectory_animation(t, "K-space filling in acquisition order", height=340),
                  key="tr_anim")
    widgets.chart(where=b, fig=image_figure(decibels(gk), "Gridded k-space (dB)", kspace=True,
                                            zmin=-80, zmax=0, colorscale="viridis", value_label="|k|",
                                            unit=" dB", min_levels=50, height=340), key="tr_gk")
    top = 1.0 if td.has_reference else float(np.percentile(grid, 99.5)) or 1.0
    widgets.chart(where=a, fig=image_figure(grid, "Gridding", zmin=0, zmax=top, value_label="|x|",
                                            percent=True, height=340), key="tr_grid")
    if td.has_reference:
        widgets.chart(where=b, fig=image_figure(np.abs(grid - td.truth), "Gridding |error|", zmin=0,
                                                zmax=0.3, colorscale="inferno", value_label="|error|",
                                                percent=True, height=340), key="tr_err")
    scans = ("" if td.multicoil else "; scans and uploads are always simulated from their "
             "image by NUFFT")
    st.caption(f"Data: {data.description}. Samples: {td.how}{scans}. Density compensation: "
               f"{dcf_how}. {td.coil_note()}".rstrip())


with st.sidebar:
    st.header("Sampling (used by every page)")
    traj_mode = state.bind(st.radio, "samp", "Sampling", options=list(state.SAMPLING),
                           format_func=state.SAMPLING.get, horizontal=True,
                           help="A Cartesian mask on the k-space grid, or non-Cartesian readouts "
                                "(radial spokes, spiral interleaves) at arbitrary k-space points.") == "traj"

if traj_mode:
    with st.sidebar:
        st.header("Trajectory")
        tkind = state.bind(st.selectbox, "tkind", "Trajectory kind", options=list(state.TRAJ_KINDS),
                           help="; ".join(f"{k}: {v}" for k, v in TRAJ_HELP.items()))
        state.bind(st.slider, "nread", READOUT[tkind], min_value=state.NREAD_RANGE[0],
                   max_value=state.NREAD_RANGE[1], step=1,
                   help="Readouts acquired; the acceleration is the Nyquist number over this.")
        if tkind != "cartesian":
            state.bind(st.slider, "nsamp", "Samples per readout (0 = default)",
                       min_value=state.NSAMP_RANGE[0], max_value=state.NSAMP_RANGE[1], step=16,
                       help="0: the design's default (2× oversampled along the readout: 2N for "
                            "radial spokes).")
        if tkind == "radial":
            state.bind(st.toggle, "golden", "Golden angle",
                       help="Golden-angle increments instead of uniformly spaced angles.")
        if tkind == "spiral":
            state.bind(st.slider, "density", "Spiral density", min_value=state.DENSITY_RANGE[0],
                       max_value=state.DENSITY_RANGE[1], step=0.25,
                       help="1: Archimedean; above 1 the arms pack tighter near the centre.")
    data = state.current_data()
    with st.sidebar:
        st.header("Coils")
        state.trajectory_coil_controls(data)
    trajectory_view(data)
    state.sync_url()
    st.stop()

with st.sidebar:
    st.header("Mask")
    state.bind(st.selectbox, "mkind", "Kind", options=list(rc.MASK_KINDS),
               help="; ".join(f"{k}: {v}" for k, v in KIND_HELP.items()))
    state.bind(st.slider, "accel", "Acceleration", min_value=1.0, max_value=16.0, step=0.5,
               help="Fraction of k-space skipped: 4× measures a quarter of the points.")
    state.bind(st.slider, "cf", "Centre fraction (0 = default)", min_value=0.0, max_value=0.5,
               step=0.01, help="Width of the fully sampled centre as a fraction of the matrix. "
                                "0 uses fastMRI's default: 0.08 at 4×, 0.04 at 8×.")
    state.bind(st.number_input, "mseed", "Seed", min_value=0, max_value=10_000, step=1,
               help="Random kinds draw the same mask for the same seed.")
    compare = st.toggle("Compare with a second mask", key="mk_compare",
                        help="Show another mask side by side; it does not change the shared mask.")

data = state.current_data()
shape = data.shape
with st.sidebar:
    state.undersampled_controls(data)


def mask_panel(mask: np.ndarray, label: str, key: str) -> None:
    if data.acquired is not None:
        mask = mask & data.acquired  # a scan's unmeasured points are never sampled
    psf, inco = cached.psf(mask)
    zf = cached.zero_filled(data.kspace, mask)
    if compare:  # half the page wide: the four numbers in two rows, so that none is cut off
        top, bottom = st.columns(2), st.columns(2)
        c = [top[0], top[1], bottom[0], bottom[1]]
    else:
        c = st.columns(4)
    c[0].metric("Achieved acceleration", f"{rc.achieved_acceleration(mask):.2f}×")
    lines, region = rc.center_lines(mask), rc.center_region(mask)
    c[1].metric("Centre", f"{lines} lines" if lines else f"{region[0]}×{region[1]} px")
    c[2].metric("Incoherence", f"{inco:.3f}", help="Peak side lobe / main lobe of the PSF (lower is better).")
    score_box = c[3].empty()  # filled after the figures: SSIM takes longer than drawing them
    a, b = st.columns(2)
    widgets.chart(where=a, fig=image_figure(mask.astype(np.float32), f"{label}: sampled points", kspace=True, zmin=0,
                                            zmax=1, value_label="sampled", min_levels=1, height=320,
                                            colorbar=False),
                  key=f"{key}_mask")
    widgets.chart(where=b, fig=psf_figure(psf, line_axis(mask), f"{label}: PSF"), key=f"{key}_psf")
    widgets.chart(where=a, fig=image_figure(zf, f"{label}: zero-filled", zmin=0, zmax=1, value_label="|x|",
                                            percent=True, height=320), key=f"{key}_zf")
    if data.has_reference:
        widgets.chart(where=b, fig=image_figure(np.abs(zf - data.truth), f"{label}: |error|", zmin=0, zmax=0.3,
                                                colorscale="inferno", value_label="|error|", percent=True,
                                                height=320), key=f"{key}_err")
    m = state.score(data, zf)
    if m is not None:
        score_box.metric("Zero-filled PSNR", f"{m['psnr']:.1f} dB", help=f"SSIM {m['ssim']:.3f}")
    else:
        score_box.metric("Zero-filled PSNR", "—", help=state.NO_REFERENCE)


@st.fragment
def second_mask_panel() -> None:
    """Mask B and its settings: changing them reruns only this panel, not the whole page."""
    c = st.columns(3)
    kind2 = c[0].selectbox("Kind B", rc.MASK_KINDS, index=rc.MASK_KINDS.index("poisson"), key="mk_kind2",
                           help="Kind of the second mask.")
    accel2 = c[1].number_input("Acceleration B", 1.0, 16.0, float(cfg["accel"]), 0.5, key="mk_accel2",
                               help="Acceleration of the second mask.")
    seed2 = c[2].number_input("Seed B", 0, 10_000, 0, key="mk_seed2", help="Seed of the second mask.")
    try:
        mask2 = cached.mask(shape, float(accel2), kind2, None, int(seed2))
    except ValueError as exc:
        st.error(f"Second mask rejected: {exc}")
    else:
        mask_panel(mask2, "B", "mk_b")


mask = state.current_mask(data)
if warning := state.calibration_warning(data, mask):
    st.warning(warning)
if compare:
    left, right = st.columns(2)
    with left:
        st.subheader(state.mask_summary(data))
        mask_panel(mask, "A", "mk_a")
    with right:
        second_mask_panel()
else:
    st.subheader(state.mask_summary(data))
    mask_panel(mask, "Mask", "mk_a")  # titles "Mask: sampled points", "Mask: PSF along x (dB)"
st.caption(f"Data: {data.description}.")
state.sync_url()
