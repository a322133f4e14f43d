"""Networks, TV and zero-filled across k-space noise levels, compared fairly.

For each SNR (:mod:`recon_core.noise`; ``None`` = noiseless) the study

1. **tunes TV's λ on a separate, seeded tuning set** (``TUNING_SEED``: random-ellipse images
   disjoint from training, validation and held-out images, with their own masks and noise
   seeds): the λ of :data:`LAMBDA_GRID` with the highest mean PSNR there (the test images are
   never used to choose anything);
2. scores zero-filled, TV with that λ and every network on the **same inputs**: the 64 held-out
   ellipse images, the 256² phantom (mask seed 0) and the tutorial's protocol (400² phantom,
   mask seeds 0–7), with the same noise seeds for every method.

``python scripts/train_defaults.py`` runs it for the shipped networks and stores the result in
``recon_core/weights/noise_study.json``, which the Deep learning page plots.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Optional

import numpy as np

from recon_core.dl.evaluation import (
    evaluate,
    evaluate_tutorial_protocol,
    evaluation_masks,
    held_out_images,
)
from recon_core.phantoms import random_ellipses, shepp_logan

__all__ = ["SNRS", "LAMBDA_GRID", "TUNING_SEED", "tune_tv_lambda", "noise_study", "study_table"]

#: The SNRs of the study in dB (None = noiseless).
SNRS: tuple[Optional[float], ...] = (None, 40.0, 30.0, 20.0)
#: TV weights tried on the tuning set.
LAMBDA_GRID: tuple[float, ...] = tuple(float(v) for v in np.logspace(-4, -1, 10))
#: First seed of the tuning images (disjoint from training, VALIDATION_SEED and HELD_OUT_SEED).
TUNING_SEED = 70_000
#: Mask and noise seeds of the tuning set start here (the test sets use 0, 1, ...).
TUNING_MASK_SEED = 10_000
TUNING_NOISE_SEED = 20_000
#: Noise seeds of the test sets start here (image i: + i).
TEST_NOISE_SEED = 30_000


def tune_tv_lambda(snr_db: Optional[float], n: int = 8, size: int = 256,
                   lams: Sequence[float] = LAMBDA_GRID, max_iter: int = 100,
                   ) -> tuple[float, dict[float, float]]:
    """The TV weight with the best mean PSNR on the seeded tuning set at ``snr_db``.

    Returns:
        ``(best_lam, {lam: mean PSNR})``.
    """
    images = np.stack([random_ellipses(size, seed=TUNING_SEED + i) for i in range(n)])
    masks = evaluation_masks(n, (size, size), mask_seed=TUNING_MASK_SEED)
    scores = {
        float(lam): evaluate(None, images, masks=masks, zero_filled=False, tv_lam=float(lam),
                             tv_max_iter=max_iter, snr_db=snr_db,
                             noise_seed=TUNING_NOISE_SEED).summary()["tv"]["psnr"][0]
        for lam in lams
    }
    return max(scores, key=scores.get), scores


def noise_study(models: Mapping[str, Any], snrs: Sequence[Optional[float]] = SNRS,
                n_held_out: int = 64, lams: Sequence[float] = LAMBDA_GRID,
                progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run the study (see the module docstring) and return a JSON-ready dict.

    Args:
        models: ``{name: network or TrainedModel}`` (as for :func:`evaluate`).
        snrs: SNRs in dB, None for noiseless.
        n_held_out: held-out images.
        lams: TV weights tried on the tuning set.
        progress: called with a line of text after each step.

    Returns:
        ``{"snr_db": [...], "lam": [...], "tuning": [{lam: psnr}], "held_out": {method: {metric:
        [[mean, std] per SNR]}}, "phantom_256": {...}, "tutorial_400": {...}, "seconds": s}``,
        with ``None`` for the noiseless SNR.
    """
    say = progress or (lambda line: None)
    t0 = time.perf_counter()
    out: dict[str, Any] = {"snr_db": [], "lam": [], "tuning": [], "held_out": {},
                           "phantom_256": {}, "tutorial_400": {}}
    held = held_out_images(n_held_out)
    phantom = shepp_logan(256)
    for snr in snrs:
        lam, tuning = tune_tv_lambda(snr, lams=lams)
        label = "∞" if snr is None else f"{snr:g} dB"
        say(f"SNR {label}: TV λ = {lam:.2e} (tuning-set PSNR {tuning[lam]:.2f} dB)")
        results = {
            "held_out": evaluate(models, held, tv_lam=lam, snr_db=snr, noise_seed=TEST_NOISE_SEED),
            "phantom_256": evaluate(models, phantom, tv_lam=lam, snr_db=snr,
                                    noise_seed=TEST_NOISE_SEED),
            "tutorial_400": evaluate_tutorial_protocol(models, tv_lam=lam, snr_db=snr),
        }
        out["snr_db"].append(snr)
        out["lam"].append(lam)
        out["tuning"].append({f"{k:.6g}": v for k, v in tuning.items()})
        for key, res in results.items():
            for method, stats in res.summary().items():
                per = out[key].setdefault(method, {})
                for metric, (mean, std) in stats.items():
                    per.setdefault(metric, []).append([mean, std])
        summary = ", ".join(f"{m} {s['psnr'][0]:.2f}" for m, s in results["held_out"].summary().items())
        say(f"SNR {label}: held-out PSNR {summary}")
    out["seconds"] = time.perf_counter() - t0
    return out


def study_table(study: Mapping[str, Any], key: str = "held_out") -> str:
    """A Markdown table of mean PSNR (± std) per method (rows) and SNR (columns)."""
    snrs = ["∞" if s is None else f"{s:g} dB" for s in study["snr_db"]]
    head = "| method | " + " | ".join(snrs) + " |\n|---|" + "---|" * len(snrs) + "\n"
    rows = ["| TV λ (tuned) | " + " | ".join(f"{v:.1e}" for v in study["lam"]) + " |"]
    for method, metrics in study[key].items():
        cells = " | ".join(f"{m:.2f} ± {s:.2f}" for m, s in metrics["psnr"])
        rows.append(f"| {method} | {cells} |")
    return head + "\n".join(rows) + "\n"
