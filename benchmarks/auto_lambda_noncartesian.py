"""Which λ is best for non-Cartesian TV, case by case, and which rule predicts it.

For each case (an analytic ellipse phantom sampled on a radial or spiral trajectory with
k-space noise, :func:`recon_core.ellipses.analytic_phantom_data`: no inverse crime), ADMM-TV
over the NUFFT is run on a log grid of λ = r·σ (σ the known noise standard deviation per
sample) and scored against the rasterised truth (the grid is extended until its best point
has two neighbours on each side); the best r is refined by a parabola through
the three best grid points (in log r). Noiseless cases use λ = r × the gridding image's 99th
percentile instead.

The script then fits rules of two forms, λ = c_noise·σ·f + c_signal·signal ("sum") and
λ = f·(c_noise·σ + c_signal·signal) ("scaled"), signal the gridding image's 99th percentile,
for f = 1, sqrt(ρ) (ρ samples per occupied grid cell: the rule before this benchmark),
sqrt(K/N) (K samples, N pixels), sqrt(K/N)·sqrt(ρ), K/N and ρ, with both constants chosen on
log grids by the least mean PSNR loss against each case's best λ (read off its PSNR-vs-λ
curve, interpolated in log λ). Finally it runs ``lam="auto"`` of the current ``recon_core``
on every case (known σ, and σ estimated from the samples) and reports its gap to the best;
``--recheck-auto`` reruns only that column after a change of the rule (about 8 min) and keeps
the previous rule's column beside it.

The peer benchmark's case (256², Shepp–Logan, 64 golden-angle spokes × 512, SNR 30 dB, noise
seed 0, ``benchmarks/noncartesian_vs_peers.py``) is deliberately not among the cases: noise
seeds here start at 1, and 256² Shepp–Logan uses 48 and 96 spokes.

    python benchmarks/auto_lambda_noncartesian.py           # ~18 min on 2 cores
    python benchmarks/auto_lambda_noncartesian.py --quick   # a few 96² cases, ~1 min
    python benchmarks/auto_lambda_noncartesian.py --recheck-auto   # the auto column only

Writes ``benchmarks/results/auto_lambda_noncartesian.{md,json}``.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from recon_core.dcf import dcf  # noqa: E402
from recon_core.ellipses import analytic_phantom_data  # noqa: E402
from recon_core.metrics import psnr  # noqa: E402
from recon_core.noise import noise_std  # noqa: E402
from recon_core.recon import gridding, reconstruct_tv  # noqa: E402
from recon_core.recon.auto_lambda import (NONCARTESIAN_ALIAS, NONCARTESIAN_NOISE,  # noqa: E402
                                          samples_per_cell)
from recon_core.recon.configs import AdmmConfig  # noqa: E402
from recon_core.trajectories import radial, spiral  # noqa: E402

NOISY_R = np.logspace(np.log10(0.05), np.log10(20.0), 14)
NOISELESS_R = np.logspace(-4, -1, 7)
ITERS = 150
#: recon_core's rule at the time of writing (for the results' header).
RULE = f"K/N × ({NONCARTESIAN_NOISE:g} σ + {NONCARTESIAN_ALIAS:g} × signal)"


def trajectories(size: int, quick: bool):
    """Radial (golden angle, and uniform with no readout oversampling) and spirals at about the
    Nyquist interleave count and variable density below it. Uniform-density spirals below
    Nyquist are left out: they alias the image centre coherently (at 96², 4 of the 6 Nyquist
    interleaves, even CG on noise-free samples gives 20 dB), so no noise rule applies."""
    n = size
    nyq = max(1, round(n / 16))
    if quick:
        yield "radial golden 32", radial((n, n), 32, golden=True)
        yield f"spiral {max(1, nyq // 2)} il vd 2", spiral((n, n), max(1, nyq // 2), density=2.0)
        return
    for spokes in ((24, 48, 96) if n <= 128 else (48, 96)):
        yield f"radial golden {spokes}", radial((n, n), spokes, golden=True)
    if n <= 128:
        yield "radial uniform 48, 1x readout", radial((n, n), 48, n_samples=n)
    yield f"spiral {nyq} il", spiral((n, n), nyq)
    yield f"spiral {max(1, nyq // 2)} il vd 2", spiral((n, n), max(1, nyq // 2), density=2.0)


def cases(quick: bool):
    """(name, traj, phantom, n_coils, snr_db, seed)."""
    if quick:
        for tname, traj in trajectories(96, True):
            for snr in (30, 20):
                yield f"96² shepp_logan {tname} {snr} dB", traj, "shepp_logan", 0, snr, 1
        return
    for size, phantoms in ((128, ("shepp_logan", "random")), (256, ("shepp_logan", "random"))):
        for tname, traj in trajectories(size, False):
            for phantom in phantoms:
                snrs = (40, 30, 20) if size == 128 else (30, 20)
                for snr in snrs:
                    yield (f"{size}² {phantom} {tname} {snr} dB", traj, phantom, 0, snr,
                           1 if phantom == "shepp_logan" else 2)
        # noiseless (the floor) and multi-coil, fewer
        t = radial((size, size), 48, golden=True)
        yield f"{size}² shepp_logan radial golden 48 noiseless", t, "shepp_logan", 0, None, 1
        if size == 128:
            for snr in (30, 20):
                yield (f"{size}² shepp_logan radial golden 32, 8 coils {snr} dB", radial(
                    (size, size), 32, golden=True), "shepp_logan", 8, snr, 1)


def solve(y, traj, lam, truth, sens):
    cfg = AdmmConfig(circulant_precond=sens is None, cg_iter=2 if sens is None else 4)
    res = reconstruct_tv(y, traj, lam=float(lam), method="admm", max_iter=ITERS, config=cfg,
                         sens=sens)
    img = np.abs(np.asarray(res.magnitude if hasattr(res, "magnitude") else res.image))
    return float(psnr(truth, img))


def refine(rs, ps):
    """Best r: the vertex of a parabola in log r through the best grid point and its two
    neighbours (the grid point itself at the ends of the grid)."""
    i = int(np.argmax(ps))
    if i in (0, len(rs) - 1):
        return float(rs[i]), float(ps[i]), True
    x = np.log(rs[i - 1:i + 2])
    a, b, c = np.polyfit(x, ps[i - 1:i + 2], 2)
    if a >= 0:
        return float(rs[i]), float(ps[i]), False
    xv = float(np.clip(-b / (2 * a), x[0], x[2]))
    return float(np.exp(xv)), float(a * xv * xv + b * xv + c), False


def psnr_at(rs, ps, r):
    """A case's PSNR at ratio ``r``, linear in log r between grid points (clamped)."""
    lr = np.log(rs)
    return float(np.interp(np.log(r), lr, ps))


