"""GRAPPA: exact on full data, accurate at R = 2, 3 (equispaced and random column masks),
acquired samples untouched, calibration detected or given, clear errors.

Figures measured when these tests were written (8 coils, 256 x 256 Shepp-Logan, k-space noise
0.005 per sample, 24 calibration lines; NMSE of the RSS image against the fully sampled RSS):

====================  ========  ===========
mask                  GRAPPA    zero-filled
====================  ========  ===========
equispaced R = 2      4.3e-4    0.085
equispaced R = 3      3.0e-3    0.14
random R = 2          9.1e-3    0.099
random R = 3          0.030     0.14
====================  ========  ===========

(``make_mask``'s equispaced kind adjusts the spacing so that the centre block counts towards
the rate: 2.23 and 3.78 lines instead of 2 and 3.) The bounds below leave a factor of about 2.
"""

from __future__ import annotations

import numpy as np
import pytest

from recon_core.coils import rss, simulate_multicoil
from recon_core.masks import make_mask
from recon_core.metrics import nmse
from recon_core.ops.fft import ifft2c
from recon_core.phantoms import shepp_logan
from recon_core.recon.grappa import grappa, grappa_calibration_block

N = 256
CALIB = 24
NOISE = 0.005  # image SNR about 50 in the phantom's bright regions


@pytest.fixture(scope="module")
def data():
    x = shepp_logan(N)
    k, sens = simulate_multicoil(x, n_coils=8, noise_std=NOISE, seed=1)
    return k, rss(ifft2c(k))


def _mask(kind: str, accel: int) -> np.ndarray:
    return make_mask((N, N), accel, kind=kind, center_fraction=CALIB / N, seed=0)


def test_fully_sampled_is_reproduced_exactly():
    k, _ = simulate_multicoil(shepp_logan(64), n_coils=4, noise_std=0.01, seed=0)
    res = grappa(k, np.ones((64, 64), bool))
    np.testing.assert_array_equal(res.kspace, k)
    assert res.n_patterns == 0 and res.unfilled == 0
    np.testing.assert_allclose(res.image, rss(ifft2c(k)), rtol=1e-6)


@pytest.mark.parametrize("accel, bound", [(2, 1e-3), (3, 6e-3)])
def test_equispaced_reaches_low_nmse(data, accel, bound):
    k, ref = data
    m = _mask("equispaced", accel)
    res = grappa(k * m, m)
    assert res.unfilled == 0
    assert res.calib_shape[0] == N and res.calib_shape[1] >= CALIB  # a line may touch the block
    assert res.kspace.dtype == np.complex64 and res.image.dtype == np.float32
    assert res.image.shape == (N, N) and res.kspace.shape == k.shape
    err = nmse(ref, res.image)
    zf = nmse(ref, rss(ifft2c(k * m)))
    assert err < bound
    assert err < zf / 20
    # acquired samples are kept exactly as measured
    np.testing.assert_array_equal(res.kspace[:, m], k[:, m])
    assert res.n_patterns < 40


@pytest.mark.parametrize("accel, bound", [(2, 0.02), (3, 0.06)])
def test_random_column_masks_fill_everything(data, accel, bound):
    k, ref = data
    m = _mask("random", accel)
    res = grappa(k * m, m)
    assert res.unfilled == 0
    assert not np.any(res.kspace[:, ~m] == 0)
    err = nmse(ref, res.image)
    zf = nmse(ref, rss(ifft2c(k * m)))
    assert err < bound and err < zf / 2
    assert res.n_patterns > 40  # many local patterns, one set of weights each


def test_regular_mask_has_few_patterns_and_is_accurate():
    x = shepp_logan(128)
    k, _ = simulate_multicoil(x, n_coils=8, seed=0)
    m = np.zeros((128, 128), bool)
    m[:, ::2] = True
    m[:, 52:76] = True
    res = grappa(k * m, m)
    # interior, the two k-space edges and the two sides of the calibration block
    assert res.n_patterns <= 6
    assert nmse(rss(ifft2c(k)), res.image) < 1e-3


def test_calibration_given_as_size_or_data_matches_detection():
    k, _ = simulate_multicoil(shepp_logan(64), n_coils=4, noise_std=0.005, seed=0)
    m = np.zeros((64, 64), bool)
    m[:, ::2] = True
    m[:, 26:37] = True  # columns 25 and 37 are not sampled: the block is 26..36
    rows, cols = grappa_calibration_block(m)
    assert (rows, cols) == (slice(0, 64), slice(26, 37))
    detected = grappa(k * m, m)
    assert detected.calib_shape == (64, 11)
    by_data = grappa(k * m, m, calib=k[:, rows, cols])
    np.testing.assert_allclose(by_data.kspace, detected.kspace, atol=1e-6)
    # a size names a block centred on DC: 10 columns are 27..36
    by_size = grappa(k * m, m, calib=(64, 10))
    assert by_size.calib_shape == (64, 10)
    np.testing.assert_allclose(by_size.kspace, grappa(k * m, m, calib=k[:, :, 27:37]).kspace,
                               atol=1e-6)
    # a smaller centred block also works, with weights fitted on less data
    small = grappa(k * m, m, calib=(32, 10))
    assert small.calib_shape == (32, 10) and small.unfilled == 0


