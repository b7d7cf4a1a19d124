"""The Orion-compatible NGSI v2 broker.

Public interface (other parts of the workbench code against these names):

- :func:`open_store` ``(path) -> EntityStore`` — the SQLite (WAL) store; :class:`EntityStore`
  is a :class:`typing.Protocol`, so a PostgreSQL store can be added without touching HTTP.
- :class:`Broker` ``(store)`` — every NGSI v2 operation, HTTP-free; raises
  :class:`NgsiError` ``(status, error, description)``. Bulk loading:
  ``Broker.batch_update(tenant, service_path, action_type, entities)``.
- :func:`create_broker_app` ``(broker) -> Starlette`` — ``/version``, ``/v2/...`` and the
  QuantumLeap-style history under ``/ql/v2/...``; works under uvicorn and in-process via
  ``httpx.ASGITransport``.

Examples
--------
>>> from workbench.server.broker import Broker, create_broker_app, open_store
>>> app = create_broker_app(Broker(open_store("broker.db")))  # doctest: +SKIP
"""

from __future__ import annotations

from .app import create_broker_app
from .errors import NgsiError
from .service import Broker
from .store import EntityStore, HistoryPoint, HistoryQuery, TypeInfo, open_store

__all__ = [
    "Broker",
    "EntityStore",
    "HistoryPoint",
    "HistoryQuery",
    "NgsiError",
    "TypeInfo",
    "create_broker_app",
    "open_store",
]
