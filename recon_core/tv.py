r"""Total-variation (TV) regularised reconstruction from undersampled k-space.

All three methods minimise the same objective over the complex image :math:`x`:

.. math::

    \min_x \; \tfrac12 \| M F x - y \|_2^2 + \lambda \, \mathrm{TV}(x), \qquad
    \mathrm{TV}(x) = \sum_{i} \sqrt{|(D_v x)_i|^2 + |(D_h x)_i|^2}

with :math:`F` the centred orthonormal 2D FFT, :math:`M` the sampling mask, and
:math:`D_v, D_h` forward differences with periodic boundaries (isotropic TV of the complex
image). Because :math:`F` is unitary and periodic differences are convolutions, both
:math:`F^H M F` and :math:`D^H D` are diagonal in k-space. The solvers exploit this:

* ``admm`` (split Bregman): split :math:`z = Dx`; the x-update
  :math:`(F^H M F + \rho D^H D) x = F^H M y + \rho D^H(z - u)` is solved *exactly* with one
  FFT and one inverse FFT; the z-update is isotropic shrinkage. Over-relaxation and optional
  residual-balancing of :math:`\rho` are supported.
* ``pdhg``: Chambolle–Pock primal–dual on :math:`K = D`, with the data term's prox solved
  exactly in k-space.
* ``gradient``: the tutorial's approach, autodiff of the (slightly smoothed) objective with a
  Keras optimizer (SGD or Adam). Kept for teaching and comparison; it is much slower.

Multi-coil data (``sens=``) use the SENSE forward model; see :mod:`recon_core.tv_sense`.

Internally the solvers work on ``ifftshift``-ed arrays so the centring shifts are done once,
not every iteration (TV with periodic boundaries is invariant to circular shifts).

Solvers run in compiled chunks (``tf.function``); after every ``callback_every`` iterations the
per-iteration records are handed to the caller's callback, which can stop the solve by
returning ``True``. :func:`tv_iterations` exposes the same as a generator.

References:
    Goldstein, T. and Osher, S. "The split Bregman method for L1-regularized problems."
    SIAM J. Imaging Sci. 2(2), 2009.
    Boyd, S. et al. "Distributed optimization and statistical learning via the alternating
    direction method of multipliers." Found. Trends Mach. Learn. 3(1), 2011.
    Chambolle, A. and Pock, T. "A first-order primal-dual algorithm for convex problems with
    applications to imaging." J. Math. Imaging Vis. 40, 2011.
"""

from __future__ import annotations

import functools
import math
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import tensorflow as tf
from numpy.typing import ArrayLike

from recon_core.checks import as_array, as_mask, check_int, check_positive
from recon_core.metrics import psnr as _psnr
from recon_core.metrics import ssim as _ssim

__all__ = [
    "DEFAULT_LAM",
    "METHODS",
    "AdmmConfig",
    "PdhgConfig",
    "GradientConfig",
    "IterationRecord",
    "TVResult",
    "reconstruct_tv",
    "tv_iterations",
    "tv_objective",
    "sweep_lambda",
    "LambdaSweepPoint",
]

#: Default regularisation weight for images whose magnitude has max 1 (the app's normalisation)
#: and orthonormal k-space. Chosen on noiseless 256x256 Shepp–Logan at 4x (see README).
DEFAULT_LAM: float = 1e-3

METHODS: tuple[str, ...] = ("admm", "pdhg", "gradient")


# --------------------------------------------------------------------------------------------
# Configuration and results
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AdmmConfig:
    """Settings of the ADMM / split-Bregman solver.

    Attributes:
        max_iter: maximum number of iterations.
        tol: stop when the relative change of the image ``||x_k - x_{k-1}|| / ||x_k||`` falls
            below ``tol`` (0 disables the test).
        rho: penalty parameter; ``None`` means ``rho_factor * lam``.
        rho_factor: default ``rho`` relative to ``lam``.
        relaxation: over-relaxation factor alpha in [1, 2) (1 = plain ADMM).
        adaptive_rho: residual balancing (Boyd et al. 2011, sec. 3.4.1): rho is doubled or
            halved when the primal and dual residuals differ by more than a factor 10
            (single-coil only).
        cg_iter: conjugate-gradient steps per x-update for multi-coil data (single-coil data
            need none: their x-update is exact).
    """

    max_iter: int = 100
    tol: float = 0.0
    rho: float | None = None
    rho_factor: float = 20.0
    relaxation: float = 1.5
    adaptive_rho: bool = False
    cg_iter: int = 4


@dataclass(frozen=True)
class PdhgConfig:
    """Settings of the Chambolle–Pock primal–dual solver.

    Attributes:
        max_iter: maximum number of iterations.
        tol: relative-change stopping tolerance (0 disables it).
        tau: primal step; ``None`` gives ``tau_factor / sqrt(8)``. The dual step is
            ``sigma = 1 / (8 tau)`` so that ``tau * sigma * ||D||^2 <= 1``.
        tau_factor: default primal step relative to ``1 / ||D|| = 1 / sqrt(8)``.
        theta: extrapolation parameter (1 is the standard choice).
    """

    max_iter: int = 1000
    tol: float = 0.0
    tau: float | None = None
    tau_factor: float = 10.0
    theta: float = 1.0


