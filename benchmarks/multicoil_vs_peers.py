"""Multi-coil reconstruction: our ESPIRiT, GRAPPA and SENSE-TV against BART, SigPy and pygrappa.

Run from the repository root (about 20-25 minutes on 2 CPU cores; ``--quick``: 128², fewer
cases, a few minutes):

    python benchmarks/multicoil_vs_peers.py
    python benchmarks/multicoil_vs_peers.py --quick
    python benchmarks/multicoil_vs_peers.py --cases sim8-random4,gre-random3

Cases: Shepp-Logan 256² with 8 and 16 simulated coils (``recon_core.coils.simulate_multicoil``,
deterministic maps), k-space SNR 30 dB (``recon_core.noise.add_noise``, seed 0), masks
random 4× and Poisson 8× (``make_mask``, seed 0); the shipped ``gre_phantom`` (2 coils,
160², fully sampled, random 3×); the shipped ``brain`` (8 coils, already undersampled, no
reference: maps and timing only). GRAPPA also runs on equispaced 3× for the simulated data.

Sections (one table each):

1. **Maps**: ``recon_core.espirit.espirit_maps`` (defaults), BART ``ecalib -m1 -r h:w:1`` (our
   calibration block, BART's other defaults), SigPy ``EspiritCalib`` (a square calibration
   block of side min(h, w): SigPy takes one width), our ratio maps
   ``recon_core.estimate_sens_maps``. Agreement = mean over the object support of
   ``|sum_c S_c conj(T_c)|`` (1 = equal up to a per-pixel phase; 0 where a map set is zero),
   against the true maps (simulated) and ours against BART; wall time of each call; PSNR of
   our SENSE-TV (split ADMM, 100 iterations) with each map set at one λ (the auto λ of our
   ESPIRiT maps).
2. **GRAPPA**: ``recon_core.recon.grappa.grappa`` (kernel (5, 4): 5 readout points by 4
   acquired lines, lam 0.01) against ``pygrappa.mdgrappa`` (box kernel (5, 5), lamda 0.01), both
   on the same calibration block (the fully sampled centre columns); PSNR/NMSE of the RSS of
   the filled k-space, wall time. Both with one BLAS thread (see ``--grappa-threads``).
3. **SENSE-TV λ**: ours at ``lam="auto"`` (σ known for simulated data, k-space corners for
   real data), ours and BART ``pics -R T:3:0:λ -w 1`` over the log grid λ_auto × 10^[-1..1]
   (9 points, 1.78× apart: 0.03σ..3σ since λ_auto = 0.3σ); BART with our ESPIRiT maps, ρ = a
   fixed multiple of λ (tuned once, see the md); best PSNR of each, gap auto − best.
4. **Speed**: at the auto λ with our ESPIRiT maps: per-iteration time and time to reach BART's
   100-iteration objective, evaluated under OUR objective
   (``recon_core.recon.objective.tv_objective``), for our split ADMM, our CG ADMM
   (``AdmmConfig(coil_split=False)``), BART pics (``-i 5, 10, 20, 40, 100``, one process each:
   BART prints no per-iteration objective) and SigPy ``TotalVariationRecon`` (PDHG).

Threads: ``OMP_NUM_THREADS`` is set to the number of usable cores unless already set, before
NumPy, TensorFlow or BART start, so every library gets the same count.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", str(len(os.sched_getaffinity(0))
                                             if hasattr(os, "sched_getaffinity")
                                             else os.cpu_count()))

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from contextlib import nullcontext  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for p in (str(ROOT), str(HERE)):
    if p not in sys.path:
        sys.path.insert(0, p)

import recon_core as rc  # noqa: E402
from recon_core import fft2c, ifft2c, psnr, rss, ssim  # noqa: E402
from recon_core.espirit import espirit_maps  # noqa: E402
from recon_core.noise import add_noise, noise_std  # noqa: E402
from recon_core.recon.grappa import grappa, grappa_calibration_block  # noqa: E402
from recon_core.recon.objective import tv_objective  # noqa: E402

import _bart  # noqa: E402
import _sigpy  # noqa: E402
from tv_vs_peers import _f, _loadavg, _rounded, machine_info  # noqa: E402

SNR_DB = 30.0
GRID_DECADES = 1.0  # the λ grid spans λ_auto × 10^[-1, 1]
GRID_POINTS = 9  # 10^(2/8) = 1.78× apart
ITERS = 100  # our budget and BART's -i for the λ grid and the maps' SENSE-TV
BART_ITERS = (5, 10, 20, 40, 100)
BART_RHO_FACTORS = (10.0, 20.0, 50.0)  # BART's -u = factor × λ, tuned once (first case)
GRAPPA_KERNEL = (5, 4)
PYGRAPPA_KERNEL = (5, 5)
GRAPPA_LAM = 0.01
SIGPY_SIGMAS = (1.0, 0.1, 0.01)  # PDHG dual step; 1 is SigPy's default

FULL_CASES = ("sim8-random4", "sim8-poisson8", "sim16-random4", "sim16-poisson8",
              "sim8-equi3", "sim16-equi3", "gre-random3", "brain")
QUICK_CASES = ("sim8-random4", "sim8-poisson8", "sim8-equi3", "gre-random3")


# --------------------------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------------------------


@dataclass
class Case:
    """One problem: undersampled multi-coil k-space and what we know about it."""

    name: str
    label: str
    kspace: np.ndarray  # (C, H, W), complex64, zero where not acquired
    mask: np.ndarray  # bool (H, W)
    reference: np.ndarray | None  # magnitude, max ~1, or None
    true_maps: np.ndarray | None  # (C, H, W), simulated only
    sigma: float | None  # known noise std per k-space sample, or None (corners)
    support: np.ndarray  # bool (H, W): object support for map agreement
    sections: tuple[str, ...]  # which of maps / grappa / lambda / speed run
    calib: tuple[int, int] | None = None  # our ESPIRiT calibration block, once known

    @property
    def n_coils(self) -> int:
        return int(self.kspace.shape[0])


def _fill(mask: np.ndarray) -> np.ndarray:
    from scipy.ndimage import binary_fill_holes

    return binary_fill_holes(mask)


def _lowres_support(k: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Object support of real data: the RSS of the calibration block alone, > 10 % of its max."""
    rows, cols = grappa_calibration_block(mask)
    ys = rows if rows.stop - rows.start <= 48 else slice(k.shape[1] // 2 - 24,
                                                          k.shape[1] // 2 + 24)
    low = np.zeros_like(k)
    low[:, ys, cols] = k[:, ys, cols]
    img = rss(ifft2c(low))
    return _fill(img > 0.1 * img.max())


def make_case(name: str, size: int) -> Case:
    """Build case ``name`` (see :data:`FULL_CASES`) at ``size``² (simulated ones only)."""
    if name.startswith("sim"):
        coils, rest = name[3:].split("-")
        kind = {"random": "random", "poisson": "poisson", "equi": "equispaced"}[
            rest.rstrip("0123456789")]
        accel = float(rest[len(rest.rstrip("0123456789")):])
        ref = rc.shepp_logan(size).astype(np.float32)
        k0, true = rc.simulate_multicoil(ref, int(coils))
        power = float(np.mean(np.abs(k0.astype(np.complex128)) ** 2))
        k = add_noise(k0, SNR_DB, seed=0)
        mask = rc.make_mask((size, size), accel, kind, seed=0)
        sections = {"random": ("maps", "grappa", "lambda", "speed"),
                    "poisson": ("maps", "lambda", "speed"), "equispaced": ("grappa",)}[kind]
        return Case(name, f"Shepp–Logan {size}², {coils} coils, {kind} {accel:g}×, "
                          f"{SNR_DB:g} dB", (k * mask).astype(np.complex64), mask,
                    np.abs(ref), true, noise_std(power, SNR_DB), _fill(ref > 0.01), sections)
    from recon_core import io as rio
    from recon_core.datasets import load_builtin

    if name == "gre-random3":
        pr = rio.prepare(load_builtin("gre_phantom"), None, "crop")
        mask = rc.make_mask(pr.kspace.shape[1:], 3, "random", seed=0)
        k = (pr.kspace * mask).astype(np.complex64)
        return Case(name, f"gre_phantom {pr.size[0]}×{pr.size[1]}, {pr.n_coils} coils, random 3×",
                    k, mask, pr.target, None, None, _lowres_support(pr.kspace, mask),
                    ("maps", "grappa", "lambda", "speed"))
    if name == "brain":
        pr = rio.prepare(load_builtin("brain"), None, "crop")
        mask = np.asarray(pr.mask, bool)
        k = (pr.kspace * mask).astype(np.complex64)
        return Case(name, f"brain {pr.size[0]}×{pr.size[1]}, {pr.n_coils} coils, shipped "
                          f"mask ({mask.mean() * 100:.1f} % sampled), no reference",
                    k, mask, None, None, None, _lowres_support(k, mask), ("maps", "speed"))
    raise ValueError(f"unknown case {name!r}; choose from {', '.join(FULL_CASES)}")


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def timed(fn: Callable[[], object], repeats: int = 1) -> tuple[object, float, list[float]]:
    """Run ``fn`` ``repeats`` times: (last result, fastest wall time, all times)."""
    times, out = [], None
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return out, min(times), times


def agreement(a: np.ndarray, b: np.ndarray, support: np.ndarray) -> float:
    """Mean over ``support`` of ``|sum_c a_c conj(b_c)|`` (maps equal up to a phase: 1)."""
    return float(np.mean(np.abs(np.sum(a * np.conj(b), axis=0))[support]))


def coverage(maps: np.ndarray, support: np.ndarray) -> float:
    """Fraction of ``support`` where the maps are non-zero."""
    return float(np.mean(np.any(maps != 0, axis=0)[support]))


def objective(img: np.ndarray, case: Case, maps: np.ndarray, lam: float) -> float:
    return float(tv_objective(img, case.kspace, case.mask, lam, sens=maps)["objective"])


def score(case: Case, mag: np.ndarray) -> float:
    return math.nan if case.reference is None else float(psnr(case.reference, mag))


def ours_tv(case: Case, maps: np.ndarray, lam, n_iter: int = ITERS, split: bool = True):
    """Our SENSE-TV (ADMM): the TVResult (no reference: per-iteration metrics cost time)."""
    cfg = rc.AdmmConfig(coil_split=split)
    return rc.reconstruct_tv(case.kspace, case.mask, lam, "admm", sens=maps, max_iter=n_iter,
                             noise_std=case.sigma, config=cfg)


def first_reaching(values, target: float) -> float:
    """1-based index of the first value <= target (NaN if none)."""
    hit = np.nonzero(np.asarray(values) <= target)[0]
    return float(hit[0] + 1) if hit.size else math.nan


# --------------------------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------------------------


def section_maps(case: Case, work: Path, args, log, have) -> dict:
    """Maps of every tool: agreement, time, coverage, and SENSE-TV PSNR with each."""
    out: dict = {"rows": []}
    res, t_ours, _ = timed(lambda: espirit_maps(case.kspace, case.mask), args.repeats)
    calib = res.calib_shape
    out["calib"] = list(calib)
    out["ours_warnings"] = list(res.warnings)
    sets: dict[str, tuple[np.ndarray, float, str]] = {
        "ours ESPIRiT": (res.maps, t_ours, f"kernel 6, calib {calib[0]}×{calib[1]}")}
    if have["bart"]:
        bmaps, t_b, _ = timed(lambda: _bart.ecalib(work, case.kspace, calib), args.repeats)
        sets["BART ecalib"] = (bmaps, t_b, f"-m1 -r {calib[0]}:{calib[1]}:1")
    if have["sigpy"]:
        side = min(calib)
        smaps, t_s, _ = timed(lambda: _sigpy.espirit_calib(case.kspace, side), 1)
        sets["SigPy EspiritCalib"] = (smaps, t_s, f"calib_width {side} (square)")
    rmaps, t_r, _ = timed(lambda: rc.estimate_sens_maps(case.kspace, case.mask), args.repeats)
    sets["ours ratio"] = (rmaps, t_r, "estimate_sens_maps defaults")
    if case.true_maps is not None:
        sets["true maps"] = (case.true_maps, 0.0, "simulation's maps")

    lam = None
    if "lambda" in case.sections or "speed" in case.sections:
        lam = ours_tv(case, res.maps, "auto", n_iter=1).lam  # λ of our ESPIRiT maps
    for name, (maps, secs, settings) in sets.items():
        row = {"maps": name, "settings": settings, "seconds": secs,
               "coverage": coverage(maps, case.support),
               "vs_true": (agreement(maps, case.true_maps, case.support)
                           if case.true_maps is not None else math.nan),
               "vs_ours": agreement(maps, res.maps, case.support),
               "vs_bart": (agreement(maps, sets["BART ecalib"][0], case.support)
                           if "BART ecalib" in sets else math.nan),
               "tv_psnr": math.nan}
        if case.reference is not None and lam is not None:
            ours_tv(case, maps, lam, n_iter=2)  # warm-up: compile for these maps' structure
            img = ours_tv(case, maps, lam).image
            row["tv_psnr"] = score(case, np.abs(img))
        out["rows"].append(row)
        log(f"  maps {name:<20} {secs:6.2f} s  vs true {_f(row['vs_true'], '.4f')}  "
            f"vs BART {_f(row['vs_bart'], '.4f')}  cover {row['coverage']:.3f}  "
            f"SENSE-TV {_f(row['tv_psnr'], '.2f')} dB")
    out["lam"] = lam
    out["espirit"] = res.maps
    return out


def _threadpool_limits(n: int):
    """threadpoolctl's BLAS thread limit, or a no-op when threadpoolctl is missing."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return nullcontext()
    return threadpool_limits(limits=n)


def section_grappa(case: Case, args, log, have, threads_check: bool) -> dict:
    rows, cols = grappa_calibration_block(case.mask)
    calib = case.kspace[:, rows, cols]
    ref = case.reference
    zf = rss(ifft2c(case.kspace))
    missing = ~case.mask
    out = {"calib": [rows.stop - rows.start, cols.stop - cols.start],
           "zero_filled_psnr": score(case, zf), "zero_filled_nmse": float(rc.nmse(ref, zf))}

    def ours():
        return grappa(case.kspace, case.mask, calib=None, kernel=GRAPPA_KERNEL,
                      lam=GRAPPA_LAM).kspace

    def peer():
        import pygrappa

        return pygrappa.mdgrappa(case.kspace, calib=calib, kernel_size=PYGRAPPA_KERNEL,
                                 coil_axis=0, lamda=GRAPPA_LAM)

    contenders = [("ours", ours)] + ([("pygrappa mdgrappa", peer)] if have["pygrappa"] else [])
    for name, fn in contenders:
        with _threadpool_limits(args.grappa_threads):
            k, secs, times = timed(fn, args.repeats)
        bad = int(np.count_nonzero(~np.isfinite(k)))
        k = np.nan_to_num(k)
        img = rss(ifft2c(k))
        row = {"seconds": secs, "times": times, "psnr": score(case, img),
               "nmse": float(rc.nmse(ref, img)), "ssim": float(ssim(ref, img)),
               "unfilled": float(np.mean(np.all(k == 0, axis=0)[missing])), "non_finite": bad}
        if threads_check:
            with _threadpool_limits(args.threads):
                _, row["seconds_all_threads"], _ = timed(fn, 1)
        out[name] = row
        log(f"  grappa {name:<18} {secs:6.2f} s  {row['psnr']:.2f} dB  NMSE {row['nmse']:.4f}"
            f"  unfilled {row['unfilled'] * 100:.1f} %"
            + (f"  ({row['seconds_all_threads']:.2f} s with {args.threads} BLAS threads)"
               if threads_check else ""))
    return out


def lam_grid(lam_auto: float) -> np.ndarray:
    return lam_auto * 10.0 ** np.linspace(-GRID_DECADES, GRID_DECADES, GRID_POINTS)


def section_lambda(case: Case, maps: np.ndarray, work: Path, args, log, have,
                   rho_factor: float, bart_cache: dict) -> dict:
    auto = ours_tv(case, maps, "auto")
    choice = auto.lam_choice
    grid = lam_grid(auto.lam)
    mid = GRID_POINTS // 2
    ours_psnr = []
    for i, lam in enumerate(grid):
        p = score(case, auto.magnitude) if i == mid else score(case, ours_tv(case, maps, lam).magnitude)
        ours_psnr.append(p)
    out = {"lam_auto": auto.lam, "sigma": choice.sigma, "sigma_source": choice.source,
           "auto_psnr": score(case, auto.magnitude), "grid": grid.tolist(),
           "ours_psnr": ours_psnr, "zero_filled_psnr": score(case, rss(ifft2c(case.kspace)))}
    ib = int(np.nanargmax(ours_psnr))
    out["ours_best_lam"], out["ours_best_psnr"] = float(grid[ib]), float(ours_psnr[ib])
    out["gap_db"] = out["auto_psnr"] - out["ours_best_psnr"]
    log(f"  λ auto {auto.lam:.3g} (σ {choice.sigma:.3g}, {choice.source}): "
        f"{out['auto_psnr']:.2f} dB; best grid λ {grid[ib]:.3g}: {ours_psnr[ib]:.2f} dB")
    if have["bart"]:
        # Hill climb on the same grid from our best λ: evaluate it and its neighbours, move
        # towards the better side until both neighbours are worse (the grid maximum when
        # PSNR(λ) is unimodal in λ; 3-5 BART runs instead of 9).
        bart_psnr = [math.nan] * GRID_POINTS
        secs = [math.nan] * GRID_POINTS

        def run(i):
            if not 0 <= i < GRID_POINTS or not math.isnan(bart_psnr[i]):
                return
            solver = _bart.PicsSenseTV(work, case.kspace, case.mask, maps, grid[i],
                                       rho=rho_factor * grid[i])
            img, secs[i], _ = timed(lambda: solver(ITERS), 1)
            bart_psnr[i] = score(case, np.abs(img))
            if i == mid:
                bart_cache[ITERS] = (img, secs[i])

        j = ib
        while True:
            for i in (j - 1, j, j + 1):
                run(i)
            jb = int(np.nanargmax(bart_psnr))
            if jb == j:
                break
            j = jb
        jb = int(np.nanargmax(bart_psnr))
        out.update(bart_psnr=bart_psnr, bart_seconds=secs, bart_best_lam=float(grid[jb]),
                   bart_best_psnr=float(bart_psnr[jb]), bart_best_seconds=float(secs[jb]),
                   bart_auto_psnr=float(bart_psnr[mid]), bart_runs=int(np.sum(~np.isnan(bart_psnr))))
        if have["bart"] and args.bart_own_maps:
            bm = _bart.ecalib(work, case.kspace, tuple(case.calib))
            solver = _bart.PicsSenseTV(work, case.kspace, case.mask, bm, grid[jb],
                                       rho=rho_factor * grid[jb])
            out["bart_own_maps_psnr"] = score(case, np.abs(solver(ITERS)))
        log(f"  BART best grid λ {grid[jb]:.3g}: {bart_psnr[jb]:.2f} dB in {secs[jb]:.2f} s "
            f"(-i {ITERS})")
    return out


def sigpy_tune(case: Case, maps: np.ndarray, lam: float, n_iter: int, log) -> tuple[float, dict]:
    """SigPy's sigma with the lowest (our) objective after ``n_iter`` iterations."""
    res = {}
    for s in SIGPY_SIGMAS:
        img = _sigpy.SigpySenseTV(case.kspace, case.mask, maps, lam, sigma=s)(n_iter)
        res[s] = objective(img, case, maps, lam)
        log(f"    SigPy sigma {s:g}: objective {res[s]:.5g} after {n_iter} it")
    return min(res, key=res.get), res


def section_speed(case: Case, maps: np.ndarray, lam: float, work: Path, args, log, have,
                  rho_factor: float, bart_cache: dict) -> dict:
    """Per-iteration time and time to BART's 100-iteration objective (ours), at λ ``lam``."""
    out: dict = {"lam": lam}
    target = math.nan
    if have["bart"]:
        solver = _bart.PicsSenseTV(work, case.kspace, case.mask, maps, lam, rho=rho_factor * lam)
        solver(2)  # file cache
        b = {}
        for n in BART_ITERS:
            if n in bart_cache and args.repeats <= 1:
                img, secs = bart_cache[n]
                times = [secs]
            else:
                img, secs, times = timed(lambda: solver(n), 1)
                if n in bart_cache:
                    times.append(bart_cache[n][1])
                    secs = min(times)
            b[n] = {"seconds": secs, "objective": objective(img, case, maps, lam),
                    "psnr": score(case, np.abs(img))}
        target = b[BART_ITERS[-1]]["objective"]
        per_it = (b[100]["seconds"] - b[10]["seconds"]) / 90.0
        out["bart"] = {"runs": {str(k): v for k, v in b.items()}, "per_iter": per_it,
                       "seconds_to_target": b[100]["seconds"], "iters_to_target": 100,
                       "final_objective": target, "final_psnr": b[100]["psnr"],
                       "settings": f"-i {','.join(map(str, BART_ITERS))} (one process each), "
                                   f"-u {rho_factor:g}λ"}
        log(f"  speed BART: {b[100]['seconds']:.2f} s for -i 100, objective {target:.6g}, "
            f"{per_it * 1e3:.1f} ms/it")
    out["target"] = target
    for name, split in (("ours split ADMM", True), ("ours CG ADMM", False)):
        reps = args.repeats if split else 1  # CG ADMM is 2-3x slower: timed once (budget)
        t0 = time.perf_counter()
        ours_tv(case, maps, lam, n_iter=2, split=split)  # warm-up: XLA compilation
        first = time.perf_counter() - t0
        _, t10, _ = timed(lambda: ours_tv(case, maps, lam, n_iter=10, split=split), reps)
        res, t100, _ = timed(lambda: ours_tv(case, maps, lam, n_iter=ITERS, split=split), reps)
        objs = res.history_arrays()["objective"]
        per_it = (t100 - t10) / (ITERS - 10)
        n_star = first_reaching(objs, target) if not math.isnan(target) else math.nan
        if math.isnan(n_star) and not math.isnan(target):
            longer = ours_tv(case, maps, lam, n_iter=3 * ITERS, split=split)
            n_star = first_reaching(longer.history_arrays()["objective"], target)
        secs_star = t10 + (n_star - 10) * per_it if not math.isnan(n_star) else math.nan
        out[name] = {"warmup_first_call": first, "t10": t10, "t100": t100, "per_iter": per_it,
                     "iters_to_target": n_star, "seconds_to_target": secs_star,
                     "final_objective": objective(res.image, case, maps, lam),
                     "solver_objective": float(objs[-1]), "final_psnr": score(case, res.magnitude)}
        log(f"  speed {name}: {t100:.2f} s for {ITERS} it ({per_it * 1e3:.1f} ms/it), BART's "
            f"objective after {_f(n_star, '.0f')} it = {_f(secs_star, '.2f')} s; "
            f"first call {first:.1f} s")
    if have["sigpy"] and args.sigpy_iter > 0 and case.name in args.sigpy_cases:
        sigma, tune = sigpy_tune(case, maps, lam, args.sigpy_tune_iter, log)
        sp = _sigpy.SigpySenseTV(case.kspace, case.mask, maps, lam, sigma=sigma)
        every = max(1, args.sigpy_iter // 50)
        objs, step_s, setup_s = sp.objective_curve(
            args.sigpy_iter, lambda x: objective(x, case, maps, lam), every)
        _, t_short, _ = timed(lambda: sp(10), 1)
        img, t_long, _ = timed(lambda: sp(100), 1)
        per_it = (t_long - t_short) / 90.0
        its = np.arange(every, args.sigpy_iter + 1, every)
        hit = np.nonzero(np.asarray(objs) <= target)[0] if not math.isnan(target) else []
        n_star = float(its[hit[0]]) if len(hit) else math.nan
        secs_star = t_short + (n_star - 10) * per_it if not math.isnan(n_star) else math.nan
        out["SigPy TotalVariationRecon"] = {
            "sigma": sigma, "tune": {str(k): v for k, v in tune.items()}, "t10": t_short,
            "t100": t_long, "per_iter": per_it, "iters_to_target": n_star,
            "seconds_to_target": secs_star, "final_objective": float(objs[-1]),
            "objective_at_100": objective(img, case, maps, lam), "budget": args.sigpy_iter,
            "final_psnr": score(case, np.abs(img)), "every": every}
        log(f"  speed SigPy (sigma {sigma:g}): {per_it * 1e3:.1f} ms/it, objective after "
            f"{args.sigpy_iter} it {objs[-1]:.6g}, BART's objective after "
            f"{_f(n_star, '.0f')} it")
    return out


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def md_table(headers: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    return "\n".join(out + ["| " + " | ".join(r) + " |" for r in rows])


def text_table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(headers)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths))  # noqa: E731
    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows])


