"""Defences for requests a browser makes on a user's behalf
(docs/adr/0112-csrf-tokens-origin-checks-and-framing.md).

The dashboards (Voilà) and JupyterLab run on other ports of the same host: the same *site*,
so ``SameSite=Strict`` cookies still travel with their requests. Hence:

- every state-changing portal form carries a CSRF token, an HMAC of the session cookie (or,
  before log-in, of a random ``wb_csrf`` cookie) under the installation's secret key
  (:func:`csrf_token`, :func:`csrf_ok`);
- every state-changing request that carries one of the exchange's cookies and no header
  credential must come from the exchange's own origin (``Origin``, else ``Referer``, equal
  to ``Host``): :class:`BrowserSecurityMiddleware`. Bearer tokens and API keys are sent by
  programs, never attached by a browser, so those calls are exempt;
- every page forbids framing (``X-Frame-Options: DENY``, CSP ``frame-ancestors 'none'``);
- behind TLS (``workbench serve --secure-cookies``) cookies are ``Secure`` and responses
  carry HSTS.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .auth import SESSION_COOKIE, service_of
from .problems import problem

CSRF_COOKIE = "wb_csrf"
CSRF_FIELD = "csrf_token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_DATA_PLANE = ("/v2", "/ql/", "/version")  # header credentials only; no cookie is read there
_OUR_COOKIES = (SESSION_COOKIE.encode() + b"=", CSRF_COOKIE.encode() + b"=")
_HEADER_CREDENTIALS = frozenset({b"authorization", b"x-api-key", b"x-auth-token"})
_CSP_PAGES = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_CSP_DOCS = "frame-ancestors 'none'"  # /docs and /redoc load FastAPI's own scripts
_HSTS = "max-age=31536000; includeSubDomains"


def secure_cookies(request: Request) -> bool:
    """Whether this app sets ``Secure`` cookies (``workbench serve --secure-cookies``)."""
    return bool(getattr(request.app.state, "secure_cookies", False))


def set_cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    """Set one of the exchange's cookies: HttpOnly, SameSite=Strict, ``Secure`` behind TLS."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="strict",
        secure=secure_cookies(request),
        path="/",
    )


def _binding(request: Request) -> str | None:
    session = request.cookies.get(SESSION_COOKIE)
    if session:
        return "session|" + session
    anonymous = request.cookies.get(CSRF_COOKIE)
    return "anonymous|" + anonymous if anonymous else None


def csrf_token(request: Request) -> tuple[str, str | None]:
    """Return the CSRF token for forms on a page, and a new ``wb_csrf`` cookie value to set
    (None when the request already has a session or a ``wb_csrf`` cookie)."""
    binding = _binding(request)
    new_cookie = None
    if binding is None:
        new_cookie = secrets.token_urlsafe(32)
        binding = "anonymous|" + new_cookie
    return service_of(request).sign("csrf|" + binding), new_cookie


def csrf_ok(request: Request, form: dict[str, str]) -> bool:
    """Whether ``form`` carries the CSRF token that belongs to this browser's cookies."""
    binding = _binding(request)
    sent = form.get(CSRF_FIELD, "")
    if not binding or not sent:
        return False
    expected = service_of(request).sign("csrf|" + binding)
    return hmac.compare_digest(sent.encode(), expected.encode())


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return value
    return None


def _cookie_borne(scope: Scope) -> bool:
    """A request a browser could send by itself: one of our cookies, no header credential."""
    cookie = _header(scope, b"cookie") or b""
    if not any(name in cookie for name in _OUR_COOKIES):
        return False
    return not any(key in _HEADER_CREDENTIALS for key, _ in scope["headers"])


def same_origin(scope: Scope) -> bool:
    """Whether ``Origin`` (else ``Referer``) names the host the request was sent to."""
    host = (_header(scope, b"host") or b"").decode("latin-1").lower()
    source = _header(scope, b"origin") or _header(scope, b"referer")
    if not host or not source or source == b"null":
        return False
    try:
        netloc = urlsplit(source.decode("latin-1")).netloc.lower()
    except ValueError:
        return False
    return hmac.compare_digest(netloc.encode(), host.encode())


class BrowserSecurityMiddleware:
    """Refuse cross-origin cookie-borne writes and add framing, CSP and HSTS headers.

    Parameters
    ----------
    app
        The exchange app.
    secure
        Deployed behind TLS: add ``Strict-Transport-Security``.
    """

    def __init__(self, app: ASGIApp, *, secure: bool = False) -> None:
        self.app = app
        self.secure = secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(_DATA_PLANE):
            await self.app(scope, receive, send)
            return
        if scope["method"] not in _SAFE_METHODS and _cookie_borne(scope) and not same_origin(scope):
            response = problem(
                403,
                "This request carries the exchange's session cookie but comes from another "
                "origin (or names none), so it was refused as a possible cross-site request "
                "forgery. Use the exchange's own pages, or call the API with "
                "'Authorization: Bearer <token>' / 'X-API-Key' "
                "(他のサイトからの操作は受け付けません).",
                title="Cross-origin request refused",
                instance=scope["path"],
                error="csrf",
            )
            await response(scope, receive, send)
            return
        csp = _CSP_DOCS if scope["path"] in ("/docs", "/redoc") else _CSP_PAGES

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Content-Security-Policy", csp)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "same-origin")
                if self.secure:
                    headers.setdefault("Strict-Transport-Security", _HSTS)
            await send(message)

        await self.app(scope, receive, send_with_headers)
