"""Training loop: ``train(config, callbacks)`` with live progress, stop requests and resume.

Training runs ``model.fit`` on the seeded :func:`recon_core.dl.data.train_dataset`
inside a ``tf.distribute`` strategy, by default :func:`recon_core.dl.distribute.default_strategy`
(one device, every GPU when several are present, every worker of a cluster when ``TF_CONFIG``
names several). After every step, plain-Python callbacks receive a :class:`TrainProgress`
record (step, loss, and validation PSNR/SSIM every ``config.validate_every`` steps); a callback
that returns ``True`` stops the training. Keras callbacks can be passed too. This module also
builds the network and optimizer a config describes and saves trained models.

Resume: with a ``checkpoint_dir``, the compiled model (weights and optimizer state) and the
history so far are written there atomically every ``checkpoint_every`` steps and when training
stops early; calling :func:`train` again with the same directory continues from that step on
the very same data stream. The UI pattern mirrors :mod:`recon_core.recon.driver`::

    def on_progress(p):            # p: TrainProgress
        chart.add(p.step, p.loss)
        return stop_requested()    # True stops training (a checkpoint is kept)

    result = train(DEFAULT_RESCNN, callbacks=[on_progress], checkpoint_dir="ckpt/")

On a cluster (:mod:`recon_core.dl.distribute`) every worker runs the same :func:`train` call;
only the chief validates, calls the progress callbacks and writes to ``checkpoint_dir``, the
others checkpoint into a temporary directory they delete (saving may take part in collective
operations, so every worker saves). A stop requested on the chief stops every worker at the
same step; resuming needs ``checkpoint_dir`` on a file system every worker shares.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import secrets
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Union

import keras
import numpy as np
import tensorflow as tf

from recon_core.metrics import psnr as _psnr
from recon_core.metrics import ssim as _ssim
from recon_core.dl.models import ResCNN, UnrolledNet, noise_conditioned, reconstruct
from recon_core.dl.config import TrainConfig
from recon_core.dl.data import train_dataset, validation_set
from recon_core.dl.distribute import (any_worker, check_workers_agree, default_strategy, is_chief,
                                      num_workers, shard_by_data)

__all__ = [
    "TrainProgress",
    "TrainResult",
    "build_model",
    "make_optimizer",
    "inference_copy",
    "save_model",
    "train",
    "validate",
    "load_checkpoint_info",
]

ProgressCallback = Callable[["TrainProgress"], Optional[bool]]

_CKPT_STATE = "state.json"


@dataclass(frozen=True)
class TrainProgress:
    """One training step, as handed to progress callbacks.

    Attributes:
        step: steps completed (1-based).
        steps: total steps of the config.
        loss: training MSE of this step's batch (normalised units).
        val_psnr: mean validation PSNR in dB, or ``None`` when not validated at this step.
        val_ssim: mean validation SSIM, or ``None``.
        elapsed: seconds since this call to :func:`train` started.
    """

    step: int
    steps: int
    loss: float
    val_psnr: Optional[float] = None
    val_ssim: Optional[float] = None
    elapsed: float = 0.0


@dataclass
class TrainResult:
    """What :func:`train` returns.

    Attributes:
        model: the trained (compiled) Keras model.
        config: the configuration it was trained with.
        history: ``{"step": [...], "loss": [...], "time": [...], "val_step": [...],
            "val_psnr": [...], "val_ssim": [...], "resumed_from": [...], "train_seconds": s}``.
        completed: True when all ``config.steps`` ran; False when a callback stopped it.
    """

    model: keras.Model
    config: TrainConfig
    history: dict[str, Any]
    completed: bool

    @property
    def steps_done(self) -> int:
        return self.history["step"][-1] if self.history["step"] else 0


def _empty_history() -> dict[str, Any]:
    return {"step": [], "loss": [], "time": [], "val_step": [], "val_psnr": [], "val_ssim": [],
            "resumed_from": [], "train_seconds": 0.0}


def build_model(config: TrainConfig) -> keras.Model:
    """The (unbuilt, uncompiled) network a config describes, initialised with ``config.seed``."""
    if config.model == "rescnn":
        return ResCNN(config.n_convs, config.n_filters, seed=config.seed)
    return UnrolledNet(config.n_cascades, config.n_convs, config.n_filters, dc=config.dc,
                       seed=config.seed)


def make_optimizer(config: TrainConfig) -> keras.optimizers.Optimizer:
    """Adam with ``config.learning_rate``, constant or cosine-decayed to 5 % over the steps."""
    lr = config.learning_rate
    if config.lr_schedule == "cosine":
        lr = keras.optimizers.schedules.CosineDecay(lr, decay_steps=config.steps, alpha=0.05)
    return keras.optimizers.Adam(lr)


def _dummy_inputs(model: keras.Model, size: int = 16):
    if isinstance(model, UnrolledNet):
        z = np.zeros((1, size, size, 2), np.float32)
        inputs = [z, z, np.ones((1, size, size, 1), np.float32)]
        return inputs + ([np.zeros((1, 1), np.float32)] if noise_conditioned(model) else [])
    return np.zeros((1, size, size, 1), np.float32)


@contextlib.contextmanager
def _quiet_numpy_copy_warning():
    """Keras converts strategy-scoped variables with ``np.array(x)``, which makes NumPy 2 emit
    a harmless DeprecationWarning about ``__array__(copy=...)``; hide just that one."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"__array__ implementation doesn't accept",
                                category=DeprecationWarning)
        yield


