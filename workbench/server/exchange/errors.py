"""Errors of the exchange's business layer; the API turns them into RFC 9457 problems."""

from __future__ import annotations


class ExchangeError(Exception):
    """A request the exchange refuses; ``status`` is the HTTP status it maps to."""

    status = 400
    title = "Bad Request"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidInput(ExchangeError):
    status = 422
    title = "Invalid input"


class Unauthorized(ExchangeError):
    status = 401
    title = "Unauthorized"


class Forbidden(ExchangeError):
    status = 403
    title = "Forbidden"


class NotFound(ExchangeError):
    status = 404
    title = "Not Found"


class Conflict(ExchangeError):
    status = 409
    title = "Conflict"


class BadGateway(ExchangeError):
    status = 502
    title = "Bad Gateway"


class TooManyAttempts(ExchangeError):
    status = 429
    title = "Too Many Requests"