def test_rectangular_calibration_block_of_a_2d_mask():
    k, _ = simulate_multicoil(shepp_logan(64), n_coils=8, seed=0)
    m = np.zeros((64, 64), bool)
    m[::2, ::2] = True
    m[24:40, 22:42] = True
    assert grappa_calibration_block(m) == (slice(24, 40), slice(22, 42))
    res = grappa(k * m, m, kernel=(3, 2))
    assert res.unfilled == 0 and res.calib_shape == (16, 20)
    assert nmse(rss(ifft2c(k)), res.image) < 0.01


def test_points_without_any_known_neighbour_are_counted_unfilled():
    k, _ = simulate_multicoil(shepp_logan(64), n_coils=4, seed=0)
    m = np.zeros((64, 64), bool)
    m[:, ::2] = True
    m[:, 26:38] = True
    m[5] = False  # a whole missing row: with a one-row kernel nothing reaches it
    res = grappa(k * m, m, kernel=(1, 2))
    assert res.unfilled == 64
    assert not res.kspace[:, 5].any()
    assert grappa(k * m, m, kernel=(3, 2)).unfilled == 0


def test_lam_zero_and_regularisation():
    k, _ = simulate_multicoil(shepp_logan(64), n_coils=4, noise_std=0.01, seed=0)
    m = np.zeros((64, 64), bool)
    m[:, ::2] = True
    m[:, 26:38] = True
    plain = grappa(k * m, m, lam=0.0)
    reg = grappa(k * m, m, lam=0.1)
    assert np.isfinite(plain.kspace).all()
    # heavier regularisation shrinks the filled samples
    assert np.linalg.norm(reg.kspace[:, ~m]) < np.linalg.norm(plain.kspace[:, ~m])


def test_mask_per_coil_is_accepted_when_identical():
    k, _ = simulate_multicoil(shepp_logan(32), n_coils=3, seed=0)
    m = np.zeros((32, 32), bool)
    m[:, ::2] = True
    m[:, 12:20] = True
    a = grappa(k * m, m)
    b = grappa(k * m, np.broadcast_to(m, k.shape))
    np.testing.assert_array_equal(a.kspace, b.kspace)
    bad = np.broadcast_to(m, k.shape).copy()
    bad[0, :, 1] = True
    with pytest.raises(ValueError, match="same for every coil"):
        grappa(k * m, bad)


def test_errors():
    k, _ = simulate_multicoil(shepp_logan(32), n_coils=4, seed=0)
    m = np.zeros((32, 32), bool)
    m[:, ::2] = True
    with pytest.raises(ValueError, match=r"no calibration region.*32x1"):
        grappa(k * m, m)  # only column 16 around DC: a 32 x 1 block, too narrow
    m0 = m.copy()
    m0[:, 16] = False
    with pytest.raises(ValueError, match=r"no calibration region.*0x0"):
        grappa(k * m0, m0)
    m[:, 12:20] = True
    with pytest.raises(ValueError, match="does not match"):
        grappa(k, m[:, :30])
    with pytest.raises(ValueError, match="multi-coil"):
        grappa(k[0], m)
    with pytest.raises(ValueError, match="multi-coil"):
        grappa(k[:1], m)
    with pytest.raises(ValueError, match="fully sampled"):
        grappa(k * m, m, calib=(32, 12))
    with pytest.raises(ValueError, match="smaller than the kernel"):
        grappa(k * m, m, calib=(32, 2))
    with pytest.raises(ValueError, match="coils"):
        grappa(k * m, m, calib=k[:2, :, 12:20])
    with pytest.raises(ValueError, match="kernel"):
        grappa(k * m, m, kernel=5)
    with pytest.raises(ValueError, match="lam"):
        grappa(k * m, m, lam=-1.0)


def test_amplification_flags_a_blown_up_result_and_not_a_good_one():
    from recon_core.coils import simulate_multicoil
    from recon_core.datasets import load_builtin
    from recon_core.io import prepare
    from recon_core.masks import make_mask
    from recon_core.phantoms import shepp_logan
    from recon_core.recon.grappa import AMPLIFIED

    k, _ = simulate_multicoil(shepp_logan(96), 8)
    m = np.zeros((96, 96), bool); m[:, ::2] = True; m[:, 36:60] = True
    assert grappa(k * m, m).amplification < 1.5
    gre = np.array(prepare(load_builtin("gre_phantom"), None, "crop").kspace)  # 2 coils
    mg = make_mask(gre.shape[-2:], 4, "random", seed=0)  # 13 calibration lines
    assert grappa(gre * mg, mg).amplification > AMPLIFIED
