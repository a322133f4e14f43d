"""Our TV solvers at two revisions of the code, timed in the same run (interleaved).

Made for the operator-layer redesign (issue #9): it checks that writing the solvers once over
operators did not slow them down or change their results. It checks out the older revision
into a temporary git worktree and runs the same timing snippet there and here, alternating,
each in a fresh subprocess (so both pay the same warm-up and see the same machine load).

Cases (256² Shepp–Logan, 4× fastMRI random mask seed 0, λ = 1e-3, noiseless):

* ``admm 15 it`` — the iterations single-coil ADMM needs to reach 48 dB (README's table);
* ``admm 100 it`` — the default budget;
* ``pdhg 200 it`` — single-coil PDHG;
* ``sense admm 50 it`` / ``sense pdhg 200 it`` — 8 simulated coils, maps estimated from the
  calibration region.

Each subprocess warms up every case (tracing, XLA), then takes the fastest of ``--repeats``
calls per case (load only ever slows a run down). Prints a markdown table of times, the
ratio new/old and the final PSNR of each revision.

Usage::

    python benchmarks/revisions.py                    # old = fd0cad1 (before the redesign)
    python benchmarks/revisions.py --old <rev> --rounds 3 --repeats 5
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BEFORE_REDESIGN = "fd0cad1"  # last commit before recon_core/ops (issue #9)

SNIPPET = r"""
import json, sys, time
import numpy as np
import recon_core as rc

repeats = int(sys.argv[1])
x = rc.shepp_logan(256)
m = rc.make_mask(x.shape, 4, kind="random", seed=0)
k = rc.fft2c(x) * m
kc, _ = rc.simulate_multicoil(x, n_coils=8)
yc = kc * m
ref_c = rc.rss(rc.ifft2c(kc))
sens = rc.estimate_sens_maps(yc, m)
cases = {
    "admm 15 it": lambda: rc.reconstruct_tv(k, m, 1e-3, "admm", max_iter=15, reference=x),
    "admm 100 it": lambda: rc.reconstruct_tv(k, m, 1e-3, "admm", max_iter=100, reference=x),
    "pdhg 200 it": lambda: rc.reconstruct_tv(k, m, 1e-3, "pdhg", max_iter=200, reference=x),
    "sense admm 50 it": lambda: rc.reconstruct_tv(yc, m, 1e-3, "admm", max_iter=50, sens=sens,
                                                  reference=ref_c),
    "sense pdhg 200 it": lambda: rc.reconstruct_tv(yc, m, 1e-3, "pdhg", max_iter=200, sens=sens,
                                                   reference=ref_c),
}
out = {}
for name, fn in cases.items():
    res = fn()  # warm-up: tracing and XLA compilation
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        res = fn()
        best = min(best, time.perf_counter() - t)
    out[name] = {"s": best, "psnr": res.metrics["psnr"], "objective": res.history[-1].objective}
print("RESULT" + json.dumps(out))
"""


def _run(checkout: Path, repeats: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(checkout), "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run([sys.executable, "-c", SNIPPET, str(repeats)], cwd=checkout, env=env,
                          capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        raise SystemExit(f"timing in {checkout} failed:\n{proc.stderr[-3000:]}")
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT"))
    return json.loads(line[len("RESULT"):])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--old", default=BEFORE_REDESIGN, help="git revision to compare with")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds (old, new, ...)")
    ap.add_argument("--repeats", type=int, default=5, help="timed calls per case per round")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="recon-rev-") as tmp:
        old_dir = Path(tmp) / "old"
        subprocess.run(["git", "worktree", "add", "--detach", str(old_dir), args.old], cwd=ROOT,
                       check=True, capture_output=True)
        try:
            best: dict[str, dict] = {"old": {}, "new": {}}
            for r in range(args.rounds):
                for label, where in (("old", old_dir), ("new", ROOT)):
                    res = _run(where, args.repeats)
                    for case, v in res.items():
                        if case not in best[label] or v["s"] < best[label][case]["s"]:
                            best[label][case] = v
                    print(f"round {r + 1}/{args.rounds} {label} done", file=sys.stderr)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(old_dir)], cwd=ROOT,
                           capture_output=True)
    print(f"old = {args.old}, new = working tree; fastest of {args.rounds}×{args.repeats} calls, "
          f"load average {os.getloadavg()[0]:.1f}\n")
    print("| case | old s | new s | new ÷ old | old PSNR | new PSNR | old objective | new objective |")
    print("|---|---|---|---|---|---|---|---|")
    for case in best["old"]:
        o, n = best["old"][case], best["new"][case]
        print(f"| {case} | {o['s']:.4f} | {n['s']:.4f} | {n['s'] / o['s']:.2f} | {o['psnr']:.2f} | "
              f"{n['psnr']:.2f} | {o['objective']:.6g} | {n['objective']:.6g} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
