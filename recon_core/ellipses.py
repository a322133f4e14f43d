r"""Analytic ellipse phantoms: exact k-space at any point, so that tests avoid the inverse crime.

Simulating data with the same discrete model that the reconstruction inverts (rasterise, then
FFT or NUFFT) is the *inverse crime*: it hides discretisation errors. Here the data come from
the continuous Fourier transform of a sum of ellipses, evaluated in closed form at arbitrary
k-space points, and the ground truth is a supersampled (anti-aliased) rasterisation.

**Coordinates.** Ellipses live in the normalised coordinates of the classic phantom table:
the field of view is the square [-1, 1] x [-1, 1], ``x`` points right (along the columns,
axis -1) and ``y`` points *up* (against the rows, axis -2), angles are in degrees,
counter-clockwise as displayed. Pixel ``n`` of an axis of length ``N`` is centred at position
``n - N // 2`` in pixel units (the origin of :func:`~recon_core.ops.fft.fft2c`), which is
divided by ``N / 2`` to give the normalised coordinate::

    x = (col - W // 2) / (W / 2),      y = -(row - H // 2) / (H / 2)

so the top row is ``y = +1`` (even ``H``) and the phantom looks as printed, the same way up as
scikit-image's ``shepp_logan_phantom`` (and :func:`recon_core.phantoms.shepp_logan`). For odd
``N`` the pixel centres are symmetric about 0.

**K-space.** Coordinates are in cycles per field of view as in :mod:`recon_core.ops.nufft`:
``coord[..., 0]`` is ``ky`` (along the rows), ``coord[..., 1]`` is ``kx``, valid range
``[-H/2, H/2) x [-W/2, W/2)``. The samples are scaled like ``fft2c``,

.. math::

    y(k) = \frac{1}{\sqrt{HW}} \int f(p)\, e^{-2\pi i (k_y p_y / H + k_x p_x / W)}\, dp
         = \frac{\sqrt{HW}}{4}\, G\!\left(\tfrac{k_x}{2}, -\tfrac{k_y}{2}\right),

with ``p`` the position in pixels (rows down) and ``G`` the Fourier transform of the phantom
in normalised coordinates. An ellipse of intensity ``I``, semi-axes ``a`` (along its own
``x``), ``b``, centre ``r0`` and angle ``theta`` has

.. math::

    G(\nu) = I\,a\,b\,\frac{J_1(2\pi q)}{q}\, e^{-2\pi i\,\nu\cdot r_0}, \qquad
    q = \sqrt{(a\,\nu_u)^2 + (b\,\nu_v)^2}, \quad (\nu_u, \nu_v) = R(-\theta)\,\nu,

with the limit ``pi a b I`` at ``q = 0``. On grid points this approximates
``fft2c(rasterise(...))`` up to aliasing and the pixel-averaging of the rasterisation (both
vanish at low frequencies).

**Coils.** A sensitivity map is replaced by a trigonometric polynomial with the lowest
``(2m + 1)^2`` harmonics of the field of view,
``S(p) = sum_j c_j exp(2 pi i (m_y p_y / H + m_x p_x / W))`` (least squares, weighted to the
object's support: :func:`fourier_sens`), so that the coil image ``S f`` has the exact
k-space ``sum_j c_j y(k - m_j)``. The band-limited maps are returned: they are the true maps
of the data.

References:
    Shepp, L. A. and Logan, B. F. "The Fourier reconstruction of a head section." IEEE Trans.
    Nucl. Sci. 21(3), 1974. Toft, P. "The Radon transform: theory and implementation." PhD
    thesis, Technical University of Denmark, 1996 (the modified, higher-contrast table).
    Guerquin-Kern, M., Lejeune, L., Pruessmann, K. P. and Unser, M. "Realistic analytical
    phantoms for parallel magnetic resonance imaging." IEEE Trans. Med. Imaging 31(3), 2012
    (analytic k-space with polynomial sensitivities, and the inverse crime).
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import ndimage
from scipy.special import j1

from recon_core.checks import as_array, check_int
from recon_core.noise import add_noise, check_snr_db
from recon_core.ops.nonuniform import check_coord

__all__ = [
    "DEFAULT_HARMONICS",
    "Ellipse",
    "shepp_logan_ellipses",
    "random_ellipses_params",
    "rasterise",
    "ellipse_kspace",
    "FourierSens",
    "fourier_sens",
    "AnalyticData",
    "analytic_phantom_data",
]

#: Default ``m`` of :func:`fourier_sens`: (2m + 1)^2 = 289 harmonics per coil map.
DEFAULT_HARMONICS = 8


@dataclass(frozen=True)
class Ellipse:
    """One ellipse of a phantom, in normalised coordinates (module docstring).

    Attributes:
        intensity: value added inside the ellipse (negative values subtract).
        a: semi-axis along the ellipse's own x axis (before rotation), > 0.
        b: semi-axis along its own y axis, > 0.
        x0: centre, x (right).
        y0: centre, y (up).
        angle: rotation in degrees, counter-clockwise as displayed.
    """

    intensity: float
    a: float
    b: float
    x0: float = 0.0
    y0: float = 0.0
    angle: float = 0.0

    def __post_init__(self):
        for name in ("intensity", "a", "b", "x0", "y0", "angle"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
                raise ValueError(f"Ellipse {name} must be a finite real number, got {v!r}")
            object.__setattr__(self, name, float(v))
        if self.a <= 0 or self.b <= 0:
            raise ValueError(f"Ellipse semi-axes must be > 0, got a={self.a:g}, b={self.b:g}")


# Toft's modified Shepp-Logan table (the one of scikit-image's and MATLAB's "Modified
# Shepp-Logan"): intensity, a, b, x0, y0, angle in degrees.
_SHEPP_LOGAN_TABLE = (
    (1.0, 0.69, 0.92, 0.0, 0.0, 0.0),
    (-0.8, 0.6624, 0.8740, 0.0, -0.0184, 0.0),
    (-0.2, 0.1100, 0.3100, 0.22, 0.0, -18.0),
    (-0.2, 0.1600, 0.4100, -0.22, 0.0, 18.0),
    (0.1, 0.2100, 0.2500, 0.0, 0.35, 0.0),
    (0.1, 0.0460, 0.0460, 0.0, 0.1, 0.0),
    (0.1, 0.0460, 0.0460, 0.0, -0.1, 0.0),
    (0.1, 0.0460, 0.0230, -0.08, -0.605, 0.0),
    (0.1, 0.0230, 0.0230, 0.0, -0.606, 0.0),
    (0.1, 0.0230, 0.0460, 0.06, -0.605, 0.0),
)


def shepp_logan_ellipses() -> tuple[Ellipse, ...]:
    """The modified Shepp–Logan phantom (Toft's table) as ten ellipses; values in [0, 1].

    :Examples:

    >>> e = shepp_logan_ellipses()
    >>> len(e), e[0]
    (10, Ellipse(intensity=1.0, a=0.69, b=0.92, x0=0.0, y0=0.0, angle=0.0))
    """
    return tuple(Ellipse(*row) for row in _SHEPP_LOGAN_TABLE)


def random_ellipses_params(seed: int | np.random.Generator = 0, n: int = 10
                           ) -> tuple[Ellipse, ...]:
    """``n`` random overlapping ellipses inside the field of view, seeded.

    In the spirit of the tutorial's random ellipses (:func:`recon_core.phantoms.random_ellipses`)
    on a black background, but additive so that the Fourier transform stays exact: semi-axes
    uniform in [0.05, 0.45], angle uniform in [0, 180) degrees, centre uniform where the
    ellipse's bounding box stays inside [-0.95, 0.95]^2, intensities uniform in [0.2, 1]. All
    intensities are positive, so the image is non-negative everywhere; they are then scaled
    together so that the maximum of the sum (where ellipses overlap) is 1 on a 512 x 512 point
    grid (overlaps thinner than that can exceed 1 slightly; there is no clipping, which would
    break the closed form).

    Args:
        seed: seed or ``np.random.Generator`` (the global NumPy state is untouched).
        n: number of ellipses, at least 1.

    Returns:
        tuple of ``n`` :class:`Ellipse`.

    :Examples:

    >>> random_ellipses_params(3, n=4) == random_ellipses_params(3, n=4)
    True
    """
    n = check_int(n, "n", minimum=1)
    if isinstance(seed, np.random.Generator):
        rng = seed
    else:
        rng = np.random.default_rng(check_int(seed, "seed", minimum=0))
    a = rng.uniform(0.05, 0.45, n)
    b = rng.uniform(0.05, 0.45, n)
    angle = rng.uniform(0.0, 180.0, n)
    t = np.deg2rad(angle)
    ex = np.sqrt((a * np.cos(t)) ** 2 + (b * np.sin(t)) ** 2)
    ey = np.sqrt((a * np.sin(t)) ** 2 + (b * np.cos(t)) ** 2)
    x0 = rng.uniform(-1.0, 1.0, n) * (0.95 - ex)
    y0 = rng.uniform(-1.0, 1.0, n) * (0.95 - ey)
    intensity = rng.uniform(0.2, 1.0, n)
    params = np.stack([intensity, a, b, x0, y0, angle], axis=1)
    g = (np.arange(512) - 256 + 0.5) / 256
    peak = float(_indicator_sum(params, g[None, :], g[:, None]).max())
    params[:, 0] /= peak
    return tuple(Ellipse(*map(float, row)) for row in params)


def _params(ellipses) -> np.ndarray:
    """Ellipses (or rows of six numbers) as a float64 (E, 6) array."""
    if isinstance(ellipses, Ellipse):
        ellipses = (ellipses,)
    try:
        rows = list(ellipses)
    except TypeError:
        raise ValueError(f"ellipses must be a sequence of Ellipse, got {ellipses!r}") from None
    if not rows:
        raise ValueError("ellipses is empty: give at least one Ellipse")
    out = np.empty((len(rows), 6))
    for i, e in enumerate(rows):
        if not isinstance(e, Ellipse):
            try:
                e = Ellipse(*e)
            except TypeError:
                raise ValueError(f"ellipse {i} must be an Ellipse or six numbers "
                                 f"(intensity, a, b, x0, y0, angle), got {e!r}") from None
        out[i] = (e.intensity, e.a, e.b, e.x0, e.y0, e.angle)
    return out


def _check_shape(shape) -> tuple[int, int]:
    try:
        h, w = shape
    except (TypeError, ValueError):
        raise ValueError(f"shape must be a pair (H, W), got {shape!r}") from None
    return check_int(h, "H"), check_int(w, "W")


def _indicator_sum(params: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Sum of intensity * indicator at normalised points (x, y) (broadcast)."""
    out = np.zeros(np.broadcast_shapes(x.shape, y.shape))
    for inten, a, b, x0, y0, ang in params:
        c, s = math.cos(math.radians(ang)), math.sin(math.radians(ang))
        dx, dy = x - x0, y - y0
        u, v = dx * c + dy * s, -dx * s + dy * c
        out += inten * ((u / a) ** 2 + (v / b) ** 2 <= 1.0)
    return out


def _half_extents(a, b, ang) -> tuple[float, float]:
    c, s = math.cos(math.radians(ang)), math.sin(math.radians(ang))
    return math.hypot(a * c, b * s), math.hypot(a * s, b * c)


def rasterise(ellipses: Sequence[Ellipse], shape: tuple[int, int], supersample: int = 4
              ) -> np.ndarray:
    """The ground-truth image: each pixel the mean of the phantom over sub-pixel points.

    Args:
        ellipses: sequence of :class:`Ellipse` (or rows of six numbers).
        shape: (H, W).
        supersample: ``s``; each pixel averages ``s x s`` points at offsets
            ``(j + 0.5) / s - 0.5`` pixels from its centre (anti-aliased edges, as a scanner's
            image is). 1 samples the pixel centres.

    Returns:
        float32 (H, W), pixel ``(row, col)`` at ``x = (col - W//2) / (W/2)``,
        ``y = -(row - H//2) / (H/2)`` (module docstring).

    Raises:
        ValueError: empty or malformed ellipses, bad shape or supersample.

    :Examples:

    >>> img = rasterise([Ellipse(1.0, 0.5, 0.5)], (8, 8))
    >>> img.shape, float(img[4, 4]), float(img[0, 0])
    ((8, 8), 1.0, 0.0)
    """
    p = _params(ellipses)
    h, w = _check_shape(shape)
    s = check_int(supersample, "supersample")
    sub = (np.arange(s) + 0.5) / s - 0.5
    ys = -((np.arange(h) - h // 2)[:, None] + sub).ravel() / (h / 2)  # (h*s,), decreasing
    xs = ((np.arange(w) - w // 2)[:, None] + sub).ravel() / (w / 2)  # (w*s,), increasing
    out = np.zeros((h, w))
    rows_per_block = max(1, 2**22 // (w * s * s))  # bounded memory for large images
    for row in p:
        ex, ey = _half_extents(row[1], row[2], row[5])
        cols = np.flatnonzero(np.abs(xs - row[3]) <= ex) // s
        rows = np.flatnonzero(np.abs(ys - row[4]) <= ey) // s
        if cols.size == 0 or rows.size == 0:
            continue
        c0, c1 = int(cols[0]), int(cols[-1]) + 1
        for r0 in range(int(rows[0]), int(rows[-1]) + 1, rows_per_block):
            r1 = min(r0 + rows_per_block, int(rows[-1]) + 1)
            fine = _indicator_sum(row[None], xs[None, c0 * s:c1 * s], ys[r0 * s:r1 * s, None])
            out[r0:r1, c0:c1] += fine.reshape(r1 - r0, s, c1 - c0, s).mean(axis=(1, 3))
    return out.astype(np.float32)


def _jinc(q: np.ndarray) -> np.ndarray:
    """``J1(2 pi q) / q`` with its limit ``pi`` at 0 (float64)."""
    small = q < 1e-12
    qs = np.where(small, 1.0, q)
    return np.where(small, np.pi, j1(2 * np.pi * qs) / qs)


_TABLE_STEP = 2.0**-13  # linear interpolation error <= step^2 / 8 * pi^3 = 6e-8 (pi at q = 0)


@functools.lru_cache(maxsize=4)
def _jinc_table(cap: int) -> tuple[np.ndarray, np.ndarray]:
    """Values and slopes of ``_jinc`` on [0, cap] with step 2^-13, float32."""
    q = np.arange(int(cap / _TABLE_STEP) + 2) * _TABLE_STEP
    val = _jinc(q)
    slope = np.diff(val, append=val[-1])
    return val.astype(np.float32), slope.astype(np.float32)


def _jinc_lookup(q: np.ndarray, table) -> np.ndarray:
    """``_jinc`` of float32 ``q`` from the table (q * 2^13 is exact in float32)."""
    val, slope = table
    t = q * np.float32(1 / _TABLE_STEP)
    i = t.astype(np.intp)
    t -= i
    return val[i] + t * slope[i]


def _frequencies(c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Normalised frequencies (nu_x, nu_y) of (ky, kx) coordinates."""
    return c[..., 1] / 2.0, -c[..., 0] / 2.0


def _rotated(row: np.ndarray, nux: np.ndarray, nuy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(a nu_u, b nu_v) of one ellipse: q is their norm."""
    _, a, b, _, _, ang = row
    cs, sn = math.cos(math.radians(ang)), math.sin(math.radians(ang))
    return a * (nux * cs + nuy * sn), b * (-nux * sn + nuy * cs)


def _shift_phase(row: np.ndarray, nux: np.ndarray, nuy: np.ndarray) -> np.ndarray:
    return np.exp(-2j * np.pi * (nux * row[3] + nuy * row[4]))


def _kspace_single(p: np.ndarray, c: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    nux, nuy = _frequencies(c)
    out = np.zeros(c.shape[0], np.complex128)
    for row in p:
        u, v = _rotated(row, nux, nuy)
        out += (row[0] * row[1] * row[2]) * _jinc(np.hypot(u, v)) * _shift_phase(row, nux, nuy)
    return out * (math.sqrt(shape[0] * shape[1]) / 4)


def _kspace_coils(p: np.ndarray, c: np.ndarray, shape: tuple[int, int], fs: FourierSens
                  ) -> np.ndarray:
    """sum_j coeff[c, j] * y(k - m_j) for all coils: (C, K) complex128."""
    m = fs.harmonics
    ms = np.arange(-m, m + 1)
    shifts = np.stack(np.meshgrid(ms, ms, indexing="ij"), -1).reshape(-1, 2).astype(float)
    coeffs = fs.coeffs.reshape(fs.coeffs.shape[0], -1)  # (C, J), J ordered like shifts
    nux, nuy = _frequencies(c)
    mux, muy = _frequencies(shifts)
    nu_max = float(np.max(np.hypot(nux, nuy))) + float(np.max(np.hypot(mux, muy)))
    q_max = float(np.max(p[:, 1:3])) * nu_max
    table = _jinc_table(2 ** max(3, math.ceil(math.log2(q_max + 1.0))))
    n_coils, k = coeffs.shape[0], c.shape[0]
    n_shifts = len(shifts)
    # Chunks of samples with all harmonics at once: one (2C, J) @ (J, chunk) product per chunk
    # (a long inner dimension keeps BLAS efficient; chunks bound the memory to ~16 MB).
    chunk = max(256, 2**22 // n_shifts)
    out = np.zeros((n_coils, k), np.complex128)
    for row in p:
        u0, v0 = (z.astype(np.float32) for z in _rotated(row, nux, nuy))
        um, vm = (z.astype(np.float32)[:, None] for z in _rotated(row, mux, muy))
        # y_e(k - m) = I a b jinc(|A(nu_k - nu_m)|) phase(k) conj(phase(m))
        d = (row[0] * row[1] * row[2]) * coeffs * np.conj(_shift_phase(row, mux, muy))
        dd = np.concatenate([d.real, d.imag]).astype(np.float32)  # (2C, J)
        phase = _shift_phase(row, nux, nuy)
        for k0 in range(0, k, chunk):
            k1 = min(k0 + chunk, k)
            du = u0[None, k0:k1] - um  # (J, chunk)
            dv = v0[None, k0:k1] - vm
            np.multiply(du, du, out=du)
            np.multiply(dv, dv, out=dv)
            du += dv
            jin = _jinc_lookup(np.sqrt(du, out=du), table)  # (J, chunk) float32
            res = dd @ jin  # (2C, chunk)
            out[:, k0:k1] += (res[:n_coils] + 1j * res[n_coils:]) * phase[k0:k1]
    return out * (math.sqrt(shape[0] * shape[1]) / 4)


@dataclass(frozen=True, eq=False)
class FourierSens:
    """Coil maps as truncated 2-D Fourier series (see :func:`fourier_sens`).

    Attributes:
        coeffs: complex128 (C, 2m+1, 2m+1); ``coeffs[c, i, j]`` multiplies
            ``exp(2 pi i (m_y p_y / H + m_x p_x / W))`` with ``m_y = i - m``, ``m_x = j - m``
            and ``p`` the pixel position relative to (H//2, W//2).
        maps: complex64 (C, H, W), the band-limited maps on the pixel grid (the true maps
            of data made with these coefficients).
        harmonics: ``m``.
        fit_error: relative RMS error ``||maps - sens|| / ||sens||`` over the fit's support.
        max_error: largest ``|maps - sens|`` over the support.
    """

    coeffs: np.ndarray
    maps: np.ndarray
    harmonics: int
    fit_error: float
    max_error: float


def fourier_sens(sens: ArrayLike, harmonics: int = DEFAULT_HARMONICS,
                 support: ArrayLike | None = None, floor: float = 1e-3) -> FourierSens:
    """Fit each coil map with the lowest (2m + 1)^2 harmonics of the field of view.

    Weighted least squares, weight 1 on ``support`` and ``floor`` elsewhere (which keeps the
    maps bounded where the object is zero and the fit does not matter). Without a support
    the weights are uniform and the fit is the truncated centred DFT, which rings at the
    edges of the field of view (maps are not periodic), so pass the object's support:
    :func:`ellipse_kspace` does. Measured for :func:`~recon_core.coils.simulate_sens_maps`
    (8 coils, 256^2) fitted on the Shepp–Logan head dilated by 2 pixels, errors inside the
    head: m = 4: 3.6 % RMS (largest 20 %), m = 8: 0.95 % (6 %, at the edge nearest a coil),
    m = 12: 0.34 % (1.8 %); the truncated DFT gives 4.2 % with m = 8. The fitted maps are no
    longer exactly normalised: ``sum_c |S_c|^2`` departs from 1 by up to 13 % (m = 8) inside
    the head.

    Args:
        sens: complex (C, H, W) maps.
        harmonics: ``m`` >= 0, with ``2m + 1 <= min(H, W)``.
        support: bool (H, W), where the fit matters; None: everywhere.
        floor: weight outside the support, in (0, 1].

    Returns:
        :class:`FourierSens`.

    Raises:
        ValueError: sens not (C, H, W), too many harmonics, support of the wrong shape or empty.

    :Examples:

    >>> import numpy as np
    >>> yy, xx = np.mgrid[-4:4, -5:5]
    >>> s = np.exp(2j * np.pi * (yy / 8 + 2 * xx / 10))[None]  # one exact harmonic
    >>> fs = fourier_sens(s, harmonics=2)
    >>> fs.coeffs.shape, bool(fs.fit_error < 1e-6)
    ((1, 5, 5), True)
    """
    s = as_array(sens, "sens", min_ndim=3).astype(np.complex128)
    if s.ndim != 3:
        raise ValueError(f"sens must have shape (C, H, W), got {s.shape}")
    _, h, w = s.shape
    m = check_int(harmonics, "harmonics", minimum=0)
    if 2 * m + 1 > min(h, w):
        raise ValueError(f"harmonics {m} needs 2m + 1 <= min(H, W) = {min(h, w)}")
    if not (isinstance(floor, numbers.Real) and 0 < floor <= 1):
        raise ValueError(f"floor must be in (0, 1], got {floor!r}")
    if support is None:
        supp = np.ones((h, w), bool)
    else:
        supp = np.asarray(support).astype(bool)
        if supp.shape != (h, w):
            raise ValueError(f"support {supp.shape} does not match sens {s.shape}")
        if not supp.any():
            raise ValueError("support is empty")
    wt = np.where(supp, 1.0, float(floor))
    py, px = np.arange(h) - h // 2, np.arange(w) - w // 2
    ms = np.arange(-m, m + 1)
    ey = np.exp(2j * np.pi * np.outer(py, ms) / h)  # (H, M)
    ex = np.exp(2j * np.pi * np.outer(px, ms) / w)  # (W, M)
    # Gram matrix: G[(i,j),(k,l)] = sum_p wt exp(2 pi i ((k-i) py / H + (l-j) px / W))
    ds = np.arange(-2 * m, 2 * m + 1)
    gy = np.exp(2j * np.pi * np.outer(py, ds) / h)
    gx = np.exp(2j * np.pi * np.outer(px, ds) / w)
    wd = gy.T @ wt @ gx  # (4m+1, 4m+1), index d + 2m
    di = (ms[None, :] - ms[:, None]) + 2 * m  # (i, k) -> k - i + 2m
    n = len(ms)
    gram = wd[di[:, None, :, None], di[None, :, None, :]].reshape(n * n, n * n)
    rhs = (ey.conj().T @ (wt * s) @ ex.conj()).reshape(s.shape[0], -1)
    gram += 1e-10 * np.trace(gram).real / (n * n) * np.eye(n * n)
    coeffs = np.linalg.solve(gram, rhs.T).T.reshape(-1, n, n)
    maps = ey @ coeffs @ ex.T
    err = np.abs(maps - s)[:, supp]
    fit = float(np.linalg.norm(err) / max(np.linalg.norm(s[:, supp]), 1e-300))
    return FourierSens(coeffs, maps.astype(np.complex64), m, fit, float(err.max()))


def _support(p: np.ndarray, shape: tuple[int, int], margin: int = 2) -> np.ndarray:
    """Where any ellipse has area (pixel-centred, dilated by ``margin`` pixels): bool (H, W)."""
    ones = p.copy()
    ones[:, 0] = 1.0
    supp = rasterise(ones, shape, supersample=2) > 0
    return ndimage.binary_dilation(supp, iterations=margin) if margin else supp


def ellipse_kspace(ellipses: Sequence[Ellipse], coord: ArrayLike, shape: tuple[int, int],
                   sens: ArrayLike | FourierSens | None = None, *,
                   harmonics: int = DEFAULT_HARMONICS) -> np.ndarray:
    """The exact k-space of an ellipse phantom (or of its coil images) at arbitrary points.

    Args:
        ellipses: sequence of :class:`Ellipse`.
        coord: (..., 2) coordinates (ky, kx) in cycles per field of view, each in
            ``[-H/2, H/2) x [-W/2, W/2)`` as for :func:`recon_core.ops.nufft.nufft_forward`.
        shape: image size (H, W) that fixes the scale and the pixel size.
        sens: None (one image); complex (C, H, W) maps, fitted with ``harmonics`` inside the
            phantom's support by :func:`fourier_sens` (the data then belong to the fitted
            maps, not to ``sens``: call :func:`fourier_sens` yourself or use
            :func:`analytic_phantom_data` to get them); or a :class:`FourierSens`, used as is.
        harmonics: ``m`` of the fit when ``sens`` is an array.

    Returns:
        complex64, (K,) without coils or (C, K) with coils, K the number of coordinates,
        scaled like ``fft2c`` (on grid points close to ``fft2c(rasterise(...))``).
        Single image: scipy's J1 in double precision (256^2 Shepp–Logan at 32768 points:
        0.03 s). Coils: J1 from a table (interpolation error below 1e-7 of the DC value),
        about 10 ns per sample, ellipse and harmonic for all coils together (8 coils, m = 8,
        the same points: 0.8 s on one core).

    Raises:
        ValueError: empty or malformed ellipses, bad shape or coordinates, maps of the wrong
            size.

    :Examples:

    >>> import numpy as np
    >>> e = [Ellipse(1.0, 0.5, 0.5)]
    >>> k = ellipse_kspace(e, [[0.0, 0.0], [3.0, -2.0]], (32, 32))
    >>> k.shape, k.dtype
    ((2,), dtype('complex64'))
    >>> round(float(k[0].real / (rasterise(e, (32, 32)).sum() / 32)), 2)  # DC: sum / sqrt(HW)
    1.0
    """
    p = _params(ellipses)
    h, w = _check_shape(shape)
    c = check_coord(coord, (h, w))
    if sens is None:
        return _kspace_single(p, c, (h, w)).astype(np.complex64)
    if not isinstance(sens, FourierSens):
        s = as_array(sens, "sens", min_ndim=3)
        if s.ndim != 3 or s.shape[1:] != (h, w):
            raise ValueError(f"sens {s.shape} must have shape (C, {h}, {w})")
        sens = fourier_sens(s, harmonics, support=_support(p, (h, w)))
    elif sens.maps.shape[1:] != (h, w):
        raise ValueError(f"FourierSens maps {sens.maps.shape} do not match shape {(h, w)}")
    return _kspace_coils(p, c, (h, w), sens).astype(np.complex64)


@dataclass(frozen=True, eq=False)
class AnalyticData:
    """Analytic (inverse-crime-free) data of :func:`analytic_phantom_data`.

    Attributes:
        kspace: complex64 (K,) or (C, K), noise included.
        image: float32 (H, W), the supersampled rasterisation (ground truth).
        sens: complex64 (C, H, W) band-limited maps the data were made with, or None
            (``sum_c |S_c|^2`` is close to 1 inside the object, not exactly: see
            :func:`fourier_sens`).
        coord: float64 (K, 2), the (ky, kx) coordinates.
        shape: (H, W).
        ellipses: the phantom.
        sens_fit_error: relative RMS error of the maps' fit inside the object (or None).
        snr_db: the SNR of the added noise (None: noiseless).
    """

    kspace: np.ndarray
    image: np.ndarray
    sens: np.ndarray | None
    coord: np.ndarray
    shape: tuple[int, int]
    ellipses: tuple[Ellipse, ...]
    sens_fit_error: float | None = None
    snr_db: float | None = None


def analytic_phantom_data(coord: ArrayLike, shape: tuple[int, int],
                          phantom: str | Sequence[Ellipse] = "shepp_logan", n_coils: int = 0,
                          snr_db: float | None = None, seed: int = 0, *,
                          harmonics: int = DEFAULT_HARMONICS, supersample: int = 4
                          ) -> AnalyticData:
    """K-space of an analytic phantom at ``coord``, with coils and noise, and its ground truth.

    Args:
        coord: (..., 2) coordinates (ky, kx) in cycles per field of view.
        shape: (H, W).
        phantom: ``"shepp_logan"``, ``"random"`` (:func:`random_ellipses_params` of the
            generator below) or a sequence of :class:`Ellipse`.
        n_coils: 0 for single-coil data; otherwise
            :func:`~recon_core.coils.simulate_sens_maps` maps, band-limited by
            :func:`fourier_sens` inside the object (the returned ``sens`` are these).
        snr_db: k-space SNR in the sense of :mod:`recon_core.noise`, None for noiseless. The
            signal power is the one of the fully sampled Cartesian k-space of the coil images,
            ``mean |S_c f|^2`` over coils and pixels (Parseval), not the mean over the
            trajectory's samples, so that a given SNR means the same noise level per sample
            for every trajectory (a radial trajectory oversamples the bright centre).
        seed: seeds one ``np.random.Generator`` that draws the random ellipses (if any) and
            then the noise.
        harmonics: ``m`` of the maps' Fourier series.
        supersample: of the ground-truth rasterisation.

    Returns:
        :class:`AnalyticData`.

    Raises:
        ValueError: unknown phantom name, bad arguments (see :func:`ellipse_kspace`).

    :Examples:

    >>> import numpy as np
    >>> d = analytic_phantom_data(np.zeros((5, 2)), (32, 32), snr_db=30)
    >>> d.kspace.shape, d.image.shape, d.sens is None
    ((5,), (32, 32), True)
    """
    h, w = _check_shape(shape)
    n_coils = check_int(n_coils, "n_coils", minimum=0)
    snr = check_snr_db(snr_db)
    rng = np.random.default_rng(check_int(seed, "seed", minimum=0))
    if isinstance(phantom, str):
        if phantom == "shepp_logan":
            ellipses = shepp_logan_ellipses()
        elif phantom == "random":
            ellipses = random_ellipses_params(rng)
        else:
            raise ValueError(f"unknown phantom {phantom!r}: use 'shepp_logan', 'random' or a "
                             "sequence of Ellipse")
    else:
        ellipses = tuple(Ellipse(*row) for row in _params(phantom).tolist())
    p = _params(ellipses)
    c = check_coord(coord, (h, w))
    image = rasterise(ellipses, (h, w), supersample)
    sens = fit = None
    if n_coils == 0:
        kspace = _kspace_single(p, c, (h, w)).astype(np.complex64)
        power = float(np.mean(image.astype(np.float64) ** 2))
    else:
        from recon_core.coils import simulate_sens_maps  # imports TensorFlow (recon_core.ops)

        fs = fourier_sens(simulate_sens_maps((h, w), n_coils), harmonics,
                          support=_support(p, (h, w)))
        sens, fit = fs.maps, fs.fit_error
        kspace = _kspace_coils(p, c, (h, w), fs).astype(np.complex64)
        power = float(np.mean(np.abs(sens * image) ** 2))
    if snr is not None:
        # add_noise wants at least two axes: give it (1, K) for single-coil data.
        kspace = add_noise(kspace.reshape(-1, kspace.shape[-1]), snr, seed=rng,
                           signal_power=power).reshape(kspace.shape)
    return AnalyticData(kspace, image, sens, c, (h, w), tuple(ellipses), fit, snr)
