"""Siemens twix loader: the shipped GRE and EPI scans, variants of the GRE rewritten with
twixtools (undersampled with reference lines and noise scans, partial Fourier, asymmetric
echo, averages, contrasts, repetitions, slices, 3-D), and hostile input.

Ordinary tests read in this process (``isolate=False``, the same code the helper process
runs); the hostile-input tests go through the helper process, as the app does. Figures that
the assertions compare against were measured on the shipped files (see each test).
"""

from __future__ import annotations

import contextlib
import copy
import io
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
import twixtools
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recon_core.io._source import resolve_source
from recon_core.io.limits import DEFAULT_LIMITS, DataLoadError, LoadLimits
from recon_core.io.loaded import LoadedData
from recon_core.io.options import LoadOptions
from recon_core.io.twix import has_twix_signature, load_twix

ROOT = Path(__file__).resolve().parents[2]


def _find(name: str) -> Path | None:
    for folder in (ROOT / "recon_core" / "datasets", Path("/work/shared/data")):
        if (folder / name).is_file():
            return folder / name
    return None


GRE = _find("twixtools_gre.dat")
EPI = _find("twixtools_epi.dat")
needs_gre = pytest.mark.skipif(GRE is None, reason="twixtools_gre.dat is not available")
needs_epi = pytest.mark.skipif(EPI is None, reason="twixtools_epi.dat is not available")

FIRST_MDH = 10240 + 786112  # the GRE's measurement offset + header length
MDH_STRIDE = 192 + 2 * (32 + 8 * 320)  # one 2-channel, 320-sample readout


@pytest.fixture(scope="module")
def gre() -> LoadedData:
    return load_twix(GRE, isolate=False)


@pytest.fixture(scope="module")
def gre_bytes() -> bytes:
    return GRE.read_bytes()


# -------------------------------------------------------------------- the shipped GRE


@needs_gre
def test_gre_kspace_shape_centre_and_sampling(gre):
    assert gre.format == "twix" and gre.filename == "twixtools_gre.dat"
    assert gre.kspace.shape == (2, 160, 160) and gre.kspace.dtype == np.complex64
    assert gre.n_coils == 2 and gre.n_slices == 1 and gre.slice_index == 0
    assert gre.mask is None and not gre.undersampled and gre.noise is None
    energy = np.sum(np.abs(gre.kspace) ** 2, axis=0)
    peak = np.unravel_index(np.argmax(energy), energy.shape)
    assert abs(int(peak[0]) - 80) <= 1 and abs(int(peak[1]) - 80) <= 1, peak


@needs_gre
def test_gre_metadata_and_description(gre):
    assert gre.source == (
        "Siemens twix (VD/VE) gre, slice 0 of 1, 2 coils, 160x160, readout oversampling removed"
    )
    m = gre.metadata
    assert m["protocol"] == "gre" and m["sequence"] == "gre" and m["version"] == "VD/VE"
    assert m["tr_ms"] == 10.0 and m["te_ms"] == 3.0 and m["flip_angle_deg"] == 15.0
    assert m["fov_mm"] == [200.0, 200.0] and m["slice_thickness_mm"] == 4.0
    assert m["field_strength_t"] == pytest.approx(2.89, abs=0.01)
    assert m["matrix"] == [160, 160] and m["readout_oversampling"] == 2.0
    assert m["readout_samples"] == 320 and m["oversampling_removed"] is True
    assert m["calibration_lines"] == 0 and m["average"] == "mean" and "epi" not in m
    assert dict(gre.selectable) == {}


@needs_gre
def test_gre_image_shows_the_phantom(gre):
    # Measured: centre 40x40 mean 1.65e-5, corner 16x16 means 2.8e-6 (ratio 5.9); the
    # phantom's dark vertical bar (columns 82..88) is much darker than the disc beside it.
    img = gre.display_image()
    assert img.shape == (160, 160) and img.dtype == np.float32 and np.isfinite(img).all()
    centre = img[60:100, 60:100].mean()
    corners = np.mean([img[:16, :16].mean(), img[:16, -16:].mean(),
                       img[-16:, :16].mean(), img[-16:, -16:].mean()])
    assert centre > 4 * corners
    bar, beside = img[30:130, 82:88].mean(), img[30:130, 100:110].mean()
    assert bar < 0.35 * beside, (bar, beside)


