"""The gateway: credential → entitlement → rate limit → quota → forward → meter.

Every data-plane call (``/v2/...``, ``/ql/...``) goes through :class:`Gateway`. It fails
closed: a call is forwarded only when a valid credential holds an active subscription to
the product that owns the request's ``Fiware-Service`` and the plan's limits allow it. The
broker's response is returned unchanged (``RateLimit-*`` headers are added). Errors are
NGSI-shaped ``{"error", "description"}``:

=====  ======================================================================
401    no, unknown, expired or revoked credential (``WWW-Authenticate: Bearer``)
403    valid credential without an active subscription to that product
404    no product uses that ``Fiware-Service``
429    rate limit or monthly quota (``Retry-After``, ``RateLimit-*``)
502    the product's broker could not be reached (the call is not counted)
=====  ======================================================================

Where a product's data lives is a per-product setting: the embedded broker is called
in-process as an ASGI app (:class:`AsgiBackend`, no sockets, no serialisation beyond the
broker's own); a product with ``upstream_url`` is reached over HTTP with httpx
(:class:`HttpBackend`), e.g. an Orion. Both implement :class:`Backend`
(docs/adr/0014-gateway-backends-in-process-or-http.md).
"""

from __future__ import annotations

from typing import Protocol

import httpx
import orjson
from starlette.requests import Request
from starlette.responses import Response

from workbench.server.broker.app import RESULT_COUNT
from workbench.server.exchange.auth import credential_from
from workbench.server.exchange.metering import Admission
from workbench.server.exchange.scopes import DATA_READ, DATA_WRITE, format_scopes
from workbench.server.exchange.service import ExchangeService

RawHeaders = list[tuple[bytes, bytes]]
_RESULT_COUNT = RESULT_COUNT.lower().encode()

_HOP_BY_HOP = frozenset(
    {
        b"host",
        b"connection",
        b"keep-alive",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"authorization",
        b"x-auth-token",
        b"x-api-key",
        b"cookie",
    }
)
_RESPONSE_DROP = frozenset(
    {b"connection", b"keep-alive", b"transfer-encoding", b"content-length", b"content-encoding"}
)
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_READ_POSTS = ("/v2/op/query",)
GATEWAY_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


class BackendError(Exception):
    """The product's broker could not answer (network error or crash before a response)."""


class Backend(Protocol):
    """Where a product's broker is: send one request, get ``(status, headers, body)``.

    ``counts_results`` is True when the broker's ``Workbench-Result-Count`` header can be
    trusted for metering (our own, in-process broker); otherwise the body is counted.
    """

    counts_results: bool

    async def send(
        self, method: str, path: str, query: bytes, headers: RawHeaders, body: bytes
    ) -> tuple[int, RawHeaders, bytes]: ...

    async def aclose(self) -> None: ...


class AsgiBackend:
    """Call an ASGI app (the embedded broker) in-process, with no HTTP client in between."""

    counts_results = True

    def __init__(self, app) -> None:
        self.app = app

    async def send(
        self, method: str, path: str, query: bytes, headers: RawHeaders, body: bytes
    ) -> tuple[int, RawHeaders, bytes]:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode("utf-8"),
            "query_string": query,
            "root_path": "",
            "headers": headers,
            "server": ("broker", 80),
            "client": ("127.0.0.1", 0),
        }
        pending = [{"type": "http.request", "body": body, "more_body": False}]
        result: dict = {"status": 500, "headers": [], "chunks": []}

        async def receive() -> dict:
            return pending.pop() if pending else {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            if message["type"] == "http.response.start":
                result["status"] = message["status"]
                result["headers"] = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                result["chunks"].append(message.get("body", b""))

        try:
            await self.app(scope, receive, send)
        except Exception as exc:  # Starlette re-raises after sending its 500 response
            if not result["headers"] and not result["chunks"]:
                raise BackendError(type(exc).__name__) from exc
        return result["status"], result["headers"], b"".join(result["chunks"])

    async def aclose(self) -> None:
        return None


class HttpBackend:
    """Reach an Orion-compatible broker over HTTP (``upstream_url``)."""

    counts_results = False

    def __init__(self, base_url: str, *, timeout_s: float = 60.0) -> None:
        self.client = httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout_s)

    async def send(
        self, method: str, path: str, query: bytes, headers: RawHeaders, body: bytes
    ) -> tuple[int, RawHeaders, bytes]:
        try:
            resp = await self.client.request(
                method,
                path,
                params=query.decode("latin-1") or None,
                headers=[(k, v) for k, v in headers if k not in (b"host", b"content-length")],
                content=body or None,
            )
        except httpx.HTTPError as exc:
            raise BackendError(type(exc).__name__) from exc
        return resp.status_code, list(resp.headers.raw), resp.content

    async def aclose(self) -> None:
        await self.client.aclose()


