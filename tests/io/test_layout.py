"""Axis roles and already-undersampled k-space: the cases the issue measured on real files.

* a BART ``1 180 230 8`` slice of a 3-D scan (READ singleton, PHS1 x PHS2, 8 coils) loads;
* a BART image with two sets of ESPIRiT maps loads its first set, and says so;
* NumPy k-space stored as (lines, coils, columns) is read that way, with the guess shown;
* an 8-coil ``.npy`` with 87.6 % zeros is undersampled: its pattern becomes the mask, no
  reference is claimed, and a crop that would fill the holes is refused.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recon_core.io import (
    AXIS_ROLES,
    DataLoadError,
    acquired_pattern,
    arrange,
    guess_axes,
    load_file,
    load_files,
    prepare,
)
from recon_core.masks import make_mask
from recon_core.ops.fft import fft2c


def npy(arr) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return buf.getvalue()


def coil_kspace(rng, c=4, h=40, w=32):
    y, x = np.mgrid[:h, :w]
    obj = ((y - h / 2) ** 2 / (h / 3) ** 2 + (x - w / 2) ** 2 / (w / 3) ** 2 < 1).astype(float)
    # smooth coil profiles with a constant phase each: k-space peaks at DC
    sens = np.stack([np.exp(1j * i) * (1.5 + np.cos(2 * np.pi * (i / c + x / w / 2))) for i in range(c)])
    k = fft2c(sens * obj).astype(np.complex64)
    return k + (1e-3 * (rng.standard_normal(k.shape) + 1j * rng.standard_normal(k.shape))).astype(np.complex64)


def test_bart_slice_of_a_3d_scan_reads_phase1_by_phase2(rng):
    k = coil_kspace(rng, c=8, h=180, w=230)  # (8, 180, 230)
    stored = np.transpose(k, (1, 2, 0))[None]  # BART order: READ=1, PHS1=180, PHS2=230, COIL=8
    d = load_files({"s.cfl": stored.astype(np.complex64).reshape(-1, order="F").tobytes(),
                    "s.hdr": b"# Dimensions\n1 180 230 8\n"})
    assert d.kspace.shape == (8, 180, 230) and d.n_coils == 8
    np.testing.assert_array_equal(d.kspace, k)
    assert d.axes_roles == ("other", "row", "col", "coil") and not d.axes_guessed


def test_bart_two_sets_of_maps_use_the_first(rng):
    maps = (rng.standard_normal((24, 20, 1, 1, 2)) + 1j).astype(np.complex64)
    cfl = maps.reshape(-1, order="F").tobytes()
    d = load_files({"m.cfl": cfl, "m.hdr": b"# Dimensions\n24 20 1 1 2\n"}, kind="image")
    np.testing.assert_array_equal(d.image, maps[:, :, 0, 0, 0])
    assert "MAPS: entry 0 of 2" in d.source


def test_lines_coils_columns_is_guessed_shown_and_overridable(rng):
    k = coil_kspace(rng, c=2, h=160, w=320)  # (coils, lines, columns)
    stored = np.transpose(k, (1, 0, 2))  # (160, 2, 320)
    d = load_file(npy(stored), "raw.npy")
    assert d.kspace.shape == (2, 160, 320), d.source
    np.testing.assert_array_equal(d.kspace, k)
    assert d.axes_guessed and d.axes_roles == ("row", "coil", "col")
    assert "(160, 2, 320) read as row × coil × col (guessed" in d.axes
    # the user's choice wins: read the same array as 160 slices of 2x320 coil... refused (too small)
    with pytest.raises(DataLoadError, match="too small"):
        load_file(npy(stored), "raw.npy", axes=("slice", "row", "col"), kind="kspace")
    # and the transposed reading (columns as rows) is the user's to make
    t = load_file(npy(stored), "raw.npy", axes=("col", "coil", "row"))
    np.testing.assert_array_equal(t.kspace, np.transpose(k, (0, 2, 1)))


def test_matlab_style_rows_cols_coils_guess():
    assert guess_axes((256, 256, 8), kspace=True) == (("row", "col", "coil"), True)
    assert guess_axes((4, 8, 64, 64), kspace=True) == (("slice", "coil", "row", "col"), True)
    assert guess_axes((300, 64, 64), kspace=False) == (("slice", "row", "col"), True)
    assert guess_axes((64, 48), kspace=False) == (("row", "col"), False)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 40), min_size=2, max_size=5), st.booleans())
def test_guess_is_always_a_valid_layout(shape, kspace):
    roles, _ = guess_axes(shape, kspace=kspace)
    assert len(roles) == len(shape) and all(r in AXIS_ROLES for r in roles)
    assert roles.count("row") == roles.count("col") == 1
    assert roles.count("coil") <= (1 if kspace else 0) and roles.count("slice") <= 1
    out, _ = arrange(np.zeros(shape), roles)
    assert out.ndim == 4 and out.shape[-2:] == (shape[roles.index("row")], shape[roles.index("col")])


def test_already_undersampled_multicoil_npy(rng):
    k = coil_kspace(rng, c=8, h=128, w=96)  # 2-D masks keep a 24x24 centre: room for 8x
    m = make_mask((128, 96), 8, kind="poisson", seed=3)
    under = (k * m).astype(np.complex64)
    assert 0.8 < 1 - m.mean() < 0.95
    d = load_file(npy(under), "brain.npy")
    assert d.undersampled and not d.has_reference
    np.testing.assert_array_equal(d.mask, m)
    assert "already undersampled" in d.source
    p = prepare(d)
    assert not p.has_reference and np.array_equal(p.mask, m)
    with pytest.raises(DataLoadError, match="already undersampled") as info:
        prepare(d, 64)  # an image-space crop would fill the holes
    assert info.value.reason == "argument"
    r = prepare(d, 64, mode="resize")  # a k-space crop keeps the pattern
    assert r.mask.shape == (64, 64) and r.mask.mean() < 0.5
    # the user can say the zeros were measured (integer k-space rounding to 0, say)
    full = load_file(npy(under), "brain.npy", detect_undersampling=False)
    assert full.mask is None and full.has_reference and "undersampled" not in full.source


def test_zero_padding_and_partial_fourier_are_not_undersampling(rng):
    k = coil_kspace(rng, c=2, h=40, w=32)
    padded = np.zeros((2, 40, 32), np.complex64)
    padded[:, :, 4:28] = k[:, :, 4:28]  # zero-padded phase encode
    assert not acquired_pattern(padded).undersampled
    pf = k.copy()
    pf[:, :, :10] = 0  # partial Fourier: the first 10 columns missing
    a = acquired_pattern(pf)
    assert not a.undersampled and a.fraction == pytest.approx(22 / 32)
    assert load_file(npy(pf), "pf.npy").mask is None
    lines = k.copy()
    lines[:, :, 1::3] = 0
    assert acquired_pattern(lines).undersampled
