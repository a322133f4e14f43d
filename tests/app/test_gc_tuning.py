"""ui.gc_tuning: the collector skips long-lived objects once Keras is loaded."""

from __future__ import annotations

import gc
import sys
import types

import pytest

from ui import gc_tuning


@pytest.fixture
def unfrozen():
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_nothing_is_frozen_before_keras_is_loaded(monkeypatch, unfrozen):
    monkeypatch.delitem(sys.modules, "keras", raising=False)
    gc_tuning.after_run()
    assert gc.get_freeze_count() == 0


def test_freezes_once_keras_is_loaded_and_refreezes_when_the_heap_grows(monkeypatch, unfrozen):
    monkeypatch.setitem(sys.modules, "keras", sys.modules.get("keras", types.ModuleType("keras")))
    gc_tuning.after_run()
    frozen = gc.get_freeze_count()
    assert frozen > 0 and len(gc.get_objects(generation=2)) < gc_tuning.REFREEZE_ABOVE
    gc_tuning.after_run()  # nothing new: the same permanent generation
    assert gc.get_freeze_count() == frozen
    monkeypatch.setattr(gc_tuning, "REFREEZE_ABOVE", 0)  # "grown": unfreeze, collect, refreeze
    keep = [[i] for i in range(1000)]  # new long-lived objects
    gc.collect()
    gc_tuning.after_run()
    assert gc.get_freeze_count() > frozen + len(keep) // 2  # the new lists are frozen too
