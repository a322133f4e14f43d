r"""Periodic finite differences: the gradient of an image, for total variation.

``D x = (x[i+1, j] - x[i, j], x[i, j+1] - x[i, j])`` with periodic (circular) boundaries,
stacked on a new axis: (..., H, W) -> (..., 2, H, W). Being a convolution, :math:`D^H D` is
diagonal in k-space with eigenvalues :math:`4\sin^2(\pi k/H) + 4\sin^2(\pi l/W)`, which is
what makes ADMM's x-update exact for Cartesian sampling; and :math:`\|D\|^2 \le 8`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from recon_core.ops.base import LinearOperator

__all__ = ["FiniteDifference"]


class FiniteDifference(LinearOperator):
    """Forward differences along the last two axes, periodic: (..., H, W) -> (..., 2, H, W).

    Args:
        shape: (H, W), or ``(None, None)`` for any size.

    :Examples:

    >>> import numpy as np
    >>> D = FiniteDifference((3, 3))
    >>> g = D.forward(np.arange(9.0).reshape(3, 3)).numpy().real
    >>> g[0].tolist()  # vertical differences wrap around: 6 - 0 ... then 0 - 6
    [[3.0, 3.0, 3.0], [3.0, 3.0, 3.0], [-6.0, -6.0, -6.0]]
    """

    def __init__(self, shape: Sequence = (None, None)):
        if len(shape) != 2:
            raise ValueError(f"FiniteDifference acts on (H, W), got shape {shape}")
        super().__init__(shape, (2, *shape))

    def apply(self, x):
        return tf.stack([tf.roll(x, -1, axis=-2) - x, tf.roll(x, -1, axis=-1) - x], axis=-3)

    def apply_adjoint(self, y):
        gv, gh = y[..., 0, :, :], y[..., 1, :, :]
        return (tf.roll(gv, 1, axis=-2) - gv) + (tf.roll(gh, 1, axis=-1) - gh)

    def norm_bound(self):
        return float(np.sqrt(8.0))

    def has_fourier_diagonal(self, centred: bool) -> bool:
        return True

    def normal_fourier_diagonal(self, x: tf.Tensor, centred: bool) -> tf.Tensor:
        """Eigenvalues of ``D^H D`` in the FFT basis, float32 (H, W), sized like ``x``.

        Args:
            x: any tensor of shape (..., H, W) (only its size is used).
            centred: eigenvalues for the centred FFT (DC at (H // 2, W // 2)) or the plain one.
        """
        shape = tf.shape(x)
        h, w = shape[-2], shape[-1]
        pi = tf.constant(np.pi, tf.float32)
        ky = 4.0 * tf.square(tf.sin(pi * tf.cast(tf.range(h), tf.float32) / tf.cast(h, tf.float32)))
        kx = 4.0 * tf.square(tf.sin(pi * tf.cast(tf.range(w), tf.float32) / tf.cast(w, tf.float32)))
        eig = ky[:, None] + kx[None, :]
        return tf.signal.fftshift(eig) if centred else eig
