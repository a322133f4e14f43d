"""recon_core: the science behind MRI Recon Lab (no Streamlit in here).

Fourier operators, sampling masks, built-in data, metrics and reconstructions
(zero-filled and total-variation) with NumPy arrays at the public boundary and
TensorFlow doing the heavy computation.
"""

from __future__ import annotations

import os as _os

# Quiet TensorFlow's start-up banner unless the user asked for its logs.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from recon_core.data import ellipses_dataset, random_ellipses, shepp_logan  # noqa: E402
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
from recon_core.metrics import all_metrics, nmse, psnr, ssim  # noqa: E402

__all__ = [
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
