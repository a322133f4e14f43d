"""Settings of the TV solvers: one small frozen dataclass per method, defaults documented once.

:Examples:

>>> cfg = resolve_config("admm", None, max_iter=50, tol=None)
>>> cfg.max_iter, cfg.rho_factor
(50, 20.0)
>>> resolve_config("lbfgs", None, None, None)
Traceback (most recent call last):
...
ValueError: unknown TV method 'lbfgs'; choose one of admm, pdhg, gradient
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from recon_core.checks import check_int, check_positive

__all__ = ["DEFAULT_LAM", "METHODS", "IterativeConfig", "AdmmConfig", "PdhgConfig", "GradientConfig", "SolverConfig",
           "resolve_config"]

#: Default regularisation weight for images whose magnitude has max 1 (the app's normalisation)
#: and orthonormal k-space. Chosen on noiseless 256x256 Shepp–Logan at 4x (see README).
DEFAULT_LAM: float = 1e-3

METHODS: tuple[str, ...] = ("admm", "pdhg", "gradient")


@dataclass(frozen=True)
class IterativeConfig:
    """What every solver's settings hold.

    Attributes:
        max_iter: maximum number of iterations.
        tol: stop when the relative change of the image ``||x_k - x_{k-1}|| / ||x_k||`` falls
            below ``tol`` (0 disables the test).
    """

    max_iter: int = 100
    tol: float = 0.0


@dataclass(frozen=True)
class AdmmConfig(IterativeConfig):
    """Settings of the ADMM / split-Bregman solver (``max_iter`` 100, ``tol`` as in
    :class:`IterativeConfig`).

    Attributes:
        rho: penalty parameter; ``None`` means ``rho_factor * lam``.
        rho_factor: default ``rho`` relative to ``lam``.
        relaxation: over-relaxation factor alpha in [1, 2) (1 = plain ADMM).
        adaptive_rho: residual balancing (Boyd et al. 2011, sec. 3.4.1): rho is doubled or
            halved when the primal and dual residuals differ by more than a factor 10.
        cg_iter: conjugate-gradient steps per x-update when the forward model's normal
            operator is not diagonal in k-space (multi-coil data, and non-Cartesian data);
            Cartesian single-coil data need none: their x-update is exact. ``None``: 2 when the
            circulant preconditioner below applies, 4 otherwise.
        coil_split: for multi-coil SENSE data, split the coil images off
            (:mod:`recon_core.recon.admm_split`): exact k-space steps instead of ``cg_iter`` CG
            steps, about a quarter of the FFTs per iteration. Not combined with ``adaptive_rho``
            (that falls back to the CG x-update).
        split_rho_factor: ``coil_split``'s default ``rho`` relative to ``lam`` (its best
            value differs from the plain ADMM's ``rho_factor``; chosen on simulated 8-coil
            problems with ESPIRiT maps, see :mod:`recon_core.recon.admm_split`).
        mu_factor: ``coil_split``'s penalty of the coil-image constraint, relative to ``rho``.
        relax_coils: over-relax the coil-image constraint too (with ``relaxation``).
        pcg_iter: preconditioned CG steps of ``coil_split``'s x-update when the maps are not
            normalised everywhere (ESPIRiT maps are zero outside their support); None: half
            the number of coils, between 1 and 4 (each step costs an image FFT pair, so with few
            coils they would cost more than the coil FFTs: on the 2-coil twix scan 1 step
            converges as fast as 4, at 1.5 instead of 2.6 ms per iteration).
        circulant_precond: precondition the CG x-update of single-coil NUFFT data with the
            inverse of a circulant approximation of ``A^H A + rho D^H D`` (one FFT pair per
            step; multi-coil and Cartesian data ignore it). On 256² analytic Shepp–Logan, 64
            golden-angle spokes, SNR 30 dB, λ = 3.24e-3, ``cg_iter=2`` with it reached 38.7 /
            39.6 dB after 25 / 50 iterations (50 in 0.43 s) against 29.4 / 33.0 dB (50 in
            0.53 s) for 4 plain CG steps; both end at 39.7 dB.
    """

    rho: float | None = None
    rho_factor: float = 20.0
    relaxation: float = 1.5
    adaptive_rho: bool = False
    cg_iter: int | None = None
    coil_split: bool = True
    split_rho_factor: float = 100.0
    mu_factor: float = 0.5
    relax_coils: bool = True
    pcg_iter: int | None = None
    circulant_precond: bool = True


@dataclass(frozen=True)
class PdhgConfig(IterativeConfig):
    """Settings of the Chambolle–Pock primal–dual solver (``max_iter`` 1000, ``tol`` as in
    :class:`IterativeConfig`).

    Attributes:
        tau: primal step; ``None`` gives ``tau_factor / sqrt(8)``. The dual step is
            ``sigma = 1 / (8 tau)`` so that ``tau * sigma * ||D||^2 <= 1``.
        tau_factor: default primal step relative to ``1 / ||D|| = 1 / sqrt(8)``.
        theta: extrapolation parameter (1 is the standard choice).
    """

    max_iter: int = 1000
    tau: float | None = None
    tau_factor: float = 10.0
    theta: float = 1.0


@dataclass(frozen=True)
class GradientConfig(IterativeConfig):
    """Settings of the tutorial's gradient-descent solver (Keras optimizer on autodiff;
    ``max_iter`` 300 optimizer steps, ``tol`` as in :class:`IterativeConfig`).

    Attributes:
        optimizer: ``"adam"`` or ``"sgd"``.
        learning_rate: the optimizer's step size.
        momentum: momentum for SGD.
        eps: smoothing of the TV norm, ``sqrt(|Dx|^2 + eps^2)``, so the gradient exists at 0.
    """

    max_iter: int = 300
    optimizer: str = "adam"
    learning_rate: float = 5e-3
    momentum: float = 0.0
    eps: float = 1e-3


#: Any of the three settings types.
SolverConfig = AdmmConfig | PdhgConfig | GradientConfig
CONFIG_TYPES: dict[str, type] = {"admm": AdmmConfig, "pdhg": PdhgConfig, "gradient": GradientConfig}



def resolve_config(method: str, config: SolverConfig | None, max_iter: int | None,
                   tol: float | None) -> SolverConfig:
    """The checked settings for ``method``: ``config`` (or the defaults) with overrides.

    Raises:
        ValueError: unknown method, a config of another method's type, or a bad value.
    """
    if method not in CONFIG_TYPES:
        raise ValueError(f"unknown TV method {method!r}; choose one of {', '.join(METHODS)}")
    cls = CONFIG_TYPES[method]
    if config is None:
        config = cls()
    elif not isinstance(config, cls):
        raise ValueError(
            f"method {method!r} needs a {cls.__name__}, got {type(config).__name__}"
        )
    if max_iter is not None:
        config = replace(config, max_iter=check_int(max_iter, "max_iter", minimum=1))
    if tol is not None:
        config = replace(config, tol=check_positive(tol, "tol", allow_zero=True))
    check_int(config.max_iter, "max_iter", minimum=1)
    check_positive(config.tol, "tol", allow_zero=True)
    if isinstance(config, AdmmConfig):
        if config.rho is not None:
            check_positive(config.rho, "rho")
        check_positive(config.rho_factor, "rho_factor")
        if not 1.0 <= config.relaxation < 2.0:
            raise ValueError(f"relaxation must be in [1, 2), got {config.relaxation}")
        if config.cg_iter is not None:
            check_int(config.cg_iter, "cg_iter", minimum=1)
        check_positive(config.split_rho_factor, "split_rho_factor")
        check_positive(config.mu_factor, "mu_factor")
        if config.pcg_iter is not None:
            check_int(config.pcg_iter, "pcg_iter", minimum=1)
    elif isinstance(config, PdhgConfig):
        if config.tau is not None:
            check_positive(config.tau, "tau")
        check_positive(config.tau_factor, "tau_factor")
        if not 0.0 <= config.theta <= 1.0:
            raise ValueError(f"theta must be in [0, 1], got {config.theta}")
    else:
        if config.optimizer not in ("adam", "sgd"):
            raise ValueError(f"optimizer must be 'adam' or 'sgd', got {config.optimizer!r}")
        check_positive(config.learning_rate, "learning_rate")
        check_positive(config.momentum, "momentum", allow_zero=True)
        check_positive(config.eps, "eps")
    return config
