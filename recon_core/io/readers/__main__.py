"""``python -m readers CONFIG`` (with ``recon_core/io`` first on ``sys.path``): the helper process."""

import sys

from .wire import main

if __name__ == "__main__":
    sys.exit(main(sys.argv))
