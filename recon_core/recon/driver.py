r"""TV reconstruction of one slice: pick a solver, run it in compiled chunks, report progress.

All methods minimise the same objective over the complex image :math:`x`:

.. math::

    \min_x \; \tfrac12 \| A x - y \|_2^2 + \lambda \, \mathrm{TV}(x), \qquad
    \mathrm{TV}(x) = \sum_{i} \sqrt{|(D_v x)_i|^2 + |(D_h x)_i|^2}

with :math:`A = M F` (single-coil) or :math:`A = M F S` (multi-coil SENSE, with ``sens=``),
:math:`F` the centred orthonormal 2D FFT, :math:`M` the mask, and :math:`D_v, D_h` forward
differences with periodic boundaries (isotropic TV of the complex image). The problem is built
from operators (:mod:`recon_core.recon.problem`) and handed to one of the solvers written
over operators: ``admm`` (:mod:`~recon_core.recon.admm`, default and fastest), ``pdhg``
(:mod:`~recon_core.recon.pdhg`) or ``gradient`` (:mod:`~recon_core.recon.gradient`, the
tutorial's autodiff + Keras optimizer).

Solvers run in compiled chunks (``tf.function`` + XLA); after every ``callback_every``
iterations the records are handed to the caller's callback, which can stop the solve by
returning ``True``. :func:`tv_iterations` exposes the same as a generator.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator

import numpy as np
from numpy.typing import ArrayLike

from recon_core.checks import check_int
from recon_core.recon.auto_lambda import AutoLambda, auto_lambda, auto_lambda_noncartesian
from recon_core.recon.configs import SolverConfig, resolve_config
from recon_core.recon.monitor import CHUNK_CAP
from recon_core.recon.inputs import check_problem, is_trajectory
from recon_core.recon.problem import TVProblem, build_problem
from recon_core.recon.records import (
    Callback,
    ImageSnapshot,
    IterationRecord,
    TVResult,
    make_record,
)

__all__ = ["reconstruct_tv", "tv_iterations", "make_solver", "resolve_lam"]


def resolve_lam(lam: float | str, kspace: ArrayLike, mask: ArrayLike, sens: ArrayLike | None = None,
                noise: ArrayLike | None = None, noise_std: float | None = None
                ) -> tuple[float, AutoLambda | None]:
    """``(lam, choice)``: a number as it is (choice None), or ``"auto"`` by
    :func:`~recon_core.recon.auto_lambda.auto_lambda` on the masked data.

    Raises:
        ValueError: a string other than ``"auto"``.
    """
    if isinstance(lam, str):
        if lam != "auto":
            raise ValueError(f"lam must be a number >= 0 or 'auto', got {lam!r}")
        if is_trajectory(mask):
            choice = auto_lambda_noncartesian(kspace, mask, sens=sens, noise=noise,
                                              noise_std=noise_std)
            return choice.lam, choice
        m = np.asarray(mask) != 0
        choice = auto_lambda(np.asarray(kspace) * m, m, sens=sens, noise=noise, noise_std=noise_std)
        return choice.lam, choice
    return lam, None


def make_solver(method: str, problem: TVProblem, cfg: SolverConfig):
    """The solver object for ``method`` on ``problem`` (imports only the one it needs)."""
    args = (problem.A, problem.D, problem.y, problem.x0, problem.lam, cfg, problem.reference,
            problem.shifted)
    if method == "admm":
        from recon_core.recon.admm_split import coil_split

        if cfg.coil_split and not cfg.adaptive_rho and coil_split(problem.A, problem.D) is not None:
            from recon_core.recon.admm_split import SplitAdmmSolver

            return SplitAdmmSolver(*args)
        from recon_core.recon.admm import AdmmSolver

        return AdmmSolver(*args)
    if method == "pdhg":
        from recon_core.recon.pdhg import PdhgSolver

        return PdhgSolver(*args)
    from recon_core.recon.gradient import GradientSolver

    return GradientSolver(*args)


def drive_chunks(solver, problem: TVProblem, max_iter: int, chunk: int,
                 t_start: float, ramp: bool = False) -> Iterator[IterationRecord]:
    """Run ``solver`` in chunks of up to ``chunk`` iterations and yield one record each.

    Every record of a chunk carries the snapshot of the chunk's last iterate (its
    ``image.iteration`` says which). Stops at ``max_iter`` or when the tolerance test fires.
    ``ramp``: the first chunks run 1, 2, 4, … iterations up to ``chunk``, so that a live view
    gets its first point after one iteration (chunks of 1 throughout cost about twice the time
    of an ADMM solve at 256²: the per-call overhead).
    """
    it, size = 0, (1 if ramp else chunk)
    while it < max_iter:
        x, recs, done = solver.run(it, min(size, max_iter - it, CHUNK_CAP))
        size = min(2 * size, chunk)
        recs = recs.numpy()
        recs = recs[:6, : int(recs[6, 0])]  # row 6: iterations run in this chunk
        elapsed = time.perf_counter() - t_start
        snapshot = ImageSnapshot(x, it + recs.shape[1], problem.to_image)
        for j in range(recs.shape[1]):
            it += 1
            yield make_record(it, recs[:, j], elapsed, snapshot)
        if bool(done):
            return


def tv_iterations(
    kspace: ArrayLike,
    mask: ArrayLike,
    lam: float | str = "auto",
    method: str = "admm",
    *,
    chunk: int = 1,
    ramp: bool = False,
    problem: TVProblem | None = None,
    **options,
) -> Iterator[tuple[IterationRecord, ImageSnapshot]]:
    """Run a TV solve step by step, yielding ``(record, current_image)`` per iteration.

    The solver runs ``chunk`` iterations per compiled call; records of a chunk are yielded one
    after the other. ``current_image()`` returns the latest image (complex64, (H, W), centred)
    and is also ``record.image``. Breaking out of the loop stops the solve; no work continues
    in the background.

    Args:
        kspace, mask, lam, method: as for :func:`reconstruct_tv`.
        chunk: iterations per compiled call.
        ramp: the first chunks run 1, 2, 4, … iterations up to ``chunk`` (a live view's first
            point after one iteration; :func:`drive_chunks`).
        problem: a problem built before from the same data and sampling
            (:func:`recon_core.recon.problem.build_problem`, any λ and reference): its operators
            (a NUFFT's Toeplitz kernel: ~0.5 s at 256²) are reused with this call's λ and
            reference instead of being built again; ``x0`` is then ignored.
        **options: ``config``, ``max_iter``, ``tol``, ``reference``, ``x0``, ``sens``,
            ``noise`` and ``noise_std``, as for :func:`reconstruct_tv`.

    Raises:
        TypeError: an unknown option.

    :Examples:

    >>> import numpy as np
    >>> from recon_core.ops.fft import fft2c
    >>> k = fft2c(np.eye(16)); m = np.ones((16, 16), bool)
    >>> rec, img = next(tv_iterations(k, m, lam=1e-3, max_iter=5))
    >>> rec.iteration, img().shape
    (1, (16, 16))
    """
    unknown = set(options) - {"config", "max_iter", "tol", "reference", "x0", "sens", "noise",
                              "noise_std"}
    if unknown:
        raise TypeError(f"tv_iterations() got unexpected keyword argument(s) {sorted(unknown)}")
    lam, _ = resolve_lam(lam, kspace, mask, options.get("sens"), options.get("noise"),
                         options.get("noise_std"))
    checked = check_problem(kspace, mask, lam, options.get("reference"), options.get("sens"))
    cfg = resolve_config(method, options.get("config"), options.get("max_iter"), options.get("tol"))
    chunk = check_int(chunk, "chunk", minimum=1)
    t_start = time.perf_counter()
    if checked.sens is not None and checked.sens.ndim == 4 and method != "admm":
        raise ValueError(f"several sets of coil maps (soft SENSE) need method 'admm', not {method!r}")
    if problem is None:
        problem = build_problem(checked, options.get("x0"))
    else:
        problem = dataclasses.replace(problem, lam=checked.lam, reference=checked.reference)
    solver = make_solver(method, problem, cfg)
    for rec in drive_chunks(solver, problem, cfg.max_iter, chunk, t_start, ramp=ramp):
        yield rec, rec.image


def reconstruct_tv(
    kspace: ArrayLike,
    mask: ArrayLike,
    lam: float | str = "auto",
    method: str = "admm",
    max_iter: int | None = None,
    tol: float | None = None,
    callback: Callback | None = None,
    reference: ArrayLike | None = None,
    *,
    config: SolverConfig | None = None,
    callback_every: int = 1,
    x0: ArrayLike | None = None,
    sens: ArrayLike | None = None,
    noise: ArrayLike | None = None,
    noise_std: float | None = None,
) -> TVResult:
    r"""TV-regularised reconstruction of one slice, single-coil or (with ``sens``) multi-coil.

    Minimises :math:`\tfrac12\|Ax-y\|_2^2 + \lambda\,\mathrm{TV}(x)` (see the module docstring).

    Args:
        kspace: complex, shape (H, W) — or (C, H, W) with ``sens`` — centred (DC at
            (H // 2, W // 2)), orthonormal scaling. Values outside the mask are ignored. For a
            trajectory: the samples, (K,) or (C, K), in the trajectory's order.
        mask: bool (or 0/1), shape (H, W); True where k-space was sampled. Or a non-Cartesian
            trajectory (:class:`recon_core.trajectories.Trajectory`, or any object with
            ``points`` (K, 2) in cycles per field of view and ``shape`` (H, W)): the model is
            then ``A = N`` or ``N S`` with the NUFFT ``N`` (:mod:`recon_core.ops.nufft`), every
            method iterates on its Toeplitz normal map, and ``"auto"`` uses
            :func:`~recon_core.recon.auto_lambda.auto_lambda_noncartesian`.
        lam: regularisation weight >= 0, or ``"auto"`` (default): chosen from the noise level
            of the data by :func:`~recon_core.recon.auto_lambda.auto_lambda` (the choice is in
            ``result.lam`` and ``result.lam_choice``).
        method: ``"admm"`` (default, fastest), ``"pdhg"`` or ``"gradient"``.
        max_iter: overrides ``config.max_iter``.
        tol: overrides ``config.tol`` (relative change of the image between iterations).
        callback: called with each :class:`~recon_core.recon.records.IterationRecord`
            (whose ``image`` is the current iterate), in batches of ``callback_every``
            iterations; returning ``True`` stops the solve.
        reference: ground-truth image (H, W); when given, PSNR/SSIM are recorded per iteration
            and the final metrics are computed with :mod:`recon_core.metrics`.
        config: :class:`AdmmConfig`, :class:`PdhgConfig` or :class:`GradientConfig`.
        callback_every: iterations per compiled chunk between callback calls.
        x0: starting image (H, W); default the zero-filled image.
        sens: coil sensitivity maps, complex (C, H, W), for multi-coil ``kspace``: the SENSE
            model ``y_c = M F (S_c x)``; or (M, C, H, W), M sets of maps (soft SENSE, e.g.
            ``espirit_maps(..., n_maps=2)``): ``y_c = M F (sum_m S_mc x_m)``, the image is then
            (M, H, W) and ``result.magnitude`` their root-sum-of-squares (ADMM only).
        noise: noise-scan samples (C, N) for ``lam="auto"`` (see
            :func:`~recon_core.recon.auto_lambda.noise_level`).
        noise_std: the known noise standard deviation per k-space sample, for ``lam="auto"``.

    Returns:
        :class:`~recon_core.recon.records.TVResult` with the complex image and the history.

    Raises:
        ValueError: wrong rank, mask/k-space shape mismatch, NaN/Inf, lam < 0 (or a string
            other than ``"auto"``), unknown method.

    :Examples:

    >>> from recon_core.phantoms import shepp_logan
    >>> from recon_core.ops.fft import fft2c
    >>> import numpy as np
    >>> x = shepp_logan(32); m = np.zeros((32, 32), bool); m[:, ::2] = True; m[:, 12:20] = True
    >>> res = reconstruct_tv(fft2c(x) * m, m, max_iter=20, reference=x)
    >>> res.n_iter, res.metrics["psnr"] > 25
    (20, True)
    """
    cfg = resolve_config(method, config, max_iter, tol)
    lam, choice = resolve_lam(lam, kspace, mask, sens, noise, noise_std)
    callback_every = check_int(callback_every, "callback_every", minimum=1)
    chunk = callback_every if callback is not None else cfg.max_iter
    t0 = time.perf_counter()
    history: list[IterationRecord] = []
    stopped = False
    snapshot: ImageSnapshot | None = None
    gen = tv_iterations(kspace, mask, lam, method, config=cfg, reference=reference,
                        chunk=chunk, x0=x0, sens=sens)
    for rec, snapshot in gen:
        history.append(rec.without_image())
        if callback is not None and callback(rec):
            stopped = True
            # The rest of this chunk is already computed and the image is its last iterate:
            # keep its records so that history and image describe the same iteration.
            while rec.iteration < snapshot.iteration:
                rec, snapshot = next(gen)
                history.append(rec.without_image())
            gen.close()
            break
    assert snapshot is not None
    image = snapshot()
    elapsed = time.perf_counter() - t0
    converged = bool(
        not stopped and history and cfg.tol > 0 and history[-1].rel_change < cfg.tol
    )
    result = TVResult(image=image, history=history, method=method, lam=float(lam), config=cfg,
                      converged=converged, stopped=stopped, elapsed_s=elapsed, lam_choice=choice)
    result.score(reference)
    return result
