"""AppTest: k-space noise at a chosen SNR is a shared data setting (``snr``, ``nseed`` in the URL).

Every page reads the same noisy, fully sampled k-space from ``ui.state.current_data``; the
reference stays noiseless; the SNR is recon_core.noise's definition.
"""

from __future__ import annotations

import numpy as np
import pytest
from apphelpers import errors, open_page
from streamlit.testing.v1 import AppTest

from recon_core.noise import measured_snr_db

NOISY = {"snr": "30", "nseed": "2", "size": "128"}
CAPTION = "k-space SNR 30 dB (seed 2)"


def _probe():
    """A script that stores what the shared state returns: the current data and the clean k-space."""
    import streamlit as st

    from ui import cached, state

    state.init()
    data = state.current_data()
    st.session_state["probe"] = (data, cached.kspace(data.truth))


def probe(query: dict[str, str]):
    at = AppTest.from_function(_probe, default_timeout=120)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    data, clean = at.session_state["probe"]
    return at, data, clean


def texts(at) -> list[str]:
    return [c.value for c in at.caption] + [m.value for m in at.markdown]


@pytest.mark.parametrize("page", ["home", "explorer", "masks", "tv", "deep_learning", "compare"])
def test_snr_link_opens_every_page_with_the_snr_in_its_caption(page, tmp_path, monkeypatch):
    monkeypatch.setenv("RECON_LAB_CACHE", str(tmp_path / "cache"))  # as the deep-learning tests do
    at = open_page(page, NOISY)
    assert not errors(at) and not at.warning
    assert any(CAPTION in t for t in texts(at)), texts(at)
    assert at.query_params["snr"] == "30" and at.query_params["nseed"] == "2"


def test_noisy_kspace_has_the_set_snr_and_a_noiseless_reference():
    _, data, clean = probe({"snr": "30"})
    assert data.kspace.shape == clean.shape and not np.allclose(data.kspace, clean)
    assert measured_snr_db(clean, data.kspace) == pytest.approx(30.0, abs=0.2)
    from recon_core.phantoms import shepp_logan

    np.testing.assert_array_equal(data.truth, shepp_logan(256))  # the reference stays noiseless
    assert data.description == "Shepp–Logan phantom, 256×256, k-space SNR 30 dB (seed 0)"


def test_default_is_noiseless():
    _, data, clean = probe({})
    np.testing.assert_array_equal(data.kspace, clean)
    assert "SNR" not in data.description


def test_bad_snr_in_the_url_warns_and_falls_back_to_noiseless():
    at, data, clean = probe({"snr": "abc"})
    assert any("snr=abc" in w.value for w in at.warning)
    np.testing.assert_array_equal(data.kspace, clean)
    for bad in ("61", "-3", "12.5", "nan"):
        at, data, _ = probe({"snr": bad})
        assert any(f"snr={bad}" in w.value for w in at.warning), bad
        assert "SNR" not in data.description
    _, data, clean = probe({"snr": "off"})  # the spelled-out default is accepted silently
    np.testing.assert_array_equal(data.kspace, clean)


def test_the_seed_changes_the_noise_and_the_same_seed_repeats_it():
    _, a, clean = probe({"snr": "20", "nseed": "0", "size": "64"})
    _, b, _ = probe({"snr": "20", "nseed": "1", "size": "64"})
    _, a2, _ = probe({"snr": "20", "nseed": "0", "size": "64"})
    assert not np.allclose(a.kspace, b.kspace)
    np.testing.assert_array_equal(a.kspace, a2.kspace)
    assert measured_snr_db(clean, b.kspace) == pytest.approx(20.0, abs=0.2)


def test_uploaded_multicoil_data_get_noise_on_every_coil_at_one_snr():
    import recon_core as rc

    x = rc.shepp_logan(64)
    coils, _ = rc.simulate_multicoil(x, n_coils=4)
    coils = np.asarray(coils, np.complex64)

    def script():
        import streamlit as st

        from ui import state

        state.init()
        st.session_state["probe"] = state.current_data()

    at = AppTest.from_function(script, default_timeout=120)
    at.query_params["src"], at.query_params["snr"] = "upload", "25"
    at.session_state["upload"] = {"truth": x, "kspace": coils, "description": "test coils"}
    at.run()
    data = at.session_state["probe"]
    assert data.multicoil and measured_snr_db(coils, data.kspace) == pytest.approx(25.0, abs=0.2)
    assert all(not np.allclose(data.kspace[c], coils[c]) for c in range(4))
    assert data.description == "test coils, k-space SNR 25 dB (seed 0)"


def test_widgets_set_the_noise_for_every_page_and_it_survives_page_switches():
    at = open_page("explorer", {"size": "128"})
    assert at.slider(key="w_snr").disabled and not at.toggle(key="w_snr_on").value
    at.toggle(key="w_snr_on").set_value(True).run()
    at.slider(key="w_snr").set_value(25)
    at.number_input(key="w_nseed").set_value(3).run()
    assert not errors(at)
    assert at.query_params["snr"] == "25" and at.query_params["nseed"] == "3"
    caption = "k-space SNR 25 dB (seed 3)"
    assert any(caption in c.value for c in at.caption)
    assert float(next(m.value for m in at.metric if m.label == "PSNR vs original").split()[0]) < 60
    at.switch_page("pages/masks.py").run()
    assert any(caption in c.value for c in at.caption)
    assert at.query_params["snr"] == "25"
    at.switch_page("pages/explorer.py").run()
    assert at.toggle(key="w_snr_on").value and at.slider(key="w_snr").value == 25
    assert at.number_input(key="w_nseed").value == 3
    at.toggle(key="w_snr_on").set_value(False).run()  # off: noiseless again, out of the URL
    assert "snr" not in at.query_params
    assert not any("SNR" in c.value for c in at.caption)
    assert next(m.value for m in at.metric if m.label == "PSNR vs original") == "≥ 100 dB"
    at.toggle(key="w_snr_on").set_value(True).run()  # back on: the last level is kept
    assert at.slider(key="w_snr").value == 25 and at.query_params["snr"] == "25"


def test_every_method_on_compare_reconstructs_the_noisy_measurement():
    def psnrs(query):
        at = open_page("compare", {"size": "128", **query})
        assert not errors(at)
        return at.dataframe[0].value["PSNR (dB)"]

    clean, noisy = psnrs({}), psnrs({"snr": "10"})
    assert list(noisy.index) == ["zero-filled", "TV", "ResCNN", "unrolled"]
    assert (noisy < clean - 0.2).all(), (clean.to_dict(), noisy.to_dict())
