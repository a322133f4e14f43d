"""End-to-end: a shared link to a page, opened first on a fresh server, gets the app itself.

A ``pages/`` folder makes Streamlit treat the app as a legacy multipage app until some run calls
``st.navigation``; a deep link as the server's first request then ran the page script alone
(Streamlit's file-name navigation, no page config, no per-run hooks) for every visitor until
someone opened the home page. ``ui.state`` hands such a run over to the entry point.
"""

from __future__ import annotations

import pytest
from browserhelpers import (assert_no_error_box, require_chromium, shot, start_streamlit,
                            stop_streamlit, wait_idle)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_a_deep_link_on_a_fresh_server_gets_the_apps_navigation_and_settings(tmp_path, browser):
    require_chromium()
    proc, url = start_streamlit(tmp_path)  # fresh: this link is its very first request
    contexts = []
    try:
        contexts.append(browser.new_context(viewport={"width": 1400, "height": 1000}))
        page = contexts[-1].new_page()
        page.set_default_timeout(90_000)
        page.goto(f"{url}/masks?accel=8&mkind=poisson")
        page.get_by_role("heading", name="Mask designer").first.wait_for()
        page.locator('[data-testid="stPlotlyChart"]').first.wait_for()
        wait_idle(page)
        nav = page.locator('[data-testid="stSidebarNav"]').inner_text()
        assert "Mask designer" in nav and "TV reconstruction" in nav, nav  # titles, not file names
        assert "deep_learning" not in nav and "masks" not in nav.lower().split(), nav
        assert "/masks" in page.url and "accel=8" in page.url, page.url  # the link is kept
        body = page.inner_text("body")
        assert "poisson mask, 8×" in body, body[:2000]  # its settings are the ones shown
        assert_no_error_box(page)
        shot(page, "deep-link-masks")
        # a second visitor opening the home page next sees the same navigation
        contexts.append(browser.new_context(viewport={"width": 1400, "height": 1000}))
        other = contexts[-1].new_page()
        other.goto(url)
        other.get_by_role("heading", name="MRI Recon Lab").first.wait_for()
        assert "Mask designer" in other.locator('[data-testid="stSidebarNav"]').inner_text()
    finally:
        for ctx in contexts:
            ctx.close()
        stop_streamlit(proc)
