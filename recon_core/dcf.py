r"""Density compensation for non-Cartesian k-space: the weights of gridding reconstruction.

Conventions
-----------
Coordinates are those of :mod:`recon_core.ops.nonuniform` (cycles per field of view, ``ky``
then ``kx``, valid in ``[-H/2, H/2) x [-W/2, W/2)``). A weight is the k-space **area** a
sample stands for, in (cycles/FOV)^2: a fully sampled Cartesian grid has ``w = 1`` for every
point, and a design that covers the disc of radius N/2 (the ellipse of semi-axes H/2, W/2)
has ``sum(w) = pi * (N/2)^2`` (``pi * H * W / 4``). With these weights the gridding
reconstruction

.. math::

    \hat x = A^H (w \odot y) = \texttt{nufft\_adjoint}(w \cdot y, \ \texttt{coord},\
    \texttt{shape})

approximately inverts ``y = nufft_forward(x, coord)`` for images band-limited to the sampled
region: :math:`\sum_j w_j f(k_j) \approx \int f(k)\,dk` is a quadrature rule.

- :func:`ramp_dcf`: analytic weights of a radial trajectory (area of each sample's cell);
- :func:`pipe_menon_dcf`: Pipe and Menon's iteration for any trajectory, computed with the
  NUFFT (FINUFFT) on a 2x image grid, no hand-written gridding;
- :func:`density`: the Gaussian-smoothed sampling density :math:`\sum_j w_j g(k - k_j)` at
  any points, 1 where the weights compensate the density (a check, and a map for the UI);
- :func:`dcf`: picks a method for a :class:`~recon_core.trajectories.Trajectory`.

Kernels through the image domain
--------------------------------
A convolution in k-space, :math:`(Cw)(k) = \sum_j w_j g(k - k_j)`, is a product in the image
domain: :math:`g(k) = \int \varphi(x) e^{2\pi i k x} dx` with :math:`\varphi` the kernel's
Fourier transform (x in fields of view). Here the adjoint NUFFT spreads the weights onto an
image grid of (2H, 2W) pixels of the original size, which spans :math:`x \in [-1, 1)` FOV,
the image is multiplied by :math:`\varphi`, and the forward NUFFT reads the result at the
wanted points; the pixel area :math:`1 / (HW)` turns the sum into the integral. Because the
pixel spacing is that of the (H, W) image, k-space is periodic with period (H, W) (the
DFT's own periodicity), and for a kernel with :math:`\varphi = 0` at :math:`|x| \ge 1` the
result is exactly the periodised convolution. In the NUFFT's units a coordinate ``c`` valid
for ``(H, W)`` is ``2 c`` on the (2H, 2W) grid (same angle ``2 pi c / H`` per pixel); the
points are passed to FINUFFT plans (the library behind
:mod:`recon_core.ops.nonuniform`), which sort them once for all the iterations.

References:
    Pipe, J. G. and Menon, P. "Sampling density compensation in MRI: rationale and an
    iterative numerical solution." Magn. Reson. Med. 41(1), 1999.
    Zwart, N. R., Johnson, K. O. and Pipe, J. G. "Efficient sample density estimation by
    combining gridding and an optimized kernel." Magn. Reson. Med. 67(3), 2012 (a kernel
    whose image-domain response spans the field of view).
    Jackson, J. I., Meyer, C. H., Nishimura, D. G. and Macovski, A. "Selection of a
    convolution function for Fourier inversion using gridding." IEEE Trans. Med. Imaging
    10(3), 1991.
    Hoge, R. D., Kwan, R. K. S. and Pike, G. B. "Density compensation functions for spiral
    MRI." Magn. Reson. Med. 38(1), 1997 (area weights from the trajectory's geometry).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from recon_core.checks import check_image_shape, check_int, check_positive
from recon_core.ops.nonuniform import NUFFT_EPS, check_coord
from recon_core.trajectories import Trajectory

__all__ = ["DCF_METHODS", "ramp_dcf", "pipe_menon_dcf", "density", "dcf", "sample_weights"]

#: Names accepted by :func:`dcf`'s ``method``.
DCF_METHODS: tuple[str, ...] = ("auto", "ramp", "pipe-menon", "none")

_LOCK = threading.Lock()  # one smoothing at a time (FINUFFT plans, FFTW planning inside)


# ----------------------------------------------------------------------------- checks


def _check_weights(weights: ArrayLike, n: int) -> np.ndarray:
    wt = np.asarray(weights, dtype=np.float64)
    if wt.size != n:
        raise ValueError(f"weights of shape {wt.shape} do not match the {n} coordinates")
    wt = wt.reshape(-1)
    if not np.all(np.isfinite(wt)):
        raise ValueError("weights contain NaN or Inf")
    return wt


# ----------------------------------------------------------------------------- the convolution


def _cosine_window(x: np.ndarray) -> np.ndarray:
    """Pipe–Menon's image-domain window per axis: the self-convolution of ``cos(pi u)``,
    ``|u| < 1/2``, normalised to 1 at 0: ``(1 - |x|) cos(pi |x|) + sin(pi |x|) / pi`` for
    ``|x| < 1`` and 0 beyond (x in fields of view)."""
    y = np.minimum(np.abs(x), 1.0)
    return np.where(np.abs(x) < 1, (1 - y) * np.cos(np.pi * y) + np.sin(np.pi * y) / np.pi, 0.0)


def _gaussian_window(x: np.ndarray, sigma: float) -> np.ndarray:
    """Fourier transform of a unit-area Gaussian of std ``sigma`` cycles/FOV."""
    return np.exp(-2 * np.pi ** 2 * sigma ** 2 * x ** 2)


class _Convolution:
    """``w -> sum_j w_j g(p_i - k_j)`` for fixed sources ``k`` (coord) and targets ``p``.

    ``window(x)`` is the kernel's Fourier transform along one axis, x in fields of view on
    [-1, 1); the kernel is separable, ``g(k) = g1(ky) g1(kx)``, and periodic with period
    (H, W). Coordinates are (K, 2) float64, already checked for ``shape``.
    """

    def __init__(self, coord: np.ndarray, shape: tuple[int, int], window,
                 points: np.ndarray | None = None):
        import finufft

        h, w = shape
        self.n_sources = coord.shape[0]
        # Angles 2 pi c / H per pixel: coordinate 2c on the (2H, 2W) grid (module docstring).
        src = (np.ascontiguousarray(2 * np.pi * coord[:, 0] / h),
               np.ascontiguousarray(2 * np.pi * coord[:, 1] / w))
        dst = src if points is None else (np.ascontiguousarray(2 * np.pi * points[:, 0] / h),
                                          np.ascontiguousarray(2 * np.pi * points[:, 1] / w))
        # upsampfac 1.25: a smaller FFT, 2-3x faster here. One thread: at these sizes FINUFFT's
        # threads cost more than they save, many times more on a busy machine (64 x 64 with
        # 13k points, 2 cores under load: 2.3 ms per product on one thread, 35-58 ms on two).
        opts = dict(eps=NUFFT_EPS, upsampfac=1.25, nthreads=1)
        self._spread = finufft.Plan(1, (2 * h, 2 * w), isign=1, **opts)
        self._spread.setpts(*src)
        self._read = finufft.Plan(2, (2 * h, 2 * w), isign=-1, **opts)
        self._read.setpts(*dst)
        self._keep = (src, dst)  # the plans point into these arrays
        x_rows = (np.arange(2 * h) - h) / h
        x_cols = (np.arange(2 * w) - w) / w
        self._window = (window(x_rows)[:, None] * window(x_cols)[None, :]) / (h * w)

    def __call__(self, weights: np.ndarray) -> np.ndarray:
        image = self._spread.execute(weights.astype(np.complex128))
        return self._read.execute(image * self._window).real


# ----------------------------------------------------------------------------- density


def density(coord: ArrayLike, weights: ArrayLike, shape: Sequence[int],
            points: ArrayLike | None = None, sigma: float = 1.0) -> np.ndarray:
    r"""Gaussian-smoothed sampling density of weighted samples, at arbitrary points.

    .. math::

        D(p) = \sum_j w_j\, g(p - k_j), \qquad
        g(k) = \frac{1}{2\pi\sigma^2} e^{-|k|^2 / (2\sigma^2)},

    with :math:`\int g = 1` (k and :math:`\sigma` in cycles/FOV of each axis), k-space
    periodic with period (H, W) (module docstring). With density-compensation weights, D is
    1 wherever the samples are closer together than about :math:`2\sigma` (the gridding of a
    constant k-space is flat); for ``w = 1`` it is the number of samples per unit area. Where
    neighbouring gaps differ (golden-angle spokes: three gap sizes) even exact cell areas
    leave ripples of a few % at gaps near :math:`\sigma`; a wider ``sigma`` smooths them.

    Args:
        coord: (..., 2) sample coordinates, cycles per field of view.
        weights: real, one per sample (shape ``coord.shape[:-1]`` or flat).
        shape: image size (H, W).
        points: (..., 2) points at which to evaluate D (default: the samples themselves).
        sigma: the kernel's standard deviation in grid units, in
            ``[0.75, min(H, W) / 8]`` (image-domain window below 2e-5 at the edge of the 2x
            grid, k-space wrap below 1e-13).

    Returns:
        float32, shape ``points.shape[:-1]`` (``coord.shape[:-1]`` by default).

    Raises:
        ValueError: coordinates or points outside k-space, weights that do not match, or
            ``sigma`` out of range.

    :Examples:

    >>> import numpy as np
    >>> from recon_core.trajectories import cartesian
    >>> t = cartesian((16, 16))
    >>> d = density(t.coord, np.ones(t.coord.shape[:-1]), t.shape, [[0.0, 0.0], [2.5, -3.3]])
    >>> np.round(d, 4).tolist()
    [1.0, 1.0]
    """
    h, w = check_image_shape(shape)
    c = check_coord(coord, (h, w))
    wt = _check_weights(weights, c.shape[0])
    s = check_positive(sigma, "sigma")
    if not 0.75 <= s <= min(h, w) / 8:
        raise ValueError(f"sigma must be in [0.75, min(H, W) / 8] = [0.75, {min(h, w) / 8:g}] "
                         f"grid units for a {(h, w)} image, got {sigma!r}")
    if points is None:
        p, out_shape = None, np.shape(coord)[:-1]
    else:
        p, out_shape = check_coord(points, (h, w)), np.shape(points)[:-1]
    with _LOCK:
        conv = _Convolution(c, (h, w), lambda x: _gaussian_window(x, s), p)
        return conv(wt).astype(np.float32).reshape(out_shape)


# ----------------------------------------------------------------------------- Pipe–Menon


def pipe_menon_dcf(coord: ArrayLike, shape: Sequence[int], n_iter: int = 30) -> np.ndarray:
    r"""Density compensation by Pipe and Menon's fixed-point iteration.

    Starting from :math:`w = 1`,

    .. math::

        w \leftarrow \frac{w}{C w}, \qquad (C w)_i = \sum_j w_j\, g(k_i - k_j),

    whose fixed point :math:`C w = 1` makes the kernel-smoothed density 1 at every sample. C
    is a positive, normalised (:math:`\int g = 1`), separable kernel
    :math:`g(k) = g_1(k_y) g_1(k_x)`,

    .. math::

        g_1(\kappa) = \frac{8}{\pi^2} \frac{\cos^2(\pi\kappa)}{(1 - 4\kappa^2)^2}
        \ \ge 0 \quad (\text{std } 1/2 \text{ grid unit}),

    the Fourier transform of the window
    :math:`\varphi_1(x) = (1 - |x|)\cos(\pi x) + \sin(\pi|x|)/\pi` on :math:`|x| < 1` FOV
    (the self-convolution of a half cosine, hence :math:`g_1 \ge 0`). That window spans all of
    the (2H, 2W) grid on which C is computed (module docstring), which is the point: the
    weights are only determined where :math:`\varphi \ne 0`, and a gridding reconstruction
    uses the point-spread function out to a full FOV (two image points are up to one FOV
    apart). A Gaussian of std 1 grid unit, whose window is 0.007 at half a FOV, gives equally
    flat densities but gridding errors of 5-16 % on a smooth 64 x 64 blob where this kernel
    gives 0.01-0.3 % (radial at Nyquist; ``tests/test_dcf.py`` holds the measured bounds).

    Units follow the module docstring (full Cartesian grid: w = 1 exactly, k-space being
    periodic). Where the readouts are further apart than the kernel (undersampled outer
    k-space), each readout is compensated for its own density along the readout only: the
    weights there are smaller than the area the readout stands for (for an undersampled
    radial trajectory, smaller than :func:`ramp_dcf`), and :func:`density` is below 1 between
    the readouts.

    Args:
        coord: (..., 2) sample coordinates, cycles per field of view.
        shape: image size (H, W).
        n_iter: iterations, an integer >= 1 (30: ``C w`` within about 0.5 % of 1 at the
            samples inside the sampled disc and within 3-6 % at its edge, where the iteration
            is slowest).

    Returns:
        float32, shape ``coord.shape[:-1]``, positive.

    Raises:
        ValueError: coordinates outside k-space or ``n_iter`` < 1.

    :Examples:

    >>> import numpy as np
    >>> from recon_core.trajectories import cartesian
    >>> w = pipe_menon_dcf(cartesian((8, 8)).coord, (8, 8), n_iter=3)
    >>> w.shape, bool(np.allclose(w, 1, atol=1e-5))
    ((8, 8), True)
    """
    h, w = check_image_shape(shape)
    c = check_coord(coord, (h, w))
    iters = check_int(n_iter, "n_iter")
    wt = np.ones(c.shape[0])
    with _LOCK:
        conv = _Convolution(c, (h, w), _cosine_window)
        for _ in range(iters):
            # Cw >= 0.81 w_i (the sample's own term) up to rounding: never zero.
            wt = wt / np.maximum(conv(wt), 1e-12 * wt)
    return wt.astype(np.float32).reshape(np.shape(coord)[:-1])


# ----------------------------------------------------------------------------- radial


def ramp_dcf(traj: Trajectory) -> np.ndarray:
    r"""Analytic density compensation of a radial trajectory: each sample's cell area.

    On a spoke of a square N x N image, samples ``dk = N / S`` apart
    (:func:`~recon_core.trajectories.radial`), the ring between radii ``r - dk/2`` and
    ``r + dk/2`` has area :math:`2\pi r\,dk` and holds two samples of each of the n spokes
    (one on each side of the centre), so

    .. math::

        w(r) = \frac{\pi r\, dk}{n}, \qquad w(0) = \frac{\pi\, dk^2}{4 n},

    the centre sample (one per spoke) sharing the disc of radius dk/2. The outermost sample,
    at ``-N/2``, gets :math:`\pi (N/2) dk / n` like the others (its cell, half inside the disc,
    is counted whole). In general the weights are computed from the coordinates: for each
    sample the integral of :math:`|t|` over its cell along the spoke (midpoints to its
    neighbours, t the signed position in units of the ellipse of semi-axes H/2, W/2) times the
    spoke's share of the half circle (half the angles to its neighbours: ``pi / n`` for
    uniform angles, the exact shares for golden-angle ones), times ``H * W``. This gives
    :math:`\sum w = \pi H W / 4` (the ellipse) up to the cells of the outer end samples.

    Args:
        traj: a trajectory of kind ``"radial"`` (straight spokes through the centre, samples
            in order along each spoke).

    Returns:
        float32, shape (R, S), non-negative.

    Raises:
        ValueError: ``traj`` is not radial (use :func:`pipe_menon_dcf`), or a spoke has fewer
            than two distinct samples.

    :Examples:

    >>> from recon_core.trajectories import radial
    >>> w = ramp_dcf(radial((8, 8), 4, n_samples=4))  # dk = 2
    >>> [round(float(v), 4) for v in w[0]]  # pi r dk / n at r = 4, 2; pi dk^2 / (4 n) at 0
    [6.2832, 3.1416, 0.7854, 3.1416]
    """
    if not isinstance(traj, Trajectory) or traj.kind != "radial":
        kind = traj.kind if isinstance(traj, Trajectory) else type(traj).__name__
        raise ValueError(f"ramp_dcf needs a radial trajectory, got {kind!r}; use "
                         "pipe_menon_dcf for other designs")
    h, w = traj.shape
    k = traj.coord.astype(np.float64) / np.array([h, w])  # spokes in the unit ellipse
    axis = k[:, -1] - k[:, 0]
    norm = np.linalg.norm(axis, axis=-1)
    if np.any(norm == 0):
        bad = int(np.flatnonzero(norm == 0)[0])
        raise ValueError(f"spoke {bad} has no extent (fewer than two distinct samples)")
    u = axis / norm[:, None]
    t = np.einsum("rsc,rc->rs", k, u)  # signed position along each spoke
    # Cells along the spoke: midpoints between neighbours, ends extended by half a spacing.
    mid = (t[:, 1:] + t[:, :-1]) / 2
    lo = np.concatenate([2 * t[:, :1] - mid[:, :1], mid], axis=1)
    hi = np.concatenate([mid, 2 * t[:, -1:] - mid[:, -1:]], axis=1)
    radial_part = (np.sign(hi) * hi ** 2 - np.sign(lo) * lo ** 2) / 2  # integral of |t|
    # Angular shares of the half circle: half the gaps to the neighbouring spokes.
    theta = np.mod(np.arctan2(u[:, 0], u[:, 1]), math.pi)
    if theta.size == 1:
        share = np.array([math.pi])
    else:
        order = np.argsort(theta)
        gaps = np.diff(np.concatenate([theta[order], theta[order[:1]] + math.pi]))
        share = np.empty_like(theta)
        share[order] = (gaps + np.roll(gaps, 1)) / 2
    return (h * w * share[:, None] * radial_part).astype(np.float32)


# ----------------------------------------------------------------------------- dispatcher


def dcf(traj: Trajectory, method: str = "auto", n_iter: int = 30) -> np.ndarray:
    """Density-compensation weights of a trajectory, by method name (for a page dropdown).

    - ``"auto"``: ``"ramp"`` for radial trajectories, ``"pipe-menon"`` for spirals, and
      ``"none"`` for Cartesian ones: on the grid the NUFFT is ``fft2c`` and the plain adjoint
      is already the zero-filled reconstruction (Pipe–Menon gives w = 1 there when fully
      sampled, and would boost isolated lines of an undersampled mask);
    - ``"ramp"``: :func:`ramp_dcf` (radial only);
    - ``"pipe-menon"``: :func:`pipe_menon_dcf` with ``n_iter`` iterations;
    - ``"none"``: all ones (gridding without compensation, for comparison).

    Args:
        traj: the trajectory.
        method: one of :data:`DCF_METHODS` (case-insensitive).
        n_iter: Pipe–Menon iterations.

    Returns:
        float32, shape (R, S), the weights of ``traj.coord`` (flatten them with
        ``.reshape(-1)`` for ``traj.points``).

    Raises:
        ValueError: an unknown method (the message lists the known ones), or ``"ramp"`` for a
            trajectory that is not radial.

    :Examples:

    >>> from recon_core.trajectories import radial
    >>> dcf(radial((16, 16), 8), "auto").shape
    (8, 32)
    >>> dcf(radial((16, 16), 8), "voronoi")
    Traceback (most recent call last):
    ...
    ValueError: unknown DCF method 'voronoi'; valid methods are auto, ramp, pipe-menon, none
    """
    if not isinstance(method, str) or method.lower() not in DCF_METHODS:
        raise ValueError(f"unknown DCF method {method!r}; valid methods are "
                         f"{', '.join(DCF_METHODS)}")
    if not isinstance(traj, Trajectory):
        raise ValueError(f"traj must be a Trajectory, got {type(traj).__name__}")
    m = method.lower()
    if m == "auto":
        m = {"radial": "ramp", "spiral": "pipe-menon", "cartesian": "none"}[traj.kind]
    if m == "ramp":
        return ramp_dcf(traj)
    if m == "pipe-menon":
        return pipe_menon_dcf(traj.coord, traj.shape, n_iter=n_iter)
    return np.ones(traj.coord.shape[:-1], dtype=np.float32)


def sample_weights(traj: Trajectory, dcf_: str | ArrayLike | None, n_samples: int
                   ) -> tuple[np.ndarray, str]:
    """(weights float32 (K,), how) of ``dcf_`` for the ``n_samples`` of ``traj.points``: a
    :func:`dcf` method name, precomputed weights (K,) (``how`` "given"), or None for none.

    Raises:
        ValueError: an unknown method, weights of another length, negative or not finite.
    """
    if dcf_ is None:
        return np.ones(n_samples, np.float32), "none"
    if isinstance(dcf_, str):
        return np.asarray(dcf(traj, method=dcf_), np.float32).reshape(-1), dcf_
    w = np.asarray(dcf_, np.float32).reshape(-1)
    if w.shape[0] != n_samples:
        raise ValueError(f"dcf has {w.shape[0]} weights for {n_samples} samples")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("dcf weights must be finite and >= 0")
    return w, "given"
