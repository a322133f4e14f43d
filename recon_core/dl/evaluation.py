"""Evaluate reconstruction networks against zero-filled and TV on the very same inputs.

:func:`evaluate` simulates single-coil acquisitions ``y = M F x`` of the given images (or of a
seeded held-out set of random ellipses, disjoint from every training and validation image),
reconstructs each one with zero-filling, TV (ADMM, :func:`recon_core.recon.driver.reconstruct_tv`) and
every network given, and scores all of them with :mod:`recon_core.metrics` (PSNR, SSIM, NMSE
on magnitudes, data range = max of the reference).

Two protocols score a network on the Shepp–Logan phantom:

* **ours** — the phantom resized to 256², one 4× random mask (seed 0), as every page shows it;
* **the tutorial's** (:func:`evaluate_tutorial_protocol`) — its ``shepp_logan.npy`` is
  scikit-image's ``shepp_logan_phantom()`` at its native 400×400, scored with freshly drawn
  4× random masks; here mask seeds 0–7, mean ± std. Data range 1 (the phantom's maximum).

Run as a script to score the shipped networks::

    python -m recon_core.dl.evaluation            # 64 held-out images + Shepp–Logan, both protocols
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Optional, Union

import keras
import numpy as np
from numpy.typing import ArrayLike

from recon_core.checks import as_array, as_mask, check_int
from recon_core.phantoms import random_ellipses
from recon_core.ops.fft import fft2c, ifft2c
from recon_core.masks import make_mask
from recon_core.metrics import nmse, psnr, ssim
from recon_core.noise import add_noise, check_snr_db, noise_std
from recon_core.dl.models import reconstruct
from recon_core.dl.cache import TrainedModel
from recon_core.dl.data import HELD_OUT_SEED
from recon_core.recon import DEFAULT_LAM, reconstruct_tv

__all__ = ["METRICS", "TUTORIAL_SIZE", "TUTORIAL_MASK_SEEDS", "EvaluationResult",
           "held_out_images", "evaluation_masks", "evaluate", "evaluate_tutorial_protocol"]

#: The tutorial's phantom: scikit-image's Shepp–Logan at its native size.
TUTORIAL_SIZE: int = 400
#: Mask seeds of the tutorial protocol (the tutorial drew one fresh mask per run).
TUTORIAL_MASK_SEEDS: tuple[int, ...] = tuple(range(8))

#: Metric names, in table order.
METRICS: tuple[str, ...] = ("psnr", "ssim", "nmse")

_METRIC_FNS = {"psnr": psnr, "ssim": ssim, "nmse": nmse}


def held_out_images(n: int = 64, size: int = 256, seed: int = HELD_OUT_SEED,
                    max_shapes: int = 20) -> np.ndarray:
    """The seeded held-out set: ``random_ellipses(size, seed=seed + i)`` for ``i < n``.

    Returns:
        float32 array of shape (n, size, size), values in [0, 1].
    """
    n = check_int(n, "n", minimum=1)
    return np.stack([random_ellipses(size, seed=seed + i, max_shapes=max_shapes)
                     for i in range(n)])


def evaluation_masks(n: int, shape: tuple[int, int], accel: float = 4.0, kind: str = "random",
                     center_fraction: Optional[float] = None, mask_seed: int = 0,
                     fixed_mask: bool = False) -> np.ndarray:
    """Masks for ``n`` images: image ``i`` gets ``make_mask(..., seed=mask_seed + i)``, or
    every image the seed-``mask_seed`` mask when ``fixed_mask``. bool, shape (n, H, W).

    With the defaults, image 0 gets the standard test mask (4x random, seed 0).
    """
    seeds = [mask_seed] * n if fixed_mask else [mask_seed + i for i in range(n)]
    return np.stack([make_mask(shape, accel, kind=kind, center_fraction=center_fraction, seed=s)
                     for s in seeds])


@dataclass
class EvaluationResult:
    """Per-image metrics of several methods on the same inputs.

    Attributes:
        methods: method names in order (``"zero_filled"``, ``"tv"``, then the networks).
        per_image: ``per_image[method][metric]`` is a float64 array of shape (N,).
        seconds: total reconstruction time per method (seconds, all N images).
        images: ``images[method]`` complex64 (N, H, W) reconstructions, if requested.
    """

    methods: tuple[str, ...]
    per_image: dict[str, dict[str, np.ndarray]]
    seconds: dict[str, float] = field(default_factory=dict)
    images: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def n_images(self) -> int:
        return len(next(iter(self.per_image[self.methods[0]].values())))

    def summary(self) -> dict[str, dict[str, tuple[float, float]]]:
        """``{method: {metric: (mean, std)}}`` over the images (population std, ddof=0)."""
        return {
            m: {k: (float(np.mean(v)), float(np.std(v))) for k, v in self.per_image[m].items()}
            for m in self.methods
        }

    def rows(self) -> list[dict[str, float | str | int]]:
        """One flat record per (image, method): ``{"image", "method", "psnr", "ssim", "nmse"}``."""
        out = []
        for i in range(self.n_images):
            for m in self.methods:
                rec: dict[str, float | str | int] = {"image": i, "method": m}
                rec.update({k: float(v[i]) for k, v in self.per_image[m].items()})
                out.append(rec)
        return out

    def to_markdown(self) -> str:
        """A Markdown table: one row per method, mean ± std of each metric."""
        head = "| method | PSNR (dB) | SSIM | NMSE |\n|---|---|---|---|\n"
        lines = []
        for m, stats in self.summary().items():
            p, s, e = stats["psnr"], stats["ssim"], stats["nmse"]
            lines.append(f"| {m} | {p[0]:.2f} ± {p[1]:.2f} | {s[0]:.4f} ± {s[1]:.4f} "
                         f"| {e[0]:.2e} ± {e[1]:.1e} |")
        return head + "\n".join(lines) + "\n"


def _as_models(models) -> dict[str, tuple[keras.Model, bool]]:
    """name -> (network, whether it expects normalised data)."""
    if models is None:
        return {}
    if isinstance(models, (keras.Model, TrainedModel)):
        net = models.model if isinstance(models, TrainedModel) else models
        models = {getattr(net, "name", "model") or "model": models}
    if not isinstance(models, Mapping):
        raise ValueError(f"models must be a keras.Model, a TrainedModel, a mapping name -> "
                         f"either, or None, got {type(models).__name__}")
    return {name: (m.model, m.config.normalise) if isinstance(m, TrainedModel) else (m, True)
            for name, m in models.items()}


def evaluate(
    models: Union[keras.Model, TrainedModel, Mapping[str, Union[keras.Model, TrainedModel]],
                  None] = None,
    images: Optional[ArrayLike] = None,
    *,
    masks: Optional[ArrayLike] = None,
    n: int = 64,
    size: int = 256,
    seed: int = HELD_OUT_SEED,
    accel: float = 4.0,
    mask_kind: str = "random",
    center_fraction: Optional[float] = None,
    mask_seed: int = 0,
    fixed_mask: bool = False,
    zero_filled: bool = True,
    tv: bool = True,
    tv_lam: float = DEFAULT_LAM,
    tv_max_iter: Optional[int] = None,
    snr_db: Optional[float] = None,
    noise_seed: int = 0,
    keep_images: bool = False,
) -> EvaluationResult:
    """PSNR/SSIM/NMSE per image for networks, zero-filled and TV on identical inputs.

    Args:
        models: one Keras network (see :func:`recon_core.dl.models.reconstruct`) or
            :class:`~recon_core.dl.cache.TrainedModel`, a mapping ``{name: either}``, or ``None``
            for the baselines only. A ``TrainedModel`` is fed data as it was trained
            (``config.normalise``); a bare network gets normalised data.
        images: ground truths, real, shape (H, W) or (N, H, W). ``None``: the held-out set
            ``held_out_images(n, size, seed)``.
        masks: bool, shape (H, W) or (N, H, W). ``None``: :func:`evaluation_masks` with
            ``accel``, ``mask_kind``, ``center_fraction``, ``mask_seed`` and ``fixed_mask``.
        n, size, seed: size and seeds of the held-out set when ``images`` is None.
        zero_filled, tv: include these baselines.
        tv_lam, tv_max_iter: TV weight and ADMM iterations (defaults of :mod:`recon_core.recon.driver`).
        snr_db: k-space noise (:mod:`recon_core.noise`) added to each image's full k-space
            before its mask, seeded ``noise_seed + i`` for image ``i``; None: noiseless.
        noise_seed: first noise seed.
        keep_images: also return the reconstructions.

    Returns:
        :class:`EvaluationResult`; ``.summary()`` gives mean ± std per method and metric.

    :Examples:

    >>> from recon_core.phantoms import shepp_logan
    >>> res = evaluate(images=shepp_logan(64), tv=False)
    >>> res.methods, bool(res.summary()["zero_filled"]["psnr"][0] > 10)
    (('zero_filled',), True)
    """
    nets = _as_models(models)
    if images is None:
        x = held_out_images(n, size, seed)
    else:
        x = np.abs(as_array(images, "images", min_ndim=2)).astype(np.float32)
        if x.ndim == 2:
            x = x[None]
        if x.ndim != 3:
            raise ValueError(f"images must have shape (H, W) or (N, H, W), got {x.shape}")
    if masks is None:
        m = evaluation_masks(len(x), x.shape[-2:], accel, mask_kind, center_fraction,
                             mask_seed, fixed_mask)
    else:
        m = np.broadcast_to(as_mask(masks, x.shape), x.shape)
    reserved = {"zero_filled", "tv"}
    clash = reserved & set(nets)
    if clash:
        raise ValueError(f"model names {sorted(clash)} clash with the baselines' names")
    if not (zero_filled or tv or nets):
        raise ValueError("nothing to evaluate: no models and both baselines disabled")

    full = fft2c(x)
    sigmas = np.zeros(len(x))  # known noise level of each image, told to noise-conditioned nets
    if check_snr_db(snr_db) is not None:
        sigmas = np.array([noise_std(float(np.mean(np.abs(f) ** 2)), snr_db) for f in full])
        full = np.stack([add_noise(f, snr_db, seed=int(noise_seed) + i) for i, f in enumerate(full)])
    kspace = (full * m).astype(np.complex64)
    recons: dict[str, np.ndarray] = {}
    seconds: dict[str, float] = {}
    if zero_filled:
        t = time.perf_counter()
        recons["zero_filled"] = ifft2c(kspace)
        seconds["zero_filled"] = time.perf_counter() - t
    if tv:
        t = time.perf_counter()
        recons["tv"] = np.stack([
            reconstruct_tv(k, mk, lam=tv_lam, method="admm", max_iter=tv_max_iter).image
            for k, mk in zip(kspace, m)
        ])
        seconds["tv"] = time.perf_counter() - t
    for name, (net, normalise) in nets.items():
        t = time.perf_counter()
        recons[name] = reconstruct(net, kspace, m, normalise=normalise, noise_std=sigmas)
        seconds[name] = time.perf_counter() - t

    per_image = {
        method: {k: np.array([fn(ref, r) for ref, r in zip(x, rec)], dtype=np.float64)
                 for k, fn in _METRIC_FNS.items()}
        for method, rec in recons.items()
    }
    return EvaluationResult(
        methods=tuple(recons), per_image=per_image, seconds=seconds,
        images=recons if keep_images else {},
    )


def evaluate_tutorial_protocol(models=None, *, mask_seeds: Sequence[int] = TUTORIAL_MASK_SEEDS,
                               accel: float = 4.0, tv: bool = True, tv_lam: float = DEFAULT_LAM,
                               snr_db: Optional[float] = None,
                               keep_images: bool = False) -> EvaluationResult:
    """Score networks as the tutorial did: Shepp–Logan 400² (native), 4× random masks.

    Image ``i`` of the result is the phantom under the mask of seed ``mask_seeds[i]``, so the
    mean ± std of :meth:`EvaluationResult.summary` is over masks. Zero-filled and TV (ADMM,
    default λ) run on the same inputs.

    Args:
        models: as for :func:`evaluate`.
        mask_seeds: seeds of the fastMRI random masks (default 0–7).
        accel: acceleration (the tutorial's 4).
        tv, tv_lam: include TV, with this weight.
        snr_db: k-space noise as for :func:`evaluate` (noise seed i for mask i).
        keep_images: also return the reconstructions.
    """
    from recon_core.phantoms import shepp_logan

    seeds = [check_int(s, "mask seed", minimum=0) for s in mask_seeds]
    if not seeds:
        raise ValueError("mask_seeds is empty")
    x = shepp_logan(TUTORIAL_SIZE)
    masks = np.stack([make_mask(x.shape, accel, kind="random", seed=s) for s in seeds])
    return evaluate(models, np.broadcast_to(x, masks.shape), masks=masks, tv=tv, tv_lam=tv_lam,
                    snr_db=snr_db, keep_images=keep_images)


def _main(argv: Optional[Sequence[str]] = None) -> None:  # pragma: no cover - CLI
    import argparse

    from recon_core.phantoms import shepp_logan
    from recon_core.dl.pretrained import PRETRAINED_NAMES, load_pretrained

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=64, help="held-out images (default 64)")
    args = parser.parse_args(argv)
    nets = {name: load_pretrained(name) for name in PRETRAINED_NAMES}
    print("Shepp–Logan 256x256, 4x random mask (seed 0)")
    print(evaluate(nets, shepp_logan(256)).to_markdown())
    print("Tutorial protocol: Shepp–Logan 400x400 (native), 4x random masks, seeds 0-7")
    print(evaluate_tutorial_protocol(nets).to_markdown())
    print(f"Held-out set: {args.n} random-ellipse images, 256x256, 4x random masks (seeds 0..)")
    print(evaluate(nets, n=args.n).to_markdown())


if __name__ == "__main__":  # pragma: no cover
    _main()