def _ngsi_error(
    status: int, error: str, description: str, headers: dict[str, str] | None = None
) -> Response:
    body = orjson.dumps({"error": error, "description": description})
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def _insufficient_scope(needed: str, held: frozenset[str]) -> Response:
    """403 for a valid credential without the scope the call needs (RFC 6750 §3.1)."""
    return _ngsi_error(
        403,
        "Forbidden",
        f"insufficient_scope: this call needs {needed!r}; the credential has "
        f"{format_scopes(held) or 'none'}.",
        {"WWW-Authenticate": f'Bearer realm="workbench", error="insufficient_scope", '
         f'scope="{needed}"'},
    )


def _rate_headers(adm: Admission) -> dict[str, str]:
    if adm.limit is None:
        return {}
    return {
        "RateLimit-Limit": str(adm.limit),
        "RateLimit-Remaining": str(max(adm.remaining or 0, 0)),
        "RateLimit-Reset": str(adm.reset_s),
    }


def _count_entities(status: int, headers: RawHeaders, body: bytes, *, trusted: bool) -> int:
    """Return how many entities (items of a JSON array, else 1 object) a response holds.

    A trusted broker says so in ``Workbench-Result-Count``, which spares parsing a large
    page (docs/adr/0081-metering-large-pages-without-parsing.md); otherwise the body is
    parsed.
    """
    if status != 200 or not body:
        return 0
    head = body[:1]
    if trusted and head == b"[":
        for key, value in headers:
            if key == _RESULT_COUNT and value.isdigit():
                return int(value)
    if head == b"[":
        try:
            return len(orjson.loads(body))
        except orjson.JSONDecodeError:
            return 0
    return 1 if head == b"{" else 0