def features(traj, n_pixels):
    k = traj.points.shape[0]
    rho = samples_per_cell(traj.points, traj.shape)
    return {"K": int(k), "N": int(n_pixels), "rho": rho, "K/N": k / n_pixels,
            "acceleration": float(getattr(traj, "acceleration", float("nan")))}


CANDIDATES = {
    "1": lambda f: 1.0,
    "sqrt(rho)": lambda f: np.sqrt(f["rho"]),
    "sqrt(K/N)": lambda f: np.sqrt(f["K/N"]),
    "sqrt(K/N) sqrt(rho)": lambda f: np.sqrt(f["K/N"] * f["rho"]),
    "K/N": lambda f: f["K/N"],
    "rho": lambda f: f["rho"],
}


def case_data(traj, phantom, n_coils, snr, seed):
    """(samples, truth, maps or None, σ or None): the analytic data of one case."""
    d = analytic_phantom_data(traj.points, tuple(traj.shape), phantom=phantom, n_coils=n_coils,
                              snr_db=snr, seed=seed)
    truth = np.asarray(d.image, np.float32)
    y = np.asarray(d.kspace, np.complex64)
    sens = None if d.sens is None else np.asarray(d.sens, np.complex64)
    power = float(np.mean(np.sum(np.abs(sens * truth) ** 2, 0))) if sens is not None else \
        float(np.mean(truth.astype(np.float64) ** 2))
    sigma = None if snr is None else float(noise_std(power, snr))
    return y, truth, sens, sigma