def save_model(model: keras.Model, path: Union[str, os.PathLike]) -> None:
    """``model.save(path)`` (a ``.keras`` file), without NumPy 2's copy-keyword warning."""
    with _quiet_numpy_copy_warning():
        model.save(path)


def inference_copy(model: keras.Model) -> keras.Model:
    """An uncompiled copy of a trained network with the same weights (no optimizer state).

    This is what the cache and the shipped files store: about a third of a compiled
    checkpoint's size.
    """
    copy = type(model).from_config(model.get_config())
    copy(_dummy_inputs(copy))
    with _quiet_numpy_copy_warning():
        copy.set_weights(model.get_weights())
    return copy


def validate(model: keras.Model, data, normalise: bool = True) -> tuple[float, float]:
    """Mean PSNR (dB) and SSIM of ``model`` on ``(images, kspace, masks)`` or
    ``(images, kspace, masks, noise_std)`` (see :func:`recon_core.dl.data.validation_set`), with
    :mod:`recon_core.metrics`; ``normalise`` as the model was trained (``TrainConfig.normalise``).
    A noise-conditioned network is told ``noise_std`` (0, noiseless, when it is not given)."""
    images, kspace, masks, *rest = data
    sigma = rest[0] if rest else 0.0
    recon = reconstruct(model, kspace, masks, normalise=normalise, noise_std=sigma)
    p = [_psnr(x, r) for x, r in zip(images, recon)]
    s = [_ssim(x, r) for x, r in zip(images, recon)]
    return float(np.mean(p)), float(np.mean(s))


# ------------------------------------------------------------------------------- checkpoints


def _write_json_atomic(path: Path, data: Any) -> None:
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=1)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _save_checkpoint(directory: Path, model: keras.Model, config: TrainConfig,
                     history: dict[str, Any]) -> None:
    """Write ``checkpoint-<step>.keras``, then point ``state.json`` at it, then drop older ones.

    Each file is written under a temporary name and renamed, and ``state.json`` (the commit
    point) names the model file of its own step, so a crash at any moment leaves a consistent
    checkpoint: the previous one or the new one.
    """
    directory.mkdir(parents=True, exist_ok=True)
    step = history["step"][-1] if history["step"] else 0
    name = f"checkpoint-{step}.keras"
    tmp = directory / f"checkpoint.tmp-{os.getpid()}-{secrets.token_hex(4)}.keras"
    save_model(model, tmp)
    os.replace(tmp, directory / name)
    _write_json_atomic(directory / _CKPT_STATE, {
        "config": config.to_dict(), "config_hash": config.config_hash(),
        "step": step, "model_file": name, "history": history,
    })
    for old in directory.glob("checkpoint-*.keras"):
        if old.name != name:
            old.unlink(missing_ok=True)


