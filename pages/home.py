"""Home: what MRI reconstruction is, and what each page does."""

from __future__ import annotations

import numpy as np
import streamlit as st

from ui import cached, state

st.title("MRI Recon Lab")
st.markdown(
    """
An MRI scanner measures the **Fourier transform** of the image, one k-space line at a time.
Measuring fewer lines makes the scan faster, but the image must then be *reconstructed* from
incomplete data. With $x$ the image, $F$ the 2D Fourier transform and $\\Omega$ the set of
measured k-space points, the data are
"""
)
st.latex(r"y = F_\Omega\, x")
st.markdown(
    """
Filling the missing points with zeros and inverting ($x_{zf} = F^H y$) gives a fast but
aliased image. **Total-variation** reconstruction looks for the image that agrees with the
data and has the sparsest gradient; **deep learning** learns the missing information from
examples. This lab lets you see each step on the same data.
"""
)

ex = cached.home_example(256)  # NumPy only: opening Home does not load TensorFlow
x, k, m, zf = ex["image"], ex["kspace"], ex["mask"], ex["zero_filled"]
logk = np.log10(np.abs(k) + 1e-6)
# Plain images, not plotly charts: the landing page draws at once, without waiting for the
# browser to load plotly.js (4.7 MB); the other pages' figures have hover values.
st.image([x, (logk - logk.min()) / np.ptp(logk), m.astype(np.float32), np.clip(zf, 0, 1)],
         caption=["image x", "log |k-space|", "mask Ω (4×)", "zero-filled"], width=300, clamp=True)
# the metrics import SciPy (about 1 s on a fresh server): after the images have been sent
st.caption("Shepp–Logan phantom (256×256), its k-space, a fastMRI random 4× column mask and the "
           f"zero-filled reconstruction (PSNR {cached.metrics(x, zf)['psnr']:.1f} dB).")

st.subheader("The pages")
st.markdown(
    """
- **K-space explorer** — pick a built-in image, a built-in real scan ([a twix GRE phantom](explorer?src=gre_phantom),
  [an undersampled 8-coil brain](explorer?src=brain)), or upload your own raw data (ISMRMRD or fastMRI `.h5`,
  Siemens twix `.dat`, MATLAB `.mat`, DICOM, NIfTI, PNG/JPEG, NumPy, BART); see image and k-space side
  by side and change k-space live: low/high-pass, partial Fourier, noise, spikes, DC.
- **Mask designer** — choose which k-space points are measured (fastMRI random or equispaced
  columns, 2D Gaussian, Poisson disc, radial) and see the point-spread function and aliasing.
  The mask chosen here is used by every later page.
- **TV reconstruction** — ADMM, PDHG or the tutorial's gradient descent, with live loss and PSNR
  curves, a Stop button and a λ sweep.
- **Deep learning** — the tutorial's ResCNN and an unrolled network with data consistency:
  pre-trained and instant, or trained with your settings (cached: nothing trains twice).
- **Compare** — all methods side by side on one colour scale, error maps, metrics, zoom and exports.

Settings live in the page address: copy the link to share exactly what you see.
"""
)
st.subheader("Data loaded")
scan = None if state.cfg()["src"] in state.SYNTHETIC else state.current_data()  # a scan: its sampling
st.write(f"{state.data_description()}, normalised to a maximum of 1; "
         f"{state.mask_summary(scan)}.")
