"""ui.store: the capped least-recently-used session stores, and the TV page's eviction note."""

from __future__ import annotations

from collections import OrderedDict

import pytest
from apphelpers import errors, open_page

from ui import store
from ui.store import LruStore


def make(cap=3, session=None, **kw):
    return LruStore("things", cap, "thing", describe=lambda k, v: f"key {k}",
                    session={} if session is None else session, **kw)


def test_put_beyond_the_cap_evicts_the_least_recently_used():
    s = make()
    for k in "abcd":
        s.put(k, k.upper())
    assert s.keys() == ["b", "c", "d"] and len(s) == 3
    assert "a" not in s and s.get("a") is None
    assert s.evicted == ["key a"]


def test_get_marks_as_recently_used_and_contains_does_not():
    s = make()
    for k in "abc":
        s.put(k, k)
    assert s.get("a") == "a"  # a is now the newest
    assert "b" in s  # a membership test leaves the order alone
    s.put("d", "d")
    assert s.keys() == ["c", "a", "d"]
    assert s.evicted == ["key b"]


def test_putting_an_existing_key_replaces_it_without_eviction():
    s = make()
    for k in "abc":
        s.put(k, 1)
    s.put("a", 2)
    assert s.keys() == ["b", "c", "a"] and s.get("a") == 2 and s.evicted == []


def test_the_entry_just_put_survives_even_a_cap_of_one():
    s = make(cap=1)
    s.put("a", 1)
    s.put("b", 2)
    assert s.keys() == ["b"] and s.get("b") == 2 and s.evicted == ["key a"]


def test_the_store_lives_in_the_session_and_is_shared_between_instances():
    session: dict = {}
    make(session=session).put("a", 1)
    assert isinstance(session["things"], OrderedDict)
    again = make(session=session)  # the next script run builds a new store on the same state
    assert again.get("a") == 1
    again.put("b", 2)
    assert list(session["things"]) == ["a", "b"]


def test_a_plain_dict_from_an_older_session_is_adopted_and_trimmed_to_the_cap():
    session = {"things": {k: k for k in "abcde"}}
    s = make(session=session)
    assert s.keys() == ["c", "d", "e"]
    assert s.take_evicted() == ["key a", "key b"]
    assert s.evicted == [] and s.take_evicted() == []  # each eviction is reported once


def test_values_are_the_stored_objects_least_recent_first():
    s = make()
    entries = [{"n": i} for i in range(3)]
    for i, e in enumerate(entries):
        s.put(i, e)
    for e in s.values():
        e["n"] += 10  # pages update entries in place (e.g. running -> stopped)
    assert [s.get(i)["n"] for i in range(3)] == [10, 11, 12]


def test_the_note_names_what_was_dropped_and_the_cap():
    s = make(cap=2)
    assert s.message([]) == ""
    assert s.message(["key a"]) == ("An older thing (key a) was dropped to keep this session's "
                                    "memory bounded: at most 2 things are kept.")
    assert s.message(["key a", "key b"]) == (
        "2 older things (key a; key b) were dropped to keep this session's memory bounded: at "
        "most 2 things are kept.")
    plain = LruStore("x", 4, "result", session={})
    assert plain.message([""]).startswith("An older result was dropped")


def test_a_cap_below_one_is_refused():
    with pytest.raises(ValueError, match="cap must be at least 1"):
        make(cap=0)


def test_caps_are_positive_and_bound_the_big_stores_more():
    caps = [store.TV_RESULTS, store.TV_SWEEPS, store.DL_MODELS, store.DL_EVALS,
            store.COIL_RESULTS, store.COIL_GFACTORS]
    assert all(isinstance(c, int) and c >= 1 for c in caps)
    assert store.DL_MODELS < store.TV_RESULTS < store.TV_SWEEPS


def test_tv_page_drops_the_oldest_result_beyond_the_cap_and_keeps_the_newest():
    at = open_page("tv", {"size": "64", "iters": "2", "lamauto": "0"})
    lams = [1e-3 * (i + 1) for i in range(store.TV_RESULTS + 1)]
    for i, lam in enumerate(lams):
        at.number_input(key="w_lam").set_value(lam)
        at.button(key="tv_run").click().run()  # one script run: the new λ, and Run
        assert not errors(at)
        notes = [i.value for i in at.info if "memory bounded" in i.value]
        if i < store.TV_RESULTS:
            assert not notes
    (note,) = notes
    assert note.startswith("An older TV result (ADMM, λ=1.00e-03, 2 iterations) was dropped")
    assert f"at most {store.TV_RESULTS} TV results are kept" in note
    results = at.session_state["tv_results"]
    assert len(results) == store.TV_RESULTS
    assert [k[3] for k in results] == pytest.approx(lams[1:])  # the first one went
    # the newest result is the one shown
    assert next(m.value for m in at.metric if m.label == "Iterations · time").startswith("2 ·")
    assert any(f"λ = {lams[-1]:.2e} (set by hand)" in c.value for c in at.caption)
    at.run()  # the note is shown once
    assert not [i.value for i in at.info if "memory bounded" in i.value]