@dataclass(frozen=True)
class GradientConfig:
    """Settings of the tutorial's gradient-descent solver (Keras optimizer on autodiff).

    Attributes:
        max_iter: number of optimizer steps.
        tol: relative-change stopping tolerance (0 disables it).
        optimizer: ``"adam"`` or ``"sgd"``.
        learning_rate: the optimizer's step size.
        momentum: momentum for SGD.
        eps: smoothing of the TV norm, ``sqrt(|Dx|^2 + eps^2)``, so the gradient exists at 0.
    """

    max_iter: int = 300
    tol: float = 0.0
    optimizer: str = "adam"
    learning_rate: float = 5e-3
    momentum: float = 0.0
    eps: float = 1e-3


SolverConfig = AdmmConfig | PdhgConfig | GradientConfig
_CONFIG_TYPES: dict[str, type] = {"admm": AdmmConfig, "pdhg": PdhgConfig, "gradient": GradientConfig}


@dataclass(frozen=True)
class IterationRecord:
    """Per-iteration record of a TV solve.

    ``psnr`` and ``ssim`` are NaN when no reference was given; they are computed in the solver's
    graph with the fastMRI conventions (magnitudes, data range = reference max, 7x7 uniform SSIM
    window as in scikit-image) and agree with :mod:`recon_core.metrics` to about 1e-3.
    """

    iteration: int
    objective: float
    data_term: float
    tv_term: float
    rel_change: float
    psnr: float
    ssim: float
    elapsed_s: float


@dataclass
class TVResult:
    """Outcome of :func:`reconstruct_tv`.

    Attributes:
        image: complex64 array, shape (H, W): the reconstruction (use ``abs`` for display).
        history: one :class:`IterationRecord` per iteration run.
        method: solver name.
        lam: regularisation weight.
        config: the solver settings used.
        converged: True if the tolerance test stopped the solve.
        stopped: True if the callback stopped the solve.
        elapsed_s: wall time of the solve (seconds), including metric computation.
    """

    image: np.ndarray
    history: list[IterationRecord]
    method: str
    lam: float
    config: SolverConfig
    converged: bool = False
    stopped: bool = False
    elapsed_s: float = 0.0
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def n_iter(self) -> int:
        """Number of iterations run."""
        return len(self.history)

    def history_arrays(self) -> dict[str, np.ndarray]:
        """The history as a dict of 1-D arrays keyed by :class:`IterationRecord` field."""
        if not self.history:
            return {k: np.array([]) for k in IterationRecord.__dataclass_fields__}
        rows = [asdict(r) for r in self.history]
        return {k: np.array([r[k] for r in rows]) for k in rows[0]}


# --------------------------------------------------------------------------------------------
# TensorFlow building blocks (arrays are ifftshift-ed; F is the plain orthonormal FFT)
# --------------------------------------------------------------------------------------------


def _grad(x: tf.Tensor) -> tf.Tensor:
    """Forward differences with periodic boundaries: (H, W) -> (2, H, W)."""
    return tf.stack([tf.roll(x, -1, axis=0) - x, tf.roll(x, -1, axis=1) - x])


def _grad_adj(p: tf.Tensor) -> tf.Tensor:
    """Adjoint of :func:`_grad`: (2, H, W) -> (H, W)."""
    return (tf.roll(p[0], 1, axis=0) - p[0]) + (tf.roll(p[1], 1, axis=1) - p[1])


def _abs2(z: tf.Tensor) -> tf.Tensor:
    return tf.math.square(tf.math.real(z)) + tf.math.square(tf.math.imag(z))


def _tv_norm(g: tf.Tensor) -> tf.Tensor:
    return tf.reduce_sum(tf.sqrt(_abs2(g[0]) + _abs2(g[1])))


def _shrink(t: tf.Tensor, thresh: tf.Tensor) -> tf.Tensor:
    """Isotropic (group) soft-thresholding of a gradient field (2, H, W): the prox of the TV norm."""
    mag = tf.sqrt(_abs2(t[0]) + _abs2(t[1]))
    factor = tf.maximum(1.0 - thresh / tf.maximum(mag, 1e-30), 0.0)
    return t * tf.cast(factor, tf.complex64)[None]


def _fft(x: tf.Tensor, scale: tf.Tensor) -> tf.Tensor:
    return tf.signal.fft2d(x) * scale


def _ifft(k: tf.Tensor, scale: tf.Tensor) -> tf.Tensor:
    return tf.signal.ifft2d(k) / scale


def _ssim_tf(ref: tf.Tensor, img: tf.Tensor, data_range: tf.Tensor) -> tf.Tensor:
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


