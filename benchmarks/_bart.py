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


# --------------------------------------------------------------------------------------------
# Multi-coil: ``ecalib`` and ``pics`` with coil maps (added for multicoil_vs_peers.py)
# --------------------------------------------------------------------------------------------
#
# BART's layout for one slice of multi-coil data is dims (0, 1, 2, 3) = (H, W, 1, C) for
# k-space and (H, W, 1, C, M) for M sets of maps; ours is (C, H, W) (and (M, C, H, W)). The
# coil axis is moved to the back before writing and to the front after reading; dims 0 and 1
# stay our row and column axes, so ``bart fft -u 3`` is still our fft2c on every coil
# (:func:`check_multicoil_convention` checks that and the SENSE model inside ``pics``).
#
# ``pics``' own centred FFT differs from ours by a global sign: its image of data
# ``y = fft2c(S x)`` is ``(-1) ** (H / 2 + W / 2) * x`` (measured on 8x8, 8x6, 6x6, 10x8, 12x12;
# odd sizes do not match at all and are refused). :func:`pics_phase` gives that sign and
# :class:`PicsSenseTV` removes it, so that its image is evaluated under our forward model
# (|x| and TV are unaffected; the data term is not).

__all__ += ["write_multicoil", "read_multicoil", "ecalib", "pics_phase", "PicsSenseTV",
            "check_multicoil_convention"]


def pics_phase(shape: tuple[int, int]) -> float:
    """The global sign of ``pics``' image relative to ours for an (H, W) grid (even sizes)."""
    h, w = (int(v) for v in shape[-2:])
    if h % 2 or w % 2:
        raise ValueError(f"BART's centred FFT matches ours only on even sizes, got {(h, w)}")
    return -1.0 if (h // 2 + w // 2) % 2 else 1.0


def write_multicoil(name: str | Path, array: np.ndarray) -> None:
    """Write (C, H, W) data (k-space or maps) as BART dims (H, W, 1, C)."""
    arr = np.asarray(array)
    if arr.ndim != 3:
        raise ValueError(f"expected (C, H, W), got {arr.shape}")
    write_cfl(name, np.moveaxis(arr, 0, -1)[:, :, None, :])


def read_multicoil(name: str | Path) -> np.ndarray:
    """Read BART dims (H, W, 1, C) (e.g. ``ecalib -m1`` maps) as complex64 (C, H, W)."""
    arr = read_cfl(name, ndim=4)
    if arr.shape[2] != 1:
        raise ValueError(f"{name}: expected dims (H, W, 1, C), got {arr.shape}")
    return np.ascontiguousarray(np.moveaxis(arr[:, :, 0, :], -1, 0))


def _run(cmd: list[str]) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:2])} failed ({proc.returncode}): "
                           f"{proc.stderr.strip()}")
    return proc


def ecalib(workdir: str | Path, kspace: np.ndarray, calib: tuple[int, int] | None = None,
           extra: tuple[str, ...] = ()) -> np.ndarray:
    """``bart ecalib -m1 [-r h:w:1] [extra] kspace maps``; returns the maps (C, H, W).

    Args:
        workdir: an existing directory (files ``ecal_ksp`` and ``ecal_maps`` go there).
        kspace: complex (C, H, W), centred, zero where not acquired.
        calib: (h, w) passed as ``-r h:w:1`` (BART then uses the largest fully sampled centred
            block within that size); None keeps BART's default (24).
        extra: further ecalib options (default settings otherwise).

    The timed part for a user is the whole call: writing the file, BART's process, reading the
    maps back.
    """
    exe = bart_path()
    if exe is None:
        raise RuntimeError("bart is not installed (Debian: apt-get install bart)")
    base = Path(workdir)
    write_multicoil(base / "ecal_ksp", kspace)
    cmd = [exe, "ecalib", "-m1"]
    if calib is not None:
        cmd += ["-r", f"{int(calib[0])}:{int(calib[1])}:1"]
    _run(cmd + list(extra) + [str(base / "ecal_ksp"), str(base / "ecal_maps")])
    return read_multicoil(base / "ecal_maps")


