"""recon_core: the science behind MRI Recon Lab (no Streamlit in here).

Layered as the forward model reads, each layer importing only the ones before it:

* :mod:`recon_core.ops` — linear operators in TensorFlow (centred orthonormal FFT, sampling,
  coil sensitivities, finite differences, the NUFFT with its Toeplitz normal map) with
  forward, adjoint, normal and composition;
* :mod:`recon_core.masks` — sampling patterns (:mod:`~recon_core.masks.sampling`) and their
  analysis (:mod:`~recon_core.masks.analysis`); non-Cartesian trajectories
  (:mod:`recon_core.trajectories`) and their density compensation (:mod:`recon_core.dcf`);
  the analytic ellipse phantoms (:mod:`recon_core.ellipses`); :mod:`recon_core.phantoms`,
  :mod:`recon_core.coils`, :mod:`recon_core.metrics`, :mod:`recon_core.kspace_tools`;
* :mod:`recon_core.recon` — zero-filled and gridding, and solvers written once over operators (ADMM,
  PDHG, gradient, conjugate gradient) with the TV driver and the λ sweep;
* :mod:`recon_core.dl` — networks, their training data, training, cache and evaluation;
* :mod:`recon_core.io` (users' files) and :mod:`recon_core.figures` (plotly figures).

Public names are exported here lazily: ``import recon_core`` imports neither TensorFlow nor
Keras; the first function that computes with them does.

:Examples:

>>> import recon_core as rc
>>> rc.make_mask((8, 8), 2, kind="equispaced", seed=0).shape
(8, 8)
"""

from __future__ import annotations

import os as _os

from recon_core.lazy import lazy_exports as _lazy_exports

# Quiet TensorFlow's start-up banner unless the user asked for its logs.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

_WHERE: dict[str, str] = {}


def _export(module: str, *names: str) -> None:
    for name in names:
        _WHERE[name] = module


_export("recon_core.coils", "coil_zero_filled", "estimate_sens_maps", "rss", "simulate_multicoil")
_export("recon_core.phantoms", "ellipses_dataset", "random_ellipses", "shepp_logan")
_export("recon_core.ops.fftc", "fft2c", "ifft2c")  # NumPy only: no TensorFlow
_export("recon_core.ops.fft", "fft2c_tf", "ifft2c_tf")
_export("recon_core.ops.sampling", "forward_op", "adjoint_op")
_export("recon_core.ops.coils", "sense_forward", "sense_adjoint")
_export("recon_core.masks", "MASK_KINDS", "MIN_CALIB_2D", "make_mask", "default_center_fraction",
        "achieved_acceleration", "center_lines", "center_region", "incoherence",
        "point_spread_function", "calibration_slices", "centred_calibration_block")
_export("recon_core.metrics", "all_metrics", "nmse", "psnr", "ssim")
_export("recon_core.noise", "add_noise", "noise_std")
_export("recon_core.recon.configs", "DEFAULT_LAM", "METHODS", "AdmmConfig", "GradientConfig",
        "PdhgConfig")
_export("recon_core.recon.records", "IterationRecord", "ImageSnapshot", "TVResult")
_export("recon_core.recon.driver", "reconstruct_tv", "tv_iterations")
_export("recon_core.recon.least_squares", "reconstruct_cg", "CGResult")
_export("recon_core.recon.objective", "tv_objective")
_export("recon_core.recon.lambda_sweep", "LambdaSweepPoint", "sweep_lambda")
_export("recon_core.recon.auto_lambda", "AUTO_RATIO", "AutoLambda", "auto_lambda")
_export("recon_core.recon.zerofill", "zero_filled")
_export("recon_core.recon.grappa", "grappa", "GrappaResult")
_export("recon_core.recon.grid_recon", "gridding", "GriddingResult")
_export("recon_core.trajectories", "TRAJECTORY_KINDS", "GOLDEN_ANGLE", "Trajectory",
        "make_trajectory", "radial", "spiral", "cartesian", "trajectory_psf", "radial_angles")
_export("recon_core.dcf", "DCF_METHODS", "ramp_dcf", "pipe_menon_dcf")  # dcf() itself: recon_core.dcf.dcf
_export("recon_core.ops.nonuniform", "nufft_forward", "nufft_adjoint")
_export("recon_core.ellipses", "Ellipse", "shepp_logan_ellipses", "random_ellipses_params",
        "rasterise", "ellipse_kspace", "AnalyticData", "analytic_phantom_data")
_export("recon_core.dl.cache", "ModelCache", "TrainedModel", "get_or_train")
_export("recon_core.dl.evaluation", "EvaluationResult", "evaluate", "held_out_images")
_export("recon_core.dl.models", "DataConsistency", "ResCNN", "UnrolledNet", "reconstruct")
_export("recon_core.dl.pretrained", "PRETRAINED_NAMES", "load_pretrained")
_export("recon_core.dl.config", "DEFAULT_CONFIGS", "DEFAULT_RESCNN", "DEFAULT_UNROLLED",
        "TrainConfig")
_export("recon_core.dl.training", "TrainProgress", "TrainResult", "train")

__all__ = sorted(_WHERE)
__getattr__, __dir__ = _lazy_exports(__name__, _WHERE)
__version__ = "0.1.0"