class Gateway:
    """The data-plane endpoint of the exchange (a Starlette endpoint).

    Parameters
    ----------
    service
        The exchange's business layer (credentials, entitlements, products, meter).
    """

    def __init__(self, service: ExchangeService) -> None:
        self.service = service
        self.meter = service.meter
        self._backends: dict[str, Backend] = {}

    def backend(self, product: dict) -> Backend:
        """Return the backend of ``product`` (embedded broker unless ``upstream_url``)."""
        key = product.get("upstream_url") or ""
        backend = self._backends.get(key)
        if backend is None:
            backend = HttpBackend(key) if key else AsgiBackend(self.service.broker_app)
            self._backends[key] = backend
        return backend

    async def aclose(self) -> None:
        """Close the network clients of upstream backends."""
        for backend in self._backends.values():
            await backend.aclose()
        self._backends.clear()

    async def version(self, request: Request) -> Response:
        """``GET /version``: the embedded broker's version document (no credential needed)."""
        status, _, body = await self.backend({}).send("GET", "/version", b"", [], b"")
        return Response(body, status, media_type="application/json")

    async def handle(self, request: Request) -> Response:
        """Authorise, limit, forward and meter one data-plane call."""
        secret = credential_from(request)
        principal = self.service.authenticate(secret) if secret else None
        if principal is None:
            what = "missing" if not secret else "invalid, expired or revoked"
            return _ngsi_error(
                401,
                "Unauthorized",
                f"The credential is {what}: send 'Authorization: Bearer <token>' or "
                "'X-API-Key: <key>'.",
                {"WWW-Authenticate": 'Bearer realm="workbench"'},
            )
        reads = request.method in _READ_METHODS or request.url.path.startswith(_READ_POSTS)
        needed = DATA_READ if reads else DATA_WRITE
        if needed not in principal.scopes:
            return _insufficient_scope(needed, principal.scopes)
        tenant = request.headers.get("fiware-service", "").strip().lower()
        product = self.service.product_for_service(tenant) if tenant else None
        if product is None:
            return _ngsi_error(
                404,
                "NotFound",
                f"No product uses Fiware-Service {tenant!r}; see /api/products for the catalog.",
            )
        if principal.role == "public" and product["restricted"]:
            return _ngsi_error(
                403, "Forbidden", "The public (dashboards) credential reads open products only."
            )
        if principal.role == "admin" or (
            principal.organization_id is not None
            and principal.organization_id == product["organization_id"]
        ):
            return await self._owner_call(request, product)
        if request.method not in _READ_METHODS and not request.url.path.startswith(_READ_POSTS):
            return _ngsi_error(
                403,
                "Forbidden",
                f"Subscriptions to {product['id']!r} are read-only; only its provider writes.",
            )
        entitlement = self.service.entitlement(principal.account_id, product["id"])
        if entitlement is None:
            return _ngsi_error(
                403,
                "Forbidden",
                f"No active subscription to product {product['id']!r} "
                f"(Fiware-Service {tenant!r}); subscribe at /products/{product['id']}.",
            )
        adm = self.meter.admit(
            entitlement.subscription_id,
            rate_limit_per_s=entitlement.rate_limit_per_s,
            monthly_quota=entitlement.monthly_quota,
        )
        if not adm.allowed:
            headers = {"Retry-After": str(adm.retry_after_s), **_rate_headers(adm)}
            what = "rate limit" if adm.reason == "rate" else "monthly quota"
            return _ngsi_error(
                429,
                "TooManyRequests",
                f"The plan's {what} ({adm.limit}) is used up; retry after {adm.retry_after_s} s.",
                headers,
            )
        try:
            status, headers, body = await self._forward(request, product)
        except BackendError as exc:
            self.meter.release(entitlement.subscription_id, adm)
            return _ngsi_error(502, "BadGateway", f"The product's broker did not answer ({exc}).")
        if status >= 500 or 300 <= status < 400:
            self.meter.release(entitlement.subscription_id, adm)
        else:
            self.meter.record(
                entitlement.subscription_id,
                entities=_count_entities(
                    status, headers, body, trusted=self.backend(product).counts_results
                ),
                nbytes=len(body),
            )
        return self._relay(status, headers, body, adm)

    async def _owner_call(self, request: Request, product: dict) -> Response:
        """The product's provider (or an admin) reads and writes without metering."""
        try:
            status, headers, body = await self._forward(request, product)
        except BackendError as exc:
            return _ngsi_error(502, "BadGateway", f"The product's broker did not answer ({exc}).")
        return self._relay(status, headers, body, None)

    @staticmethod
    def _relay(status: int, headers: RawHeaders, body: bytes, adm: Admission | None) -> Response:
        out = Response(body, status_code=status)
        raw = [(b"content-length", str(len(body)).encode())]
        raw.extend((k, v) for k, v in headers if k.lower() not in _RESPONSE_DROP)
        if adm is not None:
            raw.extend((k.lower().encode(), v.encode()) for k, v in _rate_headers(adm).items())
        out.raw_headers = raw
        return out

    async def _forward(self, request: Request, product: dict) -> tuple[int, RawHeaders, bytes]:
        path = request.url.path
        if len(path) > 4 and path.endswith("/"):  # Orion tolerates it; avoid a redirect
            path = path.rstrip("/")
        headers = [(k, v) for k, v in request.scope["headers"] if k not in _HOP_BY_HOP]
        body = await request.body()
        return await self.backend(product).send(
            request.method, path, request.scope.get("query_string", b""), headers, body
        )
