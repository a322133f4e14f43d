"""Tests for recon_core.masks.analysis: achieved acceleration, centre region, PSF, incoherence."""

from __future__ import annotations

import numpy as np
import pytest

from recon_core.masks import (
    MASK_KINDS,
    achieved_acceleration,
    calibration_slices,
    center_lines,
    center_region,
    centred_calibration_block,
    incoherence,
    make_mask,
    point_spread_function,
)

SHAPES = [(256, 256), (255, 321)]
ACCELS = [4, 8]


def test_achieved_acceleration_values():
    mask = np.zeros((4, 8), dtype=bool)
    mask[:, ::4] = True
    assert achieved_acceleration(mask) == 4.0
    assert achieved_acceleration(mask.astype(np.float32)) == 4.0
    assert achieved_acceleration(np.ones((3, 3), dtype=int)) == 1.0


def _brute_center_lines(mask):
    w = mask.shape[1]
    full = mask.all(axis=0)
    c = w // 2
    if not full[c]:
        return 0
    lo = c
    while lo > 0 and full[lo - 1]:
        lo -= 1
    hi = c
    while hi < w - 1 and full[hi + 1]:
        hi += 1
    return hi - lo + 1


def _brute_center_area(mask):
    h, w = mask.shape
    cy, cx = h // 2, w // 2
    best = 0
    for top in range(cy + 1):
        for bottom in range(cy, h):
            for left in range(cx + 1):
                for right in range(cx, w):
                    if mask[top : bottom + 1, left : right + 1].all():
                        best = max(best, (bottom - top + 1) * (right - left + 1))
    return best


def _has_rect(mask, rows, cols):
    h, w = mask.shape
    cy, cx = h // 2, w // 2
    for top in range(max(0, cy - rows + 1), cy + 1):
        for left in range(max(0, cx - cols + 1), cx + 1):
            fits = top + rows <= h and left + cols <= w
            if fits and mask[top : top + rows, left : left + cols].all():
                return True
    return False


