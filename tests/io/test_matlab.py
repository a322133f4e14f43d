"""MATLAB ``.mat`` loader: v5 files written with SciPy, v7.3 files written in MATLAB's HDF5 layout.

The v7.3 files are made here the way MATLAB makes them: a 512-byte user block that starts with
the "MATLAB 7.3 MAT-file" text header, one root dataset per variable with its class in the
``MATLAB_class`` attribute, the dimensions in reverse order (the data transposed), complex
numbers as a compound of ``real`` and ``imag``, structs and function handles as groups, cells as
datasets of references into ``#refs#``.
"""

from __future__ import annotations

import io

import h5py
import numpy as np
import pytest
import scipy.io
import scipy.sparse
from hypothesis import HealthCheck, given, settings, strategies as st
from scipy.io.matlab import MatlabObject

from recon_core import fft2c, shepp_logan
from recon_core.io.limits import DataLoadError, LoadLimits
from recon_core.io.loaded import LoadedData
from recon_core.io.matlab import load_matlab, loaded_from_matlab
from recon_core.io.readers import matlab as reader

# ----------------------------------------------------------------------------- file makers


def v5_bytes(variables: dict, *, compress: bool = False) -> bytes:
    buf = io.BytesIO()
    scipy.io.savemat(buf, variables, do_compression=compress)
    return buf.getvalue()


def v5_header() -> bytes:
    text = b"MATLAB 5.0 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024"
    return text.ljust(116, b" ") + b"\x00" * 8 + b"\x00\x01" + b"IM"


_CLASS = {
    np.dtype(np.float64): "double",
    np.dtype(np.float32): "single",
    np.dtype(np.int16): "int16",
    np.dtype(np.uint8): "uint8",
    np.dtype(np.bool_): "logical",
    np.dtype(np.complex128): "double",
    np.dtype(np.complex64): "single",
}


def _matlab_class(obj, cls: str) -> None:
    obj.attrs["MATLAB_class"] = np.bytes_(cls)


def _write_array(parent, name: str, value: np.ndarray) -> h5py.Dataset:
    """A numeric MATLAB array as MATLAB's v7.3 writer stores it (dimensions reversed)."""
    value = np.asarray(value)
    if value.ndim < 2:
        value = value.reshape(1, -1)
    cls = _CLASS[value.dtype]
    stored = np.ascontiguousarray(value.T)
    if value.dtype.kind == "c":
        part = np.float64 if value.dtype == np.complex128 else np.float32
        compound = np.empty(stored.shape, dtype=[("real", part), ("imag", part)])
        compound["real"], compound["imag"] = stored.real, stored.imag
        dset = parent.create_dataset(name, data=compound)
    elif value.dtype == np.bool_:
        dset = parent.create_dataset(name, data=stored.astype(np.uint8))
        dset.attrs["MATLAB_int_decode"] = np.int32(1)
    else:
        dset = parent.create_dataset(name, data=stored)
    _matlab_class(dset, cls)
    return dset


class Struct(dict):
    """A MATLAB struct for :func:`write_v73` (a group of fields)."""


class Cell(list):
    """A MATLAB 1xN cell array for :func:`write_v73` (references into ``#refs#``)."""


class FunctionHandle:
    """A MATLAB function handle for :func:`write_v73`."""

    def __init__(self, text: str) -> None:
        self.text = text


class Text(str):
    """A MATLAB char array for :func:`write_v73` (uint16 codes)."""


def write_v73(path, variables: dict) -> None:
    """Write ``variables`` as MATLAB ``save -v7.3`` would (see the module docstring)."""
    with h5py.File(path, "w", userblock_size=512) as f:
        for name, value in variables.items():
            if isinstance(value, Struct):
                group = f.create_group(name)
                _matlab_class(group, "struct")
                for field, v in value.items():
                    _write_array(group, field, v)
            elif isinstance(value, Cell):
                refs = f.require_group("#refs#")
                items = []
                for i, v in enumerate(value):
                    items.append(_write_array(refs, f"{name}_{i}", v).ref)
                dset = f.create_dataset(
                    name, data=np.array([items], dtype=h5py.ref_dtype).T
                )
                _matlab_class(dset, "cell")
            elif isinstance(value, FunctionHandle):
                group = f.create_group(name)
                _matlab_class(group, "function_handle")
                codes = np.frombuffer(value.text.encode("utf-16-le"), np.uint16)
                sub = group.create_dataset("function_handle", data=codes.reshape(-1, 1))
                _matlab_class(sub, "char")
            elif isinstance(value, Text):
                codes = np.frombuffer(str(value).encode("utf-16-le"), np.uint16)
                dset = f.create_dataset(name, data=codes.reshape(-1, 1))
                _matlab_class(dset, "char")
                dset.attrs["MATLAB_int_decode"] = np.int32(2)
            else:
                _write_array(f, name, value)
    text = (b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 "
            b"HDF5 schema 1.00 .")
    header = text.ljust(116, b" ") + b"\x00" * 8 + b"\x00\x02" + b"IM"
    with open(path, "r+b") as fh:
        fh.write(header)


