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

PAGES = ("home", "explorer", "masks", "tv", "deep_learning", "compare")


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
