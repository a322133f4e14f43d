"""Multi-coil helpers: root-sum-of-squares, coil-wise zero-filling, sensitivity maps.

Array layouts: coil images and multi-coil k-space are complex (C, H, W) (or (..., C, H, W)
where stated); k-space is centred, DC at (H // 2, W // 2), ortho-normalised as in
:mod:`recon_core.ops.fft`; sensitivity maps are complex64 (C, H, W). The SENSE model is
``coil_image_c = S_c * x`` (:func:`recon_core.ops.coils.sense_forward`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from recon_core.checks import as_array, as_mask, check_int, check_positive
from recon_core.masks.analysis import centred_calibration_block
from recon_core.ops.fftc import fft2c, ifft2c

__all__ = [
    "rss",
    "CoilZeroFilled",
    "coil_zero_filled",
    "calibration_region",
    "estimate_sens_maps",
    "sens_combine",
    "simulate_sens_maps",
    "simulate_multicoil",
]


def _multicoil(kspace: ArrayLike, name: str = "kspace") -> np.ndarray:
    k = as_array(kspace, name, min_ndim=3)
    if k.ndim != 3:
        raise ValueError(f"{name} must have shape (C, H, W), got {k.shape}")
    return k.astype(np.complex64, copy=False)


def rss(coil_images: ArrayLike, axis: int = -3) -> np.ndarray:
    """Root-sum-of-squares coil combination ``sqrt(sum_c |x_c|^2)``.

    Args:
        coil_images: real or complex, coils along ``axis`` (default -3: (..., C, H, W)).
        axis: the coil axis.

    Returns:
        float32, ``coil_images``' shape without ``axis``.

    :Examples:

    >>> import numpy as np
    >>> float(rss(np.array([[[3.0]], [[4.0]]]))[0, 0])
    5.0
    """
    x = as_array(coil_images, "coil_images", min_ndim=1)
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"axis {axis} is out of range for coil_images of shape {x.shape}")
    return np.sqrt(np.sum(np.abs(x) ** 2, axis=axis)).astype(np.float32)


class CoilZeroFilled(NamedTuple):
    """Result of :func:`coil_zero_filled`."""

    coil_images: np.ndarray  #: complex64 (C, H, W), ``ifft2c`` of each coil's masked k-space
    rss: np.ndarray  #: float32 (H, W), their root-sum-of-squares


def coil_zero_filled(kspace: ArrayLike, mask: ArrayLike) -> CoilZeroFilled:
    """Coil-wise zero-filled reconstruction and its root-sum-of-squares.

    Args:
        kspace: complex (C, H, W), centred.
        mask: bool or 0/1, (H, W) or broadcastable to (C, H, W); True = sampled.

    Returns:
        :class:`CoilZeroFilled` (coil_images complex64 (C, H, W), rss float32 (H, W)).

    :Examples:

    >>> import numpy as np
    >>> k = np.ones((2, 4, 4), np.complex64)
    >>> zf = coil_zero_filled(k, np.ones((4, 4), bool))
    >>> zf.coil_images.shape, zf.rss.shape
    ((2, 4, 4), (4, 4))
    """
    k = _multicoil(kspace)
    m = as_mask(mask, k.shape)
    coil_images = ifft2c(k * m)
    return CoilZeroFilled(coil_images, rss(coil_images))


def calibration_region(mask: ArrayLike, max_size: int | None = 32) -> tuple[int, int]:
    """Size (h, w) of the fully sampled block centred on DC that :func:`estimate_sens_maps` uses.

    A thin wrapper over :func:`recon_core.masks.centred_calibration_block` with a cap of 32
    per side for the ratio method (larger blocks give less smooth maps): the block is
    ``mask[H//2 - h//2 : H//2 - h//2 + h, W//2 - w//2 : W//2 - w//2 + w]`` (the ``fft2c``
    centring), the centred rectangle maximising ``min(h, max_size) * min(w, max_size)``, each
    side then capped. Line masks give an H x w column block, row masks h x W, 2D masks their
    centre rectangle. For the largest rectangle merely *containing* DC (GRAPPA), see
    :func:`recon_core.masks.calibration_slices`.

    Args:
        mask: bool or 0/1 (any non-zero value counts as sampled), shape (H, W).
        max_size: cap on each side, or None for none.

    Returns:
        (h, w); (0, 0) when DC itself is not sampled.

    :Examples:

    >>> import numpy as np
    >>> m = np.zeros((64, 64), bool); m[:, 28:36] = True; m[:, ::5] = True
    >>> calibration_region(m)
    (32, 8)
    """
    m = as_array(mask, "mask", min_ndim=2)
    if m.ndim != 2:
        raise ValueError(f"mask must have shape (H, W), got {m.shape}")
    return centred_calibration_block(m != 0, max_size=max_size)


def estimate_sens_maps(
    kspace: ArrayLike,
    mask: ArrayLike | None = None,
    *,
    calib_size: int | tuple[int, int] | None = None,
    max_calib: int = 32,
    threshold: float = 0.05,
) -> np.ndarray:
    """Coil sensitivity maps from the fully sampled centre of k-space (low-resolution ratio method).

    Method: keep a (h, w) block of k-space around DC (the calibration region), taper it with a
    separable Hann window (to limit ringing), zero-fill to (H, W) and ``ifft2c`` to low-resolution
    coil images ``L_c``; then ``S_c = L_c / sqrt(sum_c |L_c|^2)``, set to 0 where that
    root-sum-of-squares is below ``threshold`` times its maximum (background). Inside the support
    ``sum_c |S_c|^2 = 1``, the maps carry each coil's smooth phase relative to the object, and
    the SENSE-combined image ``sum_c conj(S_c) x_c`` is real-valued to first order.

    Args:
        kspace: complex (C, H, W), centred; unsampled entries may be zero.
        mask: bool (H, W) sampling mask, or None to infer it as "non-zero in any coil".
        calib_size: int or (h, w) calibration block; None detects it from the mask with
            :func:`calibration_region`.
        max_calib: cap on each side of a detected block (larger blocks give less smooth maps).
        threshold: relative RSS level below which maps are zero, in [0, 1).

    Returns:
        complex64 (C, H, W).

    Raises:
        ValueError: wrong shapes, or no fully sampled centre (pass ``calib_size``).

    References:
        Pruessmann et al., "SENSE: Sensitivity encoding for fast MRI", MRM 42 (1999) 952-962;
        the RSS normalisation is as in fastMRI's VarNet sensitivity initialisation.

    :Examples:

    >>> import numpy as np
    >>> img = np.zeros((32, 32)); img[8:24, 8:24] = 1
    >>> k, sens = simulate_multicoil(img, n_coils=4)
    >>> est = estimate_sens_maps(k, calib_size=16)
    >>> bool(np.allclose(np.sum(np.abs(est[:, 16, 16]) ** 2), 1.0, atol=1e-5))
    True
    """
    k = _multicoil(kspace)
    check_positive(threshold, "threshold", allow_zero=True)
    if threshold >= 1:
        raise ValueError(f"threshold must be < 1, got {threshold}")
    h, w = k.shape[-2:]
    if calib_size is None:
        m = (
            np.any(k != 0, axis=0)
            if mask is None
            else np.broadcast_to(as_mask(mask, k.shape), k.shape)[0]
        )
        ch, cw = calibration_region(m, max_size=check_int(max_calib, "max_calib"))
        if min(ch, cw) < 2:
            raise ValueError(
                f"no fully sampled centre found in the mask (calibration block {ch}x{cw}); "
                "sample the k-space centre or pass calib_size"
            )
    else:
        ch, cw = (calib_size, calib_size) if np.isscalar(calib_size) else tuple(calib_size)
        ch, cw = check_int(ch, "calib_size"), check_int(cw, "calib_size")
        if ch > h or cw > w:
            raise ValueError(f"calib_size {(ch, cw)} exceeds k-space size {(h, w)}")
    win = np.outer(np.hanning(ch + 2)[1:-1], np.hanning(cw + 2)[1:-1]).astype(np.float32)
    y0, x0 = h // 2 - ch // 2, w // 2 - cw // 2
    low_k = np.zeros_like(k)
    low_k[:, y0 : y0 + ch, x0 : x0 + cw] = k[:, y0 : y0 + ch, x0 : x0 + cw] * win
    low = ifft2c(low_k)
    r = rss(low)
    support = r > threshold * float(r.max())
    sens = np.where(support, low / np.where(support, r, 1.0), 0)
    return sens.astype(np.complex64)


def sens_combine(coil_images: ArrayLike, sens: ArrayLike) -> np.ndarray:
    """SENSE coil combination ``sum_c conj(S_c) x_c / sum_c |S_c|^2`` (0 where all maps are 0).

    Args:
        coil_images: complex (C, H, W).
        sens: complex (C, H, W).

    Returns:
        complex64 (H, W).
    """
    x = _multicoil(coil_images, "coil_images")
    s = _multicoil(sens, "sens")
    if s.shape != x.shape:
        raise ValueError(f"sens {s.shape} does not match coil_images {x.shape}")
    num = np.sum(np.conj(s) * x, axis=0)
    den = np.sum(np.abs(s) ** 2, axis=0)
    return np.where(den > 0, num / np.where(den > 0, den, 1.0), 0).astype(np.complex64)


def simulate_sens_maps(
    shape: tuple[int, int], n_coils: int = 8, *, coil_radius: float = 0.6
) -> np.ndarray:
    """Smooth synthetic coil sensitivities, normalised so that ``sum_c |S_c|^2 = 1`` everywhere.

    Coils are loops evenly spaced on a circle of radius 1.4 around the field of view (which spans
    [-1, 1] along each axis). Each magnitude follows the on-axis field of a loop,
    ``(1 + (d / coil_radius)^2)^(-3/2)`` with ``d`` the distance to the coil (Biot-Savart), and
    each phase is the coil's angle plus a gentle linear ramp; the maps are then divided by their
    root-sum-of-squares. Deterministic: no random numbers are used.

    Args:
        shape: (H, W).
        n_coils: number of coils, 1..128.
        coil_radius: loop radius relative to the half field of view.

    Returns:
        complex64 (n_coils, H, W).

    :Examples:

    >>> import numpy as np
    >>> s = simulate_sens_maps((16, 12), n_coils=4)
    >>> s.shape, bool(np.allclose(np.sum(np.abs(s) ** 2, axis=0), 1, atol=1e-5))
    ((4, 16, 12), True)
    """
    try:
        h, w = shape
    except (TypeError, ValueError):
        raise ValueError(f"shape must be a pair (H, W), got {shape!r}") from None
    h, w = check_int(h, "H"), check_int(w, "W")
    n = check_int(n_coils, "n_coils")
    if n > 128:
        raise ValueError(f"n_coils must be <= 128, got {n}")
    r0 = check_positive(coil_radius, "coil_radius")
    y = (np.arange(h) - h // 2) / max(h / 2, 1)
    x = (np.arange(w) - w // 2) / max(w / 2, 1)
    yy, xx = np.meshgrid(y, x, indexing="ij")
    maps = np.empty((n, h, w), np.complex128)
    for c in range(n):
        theta = 2 * np.pi * c / n
        cy, cx = 1.4 * np.sin(theta), 1.4 * np.cos(theta)
        d2 = (yy - cy) ** 2 + (xx - cx) ** 2
        mag = (1 + d2 / r0**2) ** -1.5
        phase = theta + 0.5 * np.pi * (xx * np.cos(theta) + yy * np.sin(theta))
        maps[c] = mag * np.exp(1j * phase)
    maps /= np.sqrt(np.sum(np.abs(maps) ** 2, axis=0))
    return maps.astype(np.complex64)


def simulate_multicoil(
    image: ArrayLike,
    n_coils: int = 8,
    *,
    noise_std: float = 0.0,
    seed: int | np.random.Generator | None = 0,
    coil_radius: float = 0.6,
) -> tuple[np.ndarray, np.ndarray]:
    """Multi-coil k-space of an image under :func:`simulate_sens_maps` sensitivities.

    Args:
        image: real or complex (H, W).
        n_coils: number of coils.
        noise_std: standard deviation of complex Gaussian noise added to each k-space sample
            (real and imaginary parts each get ``noise_std / sqrt(2)``).
        seed: seed or ``np.random.Generator`` for the noise (the global NumPy state is untouched).
        coil_radius: see :func:`simulate_sens_maps`.

    Returns:
        (kspace, sens): complex64 (C, H, W) each; ``kspace = fft2c(sens * image) + noise``, and
        ``rss(ifft2c(kspace)) == |image|`` without noise.

    :Examples:

    >>> import numpy as np
    >>> img = np.outer(np.hanning(16), np.hanning(16))
    >>> k, s = simulate_multicoil(img, n_coils=4)
    >>> bool(np.allclose(rss(ifft2c(k)), img, atol=1e-5))
    True
    """
    x = as_array(image, "image", min_ndim=2)
    if x.ndim != 2:
        raise ValueError(f"image must have shape (H, W), got {x.shape}")
    noise = check_positive(noise_std, "noise_std", allow_zero=True)
    sens = simulate_sens_maps(x.shape, n_coils, coil_radius=coil_radius)
    k = fft2c(sens * x.astype(np.complex64))
    if noise > 0:
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        k = k + (noise / np.sqrt(2)) * (
            rng.standard_normal(k.shape) + 1j * rng.standard_normal(k.shape)
        )
    return k.astype(np.complex64), sens
