"""K-space explorer: an image and its k-space side by side, with live manipulations."""

from __future__ import annotations

import numpy as np
import streamlit as st

import recon_core as rc
from ui import cached, state, widgets
from recon_core.figures import decibels, image_figure

st.title("K-space explorer")
cfg = state.cfg()
st.caption("Every pixel of k-space holds one spatial frequency of the whole image. Change "
           "k-space on the left and watch the image change.")

with st.sidebar:
    st.header("Data")
    src = state.bind(st.selectbox, "src", "Image", options=list(state.SOURCES),
                     format_func=state.SOURCES.get,
                     help="Built-in images and real scans need no upload; 'Uploaded file' uses the "
                          "file below.")
    if src in state.BUILTIN:
        st.caption(f"{state.BUILTIN[src].credit}. Sources and licences: README, Credits.")
    if src in state.SYNTHETIC:
        state.bind(st.select_slider, "size", "Matrix size", options=list(state.SIZES),
                   help="Images are generated at this size (pixels per side).")
    if src == "ellipses":
        state.bind(st.number_input, "eseed", "Ellipse seed", min_value=0, max_value=10_000, step=1,
                   help="The same seed always draws the same ellipses.")
    if src == "upload":
        from ui import upload

        upload.uploader()
    rec = state.scan_record() if src not in state.SYNTHETIC else None
    if rec is not None and rec["kspace"].ndim == 3:
        state.bind(st.selectbox, "pw", "Prewhiten coils", options=list(state.PREWHITEN),
                   format_func=lambda v: f"{v}: {state.PREWHITEN[v]}",
                   help="Decorrelate the coils' noise and equalise its power before any "
                        "reconstruction; every page uses the prewhitened data. The noise covariance "
                        "comes from the file's noise scan; without one, 'on' estimates it from the "
                        "outermost k-space samples, which assumes they hold noise only.")
    state.noise_controls()  # shared: every page reconstructs from this noisy k-space

data = state.current_data()
if data.acquired is not None:
    st.info(f"This scan is already undersampled: {100 * float(np.mean(data.acquired)):.1f} % of k-space "
            "was acquired (the missing samples are zero). Its image here is zero-filled"
            + ("" if data.has_reference else ", and no fully sampled reference exists") + ".")

