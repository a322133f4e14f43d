r"""Reconstruction networks (Keras 3): the tutorial's ResCNN and an unrolled cascade with data consistency.

Array layouts (NHWC, float32 everywhere at the Keras boundary, so no complex tensor ever
crosses ``Model.__call__``):

* magnitude image: shape (B, H, W, 1);
* complex image or k-space "as 2 channels": shape (B, H, W, 2), channel 0 = real part,
  channel 1 = imaginary part; k-space is centred and orthonormal (DC at (H // 2, W // 2)),
  exactly as :func:`recon_core.ops.fft.fft2c_tf` makes it;
* mask: shape (B, H, W, 1), 1.0 where k-space was sampled, 0.0 elsewhere.

Networks work on *normalised* data by default: the k-space is divided by the maximum magnitude
of the zero-filled image, so the zero-filled input has max 1 whatever the scanner's scale.
:func:`reconstruct` does this (and undoes it) for you; training does the same
(:mod:`recon_core.dl.data`). A network trained with ``TrainConfig(normalise=False)`` sees the
data as they are: pass ``normalise=False`` to :func:`reconstruct` for it.

* :class:`ResCNN` (the tutorial's network): ``x + CNN(x - 0.5)`` on the zero-filled magnitude,
  ``n_convs`` 3x3 convolutions, ReLU except the last one, which is linear.
* :class:`UnrolledNet`: ``n_cascades`` times: a residual CNN block on the complex image (2
  channels), then a data-consistency step in k-space,

  .. math::

      k \leftarrow (1 - w M) \odot F x + w M \odot y, \qquad x \leftarrow F^H k,

  with :math:`w = 1` ("hard": the measured samples are restored exactly) or a learned
  :math:`w = \sigma(\theta) \in (0, 1)` per cascade ("soft"). Fully convolutional, so any
  image size works.

References:
    Schlemper, J. et al. "A deep cascade of convolutional neural networks for dynamic MR image
    reconstruction." IEEE Trans. Med. Imaging 37(2), 2018.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf
from numpy.typing import ArrayLike

from recon_core.checks import as_array, as_mask, check_int
from recon_core.ops.fft import fft2c_tf, ifft2c_tf

__all__ = [
    "ARCHITECTURES",
    "DC_MODES",
    "ResCNN",
    "UnrolledNet",
    "ConvBlock",
    "DataConsistency",
    "to_channels",
    "to_complex",
    "reconstruct",
    "count_params",
]

#: Names accepted by :func:`recon_core.dl.training.build_model` (``TrainConfig.model``).
ARCHITECTURES: tuple[str, ...] = ("rescnn", "unrolled")
#: Data-consistency modes of :class:`UnrolledNet`.
DC_MODES: tuple[str, ...] = ("hard", "soft")

_PACKAGE = "recon_core"


def to_complex(x: tf.Tensor) -> tf.Tensor:
    """(..., H, W, 2) float32 (real, imaginary) -> (..., H, W) complex64."""
    return tf.complex(x[..., 0], x[..., 1])


def to_channels(z: tf.Tensor) -> tf.Tensor:
    """(..., H, W) complex64 -> (..., H, W, 2) float32 (real, imaginary)."""
    return tf.stack([tf.math.real(z), tf.math.imag(z)], axis=-1)


def _initializer(seed: int | None, index: int):
    # One distinct seed per layer: a seeded Keras initializer returns the same values each call.
    return keras.initializers.GlorotUniform(seed=None if seed is None else seed * 1000 + index)


def _convs(n_convs: int, n_filters: int, out_channels: int, seed: int | None, first_index: int):
    layers = [
        keras.layers.Conv2D(
            n_filters, 3, padding="same", activation="relu",
            kernel_initializer=_initializer(seed, first_index + i), name=f"conv{i}",
        )
        for i in range(n_convs - 1)
    ]
    # The last convolution is linear: a residual must be able to take negative values.
    layers.append(
        keras.layers.Conv2D(
            out_channels, 3, padding="same", activation=None,
            kernel_initializer=_initializer(seed, first_index + n_convs - 1),
            name=f"conv{n_convs - 1}",
        )
    )
    return layers


def _check_sizes(n_convs: int, n_filters: int) -> None:
    check_int(n_convs, "n_convs", minimum=1)
    check_int(n_filters, "n_filters", minimum=1)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class ResCNN(keras.Model):
    """The tutorial's residual CNN on the zero-filled magnitude: ``x + CNN(x - offset)``.

    Args:
        n_convs: number of 3x3 convolutions (>= 1); all but the last have ``n_filters``
            outputs and a ReLU, the last has one output and no activation.
        n_filters: width of the hidden convolutions.
        offset: subtracted from the input before the CNN (the tutorial's ``- 0.5`` centring).
        seed: seed of the weight initialisation (``None``: random).

    Input: normalised zero-filled magnitude, float32, shape (B, H, W, 1), any H and W.
    Output: reconstructed magnitude, same shape.

    :Examples:

    >>> import numpy as np
    >>> net = ResCNN(n_convs=2, n_filters=4, seed=0)
    >>> net(np.zeros((1, 16, 16, 1), np.float32)).shape
    TensorShape([1, 16, 16, 1])
    """

    def __init__(self, n_convs: int = 10, n_filters: int = 32, offset: float = 0.5,
                 seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        _check_sizes(n_convs, n_filters)
        self.n_convs = int(n_convs)
        self.n_filters = int(n_filters)
        self.offset = float(offset)
        self.seed = seed
        self.convs = _convs(self.n_convs, self.n_filters, 1, seed, 0)

    def call(self, inputs):
        res = inputs - self.offset
        for conv in self.convs:
            res = conv(res)
        return inputs + res

    def get_config(self):
        config = super().get_config()
        config.update(n_convs=self.n_convs, n_filters=self.n_filters, offset=self.offset,
                      seed=self.seed)
        return config


@keras.saving.register_keras_serializable(package=_PACKAGE)
class ConvBlock(keras.layers.Layer):
    """Residual CNN block on a complex image as 2 channels: ``x + CNN(x)``, shape (B, H, W, 2)."""

    def __init__(self, n_convs: int = 5, n_filters: int = 16, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        _check_sizes(n_convs, n_filters)
        self.n_convs = int(n_convs)
        self.n_filters = int(n_filters)
        self.seed = seed
        self.convs = _convs(self.n_convs, self.n_filters, 2, seed, 0)

    def build(self, input_shape):
        shape = tuple(input_shape)
        for conv in self.convs:
            conv.build(shape)
            shape = shape[:-1] + (conv.filters,)

    def call(self, x):
        res = x
        for conv in self.convs:
            res = conv(res)
        return x + res

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(n_convs=self.n_convs, n_filters=self.n_filters, seed=self.seed)
        return config


@keras.saving.register_keras_serializable(package=_PACKAGE)
class DataConsistency(keras.layers.Layer):
    r"""Data-consistency step :math:`x \leftarrow F^H((1 - wM) F x + w M y)`.

    Uses :func:`recon_core.ops.fft.fft2c_tf` / :func:`~recon_core.ops.fft.ifft2c_tf`, the same
    operators as the rest of recon_core.

    Args:
        mode: ``"hard"`` (w = 1: measured samples are replaced exactly) or ``"soft"``
            (w = sigmoid(theta), a trainable scalar initialised to ``init_weight``).
        init_weight: initial w for ``"soft"``, in (0, 1).

    Inputs ``[x, y, mask]``: image (B, H, W, 2), measured k-space (B, H, W, 2) (zero where not
    sampled), mask (B, H, W, 1) in {0, 1}. Output: image (B, H, W, 2).
    """

    def __init__(self, mode: str = "hard", init_weight: float = 0.5, **kwargs):
        super().__init__(**kwargs)
        if mode not in DC_MODES:
            raise ValueError(f"unknown data-consistency mode {mode!r}; valid: {', '.join(DC_MODES)}")
        if not 0.0 < float(init_weight) < 1.0:
            raise ValueError(f"init_weight must be in (0, 1), got {init_weight!r}")
        self.mode = mode
        self.init_weight = float(init_weight)

    def build(self, input_shape):
        if self.mode == "soft":
            logit = math.log(self.init_weight / (1.0 - self.init_weight))
            self.theta = self.add_weight(
                name="theta", shape=(), initializer=keras.initializers.Constant(logit),
                trainable=True,
            )

    def weight(self) -> tf.Tensor:
        """The current consistency weight w (1.0 for hard)."""
        if self.mode == "hard":
            return tf.constant(1.0)
        return tf.sigmoid(tf.convert_to_tensor(self.theta))

    def call(self, inputs):
        x, y, mask = inputs
        k = fft2c_tf(to_complex(x))
        y = to_complex(y)
        m = mask[..., 0]
        if self.mode == "soft":
            m = m * tf.sigmoid(tf.convert_to_tensor(self.theta))
        m = tf.cast(m, tf.complex64)
        # (1 - m) k + m y: where m == 1 this is exactly y (0 * k + 1 * y), bit for bit.
        k = (1.0 - m) * k + m * y
        return to_channels(ifft2c_tf(k))

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        config = super().get_config()
        config.update(mode=self.mode, init_weight=self.init_weight)
        return config


@keras.saving.register_keras_serializable(package=_PACKAGE)
class UnrolledNet(keras.Model):
    """Unrolled cascade: ``n_cascades`` x (residual CNN block -> data consistency).

    Args:
        n_cascades: number of CNN + data-consistency stages (>= 1), weights not shared.
        n_convs: convolutions per CNN block (>= 1).
        n_filters: width of the hidden convolutions.
        dc: ``"hard"`` or ``"soft"`` data consistency (see :class:`DataConsistency`).
        seed: seed of the weight initialisation (``None``: random).

    Inputs ``[zero_filled, kspace, mask]`` (all float32): normalised zero-filled complex image
    (B, H, W, 2), normalised masked k-space (B, H, W, 2), mask (B, H, W, 1).
    Output: complex image as 2 channels, shape (B, H, W, 2).

    :Examples:

    >>> import numpy as np
    >>> net = UnrolledNet(n_cascades=2, n_convs=2, n_filters=4, seed=0)
    >>> z = np.zeros((1, 16, 16, 2), np.float32); m = np.ones((1, 16, 16, 1), np.float32)
    >>> net([z, z, m]).shape
    TensorShape([1, 16, 16, 2])
    """

    def __init__(self, n_cascades: int = 5, n_convs: int = 5, n_filters: int = 16,
                 dc: str = "hard", seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        check_int(n_cascades, "n_cascades", minimum=1)
        _check_sizes(n_convs, n_filters)
        if dc not in DC_MODES:
            raise ValueError(f"unknown data-consistency mode {dc!r}; valid: {', '.join(DC_MODES)}")
        self.n_cascades = int(n_cascades)
        self.n_convs = int(n_convs)
        self.n_filters = int(n_filters)
        self.dc = dc
        self.seed = seed
        self.blocks = [
            ConvBlock(self.n_convs, self.n_filters, seed=None if seed is None else seed * 100 + i,
                      name=f"block{i}")
            for i in range(self.n_cascades)
        ]
        self.dcs = [DataConsistency(dc, name=f"dc{i}") for i in range(self.n_cascades)]

    def call(self, inputs):
        x, y, mask = inputs
        for block, dc in zip(self.blocks, self.dcs):
            x = dc([block(x), y, mask])
        return x

    def get_config(self):
        config = super().get_config()
        config.update(n_cascades=self.n_cascades, n_convs=self.n_convs, n_filters=self.n_filters,
                      dc=self.dc, seed=self.seed)
        return config


def count_params(model: keras.Model) -> int:
    """Number of scalar weights of a built model."""
    return int(sum(int(np.prod(w.shape)) for w in model.weights))


def _normalised_inputs(kspace: np.ndarray, mask: np.ndarray, normalise: bool = True):
    """Masked k-space -> (zero-filled complex, masked k-space, scale), both divided by scale.

    The scale is the maximum zero-filled magnitude of each image, or 1 without ``normalise``.
    """
    y = (kspace * mask).astype(np.complex64)
    zf = ifft2c_tf(tf.constant(y)).numpy()
    if not normalise:
        return zf, y, np.ones(zf.shape[:-2] + (1, 1), np.float32)
    scale = np.max(np.abs(zf), axis=(-2, -1), keepdims=True)
    scale = np.where(scale > 0, scale, 1.0).astype(np.float32)
    return zf / scale, y / scale, scale


def reconstruct(model: keras.Model, kspace: ArrayLike, mask: ArrayLike,
                batch_size: int = 8, *, normalise: bool = True) -> np.ndarray:
    """Reconstruct images from undersampled k-space with a trained network.

    The data are normalised by the maximum zero-filled magnitude of each image (as in
    training), run through the network, and scaled back.

    Args:
        model: a :class:`ResCNN` or :class:`UnrolledNet` (or a model loaded from a ``.keras``
            file of one).
        kspace: complex, shape (H, W) or (N, H, W), centred, orthonormal; values where
            ``mask`` is False are ignored.
        mask: bool or 0/1, shape (H, W) or (N, H, W); True = sampled.
        batch_size: images per forward pass.
        normalise: as the network was trained (``TrainConfig.normalise``; a loaded
            ``TrainedModel`` has it in ``.config``). False feeds the data unscaled.

    Returns:
        image: complex64, shape (H, W) or (N, H, W). ResCNN outputs a magnitude (zero phase).

    :Examples:

    >>> import numpy as np
    >>> from recon_core import fft2c
    >>> net = ResCNN(n_convs=2, n_filters=4, seed=0)
    >>> x = np.zeros((16, 16), np.float32); x[4:12, 4:12] = 1
    >>> reconstruct(net, fft2c(x), np.ones((16, 16), bool)).shape
    (16, 16)
    """
    k = as_array(kspace, "kspace", min_ndim=2).astype(np.complex64)
    if k.ndim > 3:
        raise ValueError(f"kspace must have shape (H, W) or (N, H, W), got {k.shape}")
    m = as_mask(mask, k.shape)
    check_int(batch_size, "batch_size", minimum=1)
    if not isinstance(normalise, bool):
        raise ValueError(f"normalise must be True or False, got {normalise!r}")
    single = k.ndim == 2
    k = k[None] if single else k
    m = np.broadcast_to(m, k.shape).astype(np.float32)
    zf, y, scale = _normalised_inputs(k, m, normalise)
    outs = []
    for start in range(0, k.shape[0], batch_size):
        sl = slice(start, start + batch_size)
        if isinstance(model, UnrolledNet):
            z2 = to_channels(tf.constant(zf[sl])).numpy()
            y2 = to_channels(tf.constant(y[sl])).numpy()
            out = model([z2, y2, m[sl][..., None]], training=False)
            out = to_complex(tf.convert_to_tensor(out)).numpy()
        else:  # a magnitude network (ResCNN)
            out = model(np.abs(zf[sl])[..., None], training=False)
            out = np.asarray(out)[..., 0].astype(np.complex64)
        outs.append(out)
    image = (np.concatenate(outs) * scale).astype(np.complex64)
    return image[0] if single else image

