"""g-factor maps: the analytic SENSE formula and the pseudo multiple replica method.

Figures measured when these tests were written (8 simulated coils, maps of
:func:`recon_core.coils.simulate_sens_maps`, regular undersampling along W): mean g over the
field of view 1.061 (R = 2), 1.749 (R = 3), 11.6 (R = 4), the same at 96 x 96 and 240 x 240;
maximum 1.16, 2.93, 41. Pseudo-replica estimate (32 replicas, 64 x 64) over the analytic map:
median ratio 1.001 at R = 2 and 1.003 at R = 4 with the direct SENSE unfolding; with CG-SENSE
(``reconstruct_cg``, 60 to 100 iterations) 0.998 at R = 3 (48 x 48) and 0.992 at R = 4
(64 x 64). 10th-90th percentiles of the ratio 0.84-1.17: the per-pixel scatter of a standard
deviation from 32 samples (about 1 / sqrt(2 * 32) for each of the two).
"""

from __future__ import annotations

import numpy as np
import pytest

from recon_core.coils import estimate_sens_maps, simulate_multicoil, simulate_sens_maps
from recon_core.gfactor import pseudo_replica_gfactor, sense_gfactor, sense_unfold
from recon_core.phantoms import shepp_logan


def _regular(n: int, accel: int, offset: int = 0, axis: int = -1) -> np.ndarray:
    m = np.zeros((n, n), bool)
    m[:, offset::accel] = True
    return m if axis == -1 else m.T


@pytest.fixture(scope="module")
def phantom_maps():
    """Shepp-Logan 96 x 96, 8 coils, maps estimated from the data (zero in the background)."""
    x = shepp_logan(96)
    k, _ = simulate_multicoil(x, n_coils=8)
    sens = estimate_sens_maps(k, calib_size=24, threshold=0.1)
    return x, k, sens


# ---------------------------------------------------------------------------- analytic


def test_r1_is_one_in_the_support_and_nan_outside(phantom_maps):
    _, _, sens = phantom_maps
    g = sense_gfactor(sens, 1)
    support = np.sum(np.abs(sens) ** 2, axis=0) > 0
    assert g.shape == (96, 96) and g.dtype == np.float32
    assert 0.2 < support.mean() < 0.9
    np.testing.assert_allclose(g[support], 1.0, atol=1e-5)
    assert np.isnan(g[~support]).all()


def test_g_is_at_least_one_and_grows_with_r():
    sens = simulate_sens_maps((96, 96), n_coils=8)
    means = []
    for r in (2, 3, 4):
        g = sense_gfactor(sens, r)
        assert np.isfinite(g).all()
        assert g.min() >= 1 - 1e-5
        means.append(float(g.mean()))
    assert 1.03 < means[0] < 1.1  # measured 1.061
    assert 1.5 < means[1] < 2.0  # measured 1.749
    assert means[2] > 6  # measured 11.6
    assert means[0] < means[1] < means[2]


def test_g_with_support_is_at_least_one(phantom_maps):
    _, _, sens = phantom_maps
    support = np.sum(np.abs(sens) ** 2, axis=0) > 0
    prev = 1.0
    for r in (2, 3, 4):
        g = sense_gfactor(sens, r)
        assert np.all(g[support] >= 1 - 1e-5) and np.isnan(g[~support]).all()
        mean = float(np.mean(g[support]))
        assert mean > prev
        prev = mean


def test_axis_minus_two_is_the_transpose():
    sens = simulate_sens_maps((48, 48), n_coils=6)
    g_w = sense_gfactor(sens, 3, axis=-1)
    g_h = sense_gfactor(np.swapaxes(sens, -1, -2), 3, axis=-2)
    np.testing.assert_allclose(g_h, g_w.T, rtol=1e-5)


def test_noise_covariance_is_whitening():
    sens = simulate_sens_maps((32, 32), n_coils=4)
    rng = np.random.default_rng(3)
    a = rng.standard_normal((4, 4)) + 1j * rng.standard_normal((4, 4))
    psi = a @ a.conj().T + 4 * np.eye(4)
    low_inv = np.linalg.inv(np.linalg.cholesky(psi))
    whitened = np.einsum("dc,chw->dhw", low_inv, sens)
    np.testing.assert_allclose(sense_gfactor(sens, 2, noise_cov=psi), sense_gfactor(whitened, 2),
                               rtol=1e-4)
    # a scaled identity changes nothing; a correlated covariance does
    np.testing.assert_allclose(sense_gfactor(sens, 2, noise_cov=3 * np.eye(4)),
                               sense_gfactor(sens, 2), rtol=1e-5)
    assert not np.allclose(sense_gfactor(sens, 2, noise_cov=psi), sense_gfactor(sens, 2))


