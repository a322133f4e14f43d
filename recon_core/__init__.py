"""recon_core: the science behind MRI Recon Lab (no Streamlit in here).

Fourier operators, sampling masks, built-in data, metrics and reconstructions
(zero-filled and total-variation) with NumPy arrays at the public boundary and
TensorFlow doing the heavy computation.
"""

from __future__ import annotations

import os as _os

# Quiet TensorFlow's start-up banner unless the user asked for its logs.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from recon_core.coils import (  # noqa: E402
    coil_zero_filled,
    estimate_sens_maps,
    rss,
    simulate_multicoil,
)
from recon_core.phantoms import ellipses_dataset, random_ellipses, shepp_logan  # noqa: E402
from recon_core.fourier import (  # noqa: E402
    adjoint_op,
    fft2c,
    fft2c_tf,
    forward_op,
    ifft2c,
    ifft2c_tf,
    sense_adjoint,
    sense_forward,
)
from recon_core.masks import (  # noqa: E402
    MASK_KINDS,
    achieved_acceleration,
    center_lines,
    center_region,
    default_center_fraction,
    incoherence,
    make_mask,
    point_spread_function,
)
from recon_core.metrics import all_metrics, nmse, psnr, ssim  # noqa: E402
from recon_core.tv import (  # noqa: E402
    DEFAULT_LAM,
    METHODS,
    AdmmConfig,
    GradientConfig,
    IterationRecord,
    LambdaSweepPoint,
    PdhgConfig,
    TVResult,
    reconstruct_tv,
    sweep_lambda,
    tv_iterations,
    tv_objective,
)
from recon_core.recon.zerofill import zero_filled  # noqa: E402
from recon_core.dl.cache import ModelCache, TrainedModel, get_or_train  # noqa: E402
from recon_core.dl.evaluation import EvaluationResult, evaluate, held_out_images  # noqa: E402
from recon_core.dl.models import DataConsistency, ResCNN, UnrolledNet, reconstruct  # noqa: E402
from recon_core.dl.pretrained import PRETRAINED_NAMES, load_pretrained  # noqa: E402
from recon_core.dl.config import (  # noqa: E402
    DEFAULT_CONFIGS,
    DEFAULT_RESCNN,
    DEFAULT_UNROLLED,
    TrainConfig,
)
from recon_core.dl.training import TrainProgress, TrainResult, train  # noqa: E402

__all__ = [
    "DEFAULT_CONFIGS",
    "DEFAULT_RESCNN",
    "DEFAULT_UNROLLED",
    "DataConsistency",
    "EvaluationResult",
    "ModelCache",
    "PRETRAINED_NAMES",
    "ResCNN",
    "TrainConfig",
    "TrainProgress",
    "TrainResult",
    "TrainedModel",
    "UnrolledNet",
    "evaluate",
    "get_or_train",
    "held_out_images",
    "load_pretrained",
    "reconstruct",
    "train",
    "coil_zero_filled",
    "estimate_sens_maps",
    "rss",
    "simulate_multicoil",
    "DEFAULT_LAM",
    "MASK_KINDS",
    "METHODS",
    "AdmmConfig",
    "GradientConfig",
    "IterationRecord",
    "LambdaSweepPoint",
    "PdhgConfig",
    "TVResult",
    "achieved_acceleration",
    "center_lines",
    "center_region",
    "default_center_fraction",
    "incoherence",
    "make_mask",
    "point_spread_function",
    "reconstruct_tv",
    "sweep_lambda",
    "tv_iterations",
    "tv_objective",
    "zero_filled",
    "adjoint_op",
    "all_metrics",
    "ellipses_dataset",
    "fft2c",
    "fft2c_tf",
    "forward_op",
    "ifft2c",
    "ifft2c_tf",
    "nmse",
    "psnr",
    "random_ellipses",
    "sense_adjoint",
    "sense_forward",
    "shepp_logan",
    "ssim",
]

__version__ = "0.1.0"
