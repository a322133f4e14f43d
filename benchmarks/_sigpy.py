"""SigPy bridge for the benchmarks: ``sigpy.mri.app.TotalVariationRecon`` on one coil.

SigPy's recipe solves

    min_x 1/2 || P F S x - y ||^2 + lamda || G x ||_1

with ``F`` the centred orthonormal FFT (``sigpy.fft``; :func:`check_fft_convention` confirms
``Sense`` with ``mps = 1`` equals :func:`recon_core.fft2c`), ``G`` periodic finite differences
(``sigpy.linop.FiniteDifference``) and ``|| . ||_1`` the element-wise L1 norm
(``sigpy.prox.L1Reg`` soft-thresholds each gradient component on its own). That is
*anisotropic* TV, ``sum |D_v x| + |D_h x|``, while ours and BART's are isotropic,
``sum sqrt(|D_v x|^2 + |D_h x|^2)``: with the same lamda SigPy regularises a little more
strongly and converges to a slightly different image. ``weights`` scales the residual by
``sqrt(weights)``, which for a 0/1 mask is the mask itself.

The solver is SigPy's primal-dual hybrid gradient (PDHG). Its default steps are ``sigma = 1``
and ``tau = 1 / max_eig(A^H A + G^H G)`` (30 power iterations at start-up, counted in every
timed run because a user pays them on every call); ``sigma`` is the knob we tune.

This module is for benchmarks only; nothing in ``recon_core`` or ``pages`` imports it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["sigpy_version", "check_fft_convention", "SigpyTV"]


def _import():
    try:
        import sigpy
        import sigpy.mri
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("sigpy is required for this peer: pip install sigpy") from err
    return sigpy


def sigpy_version() -> str:
    """Installed SigPy version, or ``"missing"``."""
    try:
        return _import().__version__
    except ImportError:
        return "missing"


def check_fft_convention(fft2c, shape: tuple[int, int] = (8, 6)) -> float:
    """Max abs difference between SigPy's ``Sense`` (one coil of ones) and ``fft2c``."""
    sp = _import()
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex64)
    sense = sp.mri.linop.Sense(np.ones((1, *shape), np.complex64))
    return float(np.max(np.abs(sense(x)[0] - fft2c(x))))


# --------------------------------------------------------------------------------------------
# Multi-coil: ESPIRiT maps and SENSE-TV with coil maps (added for multicoil_vs_peers.py)
# --------------------------------------------------------------------------------------------

__all__ += ["check_sense_convention", "espirit_calib", "SigpySenseTV"]


def check_sense_convention(fft2c, shape: tuple[int, int, int] = (3, 8, 6)) -> float:
    """Max abs difference between SigPy's ``Sense(mps)`` and ``fft2c(mps * x)`` per coil."""
    sp = _import()
    rng = np.random.default_rng(0)
    c, h, w = shape
    z = lambda *s: (rng.standard_normal(s) + 1j * rng.standard_normal(s)).astype(np.complex64)  # noqa: E731
    mps, x = z(c, h, w), z(h, w)
    return float(np.max(np.abs(sp.mri.linop.Sense(mps)(x) - fft2c(mps * x))))


def espirit_calib(kspace: np.ndarray, calib_width: int, **kwargs) -> np.ndarray:
    """``sigpy.mri.app.EspiritCalib`` (defaults otherwise) on (C, H, W) k-space: maps (C, H, W).

    SigPy takes one ``calib_width``: the calibration block is the centred
    ``calib_width x calib_width`` square (``sigpy.resize``, centred on N // 2 like ours). Its
    defaults: kernel 6, threshold 0.02, crop 0.95, 100 power iterations; the phase is made
    relative to coil 0.
    """
    sp = _import()
    app = sp.mri.app.EspiritCalib(np.asarray(kspace, np.complex64), calib_width=int(calib_width),
                                  show_pbar=False, **kwargs)
    return np.asarray(app.run(), np.complex64)


class SigpySenseTV:
    """``TotalVariationRecon`` with coil maps (SENSE-TV, PDHG), ``max_iter`` chosen per call.

    Args:
        kspace: complex (C, H, W), centred, orthonormal.
        mask: bool (H, W), the same for every coil (``weights``).
        maps: complex (C, H, W) coil maps (``mps``).
        lam: TV weight (SigPy's ``lamda``; its TV is anisotropic, see the module docstring).
        sigma: PDHG dual step; None keeps SigPy's default (1).
    """

    def __init__(self, kspace: np.ndarray, mask: np.ndarray, maps: np.ndarray, lam: float,
                 sigma: float | None = None) -> None:
        self._sp = _import()
        k = np.asarray(kspace)
        if k.ndim != 3 or k.shape[1:] != mask.shape or np.shape(maps) != k.shape:
            raise ValueError(f"kspace {k.shape}, maps {np.shape(maps)} must be (C, H, W) and "
                             f"mask {mask.shape} (H, W)")
        self.y = (k * mask).astype(np.complex64)
        self.mps = np.asarray(maps, np.complex64)
        self.weights = mask.astype(np.float32)
        self.lam = float(lam)
        self.sigma = sigma

    def _app(self, n_iter: int):
        kwargs = {} if self.sigma is None else {"sigma": self.sigma}
        return self._sp.mri.app.TotalVariationRecon(
            self.y, self.mps, self.lam, weights=self.weights, max_iter=int(n_iter),
            show_pbar=False, **kwargs)

    def __call__(self, n_iter: int) -> np.ndarray:
        """Run ``n_iter`` PDHG iterations; returns complex64 (H, W), centred."""
        return np.asarray(self._app(n_iter).run())

    def psnr_curve(self, n_iter: int, score: Callable[[np.ndarray], float]) -> np.ndarray:
        """``score`` of the iterate after each of ``n_iter`` iterations (same iterates as run)."""
        app = self._app(n_iter)
        out = np.empty(n_iter)
        for k in range(n_iter):
            app.alg.update()
            out[k] = score(app.x)
        return out

    def objective_curve(self, n_iter: int, evaluate: Callable[[np.ndarray], float],
                        every: int = 1) -> tuple[list[float], float, float]:
        """``evaluate`` of the iterate after every ``every``-th of ``n_iter`` iterations.

        Returns ``(values, stepping seconds, set-up seconds)``; the evaluations are not timed.
        """
        import time

        t0 = time.perf_counter()
        app = self._app(n_iter)
        setup = time.perf_counter() - t0
        values, stepping = [], 0.0
        for k in range(1, n_iter + 1):
            t0 = time.perf_counter()
            app.alg.update()
            stepping += time.perf_counter() - t0
            if k % every == 0:
                values.append(float(evaluate(np.asarray(app.x))))
        return values, stepping, setup


