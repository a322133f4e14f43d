r"""Noise amplification of parallel imaging: the g-factor, analytic (SENSE) and by pseudo-replicas.

An accelerated reconstruction loses SNR for two reasons: fewer samples (a factor
``sqrt(R)``, unavoidable) and the conditioning of the unfolding, the *geometry factor*
``g >= 1`` (Pruessmann et al. 1999)::

    SNR_accelerated = SNR_full / (g * sqrt(R))

- :func:`sense_gfactor` — the closed form for SENSE with regular (equispaced) undersampling by
  an integer R along one image axis. Pixel ``p`` folds onto the R pixels ``p + j N / R``
  (``j = 0..R-1``, modulo N) of its group. With ``S`` the (C, R) matrix of the maps at those
  pixels and ``Psi`` the (C, C) noise covariance, ``A = S^H Psi^-1 S`` and
  ``g_p = sqrt([A^-1]_pp [A]_pp)``. With Tikhonov regularisation ``reg = mu > 0`` (the
  unfolding ``(A + mu I)^-1 S^H Psi^-1``) the noise covariance of the unfolded pixels is
  ``(A + mu I)^-1 A (A + mu I)^-1`` and ``g_p = sqrt([(A + mu I)^-1 A (A + mu I)^-1]_pp
  [A]_pp)``, which can fall below 1 (the regulariser removes noise and signal alike).
- :func:`sense_unfold` — the SENSE reconstruction that formula describes, for a regular column
  or row mask (fast, NumPy): a reconstruction to feed :func:`pseudo_replica_gfactor`.
- :func:`pseudo_replica_gfactor` — the pseudo multiple replica method (Robson et al. 2008) for
  any linear reconstruction (CG-SENSE, GRAPPA, ...): add seeded noise to the data many times,
  reconstruct each replica accelerated and fully sampled, and compare the pixel-wise standard
  deviations.

Support: pixels where all maps vanish (``sum_c |S_c|^2 == 0``, the background that
:func:`recon_core.coils.estimate_sens_maps` zeroes) carry no signal and have no g-factor: they
are NaN in both maps, and they are left out of the unfolding (they do not compete with the
pixels they alias onto), as in SENSE.

References:
    Pruessmann, K. P. et al. "SENSE: Sensitivity encoding for fast MRI." MRM 42 (1999) 952-962.
    Robson, P. M. et al. "Comprehensive quantification of signal-to-noise ratio and g-factor for
    image-based and k-space-based parallel imaging reconstructions." MRM 60 (2008) 895-907.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from recon_core.checks import as_array, as_mask, check_int, check_positive
from recon_core.ops.fftc import fft2c, ifft2c

__all__ = ["sense_gfactor", "sense_unfold", "pseudo_replica_gfactor"]

#: Relative level of ``sum_c |S_c|^2`` (to its maximum) at or below which a pixel is background.
_SUPPORT_EPS = 1e-12
#: Eigenvalues of ``S^H Psi^-1 S`` at or below this fraction of a group's largest count as zero.
_SINGULAR_EPS = 1e-10


def _maps(sens: ArrayLike) -> np.ndarray:
    s = as_array(sens, "sens", min_ndim=3)
    if s.ndim != 3:
        raise ValueError(f"sens must have shape (C, H, W), got {s.shape}")
    return s.astype(np.complex128)


def _axis(axis: int) -> int:
    if isinstance(axis, bool) or axis not in (-1, -2):
        raise ValueError(f"axis must be -1 (W, columns) or -2 (H, rows) of the image, got {axis!r}")
    return int(axis)


def _whitener(noise_cov: ArrayLike | None, n_coils: int) -> np.ndarray | None:
    """``L^-1`` with ``Psi = L L^H`` (so that ``L^-1 S`` has white noise), or None for Psi = I."""
    if noise_cov is None:
        return None
    psi = as_array(noise_cov, "noise_cov").astype(np.complex128)
    if psi.shape != (n_coils, n_coils):
        raise ValueError(f"noise_cov must be ({n_coils}, {n_coils}) for {n_coils} coils, "
                         f"got {psi.shape}")
    if not np.allclose(psi, psi.conj().T, rtol=1e-5, atol=1e-8 * float(np.abs(psi).max())):
        raise ValueError("noise_cov must be Hermitian")
    try:
        low = np.linalg.cholesky(psi)
    except np.linalg.LinAlgError:
        raise ValueError("noise_cov must be positive definite") from None
    return np.linalg.inv(low)


def _groups(x: np.ndarray, r: int, axis: int) -> np.ndarray:
    """(..., H, W) -> (..., G1, G2, R): the R pixels ``p + j N / R`` of each group last."""
    n = x.shape[axis]
    x = np.moveaxis(x, axis, -1)  # (..., M, N)
    x = x.reshape(x.shape[:-1] + (r, n // r))  # index j * N/R + q -> (j, q)
    return np.swapaxes(x, -1, -2)  # (..., M, N/R, R)


def _ungroup(x: np.ndarray, axis: int) -> np.ndarray:
    """Inverse of :func:`_groups` for the last three axes (M, N/R, R) -> image axes."""
    x = np.swapaxes(x, -1, -2)
    x = x.reshape(x.shape[:-2] + (-1,))
    return np.moveaxis(x, -1, axis)


def _normal_matrices(s_white: np.ndarray, r: int, axis: int):
    """``A = S^H S`` per group, (M, N/R, R, R), and the in-support flags (M, N/R, R)."""
    sg = _groups(s_white, r, axis)  # (C, M, N/R, R)
    a_mat = np.einsum("cmqi,cmqj->mqij", sg.conj(), sg)
    power = np.real(np.einsum("mqii->mqi", a_mat))
    support = power > _SUPPORT_EPS * max(float(power.max()), np.finfo(float).tiny)
    # Pixels outside the support get an identity block: decoupled, inverse unaffected.
    a_mat = a_mat + np.einsum("mqi,ij->mqij", ~support, np.eye(r))
    return a_mat, support, sg


def _check_divisible(n: int, r: int, axis: int) -> None:
    if n % r:
        raise ValueError(f"the image size along axis {axis} ({n}) must be a multiple of "
                         f"accel {r} for regular undersampling")


def sense_gfactor(
    sens: ArrayLike,
    accel: int,
    *,
    axis: int = -1,
    noise_cov: ArrayLike | None = None,
    reg: float = 0.0,
) -> np.ndarray:
    """Analytic SENSE g-factor map for regular undersampling by an integer factor.

    Args:
        sens: complex coil maps (C, H, W), any normalisation.
        accel: the acceleration R (an integer >= 1; the image size along ``axis`` must be a
            multiple of it).
        axis: the phase-encode (undersampled) axis of the image: -1 (W, column masks, as
            :func:`recon_core.masks.make_mask` draws them) or -2 (H).
        noise_cov: (C, C) noise covariance ``Psi`` (Hermitian, positive definite); None is
            white noise of equal power in every coil. Only its shape matters, not its scale.
        reg: Tikhonov weight ``mu >= 0`` added to ``S^H Psi^-1 S`` (in its units: for maps
            with ``sum_c |S_c|^2 = 1`` and ``Psi = I`` its diagonal is 1); see the module
            docstring for the formula. With ``reg > 0``, g can be below 1.

    Returns:
        float32 (H, W): g >= 1 (without ``reg``), 1 everywhere for R = 1; NaN outside the
        maps' support; ``inf`` where the unfolding is singular (e.g. more aliased pixels in
        the support than coils), without ``reg``.

    Raises:
        ValueError: bad shapes, ``accel`` not an integer >= 1 or not dividing the image size,
            a bad ``axis``, ``noise_cov`` not (C, C) Hermitian positive definite, ``reg < 0``.

    :Examples:

    >>> import numpy as np
    >>> from recon_core.coils import simulate_sens_maps
    >>> s = simulate_sens_maps((32, 32), n_coils=8)
    >>> g1, g2 = sense_gfactor(s, 1), sense_gfactor(s, 2)
    >>> bool(np.allclose(g1, 1, atol=1e-6)), bool((g2 >= 1 - 1e-6).all())
    (True, True)
    """
    s = _maps(sens)
    r = check_int(accel, "accel")
    axis = _axis(axis)
    mu = check_positive(reg, "reg", allow_zero=True)
    c = s.shape[0]
    _check_divisible(s.shape[axis], r, axis)
    whiten = _whitener(noise_cov, c)
    s_white = s if whiten is None else np.einsum("dc,chw->dhw", whiten, s)
    a_mat, support, _ = _normal_matrices(s_white, r, axis)
    evals, evecs = np.linalg.eigh(a_mat)  # A = V diag(e) V^H
    # Eigenvalues at rounding level are zero: the unfolding is singular there (g = inf at mu = 0).
    evals = np.where(evals > _SINGULAR_EPS * evals.max(axis=-1, keepdims=True), evals, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        # diag((A + mu)^-1 A (A + mu)^-1) = sum_k |V_pk|^2 e_k / (e_k + mu)^2 (1 / e_k at mu = 0)
        filt = evals / (evals + mu) ** 2 if mu > 0 else np.where(evals > 0, 1 / evals, np.inf)
        noise_var = np.einsum("...ik,...k->...i", np.abs(evecs) ** 2, filt)
        diag = np.real(np.einsum("...ii->...i", a_mat))
        g = np.sqrt(noise_var * diag)
    g = np.where(support, g, np.nan)
    return _ungroup(g, axis).astype(np.float32)


def _regular_lines(mask: np.ndarray) -> tuple[int, int]:
    """(axis, R) of a regular column (axis -1) or row (axis -2) mask; ValueError otherwise."""
    h, w = mask.shape
    if (mask == mask[:1]).all():
        axis, line = -1, mask[0]
    elif (mask == mask[:, :1]).all():
        axis, line = -2, mask[:, 0]
    else:
        raise ValueError("sense_unfold needs a column (or row) mask: every row (or column) alike")
    idx = np.flatnonzero(line)
    n = line.size
    if idx.size == 0 or n % idx.size:
        raise ValueError(f"sense_unfold needs regular undersampling: {idx.size} of {n} lines "
                         "sampled is not an integer fraction")
    r = n // idx.size
    if not np.array_equal(idx, idx[0] + r * np.arange(idx.size)):
        raise ValueError(f"sense_unfold needs regular undersampling: sampled lines are not "
                         f"equally spaced (every {r}-th line)")
    return axis, r


def sense_unfold(
    kspace: ArrayLike,
    mask: ArrayLike,
    sens: ArrayLike,
    *,
    noise_cov: ArrayLike | None = None,
    reg: float = 0.0,
) -> np.ndarray:
    """SENSE reconstruction for regular undersampling, by direct unfolding (Pruessmann 1999).

    The folded coil images ``a_c = ifft2c(mask * kspace_c)`` are ``a_c(p) = sum_j h_j S_c(p_j)
    x(p_j)`` over the R pixels ``p_j = p - j N / R`` of a group, with ``h_j`` the mask's point
    spread function at the aliasing shifts (magnitude 1 / R, phase from the lines' offset);
    each group's R x R system is solved as ``(E^H Psi^-1 E + mu I)^-1 E^H Psi^-1 a``. Background
    pixels (all maps 0) are left out of the unfolding and set to 0.

    Args:
        kspace: complex (C, H, W), centred; unsampled entries are ignored.
        mask: bool (H, W): every R-th column (or row), R dividing W (or H), any offset.
        sens: complex (C, H, W) maps.
        noise_cov: (C, C) noise covariance, None for white noise.
        reg: Tikhonov weight ``mu >= 0`` (see :func:`sense_gfactor`).

    Returns:
        complex64 (H, W).

    :Examples:

    >>> import numpy as np
    >>> from recon_core.coils import simulate_multicoil
    >>> x = np.outer(np.hanning(32), np.hanning(32))
    >>> k, s = simulate_multicoil(x, n_coils=8)
    >>> m = np.zeros((32, 32), bool); m[:, 1::4] = True
    >>> bool(np.allclose(sense_unfold(k, m, s), x, atol=1e-4))
    True
    """
    s = _maps(sens)
    k = as_array(kspace, "kspace", min_ndim=3)
    if k.shape != s.shape:
        raise ValueError(f"kspace {k.shape} does not match sens {s.shape}")
    m = as_mask(mask, k.shape)
    if m.ndim != 2:
        raise ValueError(f"mask must have shape (H, W), got {m.shape}")
    mu = check_positive(reg, "reg", allow_zero=True)
    axis, r = _regular_lines(m)
    c, h, w = k.shape
    n = (h, w)[axis]
    whiten = _whitener(noise_cov, c)
    folded = ifft2c(np.where(m, k, 0)).astype(np.complex128)
    # The mask's impulse response: nonzero only at the R aliasing shifts j N / R from the centre.
    delta = np.zeros((h, w))
    delta[h // 2, w // 2] = 1.0
    psf = ifft2c(m * fft2c(delta)).astype(np.complex128)
    shifts = (np.arange(r) * (n // r) + n // 2) % n
    h_j = psf[h // 2, shifts] if axis == -1 else psf[shifts, w // 2]  # pixel p - jN/R -> p: h_j
    if whiten is not None:
        s = np.einsum("dc,chw->dhw", whiten, s)
        folded = np.einsum("dc,chw->dhw", whiten, folded)
    # Group member l is pixel p_l = q + l N/R, and
    # a(q) = sum_j h_j (S x)(q - j N/R) = sum_l h_{-l} S(p_l) x(p_l).
    a_mat, support, sg = _normal_matrices(s, r, axis)  # sg: (C, M, N/R, R)
    phase = h_j[(-np.arange(r)) % r]  # coefficient of group member l
    e_mat = sg * phase  # (C, M, N/R, R)
    e_mat = np.where(support, e_mat, 0)
    data = _groups(folded, r, axis)[..., 0]  # (C, M, N/R): the folded image at q (l = 0)
    normal = np.einsum("cmqi,cmqj->mqij", e_mat.conj(), e_mat)
    normal = normal + np.einsum("mqi,ij->mqij", ~support, np.eye(r)) + mu * np.eye(r)
    rhs = np.einsum("cmqi,cmq->mqi", e_mat.conj(), data)
    x = np.linalg.solve(normal, rhs[..., None])[..., 0]
    x = np.where(support, x, 0)
    return _ungroup(x, axis).astype(np.complex64)


def pseudo_replica_gfactor(
    recon: Callable[[np.ndarray, np.ndarray, np.ndarray], ArrayLike],
    kspace: ArrayLike,
    mask: ArrayLike,
    sens: ArrayLike,
    *,
    n_replicas: int = 32,
    noise_std: float | None = None,
    seed: int | np.random.Generator | None = 0,
) -> np.ndarray:
    """g-factor map of any reconstruction by the pseudo multiple replica method.

    For ``i = 1..n_replicas`` draw white complex Gaussian noise ``n_i`` (C, H, W), standard
    deviation ``noise_std`` per sample (real and imaginary parts ``noise_std / sqrt(2)``
    each), and reconstruct

    - accelerated: ``x_i = recon((kspace + n_i) * mask, mask, sens)``,
    - fully sampled: ``f_i = recon(kspace + n_i, ones, sens)`` (the same noise draws);

    then, pixel by pixel, with ``std`` the sample standard deviation over the replicas
    (``ddof=1``; of complex values ``sqrt(sum |x_i - mean|^2 / (n - 1))``),

    ``g = std(x) / (std(f) * sqrt(R_eff))``,  ``R_eff = H * W / mask.sum()``

    (the achieved acceleration, so that a reconstruction that only loses samples has g = 1;
    calibration lines count as acquired). For a linear reconstruction the signal does not
    matter, so ``kspace`` may be the fully sampled data or the undersampled data (zeros at
    unsampled points); for a nonlinear one, pass fully sampled k-space.

    Args:
        recon: ``recon(kspace (C, H, W), mask (H, W) bool, sens (C, H, W)) -> image (H, W)``,
            complex or real; e.g. :func:`sense_unfold`, or a closure around
            :func:`recon_core.recon.least_squares.reconstruct_cg` (``lambda k, m, s:
            reconstruct_cg(k, m, s, max_iter=50).image``), or GRAPPA's RSS image.
        kspace: complex (C, H, W), centred.
        mask: bool (H, W), the accelerated sampling.
        sens: complex (C, H, W) maps, passed to ``recon``; they also define the support.
        n_replicas: number of noise draws (>= 2); the estimate's relative error per pixel is
            about ``1 / sqrt(n_replicas)``.
        noise_std: noise added per k-space sample; None takes 1 % of the RMS magnitude of the
            acquired samples of ``kspace``. The level cancels for a linear reconstruction.
        seed: seed or ``np.random.Generator`` for the noise (the global state is untouched).

    Returns:
        float32 (H, W); NaN outside the maps' support and where the fully sampled
        reconstruction has no noise.

    Raises:
        ValueError: bad shapes, an empty mask, ``n_replicas < 2``, ``noise_std <= 0``, a
            reconstruction that does not return an (H, W) image.

    :Examples:

    >>> import numpy as np
    >>> from recon_core.coils import simulate_multicoil
    >>> k, s = simulate_multicoil(np.ones((16, 16)), n_coils=4)
    >>> m = np.zeros((16, 16), bool); m[:, ::2] = True
    >>> g = pseudo_replica_gfactor(sense_unfold, k, m, s, n_replicas=64)
    >>> ga = sense_gfactor(s, 2)
    >>> bool(abs(np.median(g / ga) - 1) < 0.15)
    True
    """
    if not callable(recon):
        raise ValueError(f"recon must be callable, got {type(recon).__name__}")
    s = _maps(sens).astype(np.complex64)
    k = as_array(kspace, "kspace", min_ndim=3).astype(np.complex64)
    if k.shape != s.shape:
        raise ValueError(f"kspace {k.shape} does not match sens {s.shape}")
    m = as_mask(mask, k.shape)
    if m.ndim != 2:
        raise ValueError(f"mask must have shape (H, W), got {m.shape}")
    n_acq = int(np.count_nonzero(m))
    if n_acq == 0:
        raise ValueError("mask has no samples")
    n = check_int(n_replicas, "n_replicas", minimum=2)
    if noise_std is None:
        level = 0.01 * float(np.sqrt(np.mean(np.abs(k[:, m]) ** 2)))
        sigma = level if level > 0 else 1.0
    else:
        sigma = check_positive(noise_std, "noise_std")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    full = np.ones_like(m)
    hw = m.shape

    def run(data: np.ndarray, msk: np.ndarray) -> np.ndarray:
        img = np.asarray(recon(data, msk, s))
        if img.shape != hw:
            raise ValueError(f"recon returned shape {img.shape}, expected an image {hw}")
        return img.astype(np.complex128)

    acc = np.empty((n,) + hw, np.complex128)
    ref = np.empty((n,) + hw, np.complex128)
    for i in range(n):
        noise = (sigma / np.sqrt(2)) * (rng.standard_normal(k.shape)
                                        + 1j * rng.standard_normal(k.shape))
        noisy = (k + noise).astype(np.complex64)
        acc[i] = run(np.where(m, noisy, 0).astype(np.complex64), m)
        ref[i] = run(noisy, full)
    std_acc = np.std(acc, axis=0, ddof=1)
    std_ref = np.std(ref, axis=0, ddof=1)
    r_eff = m.size / n_acq
    power = np.sum(np.abs(s.astype(np.complex128)) ** 2, axis=0)
    support = power > _SUPPORT_EPS * max(float(power.max()), np.finfo(float).tiny)
    ok = support & (std_ref > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        g = std_acc / (std_ref * np.sqrt(r_eff))
    return np.where(ok, g, np.nan).astype(np.float32)