def _quality(x: tf.Tensor, ref: tf.Tensor, with_ref: bool) -> tuple[tf.Tensor, tf.Tensor]:
    """PSNR and SSIM of |x| (shifted back to the centred layout) against ref (centred)."""
    if not with_ref:
        nan = tf.constant(float("nan"), tf.float32)
        return nan, nan
    mag = tf.signal.fftshift(tf.abs(x))
    dr = tf.reduce_max(ref)
    mse = tf.reduce_mean(tf.square(mag - ref))
    p = 10.0 * tf.math.log(dr * dr / tf.maximum(mse, 1e-30)) / tf.math.log(10.0)
    return p, _ssim_tf(ref, mag, dr)


def _rel_change(x_new: tf.Tensor, x_old: tf.Tensor) -> tf.Tensor:
    num = tf.sqrt(tf.reduce_sum(_abs2(x_new - x_old)))
    den = tf.sqrt(tf.reduce_sum(_abs2(x_new)))
    return num / tf.maximum(den, 1e-30)


def _converged(rc: tf.Tensor, tol: tf.Tensor, index: tf.Tensor) -> tf.Tensor:
    # The first ADMM iteration leaves x unchanged when started from the zero-filled image
    # (only z moves), so the relative-change test is skipped on the very first iteration.
    return tf.logical_and(rc < tol, index >= 1)


#: Iterations per compiled call at most. The record arrays have this fixed size, so XLA
#: compiles a solver once per image size instead of once per iteration count.
CHUNK_CAP = 64


def _record_arrays(n: tf.Tensor) -> list[tf.TensorArray]:
    del n  # at most CHUNK_CAP iterations run per call
    return [tf.TensorArray(tf.float32, size=CHUNK_CAP, dynamic_size=False) for _ in range(6)]


def _stack(tas: list[tf.TensorArray], count: tf.Tensor) -> tf.Tensor:
    """(6, n) records: objective, data, tv, rel_change, psnr, ssim; row ``count`` holds the
    number of iterations run (XLA wants static shapes, so the caller slices)."""
    rows = tf.stack([ta.stack() for ta in tas])
    n = tf.shape(rows)[1]
    return tf.concat([rows, tf.fill([1, n], tf.cast(count, tf.float32))], axis=0)


#: Compile the solver loops with XLA (fuses the elementwise work around the FFTs: about 2x
#: faster on CPU). Set RECON_LAB_XLA=0 to fall back to plain graphs. Each new image size
#: compiles once (about a second).
_XLA = os.environ.get("RECON_LAB_XLA", "1") != "0"

_SPEC_C = tf.TensorSpec([None, None], tf.complex64)
_SPEC_C2 = tf.TensorSpec([2, None, None], tf.complex64)
_SPEC_R = tf.TensorSpec([None, None], tf.float32)
_SPEC_S = tf.TensorSpec([], tf.float32)
_SPEC_I = tf.TensorSpec([], tf.int32)


def _admm_chunk_impl(x, z, u, rho, y, mask, lap, ref, lam, alpha, tol, n, start, adaptive, with_ref):
    h = tf.shape(x)[0]
    w = tf.shape(x)[1]
    scale = tf.cast(tf.math.rsqrt(tf.cast(h * w, tf.float32)), tf.complex64)
    maskc = tf.cast(mask, tf.complex64)
    y_m = y * maskc
    tas = _record_arrays(n)

    def body(i, x, z, u, rho, done, tas):
        rhoc = tf.cast(rho, tf.complex64)
        den = mask + rho * lap
        inv = tf.where(den > 0, 1.0 / tf.where(den > 0, den, 1.0), 0.0)
        k = (y_m + rhoc * _fft(_grad_adj(z - u), scale)) * tf.cast(inv, tf.complex64)
        x_new = _ifft(k, scale)
        g = _grad(x_new)
        v = tf.cast(alpha, tf.complex64) * g + tf.cast(1.0 - alpha, tf.complex64) * z
        t = v + u
        z_new = _shrink(t, lam / rho)
        u_new = t - z_new
        if adaptive:
            r_norm = tf.sqrt(tf.reduce_sum(_abs2(g - z_new)))
            s_norm = rho * tf.sqrt(tf.reduce_sum(_abs2(_grad_adj(z_new - z))))
            factor = tf.where(r_norm > 10.0 * s_norm, 2.0, tf.where(s_norm > 10.0 * r_norm, 0.5, 1.0))
            rho_new = rho * factor
            u_new = u_new / tf.cast(factor, tf.complex64)
        else:
            rho_new = rho
        data = 0.5 * tf.reduce_sum(_abs2(k * maskc - y_m))
        tv = _tv_norm(g)
        rc = _rel_change(x_new, x)
        p, s = _quality(x_new, ref, with_ref)
        vals = [data + lam * tv, data, tv, rc, p, s]
        tas = [ta.write(i, val) for ta, val in zip(tas, vals)]
        return i + 1, x_new, z_new, u_new, rho_new, _converged(rc, tol, start + i), tas

    def cond(i, x, z, u, rho, done, tas):
        return tf.logical_and(i < n, tf.logical_not(done))

    i, x, z, u, rho, done, tas = tf.while_loop(
        cond, body, (tf.constant(0), x, z, u, rho, tf.constant(False), tas)
    )
    return x, z, u, rho, _stack(tas, i), done