def auto_columns(y, traj, truth, sens, sigma):
    """``lam="auto"`` of the current recon_core, with the known σ and with σ estimated."""
    out = {}
    for label, kw in (("auto_known", {"noise_std": sigma if sigma is not None else 0.0}),
                      ("auto_estimated", {})):
        cfg = AdmmConfig(circulant_precond=sens is None, cg_iter=2 if sens is None else 4)
        res = reconstruct_tv(y, traj, lam="auto", method="admm", max_iter=ITERS, config=cfg,
                             sens=sens, **kw)
        img = np.abs(np.asarray(res.magnitude if hasattr(res, "magnitude") else res.image))
        out[label] = {"lam": float(res.lam), "psnr": float(psnr(truth, img)),
                      "sigma": float(res.lam_choice.sigma), "rule": res.lam_choice.describe()}
    return out


def run_case(name, traj, phantom, n_coils, snr, seed):
    y, truth, sens, sigma = case_data(traj, phantom, n_coils, snr, seed)
    grid_img = gridding(y, traj, dcf="auto", sens=sens) if sens is not None else \
        gridding(y, traj, dcf="auto")
    grid_psnr = float(psnr(truth, np.abs(np.asarray(grid_img.image))))
    w = np.asarray(dcf(traj, method="auto"), np.float64).reshape(-1)
    signal = float(np.percentile(np.abs(np.asarray(grid_img.image)), 99))
    scale, rs = (sigma, NOISY_R) if sigma is not None else (signal, NOISELESS_R)
    t0 = time.perf_counter()
    ps = [solve(y, traj, r * scale, truth, sens) for r in rs]
    step = rs[1] / rs[0]
    while int(np.argmax(ps)) >= len(rs) - 2 and rs[-1] < 2000 * rs[0]:  # extend upwards
        rs = np.append(rs, rs[-1] * step)
        ps.append(solve(y, traj, rs[-1] * scale, truth, sens))
    while int(np.argmax(ps)) <= 1 and rs[0] > rs[-1] / 1e6:  # and downwards
        rs = np.insert(rs, 0, rs[0] / step)
        ps.insert(0, solve(y, traj, rs[0] * scale, truth, sens))
    ps = np.array(ps)
    best_r, best_p, at_edge = refine(rs, ps)
    out = {"name": name, "snr_db": snr, "phantom": phantom, "coils": n_coils, "sigma": sigma,
           "signal": signal, "gridding_psnr": grid_psnr, "ratios": rs.tolist(),
           "psnr": ps.tolist(), "best_r": best_r, "best_psnr": best_p, "best_at_edge": at_edge,
           "dcf_mean": float(w.mean()), **features(traj, truth.size),
           "grid_seconds": time.perf_counter() - t0}
    out.update(auto_columns(y, traj, truth, sens, sigma))
    return out


def recheck_auto(results, quick):
    """Rerun only the ``lam="auto"`` columns of an earlier run's cases (after a change of the
    rule); the λ grids and best λ are kept. Returns the old auto columns per case."""
    by_name = {r["name"]: r for r in results}
    before = {}
    for name, traj, phantom, n_coils, snr, seed in cases(quick):
        if name not in by_name:
            continue
        r = by_name[name]
        before[name] = {k: r[k] for k in ("auto_known", "auto_estimated")}
        y, truth, sens, sigma = case_data(traj, phantom, n_coils, snr, seed)
        r.update(auto_columns(y, traj, truth, sens, sigma))
        print(f"{name}: auto {r['auto_known']['psnr']:.2f} dB (known σ; was "
              f"{before[name]['auto_known']['psnr']:.2f}), {r['auto_estimated']['psnr']:.2f} "
              f"(estimated; was {before[name]['auto_estimated']['psnr']:.2f}); best "
              f"{r['best_psnr']:.2f}", flush=True)
    return before


def lam_grid(r):
    """A case's grid of absolute λ."""
    scale = r["sigma"] if r["sigma"] is not None else r["signal"]
    return np.asarray(r["ratios"]) * scale


def loss_at(r, lam):
    """dB lost against the case's best λ at ``lam`` (its PSNR-vs-λ curve, linear in log λ,
    clamped at the ends of the grid)."""
    return r["best_psnr"] - float(np.interp(np.log(lam), np.log(lam_grid(r)), r["psnr"]))


