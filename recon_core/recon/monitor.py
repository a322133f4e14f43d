"""What every compiled solver loop shares: in-graph quality metrics, per-iteration records, the
stopping test, and compilation (once per operator structure, with XLA).

A solver's chunk function runs up to ``n`` iterations in one ``tf.while_loop`` and returns its
variables, a (7, CHUNK_CAP) record array (rows: :data:`~recon_core.recon.records.RECORD_FIELDS`,
then the number of iterations actually run) and whether the tolerance test stopped it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Hashable

import tensorflow as tf

from recon_core.ops.base import abs2, inner
from recon_core.recon.functionals import rel_change, tv_norm
from recon_core.recon.records import RECORD_FIELDS

__all__ = ["CHUNK_CAP", "XLA", "Recorder", "quality", "converged", "compiled", "iterate",
           "record_values", "gram_data",
           "ChunkedSolver"]

#: Iterations per compiled call at most. The record arrays have this fixed size, so XLA
#: compiles a solver once per image size instead of once per iteration count.
CHUNK_CAP = 64

#: Compile the solver loops with XLA (fuses the elementwise work around the FFTs: about 2x
#: faster on CPU). Set RECON_LAB_XLA=0 to fall back to plain graphs. Each new image size
#: compiles once (about a second).
XLA = os.environ.get("RECON_LAB_XLA", "1") != "0"


class Recorder:
    """Fixed-size per-iteration records inside a compiled loop (a list of TensorArrays)."""

    @staticmethod
    def new() -> list[tf.TensorArray]:
        return [tf.TensorArray(tf.float32, size=CHUNK_CAP, dynamic_size=False) for _ in RECORD_FIELDS]

    @staticmethod
    def write(tas: list[tf.TensorArray], i: tf.Tensor, values) -> list[tf.TensorArray]:
        return [ta.write(i, tf.cast(v, tf.float32)) for ta, v in zip(tas, values)]

    @staticmethod
    def stack(tas: list[tf.TensorArray], count: tf.Tensor) -> tf.Tensor:
        """(7, CHUNK_CAP): the records, and row 6 filled with the number of iterations run."""
        rows = tf.stack([ta.stack() for ta in tas])
        n = tf.shape(rows)[1]
        return tf.concat([rows, tf.fill([1, n], tf.cast(count, tf.float32))], axis=0)


def _ssim(ref: tf.Tensor, img: tf.Tensor, data_range: tf.Tensor) -> tf.Tensor:
    """scikit-image's default SSIM (7x7 uniform window, sample covariance, valid region)."""
    x = ref[None, :, :, None]
    y = img[None, :, :, None]

    def filt(a):
        return tf.nn.avg_pool2d(a, 7, 1, "VALID")

    ux, uy = filt(x), filt(y)
    uxx, uyy, uxy = filt(x * x), filt(y * y), filt(x * y)
    cov_norm = 49.0 / 48.0
    vx = cov_norm * (uxx - ux * ux)
    vy = cov_norm * (uyy - uy * uy)
    vxy = cov_norm * (uxy - ux * uy)
    c1 = (0.01 * data_range) ** 2
    c2 = (0.03 * data_range) ** 2
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))
    return tf.reduce_mean(s)


def quality(x: tf.Tensor, ref: tf.Tensor, with_ref: bool, shifted: bool) -> tuple[tf.Tensor, tf.Tensor]:
    """PSNR and SSIM of ``|x|`` against ``ref`` (centred, float32), or NaN without a reference.

    Args:
        x: the iterate (H, W), complex64; (M, H, W) with M sets of maps, scored on the
            root-sum-of-squares over the sets.
        ref: reference magnitude (H, W), centred layout.
        with_ref: False gives (NaN, NaN) without computing anything.
        shifted: True if ``x`` is in the ``ifftshift``-ed layout of the plain FFT.
    """
    if not with_ref:
        nan = tf.constant(float("nan"), tf.float32)
        return nan, nan
    mag = tf.abs(x) if x.shape.rank == 2 else tf.sqrt(tf.reduce_sum(abs2(x), axis=0))  # map sets
    if shifted:
        mag = tf.signal.fftshift(mag, axes=(-2, -1))
    dr = tf.reduce_max(ref)
    mse = tf.reduce_mean(tf.square(mag - ref))
    p = 10.0 * tf.math.log(dr * dr / tf.maximum(mse, 1e-30)) / tf.math.log(10.0)
    return p, _ssim(ref, mag, dr)