_ADMM_SPECS = [_SPEC_C, _SPEC_C2, _SPEC_C2, _SPEC_S, _SPEC_C, _SPEC_R, _SPEC_R, _SPEC_R,
               _SPEC_S, _SPEC_S, _SPEC_S, _SPEC_I, _SPEC_I]
_admm_chunk = {
    (adaptive, with_ref): tf.function(
        functools.partial(_admm_chunk_impl, adaptive=adaptive, with_ref=with_ref),
        input_signature=_ADMM_SPECS,
        jit_compile=_XLA,
    )
    for adaptive in (False, True)
    for with_ref in (False, True)
}


def _pdhg_chunk_impl(x, xbar, p, y, mask, ref, lam, tau, sigma, theta, tol, n, start, with_ref):
    h = tf.shape(x)[0]
    w = tf.shape(x)[1]
    scale = tf.cast(tf.math.rsqrt(tf.cast(h * w, tf.float32)), tf.complex64)
    maskc = tf.cast(mask, tf.complex64)
    y_m = y * maskc
    inv = tf.cast(1.0 / (1.0 + tau * mask), tf.complex64)
    tauc = tf.cast(tau, tf.complex64)
    tas = _record_arrays(n)

    def body(i, x, xbar, p, done, tas):
        q = p + tf.cast(sigma, tf.complex64) * _grad(xbar)
        qmag = tf.sqrt(_abs2(q[0]) + _abs2(q[1]))
        p_new = q / tf.cast(tf.maximum(qmag / lam, 1.0), tf.complex64)[None]
        v = x - tauc * _grad_adj(p_new)
        k = (_fft(v, scale) + tauc * y_m) * inv
        x_new = _ifft(k, scale)
        xbar_new = x_new + tf.cast(theta, tf.complex64) * (x_new - x)
        data = 0.5 * tf.reduce_sum(_abs2(k * maskc - y_m))
        tv = _tv_norm(_grad(x_new))
        rc = _rel_change(x_new, x)
        ps, ss = _quality(x_new, ref, with_ref)
        vals = [data + lam * tv, data, tv, rc, ps, ss]
        tas = [ta.write(i, val) for ta, val in zip(tas, vals)]
        return i + 1, x_new, xbar_new, p_new, _converged(rc, tol, start + i), tas

    def cond(i, x, xbar, p, done, tas):
        return tf.logical_and(i < n, tf.logical_not(done))

    i, x, xbar, p, done, tas = tf.while_loop(
        cond, body, (tf.constant(0), x, xbar, p, tf.constant(False), tas)
    )
    return x, xbar, p, _stack(tas, i), done


_PDHG_SPECS = [_SPEC_C, _SPEC_C, _SPEC_C2, _SPEC_C, _SPEC_R, _SPEC_R, _SPEC_S, _SPEC_S,
               _SPEC_S, _SPEC_S, _SPEC_S, _SPEC_I, _SPEC_I]
_pdhg_chunk = {
    with_ref: tf.function(
        functools.partial(_pdhg_chunk_impl, with_ref=with_ref), input_signature=_PDHG_SPECS,
        jit_compile=_XLA,
    )
    for with_ref in (False, True)
}


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def _laplacian_eigs(h: int, w: int) -> np.ndarray:
    """Eigenvalues of D^H D in the (unshifted) FFT basis, float32 (H, W)."""
    ky = 4.0 * np.sin(np.pi * np.arange(h) / h) ** 2
    kx = 4.0 * np.sin(np.pi * np.arange(w) / w) ** 2
    return (ky[:, None] + kx[None, :]).astype(np.float32)


