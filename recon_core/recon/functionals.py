r"""The pieces of the TV objective a solver needs: the norm and its proximal maps.

The isotropic TV of a complex image is the mixed norm of its gradient field
:math:`g = Dx` (shape (2, H, W)): :math:`\|g\|_{2,1} = \sum_i \sqrt{|g_{0,i}|^2 + |g_{1,i}|^2}`.
"""

from __future__ import annotations

import tensorflow as tf

from recon_core.ops.base import abs2

__all__ = ["group_norm", "tv_norm", "shrink", "project_ball", "rel_change"]


def group_norm(g: tf.Tensor) -> tf.Tensor:
    """Pointwise magnitude of a gradient field (..., 2, H, W) -> (..., H, W), float32."""
    return tf.sqrt(abs2(g[..., 0, :, :]) + abs2(g[..., 1, :, :]))


def tv_norm(g: tf.Tensor) -> tf.Tensor:
    """:math:`\\|g\\|_{2,1}` of a gradient field (..., 2, H, W), summed over everything."""
    return tf.reduce_sum(group_norm(g))


def shrink(t: tf.Tensor, thresh: tf.Tensor) -> tf.Tensor:
    """Isotropic (group) soft-thresholding, the prox of ``thresh * ||.||_{2,1}``."""
    factor = tf.maximum(1.0 - thresh / tf.maximum(group_norm(t), 1e-30), 0.0)
    return t * tf.cast(factor, tf.complex64)[..., None, :, :]


def project_ball(q: tf.Tensor, radius: tf.Tensor) -> tf.Tensor:
    """Projection onto ``{q : |q_i| <= radius}`` (pointwise), the prox of the TV's conjugate."""
    return q / tf.cast(tf.maximum(group_norm(q) / radius, 1.0), tf.complex64)[..., None, :, :]


def rel_change(x_new: tf.Tensor, x_old: tf.Tensor) -> tf.Tensor:
    """``||x_new - x_old|| / ||x_new||`` (0 when both are zero)."""
    num = tf.sqrt(tf.reduce_sum(abs2(x_new - x_old)))
    den = tf.sqrt(tf.reduce_sum(abs2(x_new)))
    return num / tf.maximum(den, 1e-30)
