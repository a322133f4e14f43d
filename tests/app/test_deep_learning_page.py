"""AppTest: pre-trained networks, cached training with progress, evaluation and download."""

from __future__ import annotations

import pytest
from apphelpers import errors, open_page


@pytest.fixture(autouse=True)
def model_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RECON_LAB_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def psnr_gain(at) -> float:
    m = next(m for m in at.metric if m.label == "PSNR")
    return float(m.proto.delta.split()[0])


@pytest.mark.parametrize("arch", ["rescnn", "unrolled"])
def test_pretrained_network_beats_zero_filled(arch):
    at = open_page("deep_learning")
    at.selectbox(key="dl_arch").set_value(arch).run()
    assert not errors(at)
    info = next(i.value for i in at.info if f"Shipped {arch}" in i.value)
    assert "dB on the 256² Shepp–Logan phantom" in info and "held-out ellipse images" in info
    assert psnr_gain(at) > 5
    assert len(at.get("plotly_chart")) >= 3  # training curves, image, error map
    assert at.get("download_button")


def tiny(at, arch="unrolled"):
    at.selectbox(key="dl_arch").set_value(arch)
    at.radio(key="dl_source").set_value("train").run()
    at.number_input(key="dl_nconvs").set_value(2)
    at.select_slider(key="dl_nfilters").set_value(4)
    at.select_slider(key="dl_size").set_value(32)
    at.number_input(key="dl_steps").set_value(4)
    at.select_slider(key="dl_batch").set_value(2)
    if arch == "unrolled":
        at.number_input(key="dl_ncasc").set_value(1)
        at.selectbox(key="dl_dc").set_value("soft")
    at.number_input(key="dl_lr").set_value(1e-3)
    at.number_input(key="dl_seed").set_value(1)
    return at.run()


def test_train_once_then_load_from_cache_in_a_new_session(model_cache):
    at = tiny(open_page("deep_learning", {"size": "64"}))
    assert any("Press **Train**" in i.value for i in at.info)
    at.button(key="dl_train").click().run()
    assert not errors(at)
    assert any(m.label == "PSNR" for m in at.metric)
    assert not any("Loaded from the model cache" in s.value for s in at.success)
    assert any(model_cache.iterdir())  # an entry on disk
    # a fresh session (another user, or after a restart) gets it without training
    again = tiny(open_page("deep_learning", {"size": "64"}))
    again.button(key="dl_train").click().run()
    assert any("Loaded from the model cache" in s.value for s in again.success)
    again.button(key="dl_stop").click().run()  # nothing running: Stop is harmless
    assert not errors(again)


def test_noise_conditioned_training_on_noisy_data(model_cache):
    at = tiny(open_page("deep_learning", {"size": "64", "snr": "25"}))
    at.selectbox(key="dl_dc").set_value("noise").run()
    assert any("needs a noise range" in e.value for e in at.error)  # no noisy training yet
    assert at.button(key="dl_train").disabled
    at.toggle(key="dl_noisy").set_value(True).run()
    at.slider(key="dl_snr_range").set_value((20, 30)).run()
    assert not errors(at) and not at.button(key="dl_train").disabled
    at.button(key="dl_train").click().run()
    assert not errors(at)
    assert any(m.label == "PSNR" for m in at.metric)  # reconstructed, told the data's noise level
    entry = next(model_cache.iterdir())
    assert entry.is_dir() or entry.is_file()


def test_evaluate_on_held_out_set():
    at = tiny(open_page("deep_learning", {"size": "64"}), "rescnn")
    at.button(key="dl_train").click().run()
    at.select_slider(key="dl_neval").set_value(4)
    at.button(key="dl_eval").click().run()
    assert not errors(at)
    df = at.dataframe[0].value
    assert set(df.index) == {"zero_filled", "tv", "rescnn"}
    assert list(df.columns) == ["PSNR (dB)", "SSIM", "NMSE"]
    mean = {m: float(df.loc[m, "PSNR (dB)"].split(" ± ")[0]) for m in df.index}
    assert mean["tv"] > mean["zero_filled"]
    assert "e-" in df.loc["tv", "NMSE"]  # small NMSEs in scientific notation, not rounded to 0


def test_invalid_training_settings_are_reported():
    at = open_page("deep_learning", {"mkind": "radial", "accel": "16"})
    at.radio(key="dl_source").set_value("train").run()
    assert not at.exception


def test_a_stopped_training_is_offered_for_resume(model_cache):
    """Stop in the browser interrupts the run; the checkpoint it leaves is resumed by Train."""
    from recon_core.dl.cache import ModelCache
    from recon_core.dl.training import train

    at = tiny(open_page("deep_learning", {"size": "64"}), "rescnn")
    at.number_input(key="dl_steps").set_value(6).run()
    from recon_core.dl.config import TrainConfig

    config = TrainConfig(model="rescnn", n_convs=2, n_filters=4, accel=4.0, mask_kind="random",
                         image_size=32, steps=6, batch_size=2, learning_rate=1e-3, seed=1, n_val=4)
    # what an interrupted run leaves behind: a checkpoint after 3 of 6 steps
    train(config, [lambda p: p.step >= 3], checkpoint_dir=ModelCache().checkpoint_path(config),
          checkpoint_every=3, remove_checkpoint=False)
    at.run()
    assert any("stopped at step 3 of 6" in i.value for i in at.info), [i.value for i in at.info]
    at.button(key="dl_train").click().run()
    assert not errors(at)
    assert any(m.label == "PSNR" for m in at.metric)


def test_noise_comparison_is_plotted_for_every_image_set():
    at = open_page("deep_learning")
    assert not errors(at)
    assert any(h.value == "Across noise levels (the shipped networks)" for h in at.subheader)
    radio = at.radio(key="dl_noise_view")
    described = {"64 held-out": "64 held-out ellipse images", "Shepp": "256² Shepp–Logan phantom",
                 "tutorial": "seeds 0–7"}
    for option in radio.options:
        radio.set_value(option).run()
        assert not errors(at)
        table = at.dataframe[-1].value
        assert list(table.columns) == ["20 dB", "30 dB", "40 dB", "∞"]  # as the plot's x-axis
        text = " ".join(m.value for m in at.markdown)
        assert next(v for k, v in described.items() if option.startswith(k)) in text
        assert {"zero_filled", "tv", "rescnn", "unrolled", "TV λ (tuned)"} <= set(table.index)


def test_trained_networks_beyond_the_cap_are_dropped_with_a_note(monkeypatch):
    from ui import store

    monkeypatch.setattr(store, "DL_MODELS", 1)  # the page reads the cap on every run
    at = tiny(open_page("deep_learning", {"size": "64"}), "rescnn")
    at.button(key="dl_train").click().run()
    assert not [i.value for i in at.info if "memory bounded" in i.value]
    at.number_input(key="dl_seed").set_value(2).run()
    at.button(key="dl_train").click().run()
    assert not errors(at)
    (note,) = [i.value for i in at.info if "memory bounded" in i.value]
    assert note.startswith("An older trained network (rescnn, 4 steps; pressing Train")
    (model,) = at.session_state["dl_models"].values()
    assert model.config.seed == 2  # the newest is kept, and shown
    assert any(m.label == "PSNR" for m in at.metric)