MAP_HEADERS = ["case", "maps", "settings", "time (s)", "agreement vs true", "agreement vs BART",
               "agreement vs ours", "support covered", "SENSE-TV PSNR (dB)"]
GRAPPA_HEADERS = ["case", "calib", "zero-filled PSNR", "ours PSNR (dB)", "ours NMSE",
                  "ours unfilled", "ours time (s)", "pygrappa PSNR (dB)", "pygrappa NMSE",
                  "pygrappa unfilled", "pygrappa time (s)", "time pygrappa / ours"]
LAMBDA_HEADERS = ["case", "σ (source)", "λ auto", "zero-filled PSNR", "ours auto PSNR",
                  "ours best λ", "ours best PSNR", "gap auto − best (dB)", "BART best λ",
                  "BART best PSNR", "BART time at best (s)", "BART at λ auto", "BART own maps"]
SPEED_HEADERS = ["case", "solver", "ms / iteration", "iterations to BART's objective",
                 "s to BART's objective", "objective after 100 it", "PSNR after 100 it",
                 "BART s ÷ this s (equal objective)", "BART ms/it ÷ this ms/it"]


def rel_lam(v: float, lam_auto: float) -> str:
    return f"{v:.3g} ({v / lam_auto:.2g}×)"


def build_tables(results: dict) -> dict[str, tuple[list[str], list[list[str]]]]:
    maps_rows, grappa_rows, lam_rows, speed_rows = [], [], [], []
    for name, r in results.items():
        if "maps" in r:
            for row in r["maps"]["rows"]:
                maps_rows.append([name, row["maps"], row["settings"],
                                  _f(row["seconds"], ".2f") if row["seconds"] else "—",
                                  _f(row["vs_true"], ".4f"), _f(row["vs_bart"], ".4f"),
                                  _f(row["vs_ours"], ".4f"), _f(row["coverage"], ".3f"),
                                  _f(row["tv_psnr"], ".2f")])
        if "grappa" in r:
            g = r["grappa"]
            o, p = g.get("ours", {}), g.get("pygrappa mdgrappa", {})
            ratio = p["seconds"] / o["seconds"] if p and o else math.nan
            grappa_rows.append([
                name, f"{g['calib'][0]}×{g['calib'][1]}", _f(g["zero_filled_psnr"], ".2f"),
                _f(o.get("psnr", math.nan), ".2f"), _f(o.get("nmse", math.nan), ".4f"),
                _f(o.get("unfilled", math.nan) * 100, ".1f") + " %",
                _f(o.get("seconds", math.nan), ".2f"), _f(p.get("psnr", math.nan), ".2f"),
                _f(p.get("nmse", math.nan), ".4f"),
                _f(p.get("unfilled", math.nan) * 100, ".1f") + " %",
                _f(p.get("seconds", math.nan), ".2f"), _f(ratio, ".2f") + "×"])
        if "lambda" in r:
            lr = r["lambda"]
            la = lr["lam_auto"]
            lam_rows.append([
                name, f"{lr['sigma']:.3g} ({lr['sigma_source']})", f"{la:.3g}",
                _f(lr["zero_filled_psnr"], ".2f"), _f(lr["auto_psnr"], ".2f"),
                rel_lam(lr["ours_best_lam"], la), _f(lr["ours_best_psnr"], ".2f"),
                _f(lr["gap_db"], "+.2f"),
                rel_lam(lr["bart_best_lam"], la) if "bart_best_lam" in lr else "—",
                _f(lr.get("bart_best_psnr", math.nan), ".2f"),
                _f(lr.get("bart_best_seconds", math.nan), ".2f"),
                _f(lr.get("bart_auto_psnr", math.nan), ".2f"),
                _f(lr.get("bart_own_maps_psnr", math.nan), ".2f")])
        if "speed" in r:
            s = r["speed"]
            bart = s.get("bart")
            for solver in ("ours split ADMM", "ours CG ADMM", "SigPy TotalVariationRecon",
                           "bart"):
                if solver not in s:
                    continue
                v = s[solver]
                label = "BART pics" if solver == "bart" else solver
                if solver.startswith("SigPy"):
                    label += f" (sigma {v['sigma']:g}, {v['budget']} it)"
                    obj100 = v["objective_at_100"]
                else:
                    obj100 = v["final_objective"]
                r_eq = (bart["seconds_to_target"] / v["seconds_to_target"]
                        if bart and not math.isnan(v["seconds_to_target"]) else math.nan)
                r_it = bart["per_iter"] / v["per_iter"] if bart else math.nan
                speed_rows.append([
                    name, label, _f(v["per_iter"] * 1e3, ".1f"),
                    _f(v["iters_to_target"], ".0f"), _f(v["seconds_to_target"], ".2f"),
                    _f(obj100, ".6g"), _f(v["final_psnr"], ".2f"),
                    _f(r_eq, ".2f") + "×" if not math.isnan(r_eq) else "—",
                    _f(r_it, ".2f") + "×" if not math.isnan(r_it) else "—"])
    return {"Maps": (MAP_HEADERS, maps_rows), "GRAPPA": (GRAPPA_HEADERS, grappa_rows),
            "SENSE-TV λ": (LAMBDA_HEADERS, lam_rows), "Speed": (SPEED_HEADERS, speed_rows)}


