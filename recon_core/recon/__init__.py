"""Reconstructions: zero-filled, and TV solvers written once over operators.

================================  =====================================================
:mod:`~recon_core.recon.zerofill`  zero-filled inverse FFT
:mod:`~recon_core.recon.configs`   solver settings (``AdmmConfig``, ...) and ``DEFAULT_LAM``
:mod:`~recon_core.recon.records`   per-iteration status and results
:mod:`~recon_core.recon.inputs`    validation of user inputs
:mod:`~recon_core.recon.problem`   the problem as operators (``A``, ``D``, data, start)
:mod:`~recon_core.recon.admm`      ADMM (exact FFT-diagonal x-update, or CG)
:mod:`~recon_core.recon.pdhg`      Chambolle–Pock primal–dual
:mod:`~recon_core.recon.gradient`  autodiff + Keras optimizer (the tutorial's way)
:mod:`~recon_core.recon.cg`        conjugate gradient
:mod:`~recon_core.recon.least_squares`  CG-SENSE / least squares with Tikhonov
:mod:`~recon_core.recon.driver`    ``reconstruct_tv`` and ``tv_iterations``
:mod:`~recon_core.recon.objective`  the objective in NumPy, for checks
:mod:`~recon_core.recon.lambda_sweep`  choosing λ by a sweep
:mod:`~recon_core.recon.auto_lambda`  choosing λ from the noise level (``lam="auto"``)
:mod:`~recon_core.recon.admm_split`   ADMM with the coil images split off (SENSE)
:mod:`~recon_core.recon.grappa`    GRAPPA (k-space interpolation from a calibration block)
:mod:`~recon_core.recon.grid_recon`  gridding: density-compensated adjoint NUFFT (non-Cartesian)
================================  =====================================================

Only the driver imports the solvers; solvers import operators; nothing imports upwards.
"""

from __future__ import annotations

from recon_core.lazy import lazy_exports as _lazy_exports

_WHERE = {
    **dict.fromkeys(["DEFAULT_LAM", "METHODS", "AdmmConfig", "PdhgConfig", "GradientConfig",
                     "SolverConfig"], "recon_core.recon.configs"),
    **dict.fromkeys(["IterationRecord", "ImageSnapshot", "TVResult"], "recon_core.recon.records"),
    **dict.fromkeys(["reconstruct_tv", "tv_iterations"], "recon_core.recon.driver"),
    **dict.fromkeys(["reconstruct_cg", "CGResult"], "recon_core.recon.least_squares"),
    "tv_objective": "recon_core.recon.objective",
    **dict.fromkeys(["LambdaSweepPoint", "sweep_lambda"], "recon_core.recon.lambda_sweep"),
    "zero_filled": "recon_core.recon.zerofill",
    # auto_lambda() and grappa() are not listed: their modules have the same names and would
    # shadow them once imported (recon_core exports both functions at the top).
    **dict.fromkeys(["AUTO_RATIO", "AutoLambda"], "recon_core.recon.auto_lambda"),
    "GrappaResult": "recon_core.recon.grappa",
    "check_problem": "recon_core.recon.inputs",
    **dict.fromkeys(["gridding", "GriddingResult"], "recon_core.recon.grid_recon"),
    "auto_lambda_noncartesian": "recon_core.recon.auto_lambda",
}
__all__ = sorted(_WHERE)
__getattr__, __dir__ = _lazy_exports(__name__, _WHERE)
