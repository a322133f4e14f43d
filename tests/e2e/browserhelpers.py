"""End-to-end fixtures: a real `streamlit run` on localhost and Debian's chromium via Playwright.

Screenshots go to ``artifacts/screenshots/`` (kept by CI as test artifacts). Without
/usr/bin/chromium the tests are skipped, unless REQUIRE_E2E=1 (as in CI), where they fail.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def require_chromium() -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("REQUIRE_E2E") == "1":
            pytest.fail(f"{CHROMIUM} is missing (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} is missing: browser tests skipped (apt-get install chromium)")


def start_streamlit(workdir: Path) -> tuple[subprocess.Popen, str]:
    """A fresh `streamlit run` on a free localhost port (log and model cache in ``workdir``),
    once its health endpoint answers: (process, base URL). The caller terminates it."""
    port = _free_port()
    log = (workdir / "streamlit.log").open("w")
    env = dict(os.environ, RECON_LAB_CACHE=str(workdir / "model-cache"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true",
         "--browser.gatherUsageStats", "false"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.5)
        if proc.poll() is not None:
            pytest.fail(f"streamlit exited with code {proc.returncode}")
    proc.kill()
    pytest.fail("streamlit did not become healthy within 90 s")


def stop_streamlit(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def app_url(tmp_path_factory):
    require_chromium()
    proc, url = start_streamlit(tmp_path_factory.mktemp("server"))
    yield url
    stop_streamlit(proc)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = ctx.new_page()
    pg.set_default_timeout(60_000)
    yield pg
    ctx.close()


def wait_idle(page, timeout: float = 90_000) -> None:
    """Wait until the script run finishes (Streamlit's status widget disappears)."""
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout
    )
    page.wait_for_timeout(300)


def metric_value(page, label: str) -> str:
    """The shown value of the metric labelled `label`, waiting until it is drawn.

    Looked up by label, not position: while a page is still drawing, the metrics present
    need not be the first ones of the finished page.
    """
    value = (page.locator('[data-testid="stMetric"]')
             .filter(has=page.locator('[data-testid="stMetricLabel"]', has_text=label))
             .locator('[data-testid="stMetricValue"]').first)
    value.wait_for()
    return value.inner_text()


def clipped_chart_text(page) -> list[str]:
    """Text of the plotly charts drawn (partly) outside their chart: axis and colour-bar labels
    cut off because a figure's fixed margins are too small. Empty when everything fits."""
    return page.evaluate("""() => {
        const out = [];
        for (const plot of document.querySelectorAll('.js-plotly-plot')) {
            const box = plot.getBoundingClientRect();
            for (const t of plot.querySelectorAll('.main-svg text')) {
                const r = t.getBoundingClientRect();
                if (!t.textContent.trim() || r.width === 0 || getComputedStyle(t).opacity === '0') continue;
                if (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1
                    || r.bottom > box.bottom + 1) out.push(t.textContent);
            }
        }
        return out;
    }""")


def assert_no_error_box(page) -> None:
    boxes = page.locator('[data-testid="stException"], [data-testid="stAlertContentError"]')
    if boxes.count():
        raise AssertionError("error box on the page: " + " | ".join(boxes.all_inner_texts()))


def shot(page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000, f"screenshot {name} is suspiciously small"
    return path


# ---- helpers by key and test id (appended for test_isolation.py) --------------------------


def wait_script_idle(page, timeout: float = 90_000) -> None:
    """Wait until the app's script run is over (``data-test-script-state`` is ``notRunning``)."""
    page.wait_for_timeout(300)  # let a rerun that was just triggered start
    page.wait_for_function(
        "() => { const a = document.querySelector('[data-testid=\"stApp\"]');"
        " return a && a.getAttribute('data-test-script-state') === 'notRunning'; }",
        timeout=timeout, polling=100,
    )
    wait_idle(page, timeout)


def open_page(page, title: str, heading: str | None = None) -> None:
    """Open a page through the sidebar, as a visitor would, and wait for its run to finish."""
    page.locator('[data-testid="stSidebarNavLink"]', has_text=title).first.click()
    page.get_by_role("heading", name=heading or title).first.wait_for()
    wait_script_idle(page)


def choose(page, key: str, option: str) -> None:
    """Pick ``option`` in the select box with widget key ``key``."""
    page.locator(f'.st-key-{key} [data-testid="stSelectbox"]').click()
    page.get_by_role("option", name=option, exact=True).click()
    wait_script_idle(page)


def selected(page, key: str) -> str:
    """The option shown by the select box with widget key ``key``."""
    return page.locator(f".st-key-{key} input").first.input_value()


def slider_value(page, key: str) -> float:
    """The value of the (single-thumb) slider with widget key ``key``."""
    return float(page.locator(f'.st-key-{key} input[type="range"]').first.input_value())


def captions(page, prefix: str = "") -> list[str]:
    """The page's captions (``st.caption``) that start with ``prefix``."""
    return [t for t in page.locator('[data-testid="stCaptionContainer"]').all_inner_texts()
            if t.startswith(prefix)]
