"""Keep Python's garbage collector cheap in a server that has imported TensorFlow.

After every script run, Streamlit calls ``keras.backend.clear_session()`` when Keras is loaded
(``ScriptRunner``'s clean-up of "problem modules"), and Keras then runs a full ``gc.collect()``.
With TensorFlow and Keras imported the heap holds ~350,000 tracked objects, and that collection
took 0.4–0.5 s of every rerun on the 2-core development machine, on every page, for every
visitor, once any page had loaded TensorFlow.

The objects behind that cost are modules, functions and classes that live as long as the
process. :func:`after_run` moves them into the permanent generation (:func:`gc.freeze`) the first
time Keras is seen, so collections skip them (measured: ``clear_session()`` 0.48 s before,
0.1 ms after). When the collected generations grow large again (traced ``tf.function``s,
models, other sessions' data), it unfreezes, collects once (cyclic garbage among frozen objects
is then freed too, so nothing leaks for good) and freezes again.
"""

from __future__ import annotations

import gc
import sys
import threading

REFREEZE_ABOVE = 150_000  # objects in the oldest collected generation before refreezing
_lock = threading.Lock()


def after_run() -> None:
    """Call at the end of every script run (``streamlit_app.py``); costs ~1 ms once frozen."""
    if "keras" not in sys.modules:
        return  # nothing heavy imported yet: a collection is cheap
    with _lock:
        if gc.get_freeze_count() and len(gc.get_objects(generation=2)) < REFREEZE_ABOVE:
            return
        gc.unfreeze()
        gc.collect()
        gc.freeze()
