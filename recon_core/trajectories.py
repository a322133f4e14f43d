r"""Non-Cartesian k-space trajectories: radial spokes, spiral interleaves, Cartesian lines.

Conventions
-----------
Coordinates are those of the NUFFT (:mod:`recon_core.ops.nonuniform`): **cycles per field of
view**, ``coord[..., 0]`` is ``ky`` (along the image rows, axis -2) and ``coord[..., 1]`` is
``kx`` (along the columns, axis -1); the ``fft2c`` grid point ``(u, v)`` is at
``(u - H // 2, v - W // 2)`` and every point lies in ``[-H/2, H/2) x [-W/2, W/2)``.

A :class:`Trajectory` holds ``coord``, float32 of shape (R, S, 2): R readouts (spokes,
interleaves or Cartesian lines) in acquisition order, S samples per readout in the order they
are read, and (ky, kx) per sample. Everywhere else (NUFFT, density compensation,
reconstruction) the samples are the flattened (R * S, 2) array :attr:`Trajectory.points`,
readout after readout.

For a non-square image (H != W) radial and spiral designs fill the ellipse of semi-axes H/2
(ky) and W/2 (kx): with square pixels that is a *disc* in physical k-space (cycles per metre),
whose radius is the Nyquist limit of the pixel size. Their Nyquist readout counts and
sample spacings are reckoned along the longer axis, ``N = max(H, W)``.

Acceleration (:attr:`Trajectory.acceleration`) is ``nyquist_readouts / n_readouts``, the
non-Cartesian counterpart of a mask's achieved acceleration
(:func:`recon_core.masks.achieved_acceleration`): 1 for a design that meets Nyquist
everywhere, R where the gap between neighbouring readouts at the edge of k-space is R times
the Nyquist spacing of 1 cycle per field of view.

- ``"radial"`` (:func:`radial`): full spokes through the centre, uniform or golden angle;
  Nyquist at ``ceil(pi / 2 * N)`` spokes (arc spacing 1 cycle/FOV at radius N/2).
- ``"spiral"`` (:func:`spiral`): Archimedean (or variable-density) spiral-out interleaves.
- ``"cartesian"`` (:func:`cartesian`): the grid points of a mask, a readout per sampled
  column (fastMRI's phase-encode lines); ``nyquist_readouts = W``.

Every design is deterministic (no random numbers). :func:`make_trajectory` picks a design by
name for a page dropdown, and :func:`trajectory_psf` is the point-spread function to show.

References:
    Lauterbur, P. C. "Image formation by induced local interactions: examples employing
    nuclear magnetic resonance." Nature 242, 1973 (radial projections).
    Winkelmann, S., Schaeffter, T., Koehler, T., Eggers, H. and Doessel, O. "An optimal radial
    profile order based on the golden ratio for time-resolved MRI." IEEE Trans. Med. Imaging
    26(1), 2007 (111.246 degree increments).
    Ahn, C. B., Kim, J. H. and Cho, Z. H. "High-speed spiral-scan echo planar NMR imaging."
    IEEE Trans. Med. Imaging 5(1), 1986; Meyer, C. H., Hu, B. S., Nishimura, D. G. and
    Macovski, A. "Fast spiral coronary artery imaging." Magn. Reson. Med. 28(2), 1992
    (interleaved spirals).
    Bernstein, M. A., King, K. F. and Zhou, X. J. "Handbook of MRI Pulse Sequences." Elsevier,
    2004, sections 17.5 (spiral) and 17.6 (radial).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from recon_core.checks import as_mask, check_image_shape, check_int, check_positive
from recon_core.ops.nonuniform import check_coord

__all__ = [
    "TRAJECTORY_KINDS",
    "GOLDEN_ANGLE",
    "Trajectory",
    "radial",
    "radial_angles",
    "spiral",
    "default_nyquist_interleaves",
    "cartesian",
    "make_trajectory",
    "trajectory_psf",
]

#: Names accepted by :func:`make_trajectory` and by :attr:`Trajectory.kind`.
TRAJECTORY_KINDS: tuple[str, ...] = ("radial", "spiral", "cartesian")

#: The golden angle of radial imaging, ``pi / phi`` radians (180 degrees over the golden ratio
#: ``phi = (1 + sqrt 5) / 2``): 111.246 degrees, often quoted as 111.25.
GOLDEN_ANGLE = math.pi * (math.sqrt(5.0) - 1.0) / 2.0


# ----------------------------------------------------------------------------- checks


def _inside(coord: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """float32 ``coord`` with values at or beyond the upper edges moved just below them.

    Designs reach ``+H/2`` (or ``+W/2``) only up to rounding (a spoke at an angle close to
    pi, a float32 cast); the largest float32 below the edge keeps every point valid.
    """
    c = np.asarray(coord, dtype=np.float32)
    for axis, n in enumerate(shape):
        top = np.nextafter(np.float32(n / 2), np.float32(0))
        np.clip(c[..., axis], np.float32(-n / 2), top, out=c[..., axis])
    return c


# ----------------------------------------------------------------------------- the container


@dataclass(frozen=True, eq=False)
class Trajectory:
    """A k-space trajectory: readouts of samples in acquisition order (module docstring).

    Attributes:
        coord: float32, shape (R, S, 2): R readouts (spokes, interleaves, Cartesian lines) in
            acquisition order, S samples per readout in read order, (ky, kx) per sample in
            cycles per field of view, every point in ``[-H/2, H/2) x [-W/2, W/2)``. Stored
            read-only.
        shape: the image size (H, W) the coordinates refer to.
        kind: one of :data:`TRAJECTORY_KINDS`.
        nyquist_readouts: how many readouts of this design sample k-space at Nyquist
            (the denominator-free reference of :attr:`acceleration`).

    Equality is identity (``eq=False``): two trajectories are the same only if they are one
    object; compare ``coord`` arrays to compare designs.

    Raises:
        ValueError: ``coord`` not (R, S, 2), NaN/Inf or a point outside the k-space of
            ``shape``, an unknown ``kind``, or ``nyquist_readouts`` not an integer >= 1.

    :Examples:

    >>> t = radial((256, 256), 64)
    >>> t
    Trajectory(kind='radial', shape=(256, 256), n_readouts=64, n_samples=512, acceleration=6.30)
    >>> t.coord.shape, t.points.shape, t.nyquist_readouts
    ((64, 512, 2), (32768, 2), 403)
    """

    coord: np.ndarray
    shape: tuple[int, int]
    kind: str
    nyquist_readouts: int

    def __post_init__(self):
        shape = check_image_shape(self.shape)
        if not isinstance(self.kind, str) or self.kind not in TRAJECTORY_KINDS:
            raise ValueError(f"unknown trajectory kind {self.kind!r}; valid kinds are "
                             f"{', '.join(TRAJECTORY_KINDS)}")
        nyq = check_int(self.nyquist_readouts, "nyquist_readouts")
        c = np.array(self.coord, dtype=np.float32, order="C")  # a private copy
        if c.ndim != 3 or c.shape[-1] != 2 or c.shape[0] == 0 or c.shape[1] == 0:
            raise ValueError("coord must have shape (R, S, 2) (readouts x samples x (ky, kx)) "
                             f"with R, S >= 1, got {np.shape(self.coord)}")
        check_coord(c, shape)  # NaN/Inf and points outside k-space, with the point named
        c.setflags(write=False)
        object.__setattr__(self, "coord", c)
        object.__setattr__(self, "shape", shape)
        object.__setattr__(self, "nyquist_readouts", nyq)

    @property
    def points(self) -> np.ndarray:
        """float32, shape (R * S, 2): every sample, readout after readout (a read-only view)."""
        return self.coord.reshape(-1, 2)

    @property
    def n_readouts(self) -> int:
        """R, the number of readouts (spokes, interleaves, lines)."""
        return int(self.coord.shape[0])

    @property
    def n_samples(self) -> int:
        """S, the number of samples per readout."""
        return int(self.coord.shape[1])

    @property
    def acceleration(self) -> float:
        """``nyquist_readouts / n_readouts``: the undersampling factor (module docstring)."""
        return self.nyquist_readouts / self.n_readouts

    def order(self) -> np.ndarray:
        """Acquisition order: int64, shape (R * S,), the readout index of each of :attr:`points`.

        For an animation of k-space filling, frame ``r`` shows ``points[order() <= r]``
        (readouts are stored in acquisition order, so that is ``points[: (r + 1) * S]``).

        :Examples:

        >>> radial((8, 8), 3, n_samples=2).order()
        array([0, 0, 1, 1, 2, 2])
        """
        return np.repeat(np.arange(self.n_readouts, dtype=np.int64), self.n_samples)

    def __repr__(self) -> str:
        return (f"Trajectory(kind={self.kind!r}, shape={self.shape}, n_readouts={self.n_readouts}, "
                f"n_samples={self.n_samples}, acceleration={self.acceleration:.2f})")


# ----------------------------------------------------------------------------- radial


def radial_angles(n_spokes: int, golden: bool = False) -> np.ndarray:
    """Spoke angles of :func:`radial`, radians in [0, pi), in acquisition order.

    Uniform: ``pi * i / n_spokes``. Golden angle: ``i * GOLDEN_ANGLE`` modulo pi (a full spoke
    at angle t + pi is the same line as at t), so consecutive angles differ by 111.246 degrees
    modulo 180, and any number of consecutive spokes covers the half circle nearly evenly.
    The angle is measured from the kx axis towards ky: a spoke at angle t runs along
    ``(ky, kx) = (sin t, cos t)``.

    Args:
        n_spokes: number of spokes, an integer >= 1.
        golden: golden-angle increments instead of uniform angles.

    Returns:
        float64, shape (n_spokes,).

    Raises:
        ValueError: ``n_spokes`` is not an integer >= 1.

    :Examples:

    >>> import numpy as np
    >>> np.degrees(radial_angles(4)).round(1).tolist()
    [0.0, 45.0, 90.0, 135.0]
    >>> np.degrees(radial_angles(3, golden=True)).round(3).tolist()
    [0.0, 111.246, 42.492]
    """
    n = check_int(n_spokes, "n_spokes")
    i = np.arange(n, dtype=np.float64)
    if golden:
        return np.mod(i * GOLDEN_ANGLE, math.pi)
    return i * (math.pi / n)


def radial(shape: Sequence[int], n_spokes: int, n_samples: int | None = None,
           golden: bool = False) -> Trajectory:
    r"""Radial trajectory: ``n_spokes`` full spokes through the k-space centre.

    Sample ``s`` of a spoke at angle :math:`\theta` (:func:`radial_angles`) is at
    :math:`\kappa_s = (s - S/2) / S \in [-1/2, 1/2)` along it, scaled to the ellipse of
    semi-axes H/2, W/2:

    .. math::

        k_y = \kappa_s H \sin\theta, \qquad k_x = \kappa_s W \cos\theta,

    which for a square N x N image is :math:`(s - S/2)\,N/S` cycles/FOV along the spoke
    (spacing ``dk = N / S``; the default ``S = 2N`` is 2x readout oversampling, dk = 0.5, and
    an even S samples the centre once per spoke). Points that reach ``+H/2`` or ``+W/2`` up to
    rounding (angles near pi) are moved just inside. Nyquist needs an arc spacing of at most
    1 cycle/FOV at the edge, :math:`\pi (N/2) / n \le 1`, hence
    ``nyquist_readouts = ceil(pi / 2 * N)`` with ``N = max(H, W)`` (403 for 256).

    Args:
        shape: image size (H, W), integers >= 2.
        n_spokes: number of spokes R, an integer >= 1.
        n_samples: samples per spoke S, an integer >= 2 (default ``2 * max(H, W)``).
        golden: golden-angle ordering (:data:`GOLDEN_ANGLE`) instead of uniform angles.

    Returns:
        A :class:`Trajectory` of kind ``"radial"``, coord (R, S, 2).

    Raises:
        ValueError: a bad shape, ``n_spokes`` < 1 or ``n_samples`` < 2 (or not integers).

    :Examples:

    >>> t = radial((4, 4), 2, n_samples=4)
    >>> t.coord[0].tolist()  # along kx
    [[-0.0, -2.0], [-0.0, -1.0], [0.0, 0.0], [0.0, 1.0]]
    >>> round(radial((256, 256), 64, golden=True).acceleration, 2)
    6.3
    """
    h, w = check_image_shape(shape)
    theta = radial_angles(n_spokes, golden)
    s_count = 2 * max(h, w) if n_samples is None else check_int(n_samples, "n_samples", minimum=2)
    kappa = (np.arange(s_count, dtype=np.float64) - s_count / 2) / s_count
    coord = np.empty((theta.size, s_count, 2), dtype=np.float64)
    coord[..., 0] = h * np.sin(theta)[:, None] * kappa[None, :]
    coord[..., 1] = w * np.cos(theta)[:, None] * kappa[None, :]
    nyq = math.ceil(math.pi / 2 * max(h, w))
    return Trajectory(_inside(coord, (h, w)), (h, w), "radial", nyq)


# ----------------------------------------------------------------------------- spiral


def default_nyquist_interleaves(shape: Sequence[int]) -> int:
    """Default Nyquist interleave count of :func:`spiral`: ``max(1, round(max(H, W) / 16))``.

    16 for 256 x 256, scaled with the matrix size, so that a Nyquist interleave makes
    ``(N / 2) / nyquist_interleaves = 8`` turns (times ``density``) whatever N is.

    :Examples:

    >>> default_nyquist_interleaves((256, 256)), default_nyquist_interleaves((63, 64))
    (16, 4)
    """
    h, w = check_image_shape(shape)
    return max(1, round(max(h, w) / 16))


def spiral(shape: Sequence[int], n_interleaves: int, n_samples: int | None = None,
           nyquist_interleaves: int | None = None, density: float = 1.0) -> Trajectory:
    r"""Spiral-out trajectory: ``n_interleaves`` copies of one arm, rotated by 2 pi / n.

    Interleave ``m`` at time :math:`t_s = s / S \in [0, 1)` is

    .. math::

        \rho = t^{d}, \quad \varphi = 2\pi T t + 2\pi m / n, \quad
        k_y = \rho \tfrac{H}{2} \sin\varphi, \quad k_x = \rho \tfrac{W}{2} \cos\varphi,

    an Archimedean spiral for ``density`` :math:`d = 1` and a variable-density one for
    d > 1 (radius growing as :math:`t^d`: arms packed more tightly near the centre). The
    radial gap between neighbouring arms at radius :math:`\rho` is
    :math:`d\,(N/2)\,\rho^{(d-1)/d} / (T n)` cycles/FOV (``N = max(H, W)``). The number of turns
    is :math:`T = d\,(N/2) / n_{nyq}`, so that ``nyquist_interleaves`` interleaves have a gap of
    exactly 1 cycle/FOV at the edge; with ``n_interleaves`` the gap there is
    ``nyquist_interleaves / n_interleaves``, which is :attr:`Trajectory.acceleration`. For
    d > 1 that is the acceleration *at the edge of k-space*: the centre is sampled more densely
    (at Nyquist out to radius :math:`\rho = (n / n_{nyq})^{d / (d - 1)}` of the edge).

    The default S makes the spacing along the arm at most 0.5 cycle/FOV at the edge (2x
    oversampling, as for :func:`radial`), where the arm moves fastest:
    ``S = ceil(2 (N/2) sqrt(d^2 + (2 pi T)^2))`` (12,871 for 256 x 256 with the defaults).

    Args:
        shape: image size (H, W), integers >= 2.
        n_interleaves: number of interleaves n, an integer >= 1.
        n_samples: samples per interleave S, an integer >= 2 (default above).
        nyquist_interleaves: interleaves that reach Nyquist at the edge, an integer >= 1
            (default :func:`default_nyquist_interleaves`: 16 for 256 x 256, 8 d turns).
        density: exponent d >= 1 of the radius (1: uniform density).

    Returns:
        A :class:`Trajectory` of kind ``"spiral"``, coord (n, S, 2), all points inside the
        ellipse of semi-axes H/2, W/2.

    Raises:
        ValueError: a bad shape, counts < 1 (``n_samples`` < 2), or ``density`` < 1.

    :Examples:

    >>> t = spiral((256, 256), 4)
    >>> t
    Trajectory(kind='spiral', shape=(256, 256), n_readouts=4, n_samples=12871, acceleration=4.00)
    >>> spiral((64, 64), 8, density=2.0).nyquist_readouts
    4
    """
    h, w = check_image_shape(shape)
    n = check_int(n_interleaves, "n_interleaves")
    nyq = (default_nyquist_interleaves((h, w)) if nyquist_interleaves is None
           else check_int(nyquist_interleaves, "nyquist_interleaves"))
    d = check_positive(density, "density")
    if d < 1:
        raise ValueError(f"density must be >= 1 (1: uniform, > 1: denser centre), got {density!r}")
    k_max = max(h, w) / 2
    turns = d * k_max / nyq
    if n_samples is None:
        s_count = max(2, math.ceil(2 * k_max * math.hypot(d, 2 * math.pi * turns)))
    else:
        s_count = check_int(n_samples, "n_samples", minimum=2)
    t = np.arange(s_count, dtype=np.float64) / s_count
    rho = t ** d
    phi = 2 * np.pi * turns * t[None, :] + 2 * np.pi * np.arange(n)[:, None] / n
    coord = np.empty((n, s_count, 2), dtype=np.float64)
    coord[..., 0] = rho * (h / 2) * np.sin(phi)
    coord[..., 1] = rho * (w / 2) * np.cos(phi)
    return Trajectory(_inside(coord, (h, w)), (h, w), "spiral", nyq)


# ----------------------------------------------------------------------------- Cartesian


def cartesian(shape: Sequence[int], mask: ArrayLike | None = None) -> Trajectory:
    """Cartesian sampling as a trajectory: the grid points of a mask.

    The coordinates are exactly the ``fft2c`` grid points ``(u - H // 2, v - W // 2)``, so the
    NUFFT of this trajectory is ``fft2c`` followed by the mask. Following the fastMRI
    convention of :mod:`recon_core.masks` (masks select *columns*, the phase-encode direction),
    a readout is one column: all H values of ky, in increasing order, at one kx; readouts are
    the sampled columns from left to right (increasing kx), and ``nyquist_readouts = W``.
    A mask that is not made of whole columns (2D kinds such as ``"poisson"``: every k-space
    point is its own phase encode, as in 3D imaging) gives one readout per sampled point, in
    row-major order, with ``nyquist_readouts = H * W``. Either way
    :attr:`Trajectory.acceleration` equals
    :func:`~recon_core.masks.achieved_acceleration` of the mask.

    Args:
        shape: image size (H, W), integers >= 2.
        mask: bool or 0/1 array, shape (H, W), DC at ``(H // 2, W // 2)`` (default: every
            point, fully sampled).

    Returns:
        A :class:`Trajectory` of kind ``"cartesian"``, coord (columns, H, 2) or (points, 1, 2).

    Raises:
        ValueError: a bad shape, a mask that is not 2-D, not of shape (H, W), not 0/1, or
            empty.

    :Examples:

    >>> import numpy as np
    >>> m = np.zeros((4, 6), bool); m[:, ::2] = True
    >>> t = cartesian((4, 6), m)
    >>> t.coord.shape, t.acceleration
    ((3, 4, 2), 2.0)
    >>> t.coord[1, :, 0].tolist(), float(t.coord[1, 0, 1])
    ([-2.0, -1.0, 0.0, 1.0], -1.0)
    """
    h, w = check_image_shape(shape)
    if mask is None:
        m = np.ones((h, w), dtype=bool)
    else:
        if np.ndim(mask) != 2:
            raise ValueError(f"mask must be 2-D, shape (H, W) = {(h, w)}, got shape "
                             f"{np.shape(mask)}")
        m = as_mask(mask, (h, w))
    if not m.any():
        raise ValueError(f"mask of shape {m.shape} has no samples")
    ky = np.arange(h, dtype=np.float32) - h // 2
    if bool((m == m[:1]).all()):  # whole columns
        cols = np.flatnonzero(m[0])
        coord = np.empty((cols.size, h, 2), dtype=np.float32)
        coord[..., 0] = ky[None, :]
        coord[..., 1] = (cols - w // 2).astype(np.float32)[:, None]
        return Trajectory(coord, (h, w), "cartesian", w)
    u, v = np.nonzero(m)
    coord = np.stack([u - h // 2, v - w // 2], axis=-1).astype(np.float32)[:, None, :]
    return Trajectory(coord, (h, w), "cartesian", h * w)


def _even_columns(w: int, n: int) -> np.ndarray:
    """``n`` distinct column indices spread evenly over ``range(w)``, holding ``w // 2``.

    ``floor(w // 2 + (j - n // 2) * w / n + 1/2)`` for j < n: spacing w / n >= 1 keeps them
    distinct, and the offsets stay inside [0, w) for every n <= w. Integer arithmetic, so
    that values exactly halfway round the same way on every platform.
    """
    j = np.arange(n, dtype=np.int64)
    return (2 * n * (w // 2) + 2 * (j - n // 2) * w + n) // (2 * n)


# ----------------------------------------------------------------------------- factory


def make_trajectory(kind: str, shape: Sequence[int], n_readouts: int,
                    n_samples: int | None = None, golden: bool = False,
                    density: float = 1.0) -> Trajectory:
    """A trajectory by name, for a page dropdown.

    - ``"radial"``: :func:`radial` with ``n_readouts`` spokes (``golden`` applies);
    - ``"spiral"``: :func:`spiral` with ``n_readouts`` interleaves (``density`` applies);
    - ``"cartesian"``: :func:`cartesian` with ``n_readouts`` columns spread evenly over the
      width, the centre column ``W // 2`` among them (``n_readouts = W``: fully sampled);
      ``n_samples`` is H for Cartesian lines and must be None or H.

    Arguments that do not apply to the kind (``golden`` for spirals, ``density`` for radial)
    are ignored.

    Args:
        kind: one of :data:`TRAJECTORY_KINDS` (case-insensitive).
        shape: image size (H, W), integers >= 2.
        n_readouts: spokes, interleaves or columns, an integer >= 1 (at most W for Cartesian).
        n_samples: samples per readout (default: the design's own).
        golden: golden-angle spokes (radial).
        density: spiral density exponent (spiral).

    Returns:
        A :class:`Trajectory`.

    Raises:
        ValueError: an unknown kind (the message lists the known ones), or a bad argument of
            the design.

    :Examples:

    >>> make_trajectory("cartesian", (8, 8), 4).coord[:, 0, 1].tolist()
    [-4.0, -2.0, 0.0, 2.0]
    >>> make_trajectory("rosette", (8, 8), 4)
    Traceback (most recent call last):
    ...
    ValueError: unknown trajectory kind 'rosette'; valid kinds are radial, spiral, cartesian
    """
    if not isinstance(kind, str) or kind.lower() not in TRAJECTORY_KINDS:
        raise ValueError(f"unknown trajectory kind {kind!r}; valid kinds are "
                         f"{', '.join(TRAJECTORY_KINDS)}")
    kind = kind.lower()
    if kind == "radial":
        return radial(shape, n_readouts, n_samples, golden=golden)
    if kind == "spiral":
        return spiral(shape, n_readouts, n_samples, density=density)
    h, w = check_image_shape(shape)
    n = check_int(n_readouts, "n_readouts")
    if n > w:
        raise ValueError(f"n_readouts must be at most W = {w} for Cartesian lines, got {n}")
    if n_samples is not None and (isinstance(n_samples, bool) or not isinstance(
            n_samples, numbers.Integral) or n_samples != h):
        raise ValueError(f"Cartesian lines have H = {h} samples each, got n_samples={n_samples!r}")
    m = np.zeros((h, w), dtype=bool)
    m[:, _even_columns(w, n)] = True
    return cartesian((h, w), m)


# ----------------------------------------------------------------------------- PSF


def trajectory_psf(traj: Trajectory, dcf: ArrayLike | None = None) -> np.ndarray:
    """Point-spread function of a trajectory: ``|nufft_adjoint(weights, points, shape)|``.

    The image a unit point at ``(H // 2, W // 2)`` reconstructs to by (weighted) gridding, the
    non-Cartesian counterpart of :func:`recon_core.masks.point_spread_function`.

    Args:
        traj: the trajectory.
        dcf: non-negative weights per sample, shape (R, S) or (R * S,) (for instance
            :func:`recon_core.dcf.dcf`), or None for all ones.

    Returns:
        float32, shape (H, W), image-domain origin at ``(H // 2, W // 2)``, magnitude
        normalised to peak 1 (values in [0, 1]).

    Raises:
        ValueError: weights that do not match the trajectory, negative or all zero.

    :Examples:

    >>> psf = trajectory_psf(cartesian((8, 8)))
    >>> psf.shape, float(psf[4, 4]), round(float(psf.sum()), 4)
    ((8, 8), 1.0, 1.0)
    """
    from recon_core.ops.nonuniform import nufft_adjoint

    k = traj.n_readouts * traj.n_samples
    wt = np.ones(k) if dcf is None else np.asarray(dcf, dtype=np.float64)
    if wt.size != k or wt.shape not in ((k,), (traj.n_readouts, traj.n_samples)):
        raise ValueError(f"dcf of shape {np.shape(dcf)} does not match the trajectory's "
                         f"{traj.n_readouts} x {traj.n_samples} samples")
    wt = wt.reshape(-1)
    if not np.all(np.isfinite(wt)) or np.any(wt < 0) or not np.any(wt > 0):
        raise ValueError("dcf must be finite, non-negative and not all zero")
    psf = np.abs(nufft_adjoint(wt, traj.points, traj.shape))
    return (psf / psf.max()).astype(np.float32)
