"""The exchange as one ASGI app: API, OAuth, gateway (data plane), CKAN API and portal."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from starlette.routing import Route

from workbench.server.gateway import GATEWAY_METHODS, Gateway
from workbench.server.upstream import UpstreamPolicy

from . import api, api_trust, oauth
from .browser_security import BrowserSecurityMiddleware
from .problems import install_problem_handlers
from .service import ExchangeService


def create_exchange_app(
    data_dir: str | Path,
    *,
    commission: Decimal | str | float = "0.10",
    service: ExchangeService | None = None,
    upstream_policy: UpstreamPolicy | None = None,
    secure_cookies: bool = False,
) -> FastAPI:
    """Return the exchange app for ``data_dir`` (created if needed).

    Parameters
    ----------
    data_dir
        Where ``exchange.db``, ``broker.db`` (the embedded broker) and ``secret.key`` live.
    commission
        Platform commission on revenue (0..1, default 0.10).
    service
        An already opened :class:`ExchangeService` (else one is opened on ``data_dir``).
    upstream_policy
        Which upstream brokers products may use (default: ``WORKBENCH_ALLOW_UPSTREAM``).
    secure_cookies
        The exchange is served over HTTPS (behind a TLS proxy): cookies get ``Secure`` and
        responses ``Strict-Transport-Security``.
    """
    svc = service or ExchangeService.open(
        data_dir, commission=commission, upstream_policy=upstream_policy
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await app.state.gateway.aclose()
            await svc.aclose()

    # Swagger UI and ReDoc from the package, not a CDN: /docs works offline (ADR 0144)
    app = FastAPIOffline(
        static_url="/portal/api-docs",
        title="Sapporo Data Commons exchange",
        version="0.1.0",
        description=(
            "Catalog, accounts, terms, plans, subscriptions, credentials, usage, bills and "
            "revenue share. The data plane (NGSI v2 at /v2, history at /ql/v2) is documented "
            "in docs/exchange-api.md."
        ),
        lifespan=lifespan,
    )
    app.state.service = svc
    app.state.secure_cookies = secure_cookies
    app.add_middleware(BrowserSecurityMiddleware, secure=secure_cookies)
    install_problem_handlers(app)
    app.include_router(api.router)
    app.include_router(api_trust.router)
    app.include_router(oauth.router)
    _add_optional_routers(app)

    gateway = Gateway(svc)
    app.state.gateway = gateway
    # the data plane first: it is the hot path, matched before the API's routes
    app.router.routes[0:0] = [
        Route("/version", gateway.version, methods=["GET"], include_in_schema=False),
        Route("/v2", gateway.handle, methods=GATEWAY_METHODS, include_in_schema=False),
        Route("/v2/{path:path}", gateway.handle, methods=GATEWAY_METHODS, include_in_schema=False),
        Route("/ql/{path:path}", gateway.handle, methods=GATEWAY_METHODS, include_in_schema=False),
    ]
    return app


def _add_optional_routers(app: FastAPI) -> None:
    from . import ckan, dcat, portal, portal_trust

    app.include_router(dcat.router)
    app.include_router(ckan.router)
    portal_trust.install(app)
    portal.install(app)
