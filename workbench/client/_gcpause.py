"""Pause CPython's cyclic garbage collector while a large result is fetched and built."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_was_enabled = False


@contextmanager
def gc_paused() -> Iterator[None]:
    """Disable the cyclic garbage collector for the duration of the block (nestable).

    Decoding 100 pages of 1000 entities allocates ~300,000 dicts and lists that live just
    long enough to be promoted to the oldest generation, which then triggers full
    collections that walk every object of the process (pandas, geopandas and the user's own
    data): 0.2-0.3 s of a 1.8 s load in a fresh interpreter, more in a full notebook.
    Reference counting still frees everything the query makes (it creates no cycles); the
    collector is re-enabled, if it was enabled, when the outermost block ends
    (docs/adr/0082-client-builds-point-columns-per-page-and-pauses-the-gc.md).
    """
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()
