"""AppTest: every method side by side, metrics table, zoom, and the four exports."""

from __future__ import annotations

import json

from apphelpers import errors, open_page


def test_all_methods_and_metrics():
    at = open_page("compare")
    assert not errors(at)
    df = at.dataframe[0].value
    assert list(df.index) == ["zero-filled", "TV", "ResCNN", "unrolled"]
    zf = df.loc["zero-filled", "PSNR (dB)"]
    assert df.loc["TV", "PSNR (dB)"] > zf + 20
    assert df.loc["ResCNN", "PSNR (dB)"] > zf and df.loc["unrolled", "PSNR (dB)"] > zf
    assert len(at.get("download_button")) == 4


def test_toggles_zoom_and_error_scale():
    at = open_page("compare", {"size": "128"})
    at.toggle(key="cmp_rescnn").set_value(False)
    at.toggle(key="cmp_unrolled").set_value(False)
    at.toggle(key="cmp_tv").set_value(False).run()
    assert list(at.dataframe[0].value.index) == ["zero-filled"]
    assert not at.get("progress")  # the progress of the computations is gone once they are done
    at.slider(key="cmp_rows").set_value((32, 96))
    at.slider(key="cmp_cols").set_value((10, 74))
    at.slider(key="cmp_errmax").set_value(0.5).run()
    assert not errors(at)
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert spec["data"][0]["z"]["shape"].replace(" ", "") == "64,64"  # plotly's typed-array form
    at.slider(key="cmp_rows").set_value((10, 12)).run()
    assert any("at least 8×8" in e for e in errors(at))


def test_link_settings_reach_the_report():
    at = open_page("compare", {"lam": "0.01", "mkind": "gaussian"})
    assert not errors(at)
    assert any("λ = 1.00e-02" in c.value for c in at.caption)
    assert any("gaussian mask" in c.value for c in at.caption)


def test_multicoil_scan_greys_out_the_networks_and_the_error_scale():
    at = open_page("compare", {"src": "brain"})
    assert not errors(at)
    assert at.toggle(key="cmp_rescnn").disabled and at.toggle(key="cmp_unrolled").disabled
    assert "single-coil" in at.toggle(key="cmp_rescnn").help
    assert at.slider(key="cmp_errmax").disabled  # the brain has no reference: no error maps
    assert any("single-coil" in i.value for i in at.info)
    phantom = open_page("compare")
    assert not phantom.toggle(key="cmp_rescnn").disabled and not phantom.slider(key="cmp_errmax").disabled
