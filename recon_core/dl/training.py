"""Training loop: ``train(config, callbacks)`` with live progress, stop requests and resume.

Training runs ``model.fit`` on the seeded :func:`recon_core.dl.data.train_dataset`
inside a ``tf.distribute`` strategy (one device by default, every GPU when several are
present, every worker of a cluster when ``TF_CONFIG`` names several: see *Multi-worker*
below). After every step, plain-Python callbacks receive a :class:`TrainProgress` record
(step, loss, and validation PSNR/SSIM every ``config.validate_every`` steps); a callback that
returns ``True`` stops the training. Keras callbacks can be passed too.

Resume: with a ``checkpoint_dir``, the compiled model (weights and optimizer state) and the
history so far are written there atomically every ``checkpoint_every`` steps and when training
stops early; calling :func:`train` again with the same directory continues from that step on
the very same data stream. The UI pattern mirrors :mod:`recon_core.recon.driver`::

    def on_progress(p):            # p: TrainProgress
        chart.add(p.step, p.loss)
        return stop_requested()    # True stops training (a checkpoint is kept)

    result = train(DEFAULT_RESCNN, callbacks=[on_progress], checkpoint_dir="ckpt/")

Multi-worker: when the ``TF_CONFIG`` environment variable describes a cluster of two or more
workers (``"chief"`` and ``"worker"`` tasks together), :func:`default_strategy` returns a
``tf.distribute.MultiWorkerMirroredStrategy`` (one per process), and every worker runs the
same :func:`train` call. That strategy must be created before any other TensorFlow
operation of the process, so call :func:`default_strategy` first thing in the program (the
command line, :mod:`recon_core.dl.train`, does). The global batch stays
``config.batch_size``: the data stream is sharded with ``AutoShardPolicy.DATA``, so every
worker generates the same seeded stream and trains on its own part of each global batch (the
examples of a step are those of a one-machine training, split between workers, and stay
deterministic and resumable). Only the chief (:func:`is_chief`) validates, calls the progress
callbacks and writes to ``checkpoint_dir``; the other workers save their checkpoints into a
temporary directory and delete it (saving may take part in collective operations, so every
worker saves). A stop requested on the chief stops every worker at the same step. To resume,
every worker reads the checkpoint in ``checkpoint_dir``, which must then be on a file system
they share; workers that find different checkpoints raise ``RuntimeError`` rather than train
apart.
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
from recon_core.dl.models import ResCNN, UnrolledNet, reconstruct
from recon_core.dl.config import TrainConfig
from recon_core.dl.data import train_dataset, validation_set

__all__ = [
    "TF_CONFIG_VAR",
    "ClusterMismatchError",
    "ClusterTask",
    "TrainProgress",
    "TrainResult",
    "broadcast_from_chief",
    "cluster_task",
    "is_chief",
    "build_model",
    "make_optimizer",
    "default_strategy",
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
        return [z, z, np.ones((1, size, size, 1), np.float32)]
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


class ClusterMismatchError(RuntimeError):
    """The workers of a multi-worker training disagree on where to start (their checkpoints
    differ); raised on every worker at once, before any training step."""


#: Environment variable that describes a ``tf.distribute`` cluster (JSON).
TF_CONFIG_VAR = "TF_CONFIG"


@dataclass(frozen=True)
class ClusterTask:
    """This process's place in a multi-worker cluster (parsed from ``TF_CONFIG``).

    Attributes:
        n_workers: number of training workers (``"chief"`` and ``"worker"`` tasks).
        task_type: ``"chief"`` or ``"worker"``.
        task_index: index of this task in its list.
        has_chief: the cluster names a ``"chief"`` task (else worker 0 is the chief).
    """

    n_workers: int
    task_type: str
    task_index: int
    has_chief: bool = False

    @property
    def is_chief(self) -> bool:
        """True for the task that writes checkpoints and results (tf.distribute's rule)."""
        if self.has_chief:
            return self.task_type == "chief"
        return self.task_index == 0


def cluster_task(tf_config: Optional[str] = None) -> Optional[ClusterTask]:
    """The multi-worker cluster ``TF_CONFIG`` describes, or ``None`` for one machine.

    Args:
        tf_config: the JSON text; default the ``TF_CONFIG`` environment variable.

    Returns:
        :class:`ClusterTask` when the cluster lists two or more workers (``"chief"`` and
        ``"worker"`` tasks together); ``None`` when ``TF_CONFIG`` is unset, empty or names
        fewer (training then runs on this machine as without it).

    Raises:
        ValueError: ``TF_CONFIG`` is not valid JSON, or this task is not a worker of it.

    :Examples:

    >>> cluster_task('{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 0}}')
    >>> t = cluster_task('{"cluster": {"worker": ["a:1", "b:2"]}, '
    ...                  '"task": {"type": "worker", "index": 1}}')
    >>> t.n_workers, t.is_chief
    (2, False)
    """
    raw = os.environ.get(TF_CONFIG_VAR, "") if tf_config is None else tf_config
    if not raw.strip():
        return None
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ValueError(f"{TF_CONFIG_VAR} is not valid JSON ({exc})") from None
    cluster = data.get("cluster") if isinstance(data, dict) else None
    if not isinstance(cluster, dict):
        raise ValueError(f'{TF_CONFIG_VAR} must be a JSON object with a "cluster" object, got {raw!r}')
    tasks = {}
    for kind in ("chief", "worker"):
        addresses = cluster.get(kind) or []
        if not isinstance(addresses, list):
            raise ValueError(f'{TF_CONFIG_VAR}: cluster["{kind}"] must be a list of "host:port"')
        tasks[kind] = addresses
    n_workers = len(tasks["chief"]) + len(tasks["worker"])
    if n_workers < 2:
        return None
    task = data.get("task")
    task_type = task.get("type") if isinstance(task, dict) else None
    index = task.get("index", 0) if isinstance(task, dict) else None
    if task_type not in tasks:
        raise ValueError(
            f'{TF_CONFIG_VAR}: task type must be "worker" or "chief" for training, got {task_type!r}'
        )
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(tasks[task_type]):
        raise ValueError(
            f"{TF_CONFIG_VAR}: task index {index!r} is not in the cluster's "
            f"{len(tasks[task_type])} {task_type} task(s)"
        )
    return ClusterTask(n_workers, task_type, index, has_chief=bool(tasks["chief"]))


class _MultiWorkerMirroredStrategy(tf.distribute.MultiWorkerMirroredStrategy):
    """``MultiWorkerMirroredStrategy`` whose ``reduce`` accepts a nest of per-replica values,
    as ``MirroredStrategy``'s does. Keras 3's ``fit`` reduces a whole ``(inputs, target)``
    batch to build the model, which the plain strategy rejects once there are several workers
    ("Attempt to convert a value (PerReplica...)", keras-team/keras#20585); and it reduces each
    step's scalar logs with ``axis=0``, which a scalar does not have ("Invalid reduction
    dimension 0"): a scalar is reduced over the replicas alone."""

    def reduce(self, reduce_op, value, axis):
        if isinstance(value, (tuple, list, dict)):
            parent = super()
            return tf.nest.map_structure(lambda v: parent.reduce(reduce_op, v, axis), value)
        if axis is not None:
            local = self.experimental_local_results(value)[0]
            if getattr(local, "shape", None) is not None and local.shape.rank == 0:
                axis = None
        return super().reduce(reduce_op, value, axis)


_MULTI_WORKER: Optional[tf.distribute.Strategy] = None


def _multi_worker_strategy() -> tf.distribute.Strategy:
    global _MULTI_WORKER
    if _MULTI_WORKER is None:
        try:
            _MULTI_WORKER = _MultiWorkerMirroredStrategy()
        except (RuntimeError, ValueError) as exc:
            raise RuntimeError(
                f"cannot create MultiWorkerMirroredStrategy ({exc}); with {TF_CONFIG_VAR} set it "
                "must be created before any other TensorFlow operation of the process: call "
                "recon_core.dl.training.default_strategy() first thing"
            ) from exc
    return _MULTI_WORKER


def default_strategy() -> tf.distribute.Strategy:
    """The strategy :func:`train` uses by default.

    * ``TF_CONFIG`` names two or more workers (:func:`cluster_task`): a
      ``MultiWorkerMirroredStrategy``, created once per process and returned again by later
      calls. It must be created before any other TensorFlow operation of the process, so call
      this first thing in a program meant for a cluster.
    * else ``MirroredStrategy`` over all GPUs when there are several, else one device (GPU or
      CPU).
    """
    if cluster_task() is not None:
        return _multi_worker_strategy()
    gpus = tf.config.list_logical_devices("GPU")
    if len(gpus) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else "/cpu:0")