def _resolve_config(method: str, config: SolverConfig | None, max_iter: int | None,
                    tol: float | None) -> SolverConfig:
    if method not in _CONFIG_TYPES:
        raise ValueError(f"unknown TV method {method!r}; choose one of {', '.join(METHODS)}")
    cls = _CONFIG_TYPES[method]
    if config is None:
        config = cls()
    elif not isinstance(config, cls):
        raise ValueError(
            f"method {method!r} needs a {cls.__name__}, got {type(config).__name__}"
        )
    if max_iter is not None:
        config = replace(config, max_iter=check_int(max_iter, "max_iter", minimum=1))
    if tol is not None:
        config = replace(config, tol=check_positive(tol, "tol", allow_zero=True))
    check_int(config.max_iter, "max_iter", minimum=1)
    check_positive(config.tol, "tol", allow_zero=True)
    if isinstance(config, AdmmConfig):
        if config.rho is not None:
            check_positive(config.rho, "rho")
        check_positive(config.rho_factor, "rho_factor")
        if not 1.0 <= config.relaxation < 2.0:
            raise ValueError(f"relaxation must be in [1, 2), got {config.relaxation}")
        check_int(config.cg_iter, "cg_iter", minimum=1)
    elif isinstance(config, PdhgConfig):
        if config.tau is not None:
            check_positive(config.tau, "tau")
        check_positive(config.tau_factor, "tau_factor")
        if not 0.0 <= config.theta <= 1.0:
            raise ValueError(f"theta must be in [0, 1], got {config.theta}")
    else:
        if config.optimizer not in ("adam", "sgd"):
            raise ValueError(f"optimizer must be 'adam' or 'sgd', got {config.optimizer!r}")
        check_positive(config.learning_rate, "learning_rate")
        check_positive(config.momentum, "momentum", allow_zero=True)
        check_positive(config.eps, "eps")
    return config


def _validate_inputs(kspace: ArrayLike, mask: ArrayLike, lam: float,
                     reference: ArrayLike | None, sens: ArrayLike | None = None,
                     ) -> tuple[np.ndarray, np.ndarray, float, np.ndarray | None, np.ndarray | None]:
    k = as_array(kspace, "kspace")
    s = None
    if sens is None:
        if k.ndim != 2:
            hint = " (multi-coil k-space needs sensitivity maps: pass sens)" if k.ndim == 3 else ""
            raise ValueError(f"kspace must be a single 2-D slice (H, W), got shape {k.shape}{hint}")
    else:
        if k.ndim != 3:
            raise ValueError(f"multi-coil kspace must have shape (C, H, W), got {k.shape}")
        s = as_array(sens, "sens").astype(np.complex64)
        if s.shape != k.shape:
            raise ValueError(f"sens {s.shape} does not match k-space {k.shape}")
        if not np.any(np.abs(s) > 0):
            raise ValueError("sensitivity maps are all zero")
    if min(k.shape[-2:]) < 2:
        raise ValueError(f"kspace must be at least 2x2, got shape {k.shape}")
    m = as_mask(mask, k.shape)
    if m.ndim != 2:
        raise ValueError(f"mask must be 2-D (H, W), got shape {m.shape}")
    if not m.any():
        raise ValueError("mask samples no k-space point")
    lam = check_positive(lam, "lam", allow_zero=True)
    ref = None
    if reference is not None:
        ref = np.abs(as_array(reference, "reference")).astype(np.float32)
        if ref.shape != k.shape[-2:]:
            raise ValueError(f"reference {ref.shape} does not match the image size {k.shape[-2:]}")
        if ref.max() <= 0:
            raise ValueError("reference is all zeros")
    return k.astype(np.complex64), m, lam, ref, s


Callback = Callable[[IterationRecord], bool | None]


class _Snapshot:
    """The image at the end of a compiled chunk (after ``iteration``), fetched on demand.

    Calling it returns complex64 (H, W) in the centred layout. Every record of a chunk carries
    the same snapshot, so a caller that stops inside a chunk can tell which iteration the
    image belongs to.
    """

    def __init__(self, x_shifted: tf.Tensor, iteration: int):
        self._x = x_shifted
        self.iteration = iteration

    def __call__(self) -> np.ndarray:
        return np.fft.fftshift(self._x.numpy())