def markdown_report(args, info, checks, cases, tables, notes, elapsed) -> str:
    lines = [
        "# Multi-coil reconstruction: recon_core against BART, SigPy and pygrappa",
        "",
        f"Generated by `python benchmarks/multicoil_vs_peers.py{' --quick' if args.quick else ''}`"
        f" in {elapsed:.0f} s. Cases:",
        "",
        *[f"- **{c.name}**: {c.label} ({', '.join(c.sections)})" for c in cases],
        "",
    ]
    sigpy_rows = [c.name for c in cases if "speed" in c.sections and c.name in args.sigpy_cases]
    expl = {
        "Maps": "Agreement = mean over the object support of |Σ_c S_c conj(T_c)| (1: equal up to "
                "a per-pixel phase; pixels where a set is zero count 0). Support covered = share "
                "of the object support where the maps are non-zero. SENSE-TV PSNR: our split "
                "ADMM, 100 iterations, at one λ per case (the auto λ with our ESPIRiT maps). "
                "Time: whole call (BART: file write, process, file read); the fastest of "
                f"{args.repeats} (SigPy: 1 run).",
        "GRAPPA": f"Ours: `grappa(kernel={GRAPPA_KERNEL}, lam={GRAPPA_LAM})`, 5 readout points × "
                  "4 acquired lines, the window widening along the phase-encode axis until it "
                  "holds them (up to 17 columns), gaps filled from their edges inwards in passes. "
                  f"pygrappa: `mdgrappa(kernel_size={PYGRAPPA_KERNEL}, lamda={GRAPPA_LAM})`, a "
                  "5×5 box, one pass; a point with no acquired sample in its box stays 0 "
                  "('unfilled' = share of the missing points left at 0). Same calibration data "
                  "(the fully sampled centre columns, full height). PSNR/NMSE of the RSS image "
                  f"vs the reference. Times with {args.grappa_threads} BLAS thread(s), fastest "
                  f"of {args.repeats}.",
        "SENSE-TV λ": f"Grid λ_auto × 10^[−1 … 1], {GRID_POINTS} points 1.78× apart (0.03σ … 3σ "
                      f"since λ_auto = 0.3σ). Ours: split ADMM, {ITERS} iterations. BART: `pics "
                      f"-R T:3:0:λ -w 1 -i {ITERS}` with our ESPIRiT maps, ρ = "
                      f"{args.rho_factor_used:g}λ; searched by hill climbing on the same grid "
                      "from our best λ (the grid maximum if PSNR(λ) is unimodal; 3-5 BART runs "
                      "instead of 9, to fit the time budget). Numbers in brackets: λ / "
                      "λ_auto. 'BART at λ auto': BART's PSNR at the auto λ (— if the climb did "
                      "not reach it). 'BART own maps': BART pics at its best λ with BART's "
                      "ecalib maps.",
        "Speed": "At λ_auto with our ESPIRiT maps. Target = BART's objective after `-i 100`, "
                 "evaluated with our `tv_objective` (isotropic periodic TV) on BART's image. "
                 "ms/iteration = (t(100) − t(10)) / 90 (process start and set-up cancel). Ours: "
                 "warmed up once per case and solver (XLA compilation excluded; the first call's "
                 "time is in the json), fastest of "
                 f"{args.repeats} (CG ADMM: 1); time to the target = t(10) + (n − 10) × per-iteration. BART's "
                 "time to its own objective is its `-i 100` wall time. SigPy: PDHG, sigma "
                 f"tuned over {', '.join(map(str, SIGPY_SIGMAS))} by objective after "
                 f"{args.sigpy_tune_iter} iterations, objective checked every "
                 f"{max(1, args.sigpy_iter // 50)} iterations up to {args.sigpy_iter}; SigPy "
                 f"rows only for {', '.join(sigpy_rows) or 'no case'} (to fit the time budget). "
                 "Ratios > 1: ours faster.",
    }
    for title, (headers, rows) in tables.items():
        lines += [f"## {title}", "", expl[title], "", md_table(headers, rows), ""]
    lines += ["## Notes", "", *[f"- {n}" for n in notes], "", "## Machine", "",
              *[f"- {k}: {v}" for k, v in info.items()], "", "## Checks", "",
              *[f"- {k}: {v}" for k, v in checks.items()], ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="Cases: " + ", ".join(FULL_CASES))
    ap.add_argument("--quick", action="store_true",
                    help=f"128², cases {', '.join(QUICK_CASES)}, 1 repeat, short SigPy runs")
    ap.add_argument("--size", type=int, default=None, help="simulated image side (256; quick 128)")
    ap.add_argument("--cases", default=None, help="comma-separated subset of the cases")
    ap.add_argument("--repeats", type=int, default=None,
                    help="timed runs of ours/BART calls, the fastest counts (2; quick 1)")
    ap.add_argument("--sigpy-iter", type=int, default=None,
                    help="SigPy PDHG budget for the speed section (300; quick 100; 0 skips)")
    ap.add_argument("--sigpy-tune-iter", type=int, default=None,
                    help="SigPy sigma tuned by objective after this many iterations (100; quick 30)")
    ap.add_argument("--sigpy-cases", default=None,
                    help="cases with the SigPy speed row (default: the 8-coil and gre cases)")
    ap.add_argument("--grappa-threads", type=int, default=1,
                    help="BLAS threads for the GRAPPA timings (default 1, see the md)")
    ap.add_argument("--no-bart-own-maps", dest="bart_own_maps", action="store_false",
                    help="skip BART pics with BART's own ecalib maps at its best λ")
    ap.add_argument("--out", type=Path, default=HERE / "results", help="output folder")
    args = ap.parse_args(argv)
    args.size = args.size or (128 if args.quick else 256)
    args.repeats = args.repeats or (1 if args.quick else 2)
    args.sigpy_iter = args.sigpy_iter if args.sigpy_iter is not None else (100 if args.quick else 300)
    args.sigpy_tune_iter = args.sigpy_tune_iter or (30 if args.quick else 100)
    cases = QUICK_CASES if args.quick else FULL_CASES
    args.cases = [c.strip() for c in args.cases.split(",")] if args.cases else list(cases)
    bad = sorted(set(args.cases) - set(FULL_CASES))
    if bad:
        ap.error(f"unknown cases {bad}; choose from {', '.join(FULL_CASES)}")
    args.sigpy_cases = ([c.strip() for c in args.sigpy_cases.split(",")] if args.sigpy_cases
                        else [c for c in args.cases if c.startswith("sim8") or c.startswith("gre")])
    args.threads = int(os.environ["OMP_NUM_THREADS"])
    if args.size < 32 or args.size % 2:
        ap.error("--size must be even and >= 32 (BART's centred FFT matches ours on even sizes)")
    return args


