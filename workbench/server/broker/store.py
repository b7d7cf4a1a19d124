"""The storage interface of the broker.

The HTTP layer and :class:`~workbench.server.broker.Broker` only talk to an
:class:`EntityStore`; :func:`open_store` returns the SQLite implementation. A PostgreSQL
(PostGIS) store implements the same protocol: it receives already-validated entities and a
backend-neutral :class:`~workbench.server.broker.query.QuerySpec`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from contextlib import AbstractContextManager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from .entities import Entity
from .query import QuerySpec
from .tenancy import PathScope

DEFAULT_QUERY_BUDGET_S = 15.0
QUERY_BUDGET_ENV = "WORKBENCH_QUERY_BUDGET_S"
#: ``time.monotonic()`` when the request being served arrived. A store counts a query's
#: time budget from it, so time spent queued for a worker thread counts too; unset, the
#: budget starts when the query does.
QUERY_STARTED: ContextVar[float | None] = ContextVar("query_started", default=None)


def default_query_budget_s() -> float:
    """The query time budget: ``$WORKBENCH_QUERY_BUDGET_S`` seconds, else 15."""
    raw = os.environ.get(QUERY_BUDGET_ENV)
    if raw is None:
        return DEFAULT_QUERY_BUDGET_S
    try:
        budget = float(raw)
    except ValueError:
        budget = -1.0
    if not 0 < budget < float("inf"):
        raise ValueError(f"{QUERY_BUDGET_ENV} must be a positive number of seconds, got {raw!r}")
    return budget


@dataclass(slots=True)
class HistoryPoint:
    """Values of some attributes of one entity at one time index (``ts``, ISO text)."""

    service_path: str
    entity_id: str
    entity_type: str
    ts: str
    values: dict[str, Any]


@dataclass(slots=True)
class HistoryQuery:
    """Which history points: by entity and/or type, attributes, time window, paging."""

    entity_id: str | None = None
    entity_type: str | None = None
    attrs: list[str] | None = None
    from_ts: str | None = None
    to_ts: str | None = None
    last_n: int | None = None
    limit: int = 1000
    offset: int = 0
    scopes: list[PathScope] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class TypeInfo:
    """An entity type with its entity count and attribute types."""

    type: str
    count: int
    attrs: dict[str, list[str]]


@runtime_checkable
class EntityStore(Protocol):
    """What the broker needs from a database. All writes happen inside :meth:`transaction`.

    Every read (:meth:`find`, :meth:`query`, :meth:`types`, :meth:`history`) runs within a
    time budget counted from :data:`QUERY_STARTED` and raises a 400
    :class:`~workbench.server.broker.NgsiError` when it is spent; stores are called from
    worker threads, several at a time (docs/adr/0105-broker-queries-off-the-event-loop.md).
    """

    def transaction(self) -> AbstractContextManager[None]:
        """Serialise a read-modify-write; commit on success, roll back on error."""

    def find(
        self, tenant: str, ids: Sequence[str], scopes: list[PathScope], *, type: str | None = None
    ) -> list[Entity]:
        """Entities with one of ``ids`` (and ``type`` if given) visible in ``scopes``."""

    def insert(self, tenant: str, entities: Sequence[Entity]) -> None:
        """Store new entities (``rowid`` is set on each)."""

    def update(self, tenant: str, entities: Sequence[Entity]) -> None:
        """Overwrite stored entities (matched by ``rowid``)."""

    def delete(self, tenant: str, entities: Sequence[Entity]) -> None:
        """Remove stored entities (matched by ``rowid``)."""

    def add_history(self, tenant: str, points: Sequence[HistoryPoint]) -> None:
        """Append history points."""

    def query(self, tenant: str, spec: QuerySpec) -> tuple[list[Entity], int | None]:
        """One page of matching entities and, when ``spec.count``, the total."""

    def query_json(self, tenant: str, spec: QuerySpec, *, key_values: bool = False
                   ) -> tuple[bytes, int | None]:
        """:meth:`query`'s page as a JSON array of whole entities (normalized or keyValues).

        Byte-identical to ``orjson.dumps`` of the rendered entities; a store may simply
        render :meth:`query`'s result, or splice JSON it keeps (the SQLite store does).
        """

    def types(self, tenant: str, scopes: list[PathScope], *, type: str | None = None
              ) -> list[TypeInfo]:
        """Entity types (all, or just ``type``) sorted by name."""

    def history(self, tenant: str, query: HistoryQuery
                ) -> tuple[list[tuple[str, str, str, dict[str, Any]]], int]:
        """``([(entity_id, entity_type, ts, values)], total)`` ordered by ts, entity id."""

    def close(self) -> None:
        """Release the database."""


def open_store(path: str | Path, *, synchronous: str = "NORMAL",
               query_budget_s: float | None = None) -> EntityStore:
    """Open (creating if needed) the SQLite store at ``path``.

    Parameters
    ----------
    path
        Database file; ``":memory:"`` for a throw-away store.
    synchronous
        SQLite ``synchronous`` mode. ``NORMAL`` with WAL survives the process being killed
        (every acknowledged write is in the WAL file); ``FULL`` also survives power loss.
    query_budget_s
        How long one read may take before it is stopped and answered 400 (default
        :func:`default_query_budget_s`).

    Examples
    --------
    >>> from workbench.server.broker import Broker, open_store
    >>> broker = Broker(open_store(":memory:"))
    """
    from .sqlite_store import SqliteStore

    return SqliteStore(path, synchronous=synchronous, query_budget_s=query_budget_s)
