"""AppTest: every page works on each built-in real scan, and says what a scan without reference lacks.

The scans ship in ``recon_core/datasets`` (a 2-coil twix GRE phantom, fully sampled, and an
8-coil brain that was undersampled before anyone saw it). The brain has no fully sampled
reference: pages must use its own sampling as the mask and show no reference metrics.
"""

from __future__ import annotations

import numpy as np
import pytest
from apphelpers import errors, open_page
from streamlit.testing.v1 import AppTest

from recon_core.datasets import BUILTIN

PAGES = ("home", "explorer", "masks", "tv", "coils", "deep_learning", "compare")


@pytest.mark.slow
@pytest.mark.parametrize("scan", list(BUILTIN))
@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_on_each_builtin_scan(scan, page):
    at = open_page(page, {"src": scan})
    assert not errors(at), errors(at)
    text = " ".join(c.value for c in at.caption) + " ".join(m.value for m in at.markdown)
    if page not in ("home",):
        assert "twix" in text if scan == "gre_phantom" else "already undersampled" in text


def _probe():
    import streamlit as st

    from ui import state

    state.init()
    data = state.current_data()
    st.session_state["probe"] = (data, state.current_mask(data), state.mask_summary(data))


def probe(query):
    at = AppTest.from_function(_probe, default_timeout=120)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at.session_state["probe"]


def test_undersampled_brain_uses_its_own_sampling_and_can_be_undersampled_further():
    data, mask, summary = probe({"src": "brain"})
    assert data.multicoil and data.kspace.shape == (8, 230, 180)
    assert not data.has_reference and data.acquired is not None
    assert mask is data.acquired or np.array_equal(mask, data.acquired)
    assert 0.12 < mask.mean() < 0.13 and "own sampling (12.4 % acquired)" in summary
    # noise, when asked for, stays inside the acquired points
    noisy, _, _ = probe({"src": "brain", "snr": "20"})
    assert np.all(noisy.kspace[:, ~noisy.acquired] == 0)
    assert not np.allclose(noisy.kspace, data.kspace)
    # further undersampling: the designed 4x random mask within the acquired points
    _, further, summary = probe({"src": "brain", "further": "1", "accel": "4"})
    assert np.all(further <= data.acquired) and further.sum() < 0.5 * data.acquired.sum()
    assert "∩ random mask, 4×" in summary


def test_tv_on_the_brain_shows_no_reference_metrics():
    at = open_page("tv", {"src": "brain", "iters": "20"}, timeout=300)
    at.button(key="tv_run").click().run()
    assert not errors(at), errors(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["PSNR"] == "—" and "Final objective" in metrics
    assert any("No fully sampled reference" in i.value or "already undersampled" in i.value for i in at.info)


def test_prewhitening_settings():
    data, _, _ = probe({"src": "brain"})  # auto: the brain has no noise scan, nothing done
    assert data.noise is None and "prewhitened" not in data.description
    white, _, _ = probe({"src": "brain", "pw": "on"})  # from the outermost acquired samples
    assert white.noise is not None and white.noise.source == "k-space periphery"
    assert "coils prewhitened" in white.description
    assert not np.allclose(white.kspace, data.kspace)
    assert np.all(white.kspace[:, ~white.acquired] == 0)  # mixing coils keeps the zeros zero


def test_prewhitened_fully_sampled_data_keep_a_consistent_reference():
    import recon_core as rc

    rng = np.random.default_rng(0)
    x = rc.shepp_logan(64)
    coils, _ = rc.simulate_multicoil(x, n_coils=4)
    mix = np.array([[1, 0, 0, 0], [0.7, 0.5, 0, 0], [0, 0, 2, 0], [0, 0, 0.3, 0.4]])
    white = rng.standard_normal((2, 4, 64 * 70))
    noise = (mix @ (white[0] + 1j * white[1]) * 1e-3).astype(np.complex64)
    k = (np.asarray(coils) + noise[:, : 64 * 64].reshape(4, 64, 64)).astype(np.complex64)

    def script():
        import streamlit as st

        from ui import state

        state.init()
        st.session_state["probe"] = state.current_data()

    at = AppTest.from_function(script, default_timeout=120)
    at.query_params["src"] = "upload"
    at.session_state["upload"] = {"truth": rc.rss(rc.ifft2c(k)), "kspace": k, "description": "coils",
                                  "noise": noise[:, 64 * 64:], "acquired": None, "has_reference": True}
    at.run()
    data = at.session_state["probe"]
    assert data.noise is not None and data.noise.source == "noise scan"
    assert "coils prewhitened (noise from the noise scan)" in data.description
    # the reference is the RSS of the whitened coils, on the whitened data's scale
    np.testing.assert_allclose(data.truth, rc.rss(rc.ifft2c(data.kspace)), atol=1e-5)
    assert data.truth.max() == pytest.approx(1.0)
