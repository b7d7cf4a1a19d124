"""Typed exceptions raised by the workbench client.

Every error carries the server's own explanation: for NGSI paths the ``error`` and
``description`` fields of ``{"error", "description"}``; for the exchange API the RFC 9457
problem fields (``type``, ``title``, ``detail``, ``instance``). A 404 from an NGSI path is both a
:class:`NotFoundError` and an :class:`NgsiError`, so either ``except`` clause catches it.
"""

from __future__ import annotations

from typing import Any


class WorkbenchError(Exception):
    """Base class of every error raised by the workbench client.

    Attributes
    ----------
    status : int or None
        HTTP status code, when the error came from a response.
    error : str or None
        Short error name from the server (NGSI ``error`` or problem ``title``).
    description : str or None
        The server's explanation (NGSI ``description`` or problem ``detail``).
    method, url : str or None
        The request that failed.
    body : Any
        The decoded response body, when there was one.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error: str | None = None,
        description: str | None = None,
        method: str | None = None,
        url: str | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.description = description
        self.method = method
        self.url = url
        self.body = body
        self.headers = headers or {}


class NgsiError(WorkbenchError):
    """An NGSI v2 error response ``{"error": ..., "description": ...}``."""


class ProblemError(WorkbenchError):
    """An RFC 9457 ``application/problem+json`` error from the exchange API.

    ``type``, ``title``, ``detail`` and ``instance`` hold the problem fields; ``error`` and
    ``description`` mirror ``title`` and ``detail``.
    """

    @property
    def type(self) -> str | None:
        return (self.body or {}).get("type") if isinstance(self.body, dict) else None

    @property
    def title(self) -> str | None:
        return self.error

    @property
    def detail(self) -> str | None:
        return self.description

    @property
    def instance(self) -> str | None:
        return (self.body or {}).get("instance") if isinstance(self.body, dict) else None


class AuthenticationError(WorkbenchError):
    """401: the credential is missing, invalid, expired or revoked."""


class PermissionDeniedError(WorkbenchError):
    """403: the credential is valid but not entitled (e.g. no active subscription)."""


class NotFoundError(WorkbenchError):
    """404: no such entity, product, subscription or service."""


class RateLimitedError(WorkbenchError):
    """429 that persisted after the client's retries; ``retry_after_s`` says when to retry."""

    @property
    def retry_after_s(self) -> float | None:
        from ._http import parse_retry_after

        return parse_retry_after(self.headers.get("retry-after"))


class ServerError(WorkbenchError):
    """5xx that persisted after the client's retries."""


class WorkbenchConnectionError(WorkbenchError):
    """The server could not be reached (connection refused, dropped, timed out) after retries."""


class CatalogUnavailableError(WorkbenchError):
    """The URL is a plain NGSI broker without the exchange's catalog (``/api/``)."""


class ConfigurationError(WorkbenchError):
    """The connection settings are missing or contradictory."""


_STATUS_CLASSES: dict[int, type[WorkbenchError]] = {
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    429: RateLimitedError,
}
_COMBINED: dict[tuple[type, type], type[WorkbenchError]] = {}


def error_class(status: int, kind: type[WorkbenchError]) -> type[WorkbenchError]:
    """Return the exception class for ``status`` with body ``kind`` (NGSI, problem or plain).

    Status classes are combined with the body kind, e.g. ``NotFoundError`` + ``NgsiError``.
    """
    by_status = _STATUS_CLASSES.get(status)
    if by_status is None and status >= 500:
        by_status = ServerError
    if by_status is None:
        return kind
    if kind is WorkbenchError:
        return by_status
    key = (by_status, kind)
    if key not in _COMBINED:
        _COMBINED[key] = type(by_status.__name__, (by_status, kind), {"__module__": __name__})
    return _COMBINED[key]
