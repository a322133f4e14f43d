"""Streamlit cache wrappers around pure recon_core calls (the only place pages cache)."""

from __future__ import annotations

import numpy as np
import streamlit as st

import recon_core as rc


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
