"""Lazy attribute export for packages (PEP 562), so that heavy modules load on first use.

``import recon_core`` must stay cheap: someone who only wants :func:`recon_core.make_mask`
should not pay for importing TensorFlow and Keras (several seconds and hundreds of MB). Each
package ``__init__`` therefore lists *where* its public names live, and the module holding a
name is imported the first time the name is looked up.

:Examples:

>>> import sys
>>> getattr_, dir_ = lazy_exports("json", {"dumps": "json"})
>>> getattr_("dumps") is sys.modules["json"].dumps
True
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping


def lazy_exports(package: str, where: Mapping[str, str]) -> tuple[Callable, Callable]:
    """Return ``(__getattr__, __dir__)`` for a package whose names live in other modules.

    Args:
        package: the package's ``__name__`` (used in error messages).
        where: public name -> absolute module name that defines it.

    Returns:
        Two functions to assign to the package's ``__getattr__`` and ``__dir__``.
    """

    def __getattr__(name: str):
        try:
            module = where[name]
        except KeyError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        return getattr(importlib.import_module(module), name)

    def __dir__() -> list[str]:
        return sorted(where)

    return __getattr__, __dir__
