r"""Choosing the TV weight λ from the data: ``lam="auto"``.

**The rule.** With :math:`\sigma` the standard deviation of the complex noise of one k-space
sample (orthonormal FFT, so also of one image pixel of fully sampled data),

.. math::

    \lambda_\text{auto} = \max\big(c\,\sigma\,a,\; \lambda_\text{floor}\,s\big), \qquad
    c = 0.3,\quad \lambda_\text{floor} = 10^{-4},

where :math:`a^2` is the mean of :math:`\sum_c |S_c|^2` over the maps' support (1 for
single-coil data and for normalised maps: scaling the maps by :math:`a` scales the best λ by
:math:`a`) and :math:`s` the 99th percentile of the zero-filled (root-sum-of-squares)
magnitude, a floor for noiseless data where the rule alone would give λ = 0.

**Where c comes from.** The best λ of a fine grid (``benchmarks/auto_lambda.py``) on 24
single-coil cases (Shepp–Logan and random ellipses, 256², random 4× and 8×, equispaced 4×,
2-D Poisson 6×, k-space SNR 40/30/20 dB) lay between 0.23 σ and 0.41 σ in every case,
independent of the acceleration and of the SNR: the TV weight scales with the noise, as for
ROF denoising. 0.3 is the geometric middle. The same benchmark checks multi-coil SENSE-TV
(simulated 8- and 16-coil data with ESPIRiT maps, and the shipped 2-coil twix scan with its
own noise).

**σ, in this order:** ``noise_std`` when the caller knows it (synthetic data); a noise scan's
samples (``noise``, (C, N): ``sqrt(mean diag Ψ)``); otherwise the acquired samples in the four
corners of k-space (:func:`recon_core.coil_noise.corner_samples`), robustly: the median of
:math:`|k|` over :math:`\sqrt{\ln 2}` (the median of a complex Gaussian's magnitude), which
ignores the few corner samples that still hold signal. For objects whose k-space is still
above the noise in the corners (noiseless or nearly noiseless synthetic phantoms with sharp
edges) the corner estimate is an upper bound of the noise and λ comes out too large: pass
``noise_std`` then.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

from recon_core.checks import as_array, as_mask, check_positive

__all__ = ["AUTO_RATIO", "LAMBDA_FLOOR", "NONCARTESIAN_NOISE", "NONCARTESIAN_ALIAS", "AutoLambda",
           "noise_level", "auto_lambda", "auto_lambda_noncartesian", "samples_per_cell"]

#: c of the rule: λ = c σ a (module docstring).
AUTO_RATIO = 0.3
#: λ is at least this times the 99th percentile of the zero-filled magnitude.
LAMBDA_FLOOR = 1e-4
#: A noise scan and the corner estimate disagreeing by more than this factor is reported.
DISAGREE = 3.0


@dataclass(frozen=True)
class AutoLambda:
    """The automatic TV weight and how it was found.

    Attributes:
        lam: the weight.
        sigma: the noise standard deviation per complex k-space sample it is based on.
        source: where sigma came from: ``"given"``, ``"noise scan"`` or ``"k-space corners"``.
        signal: the 99th percentile of the zero-filled magnitude (the floor's scale).
        map_scale: ``a`` of the rule (1 for normalised maps and single-coil data).
        floored: True when the floor, not the noise, set λ.
        notes: anything a user should know (estimates that disagree, a floor).
        floor_ratio: the floor's factor (:data:`LAMBDA_FLOOR`).
        rule: how λ followed from σ and the signal, when not by the Cartesian rule (the
            non-Cartesian rule fills it in); :meth:`describe` shows it.
    """

    lam: float
    sigma: float
    source: str
    signal: float
    map_scale: float = 1.0
    floored: bool = False
    notes: list[str] = field(default_factory=list)
    floor_ratio: float = LAMBDA_FLOOR
    rule: str = ""

    def describe(self) -> str:
        """One line for the UI: the value, the rule and the noise it came from."""
        if self.rule:
            return f"λ = {self.lam:.3g} ({self.rule})"
        how = (f"floor {self.floor_ratio:g} × signal" if self.floored
               else f"{AUTO_RATIO:g} × noise σ {self.sigma:.3g} ({self.source})")
        return f"λ = {self.lam:.3g} ({how})"


def _corner_sigma(k: np.ndarray, mask: np.ndarray) -> float:
    from recon_core.coil_noise import corner_samples

    s = corner_samples(k, mask)
    if s.shape[1] == 0:
        raise ValueError("no acquired k-space samples to estimate the noise from")
    med = np.median(np.abs(s), axis=1) / np.sqrt(np.log(2.0))
    return float(np.sqrt(np.mean(med**2)))


def noise_level(kspace: ArrayLike, mask: ArrayLike | None = None, *, noise: ArrayLike | None = None,
                noise_std: float | None = None) -> tuple[float, str, list[str]]:
    """The noise standard deviation per complex k-space sample: ``(sigma, source, notes)``.

    Args:
        kspace: complex (H, W) or (C, H, W), centred; zero where not acquired.
        mask: bool (H, W) of acquired points (default: non-zero in any coil).
        noise: noise-scan samples, complex (C, N), on the same scale as ``kspace``.
        noise_std: a known sigma (wins over everything else).

    Raises:
        ValueError: a negative ``noise_std``, a noise scan with the wrong number of coils, or
            no samples to estimate from.
    """
    if noise_std is not None:
        return check_positive(noise_std, "noise_std", allow_zero=True), "given", []
    k = as_array(kspace, "kspace")
    k = k[None] if k.ndim == 2 else k
    if k.ndim != 3:
        raise ValueError(f"kspace must be (H, W) or (C, H, W), got shape {k.shape}")
    m = np.any(k != 0, axis=0) if mask is None else as_mask(mask, k.shape[-2:])
    notes: list[str] = []
    if noise is not None:
        n = as_array(noise, "noise samples", min_ndim=1)
        n = n[None] if n.ndim == 1 else n
        if n.ndim != 2 or n.shape[0] != k.shape[0]:
            raise ValueError(f"noise samples {n.shape} do not match {k.shape[0]} coil(s): expected "
                             f"({k.shape[0]}, N)")
        if n.shape[1] < 2:
            raise ValueError("a noise scan needs at least 2 samples per coil")
        sigma = float(np.sqrt(np.mean(np.abs(n.astype(np.complex128)) ** 2)))
        try:
            corner = _corner_sigma(k, m)
        except ValueError:
            corner = None
        if corner and sigma > 0 and not 1 / DISAGREE < corner / sigma < DISAGREE:
            notes.append(f"the noise scan's level ({sigma:.3g}) and the k-space corners' "
                         f"({corner:.3g}) differ by more than {DISAGREE:g}×: the noise scan may "
                         "have another bandwidth or scale")
        return sigma, "noise scan", notes
    return _corner_sigma(k, m), "k-space corners", notes


def auto_lambda(kspace: ArrayLike, mask: ArrayLike | None = None, *, sens: ArrayLike | None = None,
                noise: ArrayLike | None = None, noise_std: float | None = None) -> AutoLambda:
    """λ for :func:`recon_core.recon.driver.reconstruct_tv` by the rule of the module docstring.

    Args:
        kspace: complex (H, W), or (C, H, W) with ``sens``; centred, zero where not acquired.
        mask: bool (H, W) of sampled points (default: non-zero in any coil).
        sens: coil maps (C, H, W) of a SENSE reconstruction (their scale enters the rule).
        noise, noise_std: see :func:`noise_level`.

    Deterministic: the same data give the same λ.

    :Examples:

    >>> import numpy as np
    >>> from recon_core.noise import add_noise
    >>> from recon_core.ops.fft import fft2c
    >>> k = add_noise(fft2c(np.ones((128, 128))), 20.0, seed=0)   # sigma = 0.1
    >>> m = np.zeros((128, 128), bool); m[:, ::2] = True
    >>> round(auto_lambda(k * m, m, noise_std=0.1).lam, 6)
    0.03
    >>> round(auto_lambda(k * m, m).sigma, 1)   # from the corners: noise only there
    0.1
    """
    k = as_array(kspace, "kspace")
    sigma, source, notes = noise_level(k, mask, noise=noise, noise_std=noise_std)
    kk = k[None] if k.ndim == 2 else k
    m = np.any(kk != 0, axis=0) if mask is None else as_mask(mask, kk.shape[-2:])
    ax = (-2, -1)  # the centred orthonormal inverse FFT, in NumPy (no TensorFlow needed here)
    coil_images = np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(kk * m, axes=ax), norm="ortho"), axes=ax)
    zf = np.sqrt(np.sum(np.abs(coil_images) ** 2, axis=0))
    signal = float(np.percentile(zf, 99))
    a = 1.0
    if sens is not None:
        s = as_array(sens, "sens")
        s = s[0] if s.ndim == 4 else s  # sets of maps: the first set carries the image
        power = np.sum(np.abs(s) ** 2, axis=0)
        inside = power > 1e-6 * max(float(power.max()), 1e-30)
        if not inside.any():
            raise ValueError("sensitivity maps are all zero")
        a = float(np.sqrt(np.mean(power[inside])))
    lam = AUTO_RATIO * sigma * a
    floor = LAMBDA_FLOOR * signal
    floored = lam < floor
    if floored:
        notes.append(f"the noise is below the floor's scale: λ set to {LAMBDA_FLOOR:g} × the signal")
        lam = floor
    return AutoLambda(float(lam), float(sigma), source, signal, a, bool(floored), notes)


#: c_noise of the non-Cartesian rule λ = a (K/N) (c_noise σ + c_alias s)
#: (:func:`auto_lambda_noncartesian`).
NONCARTESIAN_NOISE = 0.25
#: c_alias of the non-Cartesian rule: the undersampling artefact acts as noise proportional to
#: the image, so λ keeps a share of the signal when the data are noiseless.
NONCARTESIAN_ALIAS = 0.025
#: Non-Cartesian samples at least this far out (fraction of the k-space radius) estimate σ.
EDGE_RADIUS = 0.9


def samples_per_cell(coord: ArrayLike, shape) -> float:
    """The mean number of samples per occupied Cartesian k-space cell (1 for grid points).

    A description of a trajectory beside its samples per pixel K/N: radial spokes with a 2×
    oversampled readout sample each occupied cell about twice. (An earlier automatic λ
    scaled with ``sqrt(rho)``; ``benchmarks/auto_lambda_noncartesian.py`` compares both.)
    """
    from recon_core.ops.nonuniform import check_coord

    h, w = (int(v) for v in shape)
    c = check_coord(coord, (h, w))
    cells = np.floor(c + 0.5).astype(np.int64)
    n_cells = len(np.unique(cells[:, 0] * (2 * w + 1) + cells[:, 1]))
    return float(c.shape[0] / max(n_cells, 1))


def auto_lambda_noncartesian(samples: ArrayLike, traj, *, sens: ArrayLike | None = None,
                             noise: ArrayLike | None = None, noise_std: float | None = None
                             ) -> AutoLambda:
    r"""λ for non-Cartesian data (``traj`` with ``points`` (K, 2) and ``shape`` (H, W)).

    .. math::

        \lambda = a\,\frac{K}{N}\,\big(c_n\,\sigma + c_a\,s\big), \qquad
        c_n = 0.25,\quad c_a = 0.025,

    with K the samples per coil, N = H·W the pixels, σ the noise standard deviation per
    complex sample, s the 99th percentile of the (root-sum-of-squares) gridding image and a
    the maps' scale (as for :func:`auto_lambda`). K/N is the least-squares term's weight per
    pixel (its curvature grows with the number of samples while TV's does not); the second
    term is the undersampling artefact, which TV must remove like noise and which is
    proportional to the image, so λ stays useful for noiseless data.

    **Where it comes from.** ``benchmarks/auto_lambda_noncartesian.py`` found the best λ of a
    fine grid on 56 cases (analytic Shepp–Logan and random ellipses, 128² and 256²,
    golden-angle and uniform radial with 24–96 spokes, uniform and variable-density spirals,
    8 coils, SNR 40/30/20 dB and noiseless; 150 ADMM iterations) and fitted the two constants
    by the least mean PSNR loss. Rerun with this rule, ``lam="auto"`` is 0.32 dB below the
    best λ on average and 1.21 dB at worst with the known σ (0.35 / 1.90 dB with σ estimated
    from the samples), against 3.76 / 12.26 dB (1.06 / 4.08 dB) for the
    rule before it (0.3 σ √ρ, ρ samples per occupied grid cell, floored at 10⁻³ s). The best λ is
    nearly independent of the SNR down to 20 dB: with these trajectories the artefact, not
    the noise, sets it.

    σ is ``noise_std``, a noise scan's, or estimated from the samples beyond
    :data:`EDGE_RADIUS` of the k-space radius (the outermost 5 % of samples when none lie
    there), robustly as for the Cartesian corners. Sharp-edged phantoms still hold signal
    there, so the estimate is an upper bound; the rule was checked with it (above).

    Args:
        samples: complex (K,) or (C, K) in the trajectory's order.
        traj: the trajectory.
        sens, noise, noise_std: as for :func:`auto_lambda`.
    """
    from recon_core.ops.nonuniform import check_coord, nufft_adjoint

    shape = tuple(int(v) for v in traj.shape)
    c = check_coord(traj.points, shape)
    k = as_array(samples, "samples", min_ndim=1)
    kk = k[None] if k.ndim == 1 else k
    notes: list[str] = []
    if noise_std is not None:
        sigma, source = check_positive(noise_std, "noise_std", allow_zero=True), "given"
    elif noise is not None:
        n = as_array(noise, "noise samples", min_ndim=1)
        n = n[None] if n.ndim == 1 else n
        if n.ndim != 2 or n.shape[0] != kk.shape[0] or n.shape[1] < 2:
            raise ValueError(f"noise samples {n.shape} do not match {kk.shape[0]} coil(s): expected "
                             f"({kk.shape[0]}, N), N >= 2")
        sigma, source = float(np.sqrt(np.mean(np.abs(n.astype(np.complex128)) ** 2))), "noise scan"
    else:
        radius = np.sqrt((c[:, 0] / (shape[0] / 2)) ** 2 + (c[:, 1] / (shape[1] / 2)) ** 2)
        edge = radius >= EDGE_RADIUS
        if edge.sum() < 16:
            edge = radius >= np.quantile(radius, 0.95)
        med = np.median(np.abs(kk[:, edge]), axis=1) / np.sqrt(np.log(2.0))
        sigma, source = float(np.sqrt(np.mean(med**2))), "k-space edge"
    from recon_core.dcf import dcf

    w = np.asarray(dcf(traj, method="auto"), np.float64).reshape(-1)
    gridded = nufft_adjoint(kk * w, c, shape)
    signal = float(np.percentile(np.sqrt(np.sum(np.abs(gridded) ** 2, axis=0)), 99))
    a = 1.0
    if sens is not None:
        sm = as_array(sens, "sens")
        power = np.sum(np.abs(sm) ** 2, axis=0)
        inside = power > 1e-6 * max(float(power.max()), 1e-30)
        if not inside.any():
            raise ValueError("sensitivity maps are all zero")
        a = float(np.sqrt(np.mean(power[inside])))
    per_pixel = kk.shape[-1] / float(shape[0] * shape[1])
    noise_term, alias_term = NONCARTESIAN_NOISE * sigma, NONCARTESIAN_ALIAS * signal
    lam = a * per_pixel * (noise_term + alias_term)
    if noise_term < alias_term:
        notes.append("the undersampling artefact, not the noise, sets λ "
                     f"({NONCARTESIAN_ALIAS:g} × signal > {NONCARTESIAN_NOISE:g} × σ)")
    scale = f"{a:.3g} × " if abs(a - 1.0) > 1e-3 else ""
    rule = (f"{scale}K/N {per_pixel:.3g} × ({NONCARTESIAN_NOISE:g} × noise σ {sigma:.3g} "
            f"({source}) + {NONCARTESIAN_ALIAS:g} × signal {signal:.3g})")
    return AutoLambda(float(lam), float(sigma), source, signal, a, False, notes, rule=rule)
