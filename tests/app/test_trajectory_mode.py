"""AppTest: non-Cartesian sampling (samp=traj) on the Mask designer, TV and Compare pages."""

from __future__ import annotations

import pytest
from apphelpers import errors, open_page

import recon_core as rc
from recon_core.figures import trajectory_animation, trajectory_figure

TRAJ_CHARTS = 6  # trajectory, PSF, animation, gridded k-space, gridding, |error|


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


@pytest.mark.parametrize("query", [
    {"tkind": "radial"},
    {"tkind": "radial", "golden": "0", "nread": "100", "nsamp": "128"},
    {"tkind": "spiral", "nread": "6"},
    {"tkind": "spiral", "nread": "4", "density": "2"},
])
def test_mask_designer_shows_trajectory_metrics_and_figures(query):
    at = open_page("masks", {"samp": "traj", "size": "64", **query})
    assert not errors(at)
    m = metrics(at)
    assert m["Acceleration"].endswith("×") and " × " in m["Readouts × samples"]
    assert float(m["Gridding PSNR"].split()[0]) > 10
    assert len(at.get("plotly_chart")) == TRAJ_CHARTS
    assert any("Samples: analytic k-space" in c.value or "by NUFFT" in c.value for c in at.caption)
    assert at.query_params["samp"] == "traj"


def test_default_trajectory_is_64_golden_spokes_of_2n_samples():
    at = open_page("masks", {"samp": "traj", "size": "128"})
    assert not errors(at)
    assert metrics(at)["Readouts × samples"] == "64 × 256"
    assert any("radial trajectory, 64 spokes, golden angle" in s.value for s in at.subheader)


def test_bad_link_values_fall_back_to_the_defaults():
    at = open_page("masks", {"samp": "traj", "size": "64", "tkind": "rosette", "nread": "0",
                             "nsamp": "x", "golden": "maybe", "density": "9"})
    assert not errors(at)
    warned = " ".join(w.value for w in at.warning)
    for key in ("tkind=rosette", "nread=0", "nsamp=x", "golden=maybe", "density=9"):
        assert key in warned
    assert metrics(at)["Readouts × samples"] == "64 × 128"
    bad_mode = open_page("masks", {"samp": "spiral"})
    assert any("samp=spiral" in w.value for w in bad_mode.warning)
    assert "Achieved acceleration" in metrics(bad_mode)  # the Cartesian designer


def test_switching_the_sampling_widget_writes_the_url():
    at = open_page("masks", {"size": "64"})
    at.radio(key="w_samp").set_value("traj").run()
    at.selectbox(key="w_tkind").set_value("spiral").run()
    at.slider(key="w_nread").set_value(5).run()
    assert not errors(at)
    assert at.query_params["samp"] == "traj" and at.query_params["tkind"] == "spiral"
    assert at.query_params["nread"] == "5"
    assert metrics(at)["Readouts × samples"].startswith("5 ×")


def test_trajectory_animation_frames_and_point_budget():
    t = rc.make_trajectory("radial", (128, 128), 64)
    fig = trajectory_animation(t, n_frames=16, max_points=5000)
    assert len(fig.frames) == 16
    sizes = [len(f.data[0].x) for f in fig.frames]
    assert sizes == sorted(sizes) and sizes[-1] <= 5000 and sizes[0] > 0
    assert [b.label for b in fig.layout.updatemenus[0].buttons] == ["▶ Play", "❚❚ Pause"]
    assert len(fig.layout.sliders[0].steps) == 16
    assert len(trajectory_animation(rc.make_trajectory("spiral", (64, 64), 3)).frames) == 3
    assert len(trajectory_figure(t, max_points=20_000).data[0].x) <= 20_000


def test_non_cartesian_tv_run_beats_gridding():
    at = open_page("tv", {"samp": "traj", "size": "64", "nread": "32", "iters": "40"})
    assert not errors(at)
    at.button(key="tv_run").click().run()
    assert not errors(at)
    psnr = next(m for m in at.metric if m.label == "PSNR")
    assert "vs gridding" in psnr.proto.delta
    assert float(psnr.proto.delta.split()[0]) > 0  # dB gained over gridding
    assert metrics(at)["Iterations · time"].startswith("40 ·")
    assert len(at.get("plotly_chart")) == 6  # loss, PSNR; TV, gridding and their errors


