r"""GRAPPA: k-space interpolation from neighbouring acquired samples of all coils.

Method (Griswold et al. 2002). Each missing k-space sample of coil ``c`` is a linear
combination of the acquired samples of *all* coils in a small neighbourhood around it,

.. math::

    k_c(y, x) = \sum_{c'} \sum_{(dy, dx) \in \mathcal{P}}
                w_{c, c'}(dy, dx)\, k_{c'}(y + dy, x + dx),

with the weights fitted on the calibration region (a fully sampled block around DC, the
autocalibration signal), where every sample is known and the same relation can be written for
each position. The fit is Tikhonov-regularised least squares,
``min_w ||A w - b||^2 + (lam * s_max)^2 ||w||^2``, with ``A`` the calibration matrix (one row per
position in the calibration region, one column per source sample and coil), ``b`` the targets
(all coils at the window's centre) and ``s_max`` the largest singular value of ``A``.

Arbitrary Cartesian masks. The set :math:`\mathcal{P}` of known neighbours (the *pattern*)
depends on the mask around each missing point. Missing points are grouped by pattern and one set
of weights is fitted per pattern; equispaced masks have a handful of patterns, random column
masks a hundred or more. The neighbourhood of a missing point at (y, x) is ``kh = kernel[0]``
rows (the readout direction of column masks: rows ``y - kh // 2 .. y + (kh - 1) // 2``) by
``2 h + 1`` columns (``x - h .. x + h``, the phase-encode direction), where ``h`` is the smallest
half-width whose window holds at least ``kh * kernel[1]`` known samples (``kernel[1]`` lines of a
column mask: two on each side at R = 2 and R = 3 equispaced, Griswold's 4-block kernel), capped
at ``2 * kernel[1]`` and at ``(w_calib - 1) // 2`` so that the window fits in the calibration
region. The pattern is the window's mask (and ``h``).

Passes. Interpolating across a wide gap from samples far away is badly conditioned (locally the
acceleration is the gap's width), so points are filled from the edges of gaps inwards: each pass
fills the missing points next to a known sample (at most one column away along W, within their
kh rows; or the nearest ones when none is that close), from the samples known so far (acquired,
or filled by an earlier pass). Masks with every third line or denser take one pass, classic
GRAPPA; in a random mask the first pass fills the gaps of one or two lines. Each pass prefers points whose window reaches
``kh * kernel[1]`` known samples; the others wait for a later pass unless none is ready.

Edges. Beyond the top and bottom edges k-space is taken as zero and the mask as its edge row
(so all rows of a column mask share their patterns); beyond the left and right edges nothing is
known. A missing point with no known sample within the cap is left at zero and counted in
:attr:`GrappaResult.unfilled`. Acquired samples are kept as measured.

Cost: one Gram matrix ``A^H A`` per window half-width used, then a small regularised solve per
pattern (``s_max`` by power iteration); applying the weights is one gather and one matrix
product per pattern. For 8 coils at 256 x 256: 0.5 s (regular and equispaced masks) to 1.2 s
(random column masks) with single-threaded BLAS; two BLAS threads on a busy two-core machine
took two to three times longer (many small factorisations).

Measured (8 coils, 256 x 256 Shepp-Logan, noise 0.005 per k-space sample, 24 calibration
lines, NMSE of the RSS image against the fully sampled one; zero-filled in brackets): every
R-th line, R = 2: 2.6e-4 (0.080), R = 3: 7.7e-4 (0.11); ``make_mask`` equispaced R = 2:
4.3e-4 (0.085), R = 3: 3.0e-3 (0.14); random R = 2: 0.009 (0.099), R = 3: 0.030 (0.14), R = 4:
0.048 (0.14). Random masks leave gaps of 5 to 15 lines at high frequencies, locally far beyond
what 8 coils can unfold; a larger ``lam`` (0.03) roughly halves those errors. 2D (point) masks
work too, but nearly every missing point has a pattern of its own (tens of thousands of fits:
about a minute for a Poisson-disc mask at 256 x 256), and variable-density ones with sparse outer regions fare badly.

References:
    Griswold, M. A. et al. "Generalized autocalibrating partially parallel acquisitions
    (GRAPPA)." MRM 47 (2002) 1202-1210.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.linalg
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import ArrayLike

from recon_core.checks import as_array, as_mask, check_int, check_positive
from recon_core.coils import rss
from recon_core.masks.analysis import calibration_slices
from recon_core.ops.fftc import ifft2c

__all__ = ["AMPLIFIED", "GrappaResult", "grappa", "grappa_calibration_block"]

#: Missing points per matrix product when applying weights (bounds the gathered array's size).
_CHUNK = 16384
#: The window's half-width along W is capped at ``_REACH * kernel[1]`` (and by the calibration).
_REACH = 2
#: Each pass fills the points at most this far (along W) from a known sample, or the nearest.
_NEAR = 1
#: Calibration positions per block when accumulating a Gram matrix.
_GRAM_CHUNK = 8192


class GrappaResult(NamedTuple):
    """Result of :func:`grappa`."""

    kspace: np.ndarray  #: complex64 (C, H, W): acquired samples as measured, missing ones filled
    image: np.ndarray  #: float32 (H, W): root-sum-of-squares of ``ifft2c(kspace)``
    n_patterns: int  #: sampling patterns fitted, one weight set each, summed over the passes
    unfilled: int  #: missing points no pattern covered (no acquired neighbour); left at 0
    calib_shape: tuple[int, int]  #: (h, w) of the calibration data the weights were fitted on
    #: 99.5th percentile of :attr:`image` over that of the zero-filled RSS image: above
    #: :data:`AMPLIFIED` the kernels amplified noise across wide gaps (few coils, a narrow
    #: calibration, random lines) and the image is not to be trusted.
    amplification: float = 1.0


#: :attr:`GrappaResult.amplification` above which a result is flagged as blown up (the built-in
#: 2-coil twix scan at random 4x, 13 calibration lines, gives about 20).
AMPLIFIED = 2.0


def _amplification(image: np.ndarray, zero_filled: np.ndarray) -> float:
    return float(np.percentile(image, 99.5)) / max(float(np.percentile(zero_filled, 99.5)), 1e-30)


def grappa_calibration_block(mask: ArrayLike) -> tuple[slice, slice]:
    """The largest fully sampled rectangle of a mask that contains DC ``(H // 2, W // 2)``.

    A thin wrapper over :func:`recon_core.masks.calibration_slices`. Column masks give a
    full-height block of the centre columns; 2D masks their centre rectangle. The block need
    not be centred on DC, only contain it (unlike the sensitivity-map block of
    :func:`recon_core.masks.centred_calibration_block`): GRAPPA fits its weights on any fully
    sampled data.

    Args:
        mask: bool or 0/1, shape (H, W).

    Returns:
        ``(rows, cols)`` slices; empty slices (``slice(0, 0)``) when DC is not sampled.

    :Examples:

    >>> import numpy as np
    >>> m = np.zeros((16, 32), bool); m[:, ::3] = True; m[:, 12:20] = True
    >>> grappa_calibration_block(m)
    (slice(0, 16, None), slice(12, 20, None))
    """
    return calibration_slices(mask)


def _check_kernel(kernel) -> tuple[int, int]:
    try:
        kh, kw = kernel
    except (TypeError, ValueError):
        raise ValueError(f"kernel must be a pair (rows, lines), got {kernel!r}") from None
    return check_int(kh, "kernel[0]"), check_int(kw, "kernel[1]")


def _calibration_data(k: np.ndarray, m: np.ndarray, calib, kh: int, kw: int) -> np.ndarray:
    """The fully sampled calibration k-space (C, ch, cw), complex128, from ``calib``."""
    c, h, w = k.shape
    if calib is None:
        rows, cols = grappa_calibration_block(m)
        ch, cw = rows.stop - rows.start, cols.stop - cols.start
        if ch < kh or cw < kw:
            raise ValueError(
                f"no calibration region: the fully sampled block around DC is {ch}x{cw}, "
                f"the kernel needs at least {kh}x{kw}; sample the k-space centre fully, pass "
                "calib=(h, w) or calibration data, or use a smaller kernel")
        return k[:, rows, cols].astype(np.complex128)
    if np.ndim(calib) == 3:
        cal = as_array(calib, "calib", min_ndim=3).astype(np.complex128)
        if cal.shape[0] != c:
            raise ValueError(f"calib has {cal.shape[0]} coils, k-space has {c}")
        if cal.shape[1] < kh or cal.shape[2] < kw:
            raise ValueError(
                f"calibration data of {cal.shape[1]}x{cal.shape[2]} are smaller than the "
                f"kernel {kh}x{kw}")
        return cal
    ch, cw = (calib, calib) if np.isscalar(calib) else tuple(calib)
    ch, cw = check_int(ch, "calib"), check_int(cw, "calib")
    if ch > h or cw > w:
        raise ValueError(f"calib {(ch, cw)} exceeds k-space size {(h, w)}")
    if ch < kh or cw < kw:
        raise ValueError(f"calib {(ch, cw)} is smaller than the kernel {(kh, kw)}")
    y0, x0 = h // 2 - ch // 2, w // 2 - cw // 2
    n_missing = int(np.count_nonzero(~m[y0 : y0 + ch, x0 : x0 + cw]))
    if n_missing:
        raise ValueError(
            f"calib block {ch}x{cw} around DC (rows {y0}..{y0 + ch - 1}, columns "
            f"{x0}..{x0 + cw - 1}) has {n_missing} unsampled point(s); it must be fully sampled")
    return k[:, y0 : y0 + ch, x0 : x0 + cw].astype(np.complex128)


def _half_widths(mpad: np.ndarray, ys, xs, kh: int, reach: int, n_min: int):
    """Per missing point: the half-width ``h`` of its window (the smallest holding ``n_min``
    known samples, else ``reach``), the number of known samples in it, and the distance along W
    to the nearest known sample in its rows (``reach + 1`` if none within ``reach``)."""
    band = sliding_window_view(mpad, kh, axis=0).sum(axis=-1)  # (H, W + 2 reach)
    prefix = np.zeros((band.shape[0], band.shape[1] + 1), np.int64)
    np.cumsum(band, axis=1, out=prefix[:, 1:])
    hs = np.arange(reach + 1)
    xc = xs[:, None] + reach  # padded column of the target
    counts = prefix[ys[:, None], xc + hs + 1] - prefix[ys[:, None], xc - hs]  # (M, reach + 1)
    enough = counts >= n_min
    h_sel = np.where(enough.any(axis=1), enough.argmax(axis=1), reach)
    some = counts > 0
    nearest = np.where(some.any(axis=1), some.argmax(axis=1), reach + 1)
    return h_sel, counts[np.arange(ys.size), h_sel], nearest


def _calibration_matrix(cal: np.ndarray, kh: int, h: int) -> np.ndarray:
    """Rows: placements of a kh x (2h+1) window in ``cal``; columns: window samples x coils.

    The column of window sample ``(dy, dx)`` (``dy`` in 0..kh-1, ``dx`` in -h..h) and coil
    ``c`` is ``(dy * (2h + 1) + dx + h) * C + c``.
    """
    win = sliding_window_view(cal, (kh, 2 * h + 1), axis=(1, 2))  # (C, ny, nx, kh, 2h+1)
    return win.transpose(1, 2, 3, 4, 0).reshape(win.shape[1] * win.shape[2], -1)


def _gram(a_mat: np.ndarray) -> np.ndarray:
    g = np.zeros((a_mat.shape[1],) * 2, np.complex128)
    for s in range(0, a_mat.shape[0], _GRAM_CHUNK):
        blk = a_mat[s : s + _GRAM_CHUNK]
        g += blk.conj().T @ blk
    return g


def _largest_eigenvalue(g: np.ndarray, n_iter: int = 30) -> float:
    """Largest eigenvalue of a Hermitian positive semi-definite matrix, by power iteration."""
    v = np.ones(g.shape[0], g.dtype)
    top = 0.0
    for _ in range(n_iter):
        w = g @ v
        top = float(np.linalg.norm(w))
        if top == 0.0:
            return 0.0
        v = w / top
    return float(np.real(np.vdot(v, g @ v)))


def _solve_weights(g_ss: np.ndarray, g_st: np.ndarray, lam: float) -> np.ndarray:
    """``(G_ss + (lam s_max)^2 I)^-1 G_st``, ``s_max^2`` the largest eigenvalue of ``G_ss``."""
    lhs = g_ss + (lam**2 * _largest_eigenvalue(g_ss)) * np.eye(g_ss.shape[0])
    try:
        return scipy.linalg.cho_solve(scipy.linalg.cho_factor(lhs), g_st)
    except (np.linalg.LinAlgError, scipy.linalg.LinAlgError):
        return np.linalg.lstsq(lhs, g_st, rcond=None)[0]


def _fill(out, kpad, mpad, ys, xs, h_sel, cal, kh, reach, lam, grams) -> int:
    """One pass: fill points (ys, xs) of ``out`` from the known samples around them.

    ``kpad``/``mpad``: k-space and known-mask padded by ``kh // 2`` rows above, ``kh - 1 -
    kh // 2`` below and ``reach`` columns each side. Returns the number of patterns fitted.
    """
    c = out.shape[0]
    ry = kh // 2
    n_pts = ys.size
    span_max = 2 * reach + 1
    windows = sliding_window_view(mpad, (kh, span_max))[ys, xs]  # (M, kh, 2 reach + 1)
    windows &= (np.abs(np.arange(-reach, reach + 1)) <= h_sel[:, None])[:, None, :]
    keys = np.concatenate(
        [np.packbits(windows.reshape(n_pts, -1), axis=1),
         h_sel.astype("<u4").view(np.uint8).reshape(n_pts, 4)], axis=1)
    keys = np.ascontiguousarray(keys).view(np.dtype((np.void, keys.shape[1]))).ravel()
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(first.size + 1))
    for p, f in enumerate(first):
        h = int(h_sel[f])
        span = 2 * h + 1
        if h not in grams:
            grams[h] = _gram(_calibration_matrix(cal, kh, h))
        gram = grams[h]
        dy, dxp = np.divmod(np.flatnonzero(windows[f].ravel()), span_max)
        dx = dxp - reach
        s_cols = ((dy * span + dx + h)[:, None] * c + np.arange(c)).ravel()
        t_cols = (ry * span + h) * c + np.arange(c)
        weights = _solve_weights(gram[np.ix_(s_cols, s_cols)], gram[np.ix_(s_cols, t_cols)],
                                 lam).astype(np.complex64)
        idx = order[bounds[p] : bounds[p + 1]]
        for s in range(0, idx.size, _CHUNK):
            part = idx[s : s + _CHUNK]
            rows = ys[part, None] + dy[None, :]
            cols = xs[part, None] + reach + dx[None, :]
            vals = kpad[:, rows, cols].transpose(1, 2, 0).reshape(part.size, -1)
            out[:, ys[part], xs[part]] = (vals @ weights).T
    return int(first.size)


def grappa(
    kspace: ArrayLike,
    mask: ArrayLike,
    *,
    calib: int | tuple[int, int] | ArrayLike | None = None,
    kernel: tuple[int, int] = (5, 4),
    lam: float = 0.01,
) -> GrappaResult:
    """GRAPPA reconstruction of undersampled multi-coil Cartesian k-space (any mask).

    See the module docstring for the method, the kernel geometry and how edges are treated.

    Args:
        kspace: complex (C, H, W), centred, C >= 2; values at unsampled points are ignored.
        mask: bool or 0/1 (H, W) (or (C, H, W), the same for every coil); True = acquired.
        calib: None detects the calibration region from the mask (the largest fully sampled
            rectangle containing DC: full-height column blocks or centre rectangles, see
            :func:`grappa_calibration_block`); an int or (h, w) names a block centred on DC as
            in :func:`recon_core.coils.estimate_sens_maps`, which must be fully sampled; a
            complex (C, h, w) array is separate calibration k-space (a reference scan).
        kernel: (kh, kw): kh readout points (rows) by kw acquired lines (phase-encode, along W);
            the window around a missing point widens along W until it holds ``kh * kw``
            acquired samples.
        lam: Tikhonov weight relative to the calibration matrix's largest singular value
            (``>= 0``; 0 is plain least squares).

    Returns:
        :class:`GrappaResult`.

    Raises:
        ValueError: single-coil data, mask and k-space shapes that do not match, a mask that
            differs between coils, no calibration region (the message gives the size found) or
            one smaller than the kernel, a bad kernel or ``lam``.

    :Examples:

    >>> import numpy as np
    >>> from recon_core.coils import simulate_multicoil
    >>> img = np.zeros((64, 64)); img[16:48, 20:44] = 1
    >>> k, _ = simulate_multicoil(img, n_coils=4)
    >>> m = np.zeros((64, 64), bool); m[:, ::2] = True; m[:, 24:40] = True
    >>> res = grappa(k * m, m)
    >>> res.n_patterns, res.unfilled, res.calib_shape
    (6, 0, (64, 17))
    >>> bool(np.allclose(res.kspace[:, m], k[:, m]))  # acquired samples kept as measured
    True
    >>> bool(np.linalg.norm(res.kspace - k) < 0.05 * np.linalg.norm(k))
    True
    """
    k = as_array(kspace, "kspace", min_ndim=2)
    if k.ndim == 2 or (k.ndim == 3 and k.shape[0] == 1):
        raise ValueError(
            f"GRAPPA needs multi-coil k-space (C, H, W) with C >= 2, got shape {k.shape} "
            "(single-coil data: use a zero-filled or regularised reconstruction)")
    if k.ndim != 3:
        raise ValueError(f"kspace must have shape (C, H, W), got {k.shape}")
    m = as_mask(mask, k.shape)
    if m.ndim == 3:
        if m.shape[0] not in (1, k.shape[0]) or not (m == m[:1]).all():
            raise ValueError("mask must be the same for every coil (GRAPPA needs one pattern)")
        m = m[0]
    elif m.ndim != 2:
        raise ValueError(f"mask must have shape (H, W), got {m.shape}")
    kh, kw = _check_kernel(kernel)
    lam = check_positive(lam, "lam", allow_zero=True)
    kz = np.where(m, k, 0).astype(np.complex64)
    cal = _calibration_data(kz, m, calib, kh, kw)
    calib_shape = (int(cal.shape[1]), int(cal.shape[2]))
    ys, xs = np.nonzero(~m)
    if ys.size == 0:
        return GrappaResult(kz, rss(ifft2c(kz)), 0, 0, calib_shape)

    ry = kh // 2
    reach = min((calib_shape[1] - 1) // 2, _REACH * kw)
    n_min = kh * kw
    known = m.copy()
    out = kz
    grams: dict[int, np.ndarray] = {}
    n_patterns = 0
    while True:
        ys, xs = np.nonzero(~known)
        if ys.size == 0:
            break
        mpad = np.pad(known, ((ry, kh - 1 - ry), (0, 0)), mode="edge")
        mpad = np.pad(mpad, ((0, 0), (reach, reach)), constant_values=False)
        h_sel, n_src, nearest = _half_widths(mpad, ys, xs, kh, reach, n_min)
        if n_src.max() == 0:
            break
        near = nearest <= max(_NEAR, int(nearest.min()))
        ready = near & (n_src >= n_min)
        if not ready.any():  # no point near known samples has kh * kw of them: fill anyway
            ready = near
        ys, xs, h_sel = ys[ready], xs[ready], h_sel[ready]
        kpad = np.pad(out, ((0, 0), (ry, kh - 1 - ry), (reach, reach)))
        out = out.copy()
        n_patterns += _fill(out, kpad, mpad, ys, xs, h_sel, cal, kh, reach, lam, grams)
        known[ys, xs] = True
    unfilled = int(np.count_nonzero(~known))
    image = rss(ifft2c(out))
    return GrappaResult(out, image, n_patterns, unfilled, calib_shape,
                        _amplification(image, rss(ifft2c(kz))))
