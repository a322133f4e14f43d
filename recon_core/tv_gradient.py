r"""The tutorial's TV solver: autodiff of the objective with a Keras optimizer (SGD or Adam).

It minimises the objective of :mod:`recon_core.tv` with the TV norm smoothed as
:math:`\sqrt{|Dx|^2 + \epsilon^2}` so that its gradient exists everywhere; the records report
the exact (unsmoothed) objective. It is much slower than ADMM and kept for teaching and
comparison; :func:`recon_core.tv.reconstruct_tv` with ``method="gradient"`` runs it.
"""

from __future__ import annotations

import functools
import time

import keras
import numpy as np
import tensorflow as tf

from recon_core.tv import GradientConfig, _Snapshot, _abs2, _fft, _grad, _make_record, _quality, _rel_change


class _GradientSolver:
    """A Keras optimizer, its variable and the compiled step, reused across solves.

    Building them anew for every solve retraced the step (about 0.3 s a call); one solver per
    (size, optimizer, momentum, reference or not) is kept and reset instead.
    """

    def __init__(self, h: int, w: int, optimizer: str, momentum: float, with_ref: bool):
        self.var = tf.Variable(tf.zeros((2, h, w), tf.float32))
        if optimizer == "adam":
            self.opt = keras.optimizers.Adam(learning_rate=1e-3)
        else:
            self.opt = keras.optimizers.SGD(learning_rate=1e-3, momentum=momentum)
        self.opt.build([self.var])
        self.with_ref = with_ref
        self.step = tf.function(self._step)

    def reset(self, xs: np.ndarray, learning_rate: float) -> None:
        self.var.assign(np.stack([xs.real, xs.imag]).astype(np.float32))
        for v in self.opt.variables:
            v.assign(learning_rate if v.name == "learning_rate" else tf.zeros_like(v))

    def _terms(self, y_m, maskc):
        x = tf.complex(self.var[0], self.var[1])
        h, w = tf.shape(x)[0], tf.shape(x)[1]
        scale = tf.cast(tf.math.rsqrt(tf.cast(h * w, tf.float32)), tf.complex64)
        data = 0.5 * tf.reduce_sum(_abs2(_fft(x, scale) * maskc - y_m))
        g = _grad(x)
        return x, data, _abs2(g[0]) + _abs2(g[1])

    def _step(self, y_m, maskc, ref, lam, eps2):
        x_old = tf.complex(self.var[0], self.var[1])
        with tf.GradientTape() as tape:
            _, data, n2 = self._terms(y_m, maskc)
            loss = data + lam * tf.reduce_sum(tf.sqrt(n2 + eps2))
        grads = tape.gradient(loss, [self.var])
        self.opt.apply_gradients(zip(grads, [self.var]))
        x, data, n2 = self._terms(y_m, maskc)
        tv = tf.reduce_sum(tf.sqrt(n2))
        p, s = _quality(x, ref, self.with_ref)
        return tf.stack([data + lam * tv, data, tv, _rel_change(x, x_old), p, s])


@functools.lru_cache(maxsize=8)
def _gradient_solver(h: int, w: int, optimizer: str, momentum: float, with_ref: bool) -> _GradientSolver:
    return _GradientSolver(h, w, optimizer, momentum, with_ref)


def gradient_iterations(xs, y_t, m_t, ref_t, lam, cfg: GradientConfig, chunk, with_ref, t_start):
    h, w = xs.shape
    solver = _gradient_solver(h, w, cfg.optimizer, float(cfg.momentum), with_ref)
    solver.reset(xs, cfg.learning_rate)
    maskc = tf.cast(m_t, tf.complex64)
    args = (y_t * maskc, maskc, ref_t, tf.constant(lam, tf.float32),
            tf.constant(cfg.eps**2, tf.float32))
    it = 0
    while it < cfg.max_iter:
        n = min(chunk, cfg.max_iter - it)
        rows = []
        for _ in range(n):
            rows.append(solver.step(*args))
            # With a tolerance, look at each step before running the next, so that a stop
            # inside the chunk returns the image of the iteration that converged.
            if cfg.tol > 0 and it + len(rows) > 1 and float(rows[-1][3]) < cfg.tol:
                break
        elapsed = time.perf_counter() - t_start
        v = tf.complex(solver.var[0], solver.var[1])
        get_image = _Snapshot(v, it + len(rows))
        done = False
        for r in rows:
            it += 1
            rec = _make_record(it, r.numpy(), elapsed)
            yield rec, get_image
            if rec.rel_change < cfg.tol and it > 1:
                done = True
                break
        if done:
            return
