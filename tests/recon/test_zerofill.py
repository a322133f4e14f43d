"""Zero-filled reconstruction: exact for a full mask, equals the adjoint, batched."""

from __future__ import annotations

import numpy as np
import pytest

from recon_core import adjoint_op, fft2c, make_mask, psnr, shepp_logan, zero_filled


def test_full_mask_is_exact():
    x = shepp_logan(64)
    np.testing.assert_allclose(np.abs(zero_filled(fft2c(x), np.ones((64, 64), bool))), x, atol=1e-5)


def test_equals_adjoint_and_is_aliased_at_4x():
    x = shepp_logan(128)
    m = make_mask(x.shape, 4, seed=0)
    k = fft2c(x)
    np.testing.assert_allclose(zero_filled(k, m), adjoint_op(k, m), atol=1e-6)
    assert 15 < psnr(x, np.abs(zero_filled(k, m))) < 30


def test_batched_with_shared_mask(rng):
    k = rng.standard_normal((3, 16, 16)).astype(np.complex64)
    m = rng.uniform(size=(16, 16)) < 0.5
    out = zero_filled(k, m)
    assert out.shape == (3, 16, 16)
    np.testing.assert_allclose(out[1], zero_filled(k[1], m), atol=1e-6)


def test_mismatch_raises():
    with pytest.raises(ValueError, match="does not match"):
        zero_filled(np.ones((8, 8)), np.ones((8, 4), bool))
