"""Load test: many visitors at once on one real ``streamlit run`` server (issue #10).

Run from the repository root (chromium from Debian at /usr/bin/chromium; no download)::

    .venv/bin/python benchmarks/load_test.py             # 8 visitors, 120 s, 60 s settle (~6 min)
    .venv/bin/python benchmarks/load_test.py --quick     # 2 visitors, 30 s, 10 s settle (development)
    .venv/bin/python benchmarks/load_test.py --contexts 4 --duration 60 --settle 30

What it does:

1. Starts ``streamlit run streamlit_app.py`` on a free localhost port (headless, no usage
   stats, ``RECON_LAB_CACHE`` in a temporary folder) and waits for ``/_stcore/health``. It
   serves a snapshot of a commit (``--rev``, default HEAD, via ``git archive``) with the file
   watcher off, as a hosted demo would: a server on a working tree that someone is editing
   re-imports half-saved modules. ``--working-tree`` serves the checkout itself.
2. Single visitor: one browser context walks the script below once, alone. The server's
   resident memory at its end is the *single-visitor* figure.
3. Load: ``--contexts`` browser contexts of one headless chromium (each its own Streamlit
   session) walk the script over and over for ``--duration`` seconds: every page through the
   sidebar (Home, K-space explorer, Mask designer, TV reconstruction, Coils and parallel
   imaging, Deep learning, Compare), the explorer's low-pass slider, one upload per context
   (a 128×128 PNG generated here, different for each context) followed by a return to the
   phantom, the Mask designer's acceleration slider and mask kind, and a TV run (``tv_run``).
4. All contexts close; ``--settle`` seconds later the memory is read again.

Latency of an interaction: from the input event in the page (pointer, key or file-input
event, recorded by a listener the script injects) to the app's ``data-test-script-state``
attribute returning to ``notRunning`` after the run's ``script_finished`` message. A rerun
has started when the attribute reads ``running`` or the page receives the run's
``new_session`` message (the injected script reads the ForwardMsgs' type off the websocket):
the attribute alone misses runs whose messages all arrive in one burst, which React draws in
one render without ever writing ``running`` (issue #10's "lost inputs"); such runs end at
their ``script_finished`` message and are counted in the report. A rerun that does not
start or finish within ``--timeout`` seconds is a timeout. Browser and server share the
machine's cores, so the figures include the browsers' own work.

Errors: Streamlit exception boxes (``stException``) and error alerts (``stAlertContentError``)
on the page after an interaction, page crashes, websocket disconnects (the app's
``data-test-connection-state`` leaving ``CONNECTED``) and timeouts. An input whose rerun
has not started 30 s later is retried once and listed with what the page showed, the
websocket frames sent and received since the input, and (``--py-spy PATH``) a dump of the
server's Python threads; a second miss is an error. Uncaught JavaScript errors are listed
too, but not counted.

Memory: the RSS (``VmRSS`` in /proc, summed over the server process and its children) is
sampled every 0.5 s throughout.

CPU: user + system seconds of the server (process and children) and, separately, of the
browsers with the playwright driver (every other process this script started), read from
/proc at the start and end of each phase: it says whose work the latencies wait on.

Thresholds of the issue (PASS/FAIL in the report): no errors; p95 of the mask step (the
acceleration slider) under load <= 1.5 s; peak RSS <= 2.5 GB; RSS ``--settle`` s after the
contexts closed within 300 MB of the single-visitor figure.

Output: a markdown table on stdout; full runs also write ``results/load_test.md`` and
``results/load_test.json`` (``--quick`` runs write nothing unless ``--out`` is given). The
server is always stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from importlib import metadata
from pathlib import Path

import numpy as np

from _browser import CHROMIUM, CHROMIUM_ARGS, free_port  # noqa: E402 (benchmarks/ is on sys.path)

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
PAGES = {  # sidebar title -> heading of the page (streamlit_app.PAGES)
    "Home": "MRI Recon Lab",
    "K-space explorer": "K-space explorer",
    "Mask designer": "Mask designer",
    "TV reconstruction": "TV reconstruction",
    "Coils and parallel imaging": "Coils and parallel imaging",
    "Deep learning": "Deep learning",
    "Compare": "Compare",
}
MASK_KINDS = ["random", "equispaced", "gaussian", "poisson", "radial"]  # recon_core.MASK_KINDS
MASK_STEP = "mask: acceleration slider"
START_S = 30  # an input whose rerun has not started by then is taken as missed (retried once)
LOCATE_MS = 60_000  # finding a widget on an idle page
GB = 1e9
MB = 1e6
LIMITS = {"p95_mask_s": 1.5, "peak_rss_bytes": 2.5 * GB, "settle_rss_delta_bytes": 300 * MB}

# Injected into every page before the app loads: records every change of the app's script and
# connection state, the ForwardMsgs that start and end a script run (with performance.now()
# times) and the first input event after arm().
#
# Why the messages as well as the attribute: the page sets data-test-script-state from React
# state, and React renders a batch of state updates once. A run whose messages all reach the
# page in one burst (a quick run of cached output, while 8 pages and the server share two
# cores) is drawn in a single render: new_session, "running", the deltas, script_finished and
# "not running" are all applied before the attribute is written, so it stays `notRunning` and
# the run is never seen. Issue #10's "lost inputs" were such runs: the server log shows the
# rerun request arriving, the script running and finishing, and the 43-52 frames the page got
# back are exactly that run (new_session ... script_finished, session_status_changed).
INIT_JS = r"""
(() => {
  if (window.__lt) return;
  const lt = window.__lt = {events: [], conn: [], msgs: [], t0: 0, tInput: null, armed: false, app: null};
  // ForwardMsg fields (streamlit/proto/ForwardMsg.proto): 4 new_session (a script run started,
  // full or fragment), 6 script_finished (a varint status; 2 = FINISHED_EARLY_FOR_RERUN).
  const NEW_SESSION = 4, SCRIPT_FINISHED = 6, EARLY_FOR_RERUN = 2;
  const varint = (b, i) => {
    let v = 0, s = 1, x;
    do { x = b[i++]; v += (x & 0x7f) * s; s *= 128; } while (x & 0x80 && i < b.length);
    return [v, i];
  };
  const onFrame = data => {
    if (!(data instanceof ArrayBuffer)) return;
    const b = new Uint8Array(data), t = performance.now();
    for (let i = 0, tag; i < b.length;) {  // top-level fields only; the payload's type is one of them
      [tag, i] = varint(b, i);
      const field = Math.floor(tag / 8), wire = tag & 7;
      if (field === NEW_SESSION) { lt.msgs.push([t, 'newSession']); return; }
      if (field === SCRIPT_FINISHED && wire === 0) {
        lt.msgs.push([t, 'scriptFinished', varint(b, i)[0]]);
        return;
      }
      if (wire === 0) i = varint(b, i)[1];
      else if (wire === 2) { let n; [n, i] = varint(b, i); i += n; }
      else if (wire === 1) i += 8;
      else if (wire === 5) i += 4;
      else return;
    }
  };
  const WS = window.WebSocket;
  window.WebSocket = class extends WS {
    constructor(...args) { super(...args); this.addEventListener('message', e => onFrame(e.data)); }
  };
  const ATTRS = ['data-test-script-state', 'data-test-connection-state'];
  const push = (attr, value) => {
    const list = attr === ATTRS[0] ? lt.events : lt.conn;
    if (!list.length || list[list.length - 1][1] !== value) list.push([performance.now(), value]);
  };
  lt.attach = () => {
    const app = document.querySelector('[data-testid="stApp"]');
    if (!app) return false;
    if (app === lt.app) return true;
    lt.app = app;
    for (const a of ATTRS) push(a, app.getAttribute(a));
    new MutationObserver(recs => {
      // Records may arrive batched: a record's oldValue is the value before its change, so the
      // value after it is the next record's oldValue (or the current value, for the last one).
      for (const a of ATTRS) {
        const rs = recs.filter(r => r.attributeName === a);
        rs.forEach((r, i) => push(a, i + 1 < rs.length ? rs[i + 1].oldValue : app.getAttribute(a)));
      }
    }).observe(app, {attributes: true, attributeOldValue: true, attributeFilter: ATTRS});
    return true;
  };
  const poll = () => { if (!lt.attach()) setTimeout(poll, 50); };
  poll();
  setInterval(() => { if (lt.app && !lt.app.isConnected) lt.attach(); }, 500);
  for (const ev of ['pointerdown', 'mousedown', 'keydown', 'input', 'change', 'click']) {
    window.addEventListener(ev, () => {
      if (lt.armed && lt.tInput === null) lt.tInput = performance.now();
    }, true);
  }
  lt.arm = () => { lt.attach(); lt.t0 = performance.now(); lt.tInput = null; lt.armed = true; };
  const first = (list, from, pred) => list.find(([t, ...v]) => t >= from && pred(...v));
  // when a script run started after arm(): the attribute at `running`, or (a run drawn in one
  // render, see above) the run's new_session message; null if none has
  const runStart = () => {
    const shown = first(lt.events, lt.t0, v => v === 'running');
    const msg = first(lt.msgs, lt.t0, v => v === 'newSession');
    return shown || msg ? Math.min(shown ? shown[0] : Infinity, msg ? msg[0] : Infinity) : null;
  };
  lt.started = () => runStart() !== null;
  lt.debug = () => JSON.stringify({t0: lt.t0, tInput: lt.tInput, now: performance.now(),
                                   focus: document.activeElement && (document.activeElement.tagName + ' '
                                     + (document.activeElement.getAttribute('aria-label') || '')),
                                   shown: Object.fromEntries(['w_src', 'ex_lowpass', 'w_accel', 'w_mkind'].map(
                                     k => [k, (document.querySelector(`.st-key-${k} input`) || {}).value])),
                                   events: lt.events.slice(-6), msgs: lt.msgs.slice(-4),
                                   conn: lt.conn.slice(-4)});
  lt.state = () => lt.app ? lt.app.getAttribute('data-test-script-state') : null;
  // {input, start, end} of the first script run that started after arm(), or null while it is
  // unfinished. The end: the attribute back at `notRunning` after the run's script_finished
  // message; when the page drew the whole run in one render (the attribute never changed),
  // the time of that message, once the attribute reads `notRunning`.
  lt.result = () => {
    const start = runStart();
    if (start === null) return null;
    const fin = first(lt.msgs, start, (v, status) => v === 'scriptFinished' && status !== EARLY_FOR_RERUN);
    const shown = first(lt.events, start, v => v === 'running');
    let end = null;
    if (fin) {
      const drawn = first(lt.events, fin[0], v => v === 'notRunning');
      end = drawn ? drawn[0] : (lt.state() === 'notRunning' ? fin[0] : null);
    } else if (shown) {  // no message seen (the socket wrapper missing): the attribute alone
      const drawn = first(lt.events, shown[0], v => v === 'notRunning');
      end = drawn ? drawn[0] : null;
    }
    if (end === null) return null;
    const from = lt.tInput === null ? lt.t0 : lt.tInput;
    return {input: from - lt.t0, start: start - from, end: end - from, oneRender: !shown};
  };
})();
"""


# ---- the server and its memory ------------------------------------------------------------


def snapshot(dest: Path, rev: str = "HEAD") -> str:
    """The committed tree at ``rev`` (``git archive``) in ``dest``; returns its short hash.

    The benchmark measures a commit, not a working tree that others may be editing: a live
    server re-imports changed modules, and a half-saved change shows as an error box."""
    dest.mkdir(parents=True)
    archive = subprocess.Popen(["git", "archive", rev], cwd=ROOT, stdout=subprocess.PIPE)
    subprocess.run(["tar", "-x", "-C", str(dest)], stdin=archive.stdout, check=True)
    if archive.wait() != 0:
        raise RuntimeError(f"git archive {rev} failed")
    return subprocess.run(["git", "rev-parse", "--short", rev], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout.strip()


def start_server(app_dir: Path, cache_dir: Path, log_path: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = dict(os.environ, RECON_LAB_CACHE=str(cache_dir))
    log = log_path.open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true",
         "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=app_dir, stdout=log, stderr=subprocess.STDOUT, env=env,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {proc.returncode}; log: {log_path}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError(f"streamlit did not become healthy within 120 s; log: {log_path}")


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


def _children(pid: int) -> list[int]:
    """The process and all its descendants (from the parent ids in /proc/*/stat)."""
    parent: dict[int, int] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                stat = Path(f"/proc/{d}/stat").read_text()
            except OSError:
                continue
            parent[int(d)] = int(stat.rsplit(")", 1)[1].split()[1])
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(c for c, pp in parent.items() if pp == p)
    return out


def rss_bytes(pid: int) -> int:
    total = 0
    for p in _children(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
                    break
        except OSError:
            pass
    return total


TICK_S = 1.0 / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of these processes, including their exited, reaped children."""
    total = 0
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(v) for v in fields[11:15])  # utime, stime, cutime, cstime
    return total * TICK_S


class MemorySampler(threading.Thread):
    """RSS of the server (and its children) every ``period`` seconds, with phase marks."""

    def __init__(self, pid: int, period: float = 0.5):
        super().__init__(daemon=True)
        self.pid, self.period, self.t0 = pid, period, time.monotonic()
        self.samples: list[tuple[float, int]] = []
        self.marks: dict[str, float] = {}
        self.cpu: dict[str, dict[str, float]] = {}  # per mark: CPU seconds of server, browsers
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.samples.append((time.monotonic() - self.t0, rss_bytes(self.pid)))
            self._stop_event.wait(self.period)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=5)

    def mark(self, name: str) -> float:
        self.marks[name] = t = time.monotonic() - self.t0
        server = _children(self.pid)
        mine = _children(os.getpid())  # the server, the playwright driver and the browsers
        others = [p for p in mine if p not in set(server) and p != os.getpid()]
        self.cpu[name] = {"server": cpu_seconds(server), "browsers": cpu_seconds(others)}
        return t

    def cpu_between(self, start: str, end: str) -> dict[str, float]:
        """CPU seconds the server and the browsers (with the playwright driver) used between marks."""
        a, b = self.cpu[start], self.cpu[end]
        return {k: b[k] - a[k] for k in a}

    def peak(self, start: str, end: str) -> int:
        a, b = self.marks[start], self.marks[end]
        vals = [r for t, r in self.samples if a <= t <= b]
        return max(vals) if vals else rss_bytes(self.pid)


# ---- the visitors -------------------------------------------------------------------------


def _what(exc: Exception) -> str:
    return "timeout" if "Timeout" in type(exc).__name__ else "failure"


class Stats:
    verbose = False

    def __init__(self) -> None:
        self.latency: dict[str, list[float]] = {}
        self.records: list[dict] = []
        self.errors: list[dict] = []
        self.js_errors: list[str] = []
        self.missed: list[dict] = []  # inputs that started no rerun and were retried
        self.py_spy: str | None = None  # --py-spy: dump the server's threads when an input is missed
        self.server_pid: int | None = None
        self.dump_dir: Path | None = None

    async def dump_server(self, name: str) -> str | None:
        """``py-spy dump`` of the server's Python threads (the path of the text), if asked for."""
        if not (self.py_spy and self.server_pid and self.dump_dir):
            return None
        path = self.dump_dir / f"{name}.txt"
        proc = await asyncio.create_subprocess_exec(self.py_spy, "dump", "--pid", str(self.server_pid),
                                                    stdout=path.open("w"), stderr=asyncio.subprocess.STDOUT)
        try:
            await asyncio.wait_for(proc.wait(), 60)
        except asyncio.TimeoutError:
            proc.kill()
        return str(path)

    def add(self, phase: str, ctx: int, kind: str, res: dict) -> None:
        self.latency.setdefault(f"{phase}|{kind}", []).append(res["end"] / 1000)
        self.records.append({"phase": phase, "context": ctx, "kind": kind, "latency_s": res["end"] / 1000,
                             "start_delay_s": res["start"] / 1000, "input_after_arm_s": res["input"] / 1000,
                             "one_render": bool(res.get("oneRender"))})
        if self.verbose:
            print(f"  [{phase} ctx {ctx}] {kind}: {res['end'] / 1000:.2f} s "
                  f"(script started after {res['start'] / 1000:.2f} s)", flush=True)

    def error(self, phase: str, ctx: int, kind: str, what: str, detail: str = "") -> None:
        self.errors.append({"phase": phase, "context": ctx, "kind": kind, "what": what, "detail": detail[:300]})
        print(f"  [{phase} ctx {ctx}] {what} after {kind!r}: {detail[:160]}", flush=True)


def make_upload(path: Path, seed: int) -> Path:
    """A 128×128 greyscale PNG: a few random ellipses (different for every seed)."""
    from PIL import Image

    rng = np.random.default_rng(1000 + seed)
    yy, xx = np.mgrid[-1:1:128j, -1:1:128j]
    img = np.zeros((128, 128))
    for _ in range(6):
        cy, cx, ry, rx = rng.uniform(-0.5, 0.5), rng.uniform(-0.5, 0.5), *rng.uniform(0.1, 0.45, 2)
        img += rng.uniform(0.2, 1.0) * (((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1)
    img = (255 * img / img.max()).astype(np.uint8)
    Image.fromarray(img).save(path)
    return path


class Visitor:
    """One browser context walking the script; records latencies and errors into ``stats``."""

    def __init__(self, browser, url: str, cid: int, stats: Stats, phase: str, timeout_s: float,
                 upload: Path):
        self.browser, self.url, self.cid, self.stats, self.phase = browser, url, cid, stats, phase
        self.timeout_ms = timeout_s * 1000
        self.upload = upload
        self.uploaded = False
        self.lowpass, self.lp_dir = 150, -1  # hundredths (the slider's step)
        self.accel, self.acc_dir = 4.0, 1 if cid % 2 == 0 else -1
        self.kind = "random"
        self.cycle = 0
        self.ctx = self.page = None
        self.conn_seen = 0
        self.failed = False  # an interaction failed: the page was reloaded, start the walk again

    async def open(self) -> None:
        self.ctx = await self.browser.new_context(viewport={"width": 1400, "height": 1000})
        await self.ctx.add_init_script(INIT_JS)
        try:
            await self._new_page()
        except Exception as exc:  # noqa: BLE001 (walk() starts again from a fresh page)
            self.stats.error(self.phase, self.cid, "first visit", _what(exc), f"{type(exc).__name__}: {exc}")
            self.page = None

    async def _new_page(self) -> None:
        self.page = await self.ctx.new_page()
        self.page.set_default_timeout(self.timeout_ms)
        self.conn_seen = 0
        self.page.on("crash", lambda _: self.stats.error(self.phase, self.cid, "-", "page crash"))
        self.page.on("pageerror", lambda e: self.stats.js_errors.append(f"ctx {self.cid}: {e}"[:300]))
        self.ws_sent: list[tuple[float, int]] = []  # (time.monotonic(), bytes) of websocket frames
        self.ws_recv: list[tuple[float, int]] = []

        def on_ws(ws):
            ws.on("framesent", lambda payload: self.ws_sent.append((time.monotonic(), len(payload))))
            ws.on("framereceived", lambda payload: self.ws_recv.append((time.monotonic(), len(payload))))

        self.page.on("websocket", on_ws)
        t0 = time.perf_counter()
        await self.page.goto(self.url)
        await self._wait_state("notRunning")
        await self.page.get_by_role("heading", name="MRI Recon Lab").first.wait_for()
        self.stats.latency.setdefault(f"{self.phase}|first visit (Home, goto to idle)", []).append(
            time.perf_counter() - t0)
        await self._check_errors("first visit")

    async def close(self) -> None:
        if self.ctx is not None:
            await self.ctx.close()
            self.ctx = None

    async def _wait_state(self, value: str) -> None:
        await self.page.wait_for_function(
            "v => window.__lt && window.__lt.state() === v", arg=value, timeout=self.timeout_ms,
            polling=100)

    async def _check_connection(self, kind: str) -> None:
        conn = await self.page.evaluate("() => window.__lt.conn")
        # a disconnect: any state after the first CONNECTED that is not CONNECTED
        values = [v for _, v in conn]
        if "CONNECTED" in values:
            first = values.index("CONNECTED")
            bad = [v for v in values[max(first, self.conn_seen):] if v != "CONNECTED"]
            if bad:
                self.stats.error(self.phase, self.cid, kind, "websocket disconnect", " -> ".join(bad))
        self.conn_seen = len(values)

    async def _check_errors(self, kind: str) -> None:
        boxes = self.page.locator('[data-testid="stException"], [data-testid="stAlertContentError"]')
        if await boxes.count():
            texts = await boxes.all_inner_texts()
            self.stats.error(self.phase, self.cid, kind, "error box", " | ".join(texts))

    async def interact(self, kind: str, action, after=None, prepare=None) -> bool:
        """Arm, act, wait for the rerun to start and finish; record the latency or the error.

        An input that starts no rerun within START_S (a click that missed under load) is
        retried once, from ``prepare`` (say, opening a select box) on, and noted; twice is an
        error. Returns False after an error (the page was reloaded: a new session)."""
        page = self.page
        try:
            for attempt in range(2):
                await self._wait_state("notRunning")
                if prepare is not None:
                    await prepare()
                await page.evaluate("() => window.__lt.arm()")
                t_arm = time.monotonic()
                await action()
                try:
                    await page.wait_for_function("() => window.__lt.started()", timeout=START_S * 1000,
                                                 polling=100)
                    break
                except Exception as exc:  # noqa: BLE001
                    if "Timeout" not in type(exc).__name__:
                        raise
                    debug = await page.evaluate("() => window.__lt.debug()")
                    got = [n for t, n in self.ws_recv if t >= t_arm]
                    debug += (f" websocket frames since the input: sent "
                              f"{[n for t, n in self.ws_sent if t >= t_arm]} B, received {len(got)} "
                              f"({sum(got)} B)")
                    if attempt == 1:
                        raise RuntimeError(f"no rerun started after two inputs: {debug}") from exc
                    dump = await self.stats.dump_server(f"missed-{len(self.stats.missed)}-ctx{self.cid}")
                    self.stats.missed.append({"phase": self.phase, "context": self.cid, "kind": kind,
                                              "debug": debug, "server_stacks": dump})
                    print(f"  [{self.phase} ctx {self.cid}] no rerun {START_S} s after {kind!r}: retrying "
                          f"({debug})", flush=True)
            await page.wait_for_function("() => window.__lt.result() !== null",
                                         timeout=self.timeout_ms, polling=100)
            res = await page.evaluate("() => window.__lt.result()")
            if after is not None:
                await after()
            self.stats.add(self.phase, self.cid, kind, res)
            await self._check_errors(kind)
            await self._check_connection(kind)
            return True
        except Exception as exc:  # noqa: BLE001 (timeouts, crashes, closed targets: count, recover)
            try:
                debug = await page.evaluate("() => window.__lt.debug()")
            except Exception:  # noqa: BLE001
                debug = "page gone"
            self.stats.error(self.phase, self.cid, kind, _what(exc), f"{type(exc).__name__}: {exc} {debug}")
            await self._recover()
            self.failed = True
            return False

    async def _recover(self) -> None:
        try:
            if self.page is not None:
                await self.page.close()
        except Exception:  # noqa: BLE001
            pass
        try:
            await self._new_page()
        except Exception as exc:  # noqa: BLE001
            self.stats.error(self.phase, self.cid, "reload", "failure", f"{type(exc).__name__}: {exc}")

    # steps ------------------------------------------------------------------------------

    async def goto(self, title: str) -> None:
        link = self.page.locator('[data-testid="stSidebarNavLink"]', has_text=title).first

        async def heading():
            await self.page.get_by_role("heading", name=PAGES[title]).first.wait_for(timeout=10_000)

        await link.wait_for(timeout=LOCATE_MS)
        await self.interact(f"open {title}", link.click, heading)

    async def _select(self, key: str, option: str, kind: str) -> bool:
        opt = self.page.get_by_role("option", name=option, exact=True)

        async def open_box():
            await self.page.locator(f'.st-key-{key} [data-testid="stSelectbox"]').click(timeout=LOCATE_MS)
            await opt.wait_for(timeout=LOCATE_MS)

        return await self.interact(kind, opt.click, prepare=open_box)

    async def lowpass_step(self) -> None:
        if not 50 <= self.lowpass + self.lp_dir <= 150:
            self.lp_dir = -self.lp_dir
        key = "ArrowLeft" if self.lp_dir < 0 else "ArrowRight"
        self.lowpass += self.lp_dir
        await self.interact("explorer: low-pass slider", lambda: self.page.keyboard.press(key),
                            prepare=lambda: self.page.locator('.st-key-ex_lowpass input[type="range"]').focus(
                                timeout=LOCATE_MS))

    async def upload_step(self) -> None:
        self.uploaded = True  # tried once, whatever happens
        if not await self._select("w_src", "Uploaded file", "explorer: choose 'Uploaded file'"):
            return  # a new session after the error: it shows the phantom
        inp = self.page.locator('.st-key-up_files input[type="file"]')
        await inp.wait_for(state="attached", timeout=LOCATE_MS)

        async def loaded():
            await self.page.get_by_text("Loaded").first.wait_for(timeout=10_000)

        if await self.interact("explorer: upload a 128×128 PNG",
                               lambda: inp.set_input_files(str(self.upload)), loaded):
            await self._select("w_src", "Shepp–Logan phantom", "explorer: back to the phantom")

    async def accel_step(self) -> None:
        if not 2.0 <= self.accel + 0.5 * self.acc_dir <= 8.0:
            self.acc_dir = -self.acc_dir
        key = "ArrowLeft" if self.acc_dir < 0 else "ArrowRight"
        self.accel += 0.5 * self.acc_dir
        await self.interact(MASK_STEP, lambda: self.page.keyboard.press(key),
                            prepare=lambda: self.page.locator('.st-key-w_accel input[type="range"]').focus(
                                timeout=LOCATE_MS))

    async def kind_step(self) -> None:
        new = MASK_KINDS[(MASK_KINDS.index(self.kind) + 1 + self.cid) % len(MASK_KINDS)]
        if new == self.kind:
            new = MASK_KINDS[(MASK_KINDS.index(new) + 1) % len(MASK_KINDS)]
        self.kind = new
        await self._select("w_mkind", new, "mask: kind")

    async def tv_step(self) -> None:
        button = self.page.get_by_role("button", name="Run", exact=True)

        async def result():
            await self.page.locator('[data-testid="stMetricLabel"]', has_text="Iterations · time").first.wait_for(
                timeout=10_000)

        await button.wait_for(timeout=LOCATE_MS)
        await self.interact("TV: Run (ADMM, 100 iterations)", button.click, result)

    def steps(self):
        yield lambda: self.goto("K-space explorer")
        if not self.uploaded:
            yield self.upload_step
        yield self.lowpass_step
        yield lambda: self.goto("Mask designer")
        yield self.accel_step
        yield self.kind_step
        yield lambda: self.goto("TV reconstruction")
        yield self.tv_step
        yield lambda: self.goto("Coils and parallel imaging")
        yield lambda: self.goto("Deep learning")
        yield lambda: self.goto("Compare")
        yield lambda: self.goto("Home")

    async def walk(self, deadline: float | None) -> None:
        """The script once (deadline None), or over and over until the deadline."""
        if self.page is None:
            await self._recover()
        while True:
            for step in self.steps():
                if deadline is not None and time.monotonic() >= deadline:
                    return
                try:
                    await step()
                except Exception as exc:  # noqa: BLE001 (a locator that never appeared, ...)
                    self.stats.error(self.phase, self.cid, "step", _what(exc), f"{type(exc).__name__}: {exc}")
                    await self._recover()
                    self.failed = True
                if self.failed:  # a fresh page on Home (a new session): from the top
                    self.failed = False
                    break
            else:
                self.cycle += 1
                if deadline is None:
                    return
                continue
            if deadline is None:  # the single visitor's walk broke off: not walked again
                return


async def run_visitors(browser, url: str, n: int, stats: Stats, phase: str, duration: float | None,
                       timeout_s: float, tmp: Path, first_id: int = 0) -> list[int]:
    visitors = [Visitor(browser, url, first_id + i, stats, phase, timeout_s,
                        make_upload(tmp / f"upload-{first_id + i}.png", first_id + i)) for i in range(n)]
    try:
        await asyncio.gather(*(v.open() for v in visitors))
        deadline = None if duration is None else time.monotonic() + duration
        await asyncio.gather(*(v.walk(deadline) for v in visitors))
        return [v.cycle for v in visitors]
    finally:
        for v in visitors:
            try:
                await v.close()
            except Exception:  # noqa: BLE001
                pass


# ---- the report ---------------------------------------------------------------------------


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def _versions() -> dict:
    out = {"python": platform.python_version()}
    for name in ("streamlit", "playwright", "numpy", ("tensorflow", "tensorflow-cpu"), "keras", "plotly"):
        names = name if isinstance(name, tuple) else (name,)
        for dist in names:
            try:
                out[names[0]] = metadata.version(dist)
                break
            except metadata.PackageNotFoundError:
                out[names[0]] = "not installed"
    return out


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def report(args, stats: Stats, mem: dict, info: dict) -> tuple[str, dict]:
    kinds = sorted({k.split("|", 1)[1] for k in stats.latency},
                   key=lambda k: [r["kind"] for r in stats.records].index(k)
                   if k in [r["kind"] for r in stats.records] else -1)
    rows = []
    for kind in kinds:
        one = stats.latency.get(f"single|{kind}", [])
        load = stats.latency.get(f"load|{kind}", [])
        rows.append({"kind": kind, "single_s": _pct(one, 50) if one else None, "n": len(load),
                     "p50_s": _pct(load, 50) if load else None, "p95_s": _pct(load, 95) if load else None,
                     "max_s": max(load) if load else None})
    load_errors = [e for e in stats.errors if e["phase"] == "load"]
    n_errors = len(stats.errors)
    mask = stats.latency.get(f"load|{MASK_STEP}", [])
    p95_mask = _pct(mask, 95) if mask else float("nan")
    delta = mem["settled"] - mem["single"]
    checks = [
        ("errors (single visitor and load)", f"{n_errors}", "0", n_errors == 0),
        ("p95 of the mask step under load", f"{p95_mask:.2f} s", f"<= {LIMITS['p95_mask_s']} s",
         bool(mask) and p95_mask <= LIMITS["p95_mask_s"]),
        ("peak RSS under load", f"{mem['peak_load'] / GB:.2f} GB", f"<= {LIMITS['peak_rss_bytes'] / GB} GB",
         mem["peak_load"] <= LIMITS["peak_rss_bytes"]),
        (f"RSS {args.settle:g} s after the contexts closed − single visitor", f"{delta / MB:+.0f} MB",
         f"<= {LIMITS['settle_rss_delta_bytes'] / MB:.0f} MB", delta <= LIMITS["settle_rss_delta_bytes"]),
    ]

    def f(v):
        return "—" if v is None else f"{v:.2f}"

    lines = [
        "# Load test: many visitors on one server",
        "",
        f"{info['date']} · {info['cpus']} CPU cores · commit {info['commit']} · "
        + ", ".join(f"{k} {v}" for k, v in info["versions"].items()) + f" · chromium {info['chromium']}",
        "",
        f"{args.contexts} browser contexts (one chromium) on one `streamlit run`, each walking every page "
        f"with settings changes, a TV run and one upload, for {args.duration:g} s "
        f"({sum(info['cycles'])} complete walks in all; interactions timed per context: "
        f"{[sum(1 for r in stats.records if r['phase'] == 'load' and r['context'] == i) for i in range(args.contexts)]}); then {args.settle:g} s with no "
        "visitor. Latency: input event to `data-test-script-state` back at `notRunning` after a "
        "rerun started. Browsers and server share the cores. "
        + (info.get("note") or ""),
        "",
        "| interaction | single visitor (s) | n under load | p50 under load (s) | p95 under load (s) | max (s) |",
        "|---|---:|---:|---:|---:|---:|",
        *(f"| {r['kind']} | {f(r['single_s'])} | {r['n']} | {f(r['p50_s'])} | {f(r['p95_s'])} | {f(r['max_s'])} |"
          for r in rows),
        "",
        "| memory (server RSS, process and children) | value |",
        "|---|---:|",
        f"| before any visitor | {mem['idle'] / MB:.0f} MB |",
        f"| single visitor (after one walk) | {mem['single'] / MB:.0f} MB |",
        f"| peak under load | {mem['peak_load'] / MB:.0f} MB |",
        f"| {args.settle:g} s after all contexts closed | {mem['settled'] / MB:.0f} MB |",
        "",
        "| CPU (user + system) | server | browsers and driver | wall | cores busy |",
        "|---|---:|---:|---:|---:|",
        *(f"| {phase} | {c['server']:.0f} s | {c['browsers']:.0f} s | {c['wall']:.0f} s | "
          f"{(c['server'] + c['browsers']) / max(c['wall'], 1e-9):.2f} of {info['cpus']} |"
          for phase, c in (info.get("cpu") or {}).items()),
        "",
        "| threshold (issue #10) | measured | limit | result |",
        "|---|---:|---:|---|",
        *(f"| {name} | {got} | {limit} | {'PASS' if ok else 'FAIL'} |" for name, got, limit, ok in checks),
        "",
    ]
    if stats.errors:
        lines += [f"Errors ({len(stats.errors)}; {len(load_errors)} under load):", ""]
        lines += [f"- {e['phase']}, context {e['context']}, {e['kind']}: {e['what']}"
                  + (f" — {e['detail']}" if e["detail"] else "") for e in stats.errors[:40]]
        if len(stats.errors) > 40:
            lines.append(f"- … {len(stats.errors) - 40} more in load_test.json")
        lines.append("")
    one_render = [r for r in stats.records if r.get("one_render")]
    if one_render:
        lines += ["Runs the page drew in a single render (its `data-test-script-state` never read "
                  "`running`; seen and timed by their `new_session` and `script_finished` messages): "
                  f"{len(one_render)} (" + ", ".join(sorted({r['kind'] for r in one_render})) + ").", ""]
    if stats.missed:
        lines += [f"Inputs that started no rerun within {START_S} s and were retried (not counted): "
                  f"{len(stats.missed)} (" + ", ".join(sorted({m['kind'] for m in stats.missed})) + ").", ""]
    if stats.js_errors:
        lines += [f"JavaScript errors in the pages (not counted): {len(stats.js_errors)}; first: "
                  f"`{stats.js_errors[0]}`", ""]
    text = "\n".join(lines)
    data = {"info": info, "args": vars(args), "rows": rows,
            "thresholds": [{"name": n, "measured": g, "limit": lim, "pass": ok} for n, g, lim, ok in checks],
            "memory_bytes": mem, "errors": stats.errors, "missed_inputs": stats.missed, "js_errors": stats.js_errors[:50],
            "records": stats.records, "memory_marks_s": info.get("marks"),
            "rss_samples": info.get("rss_samples")}
    return text, data


# ---- main ---------------------------------------------------------------------------------


async def main_async(args, proc, url, sampler, stats, tmp) -> dict:
    from playwright.async_api import async_playwright

    info: dict = {}
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        info["chromium"] = browser.version
        try:
            sampler.mark("single_start")
            print("single visitor: one walk through every page …", flush=True)
            await run_visitors(browser, url, 1, stats, "single", None, args.timeout, tmp, first_id=100)
            sampler.mark("single_end")
            info["single_rss"] = rss_bytes(proc.pid)
            print(f"  RSS {info['single_rss'] / MB:.0f} MB; {args.contexts} visitors for "
                  f"{args.duration:g} s …", flush=True)
            sampler.mark("load_start")
            info["cycles"] = await run_visitors(browser, url, args.contexts, stats, "load", args.duration,
                                                args.timeout, tmp)
            sampler.mark("load_end")
        finally:
            await browser.close()
    return info


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--contexts", type=int, default=8, help="concurrent browser contexts (default 8)")
    ap.add_argument("--duration", type=float, default=120, help="seconds of load (default 120)")
    ap.add_argument("--settle", type=float, default=60,
                    help="seconds after the contexts closed before the last memory reading (default 60)")
    ap.add_argument("--timeout", type=float, default=240, help="seconds one interaction may take (default 240)")
    ap.add_argument("--quick", action="store_true", help="2 contexts, 30 s, 10 s settle; writes nothing")
    ap.add_argument("--out", type=Path, default=None,
                    help=f"folder for load_test.md/.json (default {RESULTS.relative_to(ROOT)}; "
                         "none for --quick)")
    ap.add_argument("--rev", default="HEAD", help="the commit to serve (from a git archive; default HEAD)")
    ap.add_argument("--working-tree", action="store_true",
                    help="serve the working tree itself instead of a snapshot of --rev")
    ap.add_argument("--py-spy", default=None, metavar="PATH",
                    help="py-spy executable: dump the server's threads whenever an input starts no rerun")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every interaction's latency")
    ap.add_argument("--note", default="", help="a sentence added to the report (e.g. on the machine's load)")
    args = ap.parse_args()
    if args.quick:
        args.contexts, args.duration, args.settle = 2, 30, 10
    out = args.out if args.out is not None else (None if args.quick else RESULTS)
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing (apt-get install chromium)")
        return 2

    tmp = Path(tempfile.mkdtemp(prefix="load-test-"))
    stats = Stats()
    stats.verbose = args.verbose
    proc, sampler = None, None
    try:
        if args.working_tree:
            app_dir, commit = ROOT, _git_commit() + " + working tree"
        else:
            app_dir = tmp / "app"
            commit = snapshot(app_dir, args.rev)
        print(f"app: {app_dir} ({commit})", flush=True)
        proc, url = start_server(app_dir, tmp / "model-cache", tmp / "streamlit.log")
        stats.py_spy, stats.server_pid, stats.dump_dir = args.py_spy, proc.pid, tmp / "stacks"
        if args.py_spy:
            stats.dump_dir.mkdir(parents=True, exist_ok=True)
        sampler = MemorySampler(proc.pid)
        sampler.start()
        time.sleep(1.0)
        idle = rss_bytes(proc.pid)
        print(f"server at {url} (pid {proc.pid}, RSS {idle / MB:.0f} MB)", flush=True)
        info = asyncio.run(main_async(args, proc, url, sampler, stats, tmp))
        print(f"contexts closed; waiting {args.settle:g} s …", flush=True)
        time.sleep(args.settle)
        sampler.mark("settled")
        settled = rss_bytes(proc.pid)
        mem = {"idle": idle, "single": info.pop("single_rss"), "peak_load": sampler.peak("load_start", "load_end"),
               "settled": settled, "peak_all": max(r for _, r in sampler.samples)}
        info.update(date=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), cpus=os.cpu_count(),
                    commit=commit, versions=_versions(), platform=platform.platform(), note=args.note,
                    marks=sampler.marks,
                    cpu={phase: {**sampler.cpu_between(f"{phase}_start", f"{phase}_end"),
                                 "wall": sampler.marks[f"{phase}_end"] - sampler.marks[f"{phase}_start"]}
                         for phase in ("single", "load")},
                    rss_samples=[(round(t, 2), r) for t, r in sampler.samples])
        text, data = report(args, stats, mem, info)
        print()
        print(text)
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            (out / "load_test.md").write_text(text)
            (out / "load_test.json").write_text(json.dumps(data, indent=1, ensure_ascii=False, default=str) + "\n")
            print(f"wrote {out / 'load_test.md'} and {out / 'load_test.json'}")
        return 0 if all(t["pass"] for t in data["thresholds"]) else 1
    finally:
        if sampler is not None:
            sampler.stop()
        if proc is not None:
            stop_server(proc)
            log = (tmp / "streamlit.log").read_text(errors="replace")
            tail = [ln for ln in log.splitlines() if re.search(r"Traceback|Error|Exception", ln)]
            if tail:
                print(f"server log ({tmp / 'streamlit.log'}), lines with errors: {len(tail)}; first: {tail[0][:200]}")
            if stats.missed and args.py_spy:
                print(f"server stacks at the missed inputs: {tmp / 'stacks'}")
            if not tail and not (stats.missed and args.py_spy):
                shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
