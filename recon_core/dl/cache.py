"""On-disk model cache keyed by the hash of a :class:`~recon_core.dl.config.TrainConfig`.

Nobody waits for the same training twice: :func:`get_or_train` returns the cached network of a
config when there is one and trains (then stores) it otherwise.

Layout of a cache directory (default ``$RECON_LAB_CACHE`` or ``~/.cache/mri-recon-lab/models``)::

    <hash>/model.keras      the network, uncompiled (weights only, no optimizer state)
    <hash>/config.json      TrainConfig.to_dict()
    <hash>/history.json     training history (see recon_core.dl.training.TrainResult)
    <hash>/meta.json        sha256 and size of the three files above, creation time, versions
    <hash>.lock             file lock: one process trains a config, the others wait for it
    <hash>.partial/         resumable checkpoint of an unfinished training

Guarantees:

* atomic entries: an entry is written into ``<hash>.tmp-<pid>-<random>/`` and renamed to
  ``<hash>/`` when complete, so an interrupted training or write leaves no entry;
* one training per config across processes (``filelock.FileLock`` around check-train-write);
* validation on load (files present, checksums, config hash, the model loads); a corrupt entry
  is reported with ``warnings.warn`` and rebuilt;
* bounded size: after a write, the least recently used entries and abandoned checkpoints
  are evicted until their total is at most ``max_bytes`` (a hit refreshes an entry's access
  time; the checkpoint of a training in progress is locked and never evicted); temporary
  directories left by a crashed process are removed after an hour.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

import filelock
import keras
import numpy as np
import tensorflow as tf

from recon_core.dl.config import TrainConfig
from recon_core.dl.training import ProgressCallback, inference_copy, save_model, train

__all__ = [
    "CACHE_ENV_VAR",
    "DEFAULT_MAX_BYTES",
    "CacheEntryError",
    "TrainedModel",
    "ModelCache",
    "default_cache_dir",
    "get_or_train",
]

#: Environment variable that overrides the default cache directory.
CACHE_ENV_VAR = "RECON_LAB_CACHE"
#: Default size bound of a cache directory (bytes).
DEFAULT_MAX_BYTES = 500 * 2**20

_FILES = ("model.keras", "config.json", "history.json")
_META = "meta.json"
_ENTRY_FORMAT = 1
#: Leftover temporary directories older than this (seconds) belong to a crashed process.
_STALE_SECONDS = 3600.0


class CacheEntryError(RuntimeError):
    """A cache entry is missing files, fails its checksums or does not load."""


@dataclass
class TrainedModel:
    """A trained network and where it came from.

    Attributes:
        model: the Keras network (see :func:`recon_core.dl.models.reconstruct`).
        config: its :class:`TrainConfig`.
        history: its training history (``step``, ``loss``, ``val_psnr``, ...).
        from_cache: True when loaded from disk (cache or shipped file) without training.
        completed: False when a callback stopped the training early (nothing was cached; the
            model is the partially trained one, and the next request resumes).
        path: the entry's directory or file, if any.
    """

    model: keras.Model
    config: TrainConfig
    history: dict[str, Any]
    from_cache: bool
    completed: bool = True
    path: Optional[Path] = None
    meta: dict[str, Any] = field(default_factory=dict)


def default_cache_dir() -> Path:
    """``$RECON_LAB_CACHE`` if set, else ``~/.cache/mri-recon-lab/models``."""
    env = os.environ.get(CACHE_ENV_VAR)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "mri-recon-lab" / "models"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _write_json(path: Path, data: Any) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=1)
        fh.flush()
        os.fsync(fh.fileno())


def _remove_tree(path: Path) -> None:
    """Remove a directory so that it disappears at once (rename first, then delete)."""
    if not path.exists():
        return
    trash = path.with_name(f"{path.name}.trash-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        os.replace(path, trash)
    except OSError:
        trash = path
    shutil.rmtree(trash, ignore_errors=True)


def _dir_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


class ModelCache:
    """A directory of trained networks keyed by ``TrainConfig.config_hash()``.

    Args:
        directory: cache directory (created on demand); default :func:`default_cache_dir`.
        max_bytes: size bound of the entries and checkpoints together; the least recently
            used beyond it are evicted after each new entry. ``None``: :data:`DEFAULT_MAX_BYTES`.

    :Examples:

    >>> import tempfile
    >>> cache = ModelCache(tempfile.mkdtemp())
    >>> cache.entries()
    []
    """

    def __init__(self, directory: Union[str, os.PathLike, None] = None,
                 max_bytes: Optional[int] = None):
        self.directory = Path(directory) if directory is not None else default_cache_dir()
        self.max_bytes = DEFAULT_MAX_BYTES if max_bytes is None else int(max_bytes)
        if self.max_bytes < 0:
            raise ValueError(f"max_bytes must be >= 0, got {max_bytes}")

    # ----------------------------------------------------------------------------- paths

    def entry_path(self, config: TrainConfig) -> Path:
        """Directory of the entry of ``config`` (it may not exist)."""
        return self.directory / config.config_hash()

    def checkpoint_path(self, config: TrainConfig) -> Path:
        """Directory of the resumable checkpoint of ``config`` (it may not exist)."""
        return self.directory / f"{config.config_hash()}.partial"

    def _lock(self, key: str, timeout: float = -1) -> filelock.FileLock:
        self.directory.mkdir(parents=True, exist_ok=True)
        return filelock.FileLock(str(self.directory / f"{key}.lock"), timeout=timeout)

    # ----------------------------------------------------------------------------- reading

    def entries(self) -> list[Path]:
        """Complete entries (directories with a ``meta.json``), least recently used first."""
        if not self.directory.is_dir():
            return []
        found = [p for p in self.directory.iterdir()
                 if p.is_dir() and len(p.name) == 16 and "." not in p.name and (p / _META).is_file()]
        return sorted(found, key=lambda p: p.stat().st_mtime)

    def checkpoints(self) -> list[Path]:
        """Resumable checkpoints (``<hash>.partial/``) of unfinished trainings, oldest first."""
        if not self.directory.is_dir():
            return []
        found = [p for p in self.directory.iterdir()
                 if p.is_dir() and p.name.endswith(".partial") and len(p.name) == 16 + 8]
        return sorted(found, key=lambda p: p.stat().st_mtime)

    def size_bytes(self) -> int:
        """Total size of the complete entries and the checkpoints, in bytes."""
        return sum(_dir_bytes(p) for p in self.entries() + self.checkpoints())

    def contains(self, config: TrainConfig) -> bool:
        """True when ``config`` has an entry (not validated)."""
        return (self.entry_path(config) / _META).is_file()

    def load(self, config: TrainConfig) -> TrainedModel:
        """Load and validate the entry of ``config``.

        Raises:
            FileNotFoundError: there is no entry.
            CacheEntryError: the entry is incomplete, corrupt or for another config.
        """
        path = self.entry_path(config)
        if not path.is_dir():
            raise FileNotFoundError(f"no cache entry for config {config.config_hash()} in {self.directory}")
        try:
            with open(path / _META, encoding="utf-8") as fh:
                meta = json.load(fh)
            for name in _FILES:
                expected = meta["files"][name]["sha256"]
                if _sha256(path / name) != expected:
                    raise CacheEntryError(f"checksum mismatch for {name}")
            with open(path / "config.json", encoding="utf-8") as fh:
                stored = TrainConfig.from_dict(json.load(fh))
            if stored.config_hash() != config.config_hash():
                raise CacheEntryError(f"entry holds config {stored.config_hash()}")
            with open(path / "history.json", encoding="utf-8") as fh:
                history = json.load(fh)
            model = keras.models.load_model(path / "model.keras", compile=False)
        except CacheEntryError:
            raise
        except Exception as exc:  # missing file, bad JSON, keys, unloadable model...
            raise CacheEntryError(f"{type(exc).__name__}: {exc}") from exc
        try:
            os.utime(path)  # last access, for LRU eviction
        except OSError:
            pass
        return TrainedModel(model, stored, history, from_cache=True, path=path, meta=meta)

    # ----------------------------------------------------------------------------- writing

    def store(self, config: TrainConfig, model: keras.Model, history: dict[str, Any]) -> Path:
        """Write an entry atomically (temporary directory, then rename) and evict old ones.

        The caller should hold the config's lock (:meth:`get_or_train` does).
        """
        final = self._write_entry(config, model, history)
        self.evict(keep=(config.config_hash(),))
        return final

    def _write_entry(self, config: TrainConfig, model: keras.Model, history: dict[str, Any]) -> Path:
        key = config.config_hash()
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self.directory / f"{key}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
        tmp.mkdir()
        try:
            save_model(inference_copy(model), tmp / "model.keras")
            _write_json(tmp / "config.json", config.to_dict())
            _write_json(tmp / "history.json", history)
            meta = {
                "format": _ENTRY_FORMAT,
                "config_hash": key,
                "created": time.time(),
                "files": {n: {"sha256": _sha256(tmp / n), "bytes": (tmp / n).stat().st_size}
                          for n in _FILES},
                "versions": {"tensorflow": tf.__version__, "keras": keras.__version__,
                             "numpy": np.__version__},
            }
            _write_json(tmp / _META, meta)
            final = self.directory / key
            _remove_tree(final)
            os.replace(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return final

    def evict(self, keep: Sequence[str] = ()) -> list[str]:
        """Remove the least recently used entries and checkpoints until the total size is at
        most ``max_bytes``; also delete temporary directories of crashed processes.

        Keys named in ``keep`` and keys locked by another process (a training or a write in
        progress) are skipped.

        Returns:
            The names of the directories removed (``<hash>`` or ``<hash>.partial``).
        """
        now = time.time()
        for leftover in [*self.directory.glob("*.tmp-*"), *self.directory.glob("*.trash-*")]:
            try:
                stale = now - leftover.stat().st_mtime > _STALE_SECONDS
            except OSError:
                continue  # removed meanwhile
            if stale:
                shutil.rmtree(leftover, ignore_errors=True)
        candidates = sorted(self.entries() + self.checkpoints(), key=lambda p: p.stat().st_mtime)
        sizes = {p: _dir_bytes(p) for p in candidates}
        total = sum(sizes.values())
        removed = []
        for path in candidates:
            if total <= self.max_bytes:
                break
            key = path.name.split(".")[0]
            if key in keep:
                continue
            lock = self._lock(key, timeout=0)
            try:
                with lock:
                    _remove_tree(path)
            except filelock.Timeout:
                continue
            total -= sizes[path]
            removed.append(path.name)
        return removed

    def remove(self, config: TrainConfig) -> None:
        """Delete the entry and the checkpoint of ``config`` (if any)."""
        with self._lock(config.config_hash()):
            _remove_tree(self.entry_path(config))
            _remove_tree(self.checkpoint_path(config))

    def clear(self) -> None:
        """Delete every entry, checkpoint and leftover temporary directory."""
        if self.directory.is_dir():
            for p in self.directory.iterdir():
                if p.is_dir():
                    _remove_tree(p)

    def _try_load(self, config: TrainConfig) -> Optional[TrainedModel]:
        if not self.entry_path(config).exists():
            return None
        try:
            return self.load(config)
        except (CacheEntryError, FileNotFoundError) as exc:
            if not self.entry_path(config).exists():
                return None  # evicted or removed by another process while we read it: a miss
            warnings.warn(
                f"cache entry {self.entry_path(config)} is corrupt ({exc}); rebuilding it",
                RuntimeWarning, stacklevel=3,
            )
            return None

    def get_or_train(
        self,
        config: TrainConfig,
        callbacks: Sequence[Union[ProgressCallback, keras.callbacks.Callback]] = (),
        on_progress: Optional[ProgressCallback] = None,
        *,
        train_fn: Callable[..., Any] = train,
    ) -> TrainedModel:
        """The trained network of ``config``: from the cache, or trained and stored.

        Args:
            config: the training configuration.
            callbacks: passed to :func:`recon_core.dl.training.train` (progress callables and/or
                Keras callbacks).
            on_progress: one more progress callable (returning True stops training).
            train_fn: the training function (for tests); same signature as ``train``.

        Returns:
            :class:`TrainedModel`. ``from_cache`` tells whether training was skipped;
            ``completed`` is False when a callback stopped training, in which case nothing is
            stored and the next call resumes from the checkpoint.
        """
        if not isinstance(config, TrainConfig):
            raise ValueError(f"config must be a TrainConfig, got {type(config).__name__}")
        hit = self._try_load(config)
        if hit is not None:
            return hit
        key = config.config_hash()
        with self._lock(key):
            # Another process may have finished this config while we waited for the lock.
            hit = self._try_load(config)
            if hit is not None:
                return hit
            _remove_tree(self.entry_path(config))  # a corrupt entry, if any
            for leftover in self.directory.glob(f"{key}.tmp-*"):
                shutil.rmtree(leftover, ignore_errors=True)
            cbs = list(callbacks) + ([on_progress] if on_progress is not None else [])
            result = train_fn(config, cbs, checkpoint_dir=self.checkpoint_path(config),
                              remove_checkpoint=False)
            if not result.completed:
                return TrainedModel(result.model, config, result.history, from_cache=False,
                                    completed=False, path=self.checkpoint_path(config))
            path = self._write_entry(config, result.model, result.history)
            _remove_tree(self.checkpoint_path(config))  # before eviction: it no longer counts
            self.evict(keep=(key,))
            return TrainedModel(inference_copy(result.model), config, result.history,
                                from_cache=False, path=path)


def get_or_train(
    config: TrainConfig,
    cache_dir: Union[str, os.PathLike, None] = None,
    callbacks: Sequence[Union[ProgressCallback, keras.callbacks.Callback]] = (),
    on_progress: Optional[ProgressCallback] = None,
    *,
    max_bytes: Optional[int] = None,
) -> TrainedModel:
    """Cached training: ``ModelCache(cache_dir, max_bytes).get_or_train(config, ...)``.

    A second request for the same config (in this or any other process) loads the stored
    network instead of training; concurrent requests train it once.
    """
    return ModelCache(cache_dir, max_bytes).get_or_train(config, callbacks, on_progress)