def tv_iterations(
    kspace: ArrayLike,
    mask: ArrayLike,
    lam: float = DEFAULT_LAM,
    method: str = "admm",
    *,
    config: SolverConfig | None = None,
    max_iter: int | None = None,
    tol: float | None = None,
    reference: ArrayLike | None = None,
    chunk: int = 1,
    x0: ArrayLike | None = None,
    sens: ArrayLike | None = None,
) -> Iterator[tuple[IterationRecord, Callable[[], np.ndarray]]]:
    """Run a TV solve step by step, yielding ``(record, current_image)`` per iteration.

    The solver runs ``chunk`` iterations per compiled call; records of a chunk are yielded one
    after the other. ``current_image()`` returns the latest image (complex64, (H, W), centred).
    Breaking out of the loop stops the solve; no work continues in the background.

    Args are as for :func:`reconstruct_tv`. ``x0`` is an optional starting image (H, W);
    by default the zero-filled image.

    :Examples:

    >>> import numpy as np
    >>> from recon_core.fourier import fft2c
    >>> k = fft2c(np.eye(16)); m = np.ones((16, 16), bool)
    >>> rec, img = next(tv_iterations(k, m, lam=1e-3, max_iter=5))
    >>> rec.iteration, img().shape
    (1, (16, 16))
    """
    k, m, lam, ref, sens_a = _validate_inputs(kspace, mask, lam, reference, sens)
    cfg = _resolve_config(method, config, max_iter, tol)
    chunk = check_int(chunk, "chunk", minimum=1)
    h, w = k.shape[-2:]
    if sens_a is not None and method == "gradient":
        raise ValueError("the gradient method is single-coil only; use 'admm' or 'pdhg' with sens")

    # Work in ifftshift-ed coordinates: F_c = fftshift F ifftshift.
    ys = np.fft.ifftshift(k * m, axes=(-2, -1))
    ms = np.fft.ifftshift(m).astype(np.float32)
    ss = None if sens_a is None else np.fft.ifftshift(sens_a, axes=(-2, -1))
    if x0 is not None:
        x0a = as_array(x0, "x0")
        if x0a.shape != (h, w):
            raise ValueError(f"x0 {x0a.shape} does not match the image size {(h, w)}")
        xs = np.fft.ifftshift(x0a).astype(np.complex64)
    elif sens_a is None:
        xs = np.fft.ifft2(ys, norm="ortho").astype(np.complex64)
    else:  # SENSE-combined zero-filled image
        coil = np.fft.ifft2(ys, norm="ortho")
        norm = np.sum(np.abs(ss) ** 2, axis=0)
        xs = (np.sum(np.conj(ss) * coil, axis=0) / np.where(norm > 0, norm, 1.0)).astype(np.complex64)
    with_ref = ref is not None
    ref_t = tf.constant(ref if with_ref else np.zeros((h, w), np.float32))
    y_t = tf.constant(ys.astype(np.complex64))
    m_t = tf.constant(ms)

    def image_of(x_shifted: tf.Tensor, iteration: int) -> _Snapshot:
        return _Snapshot(x_shifted, iteration)

    t_start = time.perf_counter()
    if sens_a is not None:
        yield from _sense_iterations(xs, ss, y_t, m_t, ref_t, lam, method, cfg, chunk, with_ref,
                                     t_start, image_of)
        return
    if method == "gradient":
        from recon_core.tv_gradient import gradient_iterations as _gradient_iterations

        yield from _gradient_iterations(xs, y_t, m_t, ref_t, lam, cfg, chunk, with_ref, t_start)
        return

    x = tf.constant(xs)
    if method == "admm":
        rho = cfg.rho if cfg.rho is not None else cfg.rho_factor * max(lam, 1e-12)
        z = _grad(x)
        u = tf.zeros_like(z)
        rho_t = tf.constant(rho, tf.float32)
        lap = tf.constant(_laplacian_eigs(h, w))
        fn = _admm_chunk[(bool(cfg.adaptive_rho), with_ref)]
    else:
        tau = cfg.tau if cfg.tau is not None else cfg.tau_factor / math.sqrt(8.0)
        sigma = 1.0 / (8.0 * tau)
        xbar = x
        p = tf.zeros((2, h, w), tf.complex64)
        fn = _pdhg_chunk[with_ref]

    lam_t = tf.constant(lam, tf.float32)
    tol_t = tf.constant(cfg.tol, tf.float32)
    state = [x, z, u, rho_t] if method == "admm" else [x, xbar, p]

    def step(start: tf.Tensor, n: tf.Tensor):
        if method == "admm":
            out = fn(*state, y_t, m_t, lap, ref_t, lam_t,
                     tf.constant(cfg.relaxation, tf.float32), tol_t, n, start)
        else:
            out = fn(*state, y_t, m_t, ref_t, lam_t, tf.constant(tau, tf.float32),
                     tf.constant(sigma, tf.float32), tf.constant(cfg.theta, tf.float32), tol_t, n, start)
        state[:] = out[:-2]  # the solver's variables, carried to the next chunk
        return state[0], out[-2], out[-1]

    yield from _drive_chunks(step, cfg.max_iter, chunk, t_start, image_of)


def _drive_chunks(step, max_iter: int, chunk: int, t_start: float, image_of):
    """Run compiled chunks and yield ``(record, image getter)`` per iteration.

    ``step(start, n)`` runs up to ``n`` iterations from iteration ``start`` (both int32
    tensors) and returns ``(x, recs, done)``: the current image, the (7, n) record array of the
    chunk (row 6 holds the number of iterations actually run) and whether the tolerance test
    stopped it. Every record of a chunk shares the image of the chunk's last iteration.
    """
    it = 0
    while it < max_iter:
        n = tf.constant(min(chunk, max_iter - it, CHUNK_CAP), tf.int32)
        x, recs, done = step(tf.constant(it, tf.int32), n)
        recs = recs.numpy()
        recs = recs[:6, : int(recs[6, 0])] if recs.shape[1] else recs[:6]
        elapsed = time.perf_counter() - t_start
        get_image = image_of(x, it + recs.shape[1])
        for j in range(recs.shape[1]):
            it += 1
            yield _make_record(it, recs[:, j], elapsed), get_image
        if bool(done):
            return


