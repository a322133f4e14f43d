"""Pre-trained default networks shipped with the package (``recon_core/weights/``).

``load_pretrained("rescnn")`` and ``load_pretrained("unrolled")`` return, without any training,
the networks of :data:`~recon_core.dl.config.DEFAULT_RESCNN` and
:data:`~recon_core.dl.config.DEFAULT_UNROLLED`. Each ``<name>_default.keras`` (uncompiled,
weights only) has a ``<name>_default.json`` beside it with its config, training history,
sha256, the command that produced it and its measured scores.

Regenerate both with one command (about 20 minutes on 2 CPU cores)::

    python scripts/train_defaults.py
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import warnings
from pathlib import Path
from typing import Any, Optional, Union

import keras
import numpy as np
import tensorflow as tf

from recon_core.dl.cache import TrainedModel
from recon_core.dl.config import DEFAULT_CONFIGS, TrainConfig
from recon_core.dl.training import inference_copy, save_model

__all__ = ["PRETRAINED_NAMES", "WEIGHTS_DIR", "pretrained_paths", "load_pretrained",
           "save_pretrained", "score_summary", "TUTORIAL_KEY",
           "NOISE_STUDY_FILE", "load_noise_study"]

#: Key of the tutorial-protocol scores in a sidecar's ``evaluation``
#: (:func:`recon_core.dl.evaluation.evaluate_tutorial_protocol`).
TUTORIAL_KEY = "tutorial_shepp_logan_400_4x_seeds0-7"

#: File of the shipped networks' comparison across noise (:mod:`recon_core.dl.noise_study`).
NOISE_STUDY_FILE = "noise_study.json"

#: Names of the shipped networks.
PRETRAINED_NAMES: tuple[str, ...] = tuple(DEFAULT_CONFIGS)
#: Directory of the shipped files.
WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"


def _check_name(name: str) -> str:
    if name not in PRETRAINED_NAMES:
        raise ValueError(f"unknown pre-trained network {name!r}; valid: {', '.join(PRETRAINED_NAMES)}")
    return name


def pretrained_paths(name: str, directory: Union[str, os.PathLike, None] = None) -> tuple[Path, Path]:
    """``(<dir>/<name>_default.keras, <dir>/<name>_default.json)``."""
    d = Path(directory) if directory is not None else WEIGHTS_DIR
    _check_name(name)
    return d / f"{name}_default.keras", d / f"{name}_default.json"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_pretrained(name: str, directory: Union[str, os.PathLike, None] = None) -> TrainedModel:
    """Load a shipped network by name (``"rescnn"`` or ``"unrolled"``).

    Returns:
        :class:`~recon_core.dl.cache.TrainedModel` with ``from_cache=True``; ``meta`` holds the
        JSON sidecar (scores, training time, command, versions).

    Raises:
        ValueError: unknown name.
        FileNotFoundError: the files are missing (run ``python scripts/train_defaults.py``).
    """
    model_path, json_path = pretrained_paths(name, directory)
    if not model_path.is_file() or not json_path.is_file():
        raise FileNotFoundError(
            f"pre-trained {name!r} not found in {model_path.parent}; "
            "regenerate it with `python scripts/train_defaults.py`"
        )
    meta = json.loads(json_path.read_text(encoding="utf-8"))
    if meta.get("sha256") and meta["sha256"] != _sha256(model_path):
        warnings.warn(f"{model_path} does not match the checksum in {json_path.name}",
                      RuntimeWarning, stacklevel=2)
    model = keras.models.load_model(model_path, compile=False)
    config = TrainConfig.from_dict(meta["config"])
    return TrainedModel(model, config, meta.get("history", {}), from_cache=True, path=model_path,
                        meta=meta)


def save_pretrained(name: str, model: keras.Model, config: TrainConfig, history: dict[str, Any],
                    directory: Union[str, os.PathLike, None] = None,
                    extra: Optional[dict[str, Any]] = None) -> tuple[Path, Path]:
    """Write ``<name>_default.keras`` (uncompiled) and its JSON sidecar, each atomically.

    Returns:
        The two paths written.
    """
    model_path, json_path = pretrained_paths(name, directory)
    model_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = model_path.with_name(f"{model_path.stem}.tmp-{os.getpid()}.keras")
    save_model(inference_copy(model), tmp)
    os.replace(tmp, model_path)
    meta = {
        "name": name,
        "config": config.to_dict(),
        "config_hash": config.config_hash(),
        "sha256": _sha256(model_path),
        "bytes": model_path.stat().st_size,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__,
                     "numpy": np.__version__},
        **(extra or {}),
        "history": history,
    }
    tmp_json = json_path.with_name(json_path.name + f".tmp-{os.getpid()}")
    tmp_json.write_text(json.dumps(meta, indent=1), encoding="utf-8")
    os.replace(tmp_json, json_path)
    return model_path, json_path


def score_summary(name: str, meta: dict[str, Any]) -> Optional[str]:
    """One sentence with the measured scores stored beside a shipped network, or None.

    Reads ``meta["evaluation"]`` as written by ``scripts/train_defaults.py``: PSNR on the 256²
    Shepp–Logan phantom (4x random mask, seed 0) next to zero-filled, mean ± std at the
    tutorial's protocol (400² phantom, mask seeds 0–7) when stored, and mean ± std PSNR on the
    held-out random-ellipse set.

    :Examples:

    >>> meta = {"evaluation": {
    ...     "shepp_logan_256_4x_seed0": {"zero_filled": {"psnr": 19.69}, "rescnn": {"psnr": 27.16}},
    ...     "held_out_64": {"zero_filled": {"psnr": [23.99, 2.61]}, "rescnn": {"psnr": [36.73, 4.42]}}}}
    >>> score_summary("rescnn", meta)
    'Measured: 27.16 dB on the 256² Shepp–Logan phantom (zero-filled 19.69 dB); 36.73 ± 4.42 dB on 64 held-out ellipse images (zero-filled 23.99 dB).'
    >>> score_summary("rescnn", {}) is None
    True
    """
    evaluation = meta.get("evaluation") or {}
    parts = []
    try:
        phantom = evaluation.get("shepp_logan_256_4x_seed0")
        if phantom and name in phantom:
            parts.append(f"{phantom[name]['psnr']:.2f} dB on the 256² Shepp–Logan phantom "
                         f"(zero-filled {phantom['zero_filled']['psnr']:.2f} dB)")
        tutorial = evaluation.get(TUTORIAL_KEY)
        if tutorial and name in tutorial:
            mean, std = tutorial[name]["psnr"]
            parts.append(f"{mean:.2f} ± {std:.2f} dB at the tutorial's protocol (400² phantom, "
                         f"8 random masks; zero-filled {tutorial['zero_filled']['psnr'][0]:.2f} dB)")
        for key, scores in evaluation.items():
            if key.startswith("held_out_") and name in scores:
                mean, std = scores[name]["psnr"]
                parts.append(f"{mean:.2f} ± {std:.2f} dB on {key.split('_')[-1]} held-out ellipse "
                             f"images (zero-filled {scores['zero_filled']['psnr'][0]:.2f} dB)")
    except (KeyError, TypeError, ValueError, IndexError):
        return None  # an older or hand-edited sidecar: say nothing rather than something wrong
    return "Measured: " + "; ".join(parts) + "." if parts else None


def load_noise_study(directory: Union[str, os.PathLike, None] = None) -> Optional[dict[str, Any]]:
    """The stored comparison across noise levels (written by ``scripts/train_defaults.py``), or
    None when the file is missing or unreadable.

    Keys as returned by :func:`recon_core.dl.noise_study.noise_study`.
    """
    path = (Path(directory) if directory is not None else WEIGHTS_DIR) / NOISE_STUDY_FILE
    try:
        study = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(study, dict) or not {"snr_db", "lam", "held_out"} <= set(study):
        return None
    return study
