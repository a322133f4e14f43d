"""Bounded per-visitor stores: capped least-recently-used dicts kept in session state.

Each visitor's session keeps what its pages computed (TV results, λ sweeps, trained networks,
evaluations, coil reconstructions) so that switching settings back shows them again. Without a
bound a long session grows by megabytes per run, on a server that many visitors share.
:class:`LruStore` keeps at most ``cap`` entries: reading one marks it as recently used, adding
one evicts the least recently used beyond the cap (never the one just added: that is what the
visitor is looking at), and the evictions are recorded so that the page can say what it dropped
(:meth:`LruStore.note`).

The caps below are per visitor and per store; the sizes are measured on the default settings
(single-coil complex64 images; multi-coil TV still returns one (H, W) image).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, MutableMapping
from typing import Any

import streamlit as st

#: TV results: a complex64 (H, W) image (0.5 MB at 256², 1.2 MB at 384²) plus the numbers of
#: every iteration (about 0.3 kB each: 30 kB for 100 iterations, 1.5 MB for the 5000 at most).
#: 8 results are about 5 MB at 256² and 100 iterations, at most about 22 MB at 384².
TV_RESULTS = 8
#: λ sweeps: at most 25 (λ, PSNR, SSIM) triples each, a few kB: many fit.
TV_SWEEPS = 20
#: Trained networks (Keras models with their compiled functions, several MB each). They are
#: also kept in the on-disk model cache, so pressing Train again loads an evicted one at once.
DL_MODELS = 3
#: Held-out evaluations: a small dict of (mean, std) per method and metric, under 1 kB.
DL_EVALS = 16
#: Coils page runs: four float32 (H, W) images (1 MB at 256², 2.4 MB at 384²).
COIL_RESULTS = 6
#: Pseudo-replica g-factor maps: one float32 (H, W) each (0.25 MB at 256², 0.6 MB at 384²).
COIL_GFACTORS = 6

Describe = Callable[[Hashable, Any], str]


class LruStore:
    """At most ``cap`` entries under ``session[name]``, least recently used evicted first.

    Args:
        name: the session-state key of the entries (an ``OrderedDict``, oldest first).
        cap: how many entries are kept (>= 1).
        label: what one entry is, in the note: ``"TV result"`` gives "An older TV result".
        what: the plural, e.g. ``"TV results"`` (default: ``label + "s"``).
        describe: ``describe(key, value)``: the details of an evicted entry that the note gives
            in brackets, e.g. ``"λ=1.0e-03, 100 iterations"`` (None or "": no details).
        session: the mapping to keep them in (default ``st.session_state``; tests pass a dict).

    Evictions are kept under ``session[name + ":evicted"]`` until :meth:`note` shows them.
    """

    def __init__(self, name: str, cap: int, label: str = "result", what: str | None = None,
                 describe: Describe | None = None, session: MutableMapping | None = None):
        if int(cap) < 1:
            raise ValueError(f"cap must be at least 1, got {cap}")
        self.name, self.cap, self.label = name, int(cap), label
        self.what = what or label + "s"
        self.describe = describe or (lambda key, value: "")
        self.session = st.session_state if session is None else session
        entries = self.session.get(name)
        if not isinstance(entries, OrderedDict):  # first use, or a plain dict from before
            entries = OrderedDict(entries or {})
            self.session[name] = entries
        self._entries: OrderedDict = entries
        self._trim(keep=None)  # a smaller cap than a previous run's applies at once

    # ---- the mapping
    def get(self, key: Hashable, default: Any = None) -> Any:
        """The entry of ``key`` (marked as the most recently used), or ``default``."""
        if key not in self._entries:
            return default
        self._entries.move_to_end(key)
        return self._entries[key]

    def put(self, key: Hashable, value: Any) -> Any:
        """Store ``value`` as the most recently used entry and evict beyond the cap (never
        ``key`` itself). Returns ``value``."""
        self._entries[key] = value
        self._entries.move_to_end(key)
        self._trim(keep=key)
        return value

    def __contains__(self, key: Hashable) -> bool:
        return key in self._entries  # a test only: does not mark the entry as used

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator:
        return iter(list(self._entries))

    def keys(self) -> list:
        """Keys, least recently used first."""
        return list(self._entries)

    def values(self) -> list:
        """Entries, least recently used first (without marking them as used)."""
        return list(self._entries.values())

    # ---- evictions
    def _trim(self, keep: Hashable | None) -> None:
        evicted = self.session.setdefault(self.name + ":evicted", [])
        while len(self._entries) > self.cap:
            oldest = next(k for k in self._entries if k != keep)
            evicted.append(self.describe(oldest, self._entries.pop(oldest)))

    @property
    def evicted(self) -> list[str]:
        """Details (``describe``) of the entries evicted since the last :meth:`note`, oldest
        first."""
        return list(self.session.get(self.name + ":evicted", []))

    def take_evicted(self) -> list[str]:
        """:attr:`evicted`, then forget them (each eviction is reported once)."""
        out = self.evicted
        self.session[self.name + ":evicted"] = []
        return out

    def message(self, evicted: list[str]) -> str:
        """The note for ``evicted`` (an empty string for none)."""
        if not evicted:
            return ""
        details = "; ".join(d for d in evicted if d)
        details = f" ({details})" if details else ""
        if len(evicted) == 1:
            what = f"An older {self.label}{details} was"
        else:
            what = f"{len(evicted)} older {self.what}{details} were"
        return (f"{what} dropped to keep this session's memory bounded: at most {self.cap} "
                f"{self.what} are kept.")

    def note(self, where: Any = None) -> str:
        """Show what was evicted since the last note with ``st.info`` (in ``where``, e.g. a
        container, if given) and return the text ("" and nothing shown when none was)."""
        text = self.message(self.take_evicted())
        if text:
            (where or st).info(text, icon=":material/memory:")
        return text
