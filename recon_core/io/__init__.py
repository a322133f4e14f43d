"""Reading users' files, preparing them to a working matrix, and exporting results.

Loaders (all return :class:`LoadedData`, all raise :class:`DataLoadError` for bad input):
:func:`load_file` (dispatch), :func:`load_files` (uploads, BART pairs), and the per-format
:func:`load_hdf5` (fastMRI, ISMRMRD or MATLAB v7.3 by content), :func:`load_fastmri_h5`,
:func:`load_ismrmrd`, :func:`load_twix` (Siemens ``.dat``), :func:`load_matlab`,
:func:`load_dicom`, :func:`load_nifti`, :func:`load_picture`, :func:`load_npy`,
:func:`load_npz`, :func:`load_bart`. Parsers of formats whose libraries are unsafe against
hostile files (HDF5, MAT, twix) run in a helper process (:mod:`recon_core.io.isolated`). Sizes are bounded by :class:`LoadLimits`;
which slice, axis, kind (image or k-space) and ``.npz`` array to load are :class:`LoadOptions`.

What a file holds: axis roles guessed and reported (:func:`guess_axes`, :data:`AXIS_ROLES`),
already-undersampled k-space detected (:func:`acquired_pattern`, :func:`mark_acquired`).

Preparation: :func:`prepare` -> :class:`PreparedData` (crop/pad or resize, magnitude scaled to
max 1 with the scale kept). Export: :func:`to_png_bytes`, :func:`to_npy_bytes`,
:func:`to_npz_bytes`, :func:`config_to_json`, :func:`config_from_json`.
"""

from recon_core.io._arrays import looks_like_kspace
from recon_core.io.acquired import Acquisition, acquired_pattern, mark_acquired
from recon_core.io.layout import arrange, describe_axes, guess_axes
from recon_core.io.bart import load_bart, parse_bart_header
from recon_core.io.dicom import load_dicom
from recon_core.io.export import (
    config_from_json,
    config_to_json,
    to_npy_bytes,
    to_npz_bytes,
    to_png_bytes,
)
from recon_core.io.fastmri import load_fastmri_h5
from recon_core.io.hdf5 import load_hdf5
from recon_core.io.ismrmrd import load_ismrmrd
from recon_core.io.matlab import load_matlab
from recon_core.io.twix import load_twix
from recon_core.io.limits import DEFAULT_LIMITS, REASONS, DataLoadError, LoadLimits
from recon_core.io.load import detect_format, load_file, load_files, supported_extensions
from recon_core.io.loaded import LoadedData
from recon_core.io.nifti import load_nifti
from recon_core.io.npy import load_npy, load_npz, read_npy_header
from recon_core.io.options import AXIS_ROLES, KINDS, LoadOptions
from recon_core.io.prepare import PreparedData, crop_or_pad, prepare
from recon_core.io.raster import load_picture

__all__ = [
    "AXIS_ROLES",
    "Acquisition",
    "DEFAULT_LIMITS",
    "KINDS",
    "REASONS",
    "DataLoadError",
    "LoadLimits",
    "LoadOptions",
    "LoadedData",
    "PreparedData",
    "acquired_pattern",
    "arrange",
    "config_from_json",
    "config_to_json",
    "crop_or_pad",
    "describe_axes",
    "detect_format",
    "guess_axes",
    "load_bart",
    "load_dicom",
    "load_fastmri_h5",
    "load_hdf5",
    "load_ismrmrd",
    "load_matlab",
    "load_twix",
    "load_file",
    "load_files",
    "load_nifti",
    "load_npy",
    "load_npz",
    "load_picture",
    "looks_like_kspace",
    "mark_acquired",
    "parse_bart_header",
    "prepare",
    "read_npy_header",
    "supported_extensions",
    "to_npy_bytes",
    "to_npz_bytes",
    "to_png_bytes",
]
