"""Mask designer: choose the sampling pattern every later page uses, and see what it costs."""

from __future__ import annotations

import numpy as np
import streamlit as st

import recon_core as rc
from ui import cached, state, widgets
from recon_core.figures import image_figure

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

with st.sidebar:
    st.header("Mask (used by every page)")
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
    m = state.score(data, zf)
    c = st.columns(4)
    c[0].metric("Achieved acceleration", f"{rc.achieved_acceleration(mask):.2f}×")
    lines, region = rc.center_lines(mask), rc.center_region(mask)
    c[1].metric("Centre", f"{lines} lines" if lines else f"{region[0]}×{region[1]} px")
    c[2].metric("Incoherence", f"{inco:.3f}", help="Peak side lobe / main lobe of the PSF (lower is better).")
    if m is not None:
        c[3].metric("Zero-filled PSNR", f"{m['psnr']:.1f} dB", help=f"SSIM {m['ssim']:.3f}")
    else:
        c[3].metric("Zero-filled PSNR", "—", help=state.NO_REFERENCE)
    a, b = st.columns(2)
    widgets.chart(where=a, fig=image_figure(mask.astype(np.float32), f"{label}: mask", kspace=True, zmin=0, zmax=1,
                                    value_label="sampled", height=320), key=f"{key}_mask")
    widgets.chart(where=b, fig=image_figure(np.log10(psf + 1e-6), f"{label}: PSF (log10)", zmin=-4, zmax=0,
                                    colorscale="viridis", value_label="log10 PSF", height=320),
                       key=f"{key}_psf")
    widgets.chart(where=a, fig=image_figure(zf, f"{label}: zero-filled", zmin=0, zmax=1, value_label="|x|",
                                    height=320), key=f"{key}_zf")
    if data.has_reference:
        widgets.chart(where=b, fig=image_figure(np.abs(zf - data.truth), f"{label}: |error|", zmin=0, zmax=0.3,
                                                colorscale="inferno", value_label="|error|", height=320),
                      key=f"{key}_err")


mask = state.current_mask(data)
if warning := state.calibration_warning(data, mask):
    st.warning(warning)
if compare:
    left, right = st.columns(2)
    with left:
        st.subheader(state.mask_summary(data))
        mask_panel(mask, "A", "mk_a")
    with right:
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
else:
    st.subheader(state.mask_summary(data))
    mask_panel(mask, "Mask", "mk_a")
st.caption(f"Data: {data.description}.")
state.sync_url()
