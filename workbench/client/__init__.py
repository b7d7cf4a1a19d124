"""The workbench client: connect to an exchange (or a plain NGSI v2 broker) and get frames."""

from ._cache import FrameCache
from ._catalog import Product
from ._check import QueryWarning
from ._errors import (
    AuthenticationError,
    CatalogUnavailableError,
    ConfigurationError,
    NgsiError,
    NotFoundError,
    PermissionDeniedError,
    ProblemError,
    RateLimitedError,
    ServerError,
    WorkbenchConnectionError,
    WorkbenchError,
)
from ._exchange import AsyncExchange, Exchange, connect, connect_async
from ._http import RetryPolicy
from ._query import AsyncQuery, Query

__all__ = [
    "AsyncExchange",
    "AsyncQuery",
    "AuthenticationError",
    "CatalogUnavailableError",
    "ConfigurationError",
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
    "connect",
    "connect_async",
]
