"""Provenance carried in every frame's ``.attrs``.

Keys: ``exchange_url``, ``product`` (id, or ``None`` on a plain broker), ``title``,
``service``, ``servicepath``, ``licence``, ``attribution``, ``terms_version``, ``query``
(the NGSI endpoint, its parameters and the client options), ``retrieved_at`` (UTC ISO
8601) and ``entity_count`` (rows for history). ``frame.attrs`` survives copies and the
on-disk cache.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ProductRef:
    """What a query targets: the tenant, and the product's licence/terms when known."""

    service: str | None
    servicepath: str | None = None
    product: str | None = None
    title: str | None = None
    licence: str | None = None
    attribution: str | None = None
    terms_version: str | None = None

    def headers(self) -> dict[str, str]:
        out = {}
        if self.service:
            out["Fiware-Service"] = self.service
        if self.servicepath:
            out["Fiware-ServicePath"] = self.servicepath
        return out


def utc_now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def provenance(
    *,
    url: str,
    ref: ProductRef,
    endpoint: str,
    params: dict[str, Any],
    count: int,
    options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``.attrs`` dictionary of a frame retrieved from ``url``.

    ``query`` is ``{"endpoint", "params"}`` (the server-side parameters) plus the client-side
    ``options`` (``limit``, ``metadata``, ``flatten``).
    """
    return {
        "exchange_url": url,
        "product": ref.product,
        "title": ref.title,
        "service": ref.service,
        "servicepath": ref.servicepath,
        "licence": ref.licence,
        "attribution": ref.attribution,
        "terms_version": ref.terms_version,
        "query": {"endpoint": endpoint, "params": params, **(options or {})},
        "retrieved_at": utc_now_iso(),
        "entity_count": count,
    }