with st.sidebar:
    st.header("Manipulate k-space")
    lowpass = st.slider("Low-pass radius", 0.0, 1.5, 1.5, 0.01, key="ex_lowpass",
                        help="Keep only frequencies within this radius (1 = k-space edge; 1.5 = off). "
                             "Blurs the image and causes Gibbs ringing.")
    highpass = st.slider("High-pass radius", 0.0, 1.0, 0.0, 0.01, key="ex_highpass",
                         help="Remove frequencies within this radius (0 = off). Keeps only edges.")
    pf = st.slider("Partial Fourier fraction", 0.5, 1.0, 1.0, 0.01, key="ex_pf",
                   help="Fraction of phase-encode columns acquired (from the left); 1 = full.")
    noise_on = st.toggle("Add extra noise (this page only)", key="ex_noise_on",
                         help="White Gaussian noise in k-space at the SNR below, on top of the "
                              "data (and of the noise set under Data), for this page only.")
    snr = st.slider("Extra-noise SNR (dB)", -10.0, 60.0, 20.0, 0.5, key="ex_snr", disabled=not noise_on,
                    help="Mean power of the k-space shown over the extra noise's variance, in dB.")
    spike_on = st.toggle("Add a spike", key="ex_spike_on",
                         help="A single corrupted k-space sample gives a striped 'herringbone' artefact.")
    h, w = data.shape
    c1, c2 = st.columns(2)
    sky = c1.number_input("Spike ky", -(h // 2), h - h // 2 - 1, min(10, h - h // 2 - 1), key="ex_sky",
                          disabled=not spike_on,
                          help="Row of the spike, in centred frequency units (0 = DC).")
    skx = c2.number_input("Spike kx", -(w // 2), w - w // 2 - 1, min(20, w - w // 2 - 1), key="ex_skx",
                          disabled=not spike_on,
                          help="Column of the spike, in centred frequency units (0 = DC).")
    samp = st.slider("Spike amplitude (× max |k|)", 0.0, 1.0, 0.05, 0.01, key="ex_samp",
                     disabled=not spike_on, help="Added to the sample at (ky, kx).")
    dc = st.slider("DC scaling", 0.0, 3.0, 1.0, 0.05, key="ex_dc",
                   help="Multiply the central (DC) sample: changes the mean brightness only.")

edit = dict(
    lowpass=None if lowpass >= 1.5 else lowpass,
    highpass=None if highpass <= 0 else highpass,
    partial_fourier=pf,
    snr_db=snr if noise_on else None,
    seed=0 if cfg["snr"] is None else int(cfg["nseed"]) + 1,  # independent of the data's noise
    spike=(int(sky), int(skx), float(samp)) if spike_on else None,
    dc_scale=dc,
)
try:
    k, img = cached.edited_kspace(data.kspace, **edit)
except ValueError as exc:
    st.error(f"Manipulation rejected: {exc}")
    k, img = data.kspace, rc.ifft2c(data.kspace)

if data.multicoil:
    coil = st.sidebar.number_input("Coil shown", 1, data.kspace.shape[0], 1, key="ex_coil",
                                   help="Multi-coil data: which coil's k-space and phase to show "
                                        "(numbered from 1, as on the Coils page); the magnitude is "
                                        "the root-sum-of-squares of all coils.")
    mag = rc.rss(img)
    k_show, img_show = k[coil - 1], img[coil - 1]
    mag_title = f"Image magnitude (RSS of {data.kspace.shape[0]} coils)"
else:
    mag, k_show, img_show = np.abs(img), k, img
    mag_title = "Image magnitude"


@st.fragment
def magnitude_panel(mag: np.ndarray, title: str) -> None:
    """The magnitude image and its grey window: moving Level/Window reruns only this part. The
    sliders sit under the image, so that it lines up with the k-space figure beside it."""
    chart_slot = st.empty()
    c = st.columns(2)
    level = c[0].slider("Level", 0.0, 1.5, 0.5, 0.01, key="ex_level", help="Centre of the grey window.")
    width = c[1].slider("Window", 0.05, 2.0, 1.0, 0.01, key="ex_width", help="Width of the grey window.")
    lo, hi = level - width / 2, level + width / 2
    widgets.chart(where=chart_slot, fig=image_figure(mag, title, zmin=lo, zmax=hi, value_label="|x|",
                                                     percent=True), key="ex_mag")


show_phase = st.toggle("Show the phase of the image and of k-space", key="ex_show_phase",
                       help="Two more figures, in degrees (they double what every change redraws "
                            "and sends, so they are off by default).")
col1, col2 = st.columns(2)
with col1:
    magnitude_panel(mag, mag_title)
with col2:
    klog = decibels(k_show)
    widgets.chart(image_figure(klog, "k-space |k| (dB re max)", kspace=True, zmin=max(float(klog.min()), -120),
                               zmax=0, colorscale="viridis", value_label="|k|", unit=" dB", min_levels=50),
                  key="ex_klog")
if show_phase:  # a row of its own: the phases line up with each other, not with the sliders
    col1, col2 = st.columns(2)
    widgets.chart(where=col1, fig=image_figure(np.degrees(np.angle(img_show)), "Image phase", zmin=-180,
                                               zmax=180, colorscale="twilight", value_label="phase",
                                               unit="°"), key="ex_phase")
    widgets.chart(where=col2, fig=image_figure(np.degrees(np.angle(k_show)), "k-space phase", kspace=True,
                                               zmin=-180, zmax=180, colorscale="twilight",
                                               value_label="phase", unit="°"), key="ex_kphase")

if data.noise is not None:
    with st.expander(f"Coil noise ({data.noise.source}, {data.noise.n_samples} samples per coil)"):
        corr = data.noise.correlation.astype(np.float32)
        power = np.real(np.diag(data.noise.covariance))
        a, b = st.columns(2)
        widgets.chart(where=a, fig=image_figure(corr, "Noise correlation |ρ| between coils", zmin=0, zmax=1,
                                                colorscale="viridis", value_label="|ρ|", percent=True,
                                                height=320),
                      key="ex_noisecorr")
        b.dataframe({"coil": list(range(len(power))), "noise power (relative)": power / power.mean()},
                    hide_index=True)
        b.caption("The data every page uses are prewhitened with this covariance: afterwards the "
                  "coils' noise is uncorrelated with equal power (README: Prewhitening).")
m = cached.metrics(data.truth, mag)
c = st.columns(3)
if m["psnr"] < 100:
    c[0].metric("PSNR vs original", f"{m['psnr']:.1f} dB")
else:  # float32 round-off of the FFT round trip, not a change anyone could see
    c[0].metric("PSNR vs original", "≥ 100 dB", help=f"{m['psnr']:.1f} dB: identical up to float32 "
                "rounding (no manipulation changes the image).")
c[1].metric("SSIM vs original", f"{m['ssim']:.3f}")
c[2].metric("k-space samples kept", f"{np.count_nonzero(k) / k.size:.1%}")
st.caption(f"Data: {data.description}. The manipulations here are for exploring; the other pages "
           "use the data without them" + (" (with the noise set under Data)." if cfg["snr"] is not None
                                          else "."))
state.sync_url()