@pytest.mark.parametrize("shape", [(7, 9), (6, 6), (5, 8)])
def test_center_lines_and_region_match_brute_force(shape):
    rng = np.random.default_rng(0)
    for _ in range(60):
        mask = rng.uniform(size=shape) < 0.75
        if rng.uniform() < 0.5:
            mask[:, shape[1] // 2] = True
        assert center_lines(mask) == _brute_center_lines(mask)
        rows, cols = center_region(mask)
        assert rows * cols == _brute_center_area(mask)
        if rows:
            assert _has_rect(mask, rows, cols)


def test_center_region_examples():
    assert center_region(np.ones((5, 7), dtype=bool)) == (5, 7)
    empty_centre = np.ones((5, 7), dtype=bool)
    empty_centre[2, 3] = False
    assert center_region(empty_centre) == (0, 0)
    assert center_lines(empty_centre) == 0
    cross = np.zeros((9, 9), dtype=bool)
    cross[4, :] = True
    cross[:, 4] = True
    cross[3:6, 3:6] = True
    assert center_region(cross) == (1, 9) or center_region(cross) == (9, 1)
    assert center_lines(cross) == 1


# ------------------------------------------------------------- the shared calibration finder


def _brute_centred(mask, cap=None):
    """Best score over all rectangles centred the fft2c way (``H//2 - h//2``)."""
    h, w = mask.shape
    best = 0
    for t in range(1, h + 1):
        for u in range(1, w + 1):
            y0, x0 = h // 2 - t // 2, w // 2 - u // 2
            if y0 >= 0 and x0 >= 0 and y0 + t <= h and x0 + u <= w \
                    and mask[y0 : y0 + t, x0 : x0 + u].all():
                best = max(best, t * u if cap is None else min(t, cap) * min(u, cap))
    return best


def _centred_slices(shape, hw):
    (h, w), (bh, bw) = shape, hw
    return slice(h // 2 - bh // 2, h // 2 - bh // 2 + bh), slice(w // 2 - bw // 2, w // 2 - bw // 2 + bw)


@pytest.mark.parametrize("shape", [(7, 9), (6, 6), (5, 8), (1, 5)])
def test_calibration_finders_match_brute_force(shape):
    rng = np.random.default_rng(3)
    for _ in range(60):
        mask = rng.uniform(size=shape) < 0.8
        rows, cols = calibration_slices(mask)
        assert (rows.stop - rows.start) * (cols.stop - cols.start) == _brute_center_area(mask)
        assert mask[rows, cols].all()
        assert center_region(mask) == (rows.stop - rows.start, cols.stop - cols.start)
        for cap in (None, 2, 3):
            bh, bw = centred_calibration_block(mask, max_size=cap)
            assert min(bh, cap or bh) * min(bw, cap or bw) == _brute_centred(mask, cap)
            assert mask[_centred_slices(shape, (bh, bw))].all()


def test_calibration_finders_on_a_rectangular_block():
    m = np.zeros((64, 64), dtype=bool)
    m[::2, ::2] = True
    m[24:40, 22:42] = True  # 16 x 20, centred the fft2c way on (32, 32)
    assert calibration_slices(m) == (slice(24, 40), slice(22, 42))
    assert centred_calibration_block(m) == (16, 20)
    assert centred_calibration_block(m, max_size=12) == (12, 12)
    # shifted off centre: still contains DC, but the centred block shrinks
    off = np.zeros((64, 64), dtype=bool)
    off[30:46, 28:48] = True  # rows 30..45, columns 28..47
    assert calibration_slices(off) == (slice(30, 46), slice(28, 48))
    assert centred_calibration_block(off) == (5, 9)  # rows 30..34, columns 28..36


def test_calibration_finders_on_a_line_mask():
    m = np.zeros((96, 80), dtype=bool)
    m[:, 36:44] = True  # 8 centre columns, 40 - 4 .. 40 + 3
    m[:, ::5] = True  # 35 touches the block (34 and 44 are not sampled)
    assert calibration_slices(m) == (slice(0, 96), slice(35, 44))
    assert center_region(m) == (96, center_lines(m)) == (96, 9)
    # centred on column 40, 9 columns would be 36..44: only 8 (36..43) are fully sampled
    assert centred_calibration_block(m) == (96, 8)
    assert centred_calibration_block(m, max_size=32) == (32, 8)
    assert centred_calibration_block(m.T, max_size=48) == (8, 48)


def test_calibration_finders_on_a_poisson_like_mask():
    m = make_mask((128, 128), 8, "poisson", center_fraction=0.15, seed=0)
    block = round(128 * 0.15)  # 19 rows and columns from (128 - 19 + 1) // 2 = 55
    rows, cols = calibration_slices(m)
    assert rows.start <= 55 and rows.stop >= 55 + block
    assert cols.start <= 55 and cols.stop >= 55 + block
    assert m[rows, cols].all()
    bh, bw = centred_calibration_block(m)
    assert min(bh, bw) >= block  # the fastMRI and fft2c centrings of an odd block agree
    assert bh * bw <= (rows.stop - rows.start) * (cols.stop - cols.start)
    assert m[_centred_slices(m.shape, (bh, bw))].all()


def test_calibration_finders_with_dc_unsampled():
    m = np.ones((32, 32), dtype=bool)
    m[16, 16] = False
    assert calibration_slices(m) == (slice(0, 0), slice(0, 0))
    assert center_region(m) == (0, 0)
    assert centred_calibration_block(m) == (0, 0)
    assert centred_calibration_block(m, max_size=8) == (0, 0)
    assert centred_calibration_block(np.zeros((8, 8), dtype=bool)) == (0, 0)


def test_calibration_finders_check_their_arguments():
    with pytest.raises(ValueError, match=r"shape \(H, W\)"):
        calibration_slices(np.ones((2, 4, 4), dtype=bool))
    with pytest.raises(ValueError, match="only 0 and 1"):
        centred_calibration_block(np.full((4, 4), 2))
    with pytest.raises(ValueError, match="max_size must be"):
        centred_calibration_block(np.ones((4, 4), dtype=bool), max_size=0)


def test_wrappers_elsewhere_are_the_shared_finder():
    from recon_core.coils import calibration_region
    from recon_core.espirit import calibration_block
    from recon_core.recon.grappa import grappa_calibration_block

    rng = np.random.default_rng(7)
    for _ in range(20):
        m = rng.uniform(size=(40, 36)) < 0.3
        m[14:26, 12:26] = True
        assert grappa_calibration_block(m) == calibration_slices(m)
        assert calibration_region(m) == centred_calibration_block(m, max_size=32)
        assert calibration_block(m) == centred_calibration_block(m, max_size=48)
        assert calibration_region(m, max_size=None) == centred_calibration_block(m)


def _psf_reference(mask):
    """|sum_k m[k] exp(2 pi i (k - N//2)(y - N//2) / N)| per axis, by explicit DFT matrices."""
    h, w = mask.shape
    ky = np.arange(h) - h // 2
    kx = np.arange(w) - w // 2
    fy = np.exp(2j * np.pi * np.outer(ky, ky) / h)
    fx = np.exp(2j * np.pi * np.outer(kx, kx) / w)
    psf = np.abs(fy @ mask.astype(complex) @ fx.T)
    return psf / mask.sum()


@pytest.mark.parametrize("shape", [(8, 6), (7, 9), (5, 5), (16, 11)])
def test_psf_matches_explicit_dft(shape):
    mask = np.random.default_rng(1).uniform(size=shape) < 0.4
    mask[shape[0] // 2, shape[1] // 2] = True
    psf = point_spread_function(mask)
    assert psf.dtype == np.float32
    assert psf.shape == shape
    np.testing.assert_allclose(psf, _psf_reference(mask), atol=1e-6)


@pytest.mark.parametrize("kind", MASK_KINDS)
@pytest.mark.parametrize("shape", SHAPES)
def test_psf_peak_is_one_at_centre(kind, shape):
    psf = point_spread_function(make_mask(shape, 4, kind, seed=0))
    h, w = shape
    assert psf[h // 2, w // 2] == pytest.approx(1.0)
    assert psf.max() == pytest.approx(1.0)
    assert np.unravel_index(np.argmax(psf), psf.shape) == (h // 2, w // 2)


def test_incoherence_full_and_regular():
    assert incoherence(np.ones((64, 64), dtype=bool)) == 0.0
    regular = np.zeros((64, 64), dtype=bool)
    regular[:, ::4] = True  # pure 4x regular lines alias with full strength
    assert incoherence(regular) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("shape", SHAPES)
def test_incoherence_random_in_open_unit_interval(shape):
    value = incoherence(make_mask(shape, 4, "random", seed=0))
    assert 0.0 < value < 1.0


@pytest.mark.parametrize("accel", ACCELS)
@pytest.mark.parametrize("kind", ("gaussian", "poisson"))
def test_2d_random_more_incoherent_than_equispaced(kind, accel):
    shape = (256, 256)
    equi = incoherence(make_mask(shape, accel, "equispaced", seed=0))
    assert incoherence(make_mask(shape, accel, kind, seed=0)) < 0.8 * equi


# ----------------------------------------------------------------------------- errors


def test_empty_and_invalid_masks():
    with pytest.raises(ValueError, match=r"has no samples"):
        achieved_acceleration(np.zeros((8, 8), dtype=bool))
    with pytest.raises(ValueError, match="has no samples"):
        point_spread_function(np.zeros((8, 8)))
    with pytest.raises(ValueError, match="has no samples"):
        incoherence(np.zeros((8, 8), dtype=bool))
    with pytest.raises(ValueError, match="empty"):
        achieved_acceleration(np.zeros((0, 8), dtype=bool))
    with pytest.raises(ValueError, match="only 0 and 1"):
        achieved_acceleration(np.full((4, 4), 2))
    with pytest.raises(ValueError, match=r"shape \(H, W\)"):
        center_lines(np.ones((2, 4, 4), dtype=bool))
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        center_region(np.ones(4, dtype=bool))


def test_regular_lines_allows_any_calibration_block_but_nothing_else():
    from recon_core.masks import is_line_mask, regular_lines

    m = np.zeros((32, 64), bool)
    m[:, 2::4] = True
    m[:, 28:37] = True  # the centre block breaks the pattern: allowed
    assert is_line_mask(m) and regular_lines(m) == (-1, 4)
    assert regular_lines(m.T) == (-2, 4)
    m[:, 5] = True  # an extra line outside the block
    assert regular_lines(m) is None
    odd = np.zeros((32, 63), bool); odd[:, ::4] = True  # R does not divide the width
    assert regular_lines(odd) is None
    assert not is_line_mask(np.eye(32, dtype=bool)) and regular_lines(np.eye(32, dtype=bool)) is None


@pytest.mark.parametrize("kind, expected", [("random", -1), ("equispaced", -1), ("poisson", None),
                                            ("gaussian", None), ("radial", None)])
def test_line_axis_of_each_mask_kind(kind, expected):
    from recon_core.masks import line_axis

    m = make_mask((64, 48), 4, kind=kind, seed=1)
    assert line_axis(m) == expected
    if expected is not None:
        assert line_axis(m.T) == -2


def test_a_line_masks_psf_is_zero_off_its_line():
    """What the Mask designer relies on when it draws only that line."""
    from recon_core.masks import line_axis

    m = make_mask((64, 48), 4, kind="random", seed=3)
    psf = point_spread_function(m)
    assert line_axis(m) == -1
    off = np.delete(psf, 64 // 2, axis=0)
    assert off.max() < 1e-6 and psf[32].max() == 1.0
    rows = point_spread_function(m.T)
    assert line_axis(m.T) == -2 and np.delete(rows, 64 // 2, axis=1).max() < 1e-6  # (48, 64)
    assert line_axis(np.ones((5, 7), bool)) == -1  # fully sampled: a delta, counted as columns
    with pytest.raises(ValueError, match="2-D"):
        line_axis(np.ones(5, bool))
