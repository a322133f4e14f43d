"""End-to-end: drive the real app in headless chromium, like a person would."""

from __future__ import annotations

import pytest
from browserhelpers import SHOTS, assert_no_error_box, clipped_chart_text, metric_value, shot, wait_idle
from PIL import Image

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PAGES = {
    "": "MRI Recon Lab",
    "explorer": "K-space explorer",
    "masks": "Mask designer",
    "tv": "TV reconstruction",
    "coils": "Coils and parallel imaging",
    "deep_learning": "Deep learning",
    "compare": "Compare",
}


def _not_blank(path) -> None:
    img = Image.open(path).convert("L")
    lo, hi = img.getextrema()
    assert hi - lo > 50, f"{path.name} looks blank"


@pytest.mark.parametrize("path, title", PAGES.items())
def test_every_page_renders(app_url, page, path, title):
    page.goto(f"{app_url}/{path}")
    page.get_by_role("heading", name=title).first.wait_for()
    if path == "":  # Home's overview is a row of images (no plotly.js on the landing page)
        page.locator('[data-testid="stImage"] img').first.wait_for()
    elif path != "tv":  # the TV page draws its charts after Run
        page.locator('[data-testid="stPlotlyChart"]').first.wait_for()
    if path in ("explorer", "deep_learning"):  # metrics are drawn after the first charts
        page.locator('[data-testid="stMetricValue"]').first.wait_for()
    wait_idle(page)
    assert_no_error_box(page)
    assert not clipped_chart_text(page)  # the figures' fixed margins hold their labels
    _not_blank(shot(page, f"page-{path or 'home'}"))


def test_moving_a_slider_updates_the_explorer(app_url, page):
    page.goto(f"{app_url}/explorer")
    page.get_by_role("heading", name="K-space explorer").wait_for()
    wait_idle(page)
    # unmodified k-space: only round-off
    assert metric_value(page, "PSNR vs original") == "≥ 100 dB"
    slider = page.get_by_role("slider", name="Low-pass radius")
    slider.focus()
    for _ in range(100):  # 1.50 -> 0.50 in steps of 0.01
        page.keyboard.press("ArrowLeft")
    # Each key press reruns the page; wait for the state of the last one (radius 0.50 keeps
    # pi/4 * 0.5^2 = 19.6 % of k-space), not for the first change.
    page.wait_for_function(
        "() => { const v = document.querySelectorAll('[data-testid=\"stMetricValue\"]');"
        " return v.length > 2 && parseFloat(v[2].innerText) < 25; }"
    )
    wait_idle(page)
    assert_no_error_box(page)
    assert float(metric_value(page, "PSNR vs original").split()[0]) < 60
    shot(page, "explorer-lowpass")


def test_tv_run_shows_live_curve_and_final_metrics(app_url, page):
    page.goto(f"{app_url}/tv?iters=150")
    page.get_by_role("heading", name="TV reconstruction").wait_for()
    wait_idle(page)
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_text("Loss").first.wait_for()
    page.get_by_text("PSNR against the reference").first.wait_for()
    wait_idle(page)
    psnr = metric_value(page, "PSNR")
    assert_no_error_box(page)
    assert float(psnr.split()[0]) >= 48, psnr
    shot(page, "tv-admm")


def test_tv_stop_keeps_partial_result(app_url, page):
    page.goto(f"{app_url}/tv?method=gradient&iters=5000&size=128")
    page.get_by_role("heading", name="TV reconstruction").wait_for()
    wait_idle(page)
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_text("PSNR against the reference").first.wait_for()
    page.get_by_role("button", name="Stop", exact=True).click()
    page.get_by_text("Stopped at iteration").wait_for()
    page.locator('[data-testid="stMetricLabel"]', has_text="Iterations · time").wait_for()
    wait_idle(page)
    assert_no_error_box(page)
    shot(page, "tv-stopped")


def test_train_a_tiny_model(app_url, page):
    page.goto(f"{app_url}/deep_learning?size=64")
    page.get_by_role("heading", name="Deep learning").wait_for()
    wait_idle(page)
    page.get_by_text("train", exact=True).click()
    wait_idle(page)
    for label, value in [("Convolutions per block", "2"), ("Steps", "6")]:  # a tiny ResCNN
        box = page.get_by_role("spinbutton", name=label)
        box.fill(value)
        box.press("Enter")
        wait_idle(page)
    page.get_by_role("button", name="Train", exact=True).click()
    page.locator('[data-testid="stMetricLabel"]', has_text="PSNR").first.wait_for(timeout=300_000)
    wait_idle(page)
    assert_no_error_box(page)
    page.get_by_text("Validation PSNR (dB)").first.wait_for()
    shot(page, "deep-learning-trained")


