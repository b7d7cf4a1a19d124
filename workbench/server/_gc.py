"""Interpreter settings for long-running server processes: GC (docs/adr/0080), GIL (0105)."""

from __future__ import annotations

import gc
import sys

SWITCH_INTERVAL_S = 0.0005


def tune_gc_for_serving(*, young_threshold: int = 10_000) -> None:
    """Freeze the start-up heap and collect young objects less often.

    A server builds its modules, routes and caches once, then allocates tens of thousands
    of short-lived containers per large page (entities as dicts). Those survive young
    collections while the page is being built, so full collections run every few pages,
    and each full collection walks every object the process holds: in ``workbench serve``
    (FastAPI, SQLAlchemy, the portal) that was 1.3 s of 3.1 s for 100 pages of 1000.
    ``gc.freeze()`` moves the start-up heap into the permanent generation, which full
    collections skip; a larger generation-0 threshold means fewer young collections.

    Call it once, after the app is built and before serving.

    Parameters
    ----------
    young_threshold
        Allocations (minus deallocations) of tracked objects between two generation-0
        collections (CPython's default is 700).
    """
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(young_threshold, gen1, gen2)


def tune_gil_for_serving(*, switch_interval_s: float = SWITCH_INTERVAL_S) -> None:
    """Let a thread waiting for the GIL get it within ``switch_interval_s``.

    The broker runs queries on worker threads (docs/adr/0105). A thread that calls Python
    for every row (a pattern query) takes the GIL back between rows before a waiting thread
    is scheduled, so the event loop and short queries wait for CPython's forced switch at
    every GIL hand-off: 5 ms each by default, several per request. A shorter interval bounds
    that wait; busy threads are switched more often, which costs them little.

    Call it once, before serving.
    """
    sys.setswitchinterval(switch_interval_s)
