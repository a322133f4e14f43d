"""Coil maps from non-Cartesian samples (recon_core.traj_maps).

The data are the analytic k-space of the Shepp–Logan ellipses seen by 8 band-limited coils
(recon_core.ellipses: no inverse crime), so the true maps are known; the estimator sees only
the samples. Figures measured when the thresholds were set are in the comments.
"""

from __future__ import annotations

import numpy as np
import pytest

from recon_core.ellipses import analytic_phantom_data
from recon_core.ops.fftc import fft2c
from recon_core.ops.nonuniform import nufft_forward
from recon_core.recon import reconstruct_cg, reconstruct_tv
from recon_core.trajectories import cartesian, make_trajectory
from recon_core.traj_maps import (DEFAULT_CALIB, estimate_sens_maps_noncartesian,
                                  gridded_coil_kspace)

SHAPE = (128, 128)
CG_ITERS = 20


@pytest.fixture(scope="module")
def radial8():
    """48 golden-angle spokes (about 4.2x below Nyquist's 201) of 8 coils at 40 dB."""
    traj = make_trajectory("radial", SHAPE, 48, golden=True)
    d = analytic_phantom_data(traj.points, SHAPE, "shepp_logan", n_coils=8, snr_db=40, seed=0)
    return traj, d


@pytest.fixture(scope="module")
def estimated(radial8):
    traj, d = radial8
    return {kind: estimate_sens_maps_noncartesian(d.kspace, traj, kind)
            for kind in ("espirit", "ratio")}


@pytest.fixture(scope="module")
def cg_true(radial8):
    traj, d = radial8
    return reconstruct_cg(d.kspace, traj, d.sens, max_iter=CG_ITERS, reference=d.image)


def test_gridded_coil_kspace_of_a_full_cartesian_trajectory_is_the_coils_kspace(rng):
    traj = cartesian((24, 20))  # every grid point: the NUFFT is fft2c
    coils = rng.standard_normal((3, 24, 20)) + 1j * rng.standard_normal((3, 24, 20))
    y = nufft_forward(coils, traj.points)
    np.testing.assert_allclose(gridded_coil_kspace(y, traj), fft2c(coils), atol=1e-4)
    np.testing.assert_allclose(gridded_coil_kspace(y[0], traj, dcf=np.ones(y.shape[1])),
                               fft2c(coils[0]), atol=1e-4)


# Measured (48 spokes, 128², 8 coils, 40 dB, 20 CG iterations): the true maps give 31.42 dB,
# the estimated ESPIRiT and ratio maps 32.33 dB each (zero outside the object, they also
# drop the noise there); TV (λ = 1e-3, 40 iterations): true 34.73 dB, ESPIRiT 34.58 dB.
MAX_LOSS_DB = 0.5


@pytest.mark.parametrize("kind", ["espirit", "ratio"])
def test_estimated_maps_give_a_cg_sense_image_close_to_the_true_maps_one(
        radial8, estimated, cg_true, kind):
    traj, d = radial8
    res = estimated[kind]
    assert res.kind == kind and res.calib_shape == (DEFAULT_CALIB, DEFAULT_CALIB)
    assert res.maps.shape == (8, *SHAPE) and res.maps.dtype == np.complex64
    est = reconstruct_cg(d.kspace, traj, res.maps, max_iter=CG_ITERS, reference=d.image)
    loss = cg_true.metrics["psnr"] - est.metrics["psnr"]
    assert loss < MAX_LOSS_DB, (kind, cg_true.metrics, est.metrics)
    assert est.metrics["psnr"] > 30, est.metrics


@pytest.mark.slow
def test_estimated_espirit_maps_give_a_tv_image_close_to_the_true_maps_one(radial8, estimated):
    traj, d = radial8
    true = reconstruct_tv(d.kspace, traj, lam=1e-3, sens=d.sens, max_iter=40, reference=d.image)
    est = reconstruct_tv(d.kspace, traj, lam=1e-3, sens=estimated["espirit"].maps, max_iter=40,
                         reference=d.image)
    assert true.metrics["psnr"] - est.metrics["psnr"] < MAX_LOSS_DB, (true.metrics, est.metrics)


@pytest.mark.parametrize("kind", ["espirit", "ratio"])
def test_maps_have_unit_rss_on_the_object(radial8, estimated, kind):
    _, d = radial8
    res = estimated[kind]
    power = np.sum(np.abs(res.maps) ** 2, axis=0)
    np.testing.assert_allclose(power[res.support], 1.0, atol=1e-4)
    assert np.all(power[~res.support] == 0)
    obj = d.image > 0.01
    assert np.mean(res.support[obj]) > 0.99, np.mean(res.support[obj])


