r"""The tutorial's TV solver: autodiff of the objective with a Keras optimizer (SGD or Adam).

It minimises :math:`\tfrac12\|Ax - y\|_2^2 + \lambda \sum_i \sqrt{|(Dx)_i|^2 + \epsilon^2}` (the
TV norm smoothed so that its gradient exists everywhere) for any forward model ``A``; the
records report the exact (unsmoothed) objective. It is much slower than ADMM and kept for
teaching and comparison.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from recon_core.ops.base import LinearOperator, abs2
from recon_core.recon.configs import GradientConfig
from recon_core.recon.functionals import group_norm
from recon_core.recon.monitor import gram_data, record_values

__all__ = ["GradientSolver"]


class _Stepper:
    """A Keras optimizer, its variable and the compiled step, reused across solves.

    Building them anew for every solve retraced the step (about 0.3 s a call); one stepper per
    (size, optimizer, momentum, reference or not, operator structure) is kept and reset.
    """

    def __init__(self, shape, optimizer: str, momentum: float, a_t: LinearOperator,
                 d_t: LinearOperator, with_ref: bool, shifted: bool):
        self.var = tf.Variable(tf.zeros((2, *shape), tf.float32))
        if optimizer == "adam":
            self.opt = keras.optimizers.Adam(learning_rate=1e-3)
        else:
            self.opt = keras.optimizers.SGD(learning_rate=1e-3, momentum=momentum)
        self.opt.build([self.var])
        self.a_t, self.d_t = a_t, d_t
        self.gram = not a_t.graph_forward()
        self.with_ref, self.shifted = with_ref, shifted
        self.step = tf.function(self._step)

    def reset(self, x0: tf.Tensor, learning_rate: float) -> None:
        self.var.assign(tf.stack([tf.math.real(x0), tf.math.imag(x0)]))
        for v in self.opt.variables:
            v.assign(learning_rate if v.name == "learning_rate" else tf.zeros_like(v))

    def image(self) -> tf.Tensor:
        return tf.complex(self.var[0], self.var[1])

    def _data(self, A, x, y, yy):
        # For the NUFFT, y is A^H y and the data term comes from the Toeplitz normal map.
        if self.gram:
            return gram_data(A, x, y, yy)
        return 0.5 * tf.reduce_sum(abs2(A.apply(x) - y))

    def _step(self, params, y, ref, lam, eps2, yy):
        A, D = self.a_t.with_tensors(params[0]), self.d_t.with_tensors(params[1])
        x_old = self.image()
        with tf.GradientTape() as tape:
            x = self.image()
            data = self._data(A, x, y, yy)
            loss = data + lam * tf.reduce_sum(tf.sqrt(tf.square(group_norm(D.apply(x))) + eps2))
        grads = tape.gradient(loss, [self.var])
        self.opt.apply_gradients(zip(grads, [self.var]))
        x = self.image()
        return tf.stack(record_values(x, x_old, None, D.apply(x), lam, ref,
                                      self.with_ref, self.shifted, self._data(A, x, y, yy)))


_STEPPERS: dict[tuple, _Stepper] = {}
_MAX_STEPPERS = 8


def _stepper(key: tuple, make) -> _Stepper:
    """The stepper for ``key``, made by ``make()`` on first use (the oldest of 8 is dropped)."""
    if key not in _STEPPERS:
        if len(_STEPPERS) >= _MAX_STEPPERS:
            _STEPPERS.pop(next(iter(_STEPPERS)))
        _STEPPERS[key] = make()
    return _STEPPERS[key]


class GradientSolver:
    """Gradient-descent iterations over operators (arguments as for
    :class:`~recon_core.recon.admm.AdmmSolver`, with a
    :class:`~recon_core.recon.configs.GradientConfig`).

    Each optimizer step is one compiled call; with a tolerance, each step is checked before
    the next so that a stop returns the image of the iteration that converged.
    """

    def __init__(self, A: LinearOperator, D: LinearOperator, y: tf.Tensor, x0: tf.Tensor,
                 lam: float, cfg: GradientConfig, ref: np.ndarray | None, shifted: bool):
        with_ref = ref is not None
        shape = tuple(int(v) for v in x0.shape)
        # One stepper per operator *structure*: the first operator of that structure is kept
        # as the template and rebuilt around this solve's tensors at every step.
        key = (shape, cfg.optimizer, float(cfg.momentum), A.key(), D.key(), with_ref, shifted)
        self._stepper = _stepper(key, lambda: _Stepper(shape, cfg.optimizer, float(cfg.momentum),
                                                       A, D, with_ref, shifted))
        self._stepper.reset(x0, cfg.learning_rate)
        zeros = tf.zeros(shape, tf.float32)
        gram = not A.graph_forward()
        self._args = ([list(A.tensors()), list(D.tensors())], A.adjoint(y) if gram else y,
                      tf.constant(ref) if with_ref else zeros, tf.constant(lam, tf.float32),
                      tf.constant(cfg.eps**2, tf.float32), tf.reduce_sum(abs2(y)))
        self._tol = float(cfg.tol)

    @property
    def x(self) -> tf.Tensor:
        return self._stepper.image()

    def run(self, start: int, n: int):
        """Run up to ``n`` steps from iteration ``start``: ``(x, records, done)``."""
        rows, done = [], False
        for j in range(n):
            rows.append(self._stepper.step(*self._args))
            if self._tol > 0 and start + j >= 1 and float(rows[-1][3]) < self._tol:
                done = True
                break
        recs = tf.transpose(tf.stack(rows))
        count = tf.fill([1, len(rows)], float(len(rows)))
        return self.x, tf.concat([recs, count], axis=0), done

