"""Every operator, one set of properties: adjointness, the normal map, shapes and errors.

Like SigPy's ``test_linop.py`` and DeepInverse's adjointness check: each case builds an operator
and inputs of its trailing shapes (with and without a batch axis), and the same assertions run
on all of them.
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from recon_core.ops import (
    FFT2,
    CoilSensitivities,
    FiniteDifference,
    Sampling,
    estimate_norm,
    sense,
    single_coil,
)
from recon_core.ops.base import Identity, fourier_layout
from recon_core.ops.nufft import NUFFT

SHAPES = [(8, 8), (7, 9), (6, 11)]  # even, odd, non-square


def _crandn(rng, shape):
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex64)


def _cases(shape, rng):
    h, w = shape
    mask = rng.uniform(size=shape) < 0.5
    sens = _crandn(rng, (3, h, w))
    return {
        "fft": FFT2(shape),
        "fft-uncentred": FFT2(shape, centred=False),
        "mask": Sampling(mask),
        "weights": Sampling(rng.uniform(size=shape).astype(np.float32)),
        "coils": CoilSensitivities(sens),
        "diff": FiniteDifference(shape),
        "MF": single_coil(mask),
        "MF-uncentred": single_coil(mask, centred=False),
        "MFS": sense(mask, sens),
        "D MF^H": FiniteDifference(shape) @ single_coil(mask).H,
        "(MFS)^H(MFS)": sense(mask, sens).N,
        "nufft": NUFFT(_random_coord(rng, shape, 40), shape),
        "nufft S": NUFFT(_random_coord(rng, shape, 40), shape) @ CoilSensitivities(sens),
    }


def _random_coord(rng, shape, n):
    h, w = shape
    return np.stack([rng.uniform(-h / 2, h / 2, n), rng.uniform(-w / 2, w / 2, n)], -1)


CASE_NAMES = list(_cases((4, 4), np.random.default_rng(0)))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", CASE_NAMES)
@pytest.mark.parametrize("batch", [(), (2,)])
def test_adjoint_and_normal(shape, name, batch):
    rng = np.random.default_rng(hash((shape, name, batch)) % 2**32)
    op = _cases(shape, rng)[name]
    x = _crandn(rng, batch + op.ishape)
    y = _crandn(rng, batch + op.oshape)
    ax = op.forward(x).numpy()
    aty = op.adjoint(y).numpy()
    assert ax.shape == batch + op.oshape and aty.shape == batch + op.ishape
    # <A x, y> = <x, A^H y>
    lhs, rhs = np.vdot(ax, y), np.vdot(x, aty)
    np.testing.assert_allclose(lhs, rhs, rtol=1e-4, atol=1e-4 * abs(lhs))
    # the normal map (and its operator .N) equal A^H (A x)
    ahax = op.adjoint(ax).numpy()
    scale = np.max(np.abs(ahax))
    np.testing.assert_allclose(op.normal(x).numpy(), ahax, atol=1e-5 * scale)
    np.testing.assert_allclose(op.N.forward(x).numpy(), ahax, atol=1e-5 * scale)
    # .H swaps the maps
    np.testing.assert_allclose(op.H.forward(y).numpy(), aty, atol=1e-5 * np.max(np.abs(aty)))
    # a norm bound, where the operator states one, holds (power iteration from below)
    bound = op.norm_bound()
    if bound is not None:
        assert estimate_norm(op, op.ishape, n_iter=50) <= 1.02 * bound + 1e-6


@pytest.mark.parametrize("name", CASE_NAMES)
def test_rebuilt_around_its_tensors_is_the_same_operator(name, rng):
    op = _cases((6, 7), rng)[name]
    twin = op.with_tensors(op.tensors())
    x = _crandn(rng, op.ishape)
    np.testing.assert_array_equal(twin.forward(x).numpy(), op.forward(x).numpy())
    assert twin.key() == op.key()
    hash(op.key())


def test_fft_matches_numpy_and_is_unitary(rng):
    x = _crandn(rng, (5, 7, 6))
    ref = np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(x, axes=(-2, -1)), norm="ortho"), axes=(-2, -1))
    np.testing.assert_allclose(FFT2((7, 6)).forward(x).numpy(), ref, atol=1e-5)
    np.testing.assert_allclose(FFT2((7, 6), centred=False).forward(x).numpy(),
                               np.fft.fft2(x, norm="ortho"), atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(FFT2((7, 6)).forward(x)), np.linalg.norm(x), rtol=1e-5)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("centred", [False, True])
def test_fourier_diagonals_reproduce_the_normal_maps(shape, centred, rng):
    """What makes ADMM's x-update exact: A^H A = F^H diag(d) F for M F and for D^H D."""
    mask = rng.uniform(size=shape) < 0.5
    F = FFT2(shape, centred=centred)
    x = tf.constant(_crandn(rng, shape))
    for op in (single_coil(mask, centred=centred), FiniteDifference(shape)):
        d = op.normal_fourier_diagonal(x, centred)
        via_fft = F.adjoint(tf.cast(d, tf.complex64) * F.forward(x)).numpy()
        np.testing.assert_allclose(via_fft, op.normal(x).numpy(), atol=1e-4)
    # M F of the other layout is not diagonal in this one; SENSE is diagonal in none
    assert single_coil(mask, centred=not centred).normal_fourier_diagonal(x, centred) is None
    assert fourier_layout([sense(mask, _crandn(rng, (2, *shape)))]) is None
    assert fourier_layout([single_coil(mask, centred=centred), FiniteDifference(shape)]) is centred


def test_after_fft_splits_off_the_transform(rng):
    mask = rng.uniform(size=(4, 5)) < 0.5
    assert isinstance(FFT2((4, 5)).after_fft(True), Identity)
    assert FFT2((4, 5)).after_fft(False) is None
    b = single_coil(mask).after_fft(True)
    assert isinstance(b, Sampling)
    np.testing.assert_array_equal(b.diagonal().numpy().real, mask.astype(np.float32))


def test_shape_errors_name_the_shapes(rng):
    op = sense(np.ones((6, 7), bool), _crandn(rng, (3, 6, 7)))
    with pytest.raises(ValueError, match=r"expected an array ending in shape \(6, 7\), got \(6, 8\)"):
        op.forward(np.zeros((6, 8)))
    with pytest.raises(ValueError, match=r"ending in shape \(3, 6, 7\), got \(2, 6, 7\)"):
        op.adjoint(np.zeros((2, 6, 7)))
    with pytest.raises(ValueError, match=r"cannot compose FFT2 \(input \(6, 7\)\) with .*\(5, 7\)"):
        FFT2((6, 7)) @ FiniteDifference((5, 7)).H
    with pytest.raises(ValueError, match=r"\(\.\.\., C, H, W\), got \(6, 7\)"):
        CoilSensitivities(np.ones((6, 7)))
    with pytest.raises(ValueError, match=r"\(H, W\)"):
        FFT2((6,))


def test_operators_work_inside_a_compiled_function(rng):
    mask = rng.uniform(size=(8, 10)) < 0.5
    sens = _crandn(rng, (2, 8, 10))
    op = sense(mask, sens)

    @tf.function(jit_compile=True)
    def normal(params, x):
        return op.with_tensors(params).apply_normal(x)

    x = _crandn(rng, (8, 10))
    np.testing.assert_allclose(normal(list(op.tensors()), x).numpy(), op.normal(x).numpy(), atol=1e-4)