def load_checkpoint_info(directory: Union[str, os.PathLike], config: TrainConfig) -> Optional[dict]:
    """State of a resumable checkpoint for ``config`` in ``directory``, or ``None``.

    Returns ``{"step": int, "history": dict, "model_file": Path}`` when ``directory`` holds a
    complete checkpoint
    of this very config (same hash); ``None`` when there is none, it belongs to another config,
    or it is incomplete.
    """
    directory = Path(directory)
    try:
        with open(directory / _CKPT_STATE, encoding="utf-8") as fh:
            state = json.load(fh)
    except (OSError, ValueError):
        return None
    model_file = directory / str(state.get("model_file", ""))
    if state.get("config_hash") != config.config_hash() or not model_file.is_file():
        return None
    return {"step": int(state["step"]), "history": state["history"], "model_file": model_file}


# ------------------------------------------------------------------------------------ loop


class _Bridge(keras.callbacks.Callback):
    """Keras callback: per-step records, validation, user callbacks, stop and checkpoints."""

    def __init__(self, config, history, callbacks, val_data, checkpoint_dir, checkpoint_every,
                 t_offset, strategy=None):
        super().__init__()
        self.strategy = strategy
        self.multi = strategy is not None and num_workers(strategy) > 1
        self.chief = strategy is None or is_chief(strategy)
        self.config = config
        self.history = history
        self.user_callbacks = callbacks
        self.val_data = val_data
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every
        self.t_offset = t_offset
        self.stopped = False
        self.saved_step = -1
        self.t0 = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        # One Keras "epoch" is one step, so ``logs["loss"]`` is exactly this step's loss.
        step = epoch + 1
        loss = float(logs["loss"])
        if not math.isfinite(loss):
            raise FloatingPointError(f"training loss became {loss} at step {step}")
        elapsed = time.perf_counter() - self.t0
        h = self.history
        h["step"].append(step)
        h["loss"].append(loss)
        h["time"].append(round(self.t_offset + elapsed, 4))
        h["train_seconds"] = self.t_offset + elapsed
        vp = vs = None
        if self.chief:  # other workers of a cluster neither validate nor report
            if step % self.config.validate_every == 0 or step == self.config.steps:
                vp, vs = validate(self.model, self.val_data, self.config.normalise)
                h["val_step"].append(step)
                h["val_psnr"].append(vp)
                h["val_ssim"].append(vs)
            record = TrainProgress(step, self.config.steps, loss, vp, vs, elapsed)
            for cb in self.user_callbacks:
                if cb(record) is True:
                    self.stopped = True
        if self.multi and step < self.config.steps:
            self.stopped = any_worker(self.strategy, self.stopped)  # all stop at the same step
        if self.stopped and step < self.config.steps:
            self.model.stop_training = True
        if self.checkpoint_dir is not None and step < self.config.steps and (
            self.stopped or step % self.checkpoint_every == 0
        ):
            _save_checkpoint(self.checkpoint_dir, self.model, self.config, self.history)
            if not self.chief:
                shutil.rmtree(self.checkpoint_dir, ignore_errors=True)
            self.saved_step = step


