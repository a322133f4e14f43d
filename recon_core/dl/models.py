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

  with :math:`w = 1` ("hard": the measured samples are restored exactly), a learned
  :math:`w = \sigma(\theta) \in (0, 1)` per cascade ("soft"), or, told the noise level
  ("noise"), :math:`w = 1 / (1 + (s / \tau)^2)` with the noise standard deviation :math:`s` of
  each example and a learned :math:`\tau` per cascade: the weighting of a least-squares fit to
  noisy samples, so noiseless data (:math:`s = 0`) get hard consistency. In that mode every CNN
  block also sees :math:`s` as an extra input channel (noise-level conditioning, as in FFDNet).
  Fully convolutional, so any image size works.

References:
    Schlemper, J. et al. "A deep cascade of convolutional neural networks for dynamic MR image
    reconstruction." IEEE Trans. Med. Imaging 37(2), 2018.
    Zhang, K., Zuo, W. and Zhang, L. "FFDNet: toward a fast and flexible solution for CNN-based
    image denoising." IEEE Trans. Image Process. 27(9), 2018 (the noise-level input).
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
    "noise_conditioned",
    "NOISE_CHANNEL_SCALE",
    "reconstruct",
    "count_params",
]

#: Names accepted by :func:`recon_core.dl.training.build_model` (``TrainConfig.model``).
ARCHITECTURES: tuple[str, ...] = ("rescnn", "unrolled")
#: Data-consistency modes of :class:`UnrolledNet`.
DC_MODES: tuple[str, ...] = ("hard", "soft", "noise")
#: The noise-level channel of a ``dc="noise"`` network holds ``NOISE_CHANNEL_SCALE * s``, with
#: ``s`` the normalised noise standard deviation per k-space sample (about 0.05 at 20 dB for the
#: training ellipses), so that it is of order 1 like the image channels.
NOISE_CHANNEL_SCALE = 10.0
#: Initial tau of a ``dc="noise"`` step: samples with noise s = tau get weight 1/2.
NOISE_DC_INIT_TAU = 0.03

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
    """Residual CNN block on a complex image as 2 channels: ``x + CNN(x)``, shape (B, H, W, 2).

    With ``extra_channels`` > 0 the block is called as ``block(x, extra)`` and the CNN sees
    ``concat(x, extra)`` (for example a noise-level map), while the residual is still added to
    ``x``: ``x + CNN([x, extra])``.
    """

    def __init__(self, n_convs: int = 5, n_filters: int = 16, seed: int | None = None,
                 extra_channels: int = 0, **kwargs):
        super().__init__(**kwargs)
        _check_sizes(n_convs, n_filters)
        check_int(extra_channels, "extra_channels", minimum=0)
        self.n_convs = int(n_convs)
        self.n_filters = int(n_filters)
        self.seed = seed
        self.extra_channels = int(extra_channels)
        self.convs = _convs(self.n_convs, self.n_filters, 2, seed, 0)

    def build(self, x_shape, extra_shape=None):
        shape = tuple(x_shape)
        shape = shape[:-1] + (shape[-1] + self.extra_channels,)
        for conv in self.convs:
            conv.build(shape)
            shape = shape[:-1] + (conv.filters,)

    def call(self, x, extra=None):
        if (extra is None) != (self.extra_channels == 0):
            raise ValueError(f"this block expects {self.extra_channels} extra channel(s)"
                             + ("" if extra is None else ", got some"))
        res = x if extra is None else tf.concat([x, extra], axis=-1)
        for conv in self.convs:
            res = conv(res)
        return x + res

    def compute_output_shape(self, x_shape, extra_shape=None):
        return x_shape

    def get_config(self):
        config = super().get_config()
        config.update(n_convs=self.n_convs, n_filters=self.n_filters, seed=self.seed,
                      extra_channels=self.extra_channels)
        return config


