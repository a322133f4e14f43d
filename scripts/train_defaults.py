"""Train the shipped default networks and write them to ``recon_core/weights/``.

One command regenerates both (about 25 minutes on 2 CPU cores: 1,402 s on 2026-12-04, of which
20 minutes training; much less on a GPU)::

    python scripts/train_defaults.py

It trains :data:`recon_core.dl.config.DEFAULT_RESCNN` and ``DEFAULT_UNROLLED`` with
:func:`recon_core.dl.training.train`, saves ``<name>_default.keras`` (uncompiled, weights only) and
``<name>_default.json`` (config, history, sha256, timings, versions), then scores both networks
against zero-filled and TV on 256x256 Shepp–Logan (4x random mask, seed 0), at the tutorial's
protocol (the 400x400 phantom, 4x random masks of seeds 0-7) and on 64 held-out random-ellipse
images, and stores those scores in the JSON files and in
``recon_core/weights/EVALUATION.md``; then compares them across k-space noise (SNR ∞, 40, 30,
20 dB, TV's λ tuned per SNR on a separate tuning set: :mod:`recon_core.dl.noise_study`) and
writes ``recon_core/weights/noise_study.json``, which the Deep learning page plots.

An interrupted run resumes where it stopped (checkpoints in ``artifacts/train_defaults/``).

Options: ``--only rescnn`` (or ``unrolled``) trains one network; ``--steps N`` and
``--set FIELD=VALUE`` override the config (for experiments; combine with ``--out`` so as not to
overwrite the shipped files); ``--skip-training`` only re-scores the existing files.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from recon_core.phantoms import shepp_logan  # noqa: E402
from recon_core.dl.evaluation import evaluate, evaluate_tutorial_protocol  # noqa: E402
from recon_core.dl.noise_study import noise_study, study_table  # noqa: E402
from recon_core.ops.fft import fft2c  # noqa: E402
from recon_core.masks import make_mask  # noqa: E402
from recon_core.metrics import psnr  # noqa: E402
from recon_core.dl.models import reconstruct  # noqa: E402
from recon_core.dl.pretrained import (  # noqa: E402
    NOISE_STUDY_FILE,
    PRETRAINED_NAMES,
    TUTORIAL_KEY,
    WEIGHTS_DIR,
    load_pretrained,
    pretrained_paths,
    save_pretrained,
)
from recon_core.dl.config import DEFAULT_CONFIGS  # noqa: E402
from recon_core.dl.training import train  # noqa: E402

COMMAND = "python scripts/train_defaults.py"


class Printer:
    """Progress callback: prints a line every ``every`` steps and at each validation.

    It also prints the phantom PSNR at validation steps, for information only (the phantom is
    the test image; nothing is selected on it).
    """

    def __init__(self, name, model_getter, every=50):
        self.name, self.every, self.get_model = name, every, model_getter
        self.losses = []
        x = shepp_logan(256)
        m = make_mask(x.shape, 4, kind="random", seed=0)
        self.phantom = (x, fft2c(x) * m, m)

    def __call__(self, p):
        self.losses.append(p.loss)
        if p.step % self.every and p.val_psnr is None:
            return None
        rate = p.step / max(p.elapsed, 1e-9)
        msg = (f"[{self.name}] step {p.step}/{p.steps}  loss {np.mean(self.losses[-self.every:]):.5f}"
               f"  {p.elapsed:6.0f}s")
        if p.val_psnr is not None:
            model = self.get_model()
            x, k, m = self.phantom
            ph = psnr(x, reconstruct(model, k, m, noise_std=0.0)) if model is not None else float("nan")
            msg += f"  val {p.val_psnr:.2f} dB / {p.val_ssim:.4f}  (phantom {ph:.2f} dB)"
        print(msg, flush=True)
        return None


def _train_one(name, config, out_dir, ckpt_root):
    import keras

    holder = {}

    class ModelRef(keras.callbacks.Callback):  # exposes the live model to the printer
        def on_train_begin(self, logs=None):
            holder["model"] = self.model

    printer = Printer(name, lambda: holder.get("model"))
    print(f"[{name}] config {config.config_hash()}: {config}", flush=True)
    t0 = time.perf_counter()
    result = train(config, callbacks=[ModelRef(), printer], checkpoint_dir=ckpt_root / name)
    wall = time.perf_counter() - t0
    print(f"[{name}] done: {result.steps_done} steps, {result.history['train_seconds']:.0f} s of "
          f"training in total ({wall:.0f} s in this run)", flush=True)
    extra = {"command": COMMAND, "train_seconds": result.history["train_seconds"],
             "steps_per_second": result.steps_done / max(result.history["train_seconds"], 1e-9)}
    paths = save_pretrained(name, result.model, config, result.history, out_dir, extra=extra)
    print(f"[{name}] wrote {paths[0]} ({paths[0].stat().st_size / 1024:.0f} KiB)", flush=True)


def _score(names, out_dir, n_eval):
    loaded = {name: load_pretrained(name, out_dir) for name in names}
    t = time.perf_counter()
    phantom = evaluate(loaded, shepp_logan(256))
    tutorial = evaluate_tutorial_protocol(loaded)
    held = evaluate(loaded, n=n_eval)
    print(f"scored in {time.perf_counter() - t:.0f} s", flush=True)
    report = ("## Shepp–Logan 256x256, 4x random mask (seed 0)\n\n" + phantom.to_markdown()
              + "\n## The tutorial's protocol: Shepp–Logan 400x400 (scikit-image's native size, the "
              "tutorial's `shepp_logan.npy`), 4x random masks of seeds 0-7, mean ± std over masks"
              "\n\n" + tutorial.to_markdown()
              + f"\n## Held-out set: {n_eval} random-ellipse images 256x256, 4x random masks "
              f"(image i: seed i)\n\n" + held.to_markdown())
    print(report, flush=True)
    for name in names:
        _, json_path = pretrained_paths(name, out_dir)
        meta = json.loads(json_path.read_text(encoding="utf-8"))
        meta["evaluation"] = {
            "shepp_logan_256_4x_seed0": {m: {k: v[0] for k, v in s.items()}
                                         for m, s in phantom.summary().items()},
            TUTORIAL_KEY: tutorial.summary(),
            f"held_out_{n_eval}": held.summary(),
        }
        history = meta.pop("history")
        meta["history"] = history  # keep the long history last
        json_path.write_text(json.dumps(meta, indent=1), encoding="utf-8")
    t = time.perf_counter()
    study = noise_study(loaded, progress=lambda line: print(line, flush=True))
    print(f"noise study in {time.perf_counter() - t:.0f} s", flush=True)
    (Path(out_dir) / NOISE_STUDY_FILE).write_text(json.dumps(study, indent=1), encoding="utf-8")
    noise_report = (
        "\n## Across k-space noise (recon_core.dl.noise_study): mean ± std PSNR (dB), TV's λ tuned "
        "per SNR on a separate tuning set\n\n### 64 held-out ellipse images\n\n"
        + study_table(study, "held_out") + "\n### Shepp–Logan 256², mask seed 0\n\n"
        + study_table(study, "phantom_256") + "\n### Tutorial protocol (400², mask seeds 0-7)\n\n"
        + study_table(study, "tutorial_400"))
    print(noise_report, flush=True)
    (Path(out_dir) / "EVALUATION.md").write_text(
        f"# Shipped networks, scored by `{COMMAND}`\n\n" + report + noise_report, encoding="utf-8")


def main(argv=None):
    parser = argparse.ArgumentParser(description="Train the shipped default networks.")
    parser.add_argument("--only", choices=PRETRAINED_NAMES, action="append",
                        help="train only this network (repeatable)")
    parser.add_argument("--steps", type=int, help="override the number of steps (experiments)")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="override a config field (experiments), e.g. --set crop_size=96")
    parser.add_argument("--out", type=Path, default=WEIGHTS_DIR, help="output directory")
    parser.add_argument("--checkpoints", type=Path, default=ROOT / "artifacts" / "train_defaults",
                        help="checkpoint directory (resume)")
    parser.add_argument("--n-eval", type=int, default=64, help="held-out images to score on")
    parser.add_argument("--skip-training", action="store_true", help="only score existing files")
    args = parser.parse_args(argv)
    names = args.only or list(PRETRAINED_NAMES)
    t0 = time.perf_counter()
    if not args.skip_training:
        for name in names:
            config = DEFAULT_CONFIGS[name]
            if args.steps:
                config = config.replace(steps=args.steps)
            overrides = {}
            for item in args.set:
                key, _, value = item.partition("=")
                try:
                    overrides[key] = json.loads(value)
                except ValueError:
                    overrides[key] = value  # a plain string
            if overrides:  # at once: some fields are only valid together (a noise range)
                config = config.replace(**overrides)
            _train_one(name, config, args.out, args.checkpoints)
    scored = [n for n in PRETRAINED_NAMES if pretrained_paths(n, args.out)[0].is_file()]
    if args.n_eval > 0 and scored:
        _score(scored, args.out, args.n_eval)
    print(f"total {time.perf_counter() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
