"""AppTest: the k-space explorer shows image and k-space and reacts to every control."""

from __future__ import annotations

import json

import pytest
from apphelpers import errors, open_page


def metric(at, label):
    return next(m.value for m in at.metric if m.label == label)


def test_defaults_show_two_figures_four_with_phase_and_full_psnr():
    at = open_page("explorer")
    assert not errors(at)
    assert len(at.get("plotly_chart")) == 2  # magnitude and k-space; the phases on request
    at.toggle(key="ex_show_phase").set_value(True).run()
    assert len(at.get("plotly_chart")) == 4
    assert metric(at, "PSNR vs original") == "≥ 100 dB"  # only float round-off
    assert metric(at, "k-space samples kept") == "100.0%"


def test_every_manipulation_changes_the_image():
    at = open_page("explorer")
    at.slider(key="ex_lowpass").set_value(0.3).run()
    low = float(metric(at, "PSNR vs original").split()[0])
    assert low < 35 and float(metric(at, "k-space samples kept").rstrip("%")) < 10
    at.slider(key="ex_lowpass").set_value(1.5)
    at.slider(key="ex_highpass").set_value(0.05).run()
    assert float(metric(at, "PSNR vs original").split()[0]) < 20  # edges only
    at.slider(key="ex_highpass").set_value(0.0)
    at.slider(key="ex_pf").set_value(0.6).run()
    assert 59 < float(metric(at, "k-space samples kept").rstrip("%")) < 62
    at.slider(key="ex_pf").set_value(1.0)
    at.toggle(key="ex_noise_on").set_value(True).run()
    at.slider(key="ex_snr").set_value(10.0).run()
    assert float(metric(at, "PSNR vs original").split()[0]) < 40
    at.toggle(key="ex_noise_on").set_value(False)
    at.toggle(key="ex_spike_on").set_value(True).run()
    at.number_input(key="ex_sky").set_value(5)
    at.number_input(key="ex_skx").set_value(-9)
    at.slider(key="ex_samp").set_value(0.2).run()
    spiked = float(metric(at, "PSNR vs original").split()[0])
    assert spiked < 40
    at.toggle(key="ex_spike_on").set_value(False)
    at.slider(key="ex_dc").set_value(2.0).run()
    assert float(metric(at, "PSNR vs original").split()[0]) < 60
    at.slider(key="ex_level").set_value(0.3)
    at.slider(key="ex_width").set_value(0.5).run()
    heatmap = json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]
    step = heatmap["meta"]  # values travel as integer codes of this decimal step
    assert heatmap["zmin"] * step == pytest.approx(0.05) and heatmap["zmax"] * step == pytest.approx(0.55)
    assert not errors(at)


def test_source_and_size_are_shared_and_in_the_url():
    at = open_page("explorer")
    at.selectbox(key="w_src").set_value("ellipses").run()
    at.number_input(key="w_eseed").set_value(7)
    at.select_slider(key="w_size").set_value(128).run()
    assert not errors(at)
    assert at.query_params["src"] == "ellipses" and at.query_params["eseed"] == "7"
    assert at.query_params["size"] == "128"
    assert any("random ellipses (seed 7), 128×128" in c.value for c in at.caption)
    at.switch_page("pages/masks.py").run()
    assert any("random ellipses (seed 7), 128×128" in c.value for c in at.caption)
