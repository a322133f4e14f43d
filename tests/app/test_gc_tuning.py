"""ui.gc_tuning: collections skip the long-lived objects of a running server."""

from __future__ import annotations

import gc

import pytest

from ui import gc_tuning


@pytest.fixture
def unfrozen(monkeypatch):
    gc.unfreeze()
    monkeypatch.setattr(gc_tuning, "CHECK_EVERY_S", 0.0)  # look at the heap on every run
    yield
    gc.unfreeze()


def test_between_two_looks_a_run_leaves_the_collector_alone(monkeypatch, unfrozen):
    gc_tuning.after_run()  # looks now
    monkeypatch.setattr(gc_tuning, "CHECK_EVERY_S", 3600.0)

    def walk():
        raise AssertionError("walked the heap between two looks")

    monkeypatch.setattr(gc, "get_freeze_count", walk)
    monkeypatch.setattr(gc, "get_objects", walk)
    monkeypatch.setattr(gc_tuning, "_refreeze", walk)
    gc_tuning.after_run()  # a slider's rerun a moment later: no walk over the heap
    monkeypatch.setattr(gc_tuning, "CHECK_EVERY_S", 0.0)
    with pytest.raises(AssertionError, match="walked"):
        gc_tuning.after_run()  # due again: it looks


def test_freezes_once_and_refreezes_only_when_the_heap_grows(monkeypatch, unfrozen):
    gc_tuning.after_run()
    frozen = gc.get_freeze_count()
    assert frozen > 0 and len(gc.get_objects(generation=2)) < gc_tuning.REFREEZE_ABOVE
    gc_tuning.after_run()  # nothing new: no refreeze (frozen objects freed since are not counted)
    assert frozen - 1000 < gc.get_freeze_count() <= frozen
    monkeypatch.setattr(gc_tuning, "REFREEZE_ABOVE", 0)  # "grown": unfreeze, collect, refreeze
    keep = [[i] for i in range(1000)]  # new long-lived objects
    gc.collect()
    gc_tuning.after_run()
    assert gc.get_freeze_count() > frozen + len(keep) // 2  # the new lists are frozen too


def test_frozen_cyclic_garbage_is_freed_at_the_next_refreeze(monkeypatch, unfrozen):
    import weakref

    class Node:
        pass

    a, b = Node(), Node()
    a.other, b.other = b, a  # a reference cycle: only the cyclic collector frees it
    probe = weakref.ref(a)
    gc_tuning.after_run()  # frozen while alive
    del a, b
    gc.collect()
    assert probe() is not None  # frozen objects are skipped...
    monkeypatch.setattr(gc_tuning, "REFREEZE_ABOVE", 0)
    gc_tuning.after_run()
    assert probe() is None  # ...until the next refreeze collects them


def test_idle_cleanups_run_a_few_times_after_the_last_run_then_stop(monkeypatch, unfrozen):
    import time

    gc_tuning.after_run()
    t0 = time.monotonic()
    assert not gc_tuning.idle_cleanup(t0 + 1)  # not idle yet
    done = [gc_tuning.idle_cleanup(t0 + gc_tuning.IDLE_S * k + 0.1) for k in range(1, 8)]
    assert done == [True] * gc_tuning.IDLE_CLEANUPS + [False] * (7 - gc_tuning.IDLE_CLEANUPS)
    gc_tuning.after_run()  # a new run: the next idle period gets its clean-ups again
    assert gc_tuning.idle_cleanup(time.monotonic() + gc_tuning.IDLE_S + 0.1)
