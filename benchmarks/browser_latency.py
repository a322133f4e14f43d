"""What a visitor feels: latency and bytes of the app's main interactions in a real browser.

Run from the repository root (needs Debian's /usr/bin/chromium; Playwright drives it, no
browser is downloaded)::

    .venv/bin/python benchmarks/browser_latency.py               # 20 repetitions, 3 cold starts
    .venv/bin/python benchmarks/browser_latency.py --repeats 30 --cold-repeats 5
    .venv/bin/python benchmarks/browser_latency.py --quick       # 3 repetitions, 1 cold start

It prints a markdown table and writes ``benchmarks/results/browser_latency.md`` and
``benchmarks/results/browser_latency.json``. Nothing is asserted: each row says PASS or FAIL
against the threshold of issue #10, and a row that could not be measured says why.

Set-up. A real ``streamlit run streamlit_app.py`` on a free localhost port (RECON_LAB_CACHE in
a temporary folder), headless chromium 1400×1000, and between the two a small counting TCP
proxy (a thread per direction) through which the browser reaches the server.

Latency of an interaction (rows 1-6). A script injected into every page records, with the
page's own clock (``performance.now()``): the input event (``event.timeStamp`` of the
keydown/pointerdown that the benchmark sends), every change of the ``data-test-script-state``
attribute of the app's root element (``running``, ``notRunning``, ...), and every DOM mutation
inside the plotly chart that the input should change (by its widget key: the chart's element
container has the class ``st-key-<key>``). An interaction ends when the state has left
``notRunning`` after the input (so a stale ``notRunning`` from before the rerun never stops the
clock) and is back at ``notRunning``, and the chart has mutated and its figure's signature
(a cheap sample of its ``gd.data``) differs from the one before the input; the time is
input → the later of the two (the chart's last mutation, the return to ``notRunning``), taken
once nothing changed for 250 ms. Should the state never be seen leaving ``notRunning`` (a
rerun too short for React to render it), the chart change alone ends it after 1 s of quiet;
the JSON counts those cases (``fallbacks``). The rows:

1. Mask designer, Acceleration slider (``w_accel``) one step: the thumb is focused, and
   ArrowRight/ArrowLeft are pressed alternately (4.0 ↔ 4.5×); the chart is the mask.
2. Mask designer, Kind (``w_mkind``) random ↔ poisson: the selectbox is opened (not timed)
   and the option clicked (timed from its pointerdown); the chart is the mask.
3. K-space explorer, Low-pass radius (``ex_lowpass``) one step (0.45 ↔ 0.46, after seven
   untimed PageDown from 1.50 = off: above √2 a radius keeps all of k-space and a step
   changes nothing); the chart is the image magnitude.
4. Page switch: a click on the sidebar link, Mask designer ↔ K-space explorer, until the new
   page's title (h1) is visible and the state is back at ``notRunning``.
5. TV reconstruction: Run (``tv_run``) → the first point of the live loss curve drawn (a
   ``tv_loss_live*`` chart with its scatter trace in the SVG).
6. TV reconstruction: Run → the final metrics shown (a new value of the "Iterations · time"
   metric, not a stale one from the run before).
   The page keeps results per setting, and a Run with a setting already solved only shows the
   stored result, so λ is set by hand (Automatic λ off) and nudged by 1 % before every Run
   (1.00e-03, 1.01e-03, ...; λ is a tensor in the compiled solver: no retracing). The first
   Run compiles the solver: it is not in rows 5-6 but reported as "first run (compile)".

Bytes per interaction, from just before the input until the interaction ended (plus 250 ms):
"payload" is the decompressed websocket payload the page received (CDP
``Network.webSocketFrameReceived``; binary frames come base64-encoded and are counted
decoded), "wire" the bytes the proxy passed from the server to the browser (TCP payload:
websocket frames after any permessage-deflate compression, plus any HTTP responses, e.g.
static files on a page switch). The byte threshold is judged on wire bytes.

Cold start (row 7), ``--cold-repeats`` times, each with a fresh server process and cache
folder and a fresh browser context (empty HTTP cache): process start → ``/_stcore/health``
answers 200 (polled every 50 ms); then healthy → the home page's title "MRI Recon Lab"
visible, and healthy → the home page's first figure drawn: its overview images (``st.image``,
every ``<img>`` decoded), or a plotly figure (a ``.js-plotly-plot`` with its ``.main-svg`` and a
drawn trace: a heatmap image, a canvas or a scatter trace), whichever comes first. The page's
times are ``Date.now()`` in the page, the same wall clock as the benchmark's ``time.time()``.

Figures are medians and 95th percentiles (linear interpolation) over the repetitions; on a
2-core machine shared with other jobs they are noisy, so judge a FAIL by the margin.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import urllib.request
from pathlib import Path

from _browser import CHROMIUM, CHROMIUM_ARGS, free_port  # noqa: E402 (benchmarks/ is on sys.path)

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
VIEWPORT = {"width": 1400, "height": 1000}
QUIET_MS = 250  # an interaction has ended once nothing it waits for changed for this long
KB = 1024


class BenchError(RuntimeError):
    """A step could not be measured (timeout, missing element): the message says which."""


# ---- the counting proxy ------------------------------------------------------------------------


class CountingProxy:
    """TCP proxy 127.0.0.1:port → 127.0.0.1:target that counts the bytes in each direction."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.down = 0  # server → browser
        self.up = 0    # browser → server
        self._lock = threading.Lock()
        self._socks: list[socket.socket] = []
        self._stop = threading.Event()
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True, name="proxy-accept").start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(("127.0.0.1", self.target_port), timeout=10)
                server.settimeout(None)
            except OSError:
                client.close()
                continue
            for s in (client, server):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._socks += [client, server]
            threading.Thread(target=self._pump, args=(server, client, "down"), daemon=True).start()
            threading.Thread(target=self._pump, args=(client, server, "up"), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, direction: str) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                with self._lock:
                    if direction == "down":
                        self.down += len(data)
                    else:
                        self.up += len(data)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def reset(self) -> None:
        with self._lock:
            self.down = self.up = 0

    def close(self) -> None:
        self._stop.set()
        try:
            self._listener.close()
        except OSError:
            pass
        with self._lock:
            socks, self._socks = self._socks, []
        for s in socks:
            try:
                s.close()
            except OSError:
                pass