def test_deep_learning_page_plots_psnr_against_noise(app_url, page):
    page.goto(f"{app_url}/deep_learning")
    page.get_by_role("heading", name="Across noise levels (the shipped networks)").wait_for()
    wait_idle(page)
    assert_no_error_box(page)
    chart = page.locator('[data-testid="stPlotlyChart"]').last
    chart.scroll_into_view_if_needed()
    chart.get_by_text("PSNR against k-space SNR").first.wait_for()
    path = SHOTS / "dl-noise.png"
    SHOTS.mkdir(parents=True, exist_ok=True)
    chart.screenshot(path=str(path))
    _not_blank(path)
    # switching the image set redraws the curves
    page.get_by_text("Shepp–Logan 256²", exact=True).click()
    wait_idle(page)
    page.locator('[data-testid="stPlotlyChart"]').last.get_by_text("Shepp–Logan 256²").first.wait_for()
    assert_no_error_box(page)


def test_select_the_real_brain_and_run_sense_tv(app_url, page):
    """The built-in 8-coil brain is chosen in the data chooser, then reconstructed by SENSE-TV."""
    page.goto(app_url)  # from the home page, through the sidebar, as a visitor would
    page.get_by_role("heading", name="MRI Recon Lab").wait_for()
    wait_idle(page)
    page.locator('[data-testid="stSidebarNavLink"]', has_text="K-space explorer").click()
    page.get_by_role("heading", name="K-space explorer").wait_for()
    wait_idle(page)
    page.locator('[data-testid="stSelectbox"]', has_text="Image").first.click()
    page.get_by_role("option", name="Real scan: brain (8 coils, already undersampled, no reference)").click()
    page.get_by_text("This scan is already undersampled").first.wait_for()
    wait_idle(page)
    assert_no_error_box(page)
    page.locator('[data-testid="stSidebarNavLink"]', has_text="TV reconstruction").click()
    page.get_by_role("heading", name="TV reconstruction").wait_for()
    page.get_by_text("SENSE model").first.wait_for()
    wait_idle(page)
    page.get_by_role("button", name="Run", exact=True).click()
    page.locator('[data-testid="stMetricLabel"]', has_text="Final objective").first.wait_for(timeout=300_000)
    page.get_by_text("Relative change per iteration").first.wait_for()
    wait_idle(page)
    assert_no_error_box(page)
    psnr = metric_value(page, "PSNR")
    assert psnr == "—", psnr  # no reference, so no PSNR
    chart = page.locator('[data-testid="stPlotlyChart"]', has_text="TV reconstruction").first
    chart.scroll_into_view_if_needed()
    path = SHOTS / "brain-sense-tv.png"
    SHOTS.mkdir(parents=True, exist_ok=True)
    chart.screenshot(path=str(path))
    _not_blank(path)
    shot(page, "brain-sense-tv-page")


