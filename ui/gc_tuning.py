"""Keep Python's garbage collector cheap between script runs, and give memory back when idle.

Streamlit runs a full collection after every script run (``runner.postScriptGC``), and once
Keras is loaded it also calls ``keras.backend.clear_session()``, which runs another one. A full
collection walks every tracked object: with Streamlit, NumPy, plotly and scikit-image loaded
that took ~130 ms of every rerun on the 2-core development machine, and with TensorFlow and
Keras (~350,000 objects) 0.4–0.6 s, on every page, for every visitor.

Almost all of those objects are modules, functions and classes that live as long as the
process. :func:`after_run` moves them into the permanent generation (:func:`gc.freeze`), which
collections skip (measured: ``clear_session()`` 0.48 s before, 0.1 ms after). When the
collected generation grows large again (TensorFlow imported later, traced ``tf.function``s,
other sessions' data), it unfreezes, collects once and freezes again.

Objects frozen while a session was alive are only freed by such a refreeze, so when the server
goes idle (no script run finished for :data:`IDLE_S`), a background thread refreezes a few
times, :data:`IDLE_S` apart (so it also catches the sessions Streamlit drops a while after
their visitors leave: ``server.disconnectedSessionTTL``), and asks the C allocator to return
freed memory to the system (glibc's ``malloc_trim``).
"""

from __future__ import annotations

import ctypes
import gc
import threading
import time

REFREEZE_ABOVE = 100_000  # objects in the oldest collected generation before refreezing
IDLE_S = 15.0  # seconds without a finished script run before the idle clean-ups
IDLE_CLEANUPS = 4  # clean-ups per idle period (at 15, 30, 45 and 60 s)
# Seconds between two looks at the heap's size. Looking costs ~10-20 ms with a few million
# objects (``gc.get_freeze_count`` walks the frozen objects, ``gc.get_objects`` lists the
# oldest generation), too much for every rerun of a slider; growth can wait a few seconds.
CHECK_EVERY_S = 5.0

_lock = threading.Lock()
_state = {"last_run": 0.0, "cleanups": IDLE_CLEANUPS, "last_cleanup": 0.0, "last_check": -1e9}
_janitor: threading.Thread | None = None


def _refreeze() -> None:
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def _trim() -> None:
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: the allocator keeps its free memory
        pass


def idle_cleanup(now: float | None = None) -> bool:
    """One idle clean-up if one is due (refreeze and trim); True if it ran."""
    now = time.monotonic() if now is None else now
    with _lock:
        s = _state
        due = (s["cleanups"] < IDLE_CLEANUPS and now - s["last_run"] >= IDLE_S
               and now - s["last_cleanup"] >= IDLE_S)
        if not due:
            return False
        _refreeze()
        _trim()
        s["cleanups"] += 1
        s["last_cleanup"] = now
        return True


def _janitor_loop() -> None:
    while True:
        time.sleep(IDLE_S / 3)
        idle_cleanup()


def after_run() -> None:
    """Call at the end of every script run (``streamlit_app.py``): microseconds, except every
    :data:`CHECK_EVERY_S` when it looks at the heap (and refreezes if it grew)."""
    global _janitor
    with _lock:
        now = time.monotonic()
        _state["last_run"] = now
        _state["cleanups"] = 0
        _state["last_cleanup"] = 0.0
        if _janitor is None:
            _janitor = threading.Thread(target=_janitor_loop, name="recon-lab-gc-janitor",
                                        daemon=True)
            _janitor.start()
        if now - _state["last_check"] < CHECK_EVERY_S:
            return
        _state["last_check"] = now
        if gc.get_freeze_count() and len(gc.get_objects(generation=2)) < REFREEZE_ABOVE:
            return
        _refreeze()