# ---- the server --------------------------------------------------------------------------------


class Server:
    """A fresh ``streamlit run streamlit_app.py`` with its own cache folder and log."""

    def __init__(self, log_dir: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.cache = Path(tempfile.mkdtemp(prefix="recon-lab-cache-"))
        self.log_path = log_dir / f"streamlit-{self.port}.log"
        env = dict(os.environ, RECON_LAB_CACHE=str(self.cache), TF_CPP_MIN_LOG_LEVEL="2")
        self._log = self.log_path.open("w")
        self.t_spawn = time.time()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(self.port),
             "--server.address", "127.0.0.1", "--server.headless", "true",
             "--browser.gatherUsageStats", "false"],
            cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT, env=env,
        )

    def wait_healthy(self, timeout: float = 120.0, poll: float = 0.05) -> float:
        """Poll /_stcore/health; return the wall time (time.time()) of the first 200."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        return time.time()
            except OSError:
                pass
            if self.proc.poll() is not None:
                raise BenchError(f"streamlit exited with code {self.proc.returncode} before it was "
                                 f"healthy; log: {self.log_path}")
            time.sleep(poll)
        raise BenchError(f"streamlit did not answer /_stcore/health within {timeout:.0f} s; log: {self.log_path}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        self._log.close()
        shutil.rmtree(self.cache, ignore_errors=True)


# ---- the page-side recorder --------------------------------------------------------------------

# Installed in every document before the app's own scripts (context.add_init_script).
HARNESS_JS = r"""
(() => {
  if (window.__bench) return;
  const QUIET = %(quiet)d;
  const B = window.__bench = {spec: null, r: null, cold: {title: null, figure: null, element: null}};
  const app = () => document.querySelector('[data-testid="stApp"]');
  const scriptState = () => { const a = app(); return a ? a.getAttribute('data-test-script-state') : null; };
  const visible = (el) => { if (!el) return false; const r = el.getBoundingClientRect();
                            return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden'; };
  const notStale = (el) => { const c = el.closest('[data-testid="stElementContainer"]');
                             return !c || c.getAttribute('data-stale') !== 'true'; };
  const drawn = (gd) => !!(gd && gd.querySelector('.main-svg') &&
      gd.querySelector('.heatmaplayer image, .imagelayer image, image, canvas, .scatterlayer .trace'));
  function fnv(h, str) {  // FNV-1a over a string's UTF-16 code units
    for (let i = 0; i < str.length; i++) { h ^= str.charCodeAt(i); h = Math.imul(h, 16777619); }
    return h >>> 0;
  }
  function sample(v, depth) {  // a signature of a plotly value: a hash of all of it
    if (v === null || v === undefined) return 'u';
    if (typeof v === 'string') return v.length + ':' + fnv(2166136261, v);
    if (typeof v !== 'object') return String(v);
    if (depth > 6) return 'o';
    if (ArrayBuffer.isView(v)) return '<' + v.length + ':' + fnv(2166136261, Array.prototype.join.call(v, ',')) + '>';
    if (Array.isArray(v)) return '[' + v.length + ':' + fnv(2166136261, v.map(x => sample(x, depth + 1)).join(',')) + ']';
    return '{' + Object.keys(v).sort().map(k => k + '=' + sample(v[k], depth + 1)).join(';') + '}';
  }
  const chartEl = (sel) => document.querySelector(sel + ' .js-plotly-plot');
  function signature(sel) {
    const gd = chartEl(sel);
    if (!gd || !gd.data) return null;
    const title = gd.layout && gd.layout.title ? sample(gd.layout.title, 0) : '';
    return gd.data.map(t => ['type', 'z', 'x', 'y', 'source', 'zmin', 'zmax'].map(k => sample(t[k], 0)).join('|')).join('#') + title;
  }
  function metricValue(label) {
    for (const m of document.querySelectorAll('[data-testid="stMetric"]')) {
      const l = m.querySelector('[data-testid="stMetricLabel"]');
      if (l && l.innerText.trim().startsWith(label)) {
        const v = m.querySelector('[data-testid="stMetricValue"]');
        return v && notStale(m) ? v.innerText.trim() : null; }
    }
    return null;
  }
  function titleVisible(text) {
    for (const h of document.querySelectorAll('h1')) if (h.innerText.trim() === text && visible(h) && notStale(h)) return true;
    return false;
  }
  function firstCurve(prefix) {
    for (const c of document.querySelectorAll('[class*="st-key-' + prefix + '"]')) {
      const gd = c.querySelector('.js-plotly-plot');
      if (gd && gd.data && gd.data.length && gd.querySelector('.main-svg .scatterlayer .trace')) return true;
    }
    return false;
  }
  B.signature = signature; B.metricValue = metricValue;

  B.arm = (spec) => {  // spec: {kind: 'chart'|'page'|'tv', chart, title, metric, curve}
    B.spec = spec;
    B.r = {t0: null, states: [], sawRun: null, tNotRunning: null, chartFirst: null, chartLast: null,
           tTitle: null, tCurve: null, tMetric: null, end: null, fallback: false, done: false,
           sigDirty: false, sigChanged: false,
           sig0: spec.chart ? signature(spec.chart) : null,
           metric0: spec.metric ? metricValue(spec.metric) : null, lastState: scriptState(), last: 0};
    return {sig0: B.r.sig0, metric0: B.r.metric0, state: B.r.lastState};
  };
  const onInput = (ev) => { if (B.r && B.r.t0 === null) B.r.t0 = ev.timeStamp; };
  for (const t of ['keydown', 'pointerdown', 'mousedown']) window.addEventListener(t, onInput, true);

  function check(now, muts) {
    const r = B.r;
    if (r && r.t0 !== null && !r.done) {
      const s = scriptState();
      if (s !== r.lastState) { r.states.push([now - r.t0, s]); r.lastState = s; r.last = now;
        if (s !== 'notRunning' && r.sawRun === null) r.sawRun = now;
        if (s === 'notRunning' && r.sawRun !== null) r.tNotRunning = now; }
      const sp = B.spec;
      if (sp.chart && muts) for (const m of muts) {
        const t = m.target.nodeType === 1 ? m.target : m.target.parentElement;
        // the chart's own DOM, not its element container marked stale/fresh by the rerun
        if (!t || !t.closest || !t.closest(sp.chart)) continue;
        if (m.type === 'attributes' && (m.attributeName === 'data-stale' || t.matches(sp.chart))) continue;
        if (r.chartFirst === null) r.chartFirst = now;
        r.chartLast = now; r.last = now; r.sigDirty = true; break;
      }
      if (sp.title && r.tTitle === null && titleVisible(sp.title)) { r.tTitle = now; r.last = now; }
      if (sp.curve && r.tCurve === null && firstCurve(sp.curve)) { r.tCurve = now; r.last = now; }
      if (sp.metric && r.tMetric === null) { const v = metricValue(sp.metric);
        if (v !== null && v !== r.metric0) { r.tMetric = now; r.last = now; } }
      const idle = s === 'notRunning';
      let end = null;
      if (sp.kind === 'chart') {
        if (r.sigDirty && idle) { r.sigChanged = signature(sp.chart) !== r.sig0; r.sigDirty = false; }
        const changed = r.chartLast !== null && r.sigChanged;
        if (changed && idle && r.tNotRunning !== null) end = Math.max(r.chartLast, r.tNotRunning);
        else if (changed && idle && r.sawRun === null && now - r.chartLast > 1000) { end = r.chartLast; r.fallback = true; }
        else if (!changed && idle && r.tNotRunning !== null && now - r.tNotRunning > 2000 && !r.sigDirty) {
          end = r.tNotRunning; r.unchanged = true; }  // the rerun drew the same figure
      } else if (sp.kind === 'page') {
        if (r.tTitle !== null && idle && r.tNotRunning !== null) end = Math.max(r.tTitle, r.tNotRunning);
        else if (r.tTitle !== null && idle && r.sawRun === null && now - r.tTitle > 1000) { end = r.tTitle; r.fallback = true; }
      } else if (sp.kind === 'tv') {
        if (r.tMetric !== null && r.tCurve !== null && idle && r.tNotRunning !== null) end = Math.max(r.tMetric, r.tNotRunning);
      }
      if (end !== null && now - r.last >= QUIET) { r.end = end; r.done = true; }
    }
    // cold start: first title and first figure, in wall-clock ms
    const c = B.cold;
    if (c.title === null && titleVisible('MRI Recon Lab')) c.title = Date.now();
    if (c.element === null && document.querySelector('[data-testid="stElementContainer"][class*="st-key-home_figure"], [data-testid="stPlotlyChart"]')) c.element = Date.now();
    if (c.figure === null) for (const gd of document.querySelectorAll('.js-plotly-plot')) if (drawn(gd)) { c.figure = Date.now(); break; }
    // the home page's overview is a row of images (st.image): drawn once every <img> has decoded
    if (c.figure === null) {
      const imgs = document.querySelectorAll('[data-testid="stImage"] img, [data-testid="stFullScreenFrame"] img');
      if (imgs.length && Array.from(imgs).every((im) => im.complete && im.naturalWidth > 0)) c.figure = Date.now();
    }
  }
  new MutationObserver((muts) => check(performance.now(), muts))
      .observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
  setInterval(() => check(performance.now(), null), 20);
  B.result = () => {
    const r = B.r; if (!r || !r.done) return null;
    const rel = (t) => t === null ? null : t - r.t0;
    return {ms: r.end - r.t0, rerun_start_ms: rel(r.sawRun), not_running_ms: rel(r.tNotRunning),
            chart_first_ms: rel(r.chartFirst), chart_last_ms: rel(r.chartLast), title_ms: rel(r.tTitle),
            curve_ms: rel(r.tCurve), metric_ms: rel(r.tMetric), fallback: r.fallback,
            figure_unchanged: !!r.unchanged, states: r.states};
  };
  B.status = () => { const r = B.r; return r ? {input_seen: r.t0 !== null, state: scriptState(), saw_run: r.sawRun !== null,
      chart_mutated: r.chartLast !== null, figure_changed: r.sigChanged, title: r.tTitle !== null, curve: r.tCurve !== null,
      metric: r.tMetric !== null, states: r.states} : null; };
})();
""" % {"quiet": QUIET_MS}


# ---- websocket payload from CDP ----------------------------------------------------------------


class FrameCounter:
    """Decompressed websocket payload bytes received by the page (CDP Network domain)."""

    def __init__(self, context, page):
        self.bytes = 0
        self.frames = 0
        self.extensions: set[str] = set()
        self.cdp = context.new_cdp_session(page)
        self.cdp.on("Network.webSocketFrameReceived", self._frame)
        self.cdp.on("Network.webSocketHandshakeResponseReceived", self._handshake)
        self.cdp.send("Network.enable")

    def _frame(self, params: dict) -> None:
        resp = params.get("response", {})
        data = resp.get("payloadData", "")
        if resp.get("opcode") == 2:  # binary: base64 in payloadData
            n = len(base64.b64decode(data)) if data else 0
        else:
            n = len(data.encode())
        self.bytes += n
        self.frames += 1

    def _handshake(self, params: dict) -> None:
        headers = {k.lower(): v for k, v in params.get("response", {}).get("headers", {}).items()}
        self.extensions.add(headers.get("sec-websocket-extensions", "") or "none")

    def reset(self) -> None:
        self.bytes = self.frames = 0


# ---- driving the app ---------------------------------------------------------------------------


class Session:
    """One browser page on the app through the proxy, with the recorder and both byte counters."""

    def __init__(self, browser, url: str, proxy: CountingProxy, timeout_s: float):
        self.proxy = proxy
        self.url = url
        self.timeout_ms = timeout_s * 1000
        self.context = browser.new_context(viewport=VIEWPORT)
        self.context.add_init_script(HARNESS_JS)
        self.page = self.context.new_page()
        self.page.set_default_timeout(self.timeout_ms)
        self.frames = FrameCounter(self.context, self.page)

    def wait_idle(self, what: str, timeout_ms: float | None = None) -> None:
        """The script state is notRunning, and no status widget is shown (not timed)."""
        idle = ("() => { const a = document.querySelector('[data-testid=\"stApp\"]');"
                " return a && a.getAttribute('data-test-script-state') === 'notRunning'"
                " && !document.querySelector('[data-testid=\"stStatusWidget\"]'); }")
        timeout_ms = timeout_ms or self.timeout_ms
        deadline = time.time() + timeout_ms / 1000
        while True:  # idle, and still idle 300 ms later (a widget may send its value late)
            try:
                self.page.wait_for_function(idle, timeout=max(1000, (deadline - time.time()) * 1000))
            except Exception as exc:  # playwright's TimeoutError
                raise BenchError(f"{what}: the app did not become idle within "
                                 f"{timeout_ms / 1000:.0f} s ({exc.__class__.__name__})") from exc
            self.page.wait_for_timeout(300)
            if self.page.evaluate(idle) or time.time() > deadline:
                return

    def open(self, path: str, title: str) -> None:
        self.page.goto(f"{self.url}/{path}")
        self.page.get_by_role("heading", name=title, exact=True).first.wait_for()
        self.wait_idle(f"opening /{path}")

    def nav(self, link_text: str, title: str) -> None:
        self.page.locator('[data-testid="stSidebarNavLink"]', has_text=link_text).first.click()
        self.page.get_by_role("heading", name=title, exact=True).first.wait_for()
        self.wait_idle(f"switching to {link_text}")

    def measure(self, name: str, spec: dict, action, timeout_ms: float | None = None) -> dict:
        """Arm the recorder, reset the byte counters, run ``action``, wait for the end."""
        self.page.evaluate("(spec) => window.__bench.arm(spec)", spec)
        self.page.wait_for_timeout(50)  # let CDP events of earlier frames arrive before the reset
        self.frames.reset()
        self.proxy.reset()
        action()
        timeout_ms = timeout_ms or self.timeout_ms
        try:
            handle = self.page.wait_for_function("() => window.__bench.result()", timeout=timeout_ms, polling=50)
        except Exception as exc:
            status = self.page.evaluate("() => window.__bench.status()")
            raise BenchError(f"{name}: not finished within {timeout_ms / 1000:.0f} s; recorder: "
                             f"{json.dumps(status)}") from exc
        res = handle.json_value()
        self.page.wait_for_timeout(QUIET_MS)  # frames still in flight belong to this interaction
        res["payload_bytes"] = self.frames.bytes
        res["ws_frames"] = self.frames.frames
        res["wire_bytes"] = self.proxy.down
        res["up_bytes"] = self.proxy.up
        return res

    def close(self) -> None:
        self.context.close()


def _slider_thumb(s: Session, key: str):
    thumb = s.page.locator(f'.st-key-{key} input[type="range"]').first
    thumb.wait_for()
    return thumb


def _step(s: Session, name: str, key: str, chart: str, arrow: str) -> dict:
    thumb = _slider_thumb(s, key)
    thumb.focus()
    res = s.measure(name, {"kind": "chart", "chart": chart}, lambda: s.page.keyboard.press(arrow))
    s.wait_idle(f"after a {name}")
    return res


def _press_untimed(s: Session, key: str, keys: list[str], what: str) -> None:
    thumb = _slider_thumb(s, key)
    thumb.focus()
    for k in keys:
        s.page.keyboard.press(k)
    s.wait_idle(what)


def bench_mask_accel(s: Session, repeats: int) -> list[dict]:
    """4.0 ↔ 4.5 alternately (the first step is a warm-up)."""
    s.nav("Mask designer", "Mask designer")
    runs = [_step(s, "acceleration step", "w_accel", ".st-key-mk_a_mask", "ArrowRight" if i % 2 == 0 else "ArrowLeft")
            for i in range(repeats + 1)]
    if repeats % 2 == 0:  # an odd number of steps ends at 4.5
        _press_untimed(s, "w_accel", ["ArrowLeft"], "acceleration back to 4.0")
    return runs[1:]


def bench_mask_accel_walk(s: Session, repeats: int) -> list[dict]:
    """A new acceleration at every step: 1.0, 1.5, 2.0, ... (back down from 16), then 4.0 again."""
    if not s.page.get_by_role("heading", name="Mask designer", exact=True).count():
        s.nav("Mask designer", "Mask designer")  # run on its own (--only)
    _press_untimed(s, "w_accel", ["Home"], "acceleration to 1.0")
    runs = []
    for i in range(repeats + 1):
        up = (i // 30) % 2 == 0  # 30 steps from 1 to 16, then back
        runs.append(_step(s, "acceleration step (walk)", "w_accel", ".st-key-mk_a_mask",
                          "ArrowRight" if up else "ArrowLeft"))
    _press_untimed(s, "w_accel", ["Home"] + ["ArrowRight"] * 6, "acceleration back to 4.0")
    return runs[1:]


def _choose_kind(s: Session, kind: str, name: str | None = None) -> dict | None:
    box = s.page.locator(".st-key-w_mkind").first
    box.locator('input[role="combobox"]').first.click()
    option = s.page.get_by_role("option", name=kind, exact=True)
    option.wait_for()
    res = None
    if name:
        res = s.measure(name, {"kind": "chart", "chart": ".st-key-mk_a_mask"}, option.click)
    else:
        option.click()
    s.wait_idle("after a kind change")
    return res


def bench_mask_kind(s: Session, repeats: int) -> list[dict]:
    runs = [_choose_kind(s, ["poisson", "random"][i % 2], "kind change") for i in range(repeats + 1)]
    if repeats % 2 == 0:  # ended on poisson
        _choose_kind(s, "random")
    return runs[1:]


def bench_page_switch(s: Session, repeats: int) -> list[dict]:
    out = []
    targets = ["K-space explorer", "Mask designer"]
    for i in range(repeats + 1):
        t = targets[i % 2]
        link = s.page.locator('[data-testid="stSidebarNavLink"]', has_text=t).first
        res = s.measure("page switch", {"kind": "page", "title": t}, link.click)
        if i:
            out.append(res)
        s.wait_idle("after a page switch")
    return out


def bench_lowpass(s: Session, repeats: int) -> tuple[list[dict], list[dict]]:
    """1.40 ↔ 1.41 alternately, then a walk down from there (a new radius at every step)."""
    s.nav("K-space explorer", "K-space explorer")
    # 1.50 is off, and above √2 a radius keeps all of k-space: start near 0.5, where a step of
    # 0.01 changes the image
    _press_untimed(s, "ex_lowpass", ["PageDown"] * 7, "moving the low-pass slider down")
    start = float(_slider_thumb(s, "ex_lowpass").get_attribute("value"))
    alt = [_step(s, "low-pass step", "ex_lowpass", ".st-key-ex_mag", "ArrowRight" if i % 2 == 0 else "ArrowLeft")
           for i in range(repeats + 1)]
    walk = [_step(s, "low-pass step (walk)", "ex_lowpass", ".st-key-ex_mag", "ArrowLeft" if start > 0.3 else "ArrowRight")
            for _ in range(repeats + 1)]
    print(f"  low-pass radius: {start:.2f} ↔ {start + 0.01:.2f}, then a walk from there", flush=True)
    return alt[1:], walk[1:]


def bench_tv(s: Session, repeats: int) -> tuple[dict | None, list[dict]]:
    s.nav("TV reconstruction", "TV reconstruction")
    auto = s.page.locator('.st-key-w_lamauto input[role="switch"]').first
    if auto.is_checked():
        s.page.locator(".st-key-w_lamauto label:visible").first.click()
        s.wait_idle("switching Automatic λ off")
    lam_box = s.page.locator(".st-key-w_lam input").first
    run_button = s.page.locator(".st-key-tv_run button:visible").first
    spec = {"kind": "tv", "metric": "Iterations · time", "curve": "tv_loss_live"}
    first, out = None, []
    for i in range(repeats + 1):
        lam_box.fill(f"{1e-3 * (1 + 0.01 * i):.2e}")
        lam_box.press("Enter")
        s.wait_idle("setting λ")
        res = s.measure("TV run", spec, run_button.click, timeout_ms=max(s.timeout_ms, 600_000) if i == 0 else None)
        if i == 0:
            first = res
        else:
            out.append(res)
        s.wait_idle("after a TV run")
    return first, out


def cold_start(browser, log_dir: Path, timeout_s: float) -> dict:
    """A fresh server and browser context: spawn → healthy → title, first figure (wall clock)."""
    ctx = browser.new_context(viewport=VIEWPORT)
    ctx.add_init_script(HARNESS_JS)
    page = ctx.new_page()
    page.set_default_timeout(timeout_s * 1000)
    server = Server(log_dir)
    try:
        t_healthy = server.wait_healthy(timeout=timeout_s)
        page.goto(server.url, wait_until="commit")
        try:
            page.wait_for_function("() => window.__bench && window.__bench.cold.title !== null"
                                   " && window.__bench.cold.figure !== null", polling=50)
        except Exception as exc:
            raise BenchError(f"cold start: the home page's title and first figure did not both appear "
                             f"within {timeout_s:.0f} s") from exc
        cold = page.evaluate("() => window.__bench.cold")
        # the largest downloads, to tell where a slow first figure waits
        big = page.evaluate("""() => performance.getEntriesByType('resource')
            .map(e => ({name: e.name.split('/').pop(), kb: Math.round(e.encodedBodySize / 1024),
                        end_ms: Math.round(e.responseEnd), start_ms: Math.round(e.startTime)}))
            .sort((a, b) => b.kb - a.kb).slice(0, 5)""")
        origin = page.evaluate("() => performance.timeOrigin") / 1000
        return {"healthy_s": t_healthy - server.t_spawn, "title_s": cold["title"] / 1000 - t_healthy,
                "figure_s": cold["figure"] / 1000 - t_healthy, "navigation_start_s": origin - t_healthy,
                "chart_element_s": None if cold["element"] is None else cold["element"] / 1000 - t_healthy,
                "largest_downloads": big}
    finally:
        ctx.close()
        server.stop()


# ---- statistics and report ---------------------------------------------------------------------


def _p95(xs: list[float]) -> float:
    if len(xs) < 2:
        return xs[0]
    return statistics.quantiles(xs, n=20, method="inclusive")[18]


def summarise(name: str, runs: list[dict], field: str = "ms", bytes_=True) -> dict:
    xs = [r[field] for r in runs if r.get(field) is not None]
    row = {"interaction": name, "n": len(xs)}
    if xs:
        row.update(median_ms=statistics.median(xs), p95_ms=_p95(xs))
    if bytes_ and runs:
        row.update(payload_kb=statistics.median(r["payload_bytes"] for r in runs) / KB,
                   wire_kb=statistics.median(r["wire_bytes"] for r in runs) / KB)
    row["fallbacks"] = sum(bool(r.get("fallback")) for r in runs)
    row["figure_unchanged"] = sum(bool(r.get("figure_unchanged")) for r in runs)
    return row


def judge(row: dict, median_ms=None, p95_ms=None, wire_kb=None) -> None:
    parts, ok = [], True
    if median_ms is not None:
        parts.append(f"median ≤ {median_ms:g} ms")
        ok &= row.get("median_ms", float("inf")) <= median_ms
    if p95_ms is not None:
        parts.append(f"p95 ≤ {p95_ms:g} ms")
        ok &= row.get("p95_ms", float("inf")) <= p95_ms
    if wire_kb is not None:
        parts.append(f"wire ≤ {wire_kb:g} KB")
        ok &= row.get("wire_kb", float("inf")) <= wire_kb
    row["threshold"] = ", ".join(parts) if parts else "—"
    row["verdict"] = ("PASS" if ok else "FAIL") if parts and row.get("n") else ("—" if not parts else "FAIL (not measured)")


def _fmt(v, digits=0) -> str:
    return "—" if v is None else f"{v:.{digits}f}"


def render(meta: dict, rows: list[dict], errors: list[str]) -> str:
    lines = [
        "# Browser latency (issue #10)",
        "",
        f"Date: {meta['date']}. Machine: {meta['cpus']} CPU cores, Python {meta['python']}, "
        f"Streamlit {meta['streamlit']}, {meta['chromium']}, Playwright {meta['playwright']}. "
        f"Repetitions: {meta['repeats']} per interaction (after one warm-up), {meta['cold_repeats']} "
        f"cold starts. Websocket compression: config `server.enableWebsocketCompression` = "
        f"{meta['ws_compression_config']}, negotiated extensions: {meta['ws_extensions']}. "
        f"Load average (1, 5, 15 min) at the start {meta['load_start']}, at the end {meta['load_end']}: "
        "other jobs on the machine slow every row down.",
        "",
        "Made by `benchmarks/browser_latency.py` (its docstring says how each number is measured). "
        "Times run from the input event in the page to the script state back at `notRunning` and "
        "the affected chart redrawn; KB = 1024 bytes, medians per interaction; \"payload\" is the "
        "decompressed websocket payload the page received, \"wire\" the bytes on the TCP "
        "connection from the server (the byte threshold is judged on wire bytes).",
        "",
        "| interaction | median ms | p95 ms | payload KB | wire KB | n | threshold (issue #10) | verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['interaction']} | {_fmt(r.get('median_ms'))} | {_fmt(r.get('p95_ms'))} | "
                     f"{_fmt(r.get('payload_kb'), 1)} | {_fmt(r.get('wire_kb'), 1)} | {r['n']} | "
                     f"{r['threshold']} | {r['verdict']} |")
    if meta.get("notes"):
        lines += [""] + [f"- {n}" for n in meta["notes"]]
    if errors:
        lines += ["", "Not measured:"] + [f"- {e}" for e in errors]
    return "\n".join(lines) + "\n"


def _versions() -> dict:
    import playwright
    import streamlit
    try:
        chromium = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        chromium = "chromium (version unknown)"
    try:
        from importlib.metadata import version
        pw = version("playwright")
    except Exception:
        pw = getattr(playwright, "__version__", "?")
    cfg_path = ROOT / ".streamlit" / "config.toml"
    try:
        comp = tomllib.loads(cfg_path.read_text()).get("server", {}).get("enableWebsocketCompression", False)
    except (OSError, tomllib.TOMLDecodeError):
        comp = "unreadable"
    return {"python": platform.python_version(), "streamlit": streamlit.__version__,
            "chromium": chromium.split(" built")[0], "playwright": pw, "cpus": os.cpu_count(),
            "ws_compression_config": comp}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=20, help="timed repetitions per interaction (default 20)")
    ap.add_argument("--cold-repeats", type=int, default=3, help="cold starts (default 3)")
    ap.add_argument("--quick", action="store_true", help="3 repetitions and 1 cold start, for development")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds one step may take (default 120)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--only", default="", help="comma-separated subset, for development: "
                    "mask_accel, mask_kind, mask_accel_walk, page_switch, lowpass, tv, cold")
    args = ap.parse_args()
    if args.quick:
        args.repeats, args.cold_repeats = 3, 1
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing: apt-get install chromium (or bash scripts/ensure_system_deps.sh)",
              file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    meta = {"date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), **_versions(),
            "repeats": args.repeats, "cold_repeats": args.cold_repeats,
            "load_start": [round(x, 1) for x in os.getloadavg()]}
    log_dir = Path(tempfile.mkdtemp(prefix="browser-latency-"))
    only = {x.strip() for x in args.only.split(",") if x.strip()}

    def wanted(name: str) -> bool:
        return not only or name in only
    raw: dict[str, object] = {}
    rows: list[dict] = []
    errors: list[str] = []
    server = proxy = None

    def attempt(label: str, fn):
        t = time.time()
        print(f"… {label}", flush=True)
        try:
            value = fn()
            print(f"  done in {time.time() - t:.0f} s", flush=True)
            return value
        except BenchError as exc:
            print(f"  FAILED: {exc}", flush=True)
            errors.append(str(exc))
        except Exception as exc:  # a playwright timeout or a missing element: keep going
            msg = f"{label}: {exc.__class__.__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            print(f"  FAILED: {msg}", flush=True)
            errors.append(msg)
        return None

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            server = Server(log_dir)
            server.wait_healthy(timeout=args.timeout)
            proxy = CountingProxy(server.port)
            s = Session(browser, f"http://127.0.0.1:{proxy.port}", proxy, args.timeout)
            try:
                # home first: a deep link as the first script run would skip the entry point's navigation
                attempt("opening the app", lambda: s.open("", "MRI Recon Lab"))
                if wanted("mask_accel"):
                    raw["mask_accel"] = attempt("mask acceleration step", lambda: bench_mask_accel(s, args.repeats))
                if wanted("mask_kind"):
                    raw["mask_kind"] = attempt("mask kind change", lambda: bench_mask_kind(s, args.repeats))
                if wanted("mask_accel_walk"):
                    raw["mask_accel_walk"] = attempt("mask acceleration step, new values",
                                                     lambda: bench_mask_accel_walk(s, args.repeats))
                if wanted("page_switch"):
                    raw["page_switch"] = attempt("page switch", lambda: bench_page_switch(s, args.repeats))
                lp = attempt("k-space low-pass step", lambda: bench_lowpass(s, args.repeats)) \
                    if wanted("lowpass") else None
                if lp:
                    raw["lowpass"], raw["lowpass_walk"] = lp
                tv = attempt("TV run", lambda: bench_tv(s, args.repeats)) if wanted("tv") else None
                if tv:
                    raw["tv_first_run"], raw["tv"] = tv
                meta["ws_extensions"] = ", ".join(sorted(s.frames.extensions)) or "unknown"
            finally:
                s.close()
        finally:
            if proxy is not None:
                proxy.close()
            if server is not None:
                server.stop()
        meta.setdefault("ws_extensions", "unknown")
        colds = []
        try:
            for i in range(args.cold_repeats if wanted("cold") else 0):
                c = attempt(f"cold start {i + 1}/{args.cold_repeats}", lambda: cold_start(browser, log_dir, args.timeout))
                if c:
                    colds.append(c)
        finally:
            browser.close()
    raw["cold_start"] = colds

    def add(name, key, field="ms", **th):
        runs = raw.get(key) or []
        if isinstance(runs, dict):
            runs = [runs]
        row = summarise(name, runs, field)
        judge(row, **th)
        rows.append(row)

    add("Mask designer: acceleration slider one step (4.0 ↔ 4.5)", "mask_accel", median_ms=300, p95_ms=600, wire_kb=300)
    add("Mask designer: acceleration step, a new value each time (1.0, 1.5, …)", "mask_accel_walk",
        median_ms=300, p95_ms=600, wire_kb=300)
    add("Mask designer: kind change (random ↔ poisson)", "mask_kind")
    add("K-space explorer: low-pass slider one step (0.45 ↔ 0.46)", "lowpass", median_ms=300, p95_ms=600, wire_kb=300)
    add("K-space explorer: low-pass step, a new value each time (0.44, 0.43, …)", "lowpass_walk",
        median_ms=300, p95_ms=600, wire_kb=300)
    add("Page switch (Mask designer ↔ K-space explorer)", "page_switch", median_ms=500)
    add("TV: Run → first live curve point", "tv", field="curve_ms", median_ms=500)
    add("TV: Run → final metrics shown", "tv", field="metric_ms")
    add("TV: first run (compile) → first live curve point", "tv_first_run", field="curve_ms")
    add("TV: first run (compile) → final metrics shown", "tv_first_run", field="metric_ms")
    for label, field, limit in (("process start → healthy", "healthy_s", None),
                                ("healthy → home title visible", "title_s", 1500),
                                ("healthy → first home figure drawn", "figure_s", 3000)):
        xs = [c[field] * 1000 for c in colds]
        row = {"interaction": f"Cold start: {label}", "n": len(xs), "fallbacks": 0}
        if xs:
            row.update(median_ms=statistics.median(xs), p95_ms=_p95(xs))
        judge(row, median_ms=limit)
        rows.append(row)

    notes = []
    fb = {r["interaction"]: r["fallbacks"] for r in rows if r.get("fallbacks")}
    if fb:
        notes.append("The state was never seen leaving `notRunning` in "
                     + "; ".join(f"{k}: {v}" for k, v in fb.items()) + " (ended by the chart change alone).")
    for key, label in (("mask_accel", "acceleration step"), ("mask_accel_walk", "acceleration step (walk)"),
                       ("lowpass", "low-pass step"), ("lowpass_walk", "low-pass step (walk)"),
                       ("mask_kind", "kind change")):
        runs = raw.get(key) or []
        def med(field):
            xs = [r[field] for r in runs if r.get(field) is not None]
            return f"{statistics.median(xs):.0f} ms" if xs else "—"

        if runs:
            notes.append(f"{label}, medians from the input: the script state leaves `notRunning` "
                         f"{med('rerun_start_ms')}, the chart first changes {med('chart_first_ms')}, "
                         f"its last change {med('chart_last_ms')}, back at `notRunning` {med('not_running_ms')}.")
    if colds:
        def cmed(xs):
            xs = [x for x in xs if x is not None]
            return f"{statistics.median(xs):.2f} s" if xs else "—"

        plotly = [next((d for d in c.get("largest_downloads", []) if "plotly" in d["name"].lower()), None)
                  for c in colds]
        nav = [c["navigation_start_s"] for c in colds]
        notes.append(
            "Cold start, medians after healthy: title "
            f"{cmed([c['title_s'] for c in colds])}, the home figure's element in the page "
            f"{cmed([c.get('chart_element_s') for c in colds])}, the plotly chunk "
            + (f"({plotly[0]['name']}, {plotly[0]['kb']} KB) requested "
               f"{cmed([n + d['start_ms'] / 1000 for n, d in zip(nav, plotly) if d])} and downloaded "
               f"{cmed([n + d['end_ms'] / 1000 for n, d in zip(nav, plotly) if d])}"
               if plotly[0] else "(not found among the largest downloads)")
            + f", the figure drawn {cmed([c['figure_s'] for c in colds])}: the chart's code is only "
              "fetched once the first chart arrives.")
    same = {r["interaction"]: r["figure_unchanged"] for r in rows if r.get("figure_unchanged")}
    if same:
        notes.append("The chart's figure was the same after the rerun (ended at `notRunning`) in "
                     + "; ".join(f"{k}: {v}" for k, v in same.items()) + ".")
    meta["notes"] = notes
    meta["load_end"] = [round(x, 1) for x in os.getloadavg()]
    text = render(meta, rows, errors)
    print()
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "browser_latency.md").write_text(text)
    (args.out / "browser_latency.json").write_text(json.dumps(
        {"meta": meta, "rows": rows, "errors": errors, "raw": raw}, indent=1, default=str) + "\n")
    print(f"wrote {args.out / 'browser_latency.md'} and browser_latency.json; server logs in {log_dir}")
    return 0 if not errors else 1


if __name__ == "__main__":
    sys.exit(main())
