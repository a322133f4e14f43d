"""Training configuration: one frozen dataclass, its canonical JSON and its hash.

A :class:`TrainConfig` fully determines a trained network: architecture and sizes, sampling
(acceleration, mask kind, fixed or fresh masks), data (image and crop size), optimisation
(steps, batch size, learning rate), the seed and whether data are normalised per image.
:meth:`TrainConfig.config_hash` keys the model cache (:mod:`recon_core.dl.cache`), so two equal
configurations share one trained model, and the config travels with every stored network (cache
entries and the shipped weights' JSON sidecars), so a loaded network knows how it was trained.
"""

from __future__ import annotations

import hashlib
import json
import numbers
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Optional

from recon_core.checks import check_int, check_positive
from recon_core.noise import check_snr_db
from recon_core.masks import MASK_KINDS
from recon_core.dl.models import ARCHITECTURES, DC_MODES

__all__ = [
    "CONFIG_FORMAT_VERSION",
    "LR_SCHEDULES",
    "TrainConfig",
    "DEFAULT_RESCNN",
    "DEFAULT_UNROLLED",
    "DEFAULT_CONFIGS",
]

#: Bumped whenever the meaning of a field, the data pipeline or the training loop changes in a
#: way that makes old trained models stale; part of every hash.
CONFIG_FORMAT_VERSION = 1

#: Learning-rate schedules accepted by ``TrainConfig.lr_schedule``.
LR_SCHEDULES: tuple[str, ...] = ("constant", "cosine")

# Fields that only matter for one architecture; left out of the hash for the other one so
# that, e.g., ``n_cascades`` does not split the ResCNN cache.
_UNROLLED_ONLY = ("n_cascades", "dc")

# Fields added after CONFIG_FORMAT_VERSION 1, with the value that reproduces the behaviour from
# before they existed. At that value a field is left out of the canonical JSON, so the hash of
# every older config (the shipped weights, users' caches) is unchanged; any other value is
# hashed. A new field with a backward-compatible default goes here rather than bumping
# CONFIG_FORMAT_VERSION.
_ADDED_FIELDS: dict[str, Any] = {"normalise": True, "snr_min_db": None, "snr_max_db": None,
                                 "clean_fraction": 0.0}


