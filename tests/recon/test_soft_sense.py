"""Soft SENSE: several sets of coil maps, for an object larger than the field of view."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from recon_core.coils import coil_zero_filled, rss, simulate_sens_maps
from recon_core.espirit import espirit_maps
from recon_core.masks import make_mask
from recon_core.noise import add_noise
from recon_core.ops.coils import CoilSensitivitySets, sense
from recon_core.ops.fft import fft2c, ifft2c
from recon_core.phantoms import shepp_logan
from recon_core.metrics import psnr
from recon_core.recon import reconstruct_tv, tv_objective


def _folded(h=96, w=96, wide=150, snr=30.0):
    """8-coil k-space of a phantom wider than the field of view: its sides fold back in."""
    big = shepp_logan((h, wide))
    coil_big = simulate_sens_maps((h, wide), 8) * big
    fold = coil_big[:, :, :w].copy()
    fold[:, :, : wide - w] += coil_big[:, :, w:]
    fold = np.roll(fold, -(wide - w) // 2, axis=-1)
    k = add_noise(fft2c(fold), snr, seed=0)
    top = rss(ifft2c(k)).max()
    return k / top, rss(ifft2c(k)) / top


def test_sets_operator_is_adjoint_and_sense_builds_it():
    rng = np.random.default_rng(0)
    s = (rng.standard_normal((2, 3, 8, 6)) + 1j * rng.standard_normal((2, 3, 8, 6))).astype(np.complex64)
    S = CoilSensitivitySets(s)
    x = tf.constant((rng.standard_normal((2, 8, 6)) + 1j * rng.standard_normal((2, 8, 6))).astype(np.complex64))
    y = tf.constant((rng.standard_normal((3, 8, 6)) + 1j * rng.standard_normal((3, 8, 6))).astype(np.complex64))
    lhs = np.vdot(y.numpy(), S.apply(x).numpy())
    rhs = np.vdot(S.apply_adjoint(y).numpy(), x.numpy())
    assert lhs == pytest.approx(rhs, rel=1e-5)
    assert S.norm_bound() ** 2 >= float(np.max(np.sum(np.abs(s) ** 2, axis=(0, 1)))) * 0.999
    A = sense(np.ones((8, 6), bool), s, sets=True)
    assert A.ishape == (2, 8, 6) and A.oshape == (3, 8, 6)
    with pytest.raises(ValueError, match=r"\(M, C, H, W\)"):
        CoilSensitivitySets(s[0])


def test_two_sets_of_maps_unfold_what_one_set_cannot():
    k, ref = _folded(128, 128, 200)
    m = make_mask(k.shape[-2:], 3, center_fraction=0.2, seed=0)  # 26 calibration columns
    y = k * m
    one = espirit_maps(y, m, n_maps=1).maps
    two = espirit_maps(y, m, n_maps=2).maps
    r1 = reconstruct_tv(y, m, 1e-3, sens=one, reference=ref, max_iter=60)
    r2 = reconstruct_tv(y, m, 1e-3, sens=two, reference=ref, max_iter=60)
    assert r1.image.shape == ref.shape and r2.image.shape == (2, *ref.shape)
    assert r2.metrics["psnr"] == pytest.approx(psnr(ref, r2.magnitude), abs=1e-6)
    zf = psnr(ref, coil_zero_filled(k, m).rss)
    assert r2.metrics["psnr"] > r1.metrics["psnr"] + 5 and r2.metrics["psnr"] > zf + 5
    # the recorded objective is the NumPy objective of the returned images
    f = tv_objective(r2.image, y, m, 1e-3, sens=two)["objective"]
    assert r2.history[-1].objective == pytest.approx(f, rel=1e-3)


def test_sets_need_admm_and_matching_shapes():
    k, _ = _folded(32, 32, 48)
    m = np.ones((32, 32), bool)
    maps = np.ones((2, 8, 32, 32), np.complex64) / 4
    with pytest.raises(ValueError, match="need method 'admm'"):
        reconstruct_tv(k, m, 1e-3, "pdhg", sens=maps, max_iter=2)
    with pytest.raises(ValueError, match="does not match k-space"):
        reconstruct_tv(k, m, 1e-3, sens=maps[:, :3], max_iter=2)
