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

from collections.abc import Sequence

import numpy as np
import tensorflow as tf
from numpy.typing import ArrayLike

from recon_core.ops.base import LinearOperator, as_complex, static_shape
from recon_core.ops.nonuniform import (NUFFT_EPS, check_coord, nufft_adjoint, nufft_forward,
                                       toeplitz_kernel, type1, type2)

__all__ = ["NUFFT", "check_coord", "nufft_forward", "nufft_adjoint", "toeplitz_kernel",
           "NUFFT_EPS"]


class NUFFT(LinearOperator):
    """Non-uniform FFT: images (..., H, W) -> samples (..., K) at fixed coordinates.

    ``apply``/``apply_adjoint`` call FINUFFT (eagerly, or inside a plain ``tf.function``
    through ``tf.numpy_function``, which XLA cannot compile); ``apply_normal`` is the Toeplitz
    embedding, TensorFlow FFTs only, so that compiled (XLA) solver loops use it and nothing
    else. Solvers check :meth:`graph_forward` to know that ``apply`` is not available inside
    their loops.

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

    # Rebuilt around another kernel tensor (inside a compiled graph), keeping the coordinates.
    def _rebuilt(self, kernel: tf.Tensor) -> NUFFT:
        op = NUFFT.__new__(NUFFT)
        LinearOperator.__init__(op, self.ishape, self.oshape)
        op.coord = self.coord
        op.kernel = kernel
        return op

    def _numpy_forward(self, x: np.ndarray) -> np.ndarray:
        h, w = self.ishape
        return (type2(x, self.coord) / np.sqrt(h * w)).astype(np.complex64)

    def _numpy_adjoint(self, y: np.ndarray) -> np.ndarray:
        h, w = self.ishape
        return (type1(y, self.coord, (h, w)) / np.sqrt(h * w)).astype(np.complex64)

    def apply(self, x):
        shape = static_shape(x)[:-2] + self.oshape
        out = tf.numpy_function(self._numpy_forward, [x], tf.complex64, stateful=False)
        out.set_shape(shape)
        return out

    def apply_adjoint(self, y):
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
        return self._rebuilt(tensors[0])

    def key(self):
        return ("NUFFT",)

    def circulant_normal(self) -> tf.Tensor:
        """Eigenvalues (complex64 (H, W), plain FFT layout) of an H x W circulant that
        approximates ``A^H A``: the Toeplitz band ``t(d)`` kept for ``-N/2 <= d < N/2`` and
        made periodic (Strang's preconditioner), clipped below at 1e-3 of its maximum. For a
        preconditioner ``F^H (c + rho d_D)^{-1} F`` of ADMM's x-update."""
        # H, W from the kernel (2H, 2W), not from self.ishape: a compiled solver built for
        # one image size is reused with the kernel tensor of another.
        size = tf.shape(self.kernel)
        h, w = size[-2] // 2, size[-1] // 2
        t = tf.signal.ifft2d(self.kernel)  # the circulant's first column, offsets mod (2H, 2W)

        def band(n):
            idx = tf.range(n)
            return tf.math.floormod(tf.where(idx < n // 2, idx, idx - n), 2 * n)

        c = tf.gather(tf.gather(t, band(h), axis=0), band(w), axis=1)
        g = tf.math.real(tf.signal.fft2d(c))
        return tf.cast(tf.maximum(g, 1e-3 * tf.reduce_max(g)), tf.complex64)

    def norm_bound(self):
        # A^H A is a compression of the circulant, whose eigenvalues are the kernel.
        return float(np.sqrt(tf.reduce_max(tf.abs(self.kernel))))