def _num_workers(strategy: tf.distribute.Strategy) -> int:
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None:
        return 1
    spec = resolver.cluster_spec().as_dict()
    return max(1, len(spec.get("chief", [])) + len(spec.get("worker", [])))


def is_chief(strategy: Optional[tf.distribute.Strategy] = None) -> bool:
    """True unless ``strategy`` (default: the current one) is multi-worker and this process is
    not its chief; the chief alone writes checkpoints, cache entries and reports."""
    strategy = strategy or tf.distribute.get_strategy()
    return bool(getattr(strategy.extended, "should_checkpoint", True))


_REDUCERS: dict[tuple[int, int], Any] = {}


def _sum_over_replicas(strategy: tf.distribute.Strategy, values, chief_only: bool) -> np.ndarray:
    """Sum of a small float vector over every replica of every worker (a collective)."""
    key = (id(strategy), len(values))
    if key not in _REDUCERS:
        def replica_fn(x, chief_only):
            ctx = tf.distribute.get_replica_context()
            x = tf.where(tf.logical_or(tf.logical_not(chief_only),
                                       tf.equal(ctx.replica_id_in_sync_group, 0)),
                         x, tf.zeros_like(x))
            return ctx.all_reduce(tf.distribute.ReduceOp.SUM, x)

        @tf.function
        def step(x, chief_only):
            return strategy.run(replica_fn, args=(x, chief_only))

        _REDUCERS[key] = step
    out = _REDUCERS[key](tf.constant(np.asarray(values, np.float64)), tf.constant(chief_only))
    return strategy.experimental_local_results(out)[0].numpy()


