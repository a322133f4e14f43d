"""AppTest: the mask designer shows mask, PSF and zero-filled image, and its mask is shared."""

from __future__ import annotations

import base64
import json

import numpy as np
from apphelpers import errors, open_page


def metric(at, label, index=0):
    return [m.value for m in at.metric if m.label == label][index]


def test_default_mask_figures_and_metrics():
    at = open_page("masks")
    assert not errors(at)
    assert len(at.get("plotly_chart")) == 4
    assert metric(at, "Achieved acceleration") == "4.06×"
    # 20 = round(256 * 0.08) centre columns, plus any random column touching the block
    assert int(metric(at, "Centre").split()[0]) >= 20
    assert 18 < float(metric(at, "Zero-filled PSNR").split()[0]) < 22


def psf_trace(at):
    chart = [c for c in at.get("plotly_chart") if "PSF" in json.dumps(json.loads(c.proto.spec)["layout"].get("title"))]
    assert len(chart) == 1
    return json.loads(chart[0].proto.spec)["data"][0]


def test_psf_of_a_line_mask_is_its_line_and_of_a_2d_mask_an_image():
    at = open_page("masks")  # random columns: a line mask
    line = psf_trace(at)
    assert line["type"] == "scatter" and "x offset" in line["hovertemplate"]
    x, y = (np.frombuffer(base64.b64decode(v["bdata"]), v["dtype"]) if isinstance(v, dict) else np.array(v)
            for v in (line["x"], line["y"]))
    assert x.tolist() == list(range(-128, 128))
    assert y[128] == 0.0 and y.min() >= -80 and (y < 0).sum() == 255  # the peak at offset 0, in dB
    at.selectbox(key="w_mkind").set_value("poisson").run()
    assert not errors(at)
    assert psf_trace(at)["type"] == "heatmap"


def test_controls_change_the_shared_mask_and_url():
    at = open_page("masks")
    at.selectbox(key="w_mkind").set_value("poisson")
    at.slider(key="w_accel").set_value(8.0)
    at.number_input(key="w_mseed").set_value(3).run()
    assert not errors(at)
    assert abs(float(metric(at, "Achieved acceleration").rstrip("×")) - 8.0) < 0.2
    assert at.query_params["mkind"] == "poisson" and at.query_params["accel"] == "8.0"
    at.slider(key="w_cf").set_value(0.1).run()
    assert not errors(at)
    assert metric(at, "Centre").endswith("px")
    # the TV page uses the same mask
    at.switch_page("pages/tv.py").run()
    assert any("poisson mask, 8×, centre fraction 0.100, seed 3" in c.value for c in at.caption)


def test_invalid_setting_shows_error_and_keeps_last_mask():
    at = open_page("masks")
    at.slider(key="w_cf").set_value(0.5).run()  # above 1/accel = 0.25 for column masks
    assert any("Mask settings rejected" in e for e in errors(at))
    assert not at.exception
    assert metric(at, "Achieved acceleration") == "4.06×"  # the last valid mask is kept


def test_second_mask_side_by_side():
    at = open_page("masks")
    at.toggle(key="mk_compare").set_value(True).run()
    at.selectbox(key="mk_kind2").set_value("equispaced")
    at.number_input(key="mk_accel2").set_value(8.0)
    at.number_input(key="mk_seed2").set_value(2).run()
    assert not errors(at)
    assert len(at.get("plotly_chart")) == 8
    inc_a = float(metric(at, "Incoherence", 0))
    inc_b = float(metric(at, "Incoherence", 1))
    assert inc_b > inc_a  # regular sampling aliases coherently


def test_link_restores_the_view_and_rejects_bad_values():
    at = open_page("masks", {"mkind": "radial", "accel": "6", "size": "128"})
    assert not errors(at)
    assert at.selectbox(key="w_mkind").value == "radial"
    assert at.slider(key="w_accel").value == 6.0
    assert any("128×128" in c.value for c in at.caption)
    bad = open_page("masks", {"mkind": "spiral", "accel": "abc"})
    warnings = [w.value for w in bad.warning]
    assert any("mkind=spiral" in w for w in warnings) and any("accel=abc" in w for w in warnings)
    assert bad.selectbox(key="w_mkind").value == "random"


def calibration_warnings(at):
    return [w.value for w in at.warning if "Calibration region too small" in w.value]


def test_narrow_centre_on_multicoil_data_is_warned_about():
    # the 2-coil GRE phantom (160 x 160), 4x random columns with 3 centre columns
    at = open_page("masks", {"src": "gre_phantom", "cf": "0.02"})
    assert not errors(at)
    (warning,) = calibration_warnings(at)
    assert "only 160×3" in warning and "at least 24×24" in warning
    assert "raise the centre fraction to 0.15 or more" in warning
    at.slider(key="w_cf").set_value(0.15).run()  # round(160 * 0.15) = 24 columns
    assert not errors(at) and not calibration_warnings(at)
    at.slider(key="w_cf").set_value(0.0)
    at.selectbox(key="w_mkind").set_value("poisson").run()
    assert not errors(at) and not calibration_warnings(at)  # 2D kinds keep 24 x 24


def test_single_coil_phantom_gets_no_calibration_warning():
    at = open_page("masks", {"cf": "0.02"})
    assert not errors(at)
    assert not calibration_warnings(at)


def test_tv_page_shows_the_same_calibration_warning():
    at = open_page("tv", {"src": "gre_phantom", "cf": "0.02"})
    assert not errors(at)
    (warning,) = calibration_warnings(at)
    assert "only 160×3" in warning
    assert not calibration_warnings(open_page("tv", {"src": "gre_phantom", "cf": "0.15"}))


def _undersampled_probe():
    import numpy as np
    import streamlit as st

    from ui import state

    state.init()
    acquired = np.zeros((64, 64), bool)
    acquired[::2, ::2] = True
    acquired[28:36, 28:36] = True  # an 8 x 8 calibration region
    k = np.ones((4, 64, 64), np.complex64) * acquired
    data = state.WorkingData(np.zeros((64, 64), np.float32), k, "a scan", acquired, False)
    st.session_state["probe"] = state.calibration_warning(data, state.current_mask(data))


def test_undersampled_scan_with_a_small_calibration_region_is_warned_about():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_undersampled_probe, default_timeout=60).run()
    assert not at.exception
    warning = at.session_state["probe"]
    assert "only 8×8" in warning and "acquired undersampled" in warning
    assert "centre fraction" not in warning  # no setting can fix the scan's own sampling
