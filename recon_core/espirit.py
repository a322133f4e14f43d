"""ESPIRiT coil sensitivity maps: an eigenvalue approach to autocalibrating parallel MRI.

Import it as ``from recon_core.espirit import espirit_maps`` (it is not exported from
:mod:`recon_core` itself). Pure NumPy; TensorFlow is not loaded.

Conventions as in :mod:`recon_core.coils`: multi-coil k-space is complex (C, H, W), centred
(DC at (H // 2, W // 2)); maps are complex64 (C, H, W), ``sum_c |S_c|^2 = 1`` inside their
support and 0 outside; the SENSE model is ``coil_image_c = S_c * x``.

The method (Uecker et al. 2014), step by step as :func:`espirit_maps` does it:

1. **Calibration matrix.** From the fully sampled (h, w) block around DC, every
   ``kernel x kernel`` window of all C coils is one row of a block-Hankel matrix ``A``, of
   shape ``((h - k + 1) (w - k + 1), C k^2)``.
2. **Signal subspace.** ``A = U S V^H``; the right singular vectors whose singular value is at
   least ``threshold * s_max`` span the signal subspace (the others, the null space, are the
   linear relations that every window of the coils' k-space satisfies). ``P = V_par V_par^H`` is
   the projection onto it. (Computed as the eigen-decomposition of the ``C k^2`` square
   ``A^H A``, which has the same vectors and ``s^2`` as eigenvalues.) With noisy data
   ``threshold * s_max`` can fall below the noise: the *noise guard* also drops singular values
   under the largest one that noise alone would give, estimated from the smallest singular
   value with the Marchenko-Pastur law (``s_min (sqrt(m) + sqrt(n)) / (sqrt(m) - sqrt(n))``
   for an ``m x n`` matrix, white noise assumed), so that noise is not learned as coil
   structure.
3. **Image space.** Averaging ``P`` over the ``k^2`` positions of a window in the patches that
   cover a k-space sample gives a convolution of the coils with ``C x C`` kernels of size
   ``(2k - 1) x (2k - 1)``; in image space it is a pointwise ``C x C`` Hermitian matrix ``G(r)``
   with eigenvalues in [0, 1]. This module evaluates ``G(r) = sum_d w[d] exp(-2 pi i d.r / N)``
   directly on the (H, W) grid (a separable discrete Fourier transform of the small kernel
   ``w``: the same numbers as zero-padding the kernels to the image size and taking FFTs,
   without holding ``C k^2`` full-size kernel images).
4. **Maps.** At each pixel the coil sensitivities are the eigenvector of ``G(r)`` with
   eigenvalue 1 (``np.linalg.eigh`` on a stack of ``C x C`` matrices, a block of rows at a
   time); pixels whose eigenvalue is below ``eig_threshold`` are outside the support (no
   signal there to calibrate from) and their maps are set to 0. The eigenvector's phase is
   arbitrary per pixel; it is fixed relative to a virtual body coil (default) or to coil 0.
   With ``n_maps >= 2`` the next eigenvectors are returned as further sets ("soft SENSE"),
   which absorb, for instance, aliasing of an object larger than the field of view.

Limits (checked, never silent): a calibration block needs at least ``max(MIN_CALIB, kernel)``
samples along each axis and at least ``MIN_ROWS_PER_KERNEL * kernel^2`` windows, otherwise
:class:`ValueError` says the size found and the size needed; a usable but small block (a side
under ``SMALL_CALIB``, or fewer windows than the ``C k^2`` columns of ``A``), a block that the
mask says is not fully sampled, noise that raised the singular-value cut, no null space, and a
support under ``SMALL_SUPPORT`` of the image are reported in :attr:`EspiritResult.warnings`.

References:
    M. Uecker, P. Lai, M. J. Murphy, P. Virtue, M. Elad, J. M. Pauly, S. S. Vasanawala,
    M. Lustig, "ESPIRiT -- an eigenvalue approach to autocalibrating parallel MRI: where SENSE
    meets GRAPPA", Magn. Reson. Med. 71 (2014) 990-1001. The virtual body coil phase
    reference follows M. Buehrer et al., MRM 57 (2007) 1131-1139.

:Examples:

>>> import numpy as np
>>> from recon_core.espirit import espirit_maps
>>> yy, xx = np.mgrid[:64, :64] / 32.0 - 1
>>> img = ((yy / 0.8) ** 2 + (xx / 0.7) ** 2 < 1).astype(np.float32)  # an ellipse
>>> true = np.stack([np.exp(-(yy - np.sin(a)) ** 2 - (xx - np.cos(a)) ** 2 + 1j * a * xx)
...                  for a in (0.0, 1.6, 3.1, 4.7)])  # 4 smooth coils
>>> true /= np.linalg.norm(true, axis=0)
>>> k = np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(true * img, axes=(-2, -1)),
...                                  norm="ortho"), axes=(-2, -1))
>>> res = espirit_maps(k, calib=(24, 24), kernel=5)
>>> res.maps.shape, res.calib_shape, res.warnings
((4, 64, 64), (24, 24), [])
>>> inside = img > 0
>>> corr = np.abs(np.sum(res.maps * true.conj(), axis=0))[inside]
>>> bool(corr.min() > 0.98)
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from recon_core.checks import as_array, as_mask, check_int, check_int_pair, check_positive
from recon_core.masks.analysis import centred_calibration_block

__all__ = [
    "EspiritResult",
    "espirit_maps",
    "calibration_block",
    "MIN_CALIB",
    "MIN_ROWS_PER_KERNEL",
    "SMALL_CALIB",
    "SMALL_SUPPORT",
]

#: Fewest calibration samples along either axis (the kernel must also fit).
MIN_CALIB = 4
#: Fewest windows (rows of the calibration matrix) per kernel entry: ``rows >= 2 * kernel**2``.
MIN_ROWS_PER_KERNEL = 2
#: A calibration side shorter than this gives a warning (low-resolution, noise-prone maps).
SMALL_CALIB = 24
#: A support smaller than this fraction of the image gives a warning.
SMALL_SUPPORT = 0.2

_PHASE_REFS = ("virtual", "first")
_BLOCK = 1 << 20  # complex entries of G evaluated per block of rows (16 MiB at complex128)


@dataclass(frozen=True)
class EspiritResult:
    """Result of :func:`espirit_maps`.

    Attributes:
        maps: complex64 sensitivity maps, (C, H, W) for ``n_maps=1``, else (M, C, H, W); each
            set is 0 where its eigenvalue is below ``eig_threshold``.
        eigenvalues: float32 (M, H, W), the M largest eigenvalues of ``G(r)``, descending, in
            [0, 1] (about 1 where the maps are reliable).
        support: bool (H, W), where the first set of maps is non-zero.
        calib_shape: (h, w) of the calibration block used.
        warnings: why the maps may be poor (small calibration, small support, ...); empty
            when nothing was noticed.
        singular_values: float32, the calibration matrix's singular values, descending.
        n_kernels: how many of them were kept (the signal-subspace dimension).
    """

    maps: np.ndarray
    eigenvalues: np.ndarray
    support: np.ndarray
    calib_shape: tuple[int, int]
    warnings: list[str]
    singular_values: np.ndarray
    n_kernels: int


def calibration_block(mask: ArrayLike, max_size: int | None = 48) -> tuple[int, int]:
    """Size (h, w) of the largest fully sampled rectangle centred on DC of a sampling mask.

    A thin wrapper over :func:`recon_core.masks.centred_calibration_block` with ESPIRiT's cap
    of 48 per side. The block is
    ``mask[H//2 - h//2 : H//2 - h//2 + h, W//2 - w//2 : W//2 - w//2 + w]``, the centring of
    :func:`recon_core.coils.estimate_sens_maps`. Any rectangle counts: full-height column
    blocks (line masks), full-width row blocks, squares and h x w blocks of 2-D masks.
    With ``max_size`` the block maximising ``min(h, max_size) * min(w, max_size)`` is chosen
    and each side is then capped at ``max_size``.

    Args:
        mask: bool or 0/1 (any non-zero value counts as sampled), shape (H, W).
        max_size: cap on each side, or None for none.

    Returns:
        (h, w); (0, 0) when DC itself is not sampled.

    :Examples:

    >>> import numpy as np
    >>> m = np.zeros((128, 96), bool); m[:, 36:60] = True; m[:, 1::4] = True
    >>> calibration_block(m)
    (48, 24)
    >>> m = np.zeros((64, 64), bool); m[16:48, 20:44] = True  # a 32 x 24 rectangle
    >>> calibration_block(m), calibration_block(m, max_size=16)
    ((32, 24), (16, 16))
    """
    m = as_array(mask, "mask", min_ndim=2)
    if m.ndim != 2:
        raise ValueError(f"mask must have shape (H, W), got {m.shape}")
    return centred_calibration_block(m != 0, max_size=max_size)


def _calibration_shape(
    k: np.ndarray, mask, calib, max_calib: int
) -> tuple[tuple[int, int], list[str]]:
    """(h, w) of the calibration block, and warnings about it."""
    c, h, w = k.shape
    notes: list[str] = []
    sampled = None
    if mask is not None:
        sampled = np.broadcast_to(as_mask(mask, k.shape), k.shape)
        sampled = np.all(sampled, axis=0) if sampled.ndim == 3 else sampled
    if calib is None:
        m = np.any(k != 0, axis=0) if sampled is None else sampled
        ch, cw = calibration_block(m, max_size=max_calib)
        return (ch, cw), notes
    ch, cw = check_int_pair(calib, "calib")
    if ch > h or cw > w:
        raise ValueError(f"calib {(ch, cw)} exceeds the k-space size {(h, w)}")
    y0, x0 = h // 2 - ch // 2, w // 2 - cw // 2
    if sampled is not None:
        block = sampled[y0 : y0 + ch, x0 : x0 + cw]
        if not block.all():
            notes.append(
                f"the {ch}x{cw} calibration block is not fully sampled in the mask "
                f"({int(block.size - block.sum())} of {block.size} samples missing): the maps "
                "learn the gaps as coil structure"
            )
    else:
        block = np.all(k[:, y0 : y0 + ch, x0 : x0 + cw] != 0, axis=0)
        if not block.all():
            notes.append(
                f"{int(block.size - block.sum())} of the {block.size} samples of the {ch}x{cw} "
                "calibration block are zero in every coil: is the block fully sampled?"
            )
    return (ch, cw), notes


def _check_calibration(ch: int, cw: int, kernel: int, n_coils: int) -> list[str]:
    """Raise when the block cannot calibrate a ``kernel``-sized kernel; warnings otherwise."""
    need = max(MIN_CALIB, kernel)
    if min(ch, cw) == 0:
        raise ValueError(
            "no fully sampled calibration region around DC found in the mask (0x0): ESPIRiT "
            f"with kernel={kernel} needs at least {need}x{need}; sample the k-space centre or "
            "pass calib=(h, w)"
        )
    if min(ch, cw) < need:
        raise ValueError(
            f"calibration region {ch}x{cw} is too small: ESPIRiT with kernel={kernel} needs at "
            f"least {need} fully sampled lines along each axis around DC (sample a larger "
            "centre, pass calib=(h, w), or use a smaller kernel)"
        )
    rows = (ch - kernel + 1) * (cw - kernel + 1)
    need_rows = MIN_ROWS_PER_KERNEL * kernel**2
    if rows < need_rows:
        raise ValueError(
            f"calibration region {ch}x{cw} gives only {rows} {kernel}x{kernel} windows; "
            f"at least {need_rows} (= {MIN_ROWS_PER_KERNEL} x kernel^2) are needed for a "
            "reliable null space (sample a larger centre or use a smaller kernel)"
        )
    notes = []
    if min(ch, cw) < SMALL_CALIB:
        notes.append(
            f"calibration region {ch}x{cw} is small (under {SMALL_CALIB} along an axis): "
            "the maps are smooth but may be noisy or miss fine sensitivity variation"
        )
    cols = n_coils * kernel**2
    if rows < cols:
        notes.append(
            f"the calibration matrix has fewer rows ({rows} windows) than columns "
            f"({n_coils} coils x {kernel}x{kernel} = {cols}): the null space is partly "
            "unconstrained by the data and the maps may be poor (use a smaller kernel or a "
            "larger calibration region)"
        )
    return notes


def _calibration_matrix(calib: np.ndarray, kernel: int) -> np.ndarray:
    """Rows: every ``kernel x kernel`` window of the (C, h, w) block, flattened as (C, ky, kx)."""
    win = np.lib.stride_tricks.sliding_window_view(calib, (kernel, kernel), axis=(1, 2))
    # win: (C, h - k + 1, w - k + 1, k, k) -> (windows, C * k * k)
    c = calib.shape[0]
    return np.ascontiguousarray(win.transpose(1, 2, 0, 3, 4)).reshape(-1, c * kernel * kernel)


def _correlation_kernel(v: np.ndarray, n_coils: int, kernel: int) -> np.ndarray:
    """The (C, C, 2k-1, 2k-1) kernel ``w`` of the image-space operator ``G``.

    ``w[c, c', d] = (1 / k^2) sum_a P[(c, a), (c', a + d)]`` with ``P = v v^H`` the projection
    onto the signal subspace and ``a`` running over window positions with ``a + d`` inside.
    Then ``(W x)[c, n] = sum_{c', d} w[c, c', d] x[c', n + d]`` is the average of ``P`` over the
    windows that hold sample ``n``.
    """
    k = kernel
    p = (v @ v.conj().T).reshape(n_coils, k, k, n_coils, k, k)
    w = np.zeros((n_coils, n_coils, 2 * k - 1, 2 * k - 1), np.complex128)
    for dy in range(-(k - 1), k):
        ay = slice(max(0, -dy), min(k, k - dy))
        by = slice(max(0, dy), min(k, k + dy))
        for dx in range(-(k - 1), k):
            ax = slice(max(0, -dx), min(k, k - dx))
            bx = slice(max(0, dx), min(k, k + dx))
            # diagonal sum over window positions a = (ay, ax), b = a + d
            block = p[:, ay, ax][:, :, :, :, by, bx]  # (C, ny, nx, C, ny, nx)
            w[:, :, dy + k - 1, dx + k - 1] = np.einsum("aijbij->ab", block)
    return w / k**2


def _dft_rows(n: int, kernel: int) -> np.ndarray:
    """``exp(-2 pi i d (r - n // 2) / n)`` for r in 0..n-1, d in -(k-1)..k-1: (n, 2k - 1)."""
    r = np.arange(n) - n // 2
    d = np.arange(-(kernel - 1), kernel)
    return np.exp(-2j * np.pi * np.outer(r, d) / n)


def _noise_edge(s: np.ndarray, n_rows: int) -> float:
    """Largest singular value that noise alone would give, estimated from the smallest.

    An ``m x n`` matrix of i.i.d. noise of level sigma has singular values in
    ``sigma * (sqrt(max) -+ sqrt(min))`` (Marchenko-Pastur); the smallest singular value of the
    calibration matrix is noise (the signal has lower rank), so the largest noise singular
    value is about ``s_min * (sqrt(max) + sqrt(min)) / (sqrt(max) - sqrt(min))``. Returns 0
    when the matrix is too close to square (ratio above 6) for the estimate to mean anything.
    """
    lo, hi = sorted((n_rows, s.shape[0]))
    ratio = (np.sqrt(hi) + np.sqrt(lo)) / (np.sqrt(hi) - np.sqrt(lo)) if hi > lo else np.inf
    if ratio > 6:
        return 0.0
    return float(s[lo - 1] * ratio)


def _phase_reference(vecs: np.ndarray, keep: np.ndarray, phase_ref: str) -> np.ndarray:
    """Rotate each pixel's eigenvector (..., C) so that the reference coil is real >= 0."""
    if phase_ref == "first":
        ref = vecs[..., 0]
    else:  # virtual body coil: the principal component of the maps over the support
        s = vecs[keep]
        if s.shape[0] == 0:
            return vecs
        a = np.linalg.eigh(s.T @ s.conj())[1][:, -1]  # sum_r s(r) s(r)^H, phase-invariant
        a = a * (np.abs(a[0]) / a[0] if abs(a[0]) > 0 else 1.0)
        ref = vecs @ a.conj()
    mag = np.abs(ref)
    rot = np.where(mag > 0, np.conj(ref) / np.where(mag > 0, mag, 1.0), 1.0)
    return vecs * rot[..., None]


def espirit_maps(
    kspace: ArrayLike,
    mask: ArrayLike | None = None,
    *,
    calib: int | tuple[int, int] | None = None,
    kernel: int = 6,
    threshold: float = 0.02,
    eig_threshold: float = 0.95,
    n_maps: int = 1,
    max_calib: int = 48,
    phase_ref: str = "virtual",
    noise_guard: bool = True,
) -> EspiritResult:
    """ESPIRiT coil sensitivity maps from the fully sampled centre of k-space.

    See the module docstring for the method. Run time grows with ``H * W * C^2`` (the
    per-pixel ``C x C`` eigen-decompositions) and with ``(C k^2)^2`` (the calibration matrix);
    memory stays near ``H * W * C * n_maps`` complex numbers, as ``G`` is evaluated and
    decomposed a block of rows at a time. 8 coils at 256 x 256 take one to two seconds on two
    cores, 16 coils about four times as long.

    Args:
        kspace: complex (C, H, W), centred; unsampled entries may be zero.
        mask: bool (H, W) sampling mask (or broadcastable to (C, H, W)); None infers it as
            "non-zero in any coil". Used to find the calibration block.
        calib: the calibration block's (h, w) (or one int for a square), centred on DC as in
            :func:`recon_core.coils.estimate_sens_maps`; None detects it from the mask with
            :func:`calibration_block` (the largest fully sampled centred rectangle: full-height
            column blocks, full-width row blocks, h x w blocks), each side capped at
            ``max_calib``.
        kernel: window side ``k`` in k-space samples (>= 2).
        threshold: keep singular vectors with ``s >= threshold * s_max``, in (0, 1).
        eig_threshold: maps are 0 where their eigenvalue is below this, in [0, 1).
        n_maps: how many sets of maps (eigenvectors), 1..C; >= 2 returns (M, C, H, W).
        max_calib: cap on each side of a detected calibration block (the SVD cost grows with
            its area, and a larger block adds little).
        phase_ref: ``"virtual"`` (default) makes each pixel's maps' phase relative to a virtual
            body coil (the principal component of the maps, smooth where coil 0 may vanish);
            ``"first"`` makes coil 0 real and non-negative.
        noise_guard: also drop singular values under the noise edge (see the module
            docstring), so that noise is not kept as signal when ``threshold * s_max`` is
            below the noise level; False keeps exactly those above ``threshold * s_max``.

    Returns:
        :class:`EspiritResult`.

    Raises:
        ValueError: wrong shapes or values; a calibration region too small for the kernel (the
            message gives the size found and the size needed); all-zero calibration data.

    :Examples:

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> k = (rng.standard_normal((4, 32, 32)) + 1j * rng.standard_normal((4, 32, 32)))
    >>> m = np.zeros((32, 32), bool); m[:, 14:18] = True
    >>> espirit_maps(k * m, m)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: calibration region 32x4 is too small: ESPIRiT with kernel=6 needs at least 6 ...
    """
    k = as_array(kspace, "kspace", min_ndim=3)
    if k.ndim != 3:
        raise ValueError(f"kspace must have shape (C, H, W), got {k.shape}")
    k = k.astype(np.complex128, copy=False)
    n_coils, h, w = k.shape
    kernel = check_int(kernel, "kernel", minimum=2)
    threshold = check_positive(threshold, "threshold")
    if threshold >= 1:
        raise ValueError(f"threshold must be < 1, got {threshold}")
    eig_threshold = check_positive(eig_threshold, "eig_threshold", allow_zero=True)
    if eig_threshold >= 1:
        raise ValueError(f"eig_threshold must be < 1, got {eig_threshold}")
    n_maps = check_int(n_maps, "n_maps")
    if n_maps > n_coils:
        raise ValueError(f"n_maps must be <= the number of coils ({n_coils}), got {n_maps}")
    max_calib = check_int(max_calib, "max_calib")
    if phase_ref not in _PHASE_REFS:
        raise ValueError(f"phase_ref must be one of {_PHASE_REFS}, got {phase_ref!r}")

    (ch, cw), notes = _calibration_shape(k, mask, calib, max_calib)
    notes += _check_calibration(ch, cw, kernel, n_coils)
    y0, x0 = h // 2 - ch // 2, w // 2 - cw // 2
    block = k[:, y0 : y0 + ch, x0 : x0 + cw]
    if not np.any(block):
        raise ValueError(f"the {ch}x{cw} calibration block is zero in every coil")

    # 1-2. calibration matrix and signal subspace
    a = _calibration_matrix(block, kernel)
    # The windows' covariance sum_i a_i a_i^H = conj(A^H A) has eigenvalues s^2 and, as
    # eigenvectors, the (conjugated) right singular vectors of A: the basis that the windows
    # (as column vectors) are combinations of. A C k^2 square eigh is several times faster
    # than the SVD of the tall A, and s >= 0.02 s_max is far above its rounding.
    lam, vec = np.linalg.eigh(a.T @ a.conj())
    s = np.sqrt(np.clip(lam[::-1], 0.0, None))
    vec = vec[:, ::-1]
    cols = n_coils * kernel**2
    cut = threshold * s[0]
    edge = _noise_edge(s, a.shape[0]) if noise_guard else 0.0
    n_thr = int(np.count_nonzero(s >= cut))
    n_keep = int(np.count_nonzero(s >= max(cut, edge)))
    if n_keep == 0:
        notes.append(
            f"no singular value of the calibration matrix stands above the estimated noise "
            f"edge ({edge / s[0]:.3g} x s_max): the calibration data look like pure noise and "
            "the maps are empty"
        )
    elif n_keep < n_thr:
        notes.append(
            f"noisy calibration data: {n_thr - n_keep} singular values above threshold="
            f"{threshold} are under the estimated noise edge ({edge / s[0]:.3g} x s_max) and "
            f"were dropped too, keeping {n_keep} of {cols}; the maps' detail is limited by noise"
        )
    if n_keep >= cols:
        notes.append(
            f"all {cols} singular vectors are above threshold={threshold}: there is no null "
            "space, so the maps are arbitrary (pure noise, or raise threshold)"
        )
    v = vec[:, :n_keep]  # (C k^2, n_keep), orthonormal: the signal subspace

    # 3. image-space operator G(r) = Ey w Ex^T, evaluated a block of rows at a time
    wk = _correlation_kernel(v, n_coils, kernel)
    ey, ex = _dft_rows(h, kernel), _dft_rows(w, kernel)
    t = np.tensordot(wk, ex, axes=([3], [1]))  # (C, C, 2k-1, W)
    rows_per_block = max(1, _BLOCK // (w * n_coils * n_coils))
    vals = np.empty((n_maps, h, w), np.float32)
    vecs = np.empty((h, w, n_maps, n_coils), np.complex128)
    for r0 in range(0, h, rows_per_block):
        r1 = min(h, r0 + rows_per_block)
        g = np.tensordot(ey[r0:r1], t, axes=([1], [2]))  # (rows, C, C, W)
        g = g.transpose(0, 3, 1, 2)  # (rows, W, C, C), Hermitian up to rounding
        lam, u = np.linalg.eigh(g)  # ascending; reads the lower triangle only
        vals[:, r0:r1] = np.clip(lam[..., ::-1][..., :n_maps], 0.0, None).transpose(2, 0, 1)
        vecs[r0:r1] = u[..., ::-1][..., :n_maps].swapaxes(-1, -2)  # (rows, W, M, C)

    # 4. support, phase, layout
    keep = vals > eig_threshold  # (M, H, W)
    maps = np.empty((n_maps, n_coils, h, w), np.complex64)
    for m_i in range(n_maps):
        vm = _phase_reference(vecs[:, :, m_i], keep[m_i], phase_ref)
        maps[m_i] = np.where(keep[m_i], vm.transpose(2, 0, 1), 0)
    support = keep[0].copy()
    frac = float(support.mean())
    if frac < SMALL_SUPPORT:
        notes.append(
            f"the maps cover only {100 * frac:.1f}% of the image (eigenvalue > "
            f"eig_threshold={eig_threshold}): lower eig_threshold, or check the calibration data"
        )
    return EspiritResult(
        maps=maps[0] if n_maps == 1 else maps,
        eigenvalues=vals,
        support=support,
        calib_shape=(ch, cw),
        warnings=notes,
        singular_values=s.astype(np.float32),
        n_kernels=n_keep,
    )