class PicsSenseTV:
    """``bart pics`` with isotropic TV and coil maps (SENSE-TV), inputs written once.

    Minimises 1/2 ||P F S x - y||^2 + lam TV(x) (BART's TV: ``-R T:3:0:lam``; ``-w 1`` keeps
    BART's data scaling at 1, so lam means the same as in :class:`PicsTV` and ours).

    Args:
        workdir: an existing (temporary) directory.
        kspace: complex (C, H, W), centred, orthonormal (values outside the mask ignored).
        mask: bool (H, W), the sampling pattern (``-p``), the same for every coil.
        maps: complex (C, H, W) coil maps.
        lam: TV weight.
        rho: ADMM penalty (``-u``); None keeps BART's default (0.5).
    """

    def __init__(self, workdir: str | Path, kspace: np.ndarray, mask: np.ndarray,
                 maps: np.ndarray, lam: float, rho: float | None = None) -> None:
        exe = bart_path()
        if exe is None:
            raise RuntimeError("bart is not installed (Debian: apt-get install bart)")
        k = np.asarray(kspace)
        if k.ndim != 3 or k.shape[1:] != mask.shape or np.shape(maps) != k.shape:
            raise ValueError(f"kspace {k.shape}, maps {np.shape(maps)} must be (C, H, W) and "
                             f"mask {mask.shape} (H, W)")
        self.dir = Path(workdir)
        self.lam = float(lam)
        self.rho = rho
        self.phase = pics_phase(mask.shape)
        write_multicoil(self.dir / "mksp", k * mask)
        write_multicoil(self.dir / "msens", np.asarray(maps))
        write_cfl(self.dir / "mpat", mask.astype(np.complex64))
        self._exe = exe

    def command(self, n_iter: int) -> list[str]:
        """The ``bart pics`` command line for ``n_iter`` iterations."""
        cmd = [self._exe, "pics", "-w", "1", "-p", str(self.dir / "mpat"),
               "-R", f"T:3:0:{self.lam:g}", "-i", str(int(n_iter))]
        if self.rho is not None:
            cmd += ["-u", f"{self.rho:g}"]
        return cmd + [str(self.dir / "mksp"), str(self.dir / "msens"), str(self.dir / "mout")]

    def __call__(self, n_iter: int) -> np.ndarray:
        """Run pics; the image, complex64 (H, W), centred, in our convention (sign removed)."""
        _run(self.command(n_iter))
        return read_cfl(self.dir / "mout") * np.complex64(self.phase)


def check_multicoil_convention(workdir: str | Path, fft2c,
                               shape: tuple[int, int, int] = (3, 8, 6)) -> dict[str, float]:
    """Checks of the (C, H, W) <-> (H, W, 1, C) layout against our conventions.

    Returns max abs differences (all should be ~1e-6):

    * ``"fft"``: ``bart fft -u 3`` of multi-coil data written with :func:`write_multicoil` vs
      our ``fft2c`` of every coil;
    * ``"pics"``: ``bart pics -l2 -r 1e-9`` of fully sampled data ``y = fft2c(S x)`` with
      normalised maps ``S`` (``sum_c |S_c|^2 = 1``), times :func:`pics_phase`, vs ``x`` itself:
      the SENSE model inside pics (maps' coil axis, FFT centring and scaling) is ours up to
      that sign;
    * ``"pics sign"``: the sign found, ``Re <x, pics image> / ||x||^2`` (+1 or -1), to compare
      with :func:`pics_phase`.

    The default shape has H / 2 + W / 2 odd, where the sign is -1.
    """
    rng = np.random.default_rng(0)
    c, h, w = shape
    z = lambda *s: (rng.standard_normal(s) + 1j * rng.standard_normal(s)).astype(np.complex64)  # noqa: E731
    base = Path(workdir)
    k = z(c, h, w)
    write_multicoil(base / "mcin", k)
    _run([bart_path(), "fft", "-u", "3", str(base / "mcin"), str(base / "mcout")])
    fft_err = float(np.max(np.abs(read_multicoil(base / "mcout") - fft2c(k))))
    s = z(c, h, w)
    s /= np.sqrt(np.sum(np.abs(s) ** 2, axis=0))
    x = z(h, w)
    write_multicoil(base / "mcksp", fft2c(s * x))
    write_multicoil(base / "mcsens", s)
    _run([bart_path(), "pics", "-w", "1", "-l2", "-r", "1e-9", "-i", "50",
          str(base / "mcksp"), str(base / "mcsens"), str(base / "mcimg")])
    img = read_cfl(base / "mcimg")
    sign = float(np.real(np.vdot(x, img)) / np.vdot(x, x).real)
    pics_err = float(np.max(np.abs(img * pics_phase((h, w)) - x)))
    return {"fft": fft_err, "pics": pics_err, "pics sign": sign}


class PicsTV(PicsSenseTV):
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
        if np.shape(kspace) != np.shape(mask) or np.ndim(kspace) != 2:
            raise ValueError(f"kspace {np.shape(kspace)} and mask {np.shape(mask)} must be equal (H, W)")
        k = np.asarray(kspace)[None]
        super().__init__(workdir, k, mask, np.ones(k.shape, np.complex64), lam, rho)


