"""AppTest: the TV page runs each method, shows curves and metrics, stops and sweeps λ."""

from __future__ import annotations

import pytest
from apphelpers import errors, open_page


def metric(at, label):
    return next(m.value for m in at.metric if m.label == label)


def test_admm_run_shows_curves_image_and_metrics():
    at = open_page("tv", {"size": "128"})
    assert any("Press **Run**" in i.value for i in at.info)
    at.number_input(key="w_iters").set_value(60)
    at.button(key="tv_run").click().run()
    assert not errors(at)
    psnr_metric = next(m for m in at.metric if m.label == "PSNR")
    assert float(psnr_metric.value.split()[0]) > 25
    assert float(psnr_metric.proto.delta.split()[0]) > 5  # dB gained over zero-filled
    assert metric(at, "Iterations · time").startswith("60 ·")
    assert len(at.get("plotly_chart")) >= 4  # loss, PSNR, image, error
    # the same settings are not solved twice
    at.button(key="tv_run").click().run()
    assert any("already solved" in i.value for i in at.info)


@pytest.mark.parametrize("method, setting", [("pdhg", ("tv_tau", 5.0)), ("gradient", ("tv_lr_sgd", 0.3))])
def test_other_methods(method, setting):
    at = open_page("tv", {"size": "64", "method": method, "iters": "40"})
    if method == "gradient":
        at.selectbox(key="tv_opt").set_value("sgd").run()
    at.number_input(key=setting[0]).set_value(setting[1])
    at.run()
    at.button(key="tv_run").click().run()
    assert not errors(at)
    assert metric(at, "Iterations · time").startswith("40 ·")
    assert "dB" in metric(at, "PSNR")


def test_stop_keeps_the_partial_result():
    at = open_page("tv", {"size": "64"})
    at.button(key="tv_run").click().run()
    key, entry = next(iter(at.session_state["tv_results"].items()))
    # Simulate a run interrupted at iteration 30 (the browser test stops a real one).
    entry["history"] = entry["history"][:30]
    entry["status"] = "running"
    at.button(key="tv_stop").click().run()
    assert any("Stopped at iteration 30; showing the result so far (the image is from "
               "iteration 100" in w.value for w in at.warning)
    assert metric(at, "Iterations · time").startswith("30 ·")


def test_bad_lambda_is_refused_by_the_widget_and_method_settings():
    at = open_page("tv", {"lam": "-1"})
    assert any("lam=-1" in w.value for w in at.warning)
    at.selectbox(key="w_method").set_value("admm").run()
    at.slider(key="tv_relax").set_value(1.8)
    at.toggle(key="tv_adaptive").set_value(True)
    at.number_input(key="tv_rho").set_value(10.0).run()
    assert not errors(at)


def test_lambda_sweep():
    at = open_page("tv", {"size": "64", "iters": "30"})
    at.number_input(key="sw_n").set_value(3)
    at.button(key="sw_run").click().run()
    assert not errors(at)
    assert any(s.value.startswith("Best λ") for s in at.success)
    at.number_input(key="sw_lo").set_value(0.5)
    at.number_input(key="sw_hi").set_value(0.1)
    at.button(key="sw_run").click().run()
    assert any("must be below" in e.value for e in at.error)


def test_multicoil_data_get_the_coil_split_penalty_and_it_reaches_the_solver():
    at = open_page("tv", {"src": "gre_phantom", "iters": "10"}, timeout=300)
    assert not errors(at)
    widget = at.number_input(key="tv_split_rho")
    assert widget.value == 100.0 and "coil-split" in widget.label
    widget.set_value(40.0).run()
    at.button(key="tv_run").click().run()
    assert not errors(at)
    (key,) = at.session_state["tv_results"].keys()
    assert "split_rho_factor=40.0" in key[-1]


def test_noiseless_synthetic_data_are_called_the_inverse_crime():
    at = open_page("tv")
    assert "inverse crime" in " ".join(c.value for c in at.caption)
    at = open_page("tv", {"snr": "30"})
    assert "inverse crime" not in " ".join(c.value for c in at.caption)