def predict(r, f, c_noise, c_signal, form):
    """``"sum"``: λ = c_noise·σ·f(trajectory) + c_signal·signal; ``"scaled"``:
    λ = f(trajectory)·(c_noise·σ + c_signal·signal) (σ = 0 for noiseless cases)."""
    sigma = r["sigma"] or 0.0
    if form == "sum":
        return c_noise * sigma * f(r) + c_signal * r["signal"]
    return f(r) * (c_noise * sigma + c_signal * r["signal"])


def analyse(results):
    """Fit, for each candidate f and both forms of :func:`predict`, the two constants by the
    least mean loss over all cases (log grids; c_signal = 0 included)."""
    noisy = [r for r in results if r["sigma"] is not None]
    rows = []
    c_noise = np.concatenate([[0.0], np.logspace(-2, 1.5, 36)])
    c_signal = np.concatenate([[0.0], np.logspace(-4.5, -0.5, 41)])
    for form in ("sum", "scaled"):
        for cname, f in CANDIDATES.items():
            logs = np.array([np.log10(r["best_r"] / f(r)) for r in noisy])
            best = None
            for cs in c_signal:
                for cn in c_noise:
                    if cs == 0 and cn == 0:
                        continue
                    losses = np.array([loss_at(r, predict(r, f, cn, cs, form)) for r in results])
                    key = float(losses.mean())
                    if best is None or key < best[0]:
                        best = (key, cn, cs, losses)
            _, cn, cs, losses = best
            rows.append({"form": form, "f": cname, "c_noise": float(cn), "c_signal": float(cs),
                         "mean_loss_db": float(losses.mean()),
                         "median_loss_db": float(np.median(losses)),
                         "p90_loss_db": float(np.percentile(losses, 90)),
                         "max_loss_db": float(losses.max()),
                         "worst_case": results[int(np.argmax(losses))]["name"],
                         "noise_only_spread_log10": float(np.std(logs))})
    return rows


def gap_stats(cols):
    """(mean, worst) dB below the best λ of a list of (auto PSNR, best PSNR)."""
    gaps = np.array([b - a for a, b in cols])
    return float(gaps.mean()), float(gaps.max())


def summary(results, meta):
    """The current rule's gaps (and the previous rule's, after ``--recheck-auto``)."""
    lines = ["## `lam=\"auto\"` against the best λ", "",
             "| rule | known σ: mean gap dB | worst | σ estimated: mean gap dB | worst |",
             "|---|---|---|---|---|"]
    rows = [("current: " + meta.get("rule", "recon_core at this run"),
             {r["name"]: {k: r[k] for k in ("auto_known", "auto_estimated")} for r in results})]
    if meta.get("previous_auto"):
        rows.append(("previous: " + meta.get("previous_rule", ""), meta["previous_auto"]))
    best = {r["name"]: r["best_psnr"] for r in results}
    for label, cols in rows:
        k = gap_stats([(cols[n]["auto_known"]["psnr"], best[n]) for n in cols])
        e = gap_stats([(cols[n]["auto_estimated"]["psnr"], best[n]) for n in cols])
        lines.append(f"| {label} | {k[0]:.2f} | {k[1]:.2f} | {e[0]:.2f} | {e[1]:.2f} |")
    return lines + [""]