def _sense_iterations(xs, ss, y_t, m_t, ref_t, lam, method, cfg, chunk, with_ref, t_start, image_of):
    from recon_core import tv_sense

    h, w = xs.shape
    x = tf.constant(xs)
    s_t = tf.constant(ss.astype(np.complex64))
    lam_t = tf.constant(lam, tf.float32)
    tol_t = tf.constant(cfg.tol, tf.float32)
    if method == "admm":
        rho = cfg.rho if cfg.rho is not None else cfg.rho_factor * max(lam, 1e-12)
        z, u = _grad(x), tf.zeros((2, h, w), tf.complex64)
        fn = tv_sense.admm_sense_chunk(int(cfg.cg_iter), with_ref)
    else:
        # ||K||^2 <= max sum_c |S_c|^2 + 8; steps as in the single-coil case
        norm_a = float(np.max(np.sum(np.abs(ss) ** 2, axis=0)))
        tau = cfg.tau if cfg.tau is not None else cfg.tau_factor / math.sqrt(8.0 + norm_a)
        sigma = 1.0 / ((8.0 + norm_a) * tau)
        xbar, p, q = x, tf.zeros_like(y_t), tf.zeros((2, h, w), tf.complex64)
        fn = tv_sense.pdhg_sense_chunk[with_ref]
    state = [x, z, u] if method == "admm" else [x, xbar, p, q]

    def step(start: tf.Tensor, n: tf.Tensor):
        if method == "admm":
            out = fn(*state, y_t, s_t, m_t, ref_t, lam_t, tf.constant(rho, tf.float32),
                     tf.constant(cfg.relaxation, tf.float32), tol_t, n, start)
        else:
            out = fn(*state, y_t, s_t, m_t, ref_t, lam_t, tf.constant(tau, tf.float32),
                     tf.constant(sigma, tf.float32), tf.constant(cfg.theta, tf.float32), tol_t, n, start)
        state[:] = out[:-2]  # the solver's variables, carried to the next chunk
        return state[0], out[-2], out[-1]

    yield from _drive_chunks(step, cfg.max_iter, chunk, t_start, image_of)


def _make_record(it: int, vals: np.ndarray, elapsed: float) -> IterationRecord:
    obj, data, tv, rc, p, s = (float(v) for v in vals)
    return IterationRecord(it, obj, data, tv, rc, p, s, elapsed)


def reconstruct_tv(
    kspace: ArrayLike,
    mask: ArrayLike,
    lam: float = DEFAULT_LAM,
    method: str = "admm",
    max_iter: int | None = None,
    tol: float | None = None,
    callback: Callback | None = None,
    reference: ArrayLike | None = None,
    *,
    config: SolverConfig | None = None,
    callback_every: int = 1,
    x0: ArrayLike | None = None,
    sens: ArrayLike | None = None,
) -> TVResult:
    r"""TV-regularised reconstruction of one slice, single-coil or (with ``sens``) multi-coil.

    Minimises :math:`\tfrac12\|MFx-y\|_2^2 + \lambda\,\mathrm{TV}(x)` (see the module docstring).

    Args:
        kspace: complex, shape (H, W), centred (DC at (H // 2, W // 2)), orthonormal scaling.
            Values outside the mask are ignored.
        mask: bool (or 0/1), shape (H, W); True where k-space was sampled.
        lam: regularisation weight >= 0. :data:`DEFAULT_LAM` suits images with max 1.
        method: ``"admm"`` (default, fastest), ``"pdhg"`` or ``"gradient"``.
        max_iter: overrides ``config.max_iter``.
        tol: overrides ``config.tol`` (relative change of the image between iterations).
        callback: called with each :class:`IterationRecord` (in batches of ``callback_every``
            iterations); returning ``True`` stops the solve.
        reference: ground-truth image (H, W); when given, PSNR/SSIM are recorded per iteration
            and the final metrics are computed with :mod:`recon_core.metrics`.
        config: :class:`AdmmConfig`, :class:`PdhgConfig` or :class:`GradientConfig`.
        callback_every: iterations per compiled chunk between callback calls.
        x0: starting image (H, W); default the zero-filled image.
        sens: coil sensitivity maps, complex (C, H, W), for multi-coil ``kspace`` of shape
            (C, H, W): the SENSE model ``y_c = M F (S_c x)`` (see :mod:`recon_core.tv_sense`;
            ``admm`` and ``pdhg`` only).

    Returns:
        :class:`TVResult` with the complex image and the per-iteration history.

    Raises:
        ValueError: wrong rank, mask/k-space shape mismatch, NaN/Inf, lam < 0, unknown method.

    :Examples:

    >>> from recon_core.phantoms import shepp_logan
    >>> from recon_core.fourier import fft2c
    >>> import numpy as np
    >>> x = shepp_logan(32); m = np.zeros((32, 32), bool); m[:, ::2] = True; m[:, 12:20] = True
    >>> res = reconstruct_tv(fft2c(x) * m, m, max_iter=20, reference=x)
    >>> res.n_iter, res.metrics["psnr"] > 25
    (20, True)
    """
    cfg = _resolve_config(method, config, max_iter, tol)
    callback_every = check_int(callback_every, "callback_every", minimum=1)
    chunk = callback_every if callback is not None else cfg.max_iter
    t0 = time.perf_counter()
    history: list[IterationRecord] = []
    stopped = False
    get_image: Callable[[], np.ndarray] | None = None
    gen = tv_iterations(kspace, mask, lam, method, config=cfg, reference=reference,
                        chunk=chunk, x0=x0, sens=sens)
    for rec, get_image in gen:
        history.append(rec)
        if callback is not None and callback(rec):
            stopped = True
            # The rest of this chunk is already computed and the image is its last iterate:
            # keep its records so that history and image describe the same iteration.
            while rec.iteration < getattr(get_image, "iteration", rec.iteration):
                rec, get_image = next(gen)
                history.append(rec)
            gen.close()
            break
    assert get_image is not None
    image = get_image().astype(np.complex64)
    elapsed = time.perf_counter() - t0
    converged = bool(
        not stopped and history and cfg.tol > 0 and history[-1].rel_change < cfg.tol
    )
    result = TVResult(image, history, method, float(lam), cfg, converged, stopped, elapsed)
    if reference is not None:
        ref = np.abs(np.asarray(reference))
        result.metrics = {"psnr": _psnr(ref, np.abs(image)), "ssim": _ssim(ref, np.abs(image))}
    return result