def test_regularisation_lowers_g():
    sens = simulate_sens_maps((48, 48), n_coils=8)
    g0 = sense_gfactor(sens, 4)
    g_reg = sense_gfactor(sens, 4, reg=0.1)
    assert np.all(g_reg <= g0 + 1e-5)
    assert g_reg.mean() < g0.mean() / 2


def test_more_aliased_pixels_than_coils_is_infinite():
    sens = simulate_sens_maps((24, 24), n_coils=2)
    g = sense_gfactor(sens, 3)
    assert np.isinf(g).all()
    assert np.isfinite(sense_gfactor(sens, 3, reg=0.01)).all()


def test_analytic_errors():
    sens = simulate_sens_maps((32, 32), n_coils=4)
    with pytest.raises(ValueError, match="multiple of accel 3"):
        sense_gfactor(sens, 3)
    with pytest.raises(ValueError, match="axis"):
        sense_gfactor(sens, 2, axis=0)
    with pytest.raises(ValueError, match="accel"):
        sense_gfactor(sens, 1.5)
    with pytest.raises(ValueError, match="accel"):
        sense_gfactor(sens, 0)
    with pytest.raises(ValueError, match=r"\(C, H, W\)"):
        sense_gfactor(sens[None], 2)
    with pytest.raises(ValueError, match=r"\(4, 4\)"):
        sense_gfactor(sens, 2, noise_cov=np.eye(3))
    with pytest.raises(ValueError, match="positive definite"):
        sense_gfactor(sens, 2, noise_cov=-np.eye(4))
    with pytest.raises(ValueError, match="Hermitian"):
        sense_gfactor(sens, 2, noise_cov=np.eye(4) + np.triu(np.ones((4, 4)), 1))
    with pytest.raises(ValueError, match="reg"):
        sense_gfactor(sens, 2, reg=-1.0)


# ---------------------------------------------------------------------------- SENSE unfold


@pytest.mark.parametrize("accel, offset, axis", [(1, 0, -1), (2, 1, -1), (3, 2, -1), (4, 0, -1),
                                                 (4, 3, -2)])
def test_sense_unfold_is_exact_without_noise(accel, offset, axis):
    x = shepp_logan(48).astype(np.complex64) * np.exp(0.3j)
    k, sens = simulate_multicoil(x, n_coils=8)
    m = _regular(48, accel, offset, axis)
    np.testing.assert_allclose(sense_unfold(k * m, m, sens), x, atol=2e-4)


def test_sense_unfold_leaves_background_at_zero(phantom_maps):
    x, k, sens = phantom_maps
    m = _regular(96, 2)
    img = sense_unfold(k, m, sens)
    support = np.sum(np.abs(sens) ** 2, axis=0) > 0
    assert not img[~support].any()
    assert np.abs(np.abs(img[support]) - x[support]).max() < 0.05


def test_sense_unfold_rejects_irregular_masks():
    k, sens = simulate_multicoil(np.ones((16, 16)), n_coils=4)
    m = _regular(16, 2)
    m[:, 7] = True  # an extra line
    with pytest.raises(ValueError, match="regular"):
        sense_unfold(k, m, sens)
    m = _regular(16, 2)
    m[3, 1] = True  # not a column mask
    with pytest.raises(ValueError, match="column"):
        sense_unfold(k, m, sens)
    m = np.zeros((16, 16), bool)
    m[:, [0, 1, 5, 9]] = True  # 4 of 16 lines, unequally spaced
    with pytest.raises(ValueError, match="equally spaced"):
        sense_unfold(k, m, sens)


# ---------------------------------------------------------------------------- pseudo-replica


