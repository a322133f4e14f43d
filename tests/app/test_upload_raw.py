"""AppTest: uploading raw-data formats (MATLAB, ISMRMRD, twix) shows their choosers, and a bad
file of each keeps the data already loaded."""

from __future__ import annotations

import io
from pathlib import Path

import ismrmrd
import numpy as np
import pytest
import scipy.io as sio
from apphelpers import errors, open_page

from recon_core.ops.fft import fft2c
from tests.io.test_ismrmrd import acquisition, make_header, write

pytestmark = pytest.mark.slow

GRE = Path(__file__).resolve().parents[2] / "recon_core" / "datasets" / "twixtools_gre.dat"


def coil_kspace(c=4, h=48, w=40, seed=0):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[:h, :w]
    obj = ((y - h / 2) ** 2 / (h / 3) ** 2 + (x - w / 2) ** 2 / (w / 3) ** 2 < 1) * (1 + 0.2 * rng.random((h, w)))
    sens = np.stack([np.exp(1j * i) * (1.5 + np.cos(2 * np.pi * (i / c + x / w / 2))) for i in range(c)])
    return fft2c(sens * obj).astype(np.complex64)


def upload(at, name: str, data: bytes):
    at.file_uploader(key="up_files").set_value((name, data, "application/octet-stream")).run()
    return at


def loaded(at) -> str:
    return " ".join(s.value for s in at.success)


def assert_bad_file_keeps(at, name: str, data: bytes, kept: str):
    upload(at, name, data)
    msgs = errors(at)
    assert any(m.startswith(f"Could not use {name}:") for m in msgs), msgs
    assert not at.exception
    assert any("Keeping the previously loaded data" in i.value and kept in i.value for i in at.info)


def test_matlab_upload_offers_variable_and_axis_choosers():
    k = coil_kspace()  # (C, H, W)
    buf = io.BytesIO()
    sio.savemat(buf, {"kdata": np.transpose(k, (1, 2, 0)), "notes": np.arange(20.0).reshape(4, 5)})
    at = upload(open_page("explorer", {"src": "upload"}), "scan.mat", buf.getvalue())
    assert not errors(at), errors(at)
    assert "MATLAB .mat['kdata']" in loaded(at) and "4 coils" in loaded(at)
    assert at.selectbox(key="up_key").options == ["kdata", "notes"]
    axes = [at.selectbox(key=f"up_axis_{i}").value for i in range(3)]
    assert axes == ["row", "col", "coil"]
    assert any("read as row × col × coil" in c.value for c in at.caption)
    # the user says the axes are otherwise: columns first
    at.selectbox(key="up_axis_0").set_value("col").run()
    at.selectbox(key="up_axis_1").set_value("row").run()
    assert not errors(at) and "40x48" in loaded(at), loaded(at)
    assert_bad_file_keeps(at, "broken.mat", b"MATLAB 5.0 MAT-file" + bytes(200), "MATLAB")


def test_matlab_variable_chooser_starts_on_the_loaders_choice_and_forgets_axes():
    k = coil_kspace()
    buf = io.BytesIO()  # the image variable comes first in the file, the k-space second
    sio.savemat(buf, {"anat": np.abs(np.fft.ifft2(k[0])).astype(np.float32), "kdata": np.transpose(k, (1, 2, 0))})
    at = upload(open_page("explorer", {"src": "upload"}), "two.mat", buf.getvalue())
    assert at.selectbox(key="up_key").value == "kdata" and "['kdata']" in loaded(at)
    at.run()  # the page reruns for any reason: the data stay the loader's choice
    assert "['kdata']" in loaded(at) and not errors(at)
    at.selectbox(key="up_key").set_value("anat").run()  # 2 axes, not 3: the old roles are dropped
    assert not errors(at), errors(at)
    assert "['anat']" in loaded(at) and "image" in loaded(at)
    at.selectbox(key="up_key").set_value("kdata").run()
    assert not errors(at) and "4 coils" in loaded(at)


def test_deep_learning_page_scores_nothing_without_a_reference():
    rng = np.random.default_rng(0)
    k = coil_kspace(c=1)[0] * (rng.random((48, 40)) < 0.3)  # single-coil, undersampled, no reference
    buf = io.BytesIO()
    np.save(buf, k.astype(np.complex64))
    at = upload(open_page("explorer", {"src": "upload"}), "under.npy", buf.getvalue())
    assert "already undersampled" in loaded(at)
    at.switch_page("pages/deep_learning.py").run()
    assert not errors(at), errors(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics.get("PSNR") == "—", metrics
    # the user overrides the detection: the zeros were measured, the data fully sampled
    at.switch_page("pages/explorer.py").run()
    at.toggle(key="up_zeros").set_value(False).run()
    assert not errors(at) and "already undersampled" not in loaded(at), loaded(at)
    assert at.toggle(key="up_zeros").value is False  # still offered, to turn back on


def test_ismrmrd_upload_offers_slices_and_keeps_data_on_a_bad_file():
    truth = [coil_kspace(seed=s) for s in range(2)]
    acqs = [acquisition(truth[s][:, :, j], step1=j, slice=s) for s in range(2) for j in range(40)]
    data = write(None, make_header(48, 40, slices=2, coils=4), acqs)
    at = upload(open_page("explorer", {"src": "upload"}), "scan.h5", data)
    assert not errors(at), errors(at)
    assert "ISMRMRD" in loaded(at) and "slice 1 of 2" in loaded(at)
    at.number_input(key="up_slice").set_value(0).run()
    assert not errors(at) and "slice 0 of 2" in loaded(at), loaded(at)
    assert_bad_file_keeps(at, "broken.h5", data[: len(data) // 3], "ISMRMRD")


def test_a_second_upload_replaces_the_first():
    k = coil_kspace()
    buf = io.BytesIO()
    sio.savemat(buf, {"kdata": np.transpose(k, (1, 2, 0))})
    at = upload(open_page("explorer", {"src": "upload"}), "scan.mat", buf.getvalue())
    assert "MATLAB" in loaded(at)
    at.file_uploader(key="up_files").set_value(
        [("scan.mat", buf.getvalue(), "application/octet-stream"),
         ("gre.dat", GRE.read_bytes(), "application/octet-stream")]).run()
    assert not errors(at), errors(at)
    assert "twix" in loaded(at) and any("Using the newest file, gre.dat" in i.value for i in at.info)


def test_twix_upload_and_bad_twix():
    at = upload(open_page("explorer", {"src": "upload"}), "gre.dat", GRE.read_bytes())
    assert not errors(at), errors(at)
    assert "twix" in loaded(at) and "2 coils, 160x160" in loaded(at)
    assert_bad_file_keeps(at, "meas.dat", bytes(range(256)) * 64, "twix")


EPI = Path("/work/shared/data/twixtools_epi.dat")


@pytest.mark.skipif(not EPI.is_file(), reason="the EPI example lives in ../shared/data only")
def test_epi_upload_says_which_phase_correction_is_applied():
    at = upload(open_page("explorer", {"src": "upload"}), "epi.dat", EPI.read_bytes())
    assert not errors(at), errors(at)
    assert at.toggle(key="up_pc").value is True
    assert any("phase correction: navigator odd/even" in c.value for c in at.caption)
    assert "odd/even phase-corrected" in loaded(at)
    at.toggle(key="up_pc").set_value(False).run()
    assert not errors(at)
    assert any("phase correction: none" in c.value for c in at.caption), [c.value for c in at.caption]
