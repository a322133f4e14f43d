"""K-space sampling masks: drawing them and measuring them.

- :mod:`recon_core.masks.sampling` — :func:`make_mask` and its kinds (fastMRI random and
  equispaced columns, 2D Gaussian, Poisson disc, radial), :data:`MASK_KINDS`,
  :func:`default_center_fraction`, :data:`MIN_CALIB_2D` (the 24 x 24 fully sampled centre
  every 2D mask keeps);
- :mod:`recon_core.masks.poisson` — the variable-density Poisson-disc packing behind
  ``kind="poisson"``;
- :mod:`recon_core.masks.analysis` — :func:`achieved_acceleration`, :func:`center_lines`,
  :func:`center_region`, :func:`point_spread_function`, :func:`incoherence`, and the one
  calibration-region finder the coil and GRAPPA code use: :func:`calibration_slices`
  (largest fully sampled rectangle containing DC) and :func:`centred_calibration_block`
  (largest one centred on DC, optionally capped per side).

Every public name is re-exported here (the modules need only NumPy), so
``from recon_core.masks import make_mask`` works. Masks are boolean arrays of shape (H, W),
``True`` where k-space is sampled, DC at index ``(H // 2, W // 2)``.
"""

from recon_core.masks.analysis import (
    achieved_acceleration,
    calibration_slices,
    center_lines,
    center_region,
    centred_calibration_block,
    incoherence,
    is_line_mask,
    line_axis,
    point_spread_function,
    regular_lines,
)
from recon_core.masks.poisson import POISSON_ALPHA, poisson_disc
from recon_core.masks.sampling import (
    GAUSSIAN_SIGMA_FRACTION,
    MASK_KINDS,
    MIN_CALIB_2D,
    Seed,
    default_center_fraction,
    make_mask,
)

__all__ = [
    "MASK_KINDS",
    "make_mask",
    "default_center_fraction",
    "achieved_acceleration",
    "center_lines",
    "center_region",
    "calibration_slices",
    "centred_calibration_block",
    "point_spread_function",
    "incoherence",
    "is_line_mask",
    "line_axis",
    "regular_lines",
    "GAUSSIAN_SIGMA_FRACTION",
    "MIN_CALIB_2D",
    "POISSON_ALPHA",
    "Seed",
    "poisson_disc",
]