@pytest.mark.parametrize("accel", [2, 4])
def test_pseudo_replica_matches_analytic_with_sense_unfold(accel):
    k, sens = simulate_multicoil(shepp_logan(64), n_coils=8)
    m = _regular(64, accel, offset=1)
    g_pr = pseudo_replica_gfactor(sense_unfold, k, m, sens, n_replicas=32, seed=0)
    ratio = g_pr / sense_gfactor(sens, accel)
    assert abs(np.median(ratio) - 1) < 0.05  # measured 1.001 (R=2), 1.003 (R=4)
    lo, hi = np.percentile(ratio, [10, 90])
    assert 0.75 < lo and hi < 1.3  # measured 0.85-1.17


def test_pseudo_replica_matches_analytic_with_cg_sense():
    from recon_core.recon.least_squares import reconstruct_cg

    k, sens = simulate_multicoil(shepp_logan(48), n_coils=8)
    m = _regular(48, 3, offset=1)

    def cg_sense(data, mask, s):
        return reconstruct_cg(data, mask, s, max_iter=60, tol=1e-7).image

    g_pr = pseudo_replica_gfactor(cg_sense, k, m, sens, n_replicas=32, seed=0)
    ratio = g_pr / sense_gfactor(sens, 3)
    assert abs(np.median(ratio) - 1) < 0.05  # measured 0.998
    lo, hi = np.percentile(ratio, [10, 90])
    assert 0.75 < lo and hi < 1.3  # measured 0.86-1.17


def test_pseudo_replica_support_and_full_mask(phantom_maps):
    _, k, sens = phantom_maps
    support = np.sum(np.abs(sens) ** 2, axis=0) > 0
    full = np.ones((96, 96), bool)
    g = pseudo_replica_gfactor(sense_unfold, k, full, sens, n_replicas=4)
    # the same reconstruction of the same draws: exactly 1 in the support, NaN outside
    np.testing.assert_allclose(g[support], 1.0, rtol=1e-6)
    assert np.isnan(g[~support]).all()
    g2 = pseudo_replica_gfactor(sense_unfold, k, _regular(96, 2), sens, n_replicas=16)
    assert np.isnan(g2[~support]).all() and np.isfinite(g2[support]).all()


def test_pseudo_replica_is_deterministic_for_a_seed():
    k, sens = simulate_multicoil(shepp_logan(32), n_coils=4)
    m = _regular(32, 2)
    a = pseudo_replica_gfactor(sense_unfold, k, m, sens, n_replicas=8, seed=5)
    b = pseudo_replica_gfactor(sense_unfold, k, m, sens, n_replicas=8, seed=5)
    c = pseudo_replica_gfactor(sense_unfold, k, m, sens, n_replicas=8, seed=6)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    d = pseudo_replica_gfactor(sense_unfold, k, m, sens, n_replicas=8,
                               seed=np.random.default_rng(5))
    np.testing.assert_array_equal(a, d)


def test_pseudo_replica_noise_level_cancels_for_a_linear_recon():
    k, sens = simulate_multicoil(shepp_logan(32), n_coils=4)
    m = _regular(32, 2)
    a = pseudo_replica_gfactor(sense_unfold, k, m, sens, n_replicas=8, noise_std=1e-3)
    b = pseudo_replica_gfactor(sense_unfold, k, m, sens, n_replicas=8, noise_std=1.0)
    np.testing.assert_allclose(a, b, rtol=2e-3)


def test_pseudo_replica_errors():
    k, sens = simulate_multicoil(np.ones((16, 16)), n_coils=4)
    m = _regular(16, 2)
    with pytest.raises(ValueError, match="callable"):
        pseudo_replica_gfactor("cg", k, m, sens)
    with pytest.raises(ValueError, match="n_replicas"):
        pseudo_replica_gfactor(sense_unfold, k, m, sens, n_replicas=1)
    with pytest.raises(ValueError, match="noise_std"):
        pseudo_replica_gfactor(sense_unfold, k, m, sens, noise_std=0.0)
    with pytest.raises(ValueError, match="does not match"):
        pseudo_replica_gfactor(sense_unfold, k, m, sens[:3])
    with pytest.raises(ValueError, match="no samples"):
        pseudo_replica_gfactor(sense_unfold, k, np.zeros((16, 16), bool), sens)
    with pytest.raises(ValueError, match="expected an image"):
        pseudo_replica_gfactor(lambda kk, mm, ss: kk, k, m, sens, n_replicas=2)
