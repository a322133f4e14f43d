"""Tests for recon_core.masks.sampling: sampling rates, centre blocks, seeding, argument checks."""

from __future__ import annotations

import time

import numpy as np
import pytest

from recon_core.masks import (
    MASK_KINDS,
    MIN_CALIB_2D,
    achieved_acceleration,
    center_lines,
    center_region,
    centred_calibration_block,
    default_center_fraction,
    make_mask,
    poisson_disc,
)

KINDS_1D = ("random", "equispaced")
KINDS_2D = ("gaussian", "poisson", "radial")
SHAPES = [(256, 256), (255, 321)]
ACCELS = [4, 8]


def rate(mask: np.ndarray) -> float:
    return float(np.count_nonzero(mask)) / mask.size


# ----------------------------------------------------------------------------- basics


def test_mask_kinds_lists_every_kind():
    assert MASK_KINDS == ("random", "equispaced", "gaussian", "poisson", "radial")


@pytest.mark.parametrize("kind", MASK_KINDS)
@pytest.mark.parametrize("shape", [(256, 256), (255, 321), (33, 17), (7, 5), (2, 2), (2, 9)])
@pytest.mark.parametrize("accel", [1.5, 2, 4, 8])
def test_shape_dtype_and_dc_sampled(kind, shape, accel):
    mask = make_mask(shape, accel, kind=kind, seed=1)
    h, w = shape
    assert mask.shape == shape
    assert mask.dtype == np.bool_
    assert mask[h // 2, w // 2], "the DC sample (H//2, W//2) must always be acquired"


@pytest.mark.parametrize("kind", MASK_KINDS)
def test_longer_shape_uses_last_two_entries(kind):
    a = make_mask((3, 2, 40, 30), 4, kind=kind, seed=5)
    b = make_mask((40, 30), 4, kind=kind, seed=5)
    assert a.shape == (40, 30)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kind", MASK_KINDS)
@pytest.mark.parametrize("shape", [(256, 256), (255, 321), (3, 2)])
@pytest.mark.parametrize("accel", [1, 1.0])
def test_accel_one_is_fully_sampled(kind, shape, accel):
    mask = make_mask(shape, accel, kind=kind, seed=3)
    assert mask.all()
    assert achieved_acceleration(mask) == 1.0


def test_default_center_fraction():
    assert default_center_fraction(4) == pytest.approx(0.08)
    assert default_center_fraction(8) == pytest.approx(0.04)
    assert default_center_fraction(2) == pytest.approx(0.16)


# ----------------------------------------------------------------------------- sampling rates


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("accel", ACCELS)
def test_random_mean_rate_matches_accel(shape, accel):
    # Expected rate is exactly 1/accel; one 8x mask on 256 columns has a rate s.d. of ~14 %,
    # so 50 seeds leave a ~2 % standard error. 1000 seeds (~0.45 %) make 2 % a 4-sigma bound.
    rates = [rate(make_mask(shape, accel, "random", seed=s)) for s in range(1000)]
    assert np.mean(rates) == pytest.approx(1 / accel, rel=0.02)
    assert np.mean(rates[:50]) == pytest.approx(1 / accel, rel=0.05)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("accel", ACCELS)
def test_equispaced_rate_matches_accel(shape, accel):
    rates = [rate(make_mask(shape, accel, "equispaced", seed=s)) for s in range(50)]
    assert np.mean(rates) == pytest.approx(1 / accel, rel=0.02)
    # Only the offset is random, so every single mask is close as well.
    assert np.all(np.abs(np.array(rates) * accel - 1) < 0.05)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("accel", ACCELS)
def test_gaussian_has_exact_sample_count(shape, accel):
    h, w = shape
    for seed in range(3):
        mask = make_mask(shape, accel, "gaussian", seed=seed)
        assert np.count_nonzero(mask) == round(h * w / accel)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("accel", ACCELS)
def test_poisson_rate_within_two_percent_per_seed(shape, accel):
    for seed in range(3):
        mask = make_mask(shape, accel, "poisson", seed=seed)
        assert achieved_acceleration(mask) == pytest.approx(accel, rel=0.02)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("accel", ACCELS)
def test_radial_rate_within_two_percent(shape, accel):
    mask = make_mask(shape, accel, "radial")
    assert achieved_acceleration(mask) == pytest.approx(accel, rel=0.02)


@pytest.mark.parametrize("kind", MASK_KINDS)
@pytest.mark.parametrize("accel", [1.3, 2.5, 5.5])
def test_non_integer_accel(kind, accel):
    mask = make_mask((128, 96), accel, kind, seed=2)
    tol = 0.2 if kind == "random" else 0.05  # a single random mask varies more
    assert achieved_acceleration(mask) == pytest.approx(accel, rel=tol)


# ----------------------------------------------------------------------------- centre blocks


@pytest.mark.parametrize(
    "width, accel, num_low",
    [(256, 4, 20), (256, 8, 10), (321, 4, 26), (321, 8, 13), (255, 4, 20), (64, 2, 10)],
)
@pytest.mark.parametrize("kind", KINDS_1D)
def test_1d_centre_block_position_and_size(width, accel, num_low, kind):
    assert round(width * 0.32 / accel) == num_low  # the table above is fastMRI's rounding
    pad = (width - num_low + 1) // 2
    assert pad <= width // 2 < pad + num_low
    for seed in range(10):
        mask = make_mask((16, width), accel, kind, seed=seed)
        assert mask[:, pad : pad + num_low].all()
        n = center_lines(mask)
        assert n >= num_low
        if not mask[0, pad - 1] and not mask[0, pad + num_low]:
            assert n == num_low


@pytest.mark.parametrize("kind", KINDS_1D)
def test_user_center_fraction_sets_block(kind):
    mask = make_mask((32, 256), 4, kind, center_fraction=0.1, seed=0)
    num_low = round(256 * 0.1)  # 26
    pad = (256 - num_low + 1) // 2
    assert mask[:, pad : pad + num_low].all()
    assert center_lines(mask) >= num_low


@pytest.mark.parametrize("kind", KINDS_1D)
@pytest.mark.parametrize("shape", SHAPES)
def test_1d_columns_constant_along_rows(kind, shape):
    mask = make_mask(shape, 4, kind, seed=7)
    assert (mask == mask[:1, :]).all()
    assert center_region(mask) == (shape[0], center_lines(mask))


@pytest.mark.parametrize("kind", ("gaussian", "poisson"))
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("accel", ACCELS)
def test_2d_centre_rectangle(kind, shape, accel):
    h, w = shape
    cf = 0.32 / accel
    ch, cw = round(h * cf), round(w * cf)
    mask = make_mask(shape, accel, kind, seed=0)
    ph, pw = (h - ch + 1) // 2, (w - cw + 1) // 2
    assert mask[ph : ph + ch, pw : pw + cw].all()
    rows, cols = center_region(mask)
    assert rows * cols >= max(ch, MIN_CALIB_2D) * max(cw, MIN_CALIB_2D)
    assert center_lines(mask) == 0  # documented: 2D masks rarely have full columns


def test_min_calib_2d_is_24():
    assert MIN_CALIB_2D == 24


@pytest.mark.parametrize("kind", KINDS_2D)
@pytest.mark.parametrize("shape", [(64, 64), (128, 128), (256, 256), (320, 256)])
@pytest.mark.parametrize("accel", [4, 8, 12])
def test_2d_kinds_keep_a_24_by_24_centre(kind, shape, accel):
    h, w = shape
    mask = make_mask(shape, accel, kind, seed=0)
    rows, cols = center_region(mask)
    assert rows >= min(24, h) and cols >= min(24, w), (rows, cols)
    # the block the coil-map code cuts out (centred the fft2c way) is as large
    ch, cw = centred_calibration_block(mask, max_size=MIN_CALIB_2D)
    assert (ch, cw) == (MIN_CALIB_2D, MIN_CALIB_2D)
    assert mask[h // 2 - 12 : h // 2 + 12, w // 2 - 12 : w // 2 + 12].all()
    # the acceleration is met unless the centre alone exceeds the budget of H * W / accel
    if 24 * 24 <= h * w / accel:
        tol = 0.05 if kind == "radial" else 0.02
        assert achieved_acceleration(mask) == pytest.approx(accel, rel=tol)
    else:
        assert np.count_nonzero(mask) >= 24 * 24
        assert achieved_acceleration(mask) < accel


@pytest.mark.parametrize("kind", KINDS_2D)
@pytest.mark.parametrize("shape", [(255, 321), (33, 17), (7, 5)])
def test_2d_centre_minimum_on_odd_and_small_shapes(kind, shape):
    h, w = shape
    mask = make_mask(shape, 8, kind, seed=0)
    # odd axes get 25 (symmetric about DC), so both centrings find at least 24
    ch, cw = centred_calibration_block(mask)
    assert ch >= min(24, h) and cw >= min(24, w)
    if max(shape) <= 24:
        assert mask.all()  # an image smaller than the minimum is fully sampled


@pytest.mark.parametrize("kind", ("gaussian", "poisson"))
def test_2d_user_centre_fraction_above_the_minimum_is_kept(kind):
    mask = make_mask((256, 256), 4, kind, center_fraction=0.2, seed=0)
    block = round(256 * 0.2)  # 51 rows and columns from (256 - 51 + 1) // 2 = 103
    assert mask[103 : 103 + block, 103 : 103 + block].all()
    small = make_mask((256, 256), 4, kind, center_fraction=0.02, seed=0)  # 5 px: widened
    assert small[116:140, 116:140].all()


def test_small_image_at_high_acceleration_reports_the_rate_reached():
    # 64 x 64 at 8x allows 512 points; the 24 x 24 centre alone holds 576
    for kind in ("gaussian", "poisson"):
        mask = make_mask((64, 64), 8, kind, seed=0)
        assert np.count_nonzero(mask) == 576
        assert achieved_acceleration(mask) == pytest.approx(64 * 64 / 576)


@pytest.mark.parametrize("kind", KINDS_1D)
@pytest.mark.parametrize("accel, num_low", [(4, 20), (8, 10), (12, 7)])
def test_column_kinds_keep_the_fastmri_centre(kind, accel, num_low):
    # the 2D minimum does not apply: 8x on 256 columns keeps fastMRI's 10 centre columns
    assert round(256 * 0.32 / accel) == num_low
    pad = (256 - num_low + 1) // 2
    for seed in range(5):
        mask = make_mask((64, 256), accel, kind, seed=seed)
        assert mask[:, pad : pad + num_low].all()
        if not mask[0, pad - 1] and not mask[0, pad + num_low]:
            assert center_lines(mask) == num_low < MIN_CALIB_2D


def test_radial_centre_fraction_is_optional():
    plain = make_mask((128, 128), 8, "radial")
    with_block = make_mask((128, 128), 8, "radial", center_fraction=0.2)
    assert plain[52:76, 52:76].all()  # the 24 x 24 minimum from 128 // 2 - 12
    assert not plain[51:77, 51:77].all()
    assert with_block[51:77, 51:77].all()  # round(128 * 0.2) = 26 rows/cols from 51
    assert achieved_acceleration(with_block) == pytest.approx(8, rel=0.05)


# ----------------------------------------------------------------------------- 2D densities


@pytest.mark.parametrize("kind", ("gaussian", "poisson"))
def test_2d_variable_density(kind):
    h, w = 256, 256
    mask = make_mask((h, w), 4, kind, seed=0)
    yy, xx = np.mgrid[:h, :w]
    rho = np.hypot((yy - h // 2) / (h / 2), (xx - w // 2) / (w / 2))
    inner = mask[(rho > 0.15) & (rho < 0.35)].mean()
    outer = mask[(rho > 0.7) & (rho < 1.0)].mean()
    assert inner > 1.5 * outer


def test_poisson_points_keep_their_distance():
    # At 8x the disc radius is > sqrt(2) px for rho > 0.8, so no two samples there touch,
    # even diagonally. Independent random sampling at the same density would.
    h, w = 256, 256
    yy, xx = np.mgrid[:h, :w]
    rho = np.hypot((yy - h // 2) / (h / 2), (xx - w // 2) / (w / 2))
    for kind, expect_touching in (("poisson", False), ("gaussian", True)):
        mask = make_mask((h, w), 8, kind, seed=0)
        outer = np.pad(mask & (rho > 0.8), 1)
        touching = 0
        for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)):
            shifted = np.roll(np.roll(outer, dy, axis=0), dx, axis=1)
            touching += np.count_nonzero(outer & shifted)
        assert (touching > 0) == expect_touching, kind


def test_poisson_is_fast_enough():
    t0 = time.perf_counter()
    make_mask((256, 256), 4, "poisson", seed=11)
    assert time.perf_counter() - t0 < 2.0


# ----------------------------------------------------------------------------- seeding


@pytest.mark.parametrize("kind", MASK_KINDS)
def test_same_seed_same_mask(kind):
    a = make_mask((64, 48), 4, kind, seed=42)
    b = make_mask((64, 48), 4, kind, seed=42)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kind", ("random", "gaussian", "poisson"))
def test_different_seeds_differ(kind):
    a = make_mask((64, 48), 4, kind, seed=0)
    b = make_mask((64, 48), 4, kind, seed=1)
    assert (a != b).any()


def test_equispaced_offset_depends_on_seed():
    # Only the offset is random (round(adjusted_accel) choices), so look at several seeds.
    masks = {make_mask((8, 256), 4, "equispaced", seed=s).tobytes() for s in range(10)}
    assert len(masks) > 1


def test_radial_ignores_seed():
    a = make_mask((64, 64), 4, "radial", seed=0)
    b = make_mask((64, 64), 4, "radial", seed=99)
    np.testing.assert_array_equal(a, b)


def test_generator_seed_is_used_and_advanced():
    rng = np.random.default_rng(0)
    a = make_mask((32, 64), 4, "random", seed=rng)
    b = make_mask((32, 64), 4, "random", seed=rng)
    np.testing.assert_array_equal(a, make_mask((32, 64), 4, "random", seed=0))
    assert (a != b).any()


@pytest.mark.parametrize("kind", MASK_KINDS)
def test_global_random_state_untouched(kind):
    np.random.seed(1234)
    before = np.random.get_state()
    make_mask((64, 64), 4, kind, seed=3)
    make_mask((64, 64), 4, kind, seed=None)
    after = np.random.get_state()
    assert before[0] == after[0]
    np.testing.assert_array_equal(before[1], after[1])
    assert before[2:] == after[2:]


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "accel, match",
    [
        (0.5, r"accel must be >= 1, got 0\.5"),
        (0, "accel must be > 0"),
        (-4, "accel must be > 0"),
        (float("nan"), "accel must be finite"),
        (float("inf"), "accel must be finite"),
        (True, "accel must be a real number"),
        ("4", "accel must be a real number"),
    ],
)
def test_bad_accel(accel, match):
    with pytest.raises(ValueError, match=match):
        make_mask((32, 32), accel)


@pytest.mark.parametrize(
    "shape, match",
    [
        ((256,), "at least two entries"),
        (256, "must be a tuple"),
        ((1, 256), "shape H must be >= 2, got 1"),
        ((256, 0), "shape W must be >= 2, got 0"),
        ((256, 2.5), "shape W must be an integer"),
    ],
)
def test_bad_shape(shape, match):
    with pytest.raises(ValueError, match=match):
        make_mask(shape, 4)


def test_unknown_kind_lists_valid_kinds():
    valid = "random, equispaced, gaussian, poisson, radial"
    with pytest.raises(ValueError, match=rf"unknown mask kind 'spiral'.*{valid}"):
        make_mask((32, 32), 4, kind="spiral")


@pytest.mark.parametrize(
    "kind, cf, match",
    [
        ("random", 0.3, r"center_fraction 0\.3 exceeds 1/accel = 0\.25"),
        ("equispaced", 0.26, "exceeds 1/accel"),
        ("gaussian", 0.6, r"exceeds 1/sqrt\(accel\) = 0\.5"),
        ("poisson", 0.51, r"exceeds 1/sqrt\(accel\)"),
        ("radial", 0.7, r"exceeds 1/sqrt\(accel\)"),
        ("random", 0.0, "center_fraction must be > 0"),
        ("random", -0.1, "center_fraction must be > 0"),
        ("random", float("nan"), "center_fraction must be finite"),
    ],
)
def test_bad_center_fraction(kind, cf, match):
    with pytest.raises(ValueError, match=match):
        make_mask((64, 64), 4, kind=kind, center_fraction=cf)


def test_center_fraction_above_one():
    with pytest.raises(ValueError, match=r"center_fraction must be in \(0, 1\], got 1\.5"):
        make_mask((64, 64), 1, center_fraction=1.5)


def test_center_fraction_at_limit_is_allowed():
    mask = make_mask((64, 64), 4, "random", center_fraction=0.25)
    assert mask[:, 24:40].all()
    assert achieved_acceleration(mask) == 4.0
    assert achieved_acceleration(make_mask((64, 64), 4, "equispaced", center_fraction=0.25)) == 4.0
    assert make_mask((64, 64), 4, "gaussian", center_fraction=0.5)[16:48, 16:48].all()


@pytest.mark.parametrize("seed", [-1, 1.5, "a", True])
def test_bad_seed(seed):
    with pytest.raises(ValueError, match="seed must be"):
        make_mask((32, 32), 4, seed=seed)


def test_poisson_disc_checks_its_arguments():
    centre = np.zeros((16, 16), dtype=bool)
    centre[7:9, 7:9] = True
    assert poisson_disc(centre, 4, np.random.default_rng(0)) is centre
    with pytest.raises(ValueError, match="bool"):
        poisson_disc(centre.astype(int), 64, np.random.default_rng(0))
    with pytest.raises(ValueError, match="below the centre"):
        poisson_disc(centre, 3, np.random.default_rng(0))