def tune_bart_rho(case: Case, maps: np.ndarray, lam: float, work: Path, log) -> tuple[float, dict]:
    """BART's ρ = factor × λ with the lowest (our) objective after -i 100, and the default's."""
    res = {}
    for f in (None, *BART_RHO_FACTORS):
        solver = _bart.PicsSenseTV(work, case.kspace, case.mask, maps, lam,
                                   rho=None if f is None else f * lam)
        img = solver(ITERS)
        res["default 0.5" if f is None else f"{f:g}λ"] = {
            "objective": objective(img, case, maps, lam), "psnr": score(case, np.abs(img))}
        log(f"  tune BART rho {'0.5 (default)' if f is None else f'{f:g} λ'}: "
            f"objective {list(res.values())[-1]['objective']:.6g}, "
            f"{list(res.values())[-1]['psnr']:.2f} dB after -i {ITERS}")
    best = min(BART_RHO_FACTORS, key=lambda f: res[f"{f:g}λ"]["objective"])
    return best, res


def main(argv=None) -> int:
    args = parse_args(argv)
    t_start = time.perf_counter()
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")
    log = lambda msg: print(msg, flush=True)  # noqa: E731
    info = machine_info()
    try:
        import pygrappa  # noqa: F401
        from importlib.metadata import version

        info["pygrappa"] = version("pygrappa")
    except ImportError:
        info["pygrappa"] = "missing"
    try:
        from threadpoolctl import threadpool_info

        info["BLAS threads (threadpoolctl)"] = ", ".join(
            f"{p['internal_api']} {p['num_threads']}" for p in threadpool_info())
    except ImportError:
        info["BLAS threads (threadpoolctl)"] = "threadpoolctl missing: GRAPPA runs unlimited"
    info["TensorFlow intra/inter-op threads"] = (
        f"{tf.config.threading.get_intra_op_parallelism_threads()} / "
        f"{tf.config.threading.get_inter_op_parallelism_threads()} (0 = TF's default: cores)")
    have = {"bart": info["bart"] != "missing", "sigpy": info["sigpy"] != "missing",
            "pygrappa": info["pygrappa"] != "missing"}
    for k, v in have.items():
        if not v:
            log(f"SKIP {k}: not installed")
    log("machine: " + ", ".join(f"{k} {v}" for k, v in info.items()))

    tmp = tempfile.TemporaryDirectory(prefix="multicoil_vs_peers_")
    work = Path(tmp.name)
    checks: dict[str, str] = {}
    if have["bart"]:
        c = _bart.check_multicoil_convention(work, fft2c)
        checks["BART `fft -u 3` on (H, W, 1, C) vs fft2c per coil, max abs diff"] = f"{c['fft']:.1e}"
        checks["BART `pics -l2` of y = fft2c(S x) (3 coils, 8×6) vs x after pics_phase, max abs diff"] = (
            f"{c['pics']:.1e} (sign found {c['pics sign']:+.0f}, expected "
            f"{_bart.pics_phase((8, 6)):+.0f})")
    if have["sigpy"]:
        checks["SigPy Sense(maps) vs fft2c(S x), max abs diff"] = (
            f"{_sigpy.check_sense_convention(fft2c):.1e}")

    results: dict[str, dict] = {}
    cases: list[Case] = []
    notes: list[str] = []
    rho_factor = None
    rho_tune = None
    for name in args.cases:
        case = make_case(name, args.size)
        cases.append(case)
        log(f"\n== {name}: {case.label}")
        r: dict = {}
        maps = lam = None
        if "maps" in case.sections:
            m = section_maps(case, work, args, log, have)
            maps, lam = m.pop("espirit"), m["lam"]
            case.calib = tuple(m["calib"])
            r["maps"] = m
        if "grappa" in case.sections:
            check = name == next((c for c in args.cases if "equi" in c),
                                 next(c for c in args.cases if not c.endswith("poisson8")))
            r["grappa"] = section_grappa(case, args, log, have, threads_check=check)
        bart_cache: dict = {}
        if have["bart"] and rho_factor is None and ("lambda" in case.sections
                                                   or "speed" in case.sections):
            rho_factor, rho_tune = tune_bart_rho(case, maps, lam, work, log)
            notes.append(f"BART ρ (`-u`) tuned once on {name} at λ_auto by our objective after "
                         f"-i {ITERS}: " + "; ".join(
                             f"{k}: {v['objective']:.6g} ({v['psnr']:.2f} dB)"
                             for k, v in rho_tune.items())
                         + f" → ρ = {rho_factor:g}λ for every case and λ.")
        args.rho_factor_used = rho_factor or math.nan
        if "lambda" in case.sections:
            r["lambda"] = section_lambda(case, maps, work, args, log, have, rho_factor,
                                         bart_cache)
            lam = r["lambda"]["lam_auto"]
        if "speed" in case.sections:
            r["speed"] = section_speed(case, maps, lam, work, args, log, have, rho_factor,
                                       bart_cache)
        results[name] = r
        log(f"  ({time.perf_counter() - t_start:.0f} s so far)")
    if not hasattr(args, "rho_factor_used"):
        args.rho_factor_used = math.nan

    tables = build_tables(results)
    for title, (headers, rows) in tables.items():
        log(f"\n{title}\n" + text_table(headers, rows))
    elapsed = time.perf_counter() - t_start
    info["load average at end (1/5/15 min)"] = _loadavg()
    log(f"\ntotal benchmark time {elapsed:.0f} s; load average {_loadavg()}")

    notes += auto_notes(results, args)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = "multicoil_vs_peers_quick" if args.quick else "multicoil_vs_peers"
    raw = {"args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
           "machine": info, "checks": checks, "notes": notes,
           "cases": {c.name: c.label for c in cases}, "results": results}
    (args.out / f"{stem}.json").write_text(
        json.dumps(_rounded(raw), indent=1, default=_json_default))
    (args.out / f"{stem}.md").write_text(
        markdown_report(args, info, checks, cases, tables, notes, elapsed))
    log(f"wrote {args.out / (stem + '.md')} and .json")
    tmp.cleanup()
    return 0


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)


def auto_notes(results: dict, args) -> list[str]:
    """Sentences computed from the numbers (the md's Notes)."""
    out = []
    g = [(n, r["grappa"]) for n, r in results.items() if "grappa" in r]
    for n, gr in g:
        o = gr.get("ours", {})
        if "seconds_all_threads" in o:
            p = gr.get("pygrappa mdgrappa", {})
            out.append(f"GRAPPA threads ({n}): ours {o['seconds']:.2f} s with "
                       f"{args.grappa_threads} BLAS thread(s), {o['seconds_all_threads']:.2f} s "
                       f"with {args.threads}"
                       + (f"; pygrappa {p['seconds']:.2f} s vs {p['seconds_all_threads']:.2f} s"
                          if p else "") + " (one run each at the larger count).")
    return out


if __name__ == "__main__":
    sys.exit(main())
