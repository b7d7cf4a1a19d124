"""OAuth 2.0 endpoints: client-credentials tokens (RFC 6749 §4.4), introspection (RFC 7662)
and revocation (RFC 7009). Tokens are opaque and short-lived (docs/adr/0011)."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote

import orjson
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from .auth import principal_of, service_of
from .errors import InvalidInput, Unauthorized
from .scopes import format_scopes
from .service import Principal

router = APIRouter(prefix="/oauth2", tags=["oauth2"])

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _oauth_error(status: int, error: str, description: str, **headers: str) -> Response:
    body = orjson.dumps({"error": error, "error_description": description})
    return Response(
        body, status_code=status, media_type="application/json", headers={**_NO_STORE, **headers}
    )


async def _form(request: Request) -> dict[str, str]:
    ctype = request.headers.get("content-type", "")
    if not ctype.startswith("application/x-www-form-urlencoded"):
        return {}
    try:
        form = await request.form()
    except Exception:  # malformed bodies are the client's problem
        return {}
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _basic(request: Request) -> tuple[str, str] | None:
    auth = request.headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        return None
    return unquote(client_id), unquote(secret)


async def _caller(request: Request, form: dict[str, str]) -> Principal | None:
    """The client calling introspection/revocation: Basic client credentials, form fields,
    or any bearer/API-key credential of the exchange."""
    svc = service_of(request)
    pair = _basic(request) or (
        (form["client_id"], form.get("client_secret", "")) if "client_id" in form else None
    )
    if pair:
        return await run_in_threadpool(svc.authenticate_client, *pair)
    return principal_of(request)


@router.post("/token", summary="Client-credentials grant (RFC 6749 §4.4)")
async def token(request: Request) -> Response:
    """Exchange ``client_id``/``client_secret`` (HTTP Basic or form) for a bearer token."""
    form = await _form(request)
    if form.get("grant_type") != "client_credentials":
        if not form.get("grant_type"):
            return _oauth_error(400, "invalid_request", "grant_type is required (form-encoded).")
        return _oauth_error(
            400, "unsupported_grant_type", "Only grant_type=client_credentials is supported."
        )
    pair = _basic(request) or (
        (form["client_id"], form.get("client_secret", "")) if "client_id" in form else None
    )
    if pair is None:
        return _oauth_error(
            401,
            "invalid_client",
            "Authenticate the client with HTTP Basic or client_id/client_secret.",
            **{"WWW-Authenticate": 'Basic realm="workbench"'},
        )
    svc = service_of(request)
    try:
        access_token, ttl = await run_in_threadpool(
            lambda: svc.issue_token(*pair, scope=form.get("scope"))
        )
    except InvalidInput as err:  # RFC 6749 §5.2
        return _oauth_error(400, "invalid_scope", err.detail)
    except Unauthorized:
        return _oauth_error(
            401,
            "invalid_client",
            "Client authentication failed.",
            **{"WWW-Authenticate": 'Basic realm="workbench"'},
        )
    granted = await run_in_threadpool(svc.scopes_of, access_token)
    body = {
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": ttl,
        "scope": format_scopes(granted),
    }
    return Response(orjson.dumps(body), media_type="application/json", headers=_NO_STORE)


@router.post("/introspect", summary="Token introspection (RFC 7662)")
async def introspect(request: Request) -> Response:
    form = await _form(request)
    caller = await _caller(request, form)
    if caller is None:
        return _oauth_error(
            401,
            "invalid_client",
            "Introspection needs client authentication.",
            **{"WWW-Authenticate": 'Basic realm="workbench"'},
        )
    if not form.get("token"):
        return _oauth_error(400, "invalid_request", "token is required (form-encoded).")
    svc = service_of(request)
    result = await run_in_threadpool(svc.introspect, form["token"], by_account_id=caller.account_id)
    return Response(orjson.dumps(result), media_type="application/json", headers=_NO_STORE)


@router.post("/revoke", summary="Token revocation (RFC 7009)")
async def revoke(request: Request) -> Response:
    form = await _form(request)
    caller = await _caller(request, form)
    if caller is None:
        return _oauth_error(
            401,
            "invalid_client",
            "Revocation needs client authentication.",
            **{"WWW-Authenticate": 'Basic realm="workbench"'},
        )
    if not form.get("token"):
        return _oauth_error(400, "invalid_request", "token is required (form-encoded).")
    svc = service_of(request)
    await run_in_threadpool(svc.revoke_token, form["token"], by_account_id=caller.account_id)
    return Response(status_code=200, headers=_NO_STORE)
