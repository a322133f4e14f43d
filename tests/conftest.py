"""Shared fixtures: a seeded RNG and the standard test problem (256x256 Shepp–Logan, 4x)."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def phantom_problem():
    """256x256 Shepp–Logan, 4x fastMRI random mask (seed 0), fully sampled k-space."""
    from recon_core import fft2c, shepp_logan
    from recon_core.masks import make_mask

    x = shepp_logan(256)
    mask = make_mask(x.shape, 4, kind="random", seed=0)
    kspace = fft2c(x) * mask
    return x, mask, kspace
