"""The non-uniform FFT as NumPy functions (FINUFFT), without TensorFlow.

Conventions (coordinates in cycles per field of view, scaling of ``fft2c``) are those of
:mod:`recon_core.ops.nufft`, which builds the TensorFlow operator on these functions. This
module stays free of TensorFlow so that trajectories, density compensation and validation do
not import it.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from recon_core.checks import as_array

__all__ = ["check_coord", "nufft_forward", "nufft_adjoint", "toeplitz_kernel", "NUFFT_EPS",
           "type1", "type2"]

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


def type2(image: np.ndarray, c: np.ndarray) -> np.ndarray:
    """(..., H, W) -> (..., K), unscaled, double precision."""
    h, w = image.shape[-2:]
    lead = image.shape[:-2]
    f = np.ascontiguousarray(image.reshape((-1, h, w)), dtype=np.complex128)
    ty, tx = _angles(c, (h, w))
    with _LOCK:
        out = _finufft().nufft2d2(ty, tx, f if f.shape[0] > 1 else f[0], eps=NUFFT_EPS, isign=-1)
    return out.reshape(lead + (c.shape[0],))


def type1(samples: np.ndarray, c: np.ndarray, shape: Sequence[int]) -> np.ndarray:
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
    return (type2(x, c) / np.sqrt(h * w)).astype(np.complex64)


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
    return (type1(s, c, (h, w)) / np.sqrt(h * w)).astype(np.complex64)


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