def broadcast_from_chief(values: Sequence[float],
                         strategy: Optional[tf.distribute.Strategy] = None) -> list[float]:
    """The chief's ``values`` (small numbers), on every worker of a multi-worker strategy.

    A collective operation: every worker must call it at the same point of the program. With
    one worker it returns ``values`` as they are.
    """
    strategy = strategy or tf.distribute.get_strategy()
    if _num_workers(strategy) < 2:
        return [float(v) for v in values]
    return [float(v) for v in _sum_over_replicas(strategy, list(values), chief_only=True)]


def _any_worker(strategy: tf.distribute.Strategy, flag: bool) -> bool:
    """True on every worker when ``flag`` is True on any (a collective, as above)."""
    if _num_workers(strategy) < 2:
        return bool(flag)
    return bool(_sum_over_replicas(strategy, [float(bool(flag))], chief_only=False)[0] > 0)


def validate(model: keras.Model, data, normalise: bool = True) -> tuple[float, float]:
    """Mean PSNR (dB) and SSIM of ``model`` on ``(images, kspace, masks)`` (see
    :func:`recon_core.dl.data.validation_set`), with :mod:`recon_core.metrics`; ``normalise``
    as the model was trained (``TrainConfig.normalise``)."""
    images, kspace, masks = data
    recon = reconstruct(model, kspace, masks, normalise=normalise)
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
        self.multi = strategy is not None and _num_workers(strategy) > 1
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
            self.stopped = _any_worker(self.strategy, self.stopped)  # all stop at the same step
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
        strategy: a ``tf.distribute.Strategy``; default :func:`default_strategy` (multi-worker
            when ``TF_CONFIG`` names several workers; see the module docstring).
        remove_checkpoint: delete ``checkpoint_dir`` once training completes. With False, the
            finished model is checkpointed too, and a new call returns it without training
            (the cache does this and deletes the checkpoint once its entry is written).

    Returns:
        :class:`TrainResult`. ``completed`` is False when a callback stopped the training; the
        checkpoint then holds the last step, and a new call resumes from it. On a cluster's
        other workers the history has no validation entries (only the chief validates).

    Raises:
        FloatingPointError: the loss became NaN or infinite.
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
    multi = _num_workers(strategy) > 1
    chief = is_chief(strategy)
    if multi and config.batch_size < strategy.num_replicas_in_sync:
        raise ValueError(
            f"batch_size={config.batch_size} is smaller than the {strategy.num_replicas_in_sync} "
            "replicas of the cluster: every replica needs at least one example per step"
        )

    info = load_checkpoint_info(ckpt, config) if ckpt is not None else None
    start = info["step"] if info else 0
    if multi:
        chief_start = int(broadcast_from_chief([start], strategy)[0])
        if _any_worker(strategy, start != chief_start):
            here = "another worker" if chief else f"this worker from step {start}"
            raise ClusterMismatchError(
                f"the workers found different checkpoints in {ckpt} (the chief resumes from step "
                f"{chief_start}, {here}): put the checkpoint directory on a file system every "
                "worker shares, or delete it there to start afresh"
            )
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

    val_data = validation_set(config)
    bridge = _Bridge(config, history, progress_cbs, val_data, write_dir, checkpoint_every,
                     float(history["train_seconds"]), strategy)
    dataset = train_dataset(config, start_step=start)
    if multi:
        # Every worker generates the same seeded stream and keeps its share of each global batch.
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
        dataset = dataset.with_options(options)
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
