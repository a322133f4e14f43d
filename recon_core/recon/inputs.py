"""Validation of what a user hands to a TV reconstruction (NumPy only, no TensorFlow).

Every check raises :class:`ValueError` with a message that names the bad value, so the app can
show it as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from recon_core.checks import as_array, as_mask, check_positive
from recon_core.ops.nonuniform import check_coord

__all__ = ["CheckedProblem", "check_problem", "check_noncartesian", "is_trajectory"]


@dataclass(frozen=True)
class CheckedProblem:
    """Validated inputs: k-space (H, W) or (C, H, W) complex64, mask (H, W) bool, weight,
    reference magnitude (H, W) float32 or None, maps (C, H, W) — or (M, C, H, W), M sets of
    maps (soft SENSE) — complex64 or None.

    Non-Cartesian data (``coord`` not None): ``kspace`` holds the samples, (K,) or (C, K),
    ``coord`` their coordinates (K, 2) in cycles per field of view
    (:mod:`recon_core.ops.nufft`), ``mask`` is None and ``image_shape`` the image size."""

    kspace: np.ndarray
    mask: np.ndarray | None
    lam: float
    reference: np.ndarray | None
    sens: np.ndarray | None
    coord: np.ndarray | None = None
    image_shape: tuple[int, int] | None = None

    @property
    def cartesian(self) -> bool:
        return self.coord is None

    @property
    def shape(self) -> tuple[int, int]:
        """The image size (H, W)."""
        return self.image_shape if self.image_shape is not None else self.kspace.shape[-2:]

    @property
    def map_sets(self) -> int:
        """Number of sets of maps: 0 without maps, 1 for (C, H, W), M for (M, C, H, W)."""
        if self.sens is None:
            return 0
        return 1 if self.sens.ndim == 3 else self.sens.shape[0]


def _reference(reference: ArrayLike | None, shape) -> np.ndarray | None:
    """The reference magnitude (float32) checked against the image size, or None."""
    if reference is None:
        return None
    ref = np.abs(as_array(reference, "reference")).astype(np.float32)
    if ref.shape != tuple(shape):
        raise ValueError(f"reference {ref.shape} does not match the image size {tuple(shape)}")
    if ref.max() <= 0:
        raise ValueError("reference is all zeros")
    return ref


def is_trajectory(sampling) -> bool:
    """Whether ``sampling`` is a non-Cartesian trajectory (an object with ``points`` and
    ``shape``, such as :class:`recon_core.trajectories.Trajectory`) rather than a mask."""
    return hasattr(sampling, "points") and hasattr(sampling, "shape") and not isinstance(
        sampling, np.ndarray)


def check_noncartesian(samples: ArrayLike, traj, lam: float, reference: ArrayLike | None,
                       sens: ArrayLike | None = None) -> CheckedProblem:
    """Validate non-Cartesian inputs: samples (K,) or (C, K) with ``sens`` (C, H, W), at the
    points of ``traj`` (a trajectory: ``traj.points`` (K, 2), ``traj.shape`` (H, W)).

    Raises:
        ValueError: samples that do not match the trajectory, coordinates outside k-space,
            maps of another size, NaN/Inf, lam < 0.
    """
    shape = tuple(int(v) for v in traj.shape)
    if len(shape) != 2 or min(shape) < 2:
        raise ValueError(f"the trajectory's image size must be (H, W) >= (2, 2), got {shape}")
    c = check_coord(traj.points, shape)
    k = as_array(samples, "samples", min_ndim=1).astype(np.complex64)
    s = None
    if sens is None:
        if k.ndim != 1:
            hint = " (multi-coil samples need sensitivity maps: pass sens)" if k.ndim == 2 else ""
            raise ValueError(f"non-Cartesian samples must have shape (K,), got {k.shape}{hint}")
    else:
        if k.ndim != 2:
            raise ValueError(f"multi-coil non-Cartesian samples must have shape (C, K), got {k.shape}")
        s = as_array(sens, "sens").astype(np.complex64)
        if s.ndim != 3 or s.shape != (k.shape[0], *shape):
            raise ValueError(f"sens {s.shape} does not match {k.shape[0]} coil(s) of a {shape} image "
                             "(maps are (C, H, W); several sets of maps need Cartesian data)")
        if not np.any(np.abs(s) > 0):
            raise ValueError("sensitivity maps are all zero")
    if k.shape[-1] != c.shape[0]:
        raise ValueError(f"samples {k.shape} do not match the trajectory's {c.shape[0]} points "
                         "(the last axis holds the samples, in the trajectory's order)")
    lam = check_positive(lam, "lam", allow_zero=True)
    return CheckedProblem(k, None, lam, _reference(reference, shape), s, coord=c, image_shape=shape)


def check_problem(kspace: ArrayLike, mask, lam: float, reference: ArrayLike | None,
                  sens: ArrayLike | None = None) -> CheckedProblem:
    """Validate the inputs of a TV reconstruction (``mask`` a trajectory: see
    :func:`check_noncartesian`).

    Raises:
        ValueError: wrong rank, shapes that do not match, NaN/Inf, an empty mask, lam < 0,
            all-zero maps or reference.

    :Examples:

    >>> import numpy as np
    >>> check_problem(np.ones((8, 8)), np.ones((8, 9), bool), 1e-3, None)
    Traceback (most recent call last):
    ...
    ValueError: mask (8, 9) does not match k-space (8, 8)
    """
    if is_trajectory(mask):
        return check_noncartesian(kspace, mask, lam, reference, sens)
    k = as_array(kspace, "kspace")
    s = None
    if sens is None:
        if k.ndim != 2:
            hint = " (multi-coil k-space needs sensitivity maps: pass sens)" if k.ndim == 3 else ""
            raise ValueError(f"kspace must be a single 2-D slice (H, W), got shape {k.shape}{hint}")
    else:
        if k.ndim != 3:
            raise ValueError(f"multi-coil kspace must have shape (C, H, W), got {k.shape}")
        s = as_array(sens, "sens").astype(np.complex64)
        if s.shape != k.shape and not (s.ndim == 4 and s.shape[1:] == k.shape and s.shape[0] >= 1):
            raise ValueError(f"sens {s.shape} does not match k-space {k.shape} (maps are (C, H, W), "
                             f"or (M, C, H, W) for M sets)")
        if not np.any(np.abs(s) > 0):
            raise ValueError("sensitivity maps are all zero")
    if min(k.shape[-2:]) < 2:
        raise ValueError(f"kspace must be at least 2x2, got shape {k.shape}")
    m = as_mask(mask, k.shape)
    if m.ndim != 2:
        raise ValueError(f"mask must be 2-D (H, W), got shape {m.shape}")
    if not m.any():
        raise ValueError("mask samples no k-space point")
    lam = check_positive(lam, "lam", allow_zero=True)
    return CheckedProblem(k.astype(np.complex64), m, lam, _reference(reference, k.shape[-2:]), s)
