"""Who is calling: credentials from headers or the portal's session cookie."""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request

from .errors import Unauthorized
from .scopes import InsufficientScope
from .service import ExchangeService, Principal

SESSION_COOKIE = "wb_session"


def credential_from(request: Request) -> str | None:
    """Return the secret the caller presented: ``Authorization: Bearer``, ``X-Auth-Token``
    or ``X-API-Key`` (in that order), or None."""
    headers = request.headers
    auth = headers.get("authorization")
    if auth:
        scheme, _, value = auth.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    return headers.get("x-auth-token") or headers.get("x-api-key") or None


def service_of(request: Request) -> ExchangeService:
    """Return the app's :class:`ExchangeService`."""
    return request.app.state.service


def principal_of(request: Request) -> Principal | None:
    """Return the caller (header credential, else session cookie), or None."""
    secret = credential_from(request) or request.cookies.get(SESSION_COOKIE)
    return service_of(request).authenticate(secret) if secret else None


def require_principal(request: Request) -> Principal:
    """Return the caller or raise :class:`Unauthorized` (401)."""
    principal = principal_of(request)
    if principal is None:
        raise Unauthorized(
            "Log in first: send 'Authorization: Bearer <token>' (POST /api/login or "
            "/oauth2/token) or 'X-API-Key: <key>'."
        )
    return principal


def require_scope(scope: str) -> Callable[[Request], Principal]:
    """Return a FastAPI dependency: the caller, who must hold ``scope``.

    Raises :class:`Unauthorized` (401) without a valid credential and
    :class:`~workbench.server.exchange.scopes.InsufficientScope` (403,
    ``error="insufficient_scope"``) when the credential lacks ``scope``.
    """

    def dependency(request: Request) -> Principal:
        principal = require_principal(request)
        if scope not in principal.scopes:
            raise InsufficientScope(scope, principal.scopes)
        return principal

    dependency.scope = scope  # type: ignore[attr-defined]  # read by the route-matrix test
    return dependency
