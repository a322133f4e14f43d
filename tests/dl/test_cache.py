"""Tests of the on-disk model cache: hits, atomic writes, resume, locking, corruption, eviction."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
from pathlib import Path

import numpy as np
import pytest

from recon_core.dl import cache as cache_mod
from recon_core.dl.cache import (
    CACHE_ENV_VAR,
    CacheEntryError,
    ModelCache,
    default_cache_dir,
    get_or_train,
)
from recon_core.dl.config import TrainConfig
from recon_core.dl.training import train

ROOT = Path(__file__).resolve().parents[2]


def tiny(**changes) -> TrainConfig:
    base = dict(model="rescnn", n_convs=2, n_filters=4, image_size=32, steps=3, batch_size=2,
                n_val=2, val_every=3, learning_rate=1e-2)
    return TrainConfig(**{**base, **changes})


def _no_training(*args, **kwargs):
    raise AssertionError("training was called on a cache hit")


def _probe():
    return np.linspace(0, 1, 32 * 32, dtype=np.float32).reshape(1, 32, 32, 1)


def test_miss_then_hit_returns_identical_model(tmp_path):
    c = tiny()
    cache = ModelCache(tmp_path)
    first = cache.get_or_train(c)
    assert not first.from_cache and first.completed
    entry = tmp_path / c.config_hash()
    assert sorted(p.name for p in entry.iterdir()) == [
        "config.json", "history.json", "meta.json", "model.keras"]
    meta = json.loads((entry / "meta.json").read_text())
    assert meta["config_hash"] == c.config_hash()
    assert set(meta["files"]) == {"model.keras", "config.json", "history.json"}
    assert not (tmp_path / f"{c.config_hash()}.partial").exists()

    second = cache.get_or_train(c, train_fn=_no_training)
    assert second.from_cache and second.config == c
    assert second.history == first.history
    for a, b in zip(first.model.get_weights(), second.model.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(first.model(_probe()), second.model(_probe()))
    # Another config is a miss.
    assert not cache.contains(c.replace(steps=4))


def test_module_level_get_or_train_and_env_var(tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV_VAR, str(tmp_path / "env-cache"))
    assert default_cache_dir() == tmp_path / "env-cache"
    first = get_or_train(tiny(), on_progress=lambda p: None)
    assert not first.from_cache
    assert (tmp_path / "env-cache" / tiny().config_hash() / "meta.json").is_file()
    assert get_or_train(tiny()).from_cache
    monkeypatch.delenv(CACHE_ENV_VAR)
    assert default_cache_dir() == Path.home() / ".cache" / "mri-recon-lab" / "models"


def test_progress_reaches_on_progress_and_callbacks(tmp_path):
    seen_a, seen_b = [], []
    get_or_train(tiny(), tmp_path, callbacks=[lambda p: seen_a.append(p.step)],
                 on_progress=lambda p: seen_b.append(p.step))
    assert seen_a == seen_b == [1, 2, 3]


def test_stopped_training_leaves_no_entry_and_resumes(tmp_path):
    c = tiny(steps=5, val_every=5)
    cache = ModelCache(tmp_path)
    stopped = cache.get_or_train(c, on_progress=lambda p: p.step >= 2)
    assert not stopped.completed and not stopped.from_cache
    assert not cache.contains(c) and not (tmp_path / c.config_hash()).exists()
    assert cache.checkpoint_path(c).is_dir()
    assert cache.entries() == []

    steps = []
    done = cache.get_or_train(c, on_progress=lambda p: steps.append(p.step))
    assert done.completed and steps == [3, 4, 5]
    assert done.history["resumed_from"] == [2]
    assert cache.contains(c) and not cache.checkpoint_path(c).exists()


def test_crash_during_training_leaves_no_entry(tmp_path):
    c = tiny(steps=4, val_every=2)
    cache = ModelCache(tmp_path)

    def crash(p):
        if p.step == 3:
            raise RuntimeError("power cut")

    with pytest.raises(RuntimeError, match="power cut"):
        cache.get_or_train(c, on_progress=crash)
    assert not (tmp_path / c.config_hash()).exists()
    assert not list(tmp_path.glob("*.tmp-*"))
    resumed = cache.get_or_train(c)
    assert resumed.history["resumed_from"] == [2] and cache.contains(c)


def test_interrupted_write_leaves_no_entry(tmp_path, monkeypatch):
    c = tiny()
    cache = ModelCache(tmp_path)
    real = cache_mod._write_json

    def failing(path, data):
        if path.name == "history.json":
            raise OSError("disk full")
        real(path, data)

    monkeypatch.setattr(cache_mod, "_write_json", failing)
    with pytest.raises(OSError, match="disk full"):
        cache.get_or_train(c)
    assert not (tmp_path / c.config_hash()).exists()
    assert not list(tmp_path.glob("*.tmp-*"))
    monkeypatch.setattr(cache_mod, "_write_json", real)
    # The finished training is still in the checkpoint: nothing is trained again.
    calls = []

    def counting_train(*args, **kwargs):
        calls.append(1)
        return train(*args, **kwargs)

    again = cache.get_or_train(c, train_fn=counting_train)
    assert again.completed and calls == [1] and again.history["step"] == [1, 2, 3]
    assert again.history["resumed_from"] == []  # finished checkpoint: fit ran no step


@pytest.mark.parametrize("damage", ["model_bytes", "missing_file", "bad_meta", "wrong_config"])
def test_corrupt_entry_is_detected_and_rebuilt(tmp_path, damage):
    c = tiny()
    cache = ModelCache(tmp_path)
    cache.get_or_train(c)
    entry = tmp_path / c.config_hash()
    if damage == "model_bytes":
        data = bytearray((entry / "model.keras").read_bytes())
        data[len(data) // 2] ^= 0xFF
        (entry / "model.keras").write_bytes(bytes(data))
    elif damage == "missing_file":
        (entry / "history.json").unlink()
    elif damage == "bad_meta":
        (entry / "meta.json").write_text("{not json")
    else:
        other = tiny(steps=2).to_dict()
        (entry / "config.json").write_text(json.dumps(other))
        meta = json.loads((entry / "meta.json").read_text())
        meta["files"]["config.json"]["sha256"] = cache_mod._sha256(entry / "config.json")
        (entry / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(CacheEntryError):
        cache.load(c)
    with pytest.warns(RuntimeWarning, match="corrupt"):
        rebuilt = cache.get_or_train(c)
    assert not rebuilt.from_cache and rebuilt.completed
    assert cache.get_or_train(c, train_fn=_no_training).from_cache


def test_eviction_keeps_size_bound_least_recently_used_first(tmp_path):
    a, b, c = tiny(seed=1), tiny(seed=2), tiny(seed=3)
    cache = ModelCache(tmp_path)
    cache.get_or_train(a)
    size = cache.size_bytes()
    assert size > 0
    bounded = ModelCache(tmp_path, max_bytes=int(2.5 * size))
    bounded.get_or_train(b)
    os.utime(tmp_path / a.config_hash(), (1, 1))  # a: long ago...
    os.utime(tmp_path / b.config_hash(), (2, 2))
    bounded.get_or_train(a, train_fn=_no_training)  # ...but a hit refreshes it
    bounded.get_or_train(c)  # three entries do not fit: the least recently used (b) goes
    assert bounded.contains(a) and bounded.contains(c) and not bounded.contains(b)
    assert bounded.size_bytes() <= bounded.max_bytes
    # A bound smaller than one entry keeps only the newest.
    tiny_cache = ModelCache(tmp_path, max_bytes=1)
    tiny_cache.get_or_train(b)
    assert [p.name for p in tiny_cache.entries()] == [b.config_hash()]


def test_abandoned_checkpoints_count_toward_the_bound_and_are_evicted(tmp_path):
    a, b = tiny(seed=1, steps=5, val_every=5), tiny(seed=2)
    cache = ModelCache(tmp_path)
    cache.get_or_train(a, on_progress=lambda p: p.step >= 2)  # abandoned at step 2
    partial = cache.checkpoint_path(a)
    assert cache.checkpoints() == [partial]
    assert cache.size_bytes() == cache_mod._dir_bytes(partial) > 0
    os.utime(partial, (1, 1))
    bounded = ModelCache(tmp_path, max_bytes=cache.size_bytes())
    bounded.get_or_train(b)  # b alone nearly fills the bound: the old checkpoint goes
    assert not partial.exists() and bounded.contains(b)
    assert bounded.size_bytes() <= bounded.max_bytes


def test_checkpoint_of_a_training_in_progress_is_never_evicted(tmp_path):
    a, b = tiny(seed=1, steps=5, val_every=5), tiny(seed=2)
    cache = ModelCache(tmp_path, max_bytes=1)
    cache.get_or_train(a, on_progress=lambda p: p.step >= 2)
    os.utime(cache.checkpoint_path(a), (1, 1))
    with cache._lock(a.config_hash()):  # as if another process were training a
        removed = cache.evict()
    assert cache.checkpoint_path(a).is_dir() and cache.checkpoint_path(a).name not in removed
    cache.get_or_train(b)
    assert not cache.checkpoint_path(a).exists()  # unlocked again: evicted
    assert [p.name for p in cache.entries()] == [b.config_hash()]


def test_stale_temporary_directories_are_cleaned_fresh_ones_kept(tmp_path):
    cache = ModelCache(tmp_path)
    stale = tmp_path / "0123456789abcdef.tmp-1-dead"
    fresh = tmp_path / "0123456789abcdef.tmp-2-live"
    for d in (stale, fresh):
        d.mkdir()
        (d / "model.keras").write_bytes(b"x" * 100)
    os.utime(stale, (1, 1))
    cache.evict()
    assert not stale.exists() and fresh.is_dir()


def test_entry_removed_while_being_read_is_a_plain_miss(tmp_path, monkeypatch):
    import warnings

    c = tiny()
    cache = ModelCache(tmp_path)
    cache.get_or_train(c)
    real_load = ModelCache.load
    calls = []

    def load_during_eviction(self, config):
        if not calls:  # the first read races with another process's eviction
            calls.append(1)
            cache_mod._remove_tree(self.entry_path(config))
            raise CacheEntryError("checksum mismatch for model.keras")
        return real_load(self, config)

    monkeypatch.setattr(ModelCache, "load", load_during_eviction)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "corrupt" warning: nothing was corrupt
        again = cache.get_or_train(c)
    assert not again.from_cache and again.completed and cache.contains(c)


def test_remove_and_clear(tmp_path):
    cache = ModelCache(tmp_path)
    cache.get_or_train(tiny())
    cache.remove(tiny())
    assert not cache.contains(tiny())
    cache.get_or_train(tiny())
    cache.clear()
    assert cache.entries() == [] and cache.size_bytes() == 0


def test_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="max_bytes"):
        ModelCache(tmp_path, max_bytes=-1)
    with pytest.raises(ValueError, match="TrainConfig"):
        ModelCache(tmp_path).get_or_train({"model": "rescnn"})
    with pytest.raises(FileNotFoundError):
        ModelCache(tmp_path).load(tiny())


def _worker(cache_dir: str, marker_dir: str, barrier, queue) -> None:
    """Runs in a spawned process: request the tiny config, record who trained."""
    import time

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from recon_core.dl.cache import get_or_train as got

    def mark(progress):
        Path(marker_dir, f"trained-by-{os.getpid()}").touch()
        time.sleep(0.5)  # a slow training: the other request surely arrives meanwhile

    barrier.wait(timeout=240)  # both processes ask at the same moment
    t0 = time.monotonic()
    result = got(tiny(steps=4), cache_dir, on_progress=mark)
    queue.put((os.getpid(), result.from_cache, time.monotonic() - t0,
               [w.tolist() for w in result.model.get_weights()]))


@pytest.mark.slow
def test_concurrent_requests_train_once(tmp_path):
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    barrier = ctx.Barrier(2)
    markers = tmp_path / "markers"
    markers.mkdir()
    procs = [ctx.Process(target=_worker,
                         args=(str(tmp_path / "cache"), str(markers), barrier, queue))
             for _ in range(2)]
    for p in procs:
        p.start()
    results = sorted(queue.get(timeout=300) for _ in procs)
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert len(list(markers.iterdir())) == 1  # exactly one process trained
    trained = [r for r in results if not r[1]]
    waited = [r for r in results if r[1]]
    assert len(trained) == 1 and len(waited) == 1
    assert waited[0][2] >= 1.5  # it waited on the lock for the other's (>= 2 s) training
    for wa, wb in zip(trained[0][3], waited[0][3]):
        np.testing.assert_array_equal(np.asarray(wa), np.asarray(wb))
    assert len(ModelCache(tmp_path / "cache").entries()) == 1