# --------------------------------------------------------------------------------------------
# Non-Cartesian: ``nufft`` and ``pics -t`` (added for noncartesian_vs_peers.py)
# --------------------------------------------------------------------------------------------
#
# BART's trajectory is dims (3, S, R): (x, y, z) of each of S samples of R readouts in units of
# 1/FOV (cycles per field of view), dim 0 of the trajectory along image dim 0. Since our images
# are written with BART dim 0 = our rows, BART's "x" is our ky and "y" our kx (z = 0); samples
# are dims (1, S, R) (pics: (1, S, R, C)). With that layout ``bart nufft`` equals our
# ``nufft_forward`` (ratio 1, same sign and centring; BART's default accuracy is lower, a few
# 1e-2 relative error on 32², measured by noncartesian_vs_peers.check_conventions).

__all__ += ["write_traj", "nufft_forward", "nufft_adjoint", "PicsNufft"]


def write_traj(name: str | Path, coord: np.ndarray) -> None:
    """Write our (R, S, 2) (ky, kx) coordinates as BART's (3, S, R) trajectory."""
    c = np.asarray(coord, np.float64)
    if c.ndim != 3 or c.shape[-1] != 2:
        raise ValueError(f"coord must be (R, S, 2), got {c.shape}")
    t = np.zeros((3, c.shape[1], c.shape[0]), np.complex64)
    t[0] = c[..., 0].T
    t[1] = c[..., 1].T
    write_cfl(name, t)


def _write_samples(name, samples: np.ndarray, r: int, s: int) -> None:
    y = np.asarray(samples, np.complex64).reshape(r, s)
    write_cfl(name, y.T[None, :, :, None])


def nufft_forward(workdir: str | Path, image: np.ndarray, coord: np.ndarray) -> np.ndarray:
    """``bart nufft`` of an (H, W) image at (R, S, 2) coordinates: samples (R * S,)."""
    base = Path(workdir)
    write_traj(base / "nu_traj", coord)
    write_cfl(base / "nu_img", image)
    _run([bart_path(), "nufft", str(base / "nu_traj"), str(base / "nu_img"), str(base / "nu_ksp")])
    k = read_cfl(base / "nu_ksp", ndim=3)[0]  # (S, R)
    return np.ascontiguousarray(k.T).reshape(-1)


def nufft_adjoint(workdir: str | Path, samples: np.ndarray, coord: np.ndarray,
                  shape: tuple[int, int]) -> np.ndarray:
    """``bart nufft -a -d H:W:1`` of samples (R * S,) at (R, S, 2) coordinates: image (H, W)."""
    base = Path(workdir)
    c = np.asarray(coord)
    write_traj(base / "na_traj", c)
    _write_samples(base / "na_ksp", samples, c.shape[0], c.shape[1])
    _run([bart_path(), "nufft", "-a", "-d", f"{int(shape[0])}:{int(shape[1])}:1",
          str(base / "na_traj"), str(base / "na_ksp"), str(base / "na_img")])
    return read_cfl(base / "na_img")


class PicsNufft:
    """``bart pics -t traj`` on one coil of ones, inputs written once (``-w 1``: our lambda).

    Args:
        workdir: an existing (temporary) directory.
        samples: complex (R * S,), in the trajectory's order, scaled like our NUFFT.
        coord: (R, S, 2) coordinates (ky, kx), cycles per FOV.
        shape: (H, W).
    """

    def __init__(self, workdir: str | Path, samples: np.ndarray, coord: np.ndarray,
                 shape: tuple[int, int]) -> None:
        exe = bart_path()
        if exe is None:
            raise RuntimeError("bart is not installed (Debian: apt-get install bart)")
        self._exe = exe
        self.dir = Path(workdir)
        c = np.asarray(coord)
        write_traj(self.dir / "pn_traj", c)
        _write_samples(self.dir / "pn_ksp", samples, c.shape[0], c.shape[1])
        write_cfl(self.dir / "pn_sens", np.ones(tuple(shape), np.complex64))

    def _solve(self, opts: list[str]) -> np.ndarray:
        _run([self._exe, "pics", "-w", "1", "-t", str(self.dir / "pn_traj")] + opts
             + [str(self.dir / "pn_ksp"), str(self.dir / "pn_sens"), str(self.dir / "pn_out")])
        return read_cfl(self.dir / "pn_out")

    def tv(self, lam: float, n_iter: int, rho: float | None = None) -> np.ndarray:
        """``-R T:3:0:lam -i n_iter [-u rho]`` (ADMM, isotropic TV): complex (H, W)."""
        opts = ["-R", f"T:3:0:{lam:g}", "-i", str(int(n_iter))]
        if rho is not None:
            opts += ["-u", f"{rho:g}"]
        return self._solve(opts)

    def l2(self, n_iter: int, reg: float = 1e-9) -> np.ndarray:
        """``-l2 -r reg -i n_iter`` (CG on the normal equations): complex (H, W)."""
        return self._solve(["-l2", "-r", f"{reg:g}", "-i", str(int(n_iter))])