def markdown(results, fits, meta):
    lines = ["# Automatic λ for non-Cartesian TV: the best λ per case, and rules that predict it",
             "", "Generated by `benchmarks/auto_lambda_noncartesian.py` "
             f"({meta['iters']} ADMM iterations per solve, {meta['seconds']:.0f} s, "
             f"{meta['machine']}).", ""] + summary(results, meta) + [
             "## Cases", "",
             "| case | ρ | K/N | gridding dB | best λ/σ | best dB | auto λ/σ (known σ) | auto dB | "
             "gap dB | auto dB (σ estimated) | gap dB |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        scale = r["sigma"] if r["sigma"] is not None else r["signal"]
        unit = "" if r["sigma"] is not None else " (×signal)"
        ak, ae = r["auto_known"], r["auto_estimated"]
        edge = " (grid edge)" if r["best_at_edge"] else ""
        lines.append(
            f"| {r['name']} | {r['rho']:.2f} | {r['K/N']:.2f} | {r['gridding_psnr']:.2f} | "
            f"{r['best_r']:.3g}{unit}{edge} | {r['best_psnr']:.2f} | {ak['lam'] / scale:.3g} | "
            f"{ak['psnr']:.2f} | {ak['psnr'] - r['best_psnr']:+.2f} | {ae['psnr']:.2f} | "
            f"{ae['psnr'] - r['best_psnr']:+.2f} |")
    lines += ["", "## Rules fitted by the least mean loss", "",
              "sum: λ = c_noise·σ·f + c_signal·signal; scaled: λ = f·(c_noise·σ + c_signal·signal).",
              "",
              "signal: the 99th percentile of the gridding image; loss: dB below the case's best "
              "λ, read off its PSNR-vs-λ curve.", "",
              "| form | f | c_noise | c_signal | mean loss dB | median | 90th pct | max (case) | "
              "std log10(best/(σ f)), noise only |", "|---|---|---|---|---|---|---|---|---|"]
    for f in fits:
        lines.append(f"| {f['form']} | {f['f']} | {f['c_noise']:.3g} | {f['c_signal']:.3g} | "
                     f"{f['mean_loss_db']:.2f} | {f['median_loss_db']:.2f} | {f['p90_loss_db']:.2f} | "
                     f"{f['max_loss_db']:.2f} ({f['worst_case']}) | {f['noise_only_spread_log10']:.3f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--from-json", help="redo the analysis of an earlier run's JSON")
    ap.add_argument("--recheck-auto", action="store_true",
                    help="rerun only the lam='auto' columns of the last run's JSON (after a "
                    "change of the rule), keeping its λ grids; the old columns are kept as "
                    "'previous'")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "auto_lambda_noncartesian"))
    args = ap.parse_args()
    t0 = time.perf_counter()
    if args.from_json:
        old = json.loads(Path(args.from_json).read_text())
        fits = analyse(old["cases"])
        for f in fits:
            print(f)
        print(markdown(old["cases"], fits, old["meta"]))
        return
    out = Path(args.out)
    if args.quick:
        out = out.with_name(out.name + "_quick")
    if args.recheck_auto:
        old = json.loads(out.with_suffix(".json").read_text())
        before = recheck_auto(old["cases"], args.quick)
        meta = old["meta"]
        meta.setdefault("previous_auto", before)
        meta.setdefault("previous_rule", "0.3 σ √ρ, at least 1e-3 × signal")
        meta["rule"] = RULE
        meta["recheck_seconds"] = time.perf_counter() - t0
        out.with_suffix(".json").write_text(json.dumps(old, indent=1))
        out.with_suffix(".md").write_text(markdown(old["cases"], old["fits"], meta))
        print(f"wrote {out.with_suffix('.md')}")
        return
    partial = out.with_name(out.name + "_partial.json")
    results = []
    for case in cases(args.quick):
        r = run_case(*case)
        results.append(r)
        partial.write_text(json.dumps({"cases": results}))  # a crash keeps what was measured
        print(f"{r['name']}: best λ/σ {r['best_r']:.3g} → {r['best_psnr']:.2f} dB; auto "
              f"{r['auto_known']['psnr']:.2f} (known σ), {r['auto_estimated']['psnr']:.2f} "
              f"(estimated); gridding {r['gridding_psnr']:.2f}; {r['grid_seconds']:.0f} s",
              flush=True)
    fits = analyse(results)
    for f in fits:
        print(f)
    meta = {"iters": ITERS, "seconds": time.perf_counter() - t0, "rule": RULE,
            "machine": f"{platform.processor() or platform.machine()}, Python {platform.python_version()}"}
    partial.unlink(missing_ok=True)
    out.with_suffix(".json").write_text(json.dumps({"meta": meta, "cases": results, "fits": fits},
                                                   indent=1))
    out.with_suffix(".md").write_text(markdown(results, fits, meta))
    print(f"wrote {out.with_suffix('.md')}")


if __name__ == "__main__":
    main()