def test_coils_page_on_the_brain_compares_reconstructions_and_draws_the_gfactor(app_url, page):
    """The 8-coil brain on the Coils page: Run gives the reconstructions and a g-factor map."""
    page.goto(app_url)  # a first script run of a deep link would skip the entry point's layout
    page.get_by_role("heading", name="MRI Recon Lab").wait_for()
    page.goto(f"{app_url}/coils?src=brain&nrep=8")
    page.get_by_role("heading", name="Coils and parallel imaging").wait_for()
    page.locator('[data-testid="stPlotlyChart"]', has_text="Support of the maps").first.wait_for()
    wait_idle(page)
    assert_no_error_box(page)
    page.get_by_role("button", name="Run", exact=True).click()
    recons = page.locator(".st-key-coils_recons")
    page.wait_for_function(  # the three images (GRAPPA is skipped), under their column headings
        "() => document.querySelectorAll('.st-key-coils_recons [data-testid=\"stPlotlyChart\"]').length >= 3",
        timeout=300_000)
    for name in ("Zero-filled RSS", "CG-SENSE", "SENSE-TV"):
        recons.get_by_text(name, exact=True).first.wait_for()
    # GRAPPA on the brain's 2-D Poisson-disc mask takes minutes: its panel says so instead
    recons.get_by_text("Skipped: GRAPPA on a 2-D mask").wait_for()
    gfactor = page.locator(".st-key-coils_gfactor")
    gfactor.locator('[data-testid="stPlotlyChart"]', has_text="g-factor map").wait_for(timeout=300_000)
    wait_idle(page)
    assert_no_error_box(page)
    assert recons.locator('[data-testid="stMetricValue"]').count() == 0  # no reference: no scores
    recons.get_by_text("No PSNR or SSIM. No fully sampled reference").wait_for()
    mean_g = gfactor.locator('[data-testid="stMetric"]', has_text="mean g")
    assert float(mean_g.locator('[data-testid="stMetricValue"]').inner_text()) >= 1
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.mouse.move(5, 500)  # no Run tooltip over the shots
    page.wait_for_timeout(800)
    SHOTS.mkdir(parents=True, exist_ok=True)
    for box, name in ((recons, "coils-comparison"), (gfactor, "coils-gfactor")):
        box.scroll_into_view_if_needed()
        path = SHOTS / f"{name}.png"
        box.screenshot(path=str(path))
        assert path.stat().st_size > 10_000, f"screenshot {name} is suspiciously small"
        _not_blank(path)


def test_trajectory_mode_animates_kspace_and_tv_beats_gridding(app_url, page):
    """Radial spokes from the link: play the k-space filling, shoot the streaks and a TV run."""
    query = "samp=traj&tkind=radial&nread=48&golden=1&size=128"
    page.goto(app_url)  # a first script run of a deep link would skip the entry point's layout
    page.get_by_role("heading", name="MRI Recon Lab").wait_for()
    page.goto(f"{app_url}/masks?{query}")
    page.get_by_role("heading", name="Mask designer").wait_for()
    anim = page.locator('[data-testid="stPlotlyChart"]', has_text="K-space filling in acquisition order").first
    anim.wait_for()
    wait_idle(page)
    assert_no_error_box(page)
    metric = {k: v for k, v in zip(page.locator('[data-testid="stMetricLabel"]').all_inner_texts(),
                                   page.locator('[data-testid="stMetricValue"]').all_inner_texts())}
    assert metric["Readouts × samples"] == "48 × 256", metric
    assert metric["Acceleration"].endswith("×") and metric["Gridding PSNR"].endswith("dB"), metric
    assert page.locator('[data-testid="stPlotlyChart"] canvas').count() > 0  # the WebGL scatter
    anim.scroll_into_view_if_needed()
    anim.locator("g.updatemenu-button").first.click()  # ▶ Play
    # the slider follows the frames: after the last one all 48 spokes are drawn
    page.wait_for_function(
        "() => [...document.querySelectorAll('.slider-container text.slider-label')]"
        ".some(t => t.textContent.trim() === 'readouts: 48')", timeout=60_000)
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / "trajectory-animation.png"
    anim.screenshot(path=str(path))
    _not_blank(path)
    streaks = page.locator('[data-testid="stPlotlyChart"]', has_text="Gridding").first  # column 1: the image
    streaks.scroll_into_view_if_needed()
    path = SHOTS / "trajectory-gridding-streaks.png"
    streaks.screenshot(path=str(path))
    _not_blank(path)
    shot(page, "trajectory-mask-designer")

    page.goto(f"{app_url}/tv?{query}&iters=40")
    page.get_by_role("heading", name="TV reconstruction").wait_for()
    page.get_by_text("Model: the NUFFT along the trajectory").first.wait_for()
    wait_idle(page)
    page.get_by_role("button", name="Run", exact=True).click()
    page.locator('[data-testid="stMetricLabel"]', has_text="Iterations · time").first.wait_for(timeout=300_000)
    wait_idle(page)
    assert_no_error_box(page)
    delta = page.locator('[data-testid="stMetricDelta"]').first.inner_text()
    assert "vs gridding" in delta and float(delta.split()[0]) > 0, delta
    chart = page.locator('[data-testid="stPlotlyChart"]', has_text="TV reconstruction").first
    chart.scroll_into_view_if_needed()
    path = SHOTS / "trajectory-tv.png"
    chart.screenshot(path=str(path))
    _not_blank(path)
    shot(page, "trajectory-tv-page")
