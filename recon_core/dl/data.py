"""Training and validation data: random ellipses -> masked k-space -> (network inputs, target).

Everything is seeded and disjoint:

* training image ``i`` of a config with seed ``s`` is ``random_ellipses(seed=train_seed(s) + i)``
  (so a resumed training continues the very same stream);
* the validation set uses seeds ``VALIDATION_SEED + i`` and the held-out evaluation set of
  :mod:`recon_core.dl.evaluation` uses ``HELD_OUT_SEED + i``; no training stream reaches them.

Each example is simulated at ``image_size``: ``y = M F x``, zero-filled ``F^H y``, then
normalised by the maximum zero-filled magnitude (the same normalisation as
:func:`recon_core.dl.models.reconstruct`), unless ``TrainConfig.normalise`` is False. Example
layouts (float32, NHWC, batched by the dataset):

* ``"rescnn"``: input ``|zf|`` (S, S, 1), target ``x`` (S, S, 1), ``S = crop_size or image_size``
  (image and target cropped together, after zero-filling at full size);
* ``"unrolled"``: inputs ``(zf, y, mask)`` with shapes (N, N, 2), (N, N, 2), (N, N, 1) and target
  ``(x, 0)`` (N, N, 2): the ground truth is real; a noise-conditioned network (``dc="noise"``)
  gets a fourth input, the example's noise standard deviation on the same normalised scale,
  shape (1,).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from recon_core.phantoms import ellipses_dataset, random_ellipses
from recon_core.ops.fft import fft2c, fft2c_tf, ifft2c_tf
from recon_core.masks import make_mask
from recon_core.dl.models import to_channels
from recon_core.dl.config import TrainConfig
from recon_core.noise import add_noise, noise_std

__all__ = [
    "VALIDATION_SEED",
    "HELD_OUT_SEED",
    "train_seed",
    "example_mask",
    "example_noise",
    "NOISE_SEED_OFFSET",
    "simulate",
    "train_dataset",
    "validation_set",
]

#: First seed of the validation images (``n_val`` of them).
VALIDATION_SEED = 50_000
#: First seed of the held-out evaluation images (:func:`recon_core.dl.evaluation.held_out_images`).
HELD_OUT_SEED = 90_000
_TRAIN_SEED_BASE = 1_000_000
_TRAIN_SEED_STRIDE = 100_000_000


def train_seed(seed: int) -> int:
    """Seed of the first training image for config seed ``seed`` (image i uses ``+ i``)."""
    return _TRAIN_SEED_BASE + int(seed) * _TRAIN_SEED_STRIDE


def example_mask(config: TrainConfig, image_seed: int, size: int | None = None) -> np.ndarray:
    """The sampling mask of one example: bool, shape (N, N), ``N = size or config.image_size``.

    With ``config.fixed_mask`` it is always ``make_mask(..., seed=config.mask_seed)``;
    otherwise it is drawn from ``np.random.default_rng([mask_seed, image_seed])``.
    """
    n = size or config.image_size
    if config.fixed_mask:
        seed = config.mask_seed
    else:
        seed = np.random.default_rng([config.mask_seed, int(image_seed)])
    return make_mask((n, n), config.accel, kind=config.mask_kind,
                     center_fraction=config.center_fraction, seed=seed)


def simulate(image: tf.Tensor, mask: tf.Tensor, normalise: bool = True,
             noise: tf.Tensor | None = None):
    """Normalised undersampled acquisition of real images.

    Args:
        image: float32, shape (..., H, W), the ground truth.
        mask: float32 0/1, shape (H, W) or (..., H, W).
        normalise: divide by the maximum zero-filled magnitude (False: keep the data's scale).
        noise: complex64 k-space noise (..., H, W) added to the full k-space before the mask
            (see :func:`example_noise`), or None.

    Returns:
        ``(zf, y, target)``: zero-filled image complex64 (..., H, W), masked k-space complex64
        (..., H, W) and target float32 (..., H, W), all divided by the maximum zero-filled
        magnitude of each image when ``normalise``.
    """
    k = fft2c_tf(tf.cast(image, tf.complex64))
    if noise is not None:
        k = k + noise
    y = k * tf.cast(mask, tf.complex64)
    zf = ifft2c_tf(y)
    if not normalise:
        return zf, y, tf.cast(image, tf.float32)
    scale = tf.maximum(tf.reduce_max(tf.abs(zf), axis=[-2, -1], keepdims=True), 1e-12)
    return zf / tf.cast(scale, tf.complex64), y / tf.cast(scale, tf.complex64), image / scale


#: Added to the config seed for the noise streams, so that noise never repeats the crops' draws.
NOISE_SEED_OFFSET = 7_000_003


def example_noise(config: TrainConfig, image: tf.Tensor, image_seed: tf.Tensor,
                  with_std: bool = False):
    """Seeded k-space noise of one training example (complex64, like ``image``), or None.

    With ``with_std``, returns ``(noise, sigma)``: also the noise standard deviation per complex
    sample (float32 scalar; 0 for a clean example, and ``(None, 0)`` without a noise range).

    The SNR is drawn uniformly in ``[config.snr_min_db, config.snr_max_db]`` and the example is
    left clean with probability ``config.clean_fraction``; both draws and the noise itself are
    stateless functions of ``(image_seed, config.seed)``, so a resumed training sees the same.
    The noise level follows :func:`recon_core.noise.noise_std` on the image's own k-space power.
    """
    if not config.noisy:
        return (None, tf.constant(0.0)) if with_std else None
    seed = tf.stack([tf.cast(image_seed, tf.int64),
                     tf.constant(config.seed + NOISE_SEED_OFFSET, tf.int64)])
    u = tf.random.stateless_uniform([2], seed=seed)
    snr = config.snr_min_db + (config.snr_max_db - config.snr_min_db) * u[0]
    power = tf.reduce_mean(tf.square(tf.cast(image, tf.float32)))  # = mean |k|^2 (orthonormal)
    part = noise_std(power, snr) / np.sqrt(2.0)
    shape = tf.concat([[2], tf.shape(image)], axis=0)
    n = tf.random.stateless_normal(shape, seed=seed + tf.constant([0, 1], tf.int64)) * part
    keep = tf.cast(u[1] >= config.clean_fraction, tf.float32)
    noise = tf.complex(n[0] * keep, n[1] * keep)
    if with_std:
        return noise, tf.cast(part * np.sqrt(2.0), tf.float32) * keep
    return noise


def _to_example(config: TrainConfig):
    conditioned = config.model == "unrolled" and config.dc == "noise"

    def fn(image, mask, image_seed):
        noise, sigma = example_noise(config, image, image_seed, with_std=True)
        zf, y, target = simulate(image, mask, config.normalise, noise)
        if config.model == "unrolled":
            inputs = (to_channels(zf), to_channels(y), mask[..., None])
            if conditioned:  # the noise level on the target's scale (normalised or not)
                scale = tf.reduce_max(target) / tf.maximum(tf.reduce_max(image), 1e-12)
                inputs = inputs + (tf.reshape(sigma * scale, [1]),)
            return inputs, tf.stack([target, tf.zeros_like(target)], axis=-1)
        pair = tf.stack([tf.abs(zf), target], axis=-1)  # crop input and target together
        if config.crop_size:
            c = config.crop_size
            crop_seed = tf.stack([image_seed, tf.constant(config.seed, tf.int64)])
            pair = tf.image.stateless_random_crop(pair, [c, c, 2], seed=crop_seed)
        return pair[..., :1], pair[..., 1:]

    return fn


def train_dataset(config: TrainConfig, start_step: int = 0) -> tf.data.Dataset:
    """Endless, seeded training stream of batches, starting at step ``start_step``.

    Image generation and simulation run in parallel ``map`` calls; batches are prefetched.
    Batch ``k`` of ``train_dataset(c, s)`` equals batch ``s + k`` of ``train_dataset(c)``.

    Returns:
        ``tf.data.Dataset`` of ``(inputs, target)`` batches of ``config.batch_size`` (layouts in
        the module docstring).
    """
    n = config.image_size
    first = train_seed(config.seed) + int(start_step) * config.batch_size
    images = ellipses_dataset(None, n, seed=first, max_shapes=config.max_shapes)
    seeds = tf.data.Dataset.range(first, 2**62)
    ds = tf.data.Dataset.zip((images, seeds))
    if config.fixed_mask:
        fixed = tf.constant(example_mask(config, 0).astype(np.float32))
        ds = ds.map(lambda img, s: (img, fixed, s))
    else:
        def _mask(s):
            return example_mask(config, int(s)).astype(np.float32)

        def with_mask(img, s):
            m = tf.numpy_function(_mask, [s], tf.float32, stateful=False)
            m.set_shape((n, n))
            return img, m, s

        ds = ds.map(with_mask, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    ds = ds.map(_to_example(config), num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.batch(config.batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def validation_set(config: TrainConfig, size: int | None = None, *, with_noise_std: bool = False):
    """The fixed validation set of a config: ``(images, kspace, masks)`` as NumPy arrays.

    Images ``random_ellipses(N, seed=VALIDATION_SEED + i)``, ``i < config.n_val``, with the
    config's masks (fixed, or one seeded mask per image); ``N = size or config.image_size``
    (whole images, never cropped).

    With a noise range (``config.noisy``) each k-space gets noise drawn as in training (an SNR
    uniform in the range, clean with probability ``clean_fraction``), seeded per image.

    Returns:
        images float32 (n_val, N, N); kspace complex64 (n_val, N, N), zero where not sampled;
        masks bool (n_val, N, N); with ``with_noise_std``, a fourth array: the noise standard
        deviation of each k-space (float64, (n_val,), 0 for clean ones), on the data's scale.
    """
    n = size or config.image_size
    seeds = [VALIDATION_SEED + i for i in range(config.n_val)]
    images = np.stack([random_ellipses(n, seed=s, max_shapes=config.max_shapes) for s in seeds])
    masks = np.stack([example_mask(config, s, n) for s in seeds])
    full = fft2c(images)
    sigmas = np.zeros(len(seeds))
    if config.noisy:  # the training distribution of noise, seeded per validation image
        for i, s in enumerate(seeds):
            rng = np.random.default_rng([s, config.seed, NOISE_SEED_OFFSET])
            clean = rng.uniform() < config.clean_fraction
            snr = rng.uniform(config.snr_min_db, config.snr_max_db)
            if not clean:
                sigmas[i] = noise_std(float(np.mean(np.abs(full[i]) ** 2)), snr)
                full[i] = add_noise(full[i], snr, rng)
    kspace = (full * masks).astype(np.complex64)
    if with_noise_std:
        return images, kspace, masks, sigmas
    return images, kspace, masks
