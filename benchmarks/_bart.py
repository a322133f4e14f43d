"""Minimal BART bridge for the benchmarks: ``.cfl/.hdr`` files and ``bart pics`` with TV.

BART (Berkeley Advanced Reconstruction Toolbox, Debian package ``bart``) stores an array as two
files: ``name.hdr`` (text, ``# Dimensions`` then 16 sizes) and ``name.cfl`` (raw complex64,
column-major, i.e. the first dimension varies fastest). We write our (H, W) arrays with BART
dims ``[H, W, 1, ...]`` in Fortran order, so BART's dim 0 is our row axis and dim 1 our column
axis. With that layout ``bart fft -u 3`` equals :func:`recon_core.fft2c` (checked by
:func:`check_fft_convention`), so k-space needs no reordering or rescaling.

``bart pics -R T:3:0:lam`` is isotropic TV over dims 0 and 1 (BART thresholds the two gradient
components jointly) with the data term 1/2 ||P F S x - y||^2 and the same unitary centred FFT as
ours; ``-w 1`` fixes BART's data scaling to 1 (by default pics divides y by an estimate of its
scale, which changes the effective lambda). With these settings it minimises the same objective
as :func:`recon_core.recon.driver.reconstruct_tv`.

This module is for benchmarks only; nothing in ``recon_core`` or ``pages`` imports it.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np

__all__ = ["bart_path", "bart_version", "write_cfl", "read_cfl", "check_fft_convention", "PicsTV"]


def bart_path() -> str | None:
    """Absolute path of the ``bart`` executable, or None when it is not installed."""
    return shutil.which("bart")


def bart_version() -> str:
    """``bart version`` output (e.g. ``v0.8.00``), or ``"missing"``."""
    exe = bart_path()
    if exe is None:
        return "missing"
    out = subprocess.run([exe, "version"], capture_output=True, text=True, check=False)
    return (out.stdout or out.stderr).strip() or "unknown"


def write_cfl(name: str | Path, array: np.ndarray) -> None:
    """Write ``array`` (any shape, up to 16 dims) as BART's ``name.cfl`` + ``name.hdr``.

    Args:
        name: path without extension.
        array: complex (or real) array; dims are kept in order, BART dim 0 = array axis 0.
    """
    arr = np.asarray(array, dtype=np.complex64)
    if arr.ndim > 16:
        raise ValueError(f"BART supports at most 16 dims, got {arr.ndim}")
    dims = list(arr.shape) + [1] * (16 - arr.ndim)
    Path(f"{name}.hdr").write_text("# Dimensions\n" + " ".join(str(d) for d in dims) + "\n")
    arr.ravel(order="F").tofile(f"{name}.cfl")


def read_cfl(name: str | Path, ndim: int = 2) -> np.ndarray:
    """Read ``name.cfl``/``name.hdr`` into a complex64 array with the first ``ndim`` dims.

    Raises:
        ValueError: when a dimension beyond ``ndim`` is larger than 1.
    """
    lines = Path(f"{name}.hdr").read_text().splitlines()
    dims = [int(d) for d in lines[1].split()]
    if any(d != 1 for d in dims[ndim:]):
        raise ValueError(f"{name}: dims {dims} have more than {ndim} non-singleton axes")
    count = int(np.prod(dims))
    data = np.fromfile(f"{name}.cfl", dtype=np.complex64, count=count)
    if data.size != count:
        raise ValueError(f"{name}.cfl holds {data.size} values, header says {count}")
    return data.reshape(dims[:ndim], order="F")


def check_fft_convention(workdir: str | Path, fft2c, shape: tuple[int, int] = (8, 6)) -> float:
    """Max abs difference between ``bart fft -u 3`` and ``fft2c`` on a random complex image."""
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex64)
    base = Path(workdir)
    write_cfl(base / "fftin", x)
    subprocess.run([bart_path(), "fft", "-u", "3", str(base / "fftin"), str(base / "fftout")],
                   check=True, capture_output=True)
    return float(np.max(np.abs(read_cfl(base / "fftout") - fft2c(x))))


class PicsTV:
    """``bart pics`` with isotropic TV on one coil of ones, inputs written once to ``workdir``.

    Args:
        workdir: an existing (temporary) directory.
        kspace: complex, shape (H, W), centred, orthonormal (values outside the mask ignored).
        mask: bool, shape (H, W); passed to BART as the sampling pattern (``-p``).
        lam: TV weight (same scale as ours thanks to ``-w 1``).
        rho: ADMM penalty (``-u``); None keeps BART's default (0.5).
    """

    def __init__(self, workdir: str | Path, kspace: np.ndarray, mask: np.ndarray, lam: float,
                 rho: float | None = None) -> None:
        exe = bart_path()
        if exe is None:
            raise RuntimeError("bart is not installed (Debian: apt-get install bart)")
        if kspace.shape != mask.shape or kspace.ndim != 2:
            raise ValueError(f"kspace {kspace.shape} and mask {mask.shape} must be equal (H, W)")
        self.dir = Path(workdir)
        self.lam = float(lam)
        self.rho = rho
        write_cfl(self.dir / "ksp", np.asarray(kspace) * mask)
        write_cfl(self.dir / "sens", np.ones(kspace.shape, np.complex64))
        write_cfl(self.dir / "pat", mask.astype(np.complex64))
        self._exe = exe

    def command(self, n_iter: int) -> list[str]:
        """The ``bart pics`` command line for ``n_iter`` iterations."""
        cmd = [self._exe, "pics", "-w", "1", "-p", str(self.dir / "pat"),
               "-R", f"T:3:0:{self.lam:g}", "-i", str(int(n_iter))]
        if self.rho is not None:
            cmd += ["-u", f"{self.rho:g}"]
        return cmd + [str(self.dir / "ksp"), str(self.dir / "sens"), str(self.dir / "out")]

    def __call__(self, n_iter: int) -> np.ndarray:
        """Run pics and return the image, complex64 (H, W), centred (same layout as ours)."""
        proc = subprocess.run(self.command(n_iter), capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"bart pics failed ({proc.returncode}): {proc.stderr.strip()}")
        return read_cfl(self.dir / "out")