@keras.saving.register_keras_serializable(package=_PACKAGE)
class DataConsistency(keras.layers.Layer):
    r"""Data-consistency step :math:`x \leftarrow F^H((1 - wM) F x + w M y)`.

    Uses :func:`recon_core.ops.fft.fft2c_tf` / :func:`~recon_core.ops.fft.ifft2c_tf`, the same
    operators as the rest of recon_core.

    Args:
        mode: ``"hard"`` (w = 1: measured samples are replaced exactly), ``"soft"``
            (w = sigmoid(theta), a trainable scalar initialised to ``init_weight``) or
            ``"noise"`` (w = 1 / (1 + (s / tau)^2) for an example of noise standard deviation
            s, with tau = exp(theta) trainable, initialised to :data:`NOISE_DC_INIT_TAU`).
        init_weight: initial w for ``"soft"``, in (0, 1).

    Inputs ``[x, y, mask]`` (``[x, y, mask, s]`` for ``"noise"``): image (B, H, W, 2),
    measured k-space (B, H, W, 2) (zero where not sampled), mask (B, H, W, 1) in {0, 1}, and
    noise standard deviation per complex k-space sample (B, 1), on the scale of ``y``.
    Output: image (B, H, W, 2).
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
        elif self.mode == "noise":
            self.theta = self.add_weight(
                name="log_tau", shape=(),
                initializer=keras.initializers.Constant(math.log(NOISE_DC_INIT_TAU)),
                trainable=True,
            )

    def weight(self, noise_std: float = 0.0) -> tf.Tensor:
        """The current consistency weight w (1.0 for hard; for ``"noise"``, at ``noise_std``)."""
        if self.mode == "hard":
            return tf.constant(1.0)
        if self.mode == "noise":
            return self._noise_weight(tf.constant(float(noise_std)))
        return tf.sigmoid(tf.convert_to_tensor(self.theta))

    def _noise_weight(self, s: tf.Tensor) -> tf.Tensor:
        """w = 1 / (1 + (s / tau)^2), tau = exp(theta): the "noise" mode's weight at noise s."""
        return 1.0 / (1.0 + tf.square(s / tf.exp(tf.convert_to_tensor(self.theta))))

    def call(self, inputs):
        if self.mode == "noise":
            if len(inputs) != 4:
                raise ValueError("noise-weighted data consistency takes [x, y, mask, noise_std]")
            x, y, mask, sigma = inputs
        else:
            x, y, mask = inputs
        k = fft2c_tf(to_complex(x))
        y = to_complex(y)
        m = mask[..., 0]
        if self.mode == "soft":
            m = m * tf.sigmoid(tf.convert_to_tensor(self.theta))
        elif self.mode == "noise":
            m = m * self._noise_weight(tf.reshape(tf.cast(sigma, m.dtype), [-1, 1, 1]))
        # tf.complex (not tf.cast): its gradient to a trainable weight is the real part, silently
        m = tf.complex(m, tf.zeros_like(m))
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
        dc: ``"hard"``, ``"soft"`` or ``"noise"`` data consistency (see
            :class:`DataConsistency`); ``"noise"`` also feeds each CNN block the noise level.
        seed: seed of the weight initialisation (``None``: random).

    Inputs ``[zero_filled, kspace, mask]`` (all float32): normalised zero-filled complex image
    (B, H, W, 2), normalised masked k-space (B, H, W, 2), mask (B, H, W, 1); with
    ``dc="noise"`` a fourth, the noise standard deviation per complex k-space sample on the
    normalised scale, shape (B, 1) (0 for noiseless data).
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
        extra = 1 if dc == "noise" else 0
        self.blocks = [
            ConvBlock(self.n_convs, self.n_filters, seed=None if seed is None else seed * 100 + i,
                      extra_channels=extra, name=f"block{i}")
            for i in range(self.n_cascades)
        ]
        self.dcs = [DataConsistency(dc, name=f"dc{i}") for i in range(self.n_cascades)]

    def call(self, inputs):
        if self.dc != "noise":
            x, y, mask = inputs
            for block, dc in zip(self.blocks, self.dcs):
                x = dc([block(x), y, mask])
            return x
        if len(inputs) != 4:
            raise ValueError("a noise-conditioned network (dc='noise') takes "
                             "[zero_filled, kspace, mask, noise_std]")
        x, y, mask, sigma = inputs
        sigma = tf.reshape(tf.cast(sigma, x.dtype), [-1, 1, 1, 1])
        level = tf.ones_like(x[..., :1]) * (NOISE_CHANNEL_SCALE * sigma)
        for block, dc in zip(self.blocks, self.dcs):
            x = dc([block(x, level), y, mask, sigma])
        return x

    def get_config(self):
        config = super().get_config()
        config.update(n_cascades=self.n_cascades, n_convs=self.n_convs, n_filters=self.n_filters,
                      dc=self.dc, seed=self.seed)
        return config


def noise_conditioned(model) -> bool:
    """True for a network that takes the noise level as an input (``UnrolledNet(dc="noise")``)."""
    return isinstance(model, UnrolledNet) and model.dc == "noise"


def count_params(model: keras.Model) -> int:
    """Number of scalar weights of a built model."""
    return int(sum(int(np.prod(w.shape)) for w in model.weights))


def _noise_stds(k: np.ndarray, m: np.ndarray, noise_std) -> np.ndarray:
    """One noise standard deviation per image of k (N, H, W): given, or estimated."""
    n = k.shape[0]
    if noise_std is None:
        from recon_core.recon.auto_lambda import noise_level

        return np.array([noise_level(ki * mi, mi > 0)[0] for ki, mi in zip(k, m)], np.float64)
    s = np.asarray(noise_std, dtype=np.float64).reshape(-1)
    if s.size == 1:
        s = np.full(n, s[0])
    if s.size != n:
        raise ValueError(f"noise_std must be one number or one per image ({n}), got {s.size}")
    if not np.all(np.isfinite(s)) or np.any(s < 0):
        raise ValueError(f"noise_std must be finite and >= 0, got {noise_std!r}")
    return s


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
                batch_size: int = 8, *, normalise: bool = True,
                noise_std: ArrayLike | None = None) -> np.ndarray:
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
        noise_std: for a noise-conditioned network (:func:`noise_conditioned`): the noise
            standard deviation per complex k-space sample, on the scale of ``kspace`` (as
            :func:`recon_core.noise.noise_std` defines it): a number, or one per image; 0 for
            noiseless data. ``None`` estimates it per image from the outermost acquired
            samples (:func:`recon_core.recon.auto_lambda.noise_level`), which over-estimates
            it when the signal reaches the k-space corners (synthetic phantoms): pass the known
            value when there is one. Other networks ignore it.

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
    sigma = None
    if noise_conditioned(model):
        sigma = (_noise_stds(k, m, noise_std) / scale.reshape(-1)).astype(np.float32)[:, None]
    outs = []
    for start in range(0, k.shape[0], batch_size):
        sl = slice(start, start + batch_size)
        if isinstance(model, UnrolledNet):
            z2 = to_channels(tf.constant(zf[sl])).numpy()
            y2 = to_channels(tf.constant(y[sl])).numpy()
            inputs = [z2, y2, m[sl][..., None]] + ([] if sigma is None else [sigma[sl]])
            out = model(inputs, training=False)
            out = to_complex(tf.convert_to_tensor(out)).numpy()
        else:  # a magnitude network (ResCNN)
            out = model(np.abs(zf[sl])[..., None], training=False)
            out = np.asarray(out)[..., 0].astype(np.complex64)
        outs.append(out)
    image = (np.concatenate(outs) * scale).astype(np.complex64)
    return image[0] if single else image

