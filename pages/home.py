"""Home: what MRI reconstruction is, and what each page does."""

from __future__ import annotations

import numpy as np
import streamlit as st

import recon_core as rc
from pages import _cached, _ui
from recon_core.figures import images_row

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

size = 256
x = _cached.phantom(size)
m = _cached.mask((size, size), 4.0, "random", None, 0)
k = _cached.kspace(x)
zf = np.abs(rc.zero_filled(k, m))
logk = np.log10(np.abs(k) + 1e-6)
fig = images_row(
    {"image x": x, "log |k-space|": (logk - logk.min()) / np.ptp(logk), "mask Ω (4×)": m.astype(np.float32),
     f"zero-filled ({rc.psnr(x, zf):.1f} dB)": zf},
    zmin=0.0, zmax=1.0, height=300,
)
_ui.chart(fig, key="home_figure")
st.caption("Shepp–Logan phantom (256×256), its k-space, a fastMRI random 4× column mask and the "
           "zero-filled reconstruction.")

st.subheader("Data loaded")
st.write("Built-in Shepp–Logan phantom, 256×256, normalised to a maximum of 1.")
