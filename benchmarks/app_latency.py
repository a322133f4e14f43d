"""Server-side latency of the dashboard's main interactions, and the app's peak memory.

Run from the repository root::

    .venv/bin/python benchmarks/app_latency.py            # prints a table, writes results/app_latency.md

Latency: each interaction is replayed with Streamlit's ``AppTest`` (the same script runner the
server uses, without the browser), ``--repeats`` times after one warm-up, and the median
script-run time is reported, next to the time of a plain rerun of the same page with nothing
changed (the floor every interaction pays), as a ratio.

Memory: a real ``streamlit run`` is started, headless chromium visits every page (with a TV
run), and the server process's peak resident memory (VmHWM from /proc) is read. Skipped with
a message if /usr/bin/chromium is missing.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from _browser import CHROMIUM, CHROMIUM_ARGS, free_port  # noqa: E402 (benchmarks/ is on sys.path)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from streamlit.testing.v1 import AppTest  # noqa: E402

APP = str(ROOT / "streamlit_app.py")


def _open(page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    if page != "home":
        at.switch_page(f"pages/{page}.py").run()
    return at


def _time(fn, repeats: int) -> float:
    fn()  # warm-up (caches, tf.function tracing)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def measure_latency(repeats: int) -> list[tuple[str, float, float]]:
    rows = []

    at = _open("masks")
    accels = iter([4.0, 6.0] * (repeats + 2))
    base = _time(lambda: at.run(), repeats)
    t = _time(lambda: at.slider(key="w_accel").set_value(next(accels)).run(), repeats)
    rows.append(("mask change (acceleration, 256²)", t, base))

    at = _open("explorer")
    radii = iter([0.4, 0.6] * (repeats + 2))
    base = _time(lambda: at.run(), repeats)
    t = _time(lambda: at.slider(key="ex_lowpass").set_value(next(radii)).run(), repeats)
    rows.append(("k-space manipulation (low-pass, 256²)", t, base))

    at = _open("tv")
    lams = iter([1e-3 * (1 + i * 1e-3) for i in range(repeats + 2)])  # a new setting each time

    def tv_run():
        at.number_input(key="w_lam").set_value(next(lams))
        at.button(key="tv_run").click().run()

    base = _time(lambda: at.run(), repeats)
    t = _time(tv_run, repeats)
    rows.append(("TV run (ADMM, 100 iterations, 256², live curves)", t, base))

    at = _open("home")
    pages = iter(["explorer", "masks", "tv", "deep_learning", "compare", "home"] * (repeats + 2))
    base = _time(lambda: at.run(), repeats)
    t = _time(lambda: at.switch_page(f"pages/{next(pages)}.py").run(), repeats)
    rows.append(("page switch (cycling all 6 pages)", t, base))
    return rows


def measure_memory() -> float | None:
    """Peak RSS (MiB) of a real `streamlit run` after a browser visited every page."""
    if not Path("/usr/bin/chromium").exists():
        print("memory: skipped, /usr/bin/chromium is missing (apt-get install chromium)")
        return None
    from playwright.sync_api import sync_playwright

    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", APP, "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(180):
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            pg = b.new_page()
            pg.set_default_timeout(120_000)
            for path in ["", "explorer", "masks", "deep_learning", "compare", "tv"]:
                pg.goto(f"{url}/{path}")
                pg.wait_for_selector("h1")
                pg.wait_for_timeout(4000)
            pg.get_by_role("button", name="Run").click()
            pg.get_by_text("Iterations · time").wait_for()
            b.close()
        status = Path(f"/proc/{proc.pid}/status").read_text()
        hwm_kb = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM")))
        return hwm_kb / 1024
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = ap.parse_args()

    rows = measure_latency(args.repeats)
    mem = measure_memory()
    lines = [
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
        f"median of {args.repeats} runs after a warm-up.",
        "",
        "| interaction | server-side time | plain rerun of the page | ratio |",
        "|---|---|---|---|",
    ]
    for name, t, base in rows:
        lines.append(f"| {name} | {t * 1000:.0f} ms | {base * 1000:.0f} ms | {t / base:.1f}× |")
    if mem is not None:
        lines += ["", f"Peak memory of the `streamlit run` process after visiting every page and "
                      f"one TV run: **{mem:.0f} MiB**."]
    text = "\n".join(lines)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "app_latency.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
