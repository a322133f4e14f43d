"""AppTest: the Coils and parallel imaging page on simulated coils and on the built-in brain.

Sizes are kept small (64² phantom, 4 pseudo-replicas) so that the page's Run (zero-filled,
GRAPPA, CG-SENSE, SENSE-TV and a g-factor map) takes seconds.
"""

from __future__ import annotations

import pytest
from apphelpers import errors, open_page

METHODS = ("Zero-filled RSS", "GRAPPA", "CG-SENSE", "SENSE-TV")
SMALL = {"size": "64", "nrep": "4", "iters": "40"}
# An equispaced mask that is exactly regular outside its centre: 8 centre columns of 64 and
# fastMRI's adjusted spacing a * (8 - 64) / (8 * a - 64) = 4 at a = 32 / 11 (a hair below it,
# so that the last line, 63, is drawn too: every 4th column from 3).
REGULAR = {**SMALL, "mkind": "equispaced", "accel": "2.909090909", "cf": "0.125"}


def metrics(at, label):
    return [m.value for m in at.metric if m.label == label]


def texts(at):
    return " ".join([c.value for c in at.caption] + [m.value for m in at.markdown])


def run(at):
    at.button(key="coils_run").click().run()
    assert not errors(at), errors(at)
    return at


def test_phantom_gets_simulated_coils_and_four_scored_reconstructions():
    at = open_page("coils", SMALL)
    assert not errors(at), errors(at)
    assert "8 simulated coils" in texts(at)
    assert any("Press **Run**" in i.value for i in at.info)
    run(at)
    psnr = metrics(at, "PSNR")
    assert len(psnr) == 4 and all(v.endswith("dB") for v in psnr), psnr
    assert len(metrics(at, "SSIM")) == 4
    charts = {c.proto.id for c in at.get("plotly_chart")}
    assert len(charts) >= 4 + 8 + 1  # coil grid, RSS/SENSE, maps...; 4 images + 4 errors; g map
    entry = next(iter(at.session_state["coils_results"].values()))
    assert set(entry["images"]) == set(METHODS)
    assert float(metrics(at, "mean g")[0]) >= 1  # random mask: pseudo-replicas
    # the results survive a page switch, without pressing Run again
    at.switch_page("pages/tv.py").run()
    at.switch_page("pages/coils.py").run()
    assert len(metrics(at, "PSNR")) == 4 and metrics(at, "mean g")


def test_noise_setting_makes_the_simulated_coils_noisy():
    clean = open_page("coils", SMALL)
    noisy = open_page("coils", {**SMALL, "snr": "20"})
    assert not errors(noisy)
    assert "k-space SNR 20 dB" in texts(noisy)
    run(clean), run(noisy)
    assert float(metrics(noisy, "PSNR")[0].split()[0]) < float(metrics(clean, "PSNR")[0].split()[0])


def test_builtin_brain_renders_and_runs_without_reference_metrics():
    at = open_page("coils", {"src": "brain", "nrep": "4", "iters": "40"}, timeout=300)
    assert not errors(at), errors(at)
    assert "simulated" not in texts(at) and "8 coils" in texts(at)
    run(at)
    assert metrics(at, "PSNR") == []  # no reference: one caption says so, not a "—" per column
    assert "No PSNR or SSIM. No fully sampled reference" in texts(at)
    assert any("Skipped: GRAPPA on a 2-D mask" in i.value for i in at.info)
    assert float(metrics(at, "mean g")[0]) >= 1


@pytest.mark.parametrize("query, how", [(REGULAR, "Analytic SENSE g-factor of one column in 4"),
                                        ({**SMALL, "mkind": "equispaced"}, "pseudo-replicas")])
def test_gfactor_of_equispaced_masks(query, how):
    at = open_page("coils", query)
    assert not errors(at), errors(at)
    if how != "pseudo-replicas":  # the closed form needs no Run
        assert float(metrics(at, "mean g")[0]) >= 1
    run(at)
    mean, top = float(metrics(at, "mean g")[0]), float(metrics(at, "max g")[0])
    assert 1 <= mean <= top
    assert how in texts(at)