@needs_gre
def test_sources_bytes_file_object_and_path_without_extension(gre, gre_bytes, tmp_path):
    from_bytes = load_twix(gre_bytes, "scan.dat", isolate=False)
    from_stream = load_twix(io.BytesIO(gre_bytes), isolate=False)
    bare = tmp_path / "meas_raw"  # twixtools would look for meas_raw.dat
    shutil.copyfile(GRE, bare)
    from_bare = load_twix(bare, isolate=False)
    for d in (from_bytes, from_stream, from_bare):
        np.testing.assert_array_equal(d.kspace, gre.kspace)
    assert from_bytes.filename == "scan.dat" and from_bare.filename == "meas_raw"
    assert list(tmp_path.iterdir()) == [bare]  # no temporary file left behind


@needs_gre
def test_helper_process_gives_the_same_answer(gre):
    isolated = load_twix(GRE)  # ~1 s, most of it importing twixtools in the helper
    np.testing.assert_array_equal(isolated.kspace, gre.kspace)
    assert isolated.source == gre.source and dict(isolated.metadata) == dict(gre.metadata)


@needs_gre
def test_has_twix_signature(gre_bytes):
    limits = DEFAULT_LIMITS
    assert has_twix_signature(resolve_source(gre_bytes, "a.dat", limits))
    assert has_twix_signature(resolve_source(str(GRE), None, limits))
    assert not has_twix_signature(resolve_source(b"\x93NUMPY" + bytes(200), "a.npy", limits))
    assert not has_twix_signature(resolve_source(bytes(20000), "zeros.dat", limits))
    assert not has_twix_signature(resolve_source(gre_bytes[:9000], "cut.dat", limits))


# ------------------------------------------------------------------------------ choices


@needs_gre
def test_choices(gre):
    d = load_twix(GRE, isolate=False, average=0, contrast=0, repetition=0, slice_index=0)
    np.testing.assert_array_equal(d.kspace, gre.kspace)
    assert d.metadata["average"] == 0 and "mean" not in d.source
    same = load_twix(GRE, isolate=False, options=LoadOptions(slice_index=0, axis=2))
    np.testing.assert_array_equal(same.kspace, gre.kspace)  # axis: ignored, as by fastMRI
    for bad in ({"slice_index": 1}, {"slice_index": -1}, {"average": 1}, {"contrast": 2},
                {"repetition": 1}, {"options": LoadOptions(kind="kspace")},
                {"options": LoadOptions(key="kspace")},
                {"options": LoadOptions(axes=("row", "col"))}):
        with pytest.raises(DataLoadError) as err:
            load_twix(GRE, isolate=False, **bad)
        assert err.value.reason == "argument", (bad, err.value)
    for wrong in ({"kind": "image"}, {"key": "x"}, {"axes": ("row", "col")}, {"index": 0}):
        with pytest.raises(TypeError):
            load_twix(GRE, isolate=False, **wrong)


@needs_gre
def test_limits_are_checked_before_reading():
    cases = [
        (LoadLimits(max_total_elements=50_000), "too_large"),
        (LoadLimits(max_pixels=100 * 100), "too_large"),
        (LoadLimits(max_coils=1), "too_large"),
        (LoadLimits(max_file_bytes=1_000_000), "too_large"),
        (LoadLimits(min_side=200), "empty"),
    ]
    for limits, reason in cases:
        with pytest.raises(DataLoadError) as err:
            load_twix(GRE, isolate=False, limits=limits)
        assert err.value.reason == reason, (limits, err.value)


# --------------------------------------------------------------------------------- EPI