def gram_data(A, x: tf.Tensor, aty: tf.Tensor, yy: tf.Tensor) -> tf.Tensor:
    r"""The data term :math:`\tfrac12\|Ax - y\|^2` from the normal map alone,
    :math:`\tfrac12(\langle x, A^H A x\rangle - 2\,\mathrm{Re}\langle x, A^H y\rangle + \|y\|^2)`,
    for operators whose forward map is not available in a compiled loop (the NUFFT).

    Args:
        A: the operator (its ``apply_normal`` is used).
        x: the image.
        aty: ``A^H y``.
        yy: ``||y||^2`` (float32).
    """
    value = inner(x, A.apply_normal(x)) - 2.0 * inner(x, aty) + yy
    return 0.5 * tf.maximum(value, 0.0)  # rounding can take a tiny residual below zero


def record_values(x_new: tf.Tensor, x_old: tf.Tensor, resid: tf.Tensor | None, grad: tf.Tensor,
                  lam: tf.Tensor, ref: tf.Tensor, with_ref: bool, shifted: bool,
                  data: tf.Tensor | None = None) -> list[tf.Tensor]:
    """The six numbers of :data:`~recon_core.recon.records.RECORD_FIELDS` for one iteration.

    Args:
        x_new, x_old: this iterate and the previous one.
        resid: data residual ``A x_new - y`` (or None with ``data``).
        grad: ``D x_new``.
        lam, ref, with_ref, shifted: as for the solver (see :func:`quality`).
        data: the data term itself, when it is not computed from a residual
            (:func:`gram_data`).
    """
    if data is None:
        data = 0.5 * tf.reduce_sum(abs2(resid))
    tv = tv_norm(grad)
    p, s = quality(x_new, ref, with_ref, shifted)
    return [data + lam * tv, data, tv, rel_change(x_new, x_old), p, s]


def converged(rc: tf.Tensor, tol: tf.Tensor, index: tf.Tensor) -> tf.Tensor:
    """The relative-change test, skipped on the very first iteration.

    The first ADMM iteration leaves x unchanged when started from the zero-filled image (only z
    moves), so a test there would stop every solve at once.
    """
    return tf.logical_and(rc < tol, index >= 1)


def _spec(t) -> tf.TensorSpec:
    t = tf.convert_to_tensor(t)
    return tf.TensorSpec([None] * t.shape.rank, t.dtype)


_COMPILED: dict[Hashable, Callable] = {}


def compiled(key: Hashable, build: Callable[[], Callable], args) -> Callable:
    """The compiled form of ``build()`` for this ``key``, traced once with every axis unknown.

    Args:
        key: everything that changes the graph (solver, flags, operator structure).
        build: returns the Python function to compile (called once per key).
        args: example arguments (nested lists of tensors), to build the input signature.
    """
    fn = _COMPILED.get(key)
    if fn is None:
        specs = tf.nest.map_structure(_spec, list(args))
        fn = tf.function(build(), input_signature=specs, jit_compile=XLA)
        _COMPILED[key] = fn
    return fn


def iterate(step: Callable, state: list, n: tf.Tensor, tol: tf.Tensor, start: tf.Tensor):
    """Run ``step`` up to ``n`` times in a ``tf.while_loop``, recording each iteration.

    Args:
        step: ``step(state) -> (new_state, values)`` with ``values`` the six numbers of
            :data:`~recon_core.recon.records.RECORD_FIELDS` (``values[3]`` the relative change).
        state: list of tensors carried between iterations.
        n: maximum number of iterations (int32 tensor, at most :data:`CHUNK_CAP`).
        tol: relative-change tolerance (0 disables the test).
        start: index of the first iteration of this chunk (for the first-iteration exemption).

    Returns:
        ``(state, records, done)`` as described in the module docstring.
    """

    def body(i, state, done, tas):
        new_state, values = step(state)
        tas = Recorder.write(tas, i, values)
        return i + 1, new_state, converged(values[3], tol, start + i), tas

    def cond(i, state, done, tas):
        return tf.logical_and(i < n, tf.logical_not(done))

    i, state, done, tas = tf.while_loop(
        cond, body, (tf.constant(0), list(state), tf.constant(False), Recorder.new()))
    return state, Recorder.stack(tas, i), done


class ChunkedSolver:
    """Base of the solvers that run compiled chunks of :func:`iterate`.

    Subclasses set :attr:`key` (what changes the graph), :attr:`build` (returns the chunk
    function ``chunk(params, state, consts, n, start) -> (state, records, done)``),
    :attr:`params` (operator tensors), :attr:`state` (solver variables, the image first) and
    :attr:`consts` (data, reference and scalars).
    """

    key: tuple
    build: Callable[[], Callable]
    params: list
    state: list
    consts: list

    @property
    def x(self) -> tf.Tensor:
        """The current image (solver layout)."""
        return self.state[0]

    def run(self, start: int, n: int):
        """Run up to ``n`` iterations from iteration ``start``: ``(x, records, done)``."""
        args = [self.params, self.state, self.consts, tf.constant(n, tf.int32),
                tf.constant(start, tf.int32)]
        state, records, done = compiled(self.key, self.build, args)(*args)
        self.state = list(state)
        return self.x, records, done
