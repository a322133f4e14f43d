"""Tests for recon_core.masks.analysis: achieved acceleration, centre region, PSF, incoherence."""

from __future__ import annotations

import numpy as np
import pytest

from recon_core.masks import (
    MASK_KINDS,
    achieved_acceleration,
    center_lines,
    center_region,
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