class SigpyTV(SigpySenseTV):
    """``TotalVariationRecon`` on one coil of ones, ``max_iter`` chosen per call.

    Args:
        kspace: complex, shape (H, W), centred, orthonormal.
        mask: bool, shape (H, W).
        lam: TV weight (SigPy's ``lamda``).
        sigma: PDHG dual step; None keeps SigPy's default (1, with ``tau`` from power iteration).
    """

    def __init__(self, kspace: np.ndarray, mask: np.ndarray, lam: float,
                 sigma: float | None = None) -> None:
        if np.shape(kspace) != np.shape(mask) or np.ndim(kspace) != 2:
            raise ValueError(f"kspace {np.shape(kspace)} and mask {np.shape(mask)} must be equal (H, W)")
        k = np.asarray(kspace)[None]
        super().__init__(k, mask, np.ones(k.shape, np.complex64), lam, sigma)


# --------------------------------------------------------------------------------------------
# Non-Cartesian: NUFFT and TV with coordinates (added for noncartesian_vs_peers.py)
# --------------------------------------------------------------------------------------------
#
# SigPy's ``nufft(x, coord)`` takes coord (..., ndim) ordered like the image's last axes (so
# (ky, kx) for an (H, W) image, as ours), in cycles per FOV, centred on N // 2, and is scaled
# like our NUFFT (ratio 1 measured by noncartesian_vs_peers.check_conventions; its default
# kernel, oversampling 1.25 and width 4, gives ~1e-2 relative error).

__all__ += ["nufft_adjoint", "SigpyNufftTV"]


def nufft_adjoint(samples: np.ndarray, coord: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``sigpy.nufft_adjoint`` of samples (K,) at (K, 2) coordinates: image (H, W)."""
    sp = _import()
    return np.asarray(sp.nufft_adjoint(np.asarray(samples, np.complex64),
                                       np.asarray(coord, np.float64), tuple(shape)))


class SigpyNufftTV:
    """``TotalVariationRecon`` with ``coord`` on one coil of ones (PDHG, anisotropic TV).

    Args:
        samples: complex (K,).
        coord: (K, 2) coordinates (ky, kx), cycles per FOV.
        shape: (H, W).
        lam: TV weight (``lamda``).
        sigma: PDHG dual step; None keeps SigPy's default (1).
    """

    def __init__(self, samples, coord, shape, lam: float, sigma: float | None = None) -> None:
        self._sp = _import()
        self.y = np.asarray(samples, np.complex64)[None]
        self.coord = np.asarray(coord, np.float64)
        self.mps = np.ones((1, *tuple(shape)), np.complex64)
        self.lam = float(lam)
        self.sigma = sigma

    def _app(self, n_iter: int):
        kwargs = {} if self.sigma is None else {"sigma": self.sigma}
        return self._sp.mri.app.TotalVariationRecon(
            self.y, self.mps, self.lam, coord=self.coord, max_iter=int(n_iter),
            show_pbar=False, **kwargs)

    def __call__(self, n_iter: int) -> np.ndarray:
        return np.asarray(self._app(n_iter).run())

    def psnr_time_curve(self, n_iter: int, score: Callable[[np.ndarray], float]) -> dict:
        """Per iteration: (set-up + cumulative stepping seconds, ``score``); scoring untimed.

        Returns ``{"curve": [(seconds, score)], "setup_s", "s_per_iter", "image"}`` (the last
        iterate).

        The set-up (building the app: power iteration for ``tau``) is counted from the start,
        as a user pays it on every call.
        """
        import time

        t0 = time.perf_counter()
        app = self._app(n_iter)
        setup = time.perf_counter() - t0
        clock, curve = setup, []
        for _ in range(n_iter):
            t0 = time.perf_counter()
            app.alg.update()
            clock += time.perf_counter() - t0
            curve.append((clock, float(score(np.asarray(app.x)))))
        return {"curve": curve, "setup_s": setup,
                "s_per_iter": (clock - setup) / max(n_iter, 1), "image": np.asarray(app.x)}
