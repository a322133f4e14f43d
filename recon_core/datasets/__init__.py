"""Real raw scans that ship with the app: a twix GRE phantom and an undersampled 8-coil brain.

:data:`BUILTIN` lists them; :func:`load_builtin` reads one with the ordinary loaders of
:mod:`recon_core.io`, so a built-in scan is exactly what a user uploading the same file gets.
Sources and licences: ``ATTRIBUTION.md`` and the ``LICENSE-*.txt`` files in this folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["BuiltinScan", "BUILTIN", "builtin_path", "load_builtin"]

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class BuiltinScan:
    """One shipped scan.

    Attributes:
        name: its id (``"gre_phantom"``, ``"brain"``).
        title: what a user sees in the data chooser.
        filename: the file in this folder.
        axes: the roles of its array's axes, when the format does not fix them.
        credit: source and licence in one line, for captions.
    """

    name: str
    title: str
    filename: str
    axes: tuple[str, ...] | None
    credit: str


BUILTIN: dict[str, BuiltinScan] = {
    s.name: s
    for s in (
        BuiltinScan(
            "gre_phantom",
            "Real scan: GRE phantom (Siemens twix, 2 coils, fully sampled)",
            "twixtools_gre.dat",
            None,
            "Siemens Skyra 2.9 T gradient echo of a structure phantom; twixtools example data "
            "(P. Ehses), MIT licence",
        ),
        BuiltinScan(
            "brain",
            "Real scan: brain (8 coils, already undersampled, no reference)",
            "sigpy_cartesian_brain_ksp.npy",
            ("coil", "row", "col"),
            "8-channel brain k-space, Poisson-disc undersampled to 12.4 %; SigPy MRI tutorial "
            "(mikgroup), BSD-3-Clause licence",
        ),
    )
}


def builtin_path(name: str) -> Path:
    """Path of the shipped file of scan ``name`` (one of :data:`BUILTIN`)."""
    if name not in BUILTIN:
        raise KeyError(f"no built-in scan {name!r}; there are {', '.join(BUILTIN)}")
    return HERE / BUILTIN[name].filename


def load_builtin(name: str, **options):
    """Load built-in scan ``name`` as :func:`recon_core.io.load_file` would load its file.

    ``options`` are :class:`~recon_core.io.LoadOptions` fields (e.g. ``slice_index``).

    :Examples:

    >>> d = load_builtin("brain")
    >>> d.kspace.shape, d.undersampled, d.has_reference
    ((8, 230, 180), True, False)
    """
    from recon_core.io import load_file

    scan = BUILTIN[name] if name in BUILTIN else builtin_path(name)
    if scan.axes is not None:
        options.setdefault("axes", scan.axes)
    return load_file(builtin_path(name), **options)
