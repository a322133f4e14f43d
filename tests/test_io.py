"""Tests for recon_core.io: every format written inside the test, round trips, refusals, fuzzing."""

from __future__ import annotations

import gzip
import io
import json
import signal
import tracemalloc
import warnings
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import h5py
import nibabel as nib
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from recon_core.ops.fft import fft2c, ifft2c
from recon_core.io import (
    DEFAULT_LIMITS,
    REASONS,
    DataLoadError,
    LoadedData,
    LoadLimits,
    LoadOptions,
    PreparedData,
    config_from_json,
    config_to_json,
    crop_or_pad,
    detect_format,
    load_bart,
    load_fastmri_h5,
    load_file,
    load_files,
    load_npy,
    load_npz,
    looks_like_kspace,
    prepare,
    read_npy_header,
    supported_extensions,
    to_npy_bytes,
    to_npz_bytes,
    to_png_bytes,
)
from recon_core.io import isolated as isolated_module

# --------------------------------------------------------------------------- writers


def cplx(rng, shape) -> np.ndarray:
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex64)


def write_fastmri(
    path: Path, rng, *, multicoil: bool, slices=4, coils=3, h=32, w=24, extra=None
) -> dict:
    """fastMRI layout: kspace (slices[, coils], H, W) complex64 plus a 16x16 reference."""
    shape = (slices, coils, h, w) if multicoil else (slices, h, w)
    arrays = {"kspace": cplx(rng, shape)}
    ref_name = "reconstruction_rss" if multicoil else "reconstruction_esc"
    arrays[ref_name] = rng.random((slices, 16, 16)).astype(np.float32)
    arrays.update(extra or {})
    with h5py.File(path, "w") as f:
        for k, v in arrays.items():
            f.create_dataset(k, data=v)
        f.attrs["acquisition"] = "CORPD_FBK"
        f.attrs["max"] = 0.25
        f.attrs["patient_id"] = "secret"
    return arrays


def h5_bytes(**datasets) -> bytes:
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        for k, v in datasets.items():
            f.create_dataset(k, data=v)
    return buf.getvalue()


