"""The typed result of every loader: :class:`LoadedData`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from recon_core.ops.fftc import ifft2c

__all__ = ["LoadedData"]


def _frozen(arr: np.ndarray | None) -> np.ndarray | None:
    if arr is None:
        return None
    view = np.asarray(arr).view()
    view.setflags(write=False)
    return view


@dataclass(frozen=True, eq=False)
class LoadedData:
    """One slice of a loaded file: an image and/or its k-space, in the file's own units.

    Arrays are read-only views; copy them (``np.array(x)``) before changing values.

    Attributes:
        image: float32 (real data) or complex64 (complex data), shape (H, W), or None when the
            file holds only k-space.
        kspace: complex64, shape (H, W) single-coil or (C, H, W) multi-coil, DC at index
            (H // 2, W // 2), ortho-normalised (fastMRI convention,
            :func:`recon_core.ops.fft.fft2c`);
            None for image files.
        n_coils: receiver coils (1 for single-coil k-space and for images).
        n_slices: slices (or frames) in the file; ``slice_index`` is the one loaded.
        slice_index: 0-based index of the loaded slice.
        source: human-readable description, e.g.
            ``"fastMRI multi-coil .h5, slice 3 of 10, 15 coils, 640x368"``.
        format: short format id: ``"fastmri-h5"``, ``"ismrmrd"``, ``"twix"``, ``"matlab"``,
            ``"dicom"``, ``"nifti"``, ``"png"``, ``"jpeg"``, ``"npy"``, ``"npz"``, ``"bart"`` or ``"array"``.
        filename: name of the file, when known.
        reference: float32 (H', W') reference reconstruction stored with the data (fastMRI
            ``reconstruction_rss`` / ``reconstruction_esc``, usually 320x320), or None.
        reference_name: the dataset the reference came from, e.g. ``"reconstruction_rss"``.
        mask: bool (H, W), True where k-space was acquired, when the data are undersampled:
            the file's own mask (fastMRI test files, an NPZ ``mask``, ISMRMRD/twix line
            counters) or the pattern of non-zero samples (:func:`~recon_core.io.acquired_pattern`);
            None means fully sampled.
        noise: complex64 (C, N), noise-only samples of each coil (ISMRMRD or twix noise scans),
            for prewhitening (:func:`recon_core.coils.noise_covariance`); None when the file has none.
        axes: what each axis of the stored array became, in words, e.g.
            ``"(160, 2, 320) read as row × coil × col (guessed)"``; None for formats whose
            layout is fixed by the format.
        axes_roles: the role of each axis of the stored array (:data:`~recon_core.io.AXIS_ROLES`),
            to offer as the default of a chooser; None with ``axes``.
        axes_guessed: True when ``axes_roles`` was guessed from the shape (show it to the user).
        selectable: how many of each selectable index the file has, only those above one, e.g.
            ``{"slice": 2, "average": 4}`` (keys ``slice``, ``average``, ``contrast``,
            ``repetition``); the UI offers a chooser for each.
        metadata: read-only mapping of extra facts (DICOM window, NIfTI axis, fastMRI attrs ...).
    """

    image: np.ndarray | None
    kspace: np.ndarray | None
    n_coils: int
    n_slices: int
    slice_index: int
    source: str
    format: str
    filename: str | None = None
    reference: np.ndarray | None = None
    reference_name: str | None = None
    mask: np.ndarray | None = None
    noise: np.ndarray | None = None
    axes: str | None = None
    axes_roles: tuple[str, ...] | None = None
    axes_guessed: bool = False
    selectable: Mapping[str, int] = field(default_factory=dict)
    metadata: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        img, ksp = self.image, self.kspace
        if img is None and ksp is None:
            raise ValueError("LoadedData needs an image or k-space, got neither")
        if img is not None and (img.ndim != 2 or img.dtype not in (np.float32, np.complex64)):
            raise ValueError(f"image must be float32/complex64 (H, W), got {img.dtype} {img.shape}")
        if ksp is not None:
            if ksp.ndim not in (2, 3) or ksp.dtype != np.complex64:
                raise ValueError(
                    f"kspace must be complex64 (H, W) or (C, H, W), got {ksp.dtype} {ksp.shape}"
                )
            coils = ksp.shape[0] if ksp.ndim == 3 else 1
            if coils != self.n_coils:
                raise ValueError(
                    f"n_coils={self.n_coils} but kspace {ksp.shape} has {coils} coil(s)"
                )
            if img is not None and img.shape != ksp.shape[-2:]:
                raise ValueError(f"image {img.shape} does not match k-space {ksp.shape}")
        elif self.n_coils != 1:
            raise ValueError(f"an image without k-space has one coil, got n_coils={self.n_coils}")
        if not 0 <= self.slice_index < self.n_slices:
            raise ValueError(
                f"slice_index {self.slice_index} out of range for {self.n_slices} slice(s)"
            )
        if self.mask is not None and (self.mask.dtype != np.bool_ or self.mask.shape != self.shape):
            raise ValueError(
                f"mask must be bool {self.shape}, got {self.mask.dtype} {self.mask.shape}"
            )
        if self.noise is not None:
            n = self.noise
            if n.ndim != 2 or n.dtype != np.complex64 or n.shape[0] != self.n_coils:
                raise ValueError(
                    f"noise must be complex64 ({self.n_coils}, N), got {n.dtype} {n.shape}"
                )
        for name in ("image", "kspace", "reference", "mask", "noise"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))
        object.__setattr__(self, "metadata", MappingProxyType(dict(self.metadata)))
        object.__setattr__(self, "selectable", MappingProxyType(dict(self.selectable)))

    @classmethod
    def from_image(
        cls,
        image: np.ndarray,
        source: str,
        fmt: str,
        filename: str | None = None,
        *,
        n_slices: int = 1,
        slice_index: int = 0,
        metadata: Mapping[str, object] | None = None,
    ) -> LoadedData:
        """One slice of an image file (DICOM, NIfTI, PNG/JPEG): no k-space, one coil.

        Args:
            image: float32 or complex64, shape (H, W), the decoded slice.
            source, fmt, filename: the attributes ``source``, ``format`` and ``filename``.
            n_slices, slice_index: slices (or frames) in the file and the one loaded.
            metadata: extra facts (None: none).

        :Examples:

        >>> d = LoadedData.from_image(np.zeros((4, 6), np.float32), "PNG picture, 6x4", "png")
        >>> d.shape, d.n_coils, d.kspace is None, d.slice_index
        ((4, 6), 1, True, 0)
        """
        return cls(
            image=image,
            kspace=None,
            n_coils=1,
            n_slices=n_slices,
            slice_index=slice_index,
            source=source,
            format=fmt,
            filename=filename,
            metadata=metadata or {},
        )

    @property
    def shape(self) -> tuple[int, int]:
        """(H, W) of the slice."""
        arr = self.image if self.image is not None else self.kspace
        return tuple(arr.shape[-2:])  # type: ignore[union-attr]

    @property
    def is_complex(self) -> bool:
        """True when the data carry phase: complex images, and all k-space."""
        return self.kspace is not None or (self.image is not None and np.iscomplexobj(self.image))

    @property
    def undersampled(self) -> bool:
        """True when only part of k-space was acquired (``mask`` is set and not all True)."""
        return self.mask is not None and not bool(np.all(self.mask))

    @property
    def has_reference(self) -> bool:
        """True when a fully sampled reference exists: complete k-space, a stored reference
        reconstruction, or an image stored beside undersampled k-space (an NPZ ``image``)."""
        return not self.undersampled or self.reference is not None or self.image is not None

    @property
    def is_multicoil(self) -> bool:
        """True for multi-coil k-space (C, H, W), C > 1 (or stored with a coil axis)."""
        return self.kspace is not None and self.kspace.ndim == 3

    def display_image(self) -> np.ndarray:
        """The ground-truth-like magnitude image to show, float32 (H, W), original units.

        ``|image|`` when an image is present; otherwise the root-sum-of-squares over coils of
        ``ifft2c(kspace)`` (plain magnitude for single-coil k-space), i.e. the fully sampled
        zero-filled reconstruction.
        """
        if self.image is not None:
            return np.abs(self.image).astype(np.float32)
        coil_images = ifft2c(self.kspace)
        if coil_images.ndim == 2:
            return np.abs(coil_images).astype(np.float32)
        return np.sqrt(np.sum(np.abs(coil_images) ** 2, axis=0)).astype(np.float32)
