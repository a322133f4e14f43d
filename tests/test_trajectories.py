"""Tests for recon_core.trajectories: geometry of each design, valid coordinates, acceleration,
acquisition order, the factory, the point-spread function and argument checks."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from recon_core.masks import achieved_acceleration, make_mask, point_spread_function
from recon_core.ops.fft import fft2c
from recon_core.ops.nonuniform import check_coord, nufft_forward
from recon_core.trajectories import (
    GOLDEN_ANGLE,
    TRAJECTORY_KINDS,
    Trajectory,
    _even_columns,
    cartesian,
    default_nyquist_interleaves,
    make_trajectory,
    radial,
    radial_angles,
    spiral,
    trajectory_psf,
)

SHAPES = [(63, 64), (64, 64), (65, 65), (48, 80), (7, 5)]  # odd, even, non-square, tiny


def _designs(shape):
    h, w = shape
    mask = np.zeros(shape, bool)
    mask[:, ::3] = True
    return {
        "radial": radial(shape, 17),
        "radial-golden": radial(shape, 33, golden=True),
        "radial-odd-S": radial(shape, 8, n_samples=2 * max(shape) + 1),
        "spiral": spiral(shape, 3),
        "spiral-vd": spiral(shape, 2, density=2.5),
        "cartesian": cartesian(shape),
        "cartesian-lines": cartesian(shape, mask),
        "cartesian-points": cartesian(shape, np.eye(h, w, dtype=bool) | (np.arange(w) == w // 2)),
        "factory-cartesian": make_trajectory("cartesian", shape, max(1, w // 3)),
    }


def _ellipse_radius(traj):
    """Radius of each point in the ellipse of semi-axes H/2, W/2, scaled to N/2."""
    h, w = traj.shape
    p = traj.points.astype(np.float64)
    return np.hypot(2 * p[:, 0] / h, 2 * p[:, 1] / w) * max(h, w) / 2


# ----------------------------------------------------------------------------- every design


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", list(_designs((8, 8))))
def test_every_point_is_inside_the_nufft_range(shape, name):
    traj = _designs(shape)[name]
    assert traj.coord.dtype == np.float32 and traj.coord.ndim == 3 and traj.coord.shape[-1] == 2
    check_coord(traj.points, shape)  # the NUFFT's own check: raises if any point is outside
    h, w = shape
    p = traj.points
    assert np.all(p[:, 0] >= -h / 2) and np.all(p[:, 0] < h / 2)
    assert np.all(p[:, 1] >= -w / 2) and np.all(p[:, 1] < w / 2)
    if traj.kind != "cartesian":  # radial and spiral designs stay in the ellipse
        assert _ellipse_radius(traj).max() <= max(h, w) / 2 * (1 + 1e-6)


@pytest.mark.parametrize("name", list(_designs((8, 8))))
def test_points_are_coord_in_acquisition_order(name):
    traj = _designs((16, 12))[name]
    r, s = traj.n_readouts, traj.n_samples
    assert traj.points.shape == (r * s, 2)
    assert np.shares_memory(traj.points, traj.coord)
    j = np.arange(r * s)
    np.testing.assert_array_equal(traj.points, traj.coord[j // s, j % s])
    order = traj.order()
    assert order.shape == (r * s,) and order.dtype == np.int64
    np.testing.assert_array_equal(order, j // s)
    k = r // 2  # the first k + 1 readouts of an animation
    np.testing.assert_array_equal(traj.points[order <= k], traj.points[: (k + 1) * s])


def test_trajectory_is_frozen_and_its_coord_read_only():
    traj = radial((16, 16), 4)
    with pytest.raises(dataclasses.FrozenInstanceError):
        traj.kind = "spiral"
    with pytest.raises(ValueError, match="read-only"):
        traj.coord[0, 0, 0] = 1.0
    source = np.zeros((1, 2, 2), np.float64)
    t = Trajectory(source, (4, 4), "radial", 7)
    source[0, 0, 0] = 1.5  # the trajectory keeps its own copy
    assert t.coord[0, 0, 0] == 0 and t.coord.dtype == np.float32 and t.shape == (4, 4)
    assert t.acceleration == 7.0


# ----------------------------------------------------------------------------- radial


def test_radial_defaults_and_acceleration():
    traj = radial((256, 256), 64)
    assert traj.kind == "radial" and traj.coord.shape == (64, 512, 2)
    assert traj.nyquist_readouts == math.ceil(math.pi / 2 * 256) == 403
    assert traj.acceleration == pytest.approx(403 / 64) and round(traj.acceleration, 1) == 6.3
    assert radial((256, 256), 403).acceleration == 1.0
    assert radial((100, 300), 10).nyquist_readouts == math.ceil(math.pi / 2 * 300)


@pytest.mark.parametrize("n_samples", [512, 511])
def test_radial_samples_lie_on_spokes_at_the_documented_positions(n_samples):
    n, n_spokes = 256, 12
    traj = radial((n, n), n_spokes, n_samples=n_samples)
    theta = np.pi * np.arange(n_spokes) / n_spokes
    kappa = (np.arange(n_samples) - n_samples / 2) * (n / n_samples)  # cycles/FOV along spoke
    expected = np.stack([np.sin(theta)[:, None] * kappa, np.cos(theta)[:, None] * kappa], -1)
    np.testing.assert_allclose(traj.coord, expected, atol=1e-4)
    assert np.min(kappa) == -n / 2 and np.max(kappa) < n / 2
    if n_samples % 2 == 0:  # the centre is sampled once per spoke
        assert np.all(np.abs(traj.coord[:, n_samples // 2]).max(axis=-1) < 1e-6)


def test_radial_non_square_spokes_reach_the_ellipse():
    traj = radial((64, 128), 8, n_samples=64)
    ends = traj.coord[:, 0].astype(np.float64)  # kappa = -1/2
    rho2 = (2 * ends[:, 0] / 64) ** 2 + (2 * ends[:, 1] / 128) ** 2
    np.testing.assert_allclose(rho2, 1, rtol=1e-6)
    assert float(traj.coord[0, 0, 1]) == -64.0 and float(traj.coord[4, 0, 0]) == -32.0


def test_radial_uniform_angles():
    np.testing.assert_allclose(radial_angles(6), np.pi * np.arange(6) / 6)
    traj = radial((32, 32), 6)
    last = traj.coord[:, -1].astype(np.float64)  # on the positive side of each spoke
    np.testing.assert_allclose(np.mod(np.arctan2(last[:, 0], last[:, 1]), np.pi),
                               radial_angles(6), atol=1e-6)


def test_golden_angle_value():
    phi = (1 + math.sqrt(5)) / 2
    assert GOLDEN_ANGLE == pytest.approx(math.pi / phi, rel=1e-15)
    assert math.degrees(GOLDEN_ANGLE) == pytest.approx(111.246, abs=5e-4)


def test_golden_angle_spokes_are_deterministic_and_111_246_degrees_apart():
    a = radial((128, 128), 50, golden=True)
    b = radial((128, 128), 50, golden=True)
    np.testing.assert_array_equal(a.coord, b.coord)
    theta = radial_angles(50, golden=True)
    assert np.all((theta >= 0) & (theta < np.pi))
    step = np.degrees(np.mod(np.diff(theta), np.pi))
    np.testing.assert_allclose(step, 111.246, atol=1e-3)
    # the coordinates follow those angles: spoke direction from its positive end
    last = a.coord[:, -1].astype(np.float64)
    got = np.mod(np.arctan2(last[:, 0], last[:, 1]), np.pi)
    diff = np.angle(np.exp(2j * (got - theta))) / 2  # compare modulo pi
    np.testing.assert_allclose(diff, 0, atol=1e-5)
    # the first spokes of a longer acquisition are the same spokes
    np.testing.assert_array_equal(radial((128, 128), 80, golden=True).coord[:50], a.coord)


def test_golden_angle_covers_the_half_circle_evenly():
    theta = np.sort(radial_angles(89, golden=True))  # a Fibonacci number: three gap sizes at most
    gaps = np.diff(np.concatenate([theta, theta[:1] + np.pi]))
    assert gaps.max() / (np.pi / 89) < 1.7 and gaps.min() > 0


# ----------------------------------------------------------------------------- spiral


def _crossing_radii(traj):
    """Radii (cycles/FOV, ellipse scaled to N/2) where the interleaves cross the +kx axis."""
    out = []
    for arm in traj.coord.astype(np.float64):
        h, w = traj.shape
        y, x = 2 * arm[:, 0] / h, 2 * arm[:, 1] / w
        phase = np.unwrap(np.arctan2(y, x))
        turn = np.floor(phase / (2 * np.pi))
        idx = np.flatnonzero(np.diff(turn) > 0)
        for i in idx:
            target = 2 * np.pi * turn[i + 1]
            f = (target - phase[i]) / (phase[i + 1] - phase[i])
            out.append(np.hypot(y[i] + f * (y[i + 1] - y[i]), x[i] + f * (x[i + 1] - x[i])))
    return np.sort(np.array(out)) * max(traj.shape) / 2


@pytest.mark.parametrize("n_interleaves", [16, 4, 1])
def test_spiral_gap_at_the_edge_is_the_acceleration(n_interleaves):
    traj = spiral((256, 256), n_interleaves)
    assert traj.nyquist_readouts == default_nyquist_interleaves((256, 256)) == 16
    assert traj.acceleration == 16 / n_interleaves
    gaps = np.diff(_crossing_radii(traj))
    # Archimedean: every gap between neighbouring arms is nyquist / n cycles/FOV
    np.testing.assert_allclose(gaps, traj.acceleration, rtol=0.01)


def test_variable_density_spiral_is_denser_at_the_centre():
    traj = spiral((256, 256), 8, density=2.0)
    assert traj.acceleration == 2.0
    radii = _crossing_radii(traj)
    gaps = np.diff(radii)
    outer = gaps[radii[1:] > 0.95 * 128]
    assert outer.size and np.allclose(outer, 2.0, rtol=0.06)  # edge: acceleration 2
    inner = gaps[radii[1:] < 0.25 * 128]
    assert inner.size and inner.max() < 1.0  # centre: better than Nyquist
    # the radial gap at radius rho (of the edge) is accel * rho ** ((d - 1) / d)
    mid = 0.5 * (radii[1:] + radii[:-1])
    np.testing.assert_allclose(gaps[mid > 20], 2.0 * (mid[mid > 20] / 128) ** 0.5, rtol=0.05)


@pytest.mark.parametrize("density", [1.0, 2.0])
def test_spiral_default_samples_are_half_a_cycle_apart_at_most(density):
    traj = spiral((128, 128), 4, density=density)
    step = np.linalg.norm(np.diff(traj.coord.astype(np.float64), axis=1), axis=-1)
    assert step.max() <= 0.5 + 1e-3
    assert step[:, -1].max() > 0.45  # and not much closer at the edge than needed
    assert _ellipse_radius(traj).max() > 0.99 * 64  # reaching the edge


def test_spiral_nyquist_interleaves_sets_the_turns_and_the_acceleration():
    traj = spiral((64, 64), 6, nyquist_interleaves=3)
    assert traj.nyquist_readouts == 3 and traj.acceleration == 0.5
    np.testing.assert_allclose(np.diff(_crossing_radii(traj)), 0.5, rtol=0.01)
    assert default_nyquist_interleaves((8, 8)) == 1
    assert default_nyquist_interleaves((512, 300)) == 32


def test_spiral_interleaves_are_rotations_of_one_arm():
    traj = spiral((32, 32), 5, n_samples=200)
    z = traj.coord[..., 1].astype(np.float64) + 1j * traj.coord[..., 0]
    for m in range(5):
        np.testing.assert_allclose(z[m], z[0] * np.exp(2j * np.pi * m / 5), atol=1e-4)
    assert np.all(z[:, 0] == 0)  # spiral-out from the centre


# ----------------------------------------------------------------------------- Cartesian


@pytest.mark.parametrize("shape", [(6, 5), (7, 8)])
def test_cartesian_full_grid_is_fft2c(shape, rng):
    traj = cartesian(shape)
    h, w = shape
    assert traj.coord.shape == (w, h, 2) and traj.nyquist_readouts == w
    assert traj.acceleration == 1.0
    u, v = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    np.testing.assert_array_equal(traj.coord[..., 0], (u - h // 2).T)  # a readout is a column
    np.testing.assert_array_equal(traj.coord[..., 1], (v - w // 2).T)
    x = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    np.testing.assert_allclose(nufft_forward(x, traj.coord).reshape(w, h), fft2c(x).T, atol=1e-5)


@pytest.mark.parametrize("kind", ["random", "equispaced", "poisson", "gaussian"])
def test_cartesian_mask_samples_are_the_mask(kind, rng):
    shape = (32, 48)
    mask = make_mask(shape, 4, kind=kind, seed=3)
    traj = cartesian(shape, mask)
    assert traj.acceleration == pytest.approx(achieved_acceleration(mask))
    h, w = shape
    idx = traj.points.astype(np.int64) + np.array([h // 2, w // 2])
    rebuilt = np.zeros(shape, bool)
    rebuilt[idx[:, 0], idx[:, 1]] = True
    np.testing.assert_array_equal(rebuilt, mask)
    assert len(np.unique(idx, axis=0)) == idx.shape[0]  # each grid point once
    if kind in ("random", "equispaced"):  # whole columns: a readout per column
        assert traj.n_samples == h and traj.nyquist_readouts == w
        assert np.all(np.diff(traj.coord[:, 0, 1]) > 0)  # left to right
    else:  # a readout per point
        assert traj.n_samples == 1 and traj.nyquist_readouts == h * w
    x = rng.standard_normal(shape)
    np.testing.assert_allclose(nufft_forward(x, traj.points), fft2c(x)[idx[:, 0], idx[:, 1]],
                               atol=1e-5)


def test_even_columns_are_distinct_spread_and_hold_the_centre():
    for w in range(2, 41):
        for n in range(1, w + 1):
            cols = _even_columns(w, n)
            assert cols.size == n and np.all(np.diff(cols) >= 1), (w, n)
            assert cols.min() >= 0 and cols.max() < w and w // 2 in cols, (w, n)
            if n > 1:
                assert np.ptp(np.diff(cols)) <= 1, (w, n)
        np.testing.assert_array_equal(_even_columns(w, w), np.arange(w))


# ----------------------------------------------------------------------------- factory


def test_factory_dispatches_each_kind():
    assert TRAJECTORY_KINDS == ("radial", "spiral", "cartesian")
    np.testing.assert_array_equal(make_trajectory("radial", (32, 32), 9, golden=True).coord,
                                  radial((32, 32), 9, golden=True).coord)
    np.testing.assert_array_equal(make_trajectory("Spiral", (32, 32), 3, density=1.5).coord,
                                  spiral((32, 32), 3, density=1.5).coord)
    lines = make_trajectory("cartesian", (32, 40), 10, n_samples=32)
    assert lines.kind == "cartesian" and lines.coord.shape == (10, 32, 2)
    assert lines.acceleration == 4.0
    assert make_trajectory("cartesian", (32, 40), 40).coord.shape == cartesian((32, 40)).coord.shape


def test_factory_errors():
    with pytest.raises(ValueError, match=r"unknown trajectory kind 'rosette'; valid kinds are "
                                         r"radial, spiral, cartesian"):
        make_trajectory("rosette", (32, 32), 4)
    with pytest.raises(ValueError, match="unknown trajectory kind 3"):
        make_trajectory(3, (32, 32), 4)
    with pytest.raises(ValueError, match="at most W = 40 for Cartesian lines, got 41"):
        make_trajectory("cartesian", (32, 40), 41)
    with pytest.raises(ValueError, match="H = 32 samples each, got n_samples=64"):
        make_trajectory("cartesian", (32, 40), 4, n_samples=64)


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize("call, message", [
    (lambda: radial((64, 64), 0), "n_spokes must be >= 1, got 0"),
    (lambda: radial((64, 64), 2.5), "n_spokes must be an integer, got 2.5"),
    (lambda: radial((64, 64), 4, n_samples=1), "n_samples must be >= 2, got 1"),
    (lambda: radial((64,), 4), r"shape must be \(H, W\), got \(64,\)"),
    (lambda: radial((1, 64), 4), "shape H must be >= 2, got 1"),
    (lambda: spiral((64, 64), 0), "n_interleaves must be >= 1, got 0"),
    (lambda: spiral((64, 64), 2, density=0.5), "density must be >= 1 .*got 0.5"),
    (lambda: spiral((64, 64), 2, nyquist_interleaves=0), "nyquist_interleaves must be >= 1"),
    (lambda: cartesian((8, 8), np.ones((2, 8, 8), bool)),
     r"mask must be 2-D, shape \(H, W\) = \(8, 8\), got shape \(2, 8, 8\)"),
    (lambda: cartesian((8, 8), np.ones(8, bool)), r"mask must be 2-D.*got shape \(8,\)"),
    (lambda: cartesian((8, 8), np.ones((8, 6), bool)), r"mask \(8, 6\) does not match"),
    (lambda: cartesian((8, 8), np.zeros((8, 8), bool)), r"mask of shape \(8, 8\) has no samples"),
    (lambda: cartesian((8, 8), np.full((8, 8), 2)), "must be boolean or contain only 0 and 1"),
    (lambda: Trajectory(np.zeros((4, 2)), (8, 8), "radial", 1), r"\(R, S, 2\).*got \(4, 2\)"),
    (lambda: Trajectory(np.full((1, 1, 2), 4.0), (8, 8), "radial", 1),
     r"coordinate \(4, 4\) of sample 0 is outside the k-space of a \(8, 8\) image"),
    (lambda: Trajectory(np.zeros((1, 1, 2)), (8, 8), "rosette", 1), "unknown trajectory kind"),
    (lambda: Trajectory(np.zeros((1, 1, 2)), (8, 8), "radial", 0), "nyquist_readouts must be >= 1"),
])
def test_argument_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ----------------------------------------------------------------------------- PSF


def test_psf_of_cartesian_lines_is_the_mask_psf():
    mask = np.zeros((32, 24), bool)
    mask[:, ::3] = True
    mask[:, 10:14] = True
    psf = trajectory_psf(cartesian(mask.shape, mask))
    assert psf.shape == (32, 24) and psf.dtype == np.float32
    np.testing.assert_allclose(psf, point_spread_function(mask), atol=1e-5)


def test_psf_of_radial_peaks_at_the_centre():
    traj = radial((64, 64), 32)
    psf = trajectory_psf(traj)
    assert psf.shape == (64, 64) and psf.max() == 1.0
    assert np.unravel_index(np.argmax(psf), psf.shape) == (32, 32)
    assert psf.min() >= 0
    # a ramp on the samples narrows the main lobe (the unweighted PSF is a 1/r blur)
    ramp = np.abs(traj.coord.astype(np.float64)).max(axis=-1) + 0.25
    sharp = trajectory_psf(traj, ramp)
    assert sharp[32, 34] < psf[32, 34]
    assert trajectory_psf(traj, ramp.reshape(-1)).shape == (64, 64)


def test_psf_errors():
    traj = radial((16, 16), 4)
    with pytest.raises(ValueError, match=r"dcf of shape \(3,\) does not match the trajectory's "
                                         r"4 x 32 samples"):
        trajectory_psf(traj, np.ones(3))
    with pytest.raises(ValueError, match="non-negative and not all zero"):
        trajectory_psf(traj, -np.ones((4, 32)))
    with pytest.raises(ValueError, match="non-negative and not all zero"):
        trajectory_psf(traj, np.zeros(128))
