"""Tests of recon_core.dl.models: shapes, residual structure, data consistency, saving, reconstruct."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from recon_core.ops.fft import fft2c, ifft2c
from recon_core.dl.models import (
    DataConsistency,
    ResCNN,
    UnrolledNet,
    NOISE_DC_INIT_TAU,
    count_params,
    noise_conditioned,
    reconstruct,
    to_channels,
    to_complex,
)


def _unrolled_inputs(rng, shape, batch=2, rate=0.4):
    h, w = shape
    image = rng.random((batch, h, w)).astype(np.float32)
    mask = rng.random((batch, h, w)) < rate
    y = (fft2c(image) * mask).astype(np.complex64)
    zf = ifft2c(y)
    return (
        to_channels(tf.constant(zf)).numpy(),
        to_channels(tf.constant(y)).numpy(),
        mask[..., None].astype(np.float32),
    ), y, mask


@pytest.mark.parametrize("shape", [(16, 16), (17, 23), (32, 20)])
def test_rescnn_output_shape(shape):
    net = ResCNN(n_convs=3, n_filters=4, seed=0)
    x = np.zeros((2, *shape, 1), np.float32)
    assert net(x).shape == (2, *shape, 1)


@pytest.mark.parametrize("shape", [(16, 16), (17, 23)])
@pytest.mark.parametrize("dc", ["hard", "soft"])
def test_unrolled_output_shape(rng, shape, dc):
    net = UnrolledNet(n_cascades=2, n_convs=2, n_filters=4, dc=dc, seed=0)
    inputs, _, _ = _unrolled_inputs(rng, shape)
    assert net(list(inputs)).shape == (2, *shape, 2)


def test_rescnn_layers_match_the_tutorial():
    net = ResCNN(n_convs=10, n_filters=32, seed=0)
    net(np.zeros((1, 8, 8, 1), np.float32))
    assert len(net.convs) == 10
    assert [c.filters for c in net.convs] == [32] * 9 + [1]
    assert all(c.activation is keras.activations.relu for c in net.convs[:-1])
    assert net.convs[-1].activation is keras.activations.linear
    # 3x3 kernels: 1->32, 8 x 32->32, 32->1, plus biases.
    assert count_params(net) == (9 * 32 + 32) + 8 * (9 * 32 * 32 + 32) + (9 * 32 + 1)


def test_rescnn_is_residual(rng):
    """With the last convolution zeroed, the network is the identity."""
    net = ResCNN(n_convs=3, n_filters=4, seed=0)
    x = rng.random((1, 12, 12, 1)).astype(np.float32)
    net(x)
    last = net.convs[-1]
    last.set_weights([np.zeros_like(w) for w in last.get_weights()])
    np.testing.assert_array_equal(net(x).numpy(), x)


def test_seed_makes_initialisation_reproducible():
    a = ResCNN(4, 4, seed=7)
    b = ResCNN(4, 4, seed=7)
    c = ResCNN(4, 4, seed=8)
    x = np.zeros((1, 8, 8, 1), np.float32)
    a(x), b(x), c(x)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    assert not np.array_equal(a.get_weights()[0], c.get_weights()[0])
    # Layers get distinct seeds, so no two hidden kernels of the same shape are equal.
    k1, k2 = a.convs[1].get_weights()[0], a.convs[2].get_weights()[0]
    assert k1.shape == k2.shape and not np.array_equal(k1, k2)


def test_complex_channel_roundtrip(rng):
    z = (rng.standard_normal((3, 5)) + 1j * rng.standard_normal((3, 5))).astype(np.complex64)
    ch = to_channels(tf.constant(z))
    assert ch.shape == (3, 5, 2) and ch.dtype == tf.float32
    np.testing.assert_array_equal(to_complex(ch).numpy(), z)


def test_hard_dc_restores_measured_samples(rng):
    inputs, y, mask = _unrolled_inputs(rng, (24, 20))
    x = rng.standard_normal((2, 24, 20, 2)).astype(np.float32)  # an arbitrary image
    out = DataConsistency("hard")([x, inputs[1], inputs[2]])
    k_out = fft2c(to_complex(out).numpy())
    scale = np.abs(y).max()
    np.testing.assert_allclose(k_out[mask], y[mask], atol=1e-5 * scale)
    # Unmeasured samples are those of x.
    k_x = fft2c(to_complex(tf.constant(x)).numpy())
    np.testing.assert_allclose(k_out[~mask], k_x[~mask], atol=1e-5 * np.abs(k_x).max())


def test_unrolled_hard_network_is_data_consistent(rng):
    net = UnrolledNet(n_cascades=3, n_convs=2, n_filters=4, dc="hard", seed=1)
    inputs, y, mask = _unrolled_inputs(rng, (16, 16))
    out = to_complex(net(list(inputs))).numpy()
    k_out = fft2c(out)
    np.testing.assert_allclose(k_out[mask], y[mask], atol=1e-5 * np.abs(y).max())
    assert not np.allclose(out, ifft2c(y), atol=1e-3)  # and it did change the image


def test_soft_dc_is_a_learned_convex_combination(rng):
    inputs, y, mask = _unrolled_inputs(rng, (16, 16), batch=1)
    x = rng.standard_normal((1, 16, 16, 2)).astype(np.float32)
    layer = DataConsistency("soft", init_weight=0.25)
    out = layer([x, inputs[1], inputs[2]])
    assert len(layer.trainable_weights) == 1
    assert float(layer.weight()) == pytest.approx(0.25, rel=1e-5)
    k_x = fft2c(to_complex(tf.constant(x)).numpy())
    expected = np.where(mask, 0.75 * k_x + 0.25 * y, k_x)
    np.testing.assert_allclose(fft2c(to_complex(out).numpy()), expected, atol=1e-4)


def test_dc_rejects_bad_arguments():
    with pytest.raises(ValueError, match="mode"):
        DataConsistency("medium")
    with pytest.raises(ValueError, match="init_weight"):
        DataConsistency("soft", init_weight=1.0)
    with pytest.raises(ValueError, match="data-consistency mode 'nope'"):
        UnrolledNet(dc="nope")
    with pytest.raises(ValueError, match="n_convs"):
        ResCNN(n_convs=0)


def test_noise_dc_weights_samples_by_their_noise(rng):
    inputs, y, mask = _unrolled_inputs(rng, (16, 16), batch=3)
    x = rng.standard_normal((3, 16, 16, 2)).astype(np.float32)
    layer = DataConsistency("noise")
    sigma = np.array([[0.0], [NOISE_DC_INIT_TAU], [3 * NOISE_DC_INIT_TAU]], np.float32)
    out = fft2c(to_complex(layer([x, inputs[1], inputs[2], sigma])).numpy())
    assert len(layer.trainable_weights) == 1
    k_x = fft2c(to_complex(tf.constant(x)).numpy())
    # w = 1 / (1 + (s / tau)^2): noiseless -> hard (1), s = tau -> 1/2, s = 3 tau -> 1/10
    for b, w in enumerate([1.0, 0.5, 0.1]):
        assert float(layer.weight(float(sigma[b, 0]))) == pytest.approx(w, rel=1e-5)
        expected = np.where(mask[b], (1 - w) * k_x[b] + w * y[b], k_x[b])
        np.testing.assert_allclose(out[b], expected, atol=1e-4)
    with pytest.raises(ValueError, match="noise_std"):
        layer([x, inputs[1], inputs[2]])


def test_noise_conditioned_network_is_told_the_noise_level(rng):
    net = UnrolledNet(n_cascades=2, n_convs=2, n_filters=4, dc="noise", seed=3)
    inputs, y, mask = _unrolled_inputs(rng, (16, 16), batch=2)
    assert noise_conditioned(net) and not noise_conditioned(UnrolledNet(1, 2, 4))
    zero = np.zeros((2, 1), np.float32)
    out = to_complex(net(list(inputs) + [zero])).numpy()
    # told "noiseless", the network restores the measured samples exactly (hard consistency)
    np.testing.assert_allclose(fft2c(out)[mask], y[mask], atol=1e-5 * np.abs(y).max())
    # the CNN blocks see the level too: another level, another image (not only another blend)
    noisy = to_complex(net(list(inputs) + [np.full((2, 1), 0.05, np.float32)])).numpy()
    assert not np.allclose(noisy, out, atol=1e-4)
    with pytest.raises(ValueError, match="noise_std"):
        net(list(inputs))
    # reconstruct passes a known level (one number or one per image) and checks it
    k = (fft2c(rng.random((2, 16, 16))) * mask).astype(np.complex64)
    a = reconstruct(net, k, mask, noise_std=0.0)
    np.testing.assert_allclose(reconstruct(net, k, mask, noise_std=[0.0, 0.0]), a)
    assert not np.allclose(reconstruct(net, k, mask, noise_std=0.2), a, atol=1e-4)
    assert reconstruct(net, k, mask).shape == (2, 16, 16)  # None: estimated from the corners
    with pytest.raises(ValueError, match="one per image"):
        reconstruct(net, k, mask, noise_std=[0.1, 0.1, 0.1])
    with pytest.raises(ValueError, match=">= 0"):
        reconstruct(net, k, mask, noise_std=-1.0)


@pytest.mark.parametrize("kind", ["rescnn", "unrolled-hard", "unrolled-soft", "unrolled-noise"])
def test_keras_file_roundtrip(tmp_path, rng, kind):
    extra = []
    if kind == "rescnn":
        net = ResCNN(3, 4, seed=0)
        inputs = rng.random((1, 16, 16, 1)).astype(np.float32)
    else:
        net = UnrolledNet(2, 2, 4, dc=kind.split("-")[1], seed=0)
        extra = [np.full((1, 1), 0.02, np.float32)] if kind == "unrolled-noise" else []
        inputs = list(_unrolled_inputs(rng, (16, 16), batch=1)[0]) + extra
    expected = net(inputs).numpy()
    net.save(tmp_path / "net.keras")
    loaded = keras.models.load_model(tmp_path / "net.keras")
    assert type(loaded) is type(net)
    assert loaded.get_config() == net.get_config()
    np.testing.assert_array_equal(loaded(inputs).numpy(), expected)
    # Fully convolutional: the loaded network takes another size too.
    other = (np.zeros((1, 24, 20, 1), np.float32) if kind == "rescnn"
             else list(_unrolled_inputs(rng, (24, 20), batch=1)[0]) + extra)
    assert loaded(other).shape[1:3] == (24, 20)


@pytest.mark.parametrize("net", [ResCNN(2, 4, seed=0), UnrolledNet(2, 2, 4, seed=0)],
                         ids=["rescnn", "unrolled"])
def test_reconstruct_shapes_and_scale_equivariance(net, rng):
    x = rng.random((3, 16, 16)).astype(np.float32)
    mask = rng.random((16, 16)) < 0.5
    k = fft2c(x) * mask
    out = reconstruct(net, k, mask, batch_size=2)
    assert out.shape == (3, 16, 16) and out.dtype == np.complex64
    single = reconstruct(net, k[1], mask)
    np.testing.assert_allclose(single, out[1], rtol=1e-5, atol=1e-6)
    # Inputs are normalised by the zero-filled maximum: scaling k-space scales the output.
    np.testing.assert_allclose(reconstruct(net, 40.0 * k, mask), 40.0 * out, rtol=1e-4, atol=1e-4)


def test_reconstruct_rescnn_matches_manual_normalisation(rng):
    net = ResCNN(2, 4, seed=3)
    x = rng.random((16, 16)).astype(np.float32)
    mask = rng.random((16, 16)) < 0.5
    zf = np.abs(ifft2c(fft2c(x) * mask))
    s = zf.max()
    manual = net(zf[None, ..., None] / s).numpy()[0, ..., 0] * s
    np.testing.assert_allclose(reconstruct(net, fft2c(x), mask).real, manual, rtol=1e-5, atol=1e-6)


def test_reconstruct_without_normalisation_feeds_the_data_as_they_are(rng):
    net = ResCNN(2, 4, seed=3)
    x = 7.0 * rng.random((16, 16)).astype(np.float32)
    mask = rng.random((16, 16)) < 0.5
    zf = np.abs(ifft2c(fft2c(x) * mask))
    manual = net(zf[None, ..., None]).numpy()[0, ..., 0]
    out = reconstruct(net, fft2c(x), mask, normalise=False)
    np.testing.assert_allclose(out.real, manual, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="normalise"):
        reconstruct(net, fft2c(x), mask, normalise="no")


def test_reconstruct_rejects_bad_input():
    net = ResCNN(2, 4, seed=0)
    with pytest.raises(ValueError, match="mask"):
        reconstruct(net, np.zeros((8, 8), np.complex64), np.ones((8, 9), bool))
    with pytest.raises(ValueError, match="kspace"):
        reconstruct(net, np.zeros((1, 1, 8, 8), np.complex64), np.ones((8, 8), bool))
