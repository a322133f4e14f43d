"""Where training runs: the ``tf.distribute`` strategy, the ``TF_CONFIG`` cluster, and the few
collective operations the workers of a cluster use to stay in step.

:func:`default_strategy` is the strategy :func:`recon_core.dl.training.train` uses unless it
is given one: one device by default, every GPU when several are present, and every worker of
a cluster when the ``TF_CONFIG`` environment variable describes two or more workers
(``"chief"`` and ``"worker"`` tasks together; :func:`cluster_task` parses it). On a cluster
it is a ``tf.distribute.MultiWorkerMirroredStrategy`` (one per process), and every worker
runs the same ``train`` call. That strategy must be created before any other TensorFlow
operation of the process, so call :func:`default_strategy` first thing in the program (the
command line, :mod:`recon_core.dl.train`, does).

The global batch stays ``config.batch_size``: :func:`shard_by_data` shards the data stream
with ``AutoShardPolicy.DATA``, so every worker generates the same seeded stream and trains on
its own part of each global batch (the examples of a step are those of a one-machine
training, split between workers, and stay deterministic and resumable). Only the chief
(:func:`is_chief`) validates, calls the progress callbacks and writes to the checkpoint
directory. The workers agree through small collectives: :func:`broadcast_from_chief` (the
chief's numbers on every worker), :func:`any_worker` (a stop requested on the chief stops
every worker at the same step) and :func:`check_workers_agree` (workers that found different
checkpoints raise :class:`ClusterMismatchError` rather than train apart). Each is a
collective: every worker must call it at the same point of the program.

Keras 3's ``fit`` cannot use a plain ``MultiWorkerMirroredStrategy`` across several workers
(keras-team/keras#20585); the strategy made here works around that (see its ``reduce``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np
import tensorflow as tf

__all__ = [
    "TF_CONFIG_VAR",
    "ClusterMismatchError",
    "ClusterTask",
    "any_worker",
    "broadcast_from_chief",
    "check_workers_agree",
    "cluster_task",
    "default_strategy",
    "is_chief",
    "num_workers",
    "shard_by_data",
]

#: Environment variable that describes a ``tf.distribute`` cluster (JSON).
TF_CONFIG_VAR = "TF_CONFIG"


class ClusterMismatchError(RuntimeError):
    """The workers of a multi-worker training disagree on where to start (their checkpoints
    differ); raised on every worker at once, before any training step."""


# ---------------------------------------------------------------------------------- cluster


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


# --------------------------------------------------------------------------------- strategy


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
                "recon_core.dl.distribute.default_strategy() first thing"
            ) from exc
    return _MULTI_WORKER


def default_strategy() -> tf.distribute.Strategy:
    """The strategy :func:`recon_core.dl.training.train` uses by default.

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


def num_workers(strategy: tf.distribute.Strategy) -> int:
    """Number of worker processes ``strategy`` spans: the cluster's ``"chief"`` and
    ``"worker"`` tasks for a multi-worker strategy, 1 for any other (one process)."""
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


def shard_by_data(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """``dataset`` with ``AutoShardPolicy.DATA``: distributed over a cluster, every worker
    generates the same (seeded) stream and keeps its own share of each global batch."""
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


# ------------------------------------------------------------------------------ collectives


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
    if num_workers(strategy) < 2:
        return [float(v) for v in values]
    return [float(v) for v in _sum_over_replicas(strategy, list(values), chief_only=True)]


def any_worker(strategy: tf.distribute.Strategy, flag: bool) -> bool:
    """True on every worker when ``flag`` is True on any worker of ``strategy``.

    A collective operation, as :func:`broadcast_from_chief`; with one worker, ``flag``.
    """
    if num_workers(strategy) < 2:
        return bool(flag)
    return bool(_sum_over_replicas(strategy, [float(bool(flag))], chief_only=False)[0] > 0)


def check_workers_agree(start: int, strategy: tf.distribute.Strategy, checkpoint_dir) -> None:
    """Check that every worker resumes from the chief's step ``start`` (a collective).

    Args:
        start: the step this worker's checkpoint resumes from (0: none).
        strategy: the training strategy; with one worker there is nothing to check.
        checkpoint_dir: the checkpoint directory, named in the error message.

    Raises:
        ClusterMismatchError: on every worker, when any worker's ``start`` differs from the
            chief's.
    """
    if num_workers(strategy) < 2:
        return
    chief_start = int(broadcast_from_chief([start], strategy)[0])
    if any_worker(strategy, start != chief_start):
        here = "another worker" if is_chief(strategy) else f"this worker from step {start}"
        raise ClusterMismatchError(
            f"the workers found different checkpoints in {checkpoint_dir} (the chief resumes from "
            f"step {chief_start}, {here}): put the checkpoint directory on a file system every "
            "worker shares, or delete it there to start afresh"
        )
