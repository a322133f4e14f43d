"""The load test sees a script run that the page draws in one render (issue #10).

``benchmarks/load_test.py`` injects a script (``INIT_JS``) that tells when a rerun started and
finished. It used to watch only the app's ``data-test-script-state`` attribute. Under load a
quick run's messages (new_session, "running", the deltas, script_finished, "not running")
reach the page in one burst; React applies them all before it renders, the attribute stays
``notRunning``, and the load test took the input for lost although the run happened and the
page showed its result. Issue #10's "lost inputs" were such runs.

Here the burst is made on purpose, without any timing: a second injected script holds the
page's websocket messages from the input on and hands them all to the app at once when the
run's script_finished message arrives. The app must show the new page content, the attribute
must never have read ``running`` (the burst was drawn in one render), and the load test's
probe must still report the run as started and finished.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from browserhelpers import assert_no_error_box, open_page, wait_script_idle

pytestmark = [pytest.mark.e2e]

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from load_test import INIT_JS  # noqa: E402

# Holds every websocket message from hold() on and delivers them together (in one task, in
# order) when the run has ended: at the session_status_changed ("not running") message that
# follows its script_finished. Registered after
# INIT_JS, so it wraps INIT_JS's WebSocket class and every listener, the probe's included.
HOLD_JS = r"""
(() => {
  const h = window.__hold = {on: false, finished: false, queue: [], released: 0};
  const SCRIPT_FINISHED = 6, SESSION_STATUS_CHANGED = 9;  // ForwardMsg fields
  const varint = (b, i) => {
    let v = 0, s = 1, x;
    do { x = b[i++]; v += (x & 0x7f) * s; s *= 128; } while (x & 0x80 && i < b.length);
    return [v, i];
  };
  const fields = data => {  // the top-level field numbers of a ForwardMsg
    const b = new Uint8Array(data), out = [];
    for (let i = 0, tag; i < b.length;) {
      [tag, i] = varint(b, i);
      const wire = tag & 7;
      out.push(Math.floor(tag / 8));
      if (wire === 0) i = varint(b, i)[1];
      else if (wire === 2) { let n; [n, i] = varint(b, i); i += n; }
      else if (wire === 1) i += 8;
      else if (wire === 5) i += 4;
      else break;
    }
    return out;
  };
  const Base = window.WebSocket;
  window.WebSocket = class extends Base {
    addEventListener(type, fn, opts) {
      if (type !== 'message') return super.addEventListener(type, fn, opts);
      // one wrapper per socket delivers to every listener, so a held burst keeps its order
      if (!this.__listeners) {
        this.__listeners = [];
        super.addEventListener('message', e => {
          const deliver = () => this.__listeners.forEach(f => f.call(this, e));
          if (!h.on) return deliver();
          h.queue.push(deliver);
          const f = e.data instanceof ArrayBuffer ? fields(e.data) : [];
          if (f.includes(SCRIPT_FINISHED)) h.finished = true;
          else if (h.finished && f.includes(SESSION_STATUS_CHANGED)) {  // "not running": the end
            const q = h.queue;
            h.queue = [];
            h.on = h.finished = false;
            h.released += 1;
            q.forEach(d => d());
          }
        });
      }
      this.__listeners.push(fn);
    }
  };
  h.hold = () => { h.on = true; };
})();
"""


def test_probe_sees_a_run_drawn_in_one_render(browser, app_url):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        ctx.add_init_script(INIT_JS)
        ctx.add_init_script(HOLD_JS)
        page = ctx.new_page()
        page.set_default_timeout(90_000)
        page.goto(app_url)
        page.get_by_role("heading", name="MRI Recon Lab").first.wait_for()
        wait_script_idle(page)
        open_page(page, "K-space explorer")
        assert page.locator(".st-key-up_files").count() == 0

        page.locator('.st-key-w_src [data-testid="stSelectbox"]').click()
        option = page.get_by_role("option", name="Uploaded file", exact=True)
        option.wait_for()
        page.evaluate("() => { window.__lt.arm(); window.__hold.hold(); }")
        option.click()

        # the whole run reached the app in one burst, and the app drew it: the uploader is there
        page.wait_for_function("() => window.__hold.released >= 1")
        page.locator(".st-key-up_files").first.wait_for()
        wait_script_idle(page)
        assert_no_error_box(page)

        shown = page.evaluate(
            "() => window.__lt.events.filter(([t, v]) => t >= window.__lt.t0).map(([t, v]) => v)")
        assert "running" not in shown, f"the burst was not drawn in one render: {shown}"
        # ... and the probe still sees the run start and finish
        assert page.evaluate("() => window.__lt.started()")
        result = page.evaluate("() => window.__lt.result()")
        assert result is not None
        assert result["oneRender"] is True
        assert 0 <= result["start"] <= result["end"]
    finally:
        ctx.close()