def test_compare_page_in_trajectory_mode():
    at = open_page("compare", {"samp": "traj", "size": "64", "nread": "32"})
    assert not errors(at)
    assert any("Cartesian only: the networks were trained on Cartesian masks" in i.value
               for i in at.info)
    assert list(at.dataframe[0].value.index) == ["gridding", "CG-SENSE", "TV"]


@pytest.mark.parametrize("page, why", [("coils", "GRAPPA and the coil maps need Cartesian"),
                                       ("deep_learning", "networks were trained on Cartesian")])
def test_cartesian_only_pages_say_so_in_trajectory_mode(page, why):
    at = open_page(page, {"samp": "traj", "size": "64"}, timeout=300)
    assert not errors(at)
    notes = " ".join(i.value for i in at.info)
    assert why in notes and "Mask designer" in notes, notes


# ---- multi-coil samples: simulated coils of single-coil data, a multi-coil scan ----------

MULTI = {"samp": "traj", "size": "64", "nread": "32", "tcoils": "4"}


def captions(at) -> str:
    return " ".join(c.value for c in at.caption)


def test_mask_designer_samples_simulated_coils_and_says_so():
    at = open_page("masks", MULTI)
    assert not errors(at)
    text = captions(at)
    assert "4 simulated coils: analytic k-space of the Shepp–Logan ellipses" in text, text
    assert "Multi-coil: 4 coils, sampled coil by coil" in text
    assert "Coil maps (ESPIRiT) estimated from the samples alone, from the 24×24 centre" in text
    assert float(metrics(at)["Gridding PSNR"].split()[0]) > 10
    assert len(at.get("plotly_chart")) == TRAJ_CHARTS
    assert at.selectbox(key="w_maps").value == "espirit" and at.query_params["tcoils"] == "4"
    at.number_input(key="w_tcoils").set_value(0).run()  # back to single-coil samples
    assert not errors(at) and "Multi-coil" not in captions(at)
    assert "tcoils" not in at.query_params
    assert not [s for s in at.selectbox if s.key == "w_maps"]  # no maps for single-coil samples


def test_simulated_coils_of_noisy_ellipses_with_ratio_maps():
    at = open_page("masks", {**MULTI, "src": "ellipses", "maps": "ratio", "snr": "30"})
    assert not errors(at)
    text = captions(at)
    assert "4 simulated coils (recon_core.coils maps), simulated per coil by NUFFT" in text, text
    assert "Coil maps (Calibration ratio) estimated from the samples alone" in text


def test_mask_designer_samples_a_multicoil_scan_per_coil():
    at = open_page("masks", {"samp": "traj", "src": "gre_phantom", "nread": "48"})
    assert not errors(at)
    text = captions(at)
    assert "the scan's 2 coils, simulated per coil by NUFFT of the coil images" in text, text
    assert "Multi-coil: 2 coils" in text
    assert "Coils: the scan's 2, sampled per coil." in text


def test_too_many_coil_samples_are_refused_with_a_message():
    at = open_page("masks", {**MULTI, "tcoils": "32", "nread": "128", "nsamp": "1024"})
    assert not at.exception
    assert any("Trajectory settings rejected: 32 coils × 131,072 samples is more than" in e.value
               for e in at.error), errors(at)


def test_non_cartesian_multicoil_tv_run_finishes_with_metrics():
    at = open_page("tv", {**MULTI, "iters": "20"})
    assert not errors(at)
    assert "Multi-coil: 4 coils" in captions(at)
    at.button(key="tv_run").click().run()
    assert not errors(at)
    psnr = next(m for m in at.metric if m.label == "PSNR")
    assert "vs gridding" in psnr.proto.delta and float(psnr.proto.delta.split()[0]) > 0
    assert metrics(at)["Iterations · time"].startswith("20 ·")


def test_compare_page_with_multicoil_trajectory_data():
    at = open_page("compare", {**MULTI, "iters": "20"})
    assert not errors(at)
    assert "Multi-coil: 4 coils" in captions(at)
    table = at.dataframe[0].value
    assert list(table.index) == ["gridding", "CG-SENSE", "TV"]
    assert table.loc["CG-SENSE", "PSNR (dB)"] > table.loc["gridding", "PSNR (dB)"], table
