"""Keep Python's garbage collector cheap between script runs.

Streamlit runs a full collection after every script run (``runner.postScriptGC``), and once
Keras is loaded it also calls ``keras.backend.clear_session()``, which runs another one. A full
collection walks every tracked object: with Streamlit, NumPy, plotly and scikit-image loaded
that took ~130 ms of every rerun on the 2-core development machine, and with TensorFlow and
Keras (~350,000 objects) 0.4–0.6 s, on every page, for every visitor.

Almost all of those objects are modules, functions and classes that live as long as the
process. :func:`after_run` moves them into the permanent generation (:func:`gc.freeze`), which
collections skip (measured: ``clear_session()`` 0.48 s before, 0.1 ms after). When the
collected generation grows large again (TensorFlow imported later, traced ``tf.function``s,
other sessions' data), it unfreezes, collects once (so cyclic garbage that was frozen is freed
too and nothing leaks for good) and freezes again.
"""

from __future__ import annotations

import gc
import threading

REFREEZE_ABOVE = 100_000  # objects in the oldest collected generation before refreezing
_lock = threading.Lock()


def after_run() -> None:
    """Call at the end of every script run (``streamlit_app.py``); ~1 ms when nothing grew."""
    with _lock:
        if gc.get_freeze_count() and len(gc.get_objects(generation=2)) < REFREEZE_ABOVE:
            return
        gc.unfreeze()
        gc.collect()
        gc.freeze()
