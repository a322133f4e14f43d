r"""The non-uniform FFT: k-space samples at arbitrary points (radial, spiral, ...) of an image.

Coordinates are in **cycles per field of view**, one row per sample, ``coord[..., 0]`` along
the image rows (``ky``, axis -2) and ``coord[..., 1]`` along the columns (``kx``, axis -1). The
Cartesian grid point ``(u, v)`` of :func:`~recon_core.ops.fft.fft2c` has coordinates
``(u - H // 2, v - W // 2)``, so valid points lie in ``[-H/2, H/2) x [-W/2, W/2)``. The scaling
is the one of ``fft2c``:

.. math::

    y_j = \frac{1}{\sqrt{HW}} \sum_{n} x_n \, e^{-2\pi i\,(k_{y,j} (n_y - H/\!/2) / H
          + k_{x,j} (n_x - W/\!/2) / W)},

so that on grid points the NUFFT *is* ``fft2c`` and a trajectory that samples every grid point
once is unitary. The transforms are FINUFFT's type 2 (image -> samples) and type 1 (samples ->
image, the adjoint), in double precision to a relative accuracy of 1e-6, batched over leading
axes (coils).

For iterative reconstruction the normal operator :math:`A^H A` is a convolution of the image
with the trajectory's point-spread function (a Toeplitz matrix). Embedded in a circulant of
twice the size, it is one 2x-oversampled FFT pair with a kernel computed once per trajectory
(:class:`NUFFT` ``.apply_normal``), so that solver loops run in TensorFlow FFTs only (on a GPU
when there is one) and never call the NUFFT itself.

References:
    Barnett, A. H., Magland, J. and af Klinteberg, L. "A parallel nonuniform fast Fourier
    transform library based on an 'exponential of semicircle' kernel." SIAM J. Sci. Comput.
    41(5), 2019 (FINUFFT).
    Wajer, F. and Pruessmann, K. P. "Major speedup of reconstruction for sensitivity encoding
    with arbitrary trajectories." Proc. ISMRM 2001 (the Toeplitz embedding).
    Fessler, J. A. et al. "Toeplitz-based iterative image reconstruction for MRI with
    correction for magnetic field inhomogeneity." IEEE Trans. Signal Process. 53(9), 2005.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
import tensorflow as tf
from numpy.typing import ArrayLike

from recon_core.checks import as_array
from recon_core.ops.base import LinearOperator, as_complex, static_shape

__all__ = ["NUFFT", "check_coord", "nufft_forward", "nufft_adjoint", "toeplitz_kernel",
           "NUFFT_EPS"]

#: Requested relative accuracy of FINUFFT's transforms.
NUFFT_EPS = 1e-6

_LOCK = threading.Lock()  # FINUFFT's own threads already use the cores; one transform at a time


def _finufft():
    try:
        import finufft
    except ImportError as exc:  # pragma: no cover - finufft is in requirements.txt
        raise ImportError("finufft is required for non-Cartesian data: pip install finufft") from exc
    return finufft


def check_coord(coord: ArrayLike, shape: Sequence[int]) -> np.ndarray:
    """``coord`` validated and flattened to (K, 2) float64.

    Args:
        coord: sample coordinates, shape (..., 2), cycles per field of view (module docstring).
        shape: the image size (H, W).

    Raises:
        ValueError: not (..., 2), empty, NaN/Inf, or a point outside ``[-H/2, H/2) x [-W/2, W/2)``
            (the message names the first such point).

    :Examples:

    >>> check_coord([[0, 0], [-2, 1.5]], (4, 4)).shape
    (2, 2)
    >>> check_coord([[2, 0]], (4, 4))
    Traceback (most recent call last):
    ...
    ValueError: coordinate (2, 0) of sample 0 is outside the k-space of a (4, 4) image: ky must be in [-2, 2) and kx in [-2, 2) (cycles per field of view)
    """
    h, w = (int(v) for v in shape)
    c = np.asarray(coord, dtype=np.float64) if not isinstance(coord, np.ndarray) else coord
    if c.ndim < 1 or c.shape[-1] != 2:
        raise ValueError(f"coord must have shape (..., 2) (ky, kx per sample), got {np.shape(coord)}")
    c = c.reshape(-1, 2).astype(np.float64, copy=False)
    if c.shape[0] == 0:
        raise ValueError("coord holds no sample")
    if not np.all(np.isfinite(c)):
        raise ValueError("coord contains NaN or Inf")
    lo = np.array([-h / 2, -w / 2])
    bad = np.flatnonzero(np.any((c < lo) | (c >= -lo), axis=1))
    if bad.size:
        j = int(bad[0])
        ky, kx = (f"{v:g}" for v in c[j])
        raise ValueError(
            f"coordinate ({ky}, {kx}) of sample {j} is outside the k-space of a ({h}, {w}) image: "
            f"ky must be in [{-h / 2:g}, {h / 2:g}) and kx in [{-w / 2:g}, {w / 2:g}) "
            "(cycles per field of view)")
    return c


def _angles(c: np.ndarray, shape: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    h, w = shape
    return 2 * np.pi * c[:, 0] / h, 2 * np.pi * c[:, 1] / w


def _type2(image: np.ndarray, c: np.ndarray) -> np.ndarray:
    """(..., H, W) -> (..., K), unscaled, double precision."""
    h, w = image.shape[-2:]
    lead = image.shape[:-2]
    f = np.ascontiguousarray(image.reshape((-1, h, w)), dtype=np.complex128)
    ty, tx = _angles(c, (h, w))
    with _LOCK:
        out = _finufft().nufft2d2(ty, tx, f if f.shape[0] > 1 else f[0], eps=NUFFT_EPS, isign=-1)
    return out.reshape(lead + (c.shape[0],))


def _type1(samples: np.ndarray, c: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """(..., K) -> (..., H, W) (sign +1), unscaled, double precision."""
    h, w = (int(v) for v in shape)
    lead = samples.shape[:-1]
    s = np.ascontiguousarray(samples.reshape((-1, samples.shape[-1])), dtype=np.complex128)
    ty, tx = _angles(c, (h, w)) if len(shape) == 2 else None
    with _LOCK:
        out = _finufft().nufft2d1(ty, tx, s if s.shape[0] > 1 else s[0], (h, w), eps=NUFFT_EPS,
                                  isign=1)
    return out.reshape(lead + (h, w))


def nufft_forward(image: ArrayLike, coord: ArrayLike) -> np.ndarray:
    """K-space samples of ``image`` at ``coord`` (NumPy in, NumPy out).

    Args:
        image: real or complex, shape (..., H, W), centred like ``fft2c``'s input.
        coord: (..., 2) coordinates in cycles per field of view (module docstring).

    Returns:
        complex64, shape (..., K) with K the number of coordinates, scaled like ``fft2c``.

    :Examples:

    >>> import numpy as np
    >>> from recon_core.ops.fft import fft2c
    >>> x = np.random.default_rng(0).standard_normal((6, 5))
    >>> grid = np.stack(np.meshgrid(np.arange(6) - 3, np.arange(5) - 2, indexing="ij"), -1)
    >>> bool(np.allclose(nufft_forward(x, grid).reshape(6, 5), fft2c(x), atol=1e-5))
    True
    """
    x = as_array(image, "image")
    c = check_coord(coord, x.shape[-2:])
    h, w = x.shape[-2:]
    return (_type2(x, c) / np.sqrt(h * w)).astype(np.complex64)


def nufft_adjoint(samples: ArrayLike, coord: ArrayLike, shape: Sequence[int]) -> np.ndarray:
    """The adjoint of :func:`nufft_forward`: samples (..., K) -> image (..., H, W).

    With density-compensation weights multiplied into ``samples`` first, this is the gridding
    reconstruction.

    Raises:
        ValueError: the last axis of ``samples`` is not the number of coordinates.
    """
    s = as_array(samples, "samples", min_ndim=1)
    h, w = (int(v) for v in shape)
    c = check_coord(coord, (h, w))
    if s.shape[-1] != c.shape[0]:
        raise ValueError(f"samples {s.shape} do not match {c.shape[0]} coordinates "
                         "(the last axis holds the samples)")
    return (_type1(s, c, (h, w)) / np.sqrt(h * w)).astype(np.complex64)


def toeplitz_kernel(coord: ArrayLike, shape: Sequence[int], weights: ArrayLike | None = None
                    ) -> np.ndarray:
    """The circulant kernel of :math:`A^H W A` on the 2x grid: real, shape (2H, 2W).

    :math:`(A^H W A x)_n = \\sum_m t(n - m) x_m` with
    :math:`t(d) = \\frac{1}{HW}\\sum_j w_j e^{2\\pi i (k_{y,j} d_y / H + k_{x,j} d_x / W)}`
    for offsets ``-N < d < N``; ``t`` is placed in a circulant of size (2H, 2W) and the kernel
    is its unnormalised FFT, so that ``crop(ifft2(K * fft2(pad(x))))`` is the normal map
    (``pad`` puts ``x`` in the top-left corner of a zero (2H, 2W) array, ``crop`` takes it back).

    Args:
        coord: (..., 2) coordinates.
        shape: image size (H, W).
        weights: real weights ``w_j >= 0`` per sample (default 1: plain least squares).
    """
    h, w = (int(v) for v in shape)
    c = check_coord(coord, (h, w))
    wt = np.ones(c.shape[0]) if weights is None else np.asarray(weights, np.float64).reshape(-1)
    if wt.shape[0] != c.shape[0]:
        raise ValueError(f"weights ({wt.shape[0]}) do not match {c.shape[0]} coordinates")
    ty, tx = _angles(c, (h, w))
    with _LOCK:
        t = _finufft().nufft2d1(ty, tx, wt.astype(np.complex128), (2 * h, 2 * w),
                                eps=NUFFT_EPS, isign=1)
    # Index (h, w) of the centred (2H, 2W) result is offset 0; the offset -N is outside the
    # Toeplitz band and is set to zero.
    t[0, :] = 0.0
    t[:, 0] = 0.0
    kernel = np.fft.fft2(np.fft.ifftshift(t / (h * w)))
    return np.ascontiguousarray(kernel.real).astype(np.float32)


class NUFFT(LinearOperator):
    """Non-uniform FFT: images (..., H, W) -> samples (..., K) at fixed coordinates.

    ``apply``/``apply_adjoint`` call FINUFFT (eagerly, or inside a plain ``tf.function``
    through ``tf.numpy_function``); ``apply_normal`` is the Toeplitz embedding, TensorFlow
    FFTs only, so that compiled (XLA) solver loops use it and nothing else. Solvers check
    :meth:`graph_forward` to know that ``apply`` is not available inside their loops.

    Args:
        coord: (..., 2) coordinates in cycles per field of view (module docstring).
        shape: image size (H, W).

    :Examples:

    >>> import numpy as np
    >>> A = NUFFT([[0.0, 0.0], [1.5, -2.0]], (8, 8))
    >>> A.ishape, A.oshape
    ((8, 8), (2,))
    >>> x = np.ones((8, 8))
    >>> bool(np.allclose(A.normal(x).numpy(), A.adjoint(A.forward(x)).numpy(), atol=1e-5))
    True
    """

    def __init__(self, coord: ArrayLike, shape: Sequence[int], *, kernel=None):
        h, w = (int(v) for v in shape)
        self.coord = check_coord(coord, (h, w))
        super().__init__((h, w), (self.coord.shape[0],))
        self.kernel = as_complex(toeplitz_kernel(self.coord, (h, w)) if kernel is None else kernel)

    # In a compiled graph the operator is rebuilt around its kernel only (see with_tensors).
    @classmethod
    def _graph_side(cls, kernel: tf.Tensor, ishape, oshape) -> NUFFT:
        op = cls.__new__(cls)
        LinearOperator.__init__(op, ishape, oshape)
        op.coord = None
        op.kernel = kernel
        return op

    def _numpy_forward(self, x: np.ndarray) -> np.ndarray:
        h, w = self.ishape
        return (_type2(x, self.coord) / np.sqrt(h * w)).astype(np.complex64)

    def _numpy_adjoint(self, y: np.ndarray) -> np.ndarray:
        h, w = self.ishape
        return (_type1(y, self.coord, (h, w)) / np.sqrt(h * w)).astype(np.complex64)

    def _needs_coord(self) -> None:
        if self.coord is None:
            raise RuntimeError("the NUFFT's forward and adjoint maps are not available inside a "
                               "compiled solver loop (use apply_normal; see graph_forward)")

    def apply(self, x):
        self._needs_coord()
        shape = static_shape(x)[:-2] + self.oshape
        out = tf.numpy_function(self._numpy_forward, [x], tf.complex64, stateful=False)
        out.set_shape(shape)
        return out

    def apply_adjoint(self, y):
        self._needs_coord()
        shape = static_shape(y)[:-1] + self.ishape
        out = tf.numpy_function(self._numpy_adjoint, [y], tf.complex64, stateful=False)
        out.set_shape(shape)
        return out

    def apply_normal(self, x):
        s = tf.shape(x)
        h, w = s[-2], s[-1]
        rank = x.shape.rank
        pads = tf.concat([tf.zeros((rank - 2, 2), tf.int32), tf.stack([[0, h], [0, w]])], axis=0)
        big = tf.signal.fft2d(tf.pad(x, pads))
        return tf.signal.ifft2d(self.kernel * big)[..., :h, :w]

    def graph_forward(self) -> bool:
        return False

    def tensors(self):
        return (self.kernel,)

    def with_tensors(self, tensors):
        return NUFFT._graph_side(tensors[0], self.ishape, self.oshape)

    def key(self):
        return ("NUFFT",)

    def norm_bound(self):
        # A^H A is a compression of the circulant, whose eigenvalues are the kernel.
        return float(np.sqrt(tf.reduce_max(tf.abs(self.kernel))))