def dicom_bytes(pixels: np.ndarray, *, slope=None, intercept=None, window=None) -> bytes:
    """A minimal valid 16-bit MR DICOM file (explicit VR little endian); 3-D input: frames."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = MRImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = MRImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "MR"
    ds.PatientName = "Test^Phantom"
    ds.Rows, ds.Columns = pixels.shape[-2:]
    if pixels.ndim == 3:
        ds.NumberOfFrames = pixels.shape[0]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    if slope is not None:
        ds.RescaleSlope, ds.RescaleIntercept = slope, intercept
    if window is not None:
        ds.WindowCenter, ds.WindowWidth = window
    ds.PixelData = pixels.astype("<u2").tobytes()
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def nifti_bytes(vol: np.ndarray, *, gz: bool, slope=None) -> bytes:
    img = nib.Nifti1Image(vol, np.eye(4))
    if slope is not None:
        img.header.set_slope_inter(slope, 0.0)
    raw = img.to_bytes()
    return gzip.compress(raw) if gz else raw


def picture_bytes(arr: np.ndarray, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format=fmt, **kw)
    return buf.getvalue()


def npy_bytes(arr, allow_pickle=False) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=allow_pickle)
    return buf.getvalue()


def bart_pair(arr: np.ndarray, dims: tuple[int, ...]) -> tuple[bytes, bytes]:
    """BART format by hand: text header and raw complex64 in Fortran order."""
    hdr = ("# Dimensions\n" + " ".join(str(d) for d in dims) + " \n").encode()
    cfl = (
        np.asarray(arr, np.complex64)
        .reshape(dims, order="F")
        .ravel(order="F")
        .astype("<c8")
        .tobytes()
    )
    return cfl, hdr


def assert_refused(
    fn, *args, reason: str | None = None, match: str | None = None, **kw
) -> DataLoadError:
    with pytest.raises(DataLoadError) as info:
        fn(*args, **kw)
    err = info.value
    assert str(err).strip(), "error message must not be empty"
    assert err.reason in REASONS
    if reason is not None:
        assert err.reason == reason, f"reason {err.reason!r} != {reason!r}: {err}"
    if match is not None:
        assert match.lower() in str(err).lower(), str(err)
    return err


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def smooth_image(h=32, w=24) -> np.ndarray:
    y, x = np.mgrid[:h, :w]
    return (np.exp(-((y - h / 2) ** 2 + (x - w / 2) ** 2) / (0.1 * h * w)) + 0.1 * x / w).astype(
        np.float32
    )


# --------------------------------------------------------------------------- fastMRI .h5


def test_fastmri_singlecoil_roundtrip(tmp_path, rng):
    arrays = write_fastmri(tmp_path / "file1000.h5", rng, multicoil=False)
    d = load_file(tmp_path / "file1000.h5", slice_index=1)
    assert isinstance(d, LoadedData) and d.format == "fastmri-h5"
    assert d.kspace.dtype == np.complex64 and d.kspace.shape == (32, 24)
    np.testing.assert_array_equal(d.kspace, arrays["kspace"][1])
    np.testing.assert_array_equal(d.reference, arrays["reconstruction_esc"][1])
    assert d.reference_name == "reconstruction_esc"
    assert (d.n_coils, d.n_slices, d.slice_index, d.image, d.is_complex) == (1, 4, 1, None, True)
    assert d.source == "fastMRI single-coil .h5, slice 1 of 4, 32x24"
    assert d.metadata["acquisition"] == "CORPD_FBK" and d.metadata["max"] == 0.25
    assert "patient_id" not in d.metadata
    np.testing.assert_allclose(
        d.display_image(), np.abs(ifft2c(arrays["kspace"][1])), rtol=1e-5, atol=1e-6
    )


def test_fastmri_multicoil_roundtrip_default_middle_slice(tmp_path, rng):
    arrays = write_fastmri(tmp_path / "m.h5", rng, multicoil=True, slices=5)
    d = load_file(str(tmp_path / "m.h5"))
    assert d.slice_index == 2 and d.n_slices == 5 and d.n_coils == 3 and d.is_multicoil
    np.testing.assert_array_equal(d.kspace, arrays["kspace"][2])
    np.testing.assert_array_equal(d.reference, arrays["reconstruction_rss"][2])
    assert d.source == "fastMRI multi-coil .h5, slice 2 of 5, 3 coils, 32x24"
    rss = np.sqrt(np.sum(np.abs(ifft2c(arrays["kspace"][2])) ** 2, axis=0))
    np.testing.assert_allclose(d.display_image(), rss, rtol=1e-5, atol=1e-6)


def test_fastmri_bytes_fileobj_and_inline_agree(tmp_path, rng):
    arrays = write_fastmri(tmp_path / "m.h5", rng, multicoil=True)
    data = (tmp_path / "m.h5").read_bytes()
    upload = io.BytesIO(data)
    upload.name = "upload.h5"
    upload.read()  # a reader may have consumed it already: the loader rewinds
    for d in (
        load_file(data, "m.h5", slice_index=3),
        load_file(upload, slice_index=3),
        load_fastmri_h5(data, "m.h5", slice_index=3, isolate=False),
    ):
        np.testing.assert_array_equal(d.kspace, arrays["kspace"][3])
    assert load_file(upload, slice_index=3).filename == "upload.h5"


def test_fastmri_test_file_mask(tmp_path, rng):
    mask = np.zeros(24, np.float32)
    mask[8:16] = 1
    write_fastmri(tmp_path / "t.h5", rng, multicoil=False, extra={"mask": mask})
    d = load_file(tmp_path / "t.h5")
    assert d.mask.shape == (32, 24) and d.mask.dtype == bool
    np.testing.assert_array_equal(d.mask[5], mask.astype(bool))
    assert "undersampled" in d.source


def test_fastmri_refusals(tmp_path, rng):
    """The checks themselves run in-process (same code as the helper process, but faster)."""
    k = cplx(rng, (2, 16, 16))

    def load_file(data, name, **kw):  # noqa: ARG001 - same signature as the dispatcher
        return load_fastmri_h5(data, name, isolate=False, **kw)

    assert_refused(
        load_file, h5_bytes(image=np.ones((4, 4))), "x.h5", reason="missing", match="no 'kspace'"
    )
    assert_refused(
        load_file,
        h5_bytes(kspace=k, reconstruction_esc=np.ones((3, 8, 8), np.float32)),
        "x.h5",
        reason="shape_mismatch",
        match="reconstruction_esc",
    )
    assert_refused(load_file, h5_bytes(kspace=k, mask=np.ones(5)), "x.h5", reason="shape_mismatch")
    assert_refused(
        load_file,
        h5_bytes(kspace=k),
        "x.h5",
        slice_index=2,
        reason="argument",
        match="out of range",
    )
    assert_refused(load_file, h5_bytes(kspace=cplx(rng, (1, 1, 1, 8, 8))), "x.h5", reason="rank")
    assert_refused(
        load_file, h5_bytes(kspace=np.array(["a", "b"], dtype="S1")), "x.h5", reason="unsupported"
    )
    assert_refused(
        load_file, h5_bytes(kspace=np.zeros((2, 0, 16), np.complex64)), "x.h5", reason="empty"
    )
    nan = k.copy()
    nan[1, 3, 3] = np.nan
    assert_refused(load_file, h5_bytes(kspace=nan), "x.h5", slice_index=1, reason="nonfinite")
    assert_refused(
        load_file, h5_bytes(kspace=np.zeros((2, 16, 16), np.complex64)), "x.h5", reason="constant"
    )
    small = LoadLimits(max_pixels=100)
    assert_refused(
        load_file, h5_bytes(kspace=k), "x.h5", limits=small, reason="too_large", match="max_pixels"
    )
    assert_refused(
        load_file,
        h5_bytes(kspace=cplx(rng, (1, 5, 16, 16))),
        "x.h5",
        limits=LoadLimits(max_coils=4),
        reason="too_large",
        match="coils",
    )
    assert_refused(load_file, b"\x89HDF\r\n\x1a\n" + bytes(200), "x.h5", reason="corrupt")
    assert_refused(load_file, b"not hdf5 at all", "x.h5", reason="corrupt", match="not an HDF5")


def test_fastmri_refusals_through_helper_process(rng):
    k = cplx(rng, (2, 16, 16))
    assert_refused(
        load_file, h5_bytes(image=np.ones((4, 4))), "x.h5", reason="missing", match="no 'kspace'"
    )
    assert_refused(load_file, h5_bytes(kspace=k), "x.h5", slice_index=5, reason="argument")
    assert_refused(
        load_file, h5_bytes(kspace=k), "x.h5", limits=LoadLimits(max_pixels=100), reason="too_large"
    )


def _fake_worker(tmp_path: Path, body: str) -> Path:
    """A directory whose ``readers`` package runs ``body`` as the helper process."""
    pkg = tmp_path / body.split("(")[0].replace(".", "_") / "readers"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "__main__.py").write_text("import os, sys, time, signal\n" + body + "\n")
    return pkg.parent


def test_fastmri_worker_crash_and_hang_become_errors(tmp_path, rng, monkeypatch):
    data = h5_bytes(kspace=cplx(rng, (2, 16, 16)))
    monkeypatch.setattr(
        isolated_module, "_IO_DIR", _fake_worker(tmp_path, "os.kill(os.getpid(), signal.SIGSEGV)")
    )
    assert_refused(load_file, data, "x.h5", reason="corrupt", match="crashed")
    monkeypatch.setattr(isolated_module, "_IO_DIR", _fake_worker(tmp_path, "time.sleep(60)"))
    assert_refused(
        load_file,
        data,
        "x.h5",
        limits=LoadLimits(timeout_s=0.5),
        reason="corrupt",
        match="longer than",
    )
    monkeypatch.setattr(
        isolated_module, "_IO_DIR", _fake_worker(tmp_path, "sys.stdout.write('garbage')")
    )
    assert_refused(load_file, data, "x.h5", reason="corrupt")


# --------------------------------------------------------------------------- DICOM


def test_dicom_16bit_roundtrip(tmp_path, rng):
    px = rng.integers(0, 4096, size=(20, 24)).astype(np.uint16)
    path = tmp_path / "IM0001.dcm"
    path.write_bytes(dicom_bytes(px, window=(1000, 2000)))
    d = load_file(path)
    assert d.format == "dicom" and d.image.dtype == np.float32
    np.testing.assert_array_equal(d.image, px.astype(np.float32))
    assert d.metadata["Modality"] == "MR" and d.metadata["WindowCenter"] == 1000.0
    assert "PatientName" not in d.metadata and not any(
        "Test" in str(v) for v in d.metadata.values()
    )
    assert d.source.startswith("DICOM MR image, 20x24")
    # no extension: found by the DICM marker
    assert load_file(path.read_bytes(), "IM0001").format == "dicom"


def test_dicom_rescale_and_frames(rng):
    px = rng.integers(0, 1000, size=(3, 16, 16)).astype(np.uint16)
    d = load_file(dicom_bytes(px, slope=0.5, intercept=-10), "multi.dcm", slice_index=2)
    np.testing.assert_array_equal(d.image, px[2] * 0.5 - 10)
    assert (d.n_slices, d.slice_index) == (3, 2) and "frame 2 of 3" in d.source


def test_dicom_refusals(rng):
    px = rng.integers(0, 1000, size=(16, 16)).astype(np.uint16)
    good = dicom_bytes(px)
    assert_refused(load_file, good[:-100], "x.dcm", reason="truncated")
    assert_refused(
        load_file, dicom_bytes(np.full((16, 16), 7, np.uint16)), "x.dcm", reason="constant"
    )
    assert_refused(load_file, good, "x.dcm", limits=LoadLimits(max_pixels=64), reason="too_large")
    assert_refused(load_file, bytes(128) + b"DICM" + bytes(50), "x.dcm")
    assert_refused(load_file, b"definitely not dicom" * 10, "x.dcm")


# --------------------------------------------------------------------------- NIfTI


@pytest.mark.parametrize("gz", [False, True])
def test_nifti_axis_and_slice(tmp_path, rng, gz):
    vol = rng.random((12, 10, 9)).astype(np.float32)
    path = tmp_path / ("brain.nii.gz" if gz else "brain.nii")
    path.write_bytes(nifti_bytes(vol, gz=gz))
    d = load_file(path)  # default: last axis, middle slice
    np.testing.assert_array_equal(d.image, vol[:, :, 4])
    assert (d.n_slices, d.slice_index, d.metadata["axis"]) == (9, 4, 2)
    d0 = load_file(path, axis=0, slice_index=3)
    np.testing.assert_array_equal(d0.image, vol[3])
    d1 = load_file(path.read_bytes(), path.name, axis=1, slice_index=9)
    np.testing.assert_array_equal(d1.image, vol[:, 9, :])
    assert d1.source.startswith("NIfTI-1 .nii") and "slice 9 of 10 (axis 1)" in d1.source


def test_nifti_scaling_complex_and_refusals(rng):
    vol = rng.integers(1, 100, size=(10, 10, 3)).astype(np.int16)
    d = load_file(nifti_bytes(vol, gz=False, slope=2.0), "s.nii", slice_index=0)
    np.testing.assert_array_equal(d.image, vol[:, :, 0] * 2.0)
    c = cplx(rng, (10, 10, 2))
    dc = load_file(nifti_bytes(c, gz=True), "c.nii.gz", slice_index=1)
    assert dc.image.dtype == np.complex64
    np.testing.assert_array_equal(dc.image, c[:, :, 1])
    assert_refused(
        load_file,
        nifti_bytes(rng.random((10, 10, 3, 2)).astype(np.float32), gz=False),
        "t.nii",
        reason="rank",
    )
    assert_refused(load_file, nifti_bytes(vol, gz=False), "s.nii", axis=3, reason="argument")
    assert_refused(load_file, nifti_bytes(vol, gz=False), "s.nii", slice_index=3, reason="argument")
    nan = rng.random((10, 10, 2)).astype(np.float32)
    nan[2, 2, 1] = np.inf
    assert_refused(
        load_file, nifti_bytes(nan, gz=False), "n.nii", slice_index=1, reason="nonfinite"
    )


def test_nifti_gz_bomb_is_refused_before_decompressing():
    """A tiny .nii.gz whose header declares a huge volume fails on the header alone."""
    hdr = nib.Nifti1Header()
    hdr.set_data_shape((20000, 20000, 500))
    hdr.set_data_dtype(np.float32)
    raw = hdr.binaryblock + b"\x00" * 4 + bytes(1 << 20)
    assert_refused(load_file, gzip.compress(raw), "bomb.nii.gz", reason="too_large")


# --------------------------------------------------------------------------- PNG / JPEG


def test_png_grey_8bit_and_16bit(tmp_path, rng):
    g8 = rng.integers(0, 256, size=(20, 30)).astype(np.uint8)
    (tmp_path / "g.png").write_bytes(picture_bytes(g8, "PNG"))
    d = load_file(tmp_path / "g.png")
    assert d.format == "png" and d.shape == (20, 30)
    np.testing.assert_array_equal(d.image, g8.astype(np.float32))
    g16 = rng.integers(0, 65536, size=(12, 14)).astype(np.uint16)
    d16 = load_file(picture_bytes(g16, "PNG"), "g16.png")
    np.testing.assert_array_equal(d16.image, g16.astype(np.float32))


def test_rgb_png_and_jpeg_to_grey(rng):
    rgb = rng.integers(0, 256, size=(16, 18, 3)).astype(np.uint8)
    luma = rgb.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    d = load_file(picture_bytes(rgb, "PNG"), "c.png")
    np.testing.assert_allclose(d.image, luma, rtol=1e-6)
    jpg = picture_bytes(rgb, "JPEG", quality=95)
    dj = load_file(jpg, "c.jpg")
    decoded = np.asarray(Image.open(io.BytesIO(jpg)).convert("RGB")).astype(np.float64)
    np.testing.assert_allclose(dj.image, decoded @ np.array([0.299, 0.587, 0.114]), rtol=1e-6)
    assert dj.format == "jpeg" and "JPEG picture (RGB)" in dj.source
    # magic bytes win over a wrong extension
    assert load_file(picture_bytes(rgb, "PNG"), "actually.jpg").format == "png"


def test_picture_refusals(rng):
    assert_refused(
        load_file,
        picture_bytes(np.full((10, 10), 9, np.uint8), "PNG"),
        "flat.png",
        reason="constant",
    )
    big = picture_bytes(rng.integers(0, 255, size=(40, 40)).astype(np.uint8), "PNG")
    assert_refused(
        load_file, big, "big.png", limits=LoadLimits(max_pixels=1000), reason="too_large"
    )
    assert_refused(
        load_file,
        picture_bytes(np.arange(12, dtype=np.uint8).reshape(3, 4), "PNG"),
        "tiny.png",
        reason="empty",
    )
    assert_refused(load_file, b"\x89PNG\r\n\x1a\n" + bytes(40), "x.png", reason="corrupt")


# --------------------------------------------------------------------------- NumPy


def test_complex_npy_roundtrip_and_kinds(rng):
    img = cplx(rng, (16, 12))
    d = load_file(npy_bytes(img), "c.npy")
    assert d.image.dtype == np.complex64 and d.kspace is None and d.is_complex
    np.testing.assert_array_equal(d.image, img)
    k = fft2c(smooth_image())
    dk = load_file(npy_bytes(k), "k.npy")
    assert dk.kspace is not None and dk.image is None and "detected" in dk.source
    np.testing.assert_array_equal(dk.kspace, k)
    assert load_file(npy_bytes(k), "k.npy", kind="image").image is not None
    dk2 = load_file(npy_bytes(img), "k.npy", kind="kspace")
    np.testing.assert_array_equal(dk2.kspace, img)
    # complex128 and big-endian / Fortran-order inputs
    np.testing.assert_array_equal(
        load_file(npy_bytes(img.astype(np.complex128)), "a.npy").image, img
    )
    f = np.asfortranarray(rng.random((9, 11)).astype(">f4"))
    np.testing.assert_array_equal(load_file(npy_bytes(f), "f.npy").image, f.astype(np.float32))


def test_looks_like_kspace(rng):
    img = smooth_image()
    assert looks_like_kspace(fft2c(img)) and looks_like_kspace(fft2c(np.stack([img, 2 * img])))
    assert not looks_like_kspace(img.astype(np.complex64))  # peak is not at the centre
    assert not looks_like_kspace(np.abs(fft2c(img)))  # real arrays are never k-space
    assert not looks_like_kspace(cplx(rng, (16, 16)))
    assert not looks_like_kspace(np.zeros((8, 8), np.complex64))
    # scale-free: k-space of values near the float64 limit is still recognised, without
    # overflow warnings; non-finite arrays are not k-space
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert looks_like_kspace(fft2c(img).astype(np.complex128) * 1e300)
        assert not looks_like_kspace(np.full((8, 8), np.inf, np.complex128))


def test_real_3d_npy_slice_and_axis(tmp_path, rng):
    vol = rng.random((9, 16, 12)).astype(np.float32)
    (tmp_path / "v.npy").write_bytes(npy_bytes(vol))
    d = load_file(tmp_path / "v.npy", slice_index=4)
    np.testing.assert_array_equal(d.image, vol[4])
    assert (d.n_slices, d.slice_index) == (9, 4) and "slice 4 of 9 (axis 0)" in d.source
    d2 = load_file(tmp_path / "v.npy", axis=2, slice_index=10)
    np.testing.assert_array_equal(d2.image, vol[:, :, 10])
    # singleton leading axes of a 5-D array are dropped
    np.testing.assert_array_equal(
        load_file(npy_bytes(vol[None, None]), "v.npy", slice_index=1).image, vol[1]
    )


def test_multicoil_kspace_npy(rng):
    k, _ = _multicoil_kspace()
    d = load_file(npy_bytes(k), "k.npy")
    assert d.is_multicoil and d.n_coils == 4
    np.testing.assert_array_equal(d.kspace, k)
    d4 = load_file(npy_bytes(np.stack([k, 2 * k])), "k4.npy", slice_index=1)
    np.testing.assert_array_equal(d4.kspace, 2 * k)


def _multicoil_kspace():
    from recon_core.coils import simulate_multicoil

    return simulate_multicoil(smooth_image(), n_coils=4)


def test_npz_roundtrip_with_export(rng):
    img = smooth_image()
    k = fft2c(img)
    mask = np.zeros(img.shape, bool)
    mask[:, 8:16] = True
    data = to_npz_bytes(image=img, kspace=k, mask=mask)
    d = load_file(data, "result.npz")
    assert d.format == "npz"
    np.testing.assert_array_equal(d.image, img)
    np.testing.assert_array_equal(d.kspace, k)
    np.testing.assert_array_equal(d.mask, mask)
    only = load_npz(data, "r.npz", key="image")
    np.testing.assert_array_equal(only.image, img)
    assert only.kspace is None
    np.savez(buf := io.BytesIO(), a=img, b=img)
    assert_refused(load_file, buf.getvalue(), "two.npz", reason="argument", match="key=")
    assert_refused(load_file, data, "r.npz", key="nope", reason="argument")
    bad = to_npz_bytes(kspace=k, image=img[:-1])
    assert_refused(load_file, bad, "bad.npz", reason="shape_mismatch")


class _Trap:
    """Unpickling this object would record it: the loaders must never do so."""

    fired: list = []

    def __reduce__(self):
        return (_Trap.fired.append, ("unpickled!",))


def test_pickled_object_array_is_refused():
    obj = np.empty((8, 8), dtype=object)
    obj[:] = _Trap()
    data = npy_bytes(obj, allow_pickle=True)
    err = assert_refused(load_file, data, "evil.npy", reason="unsupported", match="pickle")
    assert "object" in str(err)
    buf = io.BytesIO()
    np.savez(buf, image=obj)
    assert_refused(load_file, buf.getvalue(), "evil.npz", reason="unsupported", match="pickle")
    assert _Trap.fired == []


def test_npy_refusals(rng):
    assert_refused(load_file, npy_bytes(np.arange(10.0)), "a.npy", reason="rank", match="1-D")
    five = rng.random((2, 2, 2, 8, 8))  # extra axes: the first entry of each is used, and said so
    d = load_file(npy_bytes(five), "a.npy", slice_index=1)
    np.testing.assert_array_equal(d.image, five[0, 0, 1].astype(np.float32))
    assert d.axes_guessed and d.axes_roles == ("other", "other", "slice", "row", "col")
    assert "axis 0: entry 0 of 2" in d.source and "guessed" in d.axes
    assert_refused(load_file, npy_bytes(np.zeros((0, 8))), "a.npy", reason="empty")
    assert_refused(
        load_file, npy_bytes(np.zeros((16, 16))), "a.npy", reason="constant", match="constant"
    )
    nan = rng.random((16, 16))
    nan[3, 4] = np.nan
    assert_refused(load_file, npy_bytes(nan), "a.npy", reason="nonfinite", match="1 NaN")
    assert_refused(
        load_file,
        npy_bytes(np.full((16, 16), 1e300) * rng.random((16, 16))),
        "a.npy",
        reason="nonfinite",
    )
    assert_refused(load_file, npy_bytes(np.array([["a"] * 16] * 16)), "s.npy", reason="unsupported")
    assert_refused(
        load_file, npy_bytes(rng.random((16, 16))), "a.npy", slice_index=1, reason="argument"
    )
    assert_refused(
        load_file, npy_bytes(rng.random((16, 16))), "a.npy", kind="coils", reason="argument"
    )
    assert_refused(
        load_file,
        npy_bytes(rng.random((64, 64))),
        "a.npy",
        limits=LoadLimits(max_file_bytes=1000),
        reason="too_large",
        match="max_file_bytes",
    )
    assert_refused(
        load_file,
        npy_bytes(rng.random((64, 64))),
        "a.npy",
        limits=LoadLimits(max_total_elements=1000),
        reason="too_large",
    )


def crafted_npy(shape, descr="<f8", payload=b"", fortran=False) -> bytes:
    header = repr({"descr": descr, "fortran_order": fortran, "shape": tuple(shape)}).encode()
    header += b" " * (63 - (len(header) + 10) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + payload


def test_huge_declared_shape_refused_before_allocation():
    data = crafted_npy((10**6, 10**6, 10**6), payload=bytes(64))
    tracemalloc.start()
    try:
        assert_refused(load_file, data, "huge.npy", reason="too_large")
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("image.npy", data)
        assert_refused(load_file, buf.getvalue(), "huge.npz", reason="too_large")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5 * 1024**2, f"peak traced memory {peak} bytes"
    # within the limits but not backed by data: truncated, not allocated
    assert_refused(
        load_file,
        crafted_npy((4000, 4000), payload=bytes(64)),
        "t.npy",
        reason="truncated",
        match="only 64 bytes",
    )


def test_read_npy_header_checks():
    assert read_npy_header(io.BytesIO(crafted_npy((3, 5), "<c8")).read, "x") == (
        (3, 5),
        False,
        np.dtype("<c8"),
    )
    assert_refused(
        read_npy_header, io.BytesIO(b"\x93NUMPY\x09\x00").read, "x", reason="unsupported"
    )
    assert_refused(
        read_npy_header, io.BytesIO(b"\x93NUMPY\x01\x00\xff\xff").read, "x", reason="corrupt"
    )
    assert_refused(read_npy_header, io.BytesIO(crafted_npy((3,), "|O")).read, "x", match="pickle")


# --------------------------------------------------------------------------- BART


def test_bart_pair_paths_bytes_and_upload(tmp_path, rng):
    img = cplx(rng, (16, 12))
    cfl, hdr = bart_pair(img, (16, 12, 1, 1, 1))
    (tmp_path / "img.cfl").write_bytes(cfl)
    (tmp_path / "img.hdr").write_bytes(hdr)
    for d in (
        load_bart(tmp_path / "img.cfl", tmp_path / "img.hdr", kind="image"),
        load_file(tmp_path / "img.cfl", kind="image"),
        load_file(tmp_path / "img.hdr", kind="image"),
        load_files({"img.hdr": hdr, "img.cfl": cfl}, kind="image"),
    ):
        assert d.format == "bart"
        np.testing.assert_array_equal(d.image, img)
    # Streamlit-style list of named file objects
    ups = []
    for name, data in (("img.cfl", cfl), ("img.hdr", hdr)):
        f = io.BytesIO(data)
        f.name = name
        ups.append(f)
    np.testing.assert_array_equal(load_files(ups, kind="image").image, img)


def test_bart_multicoil_kspace_and_slices(rng):
    k, _ = _multicoil_kspace()  # (4, 32, 24)
    cfl, hdr = bart_pair(np.moveaxis(k, 0, -1)[:, :, None, :], (32, 24, 1, 4))
    d = load_bart(cfl, hdr)
    assert d.n_coils == 4
    np.testing.assert_array_equal(d.kspace, k)
    vol = cplx(rng, (16, 12, 3))  # slices along PHS2
    cfl, hdr = bart_pair(vol, (16, 12, 3))
    d = load_bart(cfl, hdr, kind="image", slice_index=2)
    np.testing.assert_array_equal(d.image, vol[:, :, 2])
    assert d.n_slices == 3


def test_bart_refusals(tmp_path, rng):
    cfl, hdr = bart_pair(cplx(rng, (16, 12)), (16, 12))
    assert_refused(load_bart, cfl[:-8], hdr, reason="truncated", match="declares dims")
    assert_refused(load_bart, cfl + bytes(8), hdr, reason="shape_mismatch")
    assert_refused(load_bart, cfl, b"# Dims\n16 12\n", reason="corrupt")
    assert_refused(load_bart, cfl, b"# Dimensions\n16 x\n", reason="corrupt")
    assert_refused(load_bart, cfl, b"# Dimensions\n16 0\n", reason="empty")
    assert_refused(load_bart, cfl, b"# Dimensions\n4000 4000 4000\n", reason="too_large")
    # two sets of maps (BART's MAPS axis): read by meaning, the first set used and said so
    maps = cplx(rng, (8, 8, 2, 1, 2))
    d = load_bart(*bart_pair(maps, (8, 8, 2, 1, 2)), kind="image", slice_index=1)
    np.testing.assert_array_equal(d.image, maps[:, :, 1, 0, 0])
    assert "MAPS: entry 0 of 2" in d.source
    assert_refused(load_bart, *bart_pair(maps, (8, 8, 2, 1, 2)), axes=("row", "col"), reason="argument")
    assert_refused(load_file, cfl, "img.cfl", reason="missing", match=".hdr")
    (tmp_path / "lonely.cfl").write_bytes(cfl)
    assert_refused(load_file, tmp_path / "lonely.cfl", reason="missing", match="lonely.hdr")
    (tmp_path / "analyze.hdr").write_bytes(bytes(348))
    assert_refused(load_file, tmp_path / "analyze.hdr", reason="unsupported")
    assert_refused(load_files, {"a.cfl": cfl, "b.hdr": hdr}, reason="argument")
    assert_refused(load_files, {"a.png": b"1", "b.png": b"2", "c.png": b"3"}, reason="argument")


# --------------------------------------------------------------------------- dispatch, refusals


def test_dispatch_and_unsupported(tmp_path):
    assert detect_format(b"\x93NUMPY" + bytes(20), "x.bin") == "npy"
    assert detect_format(b"PK\x03\x04" + bytes(20), "x") == "npz"
    assert_refused(load_file, b"some text", "notes.txt", reason="unsupported", match=".npy")
    assert_refused(load_file, b"", "x.npy", reason="empty", match="0 bytes")
    assert_refused(load_file, tmp_path / "missing.npy", reason="missing")
    assert_refused(load_file, tmp_path, reason="missing")
    assert_refused(
        load_file, b"x" * 2000, "x.npy", limits=LoadLimits(max_file_bytes=1000), reason="too_large"
    )
    assert {"h5", "dcm", "nii", "nii.gz", "png", "jpg", "npy", "npz", "cfl", "hdr"} <= set(
        supported_extensions()
    )
    with pytest.raises(TypeError):
        load_file(12345)  # a programming error, not bad data
    with pytest.raises(ValueError, match="max_pixels"):
        LoadLimits(max_pixels=0)


def test_load_options_are_one_definition(rng):
    """Keywords and a LoadOptions object mean the same; bad names and values are refused once."""
    stack = rng.random((3, 16, 16)).astype(np.float32)
    data = npy_bytes(stack)
    assert LoadOptions() == LoadOptions(
        slice_index=None, axis=None, kind="auto", key=None, axes=None, limits=DEFAULT_LIMITS
    )
    opts = LoadOptions(slice_index=2, kind="image")
    by_object = load_file(data, "s.npy", options=opts)
    np.testing.assert_array_equal(by_object.image, stack[2])
    for loader in (load_file, load_npy):
        np.testing.assert_array_equal(
            loader(data, "s.npy", slice_index=2, kind="image").image, by_object.image
        )
    np.testing.assert_array_equal(load_files({"s.npy": data}, options=opts).image, stack[2])
    merged = load_file(data, "s.npy", options=opts, slice_index=0)  # keywords win
    np.testing.assert_array_equal(merged.image, stack[0])
    np.testing.assert_array_equal(
        load_npz(to_npz_bytes(a=stack, b=stack[0]), "ab.npz", options=LoadOptions(key="a")).image,
        stack[1],
    )
    cfl, hdr = bart_pair(cplx(rng, (16, 12)), (16, 12))
    assert load_bart(cfl, hdr, options=LoadOptions(kind="image", axis=1)).format == "bart"
    # an unknown keyword, or one the loader does not take, is a TypeError that names it
    for call, bad in (
        (lambda: load_file(data, "s.npy", slice=1), "'slice'"),
        (lambda: load_files({"s.npy": data}, index=1), "'index'"),
        (lambda: load_npy(data, "s.npy", key="a"), "'key'"),
        (lambda: load_bart(cfl, hdr, axis=0), "'axis'"),
    ):
        with pytest.raises(TypeError, match=bad):
            call()
    with pytest.raises(TypeError, match="LoadOptions"):
        load_file(data, "s.npy", options={"kind": "image"})
    with pytest.raises(TypeError, match="LoadLimits"):
        LoadOptions(limits={"max_pixels": 10})
    # each field's value is checked where the options are made, before any file is read
    for field, value, match in (
        ("kind", "coils", "kind must be one of"),
        ("slice_index", 1.5, "slice_index must be an integer"),
        ("slice_index", True, "slice_index must be an integer"),
        ("axis", "1", "axis must be an integer"),
        ("key", 3, "key must be"),
    ):
        assert_refused(LoadOptions, reason="argument", match=match, **{field: value})
        assert_refused(load_file, b"", "x.npy", reason="argument", match=match, **{field: value})
    # options that cannot apply to the format are refused, whichever way they come
    assert_refused(load_npy, data, "s.npy", options=LoadOptions(key="a"), reason="argument")
    assert_refused(load_files, {"a.cfl": cfl, "a.hdr": hdr}, key="a", reason="argument")


def _valid_files(rng) -> dict[str, bytes]:
    img16 = rng.integers(0, 4000, size=(16, 16)).astype(np.uint16)
    return {
        "a.h5": h5_bytes(
            kspace=cplx(rng, (2, 16, 16)),
            reconstruction_esc=rng.random((2, 8, 8)).astype(np.float32),
        ),
        "a.dcm": dicom_bytes(img16),
        "a.nii": nifti_bytes(rng.random((16, 16, 3)).astype(np.float32), gz=False),
        "a.nii.gz": nifti_bytes(rng.random((16, 16, 3)).astype(np.float32), gz=True),
        "a.png": picture_bytes(rng.integers(0, 255, size=(16, 16)).astype(np.uint8), "PNG"),
        "a.jpg": picture_bytes(rng.integers(0, 255, size=(16, 16, 3)).astype(np.uint8), "JPEG"),
        "a.npy": npy_bytes(cplx(rng, (16, 16))),
        "a.npz": to_npz_bytes(image=rng.random((16, 16))),
    }


def test_truncated_files_are_refused(rng):
    for name, data in _valid_files(rng).items():
        assert isinstance(load_file(data, name), LoadedData), name
        for cut in (len(data) // 2, len(data) * 9 // 10):
            assert_refused(load_file, data[:cut], name)
    cfl, hdr = bart_pair(cplx(rng, (16, 16)), (16, 16))
    assert_refused(load_bart, cfl[: len(cfl) // 2], hdr, reason="truncated")


# --------------------------------------------------------------------------- LoadedData


def test_loaded_data_is_read_only_and_checked(rng):
    d = load_file(npy_bytes(rng.random((16, 16)).astype(np.float32)), "a.npy")
    with pytest.raises(ValueError):
        d.image[0, 0] = 1
    with pytest.raises(AttributeError):
        d.image = None
    with pytest.raises(TypeError):
        d.metadata["x"] = 1
    with pytest.raises(ValueError, match="neither"):
        LoadedData(
            image=None, kspace=None, n_coils=1, n_slices=1, slice_index=0, source="", format="array"
        )
    with pytest.raises(ValueError, match="coil"):
        LoadedData(None, np.zeros((3, 8, 8), np.complex64), 2, 1, 0, "", "array")


# --------------------------------------------------------------------------- prepare


@pytest.mark.parametrize("size", [(16, 16), (15, 9), (40, 33), 17])
def test_prepare_crop_pad_any_parity(size):
    img = smooth_image(32, 24)
    p = prepare(img, size)
    hw = (size, size) if isinstance(size, int) else size
    assert isinstance(p, PreparedData) and p.target.shape == hw and p.size == hw
    assert float(p.target.max()) == pytest.approx(1.0)
    np.testing.assert_allclose(p.to_original(p.image), crop_or_pad(img, hw), rtol=1e-6)
    assert p.scale == pytest.approx(float(crop_or_pad(img, hw).max()))


def test_crop_or_pad_keeps_centre():
    for n_in in (5, 6):
        for n_out in (3, 4, 8, 9):
            x = np.zeros((n_in, n_in))
            x[n_in // 2, n_in // 2] = 1
            y = crop_or_pad(x, (n_out, n_out))
            assert y[n_out // 2, n_out // 2] == 1 and y.sum() == 1


def test_prepare_kspace_crops_in_image_space(rng):
    k = fft2c(cplx(rng, (32, 24)))
    d = load_file(npy_bytes(k), "k.npy", kind="kspace")
    p = prepare(d, (20, 20))
    expected = crop_or_pad(ifft2c(k), (20, 20))
    np.testing.assert_allclose(p.to_original(p.image), expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(p.kspace * p.scale, fft2c(expected), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(p.target, np.abs(p.image), rtol=1e-6)


def test_prepare_multicoil_target_is_rss_and_reference_cropped(tmp_path, rng):
    arrays = write_fastmri(tmp_path / "m.h5", rng, multicoil=True, h=40, w=30)
    d = load_file(tmp_path / "m.h5", slice_index=0)
    p = prepare(d, 16)
    coil = crop_or_pad(ifft2c(arrays["kspace"][0]), (16, 16))
    rss = np.sqrt(np.sum(np.abs(coil) ** 2, axis=0))
    np.testing.assert_allclose(p.target * p.scale, rss, rtol=1e-4)
    assert p.kspace.shape == (3, 16, 16) and p.n_coils == 3
    np.testing.assert_allclose(p.reference * p.scale, arrays["reconstruction_rss"][0], rtol=1e-6)


def test_prepare_resize_modes():
    img = smooth_image(32, 24)
    p = prepare(img, (64, 48), mode="resize")
    assert p.target.shape == (64, 48)
    assert abs(p.scale - img.max()) / img.max() < 0.05
    const = np.ones((16, 16), np.complex64) * 3
    const[0, 0] = 0  # not constant
    pk = prepare(const, (8, 8), mode="resize")  # complex: Fourier resampling keeps amplitude
    assert pk.image.dtype == np.complex64 and pk.scale == pytest.approx(3.0, rel=0.2)
    with pytest.raises(DataLoadError, match="constant"):
        prepare(np.ones((8, 8)))
    with pytest.raises(DataLoadError, match="constant"):
        prepare(
            np.pad(np.ones((4, 4)), 6, constant_values=5), (4, 4)
        )  # the crop keeps only the ones
    with pytest.raises(ValueError, match="mode"):
        prepare(img, 8, mode="stretch")
    with pytest.raises(ValueError, match="size"):
        prepare(img, (0, 4))


def test_prepare_keeps_column_mask(tmp_path, rng):
    mask = np.zeros(24, np.float32)
    mask[8:16] = 1
    write_fastmri(tmp_path / "t.h5", rng, multicoil=False, h=40, extra={"mask": mask})
    d = load_file(tmp_path / "t.h5")
    p = prepare(d, (20, 24))
    assert p.mask.shape == (20, 24) and p.mask[0].tolist() == mask.astype(bool).tolist()
    # a crop across the undersampled direction would fill in the missing columns: refused
    with pytest.raises(DataLoadError, match="already undersampled") as info:
        prepare(d, (20, 20))
    assert info.value.reason == "argument"
    r = prepare(d, (20, 20), mode="resize")  # k-space crop: the mask is cropped with it
    assert r.mask.shape == (20, 20) and not r.has_reference  # the stored reference is not resized
    assert r.mask[0].tolist() == mask.astype(bool)[2:22].tolist()


# --------------------------------------------------------------------------- export


def test_png_export_window_roundtrip():
    img = np.linspace(0, 2, 64).reshape(8, 8)
    data = to_png_bytes(img, window=(0.5, 1.5))
    back = load_file(data, "export.png").image
    expected = np.round(np.clip((img - 0.5), 0, 1) * 255)
    np.testing.assert_array_equal(back, expected)
    np.testing.assert_array_equal(
        load_file(to_png_bytes(img), "e.png").image, np.round(img / 2 * 255)
    )
    with pytest.raises(ValueError, match="window"):
        to_png_bytes(img, window=(1, 1))
    with pytest.raises(ValueError, match="NaN"):
        to_png_bytes(np.full((4, 4), np.nan))


def test_npy_export_roundtrip(rng):
    k = cplx(rng, (3, 8, 8))
    np.testing.assert_array_equal(np.load(io.BytesIO(to_npy_bytes(k)), allow_pickle=False), k)
    with pytest.raises(ValueError, match="numeric"):
        to_npy_bytes(np.array([object()]))
    with pytest.raises(ValueError, match="name"):
        to_npz_bytes(**{"bad/name": np.ones(2)})


@dataclass(frozen=True)
class _SolverConfig:
    lam: float = 0.01
    n_iter: int = 50


def test_config_json_roundtrip_and_refusals():
    cfg = {
        "file": "brain.h5",
        "slice": 3,
        "mask": {"kind": "random", "acc": 4, "seed": np.int64(0)},
        "solver": _SolverConfig(),
        "window": (0.0, 1.0),
        "flag": True,
        "none": None,
    }
    text = config_to_json(cfg)
    back = config_from_json(text)
    assert back["solver"] == {"lam": 0.01, "n_iter": 50} and back["window"] == [0.0, 1.0]
    assert back["mask"]["seed"] == 0 and json.loads(text)["schema"] == "mri-recon-lab/config"
    assert config_from_json(text.encode()) == back
    with pytest.raises(ValueError, match="NaN"):
        config_to_json({"lam": float("nan")})
    with pytest.raises(ValueError, match="ndarray"):
        config_to_json({"x": np.ones(3)})
    assert_refused(config_from_json, "{not json", reason="corrupt", match="line 1")
    assert_refused(config_from_json, '{"schema": "other"}', reason="unsupported")
    assert_refused(
        config_from_json,
        text.replace('"version": 1', '"version": 99'),
        reason="unsupported",
        match="newer",
    )
    assert_refused(config_from_json, text.replace("0.01", "NaN"), reason="nonfinite")
    deep = (
        '{"schema": "mri-recon-lab/config", "version": 1, "config": '
        + '{"a": ' * 100
        + "1"
        + "}" * 101
    )
    assert_refused(config_from_json, deep, match="nested")
    assert_refused(config_from_json, "[" * 100_000 + "]" * 100_000, match="nested")
    assert_refused(config_from_json, b"\xff\xfe", reason="corrupt")
    assert_refused(config_from_json, "x" * 2_000_000, reason="too_large")


# --------------------------------------------------------------------------- property tests


class Hang(Exception):
    pass


@contextmanager
def hard_timeout(seconds: float):
    """Fail a call that runs longer than ``seconds`` (deadline only reports slowness afterwards)."""

    def handler(signum, frame):
        raise Hang(f"call took longer than {seconds} s")

    old = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


FUZZ_LIMITS = LoadLimits(
    max_file_bytes=1 << 20, max_pixels=512 * 512, max_total_elements=1 << 20, timeout_s=10
)


def check_outcome(call, *args, **kw) -> LoadedData | None:
    """The call returns a valid LoadedData or raises a ValueError with a message; nothing else."""
    try:
        with hard_timeout(20):
            d = call(*args, **kw)
    except ValueError as exc:
        assert str(exc).strip(), f"{type(exc).__name__} without a message"
        if isinstance(exc, DataLoadError):
            assert exc.reason in REASONS
        return None
    assert isinstance(d, LoadedData)
    assert isinstance(d.source, str) and d.source
    for arr in (d.image, d.kspace):
        if arr is not None:
            assert arr.dtype in (np.float32, np.complex64) and np.all(np.isfinite(arr))
            assert arr.shape[-2] * arr.shape[-1] <= FUZZ_LIMITS.max_pixels
            assert min(arr.shape[-2:]) >= FUZZ_LIMITS.min_side
    assert 0 <= d.slice_index < d.n_slices
    return d


EXTS = ["h5", "dcm", "nii", "nii.gz", "png", "jpg", "npy", "npz", "cfl", "hdr", "txt", ""]
MAGICS = [
    b"",
    b"\x93NUMPY\x01\x00",
    b"\x93NUMPY\x02\x00",
    b"PK\x03\x04",
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",
    bytes(128) + b"DICM",
    b"\x1f\x8b\x08\x00",
    b"# Dimensions\n",
    b"\\\x01\x00\x00",
]


@pytest.mark.filterwarnings("ignore::UserWarning")  # pydicom/nibabel complain about junk
@settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(magic=st.sampled_from(MAGICS), body=st.binary(max_size=2048), ext=st.sampled_from(EXTS))
def test_fuzz_random_bytes_every_extension(magic, body, ext):
    check_outcome(load_file, magic + body, f"fuzz.{ext}" if ext else "fuzz", limits=FUZZ_LIMITS)


_VALID_CACHE: dict[str, bytes] = {}


def _valid(name: str) -> bytes:
    if not _VALID_CACHE:
        _VALID_CACHE.update(_valid_files(np.random.default_rng(7)))
    return _VALID_CACHE[name]


@st.composite
def mutations(draw, names):
    name = draw(st.sampled_from(names))
    data = bytearray(_valid(name))
    for _ in range(draw(st.integers(1, 8))):
        pos = draw(st.integers(0, len(data) - 1))
        data[pos] = draw(st.integers(0, 255))
    cut = draw(st.one_of(st.none(), st.integers(0, len(data))))
    return name, bytes(data[:cut] if cut is not None else data)


@pytest.mark.filterwarnings("ignore::UserWarning")  # pydicom/nibabel complain about junk
@settings(max_examples=250, deadline=3000, suppress_health_check=[HealthCheck.too_slow])
@given(mutations(["a.dcm", "a.nii", "a.nii.gz", "a.png", "a.jpg", "a.npy", "a.npz"]))
def test_fuzz_mutated_valid_files(case):
    name, data = case
    check_outcome(load_file, data, name, limits=FUZZ_LIMITS)


@pytest.mark.filterwarnings("ignore::UserWarning")  # pydicom/nibabel complain about junk
@pytest.mark.slow
@settings(max_examples=30, deadline=None)
@given(mutations(["a.h5"]))
def test_fuzz_mutated_hdf5_never_crashes_the_interpreter(case):
    name, data = case
    check_outcome(load_file, data, name, limits=FUZZ_LIMITS)


HOSTILE_DTYPES = st.sampled_from(
    [
        np.bool_,
        np.int8,
        np.uint8,
        np.int16,
        np.uint16,
        np.int32,
        np.uint64,
        np.int64,
        np.float16,
        np.float32,
        np.float64,
        np.longdouble,
        np.complex64,
        np.complex128,
        np.dtype(">f4"),
        np.dtype(">c8"),
    ]
)


@settings(max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(
    arr=hnp.arrays(
        HOSTILE_DTYPES, hnp.array_shapes(min_dims=0, max_dims=5, min_side=0, max_side=12)
    ),
    container=st.sampled_from(["npy", "npz"]),
    kind=st.sampled_from(["auto", "image", "kspace"]),
    slice_index=st.one_of(st.none(), st.integers(-1, 12)),
    fortran=st.booleans(),
)
def test_fuzz_hostile_arrays(arr, container, kind, slice_index, fortran):
    if fortran:
        arr = np.asfortranarray(arr)
    data = npy_bytes(arr) if container == "npy" else to_npz_bytes(data=arr)
    d = check_outcome(
        load_file, data, f"h.{container}", kind=kind, slice_index=slice_index, limits=FUZZ_LIMITS
    )
    if d is not None and d.image is not None and arr.ndim == 2:  # oracle: the values themselves
        want = arr.astype(np.complex64 if arr.dtype.kind == "c" else np.float32)
        np.testing.assert_array_equal(d.image, want)


@settings(max_examples=100, deadline=2000)
@given(
    shape=st.lists(st.integers(0, 2**62), min_size=0, max_size=6),
    descr=st.sampled_from(
        ["<f8", "<c8", "|b1", "<i2", "|O", "<U4", "|V8", "<M8[s]", "[('a', '<f4')]"]
    ),
    payload=st.binary(max_size=256),
)
def test_fuzz_crafted_npy_headers(shape, descr, payload):
    try:
        data = crafted_npy(shape, descr if not descr.startswith("[") else [("a", "<f4")], payload)
    except OverflowError:
        return
    d = check_outcome(load_file, data, "c.npy", limits=FUZZ_LIMITS)
    assert d is None or len(payload) >= 64  # valid only when the payload really holds the data


@settings(max_examples=150, deadline=2000)
@given(
    dims=st.lists(st.integers(0, 40), min_size=0, max_size=17),
    delta=st.integers(-16, 16),
    noise=st.binary(min_size=8, max_size=8),
    kind=st.sampled_from(["auto", "image", "kspace"]),
    slice_index=st.one_of(st.none(), st.integers(0, 3)),
)
def test_fuzz_bart_pairs(dims, delta, noise, kind, slice_index):
    hdr = ("# Dimensions\n" + " ".join(map(str, dims)) + "\n").encode()
    n = int(np.prod(dims)) if dims else 1
    size = max(0, min(n * 8 + delta, 1 << 16))
    cfl = (noise * (size // 8 + 1))[:size]
    check_outcome(load_bart, cfl, hdr, kind=kind, slice_index=slice_index, limits=FUZZ_LIMITS)


@settings(max_examples=40, deadline=2000)
@given(
    obj=st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(max_size=10),
        lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=5), c, max_size=4),
        max_leaves=20,
    )
)
def test_fuzz_config_roundtrip(obj):
    cfg = {"value": obj}
    assert config_from_json(config_to_json(cfg)) == json.loads(json.dumps(cfg))


def test_default_limits_are_sane():
    assert DEFAULT_LIMITS.max_file_bytes == 200 * 1024**2
    assert DEFAULT_LIMITS.max_pixels == 4096 * 4096
