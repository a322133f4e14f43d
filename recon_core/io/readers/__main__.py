"""``python -m readers CONFIG``: the helper process.

Booted by :mod:`recon_core.io.isolated`, which imports this package by its path and leaves no
directory of recon_core on ``sys.path``.
"""

import sys

from .wire import main

if __name__ == "__main__":
    sys.exit(main(sys.argv))
