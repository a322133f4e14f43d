r"""Gridding: the non-Cartesian counterpart of the zero-filled image.

.. math::

    x_\text{grid} = A^H (w \odot y),

the adjoint NUFFT of the density-compensated samples. Without compensation (``dcf=None``) the
densely sampled centre of a radial or spiral trajectory dominates and the image is blurred; the
weights :math:`w` (:mod:`recon_core.dcf`: the analytic ramp for radial, none on the Cartesian
grid, Pipe–Menon otherwise)
undo the sampling density, so that a fully sampled trajectory gives back the image and an
undersampled one shows its characteristic artefacts (streaks for radial, swirls for spiral).
Multi-coil samples are gridded coil by coil and combined with the maps
(:math:`\sum_c \bar S_c x_c / \sum_c |S_c|^2`) or, without maps, by root-sum-of-squares.

References:
    Jackson, J. I. et al. "Selection of a convolution function for Fourier inversion using
    gridding." IEEE Trans. Med. Imaging 10(3), 1991.
    Pipe, J. G. and Menon, P. "Sampling density compensation in MRI: rationale and an
    iterative numerical solution." MRM 41, 1999.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from recon_core.checks import as_array
from recon_core.ops.nonuniform import check_coord, nufft_adjoint
from recon_core.recon.records import SolveResult

__all__ = ["GriddingResult", "gridding"]


@dataclass(kw_only=True)
class GriddingResult(SolveResult):
    """Outcome of :func:`gridding` (fields of :class:`~recon_core.recon.records.SolveResult`;
    ``image`` is complex for single-coil data and with maps, the root-sum-of-squares magnitude
    otherwise), and ``weights``: the density compensation used, (K,) float32 (ones without)."""

    weights: np.ndarray
    dcf_method: str


def gridding(samples: ArrayLike, traj, *, dcf: str | ArrayLike | None = "auto",
             sens: ArrayLike | None = None, reference: ArrayLike | None = None) -> GriddingResult:
    """Gridding reconstruction of non-Cartesian samples.

    Args:
        samples: complex (K,) single-coil or (C, K) multi-coil, in the trajectory's order.
        traj: the trajectory (``points`` (K, 2) in cycles per field of view, ``shape`` (H, W));
            a :class:`recon_core.trajectories.Trajectory`.
        dcf: ``"auto"`` (ramp for radial, ones on the grid, Pipe–Menon otherwise), ``"ramp"``,
            ``"pipe-menon"``,
            precomputed weights (K,), or ``None`` for none (the plain adjoint).
        sens: coil maps (C, H, W) to combine coils with; without them coils are combined by
            root-sum-of-squares.
        reference: ground truth (H, W) for ``metrics``.

    Returns:
        :class:`GriddingResult`.

    Raises:
        ValueError: samples that do not match the trajectory, weights of the wrong length or
            negative, maps of another size, an unknown ``dcf`` name.
    """
    t0 = time.perf_counter()
    shape = tuple(int(v) for v in traj.shape)
    coord = check_coord(traj.points, shape)
    k = as_array(samples, "samples", min_ndim=1).astype(np.complex64)
    if k.shape[-1] != coord.shape[0] or k.ndim > 2:
        raise ValueError(f"samples {k.shape} do not match the trajectory's {coord.shape[0]} points "
                         "(expected (K,) or (C, K))")
    from recon_core.dcf import sample_weights

    w, how = sample_weights(traj, dcf, coord.shape[0])
    coil_images = nufft_adjoint(k * w, coord, shape)
    if k.ndim == 1:
        if sens is not None:
            raise ValueError(f"single-coil samples {k.shape} with maps: pass (C, K) samples")
        image = coil_images
    elif sens is not None:
        s = as_array(sens, "sens").astype(np.complex64)
        if s.shape != (k.shape[0], *shape):
            raise ValueError(f"sens {s.shape} does not match {k.shape[0]} coil(s) of a {shape} image")
        power = np.sum(np.abs(s) ** 2, axis=0)
        image = (np.sum(np.conj(s) * coil_images, axis=0)
                 / np.where(power > 0, power, 1.0)).astype(np.complex64)
    else:
        image = np.sqrt(np.sum(np.abs(coil_images) ** 2, axis=0)).astype(np.complex64)
    result = GriddingResult(image=image, weights=w, dcf_method=how, converged=True,
                            elapsed_s=time.perf_counter() - t0)
    result.score(None if reference is None else as_array(reference, "reference"))
    return result
