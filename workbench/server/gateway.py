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
"""

from __future__ import annotations

import httpx
import orjson
from starlette.requests import Request
from starlette.responses import Response

from workbench.server.exchange.auth import credential_from
from workbench.server.exchange.metering import Admission
from workbench.server.exchange.service import ExchangeService

_HOP_BY_HOP = frozenset(
    {
        "host",
        "connection",
        "keep-alive",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "authorization",
        "x-auth-token",
        "x-api-key",
        "cookie",
    }
)
_RESPONSE_DROP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding"}
)
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_READ_POSTS = ("/v2/op/query",)
GATEWAY_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


def _ngsi_error(
    status: int, error: str, description: str, headers: dict[str, str] | None = None
) -> Response:
    body = orjson.dumps({"error": error, "description": description})
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def _rate_headers(adm: Admission) -> dict[str, str]:
    if adm.limit is None:
        return {}
    return {
        "RateLimit-Limit": str(adm.limit),
        "RateLimit-Remaining": str(max(adm.remaining or 0, 0)),
        "RateLimit-Reset": str(adm.reset_s),
    }


def _count_entities(resp: httpx.Response) -> int:
    if resp.status_code != 200 or not resp.content:
        return 0
    if not resp.headers.get("content-type", "").startswith("application/json"):
        return 0
    head = resp.content[:1]
    if head == b"[":
        try:
            return len(orjson.loads(resp.content))
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

    async def version(self, request: Request) -> Response:
        """``GET /version``: the embedded broker's version document (no credential needed)."""
        client = self.service.backend({"upstream_url": None})
        resp = await client.get("/version")
        return Response(resp.content, resp.status_code, media_type="application/json")

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
        tenant = request.headers.get("fiware-service", "").strip().lower()
        product = self.service.product_for_service(tenant) if tenant else None
        if product is None:
            return _ngsi_error(
                404,
                "NotFound",
                f"No product uses Fiware-Service {tenant!r}; see /api/products for the catalog.",
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
            resp = await self._forward(request, product)
        except httpx.HTTPError as exc:
            self.meter.release(entitlement.subscription_id, adm)
            return _ngsi_error(
                502, "BadGateway", f"The product's broker did not answer ({type(exc).__name__})."
            )
        if resp.status_code >= 500 or 300 <= resp.status_code < 400:
            self.meter.release(entitlement.subscription_id, adm)
        else:
            self.meter.record(
                entitlement.subscription_id,
                entities=_count_entities(resp),
                nbytes=len(resp.content),
            )
        return self._relay(resp, adm)

    async def _owner_call(self, request: Request, product: dict) -> Response:
        """The product's provider (or an admin) reads and writes without metering."""
        try:
            resp = await self._forward(request, product)
        except httpx.HTTPError as exc:
            return _ngsi_error(
                502, "BadGateway", f"The product's broker did not answer ({type(exc).__name__})."
            )
        return self._relay(resp, None)

    @staticmethod
    def _relay(resp: httpx.Response, adm: Admission | None) -> Response:
        out = Response(resp.content, status_code=resp.status_code)
        raw = [(b"content-length", str(len(resp.content)).encode())]
        raw.extend(
            (k.encode("latin-1"), v.encode("latin-1"))
            for k, v in resp.headers.multi_items()
            if k.lower() not in _RESPONSE_DROP
        )
        if adm is not None:
            raw.extend((k.lower().encode(), v.encode()) for k, v in _rate_headers(adm).items())
        out.raw_headers = raw
        return out

    async def _forward(self, request: Request, product: dict) -> httpx.Response:
        client = self.service.backend(product)
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP]
        body = await request.body()
        path = request.url.path
        if len(path) > 4 and path.endswith("/"):  # Orion tolerates it; avoid a redirect
            path = path.rstrip("/")
        return await client.request(
            request.method,
            path,
            params=request.url.query or None,
            headers=headers,
            content=body or None,
        )