def tv_objective(image: ArrayLike, kspace: ArrayLike, mask: ArrayLike, lam: float,
                 sens: ArrayLike | None = None) -> dict[str, float]:
    """Evaluate the TV objective in NumPy (float64), independently of the solvers.

    Args:
        image: complex, shape (H, W), centred.
        kspace: complex, shape (H, W), centred.
        mask: bool, shape (H, W).
        lam: regularisation weight.
        sens: coil maps (C, H, W) for multi-coil k-space (C, H, W).

    Returns:
        ``{"objective": ..., "data_term": ..., "tv_term": ...}``.
    """
    x = as_array(image, "image").astype(np.complex128)
    k, m, lam, _, s = _validate_inputs(kspace, mask, lam, None, sens)
    if x.shape != k.shape[-2:]:
        raise ValueError(f"image {x.shape} does not match k-space {k.shape}")
    coil = x if s is None else s * x
    ax = (-2, -1)
    fx = np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(coil, axes=ax), norm="ortho"), axes=ax)
    data = 0.5 * float(np.sum(np.abs((fx - k) * m) ** 2))
    gv = np.roll(x, -1, axis=0) - x
    gh = np.roll(x, -1, axis=1) - x
    tv = float(np.sum(np.sqrt(np.abs(gv) ** 2 + np.abs(gh) ** 2)))
    return {"objective": data + lam * tv, "data_term": data, "tv_term": tv}


@dataclass(frozen=True)
class LambdaSweepPoint:
    """One point of :func:`sweep_lambda`: the weight, final metrics and the image."""

    lam: float
    psnr: float
    ssim: float
    objective: float
    image: np.ndarray


def sweep_lambda(
    kspace: ArrayLike,
    mask: ArrayLike,
    reference: ArrayLike,
    lams: Sequence[float] | None = None,
    method: str = "admm",
    *,
    config: SolverConfig | None = None,
    sens: ArrayLike | None = None,
    callback: Callable[[int, LambdaSweepPoint], bool | None] | None = None,
) -> list[LambdaSweepPoint]:
    """Reconstruct with several regularisation weights and score each against ``reference``.

    Args:
        kspace, mask: as for :func:`reconstruct_tv`.
        reference: ground-truth image (H, W).
        lams: weights to try; default 9 values log-spaced from 1e-5 to 1e-1.
        method, config: solver and its settings.
        sens: coil maps for multi-coil k-space, as for :func:`reconstruct_tv`.
        callback: called as ``callback(index, point)`` after each weight; returning ``True``
            stops the sweep (the points so far are returned).

    Returns:
        A list of :class:`LambdaSweepPoint`, in the order of ``lams``. The best weight is
        ``max(points, key=lambda p: p.psnr).lam``.
    """
    if reference is None:
        raise ValueError("sweep_lambda needs a reference image to score each weight")
    if lams is None:
        lams = list(np.logspace(-5, -1, 9))
    lams = [check_positive(v, "lam", allow_zero=True) for v in lams]
    if not lams:
        raise ValueError("lams is empty")
    points: list[LambdaSweepPoint] = []
    for i, lam in enumerate(lams):
        res = reconstruct_tv(kspace, mask, lam, method, reference=reference, config=config, sens=sens)
        pt = LambdaSweepPoint(lam, res.metrics["psnr"], res.metrics["ssim"],
                              res.history[-1].objective, res.image)
        points.append(pt)
        if callback is not None and callback(i, pt):
            break
    return points
