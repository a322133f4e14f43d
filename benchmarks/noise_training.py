"""Noise-aware training against the shipped (noiseless) networks, across k-space noise.

Trains the default ResCNN and unrolled network again with noise-aware data (k-space SNR drawn
uniformly in [15, 50] dB per example, a quarter of the examples left clean; soft data
consistency for the unrolled network), using the project's own command into a separate
directory, then runs :func:`recon_core.dl.noise_study.noise_study` on the four networks
together (shipped + noise-aware): TV's λ tuned per SNR on the tuning set, everything scored on
the same noisy inputs. Writes ``benchmarks/results/noise_training.md`` and ``.json``.

About 25 minutes on 2 cores (training ~20, study ~4)::

    python benchmarks/noise_training.py                 # train (or reuse) and compare
    python benchmarks/noise_training.py --out DIR       # where the noise-aware weights go
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

NOISE_SETTINGS = ["--set", "snr_min_db=15", "--set", "snr_max_db=50", "--set", "clean_fraction=0.25",
                  "--set", "dc=soft"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=ROOT / "artifacts" / "noise_aware",
                    help="directory of the noise-aware weights (trained if missing)")
    args = ap.parse_args(argv)
    from recon_core.dl.pretrained import PRETRAINED_NAMES, load_pretrained, pretrained_paths

    if not all(pretrained_paths(n, args.out)[0].is_file() for n in PRETRAINED_NAMES):
        subprocess.run([sys.executable, str(ROOT / "scripts" / "train_defaults.py"), "--out",
                        str(args.out), "--checkpoints", str(args.out / "checkpoints"),
                        "--n-eval", "0", *NOISE_SETTINGS], check=True)
    from recon_core.dl.noise_study import noise_study, study_table

    nets = {}
    for name in PRETRAINED_NAMES:
        nets[name] = load_pretrained(name)
        nets[f"{name}_noise"] = load_pretrained(name, args.out)
    study = noise_study(nets, progress=lambda line: print(line, flush=True))
    results = ROOT / "benchmarks" / "results"
    (results / "noise_training.json").write_text(json.dumps(study, indent=1), encoding="utf-8")
    text = ["# Noise-aware training against the shipped networks\n",
            f"`python benchmarks/noise_training.py`; `*_noise`: trained with "
            f"`{' '.join(NOISE_SETTINGS)}`, everything else as the shipped defaults. Mean ± std "
            "PSNR (dB); TV's λ tuned per SNR on the tuning set.\n"]
    for key, title in (("held_out", "64 held-out ellipse images 256²"),
                       ("phantom_256", "Shepp–Logan 256², mask seed 0"),
                       ("tutorial_400", "Tutorial protocol: Shepp–Logan 400², mask seeds 0–7")):
        text.append(f"\n## {title}\n\n" + study_table(study, key))
    (results / "noise_training.md").write_text("\n".join(text), encoding="utf-8")
    print("\n".join(text))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