def v73_bytes(tmp_path, variables: dict, name: str = "v73.mat") -> bytes:
    path = tmp_path / name
    write_v73(path, variables)
    return path.read_bytes()


# ----------------------------------------------------------------------------- test data


@pytest.fixture(scope="module")
def coil_kspace() -> np.ndarray:
    """Complex (coils, rows, cols) = (4, 64, 48) k-space of a phantom seen by four coils."""
    img = shepp_logan(64)[:, 8:56]
    y, x = np.mgrid[:64, :48]
    maps = [np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / 900.0) for cy, cx in
            ((0, 0), (0, 47), (63, 0), (63, 47))]
    return np.stack([fft2c(img * m) for m in maps]).astype(np.complex64)


def matlab_order(coils_first: np.ndarray) -> np.ndarray:
    """(coils, rows, cols) -> MATLAB's usual (rows, cols, coils)."""
    return np.moveaxis(coils_first, 0, -1)


IMAGE = (np.add.outer(np.arange(40.0), np.arange(32.0)) % 7) + np.eye(40, 32)


# ------------------------------------------------------------ (a) multi-coil k-space, axes


def test_v5_multicoil_kspace_in_matlab_order_loads_as_coils_rows_cols(coil_kspace):
    data = v5_bytes({"kspace": matlab_order(coil_kspace)})
    d = load_matlab(data, "scan.mat", isolate=False)
    assert isinstance(d, LoadedData) and d.format == "matlab" and d.filename == "scan.mat"
    assert d.kspace.shape == (4, 64, 48) and d.kspace.dtype == np.complex64
    np.testing.assert_array_equal(d.kspace, coil_kspace)
    assert d.n_coils == 4 and d.image is None
    assert d.axes_roles == ("row", "col", "coil") and d.axes_guessed
    assert d.axes.startswith("(64, 48, 4) read as row × col × coil (guessed")
    assert d.source.startswith("MATLAB .mat['kspace'], multi-coil k-space (detected")
    assert d.metadata["version"] == "5" and d.metadata["key"] == "kspace"


def test_axes_override_reads_a_layout_the_guess_gets_wrong(coil_kspace):
    many = np.concatenate([coil_kspace] * 10)  # 40 coils: too many to look like a thin axis
    stored = matlab_order(many)  # (64, 48, 40)
    guessed = load_matlab(v5_bytes({"k": stored}), isolate=False, kind="kspace")
    assert guessed.axes_roles != ("row", "col", "coil")
    d = load_matlab(v5_bytes({"k": stored}), isolate=False, axes=("row", "col", "coil"))
    assert d.axes_roles == ("row", "col", "coil") and not d.axes_guessed
    np.testing.assert_array_equal(d.kspace, many)


def test_axes_override_row_coil_col(coil_kspace):
    stored = np.transpose(coil_kspace, (1, 0, 2))  # lines x coils x columns: (64, 4, 48)
    d = load_matlab(v5_bytes({"raw": stored}), isolate=False, axes="row, coil, col")
    assert d.axes_roles == ("row", "coil", "col") and d.kspace.shape == (4, 64, 48)
    np.testing.assert_array_equal(d.kspace, coil_kspace)
    with pytest.raises(DataLoadError) as err:
        load_matlab(v5_bytes({"raw": stored}), isolate=False, axes=("row", "col"))
    assert err.value.reason == "argument"


# ------------------------------------------------------------------------ (b) real images


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int16, np.uint8])
def test_v5_real_image(dtype):
    img = IMAGE.astype(dtype)
    d = load_matlab(v5_bytes({"img": img}), "img.mat", isolate=False)
    assert d.kspace is None and d.image.dtype == np.float32 and d.image.shape == (40, 32)
    np.testing.assert_array_equal(d.image, img.astype(np.float32))
    assert d.source.startswith("MATLAB .mat['img'], image, 40x32")