def test_spiral_maps_give_a_cg_sense_image_close_to_the_true_maps_one():
    # measured (8 variable-density interleaves, 96², noiseless): true 30.40 dB, ESPIRiT 30.97 dB
    shape = (96, 96)
    traj = make_trajectory("spiral", shape, 8, density=2.0)
    d = analytic_phantom_data(traj.points, shape, "shepp_logan", n_coils=8, seed=0)
    res = estimate_sens_maps_noncartesian(d.kspace, traj)
    assert res.kind == "espirit"
    true = reconstruct_cg(d.kspace, traj, d.sens, max_iter=CG_ITERS, reference=d.image)
    est = reconstruct_cg(d.kspace, traj, res.maps, max_iter=CG_ITERS, reference=d.image)
    assert true.metrics["psnr"] - est.metrics["psnr"] < MAX_LOSS_DB, (true.metrics, est.metrics)


def test_espirit_falls_back_to_ratio_maps_on_a_tiny_centre(radial8):
    traj, d = radial8
    res = estimate_sens_maps_noncartesian(d.kspace, traj, calib=6)
    assert res.kind == "ratio" and res.calib_shape == (6, 6)
    assert any("ESPIRiT could not calibrate" in w for w in res.warnings), res.warnings


def test_calibration_block_is_clipped_to_the_image():
    traj = make_trajectory("radial", (20, 48), 32)
    d = analytic_phantom_data(traj.points, traj.shape, n_coils=2)
    res = estimate_sens_maps_noncartesian(d.kspace, traj, "ratio", calib=(32, 8))
    assert res.calib_shape == (20, 8) and res.maps.shape == (2, 20, 48)


def test_inputs_are_not_modified(radial8):
    traj, d = radial8
    before = d.kspace.copy()
    estimate_sens_maps_noncartesian(d.kspace, traj, "ratio")
    np.testing.assert_array_equal(d.kspace, before)


def test_bad_input_is_refused_with_its_values(radial8):
    traj, d = radial8
    y = d.kspace
    with pytest.raises(ValueError, match=r"need multi-coil samples \(C, K\) with C >= 2, got "
                                         r"shape \(12288,\)"):
        estimate_sens_maps_noncartesian(y[0], traj)
    with pytest.raises(ValueError, match=r"got shape \(1, 12288\): single-coil data need no maps"):
        estimate_sens_maps_noncartesian(y[:1], traj)
    with pytest.raises(ValueError,
                       match=r"samples \(8, 12287\) do not match the trajectory's 12288 points"):
        estimate_sens_maps_noncartesian(y[:, :-1], traj)
    with pytest.raises(ValueError, match=r"samples must have shape \(C, K\), got \(2, 4, 12288\)"):
        estimate_sens_maps_noncartesian(y[:8].reshape(2, 4, -1), traj)
    with pytest.raises(ValueError, match=r"kind must be one of espirit, ratio, got 'sense'"):
        estimate_sens_maps_noncartesian(y, traj, "sense")
    with pytest.raises(ValueError, match=r"calib must be >= 6, got 4"):
        estimate_sens_maps_noncartesian(y, traj, calib=4)
    with pytest.raises(ValueError, match=r"calib must be an int or a pair"):
        estimate_sens_maps_noncartesian(y, traj, calib=(8, 8, 8))
    with pytest.raises(ValueError, match=r"dcf has 3 weights for 12288 samples"):
        estimate_sens_maps_noncartesian(y, traj, dcf=np.ones(3))
    with pytest.raises(ValueError, match=r"traj must be a Trajectory"):
        estimate_sens_maps_noncartesian(y, np.zeros((12288, 2)))
    with pytest.raises(ValueError, match=r"samples contains .* NaN"):
        estimate_sens_maps_noncartesian(np.full_like(y, np.nan), traj)


def test_maps_from_gridded_kspace_equal_the_estimate_from_samples():
    """The page grids once and keeps it: the maps from that k-space are the samples' maps."""
    from recon_core.trajectories import radial
    from recon_core.traj_maps import gridded_coil_kspace, sens_maps_from_gridded

    t = radial((48, 48), 48)
    d = analytic_phantom_data(t.points, t.shape, n_coils=4)
    direct = estimate_sens_maps_noncartesian(d.kspace, t, "ratio")
    kept = sens_maps_from_gridded(gridded_coil_kspace(d.kspace, t), "ratio")
    np.testing.assert_array_equal(kept.maps, direct.maps)
    assert kept.calib_shape == direct.calib_shape == (24, 24)
    with pytest.raises(ValueError, match="C >= 2"):
        sens_maps_from_gridded(gridded_coil_kspace(d.kspace[:1], t))
    with pytest.raises(ValueError, match="kind must be one of"):
        sens_maps_from_gridded(gridded_coil_kspace(d.kspace, t), "walsh")
