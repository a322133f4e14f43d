"""Fourier operators: against NumPy's reference, inverse, adjoint, Parseval, batching, errors."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from recon_core import (
    adjoint_op,
    fft2c,
    fft2c_tf,
    forward_op,
    ifft2c,
    ifft2c_tf,
    sense_adjoint,
    sense_forward,
)

SHAPES = [(8, 8), (7, 9), (16, 5), (3, 4, 6), (2, 3, 5, 7), (1, 1)]


def _crandn(rng, shape):
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex64)


def _np_fft2c(x):
    return np.fft.fftshift(
        np.fft.fft2(np.fft.ifftshift(x, axes=(-2, -1)), norm="ortho"), axes=(-2, -1)
    )


@pytest.mark.parametrize("shape", SHAPES)
def test_matches_numpy_reference(rng, shape):
    x = _crandn(rng, shape)
    np.testing.assert_allclose(fft2c(x), _np_fft2c(x), rtol=1e-4, atol=1e-5)
    ref_inv = np.fft.fftshift(
        np.fft.ifft2(np.fft.ifftshift(x, axes=(-2, -1)), norm="ortho"), axes=(-2, -1)
    )
    np.testing.assert_allclose(ifft2c(x), ref_inv, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("shape", SHAPES)
def test_inverse_and_parseval(rng, shape):
    x = _crandn(rng, shape)
    k = fft2c(x)
    assert k.dtype == np.complex64 and k.shape == x.shape
    np.testing.assert_allclose(ifft2c(k), x, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(k), np.linalg.norm(x), rtol=1e-5)


@pytest.mark.parametrize("shape", SHAPES)
def test_adjoint(rng, shape):
    x, y = _crandn(rng, shape), _crandn(rng, shape)
    lhs = np.vdot(fft2c(x), y)
    rhs = np.vdot(x, ifft2c(y))
    np.testing.assert_allclose(lhs, rhs, rtol=1e-4)


def test_dc_at_centre_for_odd_and_even():
    for shape in [(6, 6), (7, 5)]:
        k = fft2c(np.ones(shape))
        h, w = shape
        assert np.argmax(np.abs(k)) == np.ravel_multi_index((h // 2, w // 2), shape)
        np.testing.assert_allclose(abs(k[h // 2, w // 2]), np.sqrt(h * w), rtol=1e-6)


def test_batched_equals_loop(rng):
    x = _crandn(rng, (4, 10, 12))
    np.testing.assert_allclose(fft2c(x), np.stack([fft2c(s) for s in x]), atol=1e-5)


def test_tf_versions_match_numpy(rng):
    x = _crandn(rng, (2, 9, 8))
    np.testing.assert_allclose(fft2c_tf(tf.constant(x)).numpy(), fft2c(x), atol=1e-6)
    np.testing.assert_allclose(ifft2c_tf(tf.constant(x)).numpy(), ifft2c(x), atol=1e-6)


def test_masked_operators_are_adjoint(rng):
    shape = (12, 10)
    mask = rng.uniform(size=shape) < 0.4
    x, y = _crandn(rng, shape), _crandn(rng, shape)
    lhs = np.vdot(forward_op(x, mask), y)
    rhs = np.vdot(x, adjoint_op(y, mask))
    np.testing.assert_allclose(lhs, rhs, rtol=1e-4)
    assert np.all(forward_op(x, mask)[~mask] == 0)


def test_sense_operators_are_adjoint_and_reduce_to_single_coil(rng):
    shape = (10, 11)
    mask = rng.uniform(size=shape) < 0.5
    sens = _crandn(rng, (4,) + shape)
    x, y = _crandn(rng, shape), _crandn(rng, (4,) + shape)
    lhs = np.vdot(sense_forward(x, sens, mask), y)
    rhs = np.vdot(x, sense_adjoint(y, sens, mask))
    np.testing.assert_allclose(lhs, rhs, rtol=1e-4)
    ones = np.ones((1,) + shape, np.complex64)
    np.testing.assert_allclose(sense_forward(x, ones, mask)[0], forward_op(x, mask), atol=1e-5)


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.ones(5), "at least 2 dimensions"),
        (np.array([[1.0, np.nan], [0.0, 1.0]]), "NaN or Inf"),
        (np.array([[1.0, np.inf], [0.0, 1.0]]), "NaN or Inf"),
        (np.zeros((0, 4)), "empty"),
        (np.array([["a", "b"], ["c", "d"]]), "numeric"),
    ],
)
def test_bad_input_raises_value_error(bad, match):
    with pytest.raises(ValueError, match=match):
        fft2c(bad)
    with pytest.raises(ValueError, match=match):
        ifft2c(bad)


def test_mask_shape_mismatch_raises():
    with pytest.raises(ValueError, match=r"mask \(4, 5\) does not match k-space \(4, 4\)"):
        adjoint_op(np.ones((4, 4)), np.ones((4, 5), bool))
    with pytest.raises(ValueError, match="only 0 and 1"):
        forward_op(np.ones((4, 4)), np.full((4, 4), 0.5))
    with pytest.raises(ValueError, match="coils"):
        sense_adjoint(np.ones((3, 4, 4)), np.ones((2, 4, 4)), np.ones((4, 4), bool))