def test_v5_image_stack_in_matlab_order():
    stack = np.stack([IMAGE * (k + 1) for k in range(5)], axis=-1)  # (40, 32, 5)
    d = load_matlab(v5_bytes({"vol": stack}), isolate=False, slice_index=3)
    assert d.n_slices == 5 and d.slice_index == 3 and d.axes_roles == ("row", "col", "slice")
    np.testing.assert_array_equal(d.image, (IMAGE * 4).astype(np.float32))


def test_v5_logical_and_compressed():
    mask = IMAGE > 3
    d = load_matlab(v5_bytes({"m": mask}, compress=True), isolate=False)
    assert d.metadata["variables"][0]["class"] == "logical"
    np.testing.assert_array_equal(d.image, mask.astype(np.float32))


def test_v73_real_image_and_logical(tmp_path):
    data = v73_bytes(tmp_path, {"img": IMAGE.astype(np.float32), "m": IMAGE > 3})
    d = load_matlab(data, "v73.mat", isolate=False, key="img")
    np.testing.assert_array_equal(d.image, IMAGE.astype(np.float32))
    assert d.metadata["version"] == "7.3" and "MATLAB 7.3 MAT-file" in d.metadata["header"]
    m = load_matlab(data, isolate=False, key="m")
    np.testing.assert_array_equal(m.image, (IMAGE > 3).astype(np.float32))
    classes = {v["name"]: v["class"] for v in m.metadata["variables"]}
    assert classes == {"img": "single", "m": "logical"}


def test_v4_file():
    buf = io.BytesIO()
    scipy.io.savemat(buf, {"img": IMAGE, "z": IMAGE * (1 + 1j)}, format="4")
    d = load_matlab(buf.getvalue(), isolate=False, key="img")
    assert d.metadata["version"] == "4" and d.metadata["header"] == ""
    np.testing.assert_array_equal(d.image, IMAGE.astype(np.float32))
    z = load_matlab(buf.getvalue(), isolate=False, key="z", kind="image")
    np.testing.assert_array_equal(z.image, (IMAGE * (1 + 1j)).astype(np.complex64))


def test_plain_hdf5_is_read_as_matlab_would(tmp_path, coil_kspace):
    """No user block, no MATLAB_class, h5py's own complex: dimensions still reversed."""
    path = tmp_path / "plain.mat"
    with h5py.File(path, "w") as f:
        f["kspace"] = np.ascontiguousarray(matlab_order(coil_kspace).T)
        f["grp"] = h5py.Empty("f")
    d = load_matlab(path, isolate=False)
    np.testing.assert_array_equal(d.kspace, coil_kspace)
    assert d.metadata["version"] == "7.3" and d.metadata["header"] == ""
    listed = {v["name"]: v for v in d.metadata["variables"]}
    assert listed["kspace"]["class"] == "single" and listed["grp"]["why"].startswith("empty")


def test_meta_is_json_ready(tmp_path, coil_kspace):
    import json

    for data in (v5_bytes({"k": matlab_order(coil_kspace), "s": {"a": 1}, "t": "x"}),
                 v73_bytes(tmp_path, {"k": matlab_order(coil_kspace), "s": Struct(a=IMAGE)})):
        meta, arrays = reader.read(io.BytesIO(data), {"key": None}, LoadLimits().as_dict())
        assert json.loads(json.dumps(meta)) == meta
        assert set(meta) == {"variables", "n_variables", "key", "chosen_because", "version",
                             "header"}
        assert arrays["array"].dtype == np.complex64 and arrays["array"].flags.c_contiguous


# ---------------------------------------------------------------------- (c) several variables


def test_default_choice_prefers_a_kspace_name_and_key_picks_another(coil_kspace):
    variables = {"img": IMAGE, "kspace": matlab_order(coil_kspace), "big": np.ones((90, 90)),
                 "te": np.array([[4.5]]), "note": "fully sampled"}
    data = v5_bytes(variables)
    d = load_matlab(data, isolate=False)
    assert d.metadata["key"] == "kspace" and d.kspace.shape == (4, 64, 48)
    assert d.metadata["chosen_because"] == "named like k-space ('kspace')"
    listed = {v["name"]: v for v in d.metadata["variables"]}
    assert listed["img"] == {"name": "img", "shape": [40, 32], "class": "double",
                             "usable": True, "why": ""}
    assert listed["te"]["usable"] is False and "fewer than two axes" in listed["te"]["why"]
    assert listed["note"]["class"] == "char" and not listed["note"]["usable"]
    img = load_matlab(data, isolate=False, key="img")
    assert img.metadata["key"] == "img" and img.kspace is None
    np.testing.assert_array_equal(img.image, IMAGE.astype(np.float32))
    assert img.metadata["chosen_because"] == "named with key="


