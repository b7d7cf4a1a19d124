"""Sapporo Data Commons Workbench.

``import workbench as wb`` gives the whole public API: connect to an exchange (or any
Orion-compatible NGSI v2 broker), browse its catalog, query entities and their history into
pandas / GeoPandas frames, publish frames back, and run the analyses behind the notebooks and
dashboards (imported lazily: they pull in scipy, networkx and statsmodels).

Examples
--------
>>> import workbench as wb
>>> ex = wb.connect()  # doctest: +SKIP
>>> wards = ex.entities("sapporo-wards").to_geopandas()  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # static tools see the names; at run time they load on first use
    from workbench.client import (
        AsyncExchange,
        AsyncQuery,
        AuthenticationError,
        CatalogUnavailableError,
        ConfigurationError,
        Exchange,
        FrameCache,
        NgsiError,
        NotFoundError,
        PermissionDeniedError,
        ProblemError,
        Product,
        Query,
        QueryWarning,
        RateLimitedError,
        RetryPolicy,
        ServerError,
        WorkbenchConnectionError,
        WorkbenchError,
        connect,
        connect_async,
    )

__version__ = "0.1.0"

# folium (and GeoDataFrame.explore) in a workbench session use the vendored Leaflet, no CDN.
from workbench import _folium_offline  # noqa: E402

_folium_offline.install()

# Every public name, loaded on first use: ``import workbench.analysis`` must not pull in the
# client (dependencies point one way), and the analyses pull in scipy, networkx, statsmodels.
_LAZY = {
    "AsyncExchange": "workbench.client",
    "AsyncQuery": "workbench.client",
    "AuthenticationError": "workbench.client",
    "CatalogUnavailableError": "workbench.client",
    "ConfigurationError": "workbench.client",
    "Exchange": "workbench.client",
    "FrameCache": "workbench.client",
    "NgsiError": "workbench.client",
    "NotFoundError": "workbench.client",
    "PermissionDeniedError": "workbench.client",
    "ProblemError": "workbench.client",
    "Product": "workbench.client",
    "Query": "workbench.client",
    "QueryWarning": "workbench.client",
    "RateLimitedError": "workbench.client",
    "RetryPolicy": "workbench.client",
    "ServerError": "workbench.client",
    "WorkbenchConnectionError": "workbench.client",
    "WorkbenchError": "workbench.client",
    "connect": "workbench.client",
    "connect_async": "workbench.client",
    "EffectEstimate": "workbench.analysis.effects",
    "accessibility": "workbench.analysis.walkability",
    "difference_in_differences": "workbench.analysis.effects",
    "event_study": "workbench.analysis.effects",
    "frank_index": "workbench.analysis.walkability",
    "interrupted_time_series": "workbench.analysis.effects",
    "match_on_pre_period": "workbench.analysis.effects",
    "suppress_small_cells": "workbench.analysis.privacy",
    "walk_graph": "workbench.analysis.walkability",
    "walk_score": "workbench.analysis.walkability",
}

__all__ = [
    "AsyncExchange",
    "AsyncQuery",
    "AuthenticationError",
    "CatalogUnavailableError",
    "ConfigurationError",
    "EffectEstimate",
    "Exchange",
    "FrameCache",
    "NgsiError",
    "NotFoundError",
    "PermissionDeniedError",
    "ProblemError",
    "Product",
    "Query",
    "QueryWarning",
    "RateLimitedError",
    "RetryPolicy",
    "ServerError",
    "WorkbenchConnectionError",
    "WorkbenchError",
    "accessibility",
    "connect",
    "connect_async",
    "difference_in_differences",
    "event_study",
    "frank_index",
    "interrupted_time_series",
    "match_on_pre_period",
    "suppress_small_cells",
    "walk_graph",
    "walk_score",
]


def __getattr__(name: str) -> object:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'workbench' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