def test_too_small_calibration_gives_messages_not_exceptions():
    # 16x on 64 columns keeps 1 centre column: no coil maps of either kind, no GRAPPA
    at = open_page("coils", {**SMALL, "accel": "16"})
    assert not at.exception
    assert any("No coil maps" in e.value for e in at.error)
    at.button(key="coils_run").click().run()
    assert not at.exception
    failed = " ".join(e.value for e in at.error)
    assert "GRAPPA failed" in failed and "CG-SENSE failed" in failed and "SENSE-TV failed" in failed
    assert len(metrics(at, "PSNR")) == 1  # zero-filled still shown
    # 8x keeps 3: too few for ESPIRiT, enough for the ratio maps, and the page says so
    at = open_page("coils", {**SMALL, "accel": "8"})
    assert not errors(at), errors(at)
    assert any("ESPIRiT could not calibrate" in w.value and "ratio maps are used" in w.value
               for w in at.warning)


def test_maps_and_ncoils_round_trip_through_the_url():
    at = open_page("coils", {**SMALL, "maps": "ratio", "ncoils": "4"})
    assert not errors(at), errors(at)
    assert at.selectbox(key="w_maps").value == "ratio"
    assert at.number_input(key="w_ncoils").value == 4
    assert "4 simulated coils" in texts(at) and "Calibration ratio" in texts(at)
    assert at.query_params["maps"] == "ratio" and at.query_params["ncoils"] == "4"
    at.selectbox(key="w_maps").set_value("espirit").run()
    at.number_input(key="w_ncoils").set_value(6).run()
    assert not errors(at)
    assert "maps" not in at.query_params  # the default is left out of the link
    assert at.query_params["ncoils"] == "6" and "6 simulated coils" in texts(at)
    bad = open_page("coils", {**SMALL, "maps": "sigpy", "ncoils": "99"})
    warned = " ".join(w.value for w in bad.warning)
    assert "`maps=sigpy`" in warned and "`ncoils=99`" in warned
    assert bad.selectbox(key="w_maps").value == "espirit"


def test_maps_setting_reaches_the_tv_page():
    psnr = {}
    for kind in ("espirit", "ratio"):
        at = open_page("tv", {"src": "gre_phantom", "iters": "20", "maps": kind}, timeout=300)
        at.button(key="tv_run").click().run()
        assert not errors(at), errors(at)
        psnr[kind] = metrics(at, "PSNR")[0]
    assert psnr["espirit"] != psnr["ratio"]


def test_grappa_that_blows_up_is_flagged():
    # 2 coils at random 4x with 13 calibration lines: GRAPPA's kernels amplify the noise
    at = open_page("coils", {"src": "gre_phantom", "nrep": "4", "iters": "20"}, timeout=300)
    run(at)
    assert not errors(at), errors(at)
    assert any("brighter than the zero-filled" in w.value for w in at.warning)


def test_results_beyond_the_cap_are_dropped_with_a_note(monkeypatch):
    from ui import store

    monkeypatch.setattr(store, "COIL_RESULTS", 1)  # the page reads the cap on every run
    at = run(open_page("coils", {**SMALL, "lam": "0.001", "iters": "5"}))
    assert not [i.value for i in at.info if "memory bounded" in i.value]
    at.number_input(key="w_lam").set_value(0.002).run()
    run(at)
    (note,) = [i.value for i in at.info if "memory bounded" in i.value]
    assert note.startswith("An older Coils page result (espirit maps, λ=1.00e-03, 5 TV iterations)")
    (key,) = at.session_state["coils_results"].keys()
    assert key[3] == 0.002  # the newest is kept, and shown
    assert len(metrics(at, "PSNR")) == 4