def test_kspace_names_in_order_of_preference_any_case(coil_kspace):
    k = matlab_order(coil_kspace)
    d = load_matlab(v5_bytes({"Data": k, "KDATA": k[..., :2], "img": IMAGE}), isolate=False)
    assert d.metadata["key"] == "KDATA" and d.n_coils == 2
    # a k-space name that is not usable (a scalar) does not win
    d = load_matlab(v5_bytes({"kspace": np.array([[1.0]]), "img": IMAGE}), isolate=False)
    assert d.metadata["key"] == "img"


def test_without_a_kspace_name_the_largest_usable_array_is_chosen():
    variables = {"a": IMAGE[:16, :16], "b": IMAGE, "vec": np.arange(5000.0)[None]}
    d = load_matlab(v5_bytes(variables), isolate=False)
    assert d.metadata["key"] == "b" and "largest of 2" in d.metadata["chosen_because"]
    d = load_matlab(v5_bytes({"only": IMAGE, "s": {"x": 1}}), isolate=False)
    assert d.metadata["chosen_because"] == "the only numeric array in the file"


# ------------------------------------------------------------------------ (d) v7.3 complex


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_v73_complex_compound_matches_v5(tmp_path, coil_kspace, dtype):
    k = matlab_order(coil_kspace).astype(dtype)
    path = tmp_path / "k.mat"
    write_v73(path, {"kdata": k, "img": IMAGE})
    with h5py.File(path, "r") as f:  # the layout is MATLAB's: reversed, compound
        assert f["kdata"].shape == (4, 48, 64) and set(f["kdata"].dtype.fields) == {"real", "imag"}
    d73 = load_matlab(path, isolate=False)  # a path, read in place
    d5 = load_matlab(v5_bytes({"kdata": k}), isolate=False)
    assert d73.metadata["version"] == "7.3" and d73.metadata["key"] == "kdata"
    assert d73.axes_roles == d5.axes_roles == ("row", "col", "coil")
    np.testing.assert_array_equal(d73.kspace, coil_kspace)
    np.testing.assert_array_equal(d73.kspace, d5.kspace)


def test_v73_lists_internals_away_and_refuses_structs_cells_handles(tmp_path):
    data = v73_bytes(tmp_path, {
        "img": IMAGE,
        "s": Struct(a=np.ones((3, 3))),
        "c": Cell([np.ones((2, 2)), np.zeros((3, 1))]),
        "fh": FunctionHandle("@(x) x.^2"),
        "t": Text("hello"),
    })
    d = load_matlab(data, isolate=False)
    listed = {v["name"]: v for v in d.metadata["variables"]}
    assert d.metadata["key"] == "img" and set(listed) == {"img", "s", "c", "fh", "t"}
    assert [listed[n]["class"] for n in ("s", "c", "fh", "t")] == [
        "struct", "cell", "function_handle", "char"]
    for name, word in (("s", "struct"), ("c", "cell"), ("fh", "function handle"), ("t", "char")):
        with pytest.raises(DataLoadError) as err:
            load_matlab(data, isolate=False, key=name)
        assert err.value.reason == "unsupported" and word in str(err.value), name


def test_v73_refuses_links_and_external_storage(tmp_path):
    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.arange(64 * 64, dtype=np.float64).tobytes())
    path = tmp_path / "ext.mat"
    write_v73(path, {"img": IMAGE})
    with h5py.File(path, "r+") as f:
        dset = f.create_dataset("ext", shape=(64, 64), dtype=np.float64,
                                external=[(str(secret), 0, 64 * 64 * 8)])
        _matlab_class(dset, "double")
        f["linked"] = h5py.ExternalLink(str(secret), "/x")
        f["soft"] = h5py.SoftLink("/img")
    d = load_matlab(path, isolate=False)
    assert d.metadata["key"] == "img"  # not the larger 'ext'
    for key in ("ext", "linked", "soft"):
        with pytest.raises(DataLoadError) as err:
            load_matlab(path, isolate=False, key=key)
        assert err.value.reason == "unsupported", key


