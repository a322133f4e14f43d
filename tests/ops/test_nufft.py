"""The NUFFT: equal to fft2c on grid points, the Toeplitz normal map, coordinate checks.

Adjointness and the normal map of ``NUFFT`` and ``NUFFT @ CoilSensitivities`` are checked with
every other operator in ``test_operators.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from recon_core.ops import fft2c
from recon_core.ops.nonuniform import check_coord, nufft_adjoint, nufft_forward, toeplitz_kernel
from recon_core.ops.nufft import NUFFT

SHAPES = [(16, 16), (15, 17), (9, 12)]


def _grid(shape):
    h, w = shape
    return np.stack(np.meshgrid(np.arange(h) - h // 2, np.arange(w) - w // 2, indexing="ij"), -1)


def _crandn(rng, shape):
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


@pytest.mark.parametrize("shape", SHAPES)
def test_on_grid_points_it_is_the_centred_orthonormal_fft(shape, rng):
    x = _crandn(rng, (3, *shape))  # a batch of three coils
    k = nufft_forward(x, _grid(shape)).reshape(3, *shape)
    ref = fft2c(x)
    np.testing.assert_allclose(k, ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max())
    back = nufft_adjoint(k.reshape(3, -1), _grid(shape), shape)
    np.testing.assert_allclose(back, x, atol=1e-4 * np.abs(x).max())


@pytest.mark.parametrize("shape", SHAPES)
def test_toeplitz_normal_map_equals_forward_then_adjoint(shape, rng):
    h, w = shape
    coord = np.stack([rng.uniform(-h / 2, h / 2, 300), rng.uniform(-w / 2, w / 2, 300)], -1)
    op = NUFFT(coord, shape)
    x = _crandn(rng, (2, *shape)).astype(np.complex64)
    direct = nufft_adjoint(nufft_forward(x, coord), coord, shape)
    via_toeplitz = op.normal(x).numpy()
    np.testing.assert_allclose(via_toeplitz, direct, atol=2e-5 * np.abs(direct).max())
    # the kernel is real (A^H A is Hermitian) and the same computed twice
    np.testing.assert_array_equal(toeplitz_kernel(coord, shape), toeplitz_kernel(coord, shape))


def test_normal_map_compiles_with_xla(rng):
    coord = np.stack([rng.uniform(-4, 4, 50), rng.uniform(-5, 5, 50)], -1)
    op = NUFFT(coord, (8, 10))

    @tf.function(jit_compile=True)
    def normal(params, x):
        return op.with_tensors(params).apply_normal(x)

    x = _crandn(rng, (8, 10)).astype(np.complex64)
    np.testing.assert_allclose(normal(list(op.tensors()), x).numpy(), op.normal(x).numpy(),
                               atol=1e-4)
    assert not op.graph_forward() and not (op @ op.H).graph_forward()


def test_a_full_grid_is_unitary_and_its_kernel_is_one(rng):
    op = NUFFT(_grid((8, 8)), (8, 8))
    x = _crandn(rng, (8, 8)).astype(np.complex64)
    np.testing.assert_allclose(op.normal(x).numpy(), x, atol=1e-4)
    assert op.norm_bound() == pytest.approx(1.0, abs=1e-3)


def test_coordinates_outside_k_space_are_refused_with_the_point():
    with pytest.raises(ValueError, match=r"coordinate \(0, 4\) of sample 1 is outside the k-space "
                                         r"of a \(8, 8\) image: ky must be in \[-4, 4\)"):
        NUFFT([[0, 0], [0, 4]], (8, 8))
    with pytest.raises(ValueError, match=r"\(\.\.\., 2\)"):
        check_coord(np.zeros((5, 3)), (8, 8))
    with pytest.raises(ValueError, match="NaN"):
        check_coord([[np.nan, 0]], (8, 8))
    assert check_coord([[-4, -4], [3.999, 3.999]], (8, 8)).shape == (2, 2)


def test_samples_must_match_the_coordinates():
    with pytest.raises(ValueError, match=r"samples \(3,\) do not match 2 coordinates"):
        nufft_adjoint(np.ones(3), [[0, 0], [1, 1]], (8, 8))
