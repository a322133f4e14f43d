"""``python -m readers CONFIG`` (with ``recon_core/io`` first on ``sys.path``): the helper process."""

import sys

from .wire import main

sys.exit(main(sys.argv))
