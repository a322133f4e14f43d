"""Linear operators of the MRI forward model, in TensorFlow (see :mod:`recon_core.ops.base`).

=========================  ====================================================
:class:`FFT2`              centred (or plain) orthonormal 2D FFT
:class:`Sampling`          k-space mask ``M``
:class:`CoilSensitivities` coil maps ``S``
:class:`FiniteDifference`  periodic gradient ``D`` (for TV)
:class:`NUFFT`             non-uniform FFT at arbitrary k-space points (radial, spiral)
:func:`single_coil`        ``M F``
:func:`sense`              ``M F S``
=========================  ====================================================

The NumPy functions :func:`forward_op`, :func:`adjoint_op`, :func:`sense_forward` and
:func:`sense_adjoint` are thin wrappers around these operators; :func:`fft2c` and
:func:`ifft2c` compute the same transform as :class:`FFT2` in NumPy (``ops.fftc``, no
TensorFlow).
"""

from __future__ import annotations

from recon_core.lazy import lazy_exports as _lazy_exports

_WHERE = {
    **dict.fromkeys(["LinearOperator", "Composed", "Identity", "Adjoint",
                     "estimate_norm", "abs2", "inner"], "recon_core.ops.base"),
    **dict.fromkeys(["FFT2", "fft2c_tf", "ifft2c_tf", "fft2_ortho", "ifft2_ortho"],
                    "recon_core.ops.fft"),
    **dict.fromkeys(["fft2c", "ifft2c"], "recon_core.ops.fftc"),  # NumPy only: no TensorFlow
    **dict.fromkeys(["Sampling", "single_coil", "forward_op", "adjoint_op"],
                    "recon_core.ops.sampling"),
    **dict.fromkeys(["CoilSensitivities", "sense", "sense_forward", "sense_adjoint"],
                    "recon_core.ops.coils"),
    "FiniteDifference": "recon_core.ops.finite_diff",
    **dict.fromkeys(["NUFFT", "nufft_forward", "nufft_adjoint", "check_coord", "toeplitz_kernel"],
                    "recon_core.ops.nufft"),
}
__all__ = sorted(_WHERE)
__getattr__, __dir__ = _lazy_exports(__name__, _WHERE)
