"""Command line: train a :class:`~recon_core.dl.config.TrainConfig` file into the model cache.

::

    python -m recon_core.dl.train CONFIG.json [--cache-dir DIR] [--steps N]

``CONFIG.json`` holds a config as :meth:`TrainConfig.to_dict` writes it (omitted fields take
their defaults), or an object with such a config under ``"config"`` (a cache entry's
``config.json`` or a shipped network's sidecar, ``recon_core/weights/*.json``). The trained
network goes into the same cache the app reads (:class:`~recon_core.dl.cache.ModelCache`;
default ``$RECON_LAB_CACHE`` or ``~/.cache/mri-recon-lab/models``), so the app finds it
without training. A config already in the cache is not trained again; an interrupted run
resumes from its last checkpoint when the same command runs again. ``--steps`` replaces the
config's ``steps`` (a different config, with its own cache key).

On a cluster, set ``TF_CONFIG`` on every machine (the same ``"cluster"``, each machine its own
``"task"``) and run the same command on each: the training then runs under
``tf.distribute.MultiWorkerMirroredStrategy`` (see :mod:`recon_core.dl.distribute`), and only
the chief (worker 0, or the ``"chief"`` task) prints progress and writes the cache entry.

Exit status: 0 trained or already cached; 2 a usage error (missing or invalid file, bad
fields, bad ``TF_CONFIG``), with a one-line message and no traceback; 1 the workers found
different checkpoints, or the loss diverged (one line too); 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

__all__ = ["main", "read_config"]


class UsageError(Exception):
    """A problem with the user's input (reported in one line, exit status 2)."""


def read_config(path: str):
    """The :class:`TrainConfig` of a JSON file, or :class:`UsageError` saying what is wrong."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"config file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read config file {path}: {exc}") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{path} is not valid JSON: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("config"), dict):
        data = data["config"]  # a cache entry's or a shipped network's sidecar
    from recon_core.dl.config import TrainConfig  # imports TensorFlow: after the cheap checks

    try:
        return TrainConfig.from_dict(data)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"invalid config in {path}: {exc}") from None


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m recon_core.dl.train",
        description="Train a TrainConfig JSON file into the model cache the app reads "
                    "(multi-worker when TF_CONFIG names several workers).",
    )
    p.add_argument("config", metavar="CONFIG.json", help="a TrainConfig as JSON")
    p.add_argument("--cache-dir", metavar="DIR",
                   help="model cache directory (default: $RECON_LAB_CACHE or "
                        "~/.cache/mri-recon-lab/models)")
    p.add_argument("--steps", type=int, metavar="N", help="train N steps instead of the config's")
    p.add_argument("--dump-weights", metavar="PATH",
                   help="for tests and debugging: also write the final weights of this worker "
                        "to PATH (.npz, arrays w0, w1, ... in model.get_weights() order)")
    return p


def _printer(t0: float):
    def on_progress(p) -> None:
        if p.step == 1 or p.val_psnr is not None or p.step == p.steps:
            line = f"step {p.step}/{p.steps}  loss {p.loss:.4g}"
            if p.val_psnr is not None:
                line += f"  val {p.val_psnr:.2f} dB / SSIM {p.val_ssim:.3f}"
            print(f"{line}  {time.perf_counter() - t0:.1f} s", flush=True)

    return on_progress


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)  # usage errors exit with status 2
    try:
        config = read_config(args.config)
        if args.steps is not None:
            if args.steps < 1:
                raise UsageError(f"--steps must be >= 1, got {args.steps}")
            config = config.replace(steps=args.steps)
        from recon_core.dl import distribute, training

        try:
            task = distribute.cluster_task()
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    # The first TensorFlow operation of the process: MultiWorkerMirroredStrategy needs that.
    strategy = distribute.default_strategy()
    import numpy as np

    from recon_core.dl.cache import ModelCache

    cache = ModelCache(args.cache_dir)
    chief = distribute.is_chief(strategy)
    who = f"worker {task.task_type}:{task.task_index} of {task.n_workers}" if task else "training"
    t0 = time.perf_counter()
    try:
        if chief:
            print(f"{who}: config {config.config_hash()} ({config.model}, {config.steps} steps, "
                  f"batch {config.batch_size}) into {cache.directory}", flush=True)
            trained = []

            def train_fn(cfg, callbacks, **kwargs):
                trained.append(True)
                distribute.broadcast_from_chief([0.0], strategy)  # tell the workers: train
                info = training.load_checkpoint_info(kwargs["checkpoint_dir"], cfg)
                if info and info["step"] < cfg.steps:
                    print(f"resuming from the checkpoint of step {info['step']}", flush=True)
                return training.train(cfg, callbacks, strategy=strategy, **kwargs)

            result = cache.get_or_train(config, [_printer(t0)], train_fn=train_fn)
            if not trained:
                distribute.broadcast_from_chief([1.0], strategy)  # tell the workers: cached
                print("already in the cache: nothing to train", flush=True)
            model = result.model
        else:
            print(f"{who}: config {config.config_hash()}; the chief reports and writes the "
                  "cache entry", file=sys.stderr, flush=True)
            cached = distribute.broadcast_from_chief([0.0], strategy)[0] > 0.5
            if cached:
                print("the chief found the config in its cache: nothing to train",
                      file=sys.stderr, flush=True)
                model = None
            else:
                model = training.train(config, [], strategy=strategy,
                                       checkpoint_dir=cache.checkpoint_path(config),
                                       remove_checkpoint=False).model
    except KeyboardInterrupt:
        print("interrupted: run the same command again to resume from the last checkpoint",
              file=sys.stderr)
        return 130
    except (distribute.ClusterMismatchError, FloatingPointError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.dump_weights and model is not None:
        np.savez(args.dump_weights, **{f"w{i}": w for i, w in enumerate(model.get_weights())})
    if chief:
        print(f"done in {time.perf_counter() - t0:.1f} s", flush=True)
        print(f"cache key {config.config_hash()}  ({cache.entry_path(config)})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