def test_v73_through_the_helper_process_and_loaded_from_matlab(tmp_path, coil_kspace):
    data = v73_bytes(tmp_path, {"kspace": matlab_order(coil_kspace)})
    d = load_matlab(io.BytesIO(data), "k.mat")  # isolate=True: the reader runs in a child
    np.testing.assert_array_equal(d.kspace, coil_kspace)
    meta, arrays = reader.read(io.BytesIO(data), {"key": None}, LoadLimits().as_dict())
    again = loaded_from_matlab(meta, arrays, "k.mat", None)
    np.testing.assert_array_equal(again.kspace, d.kspace)
    assert again.metadata["variables"] == d.metadata["variables"]


# -------------------------------------------------------------------------- (e) refusals


def _function_handle_v5() -> bytes:
    """A v5 file whose one variable has the class of a function handle (mxFUNCTION_CLASS)."""
    data = bytearray(v5_bytes({"fh": np.ones((3, 3))}))
    assert data[144] == 6  # the class byte of the first array's flags: mxDOUBLE_CLASS
    data[144] = 16
    return bytes(data)


def _object_v5() -> bytes:
    fields = np.zeros((1, 1), dtype=[("a", object)])
    fields[0, 0]["a"] = np.ones((3, 3))
    return v5_bytes({"obj": MatlabObject(fields, "myclass")})


@pytest.mark.parametrize(
    "data, key, word",
    [
        (v5_bytes({"s": {"a": np.ones((4, 4)), "b": "x"}}), "s", "struct"),
        (v5_bytes({"c": np.array([np.ones((4, 4)), "x"], dtype=object)}), "c", "cell"),
        (_object_v5(), "obj", "object"),
        (_function_handle_v5(), "fh", "function handle"),
        (v5_bytes({"sp": scipy.sparse.random(20, 20, density=0.2, rng=0)}), "sp", "sparse"),
        (v5_bytes({"ch": "hello"}), "ch", "char"),
    ],
    ids=["struct", "cell", "object", "function", "sparse", "char"],
)
def test_refuses_what_is_not_a_numeric_array(data, key, word):
    for k in (key, None):  # chosen by name, or the only variable
        with pytest.raises(DataLoadError) as err:
            load_matlab(data, "x.mat", isolate=False, key=k)
        assert err.value.reason == "unsupported" and word in str(err.value), (k, str(err.value))
    both = v5_bytes({"img": IMAGE}) + data[128:]  # v5 variables follow the header in turn
    d = load_matlab(both, isolate=False)  # beside a numeric array, it is listed, not chosen
    assert d.metadata["key"] == "img"
    listed = [(v["name"], v["usable"]) for v in d.metadata["variables"]]
    assert listed == [("img", True), (key, False)]


def test_unknown_key_lists_the_variables():
    data = v5_bytes({"img": IMAGE, "kspace_ref": IMAGE * 2j})
    with pytest.raises(DataLoadError) as err:
        load_matlab(data, isolate=False, key="ksp")
    assert err.value.reason == "argument"
    assert all(f"'{name}'" in str(err.value) for name in ("ksp", "img", "kspace_ref"))


def test_no_usable_variable_and_no_variables():
    with pytest.raises(DataLoadError) as err:
        load_matlab(v5_bytes({"s": {"a": 1}, "t": "text", "v": np.arange(9.0)}), isolate=False)
    assert err.value.reason == "unsupported"
    assert all(f"'{n}'" in str(err.value) for n in "stv")
    with pytest.raises(DataLoadError) as err:
        load_matlab(v5_header(), isolate=False)
    assert err.value.reason == "missing"
    thin = v5_bytes({"v": np.arange(9.0)[None], "e": np.zeros((0, 4))})
    for key, reason in (("v", "rank"), ("e", "empty")):
        with pytest.raises(DataLoadError) as err:
            load_matlab(thin, isolate=False, key=key)
        assert err.value.reason == reason, key


def test_too_large_is_refused_before_reading(tmp_path, coil_kspace, monkeypatch):
    small = LoadLimits(max_total_elements=10_000)  # the k-space has 4 * 64 * 48 = 12288
    k = matlab_order(coil_kspace)
    v73 = v73_bytes(tmp_path, {"kspace": k})

    def no_loading(*args, **kwargs):
        raise AssertionError("loadmat called for a variable beyond the limits")

    monkeypatch.setattr(scipy.io, "loadmat", no_loading)
    for data in (v5_bytes({"kspace": k}), v73):
        with pytest.raises(DataLoadError) as err:
            load_matlab(data, isolate=False, limits=small)
        assert err.value.reason == "too_large" and "12288" in str(err.value)


