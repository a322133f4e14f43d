"""Training speed of the default networks: steps/s, input-pipeline images/s, peak memory.

Run as a plain script from the repository root::

    python benchmarks/training.py             # both default configs, about 3 minutes on 2 cores
    python benchmarks/training.py --steps 50  # longer timing windows

For each default config (``DEFAULT_RESCNN``, ``DEFAULT_UNROLLED``), a fresh process measures:

* **train() steps/s**: :func:`recon_core.dl.training.train` end to end (tf.data pipeline, model,
  optimizer, per-step progress records), timed over ``--steps`` steps after ``--warmup``;
* **fit on pipeline / fit on cached batch**: one compiled model, ``model.fit`` for ``--steps``
  steps fed either by the real pipeline or by a single batch cached in memory, alternated
  ``--repeats`` times, best of each kept (as ``timeit`` does, to reject interference from other
  processes on a shared machine). When the pipeline-fed rate matches the cached rate, the input
  pipeline is not the bottleneck;
* **pipeline images/s**: :func:`recon_core.dl.data.train_dataset` iterated alone, to
  compare with the images/s that training consumes;
* **peak memory**: the process's peak resident set size (``ru_maxrss``).

It prints a Markdown table and writes it to ``benchmarks/results/training.md``, with the
training time and file size of the shipped networks (``recon_core/weights/*.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results" / "training.md"


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def worker(name: str, warmup: int, steps: int, repeats: int, pipeline_batches: int) -> dict:
    """Measure one default config in this process; returns a JSON-ready record."""
    import tensorflow as tf

    from recon_core.dl.models import count_params
    from recon_core.dl.config import DEFAULT_CONFIGS
    from recon_core.dl.distribute import default_strategy
    from recon_core.dl.training import build_model, make_optimizer, train
    from recon_core.dl.data import train_dataset

    base = DEFAULT_CONFIGS[name]
    rec = {"name": name, "config_hash": base.config_hash(), "batch_size": base.batch_size,
           "image_size": base.image_size, "crop_size": base.crop_size}

    # 1. Input pipeline alone (best of `repeats` windows).
    ds = iter(train_dataset(base))
    for _ in range(3):
        next(ds)
    rates = []
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(pipeline_batches):
            next(ds)
        rates.append(pipeline_batches * base.batch_size / (time.perf_counter() - t))
    rec["pipeline_images_per_s"] = max(rates)
    del ds

    # 2. One model, fed by the pipeline or by a cached batch, alternately.
    with default_strategy().scope():
        model = build_model(base)
        model.compile(optimizer=make_optimizer(base), loss="mse")
    feeds = {
        "pipeline": train_dataset(base),
        "cached": train_dataset(base).take(1).cache().repeat().prefetch(tf.data.AUTOTUNE),
    }
    best = {k: 0.0 for k in feeds}
    for k, ds in feeds.items():
        model.fit(ds, steps_per_epoch=warmup, epochs=1, verbose=0)
    for _ in range(repeats):
        for k, ds in feeds.items():
            t = time.perf_counter()
            model.fit(ds, steps_per_epoch=steps, epochs=1, verbose=0)
            best[k] = max(best[k], steps / (time.perf_counter() - t))
    rec["fit_pipeline_steps_per_s"] = best["pipeline"]
    rec["fit_cached_steps_per_s"] = best["cached"]
    del model, feeds

    # 3. train() end to end (validation only at the very end, outside the window).
    times = {}
    cfg = base.replace(steps=warmup + steps, val_every=10**6)
    result = train(cfg, callbacks=[lambda p: times.__setitem__(p.step, p.elapsed)])
    rec["train_steps_per_s"] = steps / (times[warmup + steps] - times[warmup])
    rec["params"] = count_params(result.model)
    rec["peak_rss_mb"] = _peak_rss_mb()
    return rec


def _shipped_scores() -> str:
    lines = []
    for name in ("rescnn", "unrolled"):
        path = ROOT / "recon_core" / "weights" / f"{name}_default.json"
        if not path.is_file():
            continue
        meta = json.loads(path.read_text())
        kib = meta.get("bytes", 0) / 1024
        secs = meta.get("train_seconds", float("nan"))
        lines.append(f"| {name} | {meta['config']['steps']} | {secs / 60:.1f} min | "
                     f"{meta.get('steps_per_second', float('nan')):.2f} | {kib:.0f} KiB |")
    if not lines:
        return ""
    return ("\n## Shipped networks (`python scripts/train_defaults.py`)\n\n"
            "| network | steps | training time | mean steps/s | file size |\n"
            "|---|---|---|---|---|\n" + "\n".join(lines)
            + "\n\nScores: `recon_core/weights/EVALUATION.md`.\n")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Training speed of the default networks.")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--steps", type=int, default=25)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--pipeline-batches", type=int, default=25)
    parser.add_argument("--only", choices=("rescnn", "unrolled"), action="append")
    parser.add_argument("--worker", choices=("rescnn", "unrolled"), help=argparse.SUPPRESS)
    parser.add_argument("--no-write", action="store_true", help="do not write the results file")
    args = parser.parse_args(argv)
    if args.worker:
        rec = worker(args.worker, args.warmup, args.steps, args.repeats, args.pipeline_batches)
        print(json.dumps(rec))
        return

    import tensorflow as tf

    load = os.getloadavg()[0]
    records = []
    for name in args.only or ("rescnn", "unrolled"):
        out = subprocess.run(
            [sys.executable, __file__, "--worker", name, "--warmup", str(args.warmup),
             "--steps", str(args.steps), "--repeats", str(args.repeats),
             "--pipeline-batches", str(args.pipeline_batches)],
            capture_output=True, text=True, check=True, cwd=ROOT,
        )
        records.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(f"{name}: done", flush=True)

    gpus = tf.config.list_physical_devices("GPU")
    head = (
        f"# Training speed\n\n`python benchmarks/training.py` on {os.cpu_count()} CPU cores"
        f" ({platform.processor() or platform.machine()}), {len(gpus)} GPU(s), TensorFlow "
        f"{tf.__version__}; load average {load:.1f} at the start (shared machine: rates vary by "
        f"tens of per cent between runs). Windows of {args.steps} steps after {args.warmup} "
        f"warm-up steps; fit and pipeline rates are the best of {args.repeats}; one process per "
        "row.\n\n"
        "| network | params | training images | batch | train() steps/s | fit on pipeline "
        "steps/s | fit on cached batch steps/s | pipeline alone images/s | images/s consumed "
        "| peak RSS |\n|---|---|---|---|---|---|---|---|---|---|\n"
    )
    rows, notes = [], []
    for r in records:
        size = (f"{r['crop_size']}² crops of {r['image_size']}²" if r["crop_size"]
                else f"{r['image_size']}²")
        consumed = r["fit_pipeline_steps_per_s"] * r["batch_size"]
        rows.append(
            f"| {r['name']} | {r['params']:,} | {size} | {r['batch_size']} "
            f"| {r['train_steps_per_s']:.2f} | {r['fit_pipeline_steps_per_s']:.2f} "
            f"| {r['fit_cached_steps_per_s']:.2f} | {r['pipeline_images_per_s']:.0f} "
            f"| {consumed:.0f} | {r['peak_rss_mb']:.0f} MB |"
        )
        headroom = r["pipeline_images_per_s"] / consumed
        ratio = r["fit_pipeline_steps_per_s"] / r["fit_cached_steps_per_s"]
        notes.append(
            f"- {r['name']}: the pipeline alone makes {r['pipeline_images_per_s']:.0f} images/s, "
            f"{headroom:.1f}x the {consumed:.0f} images/s that training consumes, so it never "
            f"starves the model and needs about {100 / headroom:.0f} % of the CPU to keep up. "
            f"Fed by it, fit runs at {ratio:.2f}x its rate on a cached batch."
        )
    notes.append(
        "\nOn a CPU-only machine the pipeline's map calls and the model share the same cores, so "
        "the pipeline's CPU share is also (roughly) what it costs in throughput; with a GPU doing "
        "the model, the pipeline rate above is the ceiling it sets. Rates measured on this shared "
        "machine vary by tens of per cent between runs."
    )
    text = head + "\n".join(rows) + "\n\n" + "\n".join(notes) + "\n" + _shipped_scores()
    print(text)
    if not args.no_write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(text, encoding="utf-8")
        print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