def _ghost(img: np.ndarray, obj: np.ndarray) -> float:
    """Mean of ``img`` where the object shifted by half the phase-encode FOV lands outside it."""
    ghost = np.roll(obj, img.shape[1] // 2, axis=1) & ~obj
    return float(img[ghost].mean())


@needs_epi
def test_epi_phase_correction_reduces_the_nyquist_ghost():
    on = load_twix(EPI, isolate=False)
    off = load_twix(EPI, isolate=False, phase_correction=False)
    assert on.kspace.shape == off.kspace.shape == (2, 80, 80)  # 160 samples, 2x oversampled
    epi_on, epi_off = on.metadata["epi"], off.metadata["epi"]
    assert epi_on["reflected_lines"] == epi_off["reflected_lines"] == 40
    assert epi_on["phase_correction"] == "navigator odd/even (constant + linear)"
    assert epi_on["navigators"] == 3
    assert epi_off["phase_correction"] == "none"
    assert epi_off["phase_correction_note"] == "switched off"
    assert on.metadata["ramp_sampling_regridded"] and on.metadata["sequence"] == "ep2d_bold"
    assert "odd/even phase-corrected" in on.source and "no odd/even" in off.source
    # Measured (object: corrected image > 0.2 max): ghost mean 1.56e-5 corrected, 2.29e-5
    # uncorrected; the object's mean 1.55e-4 in both.
    img_on, img_off = on.display_image(), off.display_image()
    obj = img_on > 0.2 * img_on.max()
    g_on, g_off = _ghost(img_on, obj), _ghost(img_off, obj)
    assert g_on < 0.8 * g_off, (g_on, g_off)
    assert img_on[obj].mean() == pytest.approx(img_off[obj].mean(), rel=0.05)


@needs_epi
def test_epi_through_the_helper_process():
    d = load_twix(EPI, phase_correction=True)
    assert d.metadata["epi"]["phase_correction"] == "navigator odd/even (constant + linear)"
    np.testing.assert_array_equal(d.kspace, load_twix(EPI, isolate=False).kspace)


# ---------------------------------------------------- GRE variants written with twixtools


def _rewrite(path: Path, edit) -> Path:
    """The GRE with its readouts replaced by ``edit(list of Mdb_local)``, written to ``path``."""
    scans = twixtools.read_twix(str(GRE), verbose=False, parse_pmu=False, parse_geometry=False,
                                keep_syncdata=False)
    meas = scans[-1]
    meas["mdb"] = edit([m.convert_to_local() for m in meas["mdb"]])
    with contextlib.redirect_stdout(io.StringIO()):  # "ACQEND missing ... Generating new one."
        twixtools.write_twix(scans, str(path))
    return path


def _copy(mdb, **counters):
    out = copy.deepcopy(mdb)
    for name, value in counters.items():
        setattr(out.mdh.Counter, name, value)
    return out


NOISE = (np.random.default_rng(3).standard_normal((4, 2, 256))
         + 1j * np.random.default_rng(4).standard_normal((4, 2, 256))).astype(np.complex64)


def _grappa(mdbs):
    """Noise scans, then every other line and separate reference lines 68..91."""
    out = []
    for block in NOISE:
        noise = twixtools.mdb.Mdb_local(block)
        noise.add_flag("NOISEADJSCAN")
        out.append(noise)
    for m in mdbs:
        if 68 <= m.mdh.Counter.Lin < 92:
            ref = copy.deepcopy(m)
            ref.add_flag("PATREFSCAN")
            out.append(ref)
        if m.mdh.Counter.Lin % 2 == 0:
            out.append(m)
    return out


@needs_gre
def test_undersampled_with_reference_lines_and_noise(gre, tmp_path):
    d = load_twix(_rewrite(tmp_path / "grappa.dat", _grappa), isolate=False)
    assert d.undersampled and d.mask.shape == (160, 160) and d.mask.all(axis=0).sum() == 92
    lines = np.flatnonzero(d.mask[0])
    assert set(lines) == set(range(0, 160, 2)) | set(range(68, 92))
    assert d.mask.all(axis=1).sum() == 0 and d.mask.any(axis=1).all()  # whole readouts
    np.testing.assert_array_equal(d.kspace, np.asarray(gre.kspace) * d.mask)
    assert d.metadata["calibration_lines"] == 24 and d.metadata["merged_reference_lines"] == 12
    assert "57% of k-space acquired, 24 calibration lines" in d.source
    np.testing.assert_array_equal(d.noise, np.concatenate(list(NOISE), axis=1))
    assert d.metadata["noise"] == {"scans": 4, "samples": 1024}


@needs_gre
def test_partial_fourier_lines_zero_filled_in_place(gre, tmp_path):
    path = _rewrite(tmp_path / "pf.dat", lambda ms: [m for m in ms if m.mdh.Counter.Lin >= 40])
    d = load_twix(path, isolate=False)
    assert d.kspace.shape == (2, 160, 160) and d.mask is None  # partial Fourier: not a mask
    assert not np.any(d.kspace[:, :, :40])
    np.testing.assert_array_equal(d.kspace[:, :, 40:], gre.kspace[:, :, 40:])
    assert d.metadata["zero_filled_lines"] == 40 and "partial Fourier zero-filled" in d.source


@needs_gre
def test_asymmetric_echo_zero_filled_about_the_centre_sample(gre, tmp_path):
    def cut(mdbs):
        for m in mdbs:
            m.data = np.asarray(m.data)[:, 64:]  # 256 of 320 samples, the echo at sample 96
            m.mdh.CenterCol = 96
        return mdbs

    d = load_twix(_rewrite(tmp_path / "asym.dat", cut), isolate=False)
    assert d.kspace.shape == (2, 160, 160)
    assert not np.any(d.kspace[:, :32]) and np.all(np.any(d.kspace[:, 32:] != 0, axis=(0, 2)))
    assert d.metadata["zero_filled_readout"] == 32 and d.metadata["readout_samples"] == 256
    energy = np.sum(np.abs(d.kspace) ** 2, axis=0)
    assert np.unravel_index(np.argmax(energy), energy.shape) == (80, 80)
    # the samples near the centre match the full readout (measured error 0.2 %)
    near = (slice(None), slice(60, 100), slice(None))
    err = np.linalg.norm(d.kspace[near] - gre.kspace[near]) / np.linalg.norm(gre.kspace[near])
    assert err < 0.02, err


@needs_gre
def test_averages_mean_or_one(gre, tmp_path):
    def averages(mdbs):
        extra = []
        for m in mdbs:
            second = _copy(m, Ave=1)
            second.data = np.asarray(m.data) * 3
            extra.append(second)
        return mdbs + extra

    path = _rewrite(tmp_path / "ave.dat", averages)
    mean, third = load_twix(path, isolate=False), load_twix(path, isolate=False, average=1)
    assert dict(mean.selectable) == {"average": 2} and mean.metadata["n_averages"] == 2
    np.testing.assert_allclose(mean.kspace, 2 * np.asarray(gre.kspace), rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(third.kspace, 3 * np.asarray(gre.kspace), rtol=1e-5, atol=1e-9)
    assert "mean of 2 averages" in mean.source and "average 1 of 2" in third.source
    with pytest.raises(DataLoadError) as err:
        load_twix(path, isolate=False, average=2)
    assert err.value.reason == "argument"


@needs_gre
def test_slices_contrasts_repetitions(gre, tmp_path):
    def counters(mdbs):
        out = []
        for sli in range(2):
            for eco in range(2):
                for rep in range(2):
                    for m in mdbs:
                        c = _copy(m, Sli=sli, Eco=eco, Rep=rep)
                        c.data = np.asarray(m.data) * (1 + sli + 2 * eco + 4 * rep)
                        out.append(c)
        return out

    path = _rewrite(tmp_path / "multi.dat", counters)
    d = load_twix(path, isolate=False)  # the middle slice, contrast 0, repetition 0
    assert dict(d.selectable) == {"slice": 2, "contrast": 2, "repetition": 2}
    assert d.n_slices == 2 and d.slice_index == 1
    np.testing.assert_allclose(d.kspace, 2 * np.asarray(gre.kspace), rtol=1e-5, atol=1e-9)
    e = load_twix(path, isolate=False, slice_index=0, contrast=1, repetition=1)
    np.testing.assert_allclose(e.kspace, 7 * np.asarray(gre.kspace), rtol=1e-5, atol=1e-9)
    assert e.metadata["contrast"] == 1 and e.metadata["repetition"] == 1


@needs_gre
def test_three_d_partitions_become_slices(gre, tmp_path):
    def partitions(mdbs):
        out = []
        for par in range(8):
            for m in mdbs:
                c = _copy(m, Par=par)
                c.mdh.CenterPar = 4
                out.append(c)
        return out

    path = _rewrite(tmp_path / "3d.dat", partitions)
    middle = load_twix(path, isolate=False)  # k-space constant along Par: all in partition 4
    assert middle.n_slices == 8 and middle.slice_index == 4
    assert dict(middle.selectable) == {"slice": 8}
    assert middle.metadata["partitions"] == {"n": 8, "index": 4, "slices_2d": 1}
    np.testing.assert_allclose(middle.kspace, np.sqrt(8) * np.asarray(gre.kspace), rtol=1e-4,
                               atol=1e-8)
    edge = load_twix(path, isolate=False, slice_index=0)
    assert np.abs(edge.kspace).max() < 1e-6 * np.abs(middle.kspace).max()


# ------------------------------------------------------------------------ hostile input


def _patched(data: bytes, *edits: tuple[int, str, int]) -> bytes:
    out = bytearray(data)
    for pos, fmt, value in edits:
        struct.pack_into(fmt, out, pos, value)
    return bytes(out)


@needs_gre
def test_corrupt_files_refused_at_once(gre_bytes):
    """Each is refused by the structure check, in this process, without the timeout."""
    mdh = FIRST_MDH
    asc = gre_bytes.rindex(b"### ASCCONV BEGIN") + 300  # inside the last ASCCONV block

    def text(at: int, value: bytes) -> bytes:
        return gre_bytes[:at] + value + gre_bytes[at + len(value):]

    cases = {
        "empty": (b"", "empty"),
        "random": (np.random.default_rng(0).bytes(5000), "corrupt"),
        "zeros": (bytes(20000), "empty"),
        "raid table only": (gre_bytes[:10240], "truncated"),
        "cut in the header": (gre_bytes[:400_000], "truncated"),
        "cut in the data": (gre_bytes[: mdh + 5 * MDH_STRIDE + 100], "truncated"),
        # a SYNCDATA block of length 0: twixtools' own reader would loop forever on it
        "zero-length sync block": (_patched(gre_bytes, (mdh + 40, "<Q", 1 << 5), (mdh, "<I", 0)),
                                   "corrupt"),
        "65535 channels": (_patched(gre_bytes, (mdh + 50, "<H", 65535)), "too_large"),
        "readout past the end": (_patched(gre_bytes, (mdh + 48, "<H", 65535)), "truncated"),
        "header longer than the file": (_patched(gre_bytes, (10240, "<I", 1 << 31)), "truncated"),
        "protocol buffer longer than the header": (
            _patched(gre_bytes, (10240 + 8 + 7, "<I", 1 << 30)), "corrupt"),
        # twixtools' protocol parser would build a list of 123457 entries / scan quadratically
        "protocol array index": (text(asc, b"[123456]"), "corrupt"),
        "protocol word of 5000 bytes": (text(asc, b"x" * 5000), "corrupt"),
        "line counter far out": (_patched(gre_bytes, (mdh + 3 * MDH_STRIDE + 52, "<H", 60000)),
                                 "corrupt"),
        "centre sample outside the readout": (
            _patched(gre_bytes, *[(mdh + k * MDH_STRIDE + 84, "<H", 400) for k in range(160)]),
            "corrupt"),
    }
    for name, (data, reason) in cases.items():
        with pytest.raises(DataLoadError) as err:
            load_twix(data, "hostile.dat", isolate=False)
        assert err.value.reason == reason, (name, err.value)


def _load_or_refuse(data: bytes) -> None:
    try:
        d = load_twix(data, "hostile.dat", limits=LoadLimits(timeout_s=30))
    except DataLoadError:
        return
    assert isinstance(d, LoadedData)


_HOSTILE = settings(max_examples=15, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.mark.slow
@needs_gre
@_HOSTILE
@given(st.binary(min_size=0, max_size=20_000))
def test_hostile_random_bytes(data):
    _load_or_refuse(data)


@pytest.mark.slow
@needs_gre
@_HOSTILE
@given(st.floats(0, 1, exclude_max=True))
def test_hostile_truncated(fraction):
    data = GRE.read_bytes()
    _load_or_refuse(data[: int(fraction * len(data))])


@pytest.mark.slow
@needs_gre
@_HOSTILE
@given(st.lists(
    st.tuples(
        st.one_of(st.integers(0, 10239),  # measurement table
                  st.integers(10240, FIRST_MDH - 1),  # protocol header
                  st.integers(FIRST_MDH, FIRST_MDH + 8 * MDH_STRIDE)),  # first data blocks
        st.binary(min_size=1, max_size=4),
    ),
    min_size=1, max_size=6,
))
def test_hostile_header_bytes_overwritten(edits):
    data = bytearray(GRE.read_bytes())
    for pos, value in edits:
        data[pos : pos + len(value)] = value
    _load_or_refuse(bytes(data[: len(GRE.read_bytes())]))
