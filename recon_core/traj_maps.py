"""Coil sensitivity maps from non-Cartesian samples: grid each coil, calibrate on the centre.

Import it as ``from recon_core.traj_maps import estimate_sens_maps_noncartesian`` (it is not
exported from :mod:`recon_core` itself). NumPy only (FINUFFT for the gridding); TensorFlow is
not loaded.

A radial or spiral trajectory samples the centre of k-space densely: its spokes or
interleaves are closer than the Nyquist distance inside a radius (for radial, about
``n_spokes / pi`` grid samples). Gridding each coil there, with density compensation
(:func:`recon_core.dcf.dcf`, then :func:`recon_core.ops.nonuniform.nufft_adjoint`), and taking
the Cartesian k-space of the gridded coil images gives a fully sampled calibration block, the
same input the Cartesian estimators use:

1. ``x_c = A^H (w * y_c)`` for every coil c (the gridding image of that coil);
2. ``k_c = fft2c(x_c)``, and its centred ``(h, w)`` block (``calib``, clipped to the image);
3. ESPIRiT (:func:`recon_core.espirit.espirit_maps`) on that block, or the calibration-ratio
   maps (:func:`recon_core.coils.estimate_sens_maps`: Hann-tapered low-resolution coil images
   over their root-sum-of-squares, zero where that is under 5 % of its maximum).

Only the samples are used, never the maps the data were made with. Where the trajectory
undersamples the block's corners (few spokes), the block carries some aliasing and the maps
are smoother than the true ones; the tests measure the cost against the true maps.

References:
    M. Uecker et al., "ESPIRiT -- an eigenvalue approach to autocalibrating parallel MRI",
    MRM 71 (2014) 990-1001. K. P. Pruessmann et al., "Advances in sensitivity encoding with
    arbitrary k-space trajectories", MRM 46 (2001) 638-651 (CG-SENSE on non-Cartesian data,
    maps from the densely sampled centre).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from recon_core.checks import as_array, check_int_pair
from recon_core.ops.fftc import fft2c
from recon_core.ops.nonuniform import check_coord, nufft_adjoint

__all__ = ["MAP_KINDS", "DEFAULT_CALIB", "TrajectoryMaps", "gridded_coil_kspace",
           "estimate_sens_maps_noncartesian", "sens_maps_from_gridded"]

MAP_KINDS = ("espirit", "ratio")
DEFAULT_CALIB = 24  # side of the calibration block; the Cartesian minimum (MIN_CALIB_2D) too
MIN_CALIB = 6  # ESPIRiT's default kernel needs at least this many samples per side


@dataclass(frozen=True)
class TrajectoryMaps:
    """Maps estimated by :func:`estimate_sens_maps_noncartesian`.

    Attributes:
        maps: complex64 (C, H, W); ``sum_c |S_c|^2 = 1`` inside ``support``, 0 outside.
        kind: the kind computed: ``"espirit"``, or ``"ratio"`` (asked for, or the fallback
            when ESPIRiT could not calibrate: ``warnings`` says why).
        calib_shape: (h, w) of the calibration block used.
        support: bool (H, W), where the maps are non-zero.
        warnings: the estimator's notes (ESPIRiT's own, and the fallback).
    """

    maps: np.ndarray
    kind: str
    calib_shape: tuple[int, int]
    support: np.ndarray
    warnings: tuple[str, ...] = ()


def _trajectory(traj) -> tuple[np.ndarray, tuple[int, int]]:
    """(checked coordinates (K, 2), (H, W)) of a trajectory."""
    try:
        shape = tuple(int(v) for v in traj.shape)
        points = traj.points
    except (AttributeError, TypeError):
        raise ValueError(f"traj must be a Trajectory (points (K, 2), shape (H, W)), got "
                         f"{type(traj).__name__}") from None
    return check_coord(points, shape), shape


def _check_samples(samples: ArrayLike, traj) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """(samples complex64 (C, K), coordinates (K, 2), (H, W)) of multi-coil data."""
    coord, shape = _trajectory(traj)
    s = as_array(samples, "samples", min_ndim=1)
    if s.ndim == 1 or (s.ndim == 2 and s.shape[0] == 1):
        raise ValueError(f"coil maps need multi-coil samples (C, K) with C >= 2, got shape "
                         f"{s.shape}: single-coil data need no maps")
    if s.ndim != 2:
        raise ValueError(f"samples must have shape (C, K), got {s.shape}")
    if s.shape[1] != coord.shape[0]:
        raise ValueError(f"samples {s.shape} do not match the trajectory's {coord.shape[0]} "
                         "points (expected (C, K))")
    return s.astype(np.complex64, copy=False), coord, shape


def gridded_coil_kspace(samples: ArrayLike, traj, dcf: str | ArrayLike = "auto") -> np.ndarray:
    """Cartesian k-space of each coil's gridding image.

    Args:
        samples: complex (C, K) (or (K,) for one coil), in the order of ``traj.points``.
        traj: a :class:`recon_core.trajectories.Trajectory` (``points`` (K, 2) in cycles per
            field of view, ``shape`` (H, W)).
        dcf: a :func:`recon_core.dcf.dcf` method name (``"auto"``: ramp for radial,
            Pipe–Menon for spirals, none on the grid) or precomputed weights (K,).

    Returns:
        complex64 (C, H, W) (or (H, W)), centred (DC at (H//2, W//2)), orthonormal:
        ``fft2c(nufft_adjoint(w * samples))``.

    Raises:
        ValueError: samples that do not match the trajectory, bad weights, an unknown method.

    :Examples:

    >>> import numpy as np
    >>> from recon_core.trajectories import radial
    >>> t = radial((16, 16), 8)
    >>> gridded_coil_kspace(np.ones((2, t.points.shape[0])), t).shape
    (2, 16, 16)
    """
    from recon_core.dcf import sample_weights

    coord, shape = _trajectory(traj)
    s = as_array(samples, "samples", min_ndim=1).astype(np.complex64, copy=False)
    if s.ndim > 2 or s.shape[-1] != coord.shape[0]:
        raise ValueError(f"samples {s.shape} do not match the trajectory's {coord.shape[0]} "
                         "points (expected (K,) or (C, K))")
    w, _ = sample_weights(traj, dcf, coord.shape[0])
    return fft2c(nufft_adjoint(s * w, coord, shape)).astype(np.complex64)


def _calib_shape(calib, shape: tuple[int, int]) -> tuple[int, int]:
    ch, cw = check_int_pair(calib, "calib", minimum=MIN_CALIB)
    return min(ch, shape[0]), min(cw, shape[1])


def estimate_sens_maps_noncartesian(samples: ArrayLike, traj, kind: str = "espirit", *,
                                    calib: int | tuple[int, int] = DEFAULT_CALIB,
                                    dcf: str | ArrayLike = "auto") -> TrajectoryMaps:
    """Coil sensitivity maps estimated from non-Cartesian multi-coil samples alone.

    Each coil is gridded with density compensation (:func:`gridded_coil_kspace`); the
    centred ``calib`` block of their Cartesian k-space is the calibration region (see the
    module docstring). ``kind="espirit"`` runs :func:`recon_core.espirit.espirit_maps` on it
    (default kernel 6, one set of maps, virtual-body-coil phase) and falls back to the ratio
    maps, with a warning, when ESPIRiT cannot calibrate; ``kind="ratio"`` gives
    :func:`recon_core.coils.estimate_sens_maps` of the block. The image space of the maps is
    the trajectory's ``shape``.

    Args:
        samples: complex (C, K), C >= 2 coils, in the order of ``traj.points``.
        traj: a :class:`recon_core.trajectories.Trajectory`.
        kind: ``"espirit"`` or ``"ratio"``.
        calib: side (int) or (h, w) of the centred calibration block, at least 6, clipped to
            the image. The default 24 is the Cartesian pages' minimum; a trajectory with few
            readouts samples only a smaller centre at Nyquist (radial: about
            ``2 n_spokes / pi`` across), and its maps get smoother.
        dcf: density compensation: a :func:`recon_core.dcf.dcf` method name or weights (K,).

    Returns:
        :class:`TrajectoryMaps` (``maps`` complex64 (C, H, W), unit root-sum-of-squares on
        ``support``).

    Raises:
        ValueError: single-coil samples ((K,) or (1, K)), samples that do not match the
            trajectory, a bad ``calib`` or ``dcf``, an unknown ``kind``.

    :Examples:

    >>> import numpy as np
    >>> from recon_core.ellipses import analytic_phantom_data
    >>> from recon_core.trajectories import radial
    >>> t = radial((48, 48), 48)
    >>> d = analytic_phantom_data(t.points, t.shape, n_coils=4)
    >>> res = estimate_sens_maps_noncartesian(d.kspace, t, "ratio")
    >>> res.maps.shape, res.kind, res.calib_shape
    ((4, 48, 48), 'ratio', (24, 24))
    >>> estimate_sens_maps_noncartesian(d.kspace[0], t)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: coil maps need multi-coil samples (C, K) with C >= 2, got shape (4608,): ...
    """
    if kind not in MAP_KINDS:
        raise ValueError(f"kind must be one of {', '.join(MAP_KINDS)}, got {kind!r}")
    s, _, _ = _check_samples(samples, traj)
    return sens_maps_from_gridded(gridded_coil_kspace(s, traj, dcf), kind, calib=calib)


def sens_maps_from_gridded(kspace: ArrayLike, kind: str = "espirit", *,
                           calib: int | tuple[int, int] = DEFAULT_CALIB) -> TrajectoryMaps:
    """The maps of :func:`estimate_sens_maps_noncartesian` from the coils' gridded k-space
    (:func:`gridded_coil_kspace`, complex (C, H, W), C >= 2), for a caller that keeps it.

    Raises:
        ValueError: fewer than 2 coils, a bad ``calib``, an unknown ``kind``.
    """
    if kind not in MAP_KINDS:
        raise ValueError(f"kind must be one of {', '.join(MAP_KINDS)}, got {kind!r}")
    k = as_array(kspace, "kspace", min_ndim=3).astype(np.complex64, copy=False)
    if k.ndim != 3 or k.shape[0] < 2:
        raise ValueError(f"kspace must be gridded coil k-space (C, H, W) with C >= 2, "
                         f"got shape {k.shape}")
    ch, cw = _calib_shape(calib, k.shape[1:])
    notes: list[str] = []
    if kind == "espirit":
        from recon_core.espirit import espirit_maps

        try:
            res = espirit_maps(k, calib=(ch, cw))
        except ValueError as exc:
            notes.append(f"ESPIRiT could not calibrate on the gridded {ch}x{cw} centre ({exc}); "
                         "the calibration-ratio maps are used instead")
        else:
            return TrajectoryMaps(np.asarray(res.maps, np.complex64), "espirit", (ch, cw),
                                  np.asarray(res.support, bool), tuple(res.warnings))
    from recon_core.coils import estimate_sens_maps

    maps = estimate_sens_maps(k, calib_size=(ch, cw))
    support = np.sum(np.abs(maps) ** 2, axis=0) > 0
    return TrajectoryMaps(maps, "ratio", (ch, cw), support, tuple(notes))