def train(
    config: TrainConfig,
    callbacks: Sequence[Union[ProgressCallback, keras.callbacks.Callback]] = (),
    *,
    checkpoint_dir: Union[str, os.PathLike, None] = None,
    checkpoint_every: Optional[int] = None,
    strategy: Optional[tf.distribute.Strategy] = None,
    remove_checkpoint: bool = True,
) -> TrainResult:
    """Train the network described by ``config`` (Adam, MSE) on simulated random ellipses.

    Args:
        config: architecture, sampling, data and optimisation settings.
        callbacks: plain callables ``f(TrainProgress) -> bool | None`` (called after every step;
            returning ``True`` stops training) and/or ``keras.callbacks.Callback`` objects
            (passed to ``model.fit``).
        checkpoint_dir: where to keep a resumable checkpoint (``checkpoint-<step>.keras`` +
            ``state.json``). If it already holds one for this config, training resumes from
            it. ``None``: no checkpoints.
        checkpoint_every: checkpoint interval in steps (default ``config.validate_every``).
        strategy: a ``tf.distribute.Strategy``; default
            :func:`recon_core.dl.distribute.default_strategy` (multi-worker when ``TF_CONFIG``
            names several workers; see the module docstring).
        remove_checkpoint: delete ``checkpoint_dir`` once training completes. With False, the
            finished model is checkpointed too, and a new call returns it without training
            (the cache does this and deletes the checkpoint once its entry is written).

    Returns:
        :class:`TrainResult`. ``completed`` is False when a callback stopped the training; the
        checkpoint then holds the last step, and a new call resumes from it. On a cluster's
        other workers the history has no validation entries (only the chief validates).

    Raises:
        FloatingPointError: the loss became NaN or infinite.
        recon_core.dl.distribute.ClusterMismatchError: the workers of a cluster found
            different checkpoints.
    """
    if not isinstance(config, TrainConfig):
        raise ValueError(f"config must be a TrainConfig, got {type(config).__name__}")
    progress_cbs = [cb for cb in callbacks if not isinstance(cb, keras.callbacks.Callback)]
    keras_cbs = [cb for cb in callbacks if isinstance(cb, keras.callbacks.Callback)]
    for cb in progress_cbs:
        if not callable(cb):
            raise ValueError(f"callbacks must be callables or keras Callbacks, got {cb!r}")
    checkpoint_every = int(checkpoint_every or config.validate_every)
    if checkpoint_every < 1:
        raise ValueError(f"checkpoint_every must be >= 1, got {checkpoint_every}")
    ckpt = Path(checkpoint_dir) if checkpoint_dir is not None else None
    strategy = strategy or default_strategy()
    multi = num_workers(strategy) > 1
    chief = is_chief(strategy)
    if multi and config.batch_size < strategy.num_replicas_in_sync:
        raise ValueError(
            f"batch_size={config.batch_size} is smaller than the {strategy.num_replicas_in_sync} "
            "replicas of the cluster: every replica needs at least one example per step"
        )

    info = load_checkpoint_info(ckpt, config) if ckpt is not None else None
    start = info["step"] if info else 0
    check_workers_agree(start, strategy, ckpt)
    # Multi-worker: only the chief writes to ``ckpt``; the others write into (and delete) a
    # temporary directory of their own, the usual Keras pattern.
    write_dir = ckpt
    if ckpt is not None and not chief:
        write_dir = Path(tempfile.mkdtemp(prefix="recon-lab-worker-ckpt-"))
    history = info["history"] if info else _empty_history()
    if info and start < config.steps:
        history["resumed_from"].append(start)
    with strategy.scope():
        if info:
            model = keras.models.load_model(info["model_file"])
        else:
            model = build_model(config)
            model.compile(optimizer=make_optimizer(config), loss="mse")
            model(_dummy_inputs(model))  # build the weights inside the scope

    val_data = validation_set(config, with_noise_std=True)
    bridge = _Bridge(config, history, progress_cbs, val_data, write_dir, checkpoint_every,
                     float(history["train_seconds"]), strategy)
    dataset = train_dataset(config, start_step=start)
    if multi:
        dataset = shard_by_data(dataset)  # each worker trains on its share of a batch
    try:
        _fit(model, dataset, config, start, bridge, keras_cbs, ckpt, write_dir, remove_checkpoint,
             chief)
    finally:
        if write_dir is not None and write_dir != ckpt:
            shutil.rmtree(write_dir, ignore_errors=True)
    done = history["step"][-1] if history["step"] else 0
    return TrainResult(model=model, config=config, history=history,
                       completed=done >= config.steps)


def _fit(model, dataset, config, start, bridge, keras_cbs, ckpt, write_dir, remove_checkpoint,
         chief):
    history = bridge.history
    if start < config.steps:
        model.fit(
            dataset,
            epochs=config.steps, initial_epoch=start, steps_per_epoch=1,
            callbacks=[bridge, *keras_cbs], verbose=0, shuffle=False,
        )
    done = history["step"][-1] if history["step"] else 0
    completed = done >= config.steps
    if not completed and ckpt is not None and bridge.saved_step != done:
        _save_checkpoint(write_dir, model, config, history)  # stopped by a Keras callback
    if completed and ckpt is not None:
        if remove_checkpoint:
            if chief:
                shutil.rmtree(ckpt, ignore_errors=True)
        elif start < config.steps:
            # Keep the finished model until the caller has stored it safely elsewhere.
            _save_checkpoint(write_dir, model, config, history)
