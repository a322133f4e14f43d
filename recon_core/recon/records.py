"""What a solve reports: one :class:`IterationRecord` per iteration, and the final :class:`TVResult`.

These are the public status types every solver's callback and generator hand out; nothing
private leaves a solver module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace

import numpy as np

from recon_core.metrics import psnr, ssim
from recon_core.recon.configs import SolverConfig

__all__ = ["ImageSnapshot", "IterationRecord", "SolveResult", "TVResult", "Callback", "RECORD_FIELDS"]

#: The per-iteration numbers every solver records, in this order.
RECORD_FIELDS: tuple[str, ...] = ("objective", "data_term", "tv_term", "rel_change", "psnr", "ssim")


class ImageSnapshot:
    """The current iterate, fetched from the solver on demand (calling it copies it to NumPy).

    Solvers run in compiled chunks of iterations; every record of a chunk carries the snapshot
    of the chunk's last iterate, and :attr:`iteration` says which iteration that is.

    Args:
        tensor: the iterate in the solver's layout.
        iteration: the iteration (1-based) the iterate belongs to.
        to_numpy: turns ``tensor`` into a complex64 (H, W) array in the centred layout.
    """

    def __init__(self, tensor, iteration: int, to_numpy: Callable[[object], np.ndarray]):
        self._tensor = tensor
        self._to_numpy = to_numpy
        self.iteration = int(iteration)

    def __call__(self) -> np.ndarray:
        """The image, complex64 (H, W), centred (DC of its k-space at (H // 2, W // 2))."""
        return self._to_numpy(self._tensor)

    def __repr__(self) -> str:
        return f"<ImageSnapshot of iteration {self.iteration}>"


@dataclass(frozen=True)
class IterationRecord:
    """Per-iteration status of a TV solve.

    Attributes:
        iteration: 1-based iteration number.
        objective: ``data_term + lam * tv_term``.
        data_term: ``0.5 * ||A x - y||^2``.
        tv_term: isotropic TV of the iterate.
        rel_change: ``||x_k - x_{k-1}|| / ||x_k||``.
        psnr, ssim: against the reference (NaN without one), computed in the solver's graph
            with the fastMRI conventions (magnitudes, data range = reference max, 7x7 uniform
            SSIM window as in scikit-image); they agree with :mod:`recon_core.metrics` to
            about 1e-3.
        elapsed_s: seconds since the solve started.
        image: the current iterate (see :class:`ImageSnapshot`); ``None`` in
            :attr:`TVResult.history`, which keeps numbers only.
    """

    iteration: int
    objective: float
    data_term: float
    tv_term: float
    rel_change: float
    psnr: float
    ssim: float
    elapsed_s: float
    image: ImageSnapshot | None = field(default=None, repr=False, compare=False)

    def without_image(self) -> IterationRecord:
        """The same record, not holding on to the iterate (for histories)."""
        return self if self.image is None else replace(self, image=None)


#: A callback receives each record; returning True stops the solve.
Callback = Callable[[IterationRecord], "bool | None"]

_NUMBER_FIELDS = tuple(f.name for f in fields(IterationRecord) if f.name != "image")


def make_record(iteration: int, values, elapsed: float, image: ImageSnapshot | None) -> IterationRecord:
    """An :class:`IterationRecord` from the values of :data:`RECORD_FIELDS`, in order."""
    obj, data, tv, rc, p, s = (float(v) for v in values)
    return IterationRecord(iteration, obj, data, tv, rc, p, s, elapsed, image)


@dataclass(kw_only=True)
class SolveResult:
    """What every iterative reconstruction returns.

    Attributes:
        image: complex64 array, shape (H, W), centred: the reconstruction (``abs`` to show it);
            (M, H, W), one image per set, for M sets of coil maps (:attr:`magnitude` combines).
        converged: True if the tolerance test stopped the solve.
        stopped: True if the callback stopped the solve.
        elapsed_s: wall time of the solve (seconds), including metric computation.
        metrics: final ``{"psnr", "ssim"}`` against the reference (empty without one).
    """

    image: np.ndarray
    converged: bool = False
    stopped: bool = False
    elapsed_s: float = 0.0
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def magnitude(self) -> np.ndarray:
        """float32 (H, W): ``|image|``, or the root-sum-of-squares over the images of several
        sets of maps (soft SENSE gives an (M, H, W) image)."""
        img = np.asarray(self.image)
        mag = np.abs(img) if img.ndim == 2 else np.sqrt(np.sum(np.abs(img) ** 2, axis=0))
        return mag.astype(np.float32)

    def score(self, reference: np.ndarray | None) -> None:
        """Fill :attr:`metrics` from ``reference`` (magnitude, fastMRI conventions)."""
        if reference is not None:
            ref, mag = np.abs(np.asarray(reference)), self.magnitude
            self.metrics = {"psnr": psnr(ref, mag), "ssim": ssim(ref, mag)}


@dataclass(kw_only=True)
class TVResult(SolveResult):
    """Outcome of :func:`recon_core.recon.driver.reconstruct_tv` (fields of
    :class:`SolveResult`, and:)

    Attributes:
        history: one :class:`IterationRecord` per iteration run (numbers only).
        method: solver name.
        lam: regularisation weight (the value used, also when it was chosen automatically).
        config: the solver settings used.
        lam_choice: how ``lam="auto"`` chose it
            (:class:`~recon_core.recon.auto_lambda.AutoLambda`), else None.
    """

    history: list[IterationRecord]
    method: str
    lam: float
    config: SolverConfig
    lam_choice: object | None = None

    @property
    def n_iter(self) -> int:
        """Number of iterations run."""
        return len(self.history)

    def history_arrays(self) -> dict[str, np.ndarray]:
        """The history as a dict of 1-D arrays keyed by :class:`IterationRecord` field."""
        return {k: np.array([getattr(r, k) for r in self.history]) for k in _NUMBER_FIELDS}
