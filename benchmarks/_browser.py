"""What the browser benchmarks share: Debian's chromium, its flags, a free localhost port.

The flags are the ones the end-to-end tests use (``tests/e2e/browserhelpers.py``); never a
browser download. For benchmarks only; nothing in ``recon_core``, ``ui`` or ``pages`` imports it.
"""

from __future__ import annotations

import socket

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
