"""ISMRMRD ``.h5`` loader: files written with the ``ismrmrd`` package from known k-space.

Ordinary tests read in this process (``isolate=False``, same code as the helper process);
the hostile-input tests go through the helper process, as the app does.
"""

from __future__ import annotations

import io
import math

import h5py
import ismrmrd
import ismrmrd.xsd as xsd
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recon_core.io.ismrmrd import load_ismrmrd, loaded_from_ismrmrd
from recon_core.io.limits import DataLoadError, LoadLimits
from recon_core.io.loaded import LoadedData
from recon_core.io.options import LoadOptions

CAL = ismrmrd.ACQ_IS_PARALLEL_CALIBRATION
CAL_IMG = ismrmrd.ACQ_IS_PARALLEL_CALIBRATION_AND_IMAGING


# ------------------------------------------------------------------------------- writing


def cplx(rng, shape) -> np.ndarray:
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex64)


def make_header(
    readout: int,
    lines: int,
    *,
    recon_readout: int | None = None,
    fov=(256.0, 256.0),
    recon_fov_x: float | None = None,
    partitions: int = 1,
    centre: int | None = None,
    slices: int = 1,
    averages: int = 1,
    accel: int | None = None,
    trajectory: str = "cartesian",
    coils: int | None = None,
) -> str:
    """An ISMRMRD XML header: matrix (readout x lines x partitions), limits, trajectory."""

    def limit(n, c=None):
        return xsd.limitType(minimum=0, maximum=n - 1, center=n // 2 if c is None else c)

    enc = xsd.encodingType(
        encodedSpace=xsd.encodingSpaceType(
            matrixSize=xsd.matrixSizeType(x=readout, y=lines, z=partitions),
            fieldOfView_mm=xsd.fieldOfViewMm(x=fov[0], y=fov[1], z=5.0),
        ),
        reconSpace=xsd.encodingSpaceType(
            matrixSize=xsd.matrixSizeType(x=recon_readout or readout, y=lines, z=partitions),
            fieldOfView_mm=xsd.fieldOfViewMm(x=recon_fov_x or fov[0], y=fov[1], z=5.0),
        ),
        encodingLimits=xsd.encodingLimitsType(
            kspace_encoding_step_1=limit(lines, centre),
            kspace_encoding_step_2=limit(partitions),
            slice=limit(slices),
            average=limit(averages),
        ),
        trajectory=xsd.trajectoryType(trajectory),
    )
    if accel:
        enc.parallelImaging = xsd.parallelImagingType(
            accelerationFactor=xsd.accelerationFactorType(
                kspace_encoding_step_1=accel, kspace_encoding_step_2=1
            ),
            calibrationMode=xsd.calibrationModeType("embedded"),
        )
    hdr = xsd.ismrmrdHeader(
        experimentalConditions=xsd.experimentalConditionsType(H1resonanceFrequency_Hz=63_500_000)
    )
    if coils:
        hdr.acquisitionSystemInformation = xsd.acquisitionSystemInformationType(
            receiverChannels=coils
        )
    hdr.encoding.append(enc)
    return xsd.ToXML(hdr)


def acquisition(data, *, flags=(), traj=None, **fields) -> ismrmrd.Acquisition:
    """One acquisition of ``data`` (channels, samples); ``fields`` are header fields, or
    encoding counters (``step1``, ``step2``, ``slice``, ``average``, ``contrast``, ...)."""
    idx_names = {"step1": "kspace_encode_step_1", "step2": "kspace_encode_step_2"}
    counters = {k: fields.pop(k) for k in list(fields) if k in idx_names or k in (
        "slice", "average", "contrast", "repetition", "phase", "set")}
    acq = ismrmrd.Acquisition.from_array(np.ascontiguousarray(data, np.complex64), traj, **fields)
    for key, value in counters.items():
        setattr(acq.idx, idx_names.get(key, key), value)
    for bit in flags:
        acq.set_flag(bit)
    return acq


def write(path, header: str, acquisitions, group: str = "dataset") -> bytes:
    """Write an ISMRMRD file with the ``ismrmrd`` package (to ``path``, or in memory for None)."""
    target = io.BytesIO() if path is None else str(path)
    ds = ismrmrd.Dataset(target, group, create_if_needed=True)
    ds.write_xml_header(header)
    for acq in acquisitions:
        ds.append_acquisition(acq)
    ds.close()
    return target.getvalue() if path is None else path.read_bytes()


def lines_of(kspace, cols, **fields):
    """Acquisitions of the columns ``cols`` of k-space (C, H, W); column = step 1 here."""
    return [acquisition(kspace[:, :, j], step1=j, **fields) for j in cols]


def assert_refused(data, reason, match=None, **kw):
    with pytest.raises(DataLoadError) as info:
        load_ismrmrd(data, "x.h5", **{"isolate": False, **kw})
    assert info.value.reason == reason, str(info.value)
    if match:
        assert match in str(info.value), str(info.value)
    return info.value


# ------------------------------------------------------------------------- the scenarios


H, W, C = 48, 40, 4
ACS = range(W // 2 - 4, W // 2 + 4)  # 8 calibration lines around the centre


@pytest.fixture
def accelerated(tmp_path, rng):
    """4 coils, 2 noise scans first, 2x undersampling plus 8 calibration lines, two slices."""
    truth = [cplx(rng, (C, H, W)) for _ in range(2)]
    noise = [cplx(rng, (C, 64)) for _ in range(2)]
    acqs = [acquisition(n, flags=[ismrmrd.ACQ_IS_NOISE_MEASUREMENT]) for n in noise]
    for s, k in enumerate(truth):
        for j in range(W):
            if j % 2 == 0:
                flags = [CAL_IMG] if j in ACS else []
            elif j in ACS:
                flags = [CAL]
            else:
                continue
            acqs.append(acquisition(k[:, :, j], step1=j, slice=s, flags=flags))
    header = make_header(H, W, slices=2, accel=2, coils=C)
    data = write(tmp_path / "accel.h5", header, acqs)
    cols = sorted(set(range(0, W, 2)) | set(ACS))
    return data, truth, np.concatenate(noise, axis=1), cols


def test_cartesian_undersampled_two_slices_with_noise(accelerated):
    data, truth, noise, cols = accelerated
    for s in (0, 1):
        d = load_ismrmrd(data, "accel.h5", slice_index=s, isolate=False)
        assert isinstance(d, LoadedData) and d.format == "ismrmrd" and d.filename == "accel.h5"
        assert d.kspace.shape == (C, H, W) and d.kspace.dtype == np.complex64
        assert (d.n_coils, d.n_slices, d.slice_index) == (C, 2, s)
        expected = np.zeros((C, H, W), np.complex64)
        expected[:, :, cols] = truth[s][:, :, cols]
        np.testing.assert_array_equal(d.kspace, expected)
        want = np.zeros((H, W), bool)
        want[:, cols] = True
        np.testing.assert_array_equal(d.mask, want)
        assert d.undersampled
        np.testing.assert_array_equal(d.noise, noise)
        assert dict(d.selectable) == {"slice": 2}
        assert d.metadata["calibration_lines"] == len(ACS)
        header = d.metadata["header"]
        assert header["encoded_matrix"] == [H, W, 1] and header["acceleration"] == [2, 1]
        assert header["calibration_mode"] == "embedded" and header["receiver_channels"] == C
        assert header["trajectory"] == "cartesian"
        assert header["limits"]["kspace_encoding_step_1"] == {
            "minimum": 0, "maximum": W - 1, "center": W // 2}
        assert d.source.startswith("ISMRMRD .h5, Cartesian")
        assert f"slice {s} of 2" in d.source and "4 coils" in d.source
        assert f"{H}x{W}" in d.source
        assert "2x accelerated with 8 calibration lines" in d.source
    middle = load_ismrmrd(data, isolate=False)
    assert middle.slice_index == 1 and middle.filename == "upload"


def test_through_the_helper_process(accelerated, tmp_path):
    """The helper process imports the ismrmrd package, not recon_core/io/ismrmrd.py."""
    data, truth, _, cols = accelerated
    path = tmp_path / "again.h5"
    path.write_bytes(data)
    for source in (path, data):
        d = load_ismrmrd(source, slice_index=0)
        np.testing.assert_array_equal(d.kspace[:, :, cols], truth[0][:, :, cols])
        assert d.noise.shape == (C, 128)
    opts = LoadOptions(slice_index=1, limits=LoadLimits(max_coils=2))
    with pytest.raises(DataLoadError) as info:
        load_ismrmrd(data, options=opts)
    assert info.value.reason == "too_large" and "max_coils" in str(info.value)


def centred_ifft(x, axis):
    x = np.fft.ifftshift(x, axes=axis)
    return np.fft.fftshift(np.fft.ifft(x, axis=axis, norm="ortho"), axes=axis)


def centred_fft(x, axis):
    x = np.fft.ifftshift(x, axes=axis)
    return np.fft.fftshift(np.fft.fft(x, axis=axis, norm="ortho"), axes=axis)


def test_readout_oversampling_removed(tmp_path, rng):
    k = cplx(rng, (2, 64, 32))  # 2x oversampled readout: 64 samples for a 32-pixel recon
    header = make_header(64, 32, recon_readout=32, fov=(400.0, 200.0), recon_fov_x=200.0)
    data = write(tmp_path / "os.h5", header, lines_of(k, range(32)))
    d = load_ismrmrd(data, isolate=False)
    img = centred_ifft(k.astype(np.complex128), 1)[:, 16:48]
    ref = centred_fft(img, 1)
    assert d.kspace.shape == (2, 32, 32) and d.mask is None
    np.testing.assert_allclose(d.kspace, ref, rtol=1e-6, atol=1e-6 * np.abs(ref).max())
    # orthonormal both ways: the energy of the kept field of view is kept
    assert math.isclose(np.sum(np.abs(d.kspace) ** 2), np.sum(np.abs(img) ** 2), rel_tol=1e-5)
    assert "readout oversampling removed (2x)" in d.source
    assert d.metadata["oversampling_removed"] and d.metadata["encoded_readout"] == 64


def test_reverse_lines_and_encoding_centre(tmp_path, rng):
    """Odd lines stored reversed and flagged; the counters start 4 below the matrix centre."""
    k = cplx(rng, (3, H, W))
    centre = W // 2 - 4  # counter 16 is the centre: column = counter + 4
    acqs = []
    for j in range(4, W):
        line = k[:, :, j]
        if j % 2:
            acqs.append(acquisition(line[:, ::-1], step1=j - 4, flags=[ismrmrd.ACQ_IS_REVERSE]))
        else:
            acqs.append(acquisition(line, step1=j - 4))
    data = write(tmp_path / "rev.h5", make_header(H, W, centre=centre), acqs)
    d = load_ismrmrd(data, isolate=False)
    expected = k.copy()
    expected[:, :, :4] = 0
    np.testing.assert_array_equal(d.kspace, expected)
    assert d.mask is None and "partial Fourier (36 of 40 lines)" in d.source


def test_asymmetric_echo_placed_by_centre_sample(tmp_path, rng):
    k = cplx(rng, (2, H, 16))
    # 40 of 48 samples, echo at sample 16: the line starts at row H//2 - 16 = 8
    acqs = [acquisition(k[:, 8:, j], step1=j, center_sample=16) for j in range(16)]
    d = load_ismrmrd(write(tmp_path / "asym.h5", make_header(H, 16), acqs), isolate=False)
    expected = k.copy()
    expected[:, :8] = 0
    np.testing.assert_array_equal(d.kspace, expected)


def test_averages_mean_or_one(tmp_path, rng):
    reps = [cplx(rng, (2, 32, 24)) for _ in range(3)]
    acqs = [a for i, k in enumerate(reps) for a in lines_of(k, range(24), average=i)]
    data = write(tmp_path / "avg.h5", make_header(32, 24, averages=3), acqs)
    mean = load_ismrmrd(data, isolate=False)
    np.testing.assert_allclose(mean.kspace, np.mean(reps, axis=0), rtol=1e-6, atol=1e-7)
    assert dict(mean.selectable) == {"average": 3} and "mean of 3 averages" in mean.source
    one = load_ismrmrd(data, average=1, isolate=False)
    np.testing.assert_array_equal(one.kspace, reps[1])
    assert one.metadata["average"] == 1 and "average 1 of 3" in one.source
    assert_refused(data, "argument", "average 3 is out of range", average=3)


def test_three_d_partition(tmp_path, rng):
    z = 4
    k3 = cplx(rng, (2, 32, 16, z))
    acqs = [acquisition(k3[:, :, j, p], step1=j, step2=p) for p in range(z) for j in range(16)]
    data = write(tmp_path / "3d.h5", make_header(32, 16, partitions=z), acqs)
    volume = centred_ifft(k3.astype(np.complex128), 3)
    for p in (1, None):
        d = load_ismrmrd(data, slice_index=p, isolate=False)
        ref = volume[..., z // 2 if p is None else p]
        np.testing.assert_allclose(d.kspace, ref, rtol=1e-6, atol=1e-6 * np.abs(ref).max())
        assert d.n_slices == z and dict(d.selectable) == {"slice": z}
        assert "3-D Cartesian" in d.source
    # kz undersampled differently for different ky: not a stack of 2-D slices
    idx = [(a.idx.kspace_encode_step_1, a.idx.kspace_encode_step_2) for a in acqs]
    holes = [a for a, i in zip(acqs, idx) if i != (3, 1)]
    data = write(tmp_path / "3d_holes.h5", make_header(32, 16, partitions=z), holes)
    assert_refused(data, "unsupported", "different kz lines")
    # kz undersampled the same way for every ky (R_z = 2): the partitions would fold
    every_other = [a for a, i in zip(acqs, idx) if i[1] % 2 == 0]
    data = write(tmp_path / "3d_rz2.h5", make_header(32, 16, partitions=z), every_other)
    assert_refused(data, "unsupported", "undersampled along kz")


def test_other_group_name_and_skipped_scans(tmp_path, rng):
    k = cplx(rng, (2, 32, 16))
    acqs = lines_of(k, range(16))
    acqs.insert(3, acquisition(cplx(rng, (2, 32)), flags=[ismrmrd.ACQ_IS_NAVIGATION_DATA]))
    acqs.insert(5, acquisition(cplx(rng, (2, 32)), step1=5, flags=[ismrmrd.ACQ_IS_PHASECORR_DATA]))
    data = write(tmp_path / "g.h5", make_header(32, 16), acqs, group="scan_2024")
    d = load_ismrmrd(data, isolate=False)
    np.testing.assert_array_equal(d.kspace, k)
    assert d.metadata["group"] == "/scan_2024" and d.noise is None
    assert d.metadata["skipped"] == {"navigation": 1, "phase correction": 1}


def test_single_coil_is_two_dimensional(tmp_path, rng):
    k = cplx(rng, (1, 32, 16))
    d = load_ismrmrd(write(tmp_path / "one.h5", make_header(32, 16), lines_of(k, range(16))),
                     isolate=False)
    assert d.kspace.shape == (32, 16) and d.n_coils == 1 and not d.is_multicoil
    np.testing.assert_array_equal(d.kspace, k[0])


def test_radial_refused_with_its_size(tmp_path, rng):
    acqs = []
    for i in range(64):
        angle = np.pi * i / 64
        r = np.linspace(-0.5, 0.5, 256, endpoint=False)
        traj = np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1).astype(np.float32)
        acqs.append(acquisition(cplx(rng, (2, 256)), traj=traj, step1=i))
    data = write(tmp_path / "radial.h5", make_header(256, 64, trajectory="radial"), acqs)
    err = assert_refused(data, "unsupported", "radial")
    assert "64 readouts of 256 samples, 2-D trajectory" in str(err)
    assert "Cartesian data only" in str(err)


def test_bad_choices_and_options(accelerated):
    data = accelerated[0]
    assert_refused(data, "argument", "slice_index 2 is out of range", slice_index=2)
    assert_refused(data, "argument", "contrast 1", contrast=1)
    assert_refused(data, "argument", "repetition 4", repetition=4)
    with pytest.raises(TypeError, match="unexpected keyword argument 'key'"):
        load_ismrmrd(data, key="kspace")
    with pytest.raises(DataLoadError, match="applies to NumPy"):
        load_ismrmrd(data, options=LoadOptions(kind="kspace"))
    assert_refused(b"not an HDF5 file at all", "corrupt", "not an HDF5 file")
    with h5py.File(buf := io.BytesIO(), "w") as f:
        f["kspace"] = np.ones((4, 4), np.complex64)
    assert_refused(buf.getvalue(), "missing", "no ISMRMRD dataset")
    assert_refused(data, "too_large", "max_total_elements",
                   limits=LoadLimits(max_total_elements=C * H * W - 1))


def _rewrite_heads(data: bytes, change) -> bytes:
    """``data`` with ``change(heads)`` applied to the acquisition headers."""
    buf = io.BytesIO(data)
    with h5py.File(buf, "r+") as f:
        table = f["dataset/data"]
        rows = table[()]
        change(rows["head"])
        table[...] = rows
    return buf.getvalue()


def test_lying_headers_refused(accelerated):
    data = accelerated[0]

    def field(name, value, row=5):
        def change(heads):
            target = heads["idx"] if name in heads["idx"].dtype.names else heads
            target[name][row] = value
        return _rewrite_heads(data, change)

    # row 5 is a line of slice 0; rows 0 and 1 are the noise scans
    first = {"slice_index": 0}
    assert_refused(field("number_of_samples", H - 2), "shape_mismatch", "acquisition 5 holds 384",
                   **first)
    assert_refused(field("number_of_samples", H + 2), "shape_mismatch", "do not fit", **first)
    assert_refused(field("number_of_samples", 100, row=0), "truncated", "acquisition 0 holds 512")
    assert_refused(field("active_channels", 5), "shape_mismatch", "different channel counts",
                   **first)
    assert_refused(field("kspace_encode_step_1", W + 3), "shape_mismatch", "outside the encoded",
                   **first)
    assert_refused(field("discard_pre", 60000), "corrupt", "nothing is left", **first)
    # lines of the other slice are not read, so they cannot fail the load
    assert load_ismrmrd(field("number_of_samples", H - 2), slice_index=1, isolate=False)


def test_loaded_from_ismrmrd_checks_the_answer(accelerated):
    from recon_core.io.readers import ismrmrd_h5

    meta, arrays = ismrmrd_h5.read(io.BytesIO(accelerated[0]), {}, LoadLimits().as_dict())
    d = loaded_from_ismrmrd(meta, arrays, "probe.h5", LoadLimits())
    assert d.filename == "probe.h5" and d.slice_index == 1
    with pytest.raises(DataLoadError, match="incomplete"):
        loaded_from_ismrmrd({k: v for k, v in meta.items() if k != "n_slices"}, arrays, None,
                            LoadLimits())
    with pytest.raises(DataLoadError) as info:
        loaded_from_ismrmrd(meta, {**arrays, "mask": arrays["mask"][:, :3]}, None, LoadLimits())
    assert info.value.reason == "shape_mismatch"


# ------------------------------------------------------------------------ hostile input

_HOSTILE = settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _valid_acquisitions() -> list:
    """A noise scan, then two slices of 2x undersampled 2-coil 16x16 k-space."""
    rng = np.random.default_rng(7)
    k = cplx(rng, (2, 16, 16))
    acqs = [acquisition(cplx(rng, (2, 16)), flags=[ismrmrd.ACQ_IS_NOISE_MEASUREMENT])]
    acqs += [acquisition(k[:, :, j], step1=j, slice=s) for s in range(2) for j in range(0, 16, 2)]
    return acqs


VALID_ACQS = _valid_acquisitions()
VALID = write(None, make_header(16, 16, slices=2), VALID_ACQS)


def _load_or_refuse(data: bytes) -> None:
    try:
        d = load_ismrmrd(data, "hostile.h5", limits=LoadLimits(timeout_s=20))
    except DataLoadError:
        return
    assert isinstance(d, LoadedData)


def test_valid_hostile_baseline():
    d = load_ismrmrd(VALID, isolate=False, slice_index=0)
    assert d.kspace.shape == (2, 16, 16) and d.undersampled and d.noise.shape == (2, 16)


@pytest.mark.slow
@_HOSTILE
@given(st.binary(max_size=4096))
def test_hostile_random_bytes(tail):
    _load_or_refuse(b"\x89HDF\r\n\x1a\n" + tail)


@pytest.mark.slow
@_HOSTILE
@given(st.integers(1, len(VALID) - 1), st.booleans())
def test_hostile_truncated(n, from_middle):
    data = VALID[:n] if not from_middle else VALID[: len(VALID) // 2] + VALID[n:]
    _load_or_refuse(data)


HEAD_FIELDS = ("number_of_samples", "active_channels", "discard_pre", "discard_post",
               "center_sample", "trajectory_dimensions", "encoding_space_ref")
IDX_FIELDS = ("kspace_encode_step_1", "kspace_encode_step_2", "slice", "average", "contrast")


@pytest.mark.slow
@_HOSTILE
@given(
    st.sampled_from(HEAD_FIELDS + IDX_FIELDS + ("flags",)),
    st.integers(0, 16),
    st.one_of(st.integers(0, 65535), st.sampled_from([0, 1, 15, 16, 17, 32, 255, 65535])),
    st.integers(0, len(VALID) - 1),
    st.binary(min_size=0, max_size=8),
)
def test_hostile_header_values(name, row, value, offset, garbage):
    def change(heads):
        if name == "flags":
            heads["flags"][row] = np.uint64(1) << np.uint64(value % 64)
        elif name in IDX_FIELDS:
            heads["idx"][name][row] = value
        else:
            heads[name][row] = value

    data = _rewrite_heads(VALID, change)
    _load_or_refuse(data)
    # and the same file with a few raw bytes overwritten somewhere
    _load_or_refuse(data[:offset] + garbage + data[offset + len(garbage):])


SIZES = st.one_of(st.integers(-3, 40), st.sampled_from([2**15, 2**16 + 1, 2**31, 10**12]))


@pytest.mark.slow
@_HOSTILE
@given(SIZES, SIZES, st.one_of(st.just(1), SIZES), SIZES, SIZES, st.floats(-1e3, 1e3))
def test_hostile_xml_header(readout, lines, partitions, centre, recon_readout, fov):
    """Matrix sizes, encoding centre and field of view in the XML header that lie."""
    header = make_header(readout, lines, partitions=partitions, centre=centre,
                         recon_readout=recon_readout, fov=(fov, 256.0), slices=2)
    _load_or_refuse(write(None, header, VALID_ACQS))


def test_xml_entity_expansion_refused(rng):
    entities = "".join(
        f'<!ENTITY e{i} "' + (f"&e{i - 1};" if i else "lol") * 10 + '">' for i in range(9)
    )
    bomb = (
        f'<?xml version="1.0"?>\n<!DOCTYPE h [{entities}]>\n'
        '<ismrmrdHeader xmlns="http://www.ismrm.org/ISMRMRD">'
        "<version>&e8;</version></ismrmrdHeader>"
    )
    data = write(None, bomb, lines_of(cplx(rng, (2, 16, 16)), range(16)))
    assert_refused(data, "corrupt", "XML header could not be parsed")
