"""Coil-splitting ADMM: same minimiser as the CG-based ADMM, chosen by default for SENSE."""

from __future__ import annotations

import numpy as np
import pytest

from recon_core.coils import simulate_multicoil
from recon_core.espirit import espirit_maps
from recon_core.masks import make_mask
from recon_core.noise import add_noise
from recon_core.phantoms import shepp_logan
from recon_core.recon import AdmmConfig, reconstruct_tv, tv_objective
from recon_core.recon.admm_split import SplitAdmmSolver, coil_split
from recon_core.recon.driver import make_solver
from recon_core.recon.inputs import check_problem
from recon_core.recon.problem import build_problem


def _problem(n=64, coils=4):
    x = shepp_logan(n)
    k, sens = simulate_multicoil(x, coils)
    k = add_noise(k, 30.0, seed=0)
    m = make_mask(x.shape, 4, seed=0)
    return x, k * m, m, sens


def test_split_is_chosen_for_sense_and_not_for_single_coil():
    x, y, m, sens = _problem()
    p = build_problem(check_problem(y, m, 1e-3, None, sens))
    solver = make_solver("admm", p, AdmmConfig())
    assert isinstance(solver, SplitAdmmSolver) and solver.exact  # simulated maps: normalised
    assert not isinstance(make_solver("admm", p, AdmmConfig(coil_split=False)), SplitAdmmSolver)
    single = build_problem(check_problem(y[0], m, 1e-3, None))
    assert coil_split(single.A, single.D) is None


@pytest.mark.parametrize("maps", ["true", "espirit"])
def test_split_reaches_the_same_objective_as_cg_admm(maps):
    x, y, m, sens = _problem()
    if maps == "espirit":
        sens = espirit_maps(y, m, calib=24).maps  # zero outside the support: PCG x-step
    lam = 2e-3
    split = reconstruct_tv(y, m, lam, max_iter=300, sens=sens)
    plain = reconstruct_tv(y, m, lam, config=AdmmConfig(coil_split=False, max_iter=300), sens=sens)
    f_split = tv_objective(split.image, y, m, lam, sens=sens)["objective"]
    f_plain = tv_objective(plain.image, y, m, lam, sens=sens)["objective"]
    assert f_split == pytest.approx(f_plain, rel=5e-3)
    # the recorded objective is the objective of the returned image
    assert split.history[-1].objective == pytest.approx(f_split, rel=1e-3)
    assert np.corrcoef(np.abs(split.image).ravel(), np.abs(plain.image).ravel())[0, 1] > 0.999
