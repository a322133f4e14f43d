"""Built-in images: the Shepp–Logan phantom and the tutorial's random ellipses.

Images are float32, shape (H, W), values in [0, 1], dark background (as in MRI).
Nothing is downloaded: the phantom ships with scikit-image and ellipses are generated.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import numpy as np
from skimage.data import shepp_logan_phantom
from skimage.draw import random_shapes
from skimage.transform import resize

from recon_core.checks import check_int

if TYPE_CHECKING:  # imported by ellipses_dataset when it runs
    import tensorflow as tf

__all__ = ["shepp_logan", "random_ellipses", "ellipses_dataset"]


@functools.lru_cache(maxsize=8)
def _shepp_logan(h: int, w: int) -> np.ndarray:
    phantom = shepp_logan_phantom()  # 400 x 400, float64 in [0, 1]
    if (h, w) != phantom.shape:
        phantom = resize(phantom, (h, w), order=1, anti_aliasing=True, mode="reflect")
    phantom = np.clip(phantom, 0.0, None)
    phantom = phantom / phantom.max()
    out = phantom.astype(np.float32)
    out.setflags(write=False)
    return out


def shepp_logan(size: int | tuple[int, int] = 256) -> np.ndarray:
    """Modified Shepp–Logan phantom (scikit-image's 400x400) resized and normalised to [0, 1].

    Args:
        size: output side length, or (H, W). At least 8.

    Returns:
        float32 array of shape (H, W) with max exactly 1 (a fresh, writable copy).

    :Examples:

    >>> x = shepp_logan(64)
    >>> x.shape, float(x.max())
    ((64, 64), 1.0)
    """
    h, w = (size, size) if np.isscalar(size) else tuple(size)
    h = check_int(h, "size", minimum=8)
    w = check_int(w, "size", minimum=8)
    return _shepp_logan(h, w).copy()


def random_ellipses(size: int | tuple[int, int] = 256, seed: int = 0, max_shapes: int = 20) -> np.ndarray:
    """One image of random overlapping ellipses, as in the tutorial, seeded.

    Uses ``skimage.draw.random_shapes`` (greyscale, ellipses, overlap allowed, up to the image
    size), inverted so the background is black, and scaled to [0, 1].

    Args:
        size: side length or (H, W); at least 16.
        seed: seed of the generator; the same seed gives the same image.
        max_shapes: maximum number of ellipses (at least 1).

    Returns:
        float32 array of shape (H, W), values in [0, 1].

    :Examples:

    >>> a = random_ellipses(32, seed=1); b = random_ellipses(32, seed=1)
    >>> a.shape, bool((a == b).all())
    ((32, 32), True)
    """
    h, w = (size, size) if np.isscalar(size) else tuple(size)
    h = check_int(h, "size", minimum=16)
    w = check_int(w, "size", minimum=16)
    max_shapes = check_int(max_shapes, "max_shapes", minimum=1)
    seed = check_int(seed, "seed", minimum=0)
    image, _ = random_shapes(
        (h, w),
        max_shapes=max_shapes,
        min_shapes=1,
        shape="ellipse",
        channel_axis=None,
        allow_overlap=True,
        max_size=max(h, w),
        min_size=max(4, min(h, w) // 16),
        rng=seed,
    )
    return ((255 - image.astype(np.float32)) / 255.0).astype(np.float32)


def ellipses_dataset(
    n: int | None = None,
    size: int | tuple[int, int] = 256,
    seed: int = 0,
    max_shapes: int = 20,
) -> tf.data.Dataset:
    """A seeded ``tf.data.Dataset`` of random-ellipse images (float32, shape (H, W)).

    TensorFlow is imported here, not with the module, so that ``shepp_logan`` and
    ``random_ellipses`` stay cheap to import.

    Image ``i`` is ``random_ellipses(size, seed=seed + i)``, so the dataset is deterministic and
    can be resumed at any position. Generation runs in a parallel ``map``.

    Args:
        n: number of images; ``None`` for an endless dataset.
        size: side length or (H, W).
        seed: first seed; image i uses ``seed + i``.
        max_shapes: maximum number of ellipses per image.
    """
    import tensorflow as tf

    h, w = (size, size) if np.isscalar(size) else tuple(size)
    random_ellipses((16, 16), seed=0)  # validates the arguments' types early
    check_int(seed, "seed", minimum=0)
    if n is not None:
        check_int(n, "n", minimum=1)
    seeds = tf.data.Dataset.range(seed, seed + n) if n is not None else tf.data.Dataset.range(seed, 2**62)

    def _gen(s):
        return random_ellipses((h, w), seed=int(s), max_shapes=max_shapes)

    def _map(s):
        img = tf.numpy_function(_gen, [s], tf.float32, stateful=False)
        img.set_shape((h, w))
        return img

    return seeds.map(_map, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
