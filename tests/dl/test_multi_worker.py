"""Multi-worker training (:mod:`recon_core.dl.distribute`: TF_CONFIG,
MultiWorkerMirroredStrategy) and its command line, ``python -m recon_core.dl.train``."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from recon_core.dl.cache import ModelCache
from recon_core.dl.config import TrainConfig
from recon_core.dl.distribute import cluster_task, default_strategy

ROOT = Path(__file__).resolve().parents[2]

TINY = dict(model="rescnn", n_convs=2, n_filters=4, image_size=32, steps=6, batch_size=4,
            n_val=2, val_every=3)
# The shipped unrolled network's design, tiny: noise-conditioned (its examples carry their
# noise level as a fourth input), noisy training k-space.
TINY_NOISE_UNROLLED = dict(TINY, model="unrolled", n_cascades=2, dc="noise", snr_min_db=15.0,
                           snr_max_db=50.0, clean_fraction=0.25)


def _env(**extra):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3",
           "CUDA_VISIBLE_DEVICES": ""}
    env.pop("TF_CONFIG", None)
    return {**env, **extra}


def _cli(*args, env=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "recon_core.dl.train", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                          env=env or _env())


def _tf_config(workers, index):
    return json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}})


# ------------------------------------------------------------------------- strategy choice


def test_cluster_task_needs_two_workers(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert cluster_task() is None
    assert cluster_task("") is None
    assert cluster_task(_tf_config(["localhost:1"], 0)) is None  # one worker: one machine
    two = cluster_task(_tf_config(["localhost:1", "localhost:2"], 1))
    assert (two.n_workers, two.task_type, two.task_index, two.is_chief) == (2, "worker", 1, False)
    assert cluster_task(_tf_config(["localhost:1", "localhost:2"], 0)).is_chief
    # A "chief" task counts as a worker and is the chief.
    chief = json.dumps({"cluster": {"chief": ["a:1"], "worker": ["b:2"]},
                        "task": {"type": "worker", "index": 0}})
    assert cluster_task(chief).n_workers == 2 and not cluster_task(chief).is_chief
    monkeypatch.setenv("TF_CONFIG", _tf_config(["localhost:1", "localhost:2"], 0))
    assert cluster_task().n_workers == 2
    for bad, match in [("{not json", "not valid JSON"), ('{"task": {}}', "cluster"),
                       (_tf_config(["a:1", "b:2"], 2), "index"),
                       (json.dumps({"cluster": {"worker": ["a:1", "b:2"], "ps": ["c:3"]},
                                    "task": {"type": "ps", "index": 0}}), "task type")]:
        with pytest.raises(ValueError, match=match):
            cluster_task(bad)


def test_default_strategy_chooses_multi_worker_only_for_a_cluster(monkeypatch):
    from recon_core.dl import distribute

    sentinel = object()
    monkeypatch.setattr(distribute, "_multi_worker_strategy", lambda: sentinel)
    monkeypatch.setenv("TF_CONFIG", _tf_config(["localhost:1", "localhost:2"], 1))
    assert default_strategy() is sentinel
    monkeypatch.setenv("TF_CONFIG", _tf_config(["localhost:1"], 0))
    assert default_strategy() is not sentinel
    monkeypatch.delenv("TF_CONFIG")
    assert default_strategy() is not sentinel


def test_default_strategy_is_one_device_without_gpus(monkeypatch):
    import tensorflow as tf

    monkeypatch.delenv("TF_CONFIG", raising=False)
    if tf.config.list_logical_devices("GPU"):
        pytest.skip("GPU machine")
    assert isinstance(default_strategy(), tf.distribute.OneDeviceStrategy)


@pytest.mark.slow
def test_default_strategy_is_one_device_with_a_one_worker_cluster():
    """Decided from TF_CONFIG before TensorFlow starts (in a fresh process: the strategy must be
    the process's first TensorFlow operation)."""
    code = ("import tensorflow as tf; from recon_core.dl.distribute import default_strategy; "
            "s = default_strategy(); print(type(s).__name__, s is default_strategy())")
    one = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, cwd=ROOT,
                         env=_env(TF_CONFIG=_tf_config([f"localhost:{_free_ports(1)[0]}"], 0)))
    assert one.stdout.split() == ["OneDeviceStrategy", "False"], one.stderr[-2000:]


# ------------------------------------------------------------------------- command line


