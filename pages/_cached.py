"""Streamlit cache wrappers around pure recon_core calls (the only place pages cache)."""

from __future__ import annotations

import numpy as np
import streamlit as st

import recon_core as rc
import recon_core.kspace_tools as rc_kt


@st.cache_data(show_spinner=False, max_entries=32)
def phantom(size: int) -> np.ndarray:
    return rc.shepp_logan(size)


@st.cache_data(show_spinner=False, max_entries=64)
def ellipses(size: int, seed: int) -> np.ndarray:
    return rc.random_ellipses(size, seed=seed)


@st.cache_data(show_spinner=False, max_entries=64)
def mask(shape: tuple[int, int], accel: float, kind: str, center_fraction: float | None, seed: int) -> np.ndarray:
    return rc.make_mask(shape, accel, kind=kind, center_fraction=center_fraction, seed=seed)


@st.cache_data(show_spinner=False, max_entries=64)
def kspace(image: np.ndarray) -> np.ndarray:
    return rc.fft2c(image)


@st.cache_data(show_spinner=False, max_entries=64)
def edited_kspace(kspace: np.ndarray, **edit) -> tuple[np.ndarray, np.ndarray]:
    """The edited k-space and its image (complex64, (H, W) each)."""
    k = rc_kt.edit_kspace(kspace, rc_kt.KspaceEdit(**edit))
    return k, rc.ifft2c(k)


@st.cache_data(show_spinner=False, max_entries=64)
def zero_filled(kspace: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return rc.zero_filled(kspace, mask)


@st.cache_data(show_spinner=False, max_entries=64)
def psf(mask: np.ndarray) -> tuple[np.ndarray, float]:
    return rc.point_spread_function(mask), rc.incoherence(mask)


@st.cache_data(show_spinner=False, max_entries=256)
def metrics(reference: np.ndarray, image: np.ndarray) -> dict[str, float]:
    return rc.all_metrics(reference, image)