def check_snr_range(value, name: str) -> float:
    """A finite SNR bound in dB (noise ranges need finite ends)."""
    v = check_snr_db(value)
    if v is None:
        raise ValueError(f"{name} must be a finite number of dB, got {value!r}")
    return v


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a trained reconstruction network.

    Attributes:
        model: ``"rescnn"`` (magnitude residual CNN) or ``"unrolled"`` (cascade with data
            consistency).
        n_convs: convolutions per CNN (ResCNN) or per cascade block (unrolled).
        n_filters: width of the hidden convolutions.
        n_cascades: number of CNN + data-consistency stages (unrolled only).
        dc: ``"hard"``, ``"soft"`` or ``"noise"`` data consistency (unrolled only; ``"noise"``
            makes a noise-conditioned network, told each example's noise level, and needs a
            noise range to learn from).
        accel: acceleration factor of the training masks (>= 1).
        mask_kind: one of :data:`recon_core.masks.MASK_KINDS`.
        center_fraction: fully sampled centre fraction; ``None`` = the mask module's default.
        fixed_mask: True: one mask (seed ``mask_seed``) for every example; False: a fresh,
            seeded mask per example.
        mask_seed: seed of the fixed mask, or of the stream of fresh masks.
        image_size: side of the square training images; k-space is simulated at this size.
        crop_size: ResCNN only: train on random ``crop_size`` squares of the zero-filled
            ``image_size`` images (0 = whole images). Convolutions are translation invariant,
            so this is a pure speed-up; the aliasing still comes from ``image_size`` k-space.
        steps: optimisation steps.
        batch_size: examples per step (global batch, split across devices).
        learning_rate: Adam learning rate (the initial one with a schedule).
        lr_schedule: ``"constant"`` or ``"cosine"`` (cosine decay from ``learning_rate`` to
            5 % of it over ``steps``).
        seed: seed of the weight initialisation, of the training images and of the crops.
        n_val: size of the fixed validation set (seeded, disjoint from training images).
        val_every: validate every this many steps (0 = ``max(1, steps // 20)``).
        max_shapes: maximum ellipses per training image.
        normalise: True (the default): divide each example's k-space, zero-filled image and
            target by the maximum zero-filled magnitude, so that the network sees inputs of max
            1 whatever the data's scale; :func:`recon_core.dl.models.reconstruct` then does the
            same (and undoes it) with ``normalise=config.normalise``. False: train on the data as
            simulated (images in [0, 1], as the tutorial did); such a network expects
            unnormalised k-space at inference.
        snr_min_db, snr_max_db: noise-aware training: each training and validation example
            gets k-space noise at an SNR drawn uniformly in [snr_min_db, snr_max_db] dB (the
            definition of :mod:`recon_core.noise`), seeded per example; ``None`` (both) trains
            on noiseless data.
        clean_fraction: with a noise range, the fraction of examples left noiseless (in [0, 1]).
    """

    model: str = "rescnn"
    n_convs: int = 10
    n_filters: int = 32
    n_cascades: int = 5
    dc: str = "hard"
    accel: float = 4.0
    mask_kind: str = "random"
    center_fraction: Optional[float] = None
    fixed_mask: bool = False
    mask_seed: int = 0
    image_size: int = 256
    crop_size: int = 0
    steps: int = 1000
    batch_size: int = 8
    learning_rate: float = 1e-3
    lr_schedule: str = "constant"
    seed: int = 0
    n_val: int = 8
    val_every: int = 0
    max_shapes: int = 20
    normalise: bool = True
    snr_min_db: Optional[float] = None
    snr_max_db: Optional[float] = None
    clean_fraction: float = 0.0

    def __post_init__(self):
        if self.model not in ARCHITECTURES:
            raise ValueError(f"unknown model {self.model!r}; valid: {', '.join(ARCHITECTURES)}")
        if self.dc not in DC_MODES:
            raise ValueError(f"unknown data-consistency mode {self.dc!r}; valid: {', '.join(DC_MODES)}")
        if self.mask_kind not in MASK_KINDS:
            raise ValueError(f"unknown mask kind {self.mask_kind!r}; valid: {', '.join(MASK_KINDS)}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(
                f"unknown lr_schedule {self.lr_schedule!r}; valid: {', '.join(LR_SCHEDULES)}"
            )
        for name in ("n_convs", "n_filters", "n_cascades", "steps", "batch_size", "n_val"):
            check_int(getattr(self, name), name, minimum=1)
        for name in ("mask_seed", "seed", "crop_size", "val_every"):
            check_int(getattr(self, name), name, minimum=0)
        check_int(self.image_size, "image_size", minimum=16)
        check_int(self.max_shapes, "max_shapes", minimum=1)
        for name in ("fixed_mask", "normalise"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}")
        if check_positive(self.accel, "accel") < 1:
            raise ValueError(f"accel must be >= 1, got {self.accel!r}")
        check_positive(self.learning_rate, "learning_rate")
        if self.center_fraction is not None:
            check_positive(self.center_fraction, "center_fraction")
        if self.crop_size:
            if self.model != "rescnn":
                raise ValueError(
                    f"crop_size={self.crop_size} needs model='rescnn': data consistency needs "
                    "the whole k-space"
                )
            if not 8 <= self.crop_size <= self.image_size:
                raise ValueError(
                    f"crop_size must be 0 or in [8, image_size={self.image_size}], got {self.crop_size}"
                )
        if (self.snr_min_db is None) != (self.snr_max_db is None):
            raise ValueError("give both snr_min_db and snr_max_db (a noise range), or neither")
        if self.snr_min_db is not None:
            lo, hi = (check_snr_range(v, n) for v, n in ((self.snr_min_db, "snr_min_db"),
                                                          (self.snr_max_db, "snr_max_db")))
            if lo > hi:
                raise ValueError(f"snr_min_db ({lo:g}) must not exceed snr_max_db ({hi:g})")
            object.__setattr__(self, "snr_min_db", lo)
            object.__setattr__(self, "snr_max_db", hi)
        cf = check_positive(self.clean_fraction, "clean_fraction", allow_zero=True)
        if cf > 1:
            raise ValueError(f"clean_fraction must be in [0, 1], got {self.clean_fraction!r}")
        if cf and self.snr_min_db is None:
            raise ValueError("clean_fraction needs a noise range (snr_min_db, snr_max_db)")
        object.__setattr__(self, "clean_fraction", float(cf))
        if self.model == "unrolled" and self.dc == "noise" and self.snr_min_db is None:
            raise ValueError("dc='noise' (a noise-conditioned network) needs a noise range to "
                             "learn from: set snr_min_db and snr_max_db")
        # Normalise numeric types (NumPy ints, 4 vs 4.0) so that equal configs give one hash.
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, numbers.Integral) and not isinstance(value, bool):
                object.__setattr__(self, f.name, int(value))
        object.__setattr__(self, "accel", float(self.accel))
        object.__setattr__(self, "learning_rate", float(self.learning_rate))
        if self.center_fraction is not None:
            object.__setattr__(self, "center_fraction", float(self.center_fraction))

    @property
    def noisy(self) -> bool:
        """True if examples get k-space noise (a noise range is set)."""
        return self.snr_min_db is not None

    @property
    def validate_every(self) -> int:
        """Validation interval in steps (``val_every``, or ``max(1, steps // 20)`` when 0)."""
        return self.val_every or max(1, self.steps // 20)

    def to_dict(self) -> dict[str, Any]:
        """All fields as a JSON-ready dictionary."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainConfig":
        """Inverse of :meth:`to_dict`; unknown keys raise ``ValueError``."""
        if not isinstance(data, dict):
            raise ValueError(f"a config must be a dict, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown TrainConfig field(s): {', '.join(unknown)}")
        return cls(**data)

    def replace(self, **changes) -> "TrainConfig":
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    def canonical_json(self) -> str:
        """Canonical JSON of the fields that matter, plus :data:`CONFIG_FORMAT_VERSION`.

        Fields added after format version 1 are left out at their backward-compatible default
        (``normalise=True``), so that configs from before they existed keep their hash.
        """
        data = self.to_dict()
        if self.model != "unrolled":
            for name in _UNROLLED_ONLY:
                data.pop(name)
        for name, old_behaviour in _ADDED_FIELDS.items():
            if data[name] == old_behaviour:
                data.pop(name)
        data["format_version"] = CONFIG_FORMAT_VERSION
        return json.dumps(data, sort_keys=True, separators=(",", ":"))

    def config_hash(self) -> str:
        """Stable key: first 16 hex digits of the sha256 of :meth:`canonical_json`.

        :Examples:

        >>> a = TrainConfig(model="rescnn", n_cascades=3)
        >>> a.config_hash() == TrainConfig(model="rescnn").config_hash()  # unrolled-only field
        True
        >>> len(a.config_hash())
        16
        """
        return hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()[:16]


#: The tutorial's final ResCNN (10 convs x 32 filters, Adam 1e-3, MSE, batch 8, 4x random
#: masks), trained on 64x64 crops of zero-filled 256x256 images with cosine decay (cosine beat a
#: constant rate on validation: 34.7 vs 33.9 dB). Noise-aware: each example's k-space gets noise
#: at an SNR drawn uniformly in [15, 50] dB, a quarter of the examples stay noiseless; 6000 steps
#: (noise-aware at 3000 steps it scored 31.70 dB at the tutorial's protocol, under its 31.9).
DEFAULT_RESCNN = TrainConfig(
    model="rescnn", n_convs=10, n_filters=32, accel=4.0, mask_kind="random",
    fixed_mask=False, image_size=256, crop_size=64, steps=6000, batch_size=8,
    learning_rate=1e-3, lr_schedule="cosine", seed=0, n_val=8, val_every=250,
    snr_min_db=15.0, snr_max_db=50.0, clean_fraction=0.25,
)

#: Unrolled cascade: 5 x (5 convs x 16 filters + data consistency), 4x random masks, trained on
#: whole 128x128 images (masks drawn at that size); it is fully convolutional and is applied at
#: 256x256 as well. Noise-conditioned (``dc="noise"``): told each example's noise level, it
#: weights the measured samples by 1 / (1 + (s/tau)^2) and feeds s to its CNN blocks; trained on
#: the same noise range as the ResCNN for 5000 steps.
DEFAULT_UNROLLED = TrainConfig(
    model="unrolled", n_convs=5, n_filters=16, n_cascades=5, dc="noise", accel=4.0,
    mask_kind="random", fixed_mask=False, image_size=128, crop_size=0, steps=5000,
    batch_size=4, learning_rate=1e-3, lr_schedule="cosine", seed=0, n_val=8, val_every=250,
    snr_min_db=15.0, snr_max_db=50.0, clean_fraction=0.25,
)

#: Default configurations by name (the names of the shipped pre-trained networks).
DEFAULT_CONFIGS: dict[str, TrainConfig] = {"rescnn": DEFAULT_RESCNN, "unrolled": DEFAULT_UNROLLED}