def test_cli_reports_user_errors_without_traceback(tmp_path, capsys, monkeypatch):
    from recon_core.dl.train import main

    bad_json = tmp_path / "bad.json"
    bad_json.write_text('{"model": "rescnn",', encoding="utf-8")
    out = _cli(bad_json, "--cache-dir", tmp_path / "cache")  # the real command, exit status
    assert out.returncode == 2
    assert "bad.json is not valid JSON" in out.stderr and "Traceback" not in out.stderr

    def error_of(*argv):  # the same entry in this process (no TensorFlow op before the error)
        assert main([str(a) for a in argv]) == 2
        return capsys.readouterr().err

    assert "config file not found" in error_of(tmp_path / "nope.json")
    bad_field = tmp_path / "field.json"
    bad_field.write_text(json.dumps({"model": "unet"}), encoding="utf-8")
    assert "unknown model 'unet'" in error_of(bad_field)
    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps({"modle": "rescnn"}), encoding="utf-8")
    assert "unknown TrainConfig field(s): modle" in error_of(unknown)
    not_a_dict = tmp_path / "list.json"
    not_a_dict.write_text("[1, 2]", encoding="utf-8")
    assert "a config must be a dict" in error_of(not_a_dict)
    good = tmp_path / "good.json"
    good.write_text(json.dumps(TINY), encoding="utf-8")
    assert "--steps must be >= 1" in error_of(good, "--steps", 0)
    monkeypatch.setenv("TF_CONFIG", "{oops")
    assert "TF_CONFIG is not valid JSON" in error_of(good)
    with pytest.raises(SystemExit) as exc:  # argparse: a missing argument
        main([])
    assert exc.value.code == 2
    assert not (tmp_path / "cache").exists()


@pytest.mark.slow
def test_cli_trains_into_the_cache_and_then_hits(tmp_path):
    cfg = tmp_path / "tiny.json"
    cfg.write_text(json.dumps({"config": TINY}), encoding="utf-8")  # sidecar layout
    config = TrainConfig.from_dict(TINY).replace(steps=3)
    out = _cli(cfg, "--cache-dir", tmp_path / "cache", "--steps", 3)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "step 3/3" in out.stdout and f"cache key {config.config_hash()}" in out.stdout
    assert ModelCache(tmp_path / "cache").load(config).history["step"] == [1, 2, 3]
    again = _cli(cfg, "--cache-dir", tmp_path / "cache", "--steps", 3)
    assert again.returncode == 0 and "already in the cache" in again.stdout


# ------------------------------------------------------------------------- two workers


def _free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("localhost", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


@pytest.mark.slow
@pytest.mark.parametrize("tiny", [TINY, TINY_NOISE_UNROLLED], ids=["rescnn", "unrolled-noise"])
def test_two_workers_train_identical_weights_and_the_chief_writes_the_cache(tmp_path, tiny):
    cfg = tmp_path / "tiny.json"
    cfg.write_text(json.dumps(tiny), encoding="utf-8")
    config = TrainConfig.from_dict(tiny)
    cache_dir = tmp_path / "cache"
    workers = [f"localhost:{p}" for p in _free_ports(2)]
    procs = []
    for i in range(2):
        env = _env(TF_CONFIG=_tf_config(workers, i))
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "recon_core.dl.train", str(cfg), "--cache-dir", str(cache_dir),
             "--dump-weights", str(tmp_path / f"w{i}.npz")],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outs = [None, None]
    deadline = time.monotonic() + 300
    try:
        for i, p in enumerate(procs):
            outs[i] = p.communicate(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate()
    report = "\n".join(f"--- worker {i} (exit {p.returncode}) stderr:\n{(o or ('', ''))[1][-3000:]}"
                       for i, (p, o) in enumerate(zip(procs, outs)))
    assert [p.returncode for p in procs] == [0, 0], report

    chief_out, worker_out = outs[0][0], outs[1][0]
    assert f"step {config.steps}/{config.steps}" in chief_out, report
    assert f"cache key {config.config_hash()}" in chief_out
    assert "step " not in worker_out and "cache key" not in worker_out  # only the chief reports

    w0, w1 = np.load(tmp_path / "w0.npz"), np.load(tmp_path / "w1.npz")
    assert sorted(w0.files) == sorted(w1.files) and len(w0.files) >= 4
    for name in w0.files:
        np.testing.assert_array_equal(w0[name], w1[name])

    cache = ModelCache(cache_dir)
    assert [p.name for p in cache.entries()] == [config.config_hash()]
    assert cache.checkpoints() == []
    assert sorted(p.name for p in cache_dir.iterdir()) == [config.config_hash(),
                                                           f"{config.config_hash()}.lock"]
    entry = cache.load(config)
    assert entry.history["step"] == list(range(1, config.steps + 1))
    assert entry.history["val_step"] == [3, 6]
    for i, w in enumerate(entry.model.get_weights()):
        np.testing.assert_array_equal(w, w0[f"w{i}"])

    # Each step's global batch was split between the workers (DATA sharding), not drawn twice:
    # one machine trains the very same network (up to the order of the gradient sums).
    one = _cli(cfg, "--cache-dir", tmp_path / "one", "--dump-weights", tmp_path / "one.npz")
    assert one.returncode == 0, one.stderr[-3000:]
    single = np.load(tmp_path / "one.npz")
    for name in w0.files:
        np.testing.assert_allclose(w0[name], single[name], rtol=0, atol=1e-6)
    np.testing.assert_allclose(entry.history["loss"],
                               ModelCache(tmp_path / "one").load(config).history["loss"],
                               rtol=1e-5)
