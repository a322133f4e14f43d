"""AppTest: uploads — a valid image, a bad file that must not lose it, and multi-coil k-space."""

from __future__ import annotations

import io

import numpy as np
from apphelpers import errors, open_page
from PIL import Image

from recon_core import shepp_logan
from recon_core.coils import simulate_multicoil


def png_bytes() -> bytes:
    img = (shepp_logan(96) * 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(img).convert("RGB").save(buf, format="PNG")
    return buf.getvalue()


def npy_bytes(arr) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return buf.getvalue()


def captions(at) -> str:
    return " ".join(c.value for c in at.caption)


def test_valid_upload_then_invalid_keeps_the_data():
    at = open_page("explorer", {"src": "upload"})
    assert any("Choose a file" in i.value for i in at.info)
    at.file_uploader(key="up_files").set_value(("brain.png", png_bytes(), "image/png")).run()
    assert not errors(at)
    assert any(s.value.startswith("Loaded") for s in at.success)
    assert "96x96" in captions(at) or "96×96" in captions(at)
    # the other pages work on the uploaded image
    at.switch_page("pages/masks.py").run()
    assert "PNG" in captions(at) and not errors(at)
    at.switch_page("pages/explorer.py").run()
    # now a broken file: a clear message, and the PNG stays loaded
    at.file_uploader(key="up_files").set_value(("scan.npy", b"\x93NUMPY garbage", "application/octet-stream")).run()
    msgs = errors(at)
    assert any(m.startswith("Could not use scan.npy:") for m in msgs), msgs
    assert not at.exception
    assert any("Keeping the previously loaded data" in i.value for i in at.info)
    assert "PNG" in captions(at)


def test_pickled_object_array_is_refused():
    at = open_page("explorer", {"src": "upload"})
    buf = io.BytesIO()
    np.save(buf, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    at.file_uploader(key="up_files").set_value(("evil.npy", buf.getvalue(), "application/octet-stream")).run()
    assert any("evil.npy" in m for m in errors(at)) and not at.exception


def test_multicoil_kspace_runs_through_explorer_and_tv():
    k, _ = simulate_multicoil(shepp_logan(64), n_coils=4)
    # λ by hand: these noiseless synthetic k-space corners still hold phantom signal, which
    # the automatic λ would take for noise (see recon_core/recon/auto_lambda.py)
    at = open_page("explorer", {"src": "upload", "lamauto": "0"})
    at.file_uploader(key="up_files").set_value(("coils.npy", npy_bytes(k), "application/octet-stream")).run()
    assert not errors(at)
    assert at.number_input(key="ex_coil").value == 1  # numbered from 1, as on the Coils page
    at.number_input(key="ex_coil").set_value(4).run()
    assert not errors(at)
    at.switch_page("pages/tv.py").run()
    assert "Multi-coil" in captions(at)
    at.number_input(key="w_iters").set_value(100)  # the default: the coil-split ADMM takes
    at.button(key="tv_run").click().run()           # cheaper, smaller steps than the CG one
    assert not errors(at)
    gain = next(m for m in at.metric if m.label == "PSNR").proto.delta
    assert float(gain.split()[0]) > 5
    at.switch_page("pages/compare.py").run()
    assert not errors(at)
    assert list(at.dataframe[0].value.index)[:2] == ["zero-filled", "TV"]


def test_slice_size_and_fit_controls():
    vol = np.stack([shepp_logan(80) * (i + 1) / 3 for i in range(3)]).astype(np.float32)
    at = open_page("explorer", {"src": "upload"})
    at.file_uploader(key="up_files").set_value(("vol.npy", npy_bytes(vol), "application/octet-stream")).run()
    assert not errors(at)
    assert "slice 1 of 3" in captions(at)  # the middle slice (counted from 0) by default
    at.run()  # a rerun keeps it
    assert "slice 1 of 3" in captions(at)
    at.number_input(key="up_slice").set_value(0).run()
    assert "slice 0 of 3" in captions(at)
    at.selectbox(key="up_size").set_value(128)
    at.radio(key="up_mode").set_value("resize").run()
    assert not errors(at)
    assert "128" in captions(at)
