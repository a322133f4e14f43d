"""Two visitors on one server do not see each other's data or settings (issue #10).

Two browser contexts are two Streamlit sessions on the same ``streamlit run``. Visitor A
uploads a distinctive file and changes the shared mask settings; visitor B, opening the same
pages afterwards, must see the defaults and nothing of A's file. Then B changes settings of
its own (noise on, another acceleration), and A, after reruns, still sees only its own.
Everything is asserted on what each page shows.
"""

from __future__ import annotations

import numpy as np
import pytest
from browserhelpers import (assert_no_error_box, captions, choose, open_page, selected, shot,
                            slider_value, wait_script_idle)
from PIL import Image

pytestmark = [pytest.mark.e2e]

PROBE = "isolation_probe_zebra_96x80.png"  # a name that appears nowhere in the app


def _visitor(browser):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = ctx.new_page()
    page.set_default_timeout(90_000)
    return ctx, page


def _home(page, url: str) -> None:
    page.goto(url)
    page.get_by_role("heading", name="MRI Recon Lab").first.wait_for()
    wait_script_idle(page)


def _data_loaded(page) -> str:
    """The home page's "Data loaded" sentence."""
    return next(t for t in page.locator('[data-testid="stMarkdownContainer"]').all_inner_texts()
                if "normalised to a maximum of 1" in t)


def _mask_heading(page) -> str:
    return next(t for t in page.get_by_role("heading").all_inner_texts() if " mask, " in t)


def _press(page, key: str, slider_key: str, times: int, target: float) -> None:
    page.locator(f'.st-key-{slider_key} input[type="range"]').focus()
    for _ in range(times):
        page.keyboard.press(key)
    page.wait_for_function(
        "([k, v]) => { const e = document.querySelector(`.st-key-${k} input[type=range]`);"
        " return e && parseFloat(e.value) === v; }", arg=[slider_key, target])
    wait_script_idle(page)


def _text(page) -> str:
    return page.locator("body").inner_text()


def _html(page) -> str:
    """The whole DOM, attributes included (the uploader shows long names shortened, in full
    only in its chips' title and aria-label)."""
    return page.content()


def test_two_visitors_do_not_share_uploads_or_settings(app_url, browser, tmp_path):
    rng = np.random.default_rng(96_80)
    img = np.zeros((96, 80), np.uint8)
    img[::8] = 255  # stripes, so the image is nothing like the phantom
    img[:, 20:60] = (rng.random((96, 40)) * 200).astype(np.uint8)
    probe = tmp_path / PROBE
    Image.fromarray(img).save(probe)

    ctx_a, a = _visitor(browser)
    ctx_b, b = _visitor(browser)
    try:
        # ---- A: upload on the explorer, then a poisson mask at 8× -------------------------
        _home(a, app_url)
        open_page(a, "K-space explorer")
        choose(a, "w_src", "Uploaded file")
        a.locator('.st-key-up_files input[type="file"]').set_input_files(str(probe))
        a.get_by_text("Loaded").first.wait_for()
        wait_script_idle(a)
        assert_no_error_box(a)
        (a_caption,) = captions(a, "Data:")
        assert "96x80" in a_caption and "Shepp" not in a_caption, a_caption
        # the uploader lists the file, so its absence from B's page below means something
        assert a.locator(f'[data-testid="stFileChipName"][title="{PROBE}"]').count() == 1
        assert PROBE in _html(a)
        open_page(a, "Mask designer")
        _press(a, "ArrowRight", "w_accel", 8, 8.0)  # 4× -> 8× in steps of 0.5
        choose(a, "w_mkind", "poisson")
        assert _mask_heading(a).startswith("poisson mask, 8×"), _mask_heading(a)
        assert "accel=8" in a.url and "mkind=poisson" in a.url, a.url
        shot(a, "isolation-a-upload-and-mask")

        # ---- B: the same pages show the defaults and nothing of A's file ------------------
        _home(b, app_url)
        assert _data_loaded(b).startswith("Shepp–Logan phantom, 256×256"), _data_loaded(b)
        assert "random mask, 4×" in _data_loaded(b), _data_loaded(b)
        open_page(b, "K-space explorer")
        assert selected(b, "w_src") == "Shepp–Logan phantom"
        (b_caption,) = captions(b, "Data:")
        assert b_caption.startswith("Data: Shepp–Logan phantom, 256×256"), b_caption
        assert PROBE not in _html(b) and "96x80" not in _text(b)
        choose(b, "w_src", "Uploaded file")  # B's own upload slot is empty
        b.get_by_text("Choose a file to upload").first.wait_for()
        assert b.locator('[data-testid="stFileChip"]').count() == 0
        assert PROBE not in _html(b) and "96x80" not in _text(b)
        choose(b, "w_src", "Shepp–Logan phantom")
        open_page(b, "Mask designer")
        assert slider_value(b, "w_accel") == 4.0
        assert selected(b, "w_mkind") == "random"
        assert _mask_heading(b).startswith("random mask, 4×"), _mask_heading(b)
        assert "accel=" not in b.url and "mkind=" not in b.url, b.url
        assert_no_error_box(b)
        shot(b, "isolation-b-defaults")

        # ---- B changes settings of its own: noise on, 2× --------------------------------
        _press(b, "ArrowLeft", "w_accel", 4, 2.0)
        assert _mask_heading(b).startswith("random mask, 2×"), _mask_heading(b)
        open_page(b, "K-space explorer")
        b.locator(".st-key-w_snr_on label").first.click()
        wait_script_idle(b)
        assert b.locator('.st-key-w_snr_on input[type="checkbox"]').is_checked()
        (b_caption,) = captions(b, "Data:")
        assert "k-space SNR 30 dB" in b_caption, b_caption
        shot(b, "isolation-b-noise")

        # ---- A, after reruns, sees only its own settings --------------------------------
        open_page(a, "K-space explorer")
        assert selected(a, "w_src") == "Uploaded file"
        assert not a.locator('.st-key-w_snr_on input[type="checkbox"]').is_checked()
        (a_caption,) = captions(a, "Data:")
        # still A's upload (the uploader's chip is gone after a page switch, as a widget not drawn
        # on a run loses its value in Streamlit, but the loaded data stay in A's session)
        assert "96x80" in a_caption and "SNR" not in a_caption, a_caption
        open_page(a, "Mask designer")
        assert slider_value(a, "w_accel") == 8.0
        assert selected(a, "w_mkind") == "poisson"
        assert _mask_heading(a).startswith("poisson mask, 8×"), _mask_heading(a)
        open_page(a, "Home", "MRI Recon Lab")
        loaded = _data_loaded(a)
        assert "96x80" in loaded and "poisson mask, 8×" in loaded and "SNR" not in loaded, loaded
        assert_no_error_box(a)
        shot(a, "isolation-a-after-b")

        # ---- and B still has its own -------------------------------------------------------
        open_page(b, "Home", "MRI Recon Lab")
        loaded = _data_loaded(b)
        assert loaded.startswith("Shepp–Logan phantom, 256×256, k-space SNR 30 dB"), loaded
        assert "random mask, 2×" in loaded and PROBE not in _html(b), loaded
        assert_no_error_box(b)
    finally:
        ctx_a.close()
        ctx_b.close()