def test_complex128_counts_sixteen_bytes_in_v73(tmp_path, coil_kspace):
    limits = LoadLimits(max_total_elements=20_000)  # 12288 elements, 16 bytes each > 8 * 20000
    data = v73_bytes(tmp_path, {"kspace": matlab_order(coil_kspace).astype(np.complex128)})
    with pytest.raises(DataLoadError) as err:
        load_matlab(data, isolate=False, limits=limits)
    assert err.value.reason == "too_large"


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"just some text, not a MAT-file at all" * 10, "corrupt"),
        (b"MATLAB 5.0 MAT-file", "truncated"),
        (v5_header()[:126] + b"XX", "corrupt"),
        (b"MATLAB 7.3 MAT-file".ljust(512, b" "), "truncated"),
    ],
    ids=["text", "short", "no-endian", "v73-no-hdf5"],
)
def test_not_a_mat_file(data, reason):
    with pytest.raises(DataLoadError) as err:
        load_matlab(data, "x.mat", isolate=False)
    assert err.value.reason == reason


def test_options_that_do_not_apply_and_unknown_keywords():
    with pytest.raises(DataLoadError) as err:
        load_matlab(v5_bytes({"img": IMAGE}), isolate=False, average=1)
    assert err.value.reason == "argument"
    with pytest.raises(TypeError):
        load_matlab(v5_bytes({"img": IMAGE}), isolate=False, variable="img")


# ----------------------------------------------------------------------- (f) hostile input

HOSTILE = settings(max_examples=20, deadline=None, derandomize=True,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
LIMITS = LoadLimits(timeout_s=20)


def _valid_v5() -> bytes:
    k = np.fft.fftshift(np.fft.fft2(np.eye(16)[None] * np.arange(1, 3)[:, None, None]))
    return v5_bytes({"kspace": np.moveaxis(k, 0, -1), "img": IMAGE[:16, :16],
                     "s": {"a": np.ones((2, 2))}})


def _valid_v73() -> bytes:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        k = np.fft.fftshift(np.fft.fft2(np.eye(16)[None] * np.arange(1, 3)[:, None, None]))
        return v73_bytes(Path(tmp), {"kspace": np.moveaxis(k, 0, -1), "img": IMAGE[:16, :16],
                                     "s": Struct(a=np.ones((2, 2)))})


VALID_V5 = _valid_v5()
VALID_V5_COMPRESSED = v5_bytes({"img": IMAGE[:16, :16], "c": np.array([1, "x"], dtype=object)},
                               compress=True)
VALID_V73 = _valid_v73()


def _survives(data: bytes) -> None:
    """A LoadedData or a DataLoadError, nothing else, with the parser in the helper process."""
    try:
        d = load_matlab(data, "hostile.mat", limits=LIMITS, isolate=True)
    except DataLoadError:
        return
    assert isinstance(d, LoadedData)


def test_the_valid_files_load():
    for data in (VALID_V5, VALID_V73):
        assert load_matlab(data, isolate=False).metadata["key"] == "kspace"
    assert load_matlab(VALID_V5_COMPRESSED, isolate=False).metadata["key"] == "img"


@pytest.mark.slow
@HOSTILE
@given(st.binary(max_size=4096))
def test_hostile_random_bytes_after_a_v5_header(tail):
    _survives(v5_header() + tail)


@pytest.mark.slow
@HOSTILE
@given(st.sampled_from([VALID_V5, VALID_V5_COMPRESSED, VALID_V73]), st.floats(0, 1))
def test_hostile_truncations(data, fraction):
    _survives(data[: int(fraction * (len(data) - 1))])


@pytest.mark.slow
@HOSTILE
@given(
    st.sampled_from([VALID_V5, VALID_V5_COMPRESSED, VALID_V73]),
    st.lists(st.tuples(st.integers(0, 4095), st.integers(0, 255)), min_size=1, max_size=8),
)
def test_hostile_overwritten_bytes(data, edits):
    buf = bytearray(data)  # the first 4 KiB: headers, HDF5 superblock and object headers
    for where, value in edits:
        buf[where % len(buf)] = value
    _survives(bytes(buf))
