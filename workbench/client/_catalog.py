"""The exchange's catalog and account API (``/api/``): products, plans, subscriptions, usage.

On a plain NGSI broker there is no ``/api/``; every call here then raises
:class:`~workbench.client._errors.CatalogUnavailableError` (queries keep working).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pandas as pd

from ..ngsi._frames import FrameBuilder
from ._errors import CatalogUnavailableError, ProblemError, WorkbenchError
from ._http import Operation, Request, one


def api_op(
    url: str, method: str, path: str, *, params: dict[str, str] | None = None, json: Any = None
) -> Operation[Any]:
    """Call the exchange API; a non-problem 404 means the server has no catalog."""
    request = Request(
        method,
        path,
        params=list((params or {}).items()),
        json=json,
        idempotent=method == "GET",
    )
    try:
        (response,) = yield one(request)
    except WorkbenchError as exc:
        # Orion (and our bare broker) answer unknown paths with NGSI 400 "service not found".
        if exc.status in (400, 404, 405, 501) and not isinstance(exc, ProblemError):
            raise CatalogUnavailableError(
                f"{url} has no exchange catalog ({method} {path} -> {exc.status}); it looks like "
                "a plain NGSI broker. Entity queries work (ex.entities(service, ...)); catalog, "
                "subscriptions, usage and bills need the exchange's URL.",
                status=exc.status,
                url=exc.url,
                method=method,
            ) from exc
        raise
    return response.json()


def _items(body: Any) -> list[dict[str, Any]]:
    if isinstance(body, dict):
        for key in ("items", "results", "data", "products", "subscriptions"):
            if isinstance(body.get(key), list):
                return body[key]
    return body if isinstance(body, list) else [body]


def records_frame(records: list[dict[str, Any]], *, drop: tuple[str, ...] = ()) -> pd.DataFrame:
    """A flat frame (dotted columns for nested dicts) with pandas nullable dtypes."""
    rows = [{k: v for k, v in r.items() if k not in drop} for r in records]
    if not rows:
        return pd.DataFrame()
    frame = pd.json_normalize(rows, sep=".")
    return frame.convert_dtypes(dtype_backend="numpy_nullable")


PRODUCT_COLUMNS = (
    "id",
    "title",
    "provider",
    "service",
    "entity_types",
    "licence",
    "restricted",
    "synthetic",
    "update_frequency",
)


def products_op(url: str, q: str | None) -> Operation[pd.DataFrame]:
    body = yield from api_op(url, "GET", "/api/products", params={"q": q} if q else None)
    frame = records_frame(_items(body), drop=("plans", "terms", "description", "documentation"))
    if frame.empty:
        return pd.DataFrame({c: pd.Series(dtype="string") for c in PRODUCT_COLUMNS})
    first = [c for c in PRODUCT_COLUMNS if c in frame.columns]
    return frame[first + [c for c in frame.columns if c not in first]]


@dataclass
class Product:
    """A product of the exchange's catalog (from :meth:`Exchange.product`).

    ``raw`` holds the full JSON; ``plans`` and ``preview`` are DataFrames.
    """

    id: str
    title: str | None
    service: str | None
    provider: Any
    licence: str | None
    attribution: str | None
    quality: dict[str, Any]
    terms: dict[str, Any]
    plans: pd.DataFrame
    preview: pd.DataFrame
    raw: dict[str, Any] = field(repr=False, default_factory=dict)

    @property
    def terms_version(self) -> str | None:
        return None if not self.terms else str(self.terms.get("version"))

    def __repr__(self) -> str:
        return (
            f"<Product {self.id!r} {self.title!r} service={self.service!r} "
            f"licence={self.licence!r} terms={self.terms_version!r} plans={len(self.plans)}>"
        )


def product_path(product_id: str) -> str:
    return f"/api/products/{quote(product_id, safe='')}"


def product_op(url: str, product_id: str) -> Operation[Product]:
    body = yield from api_op(url, "GET", product_path(product_id))
    try:
        preview_body = yield from api_op(url, "GET", product_path(product_id) + "/preview")
    except WorkbenchError:
        preview_body = []
    preview = _items(preview_body) if preview_body else []
    terms = body.get("terms") or {}
    return Product(
        id=body.get("id", product_id),
        title=body.get("title"),
        service=body.get("service"),
        provider=body.get("provider"),
        licence=body.get("licence"),
        attribution=body.get("attribution"),
        quality=body.get("quality") or {},
        terms=terms,
        plans=records_frame(body.get("plans") or []),
        preview=_preview_frame(preview),
        raw=body,
    )


def _preview_frame(entities: list[dict[str, Any]]) -> pd.DataFrame:
    """The keyValues preview as a frame with dtypes guessed from the values."""
    if not entities or not all(isinstance(e, dict) for e in entities):
        return pd.DataFrame(entities)
    builder = FrameBuilder(key_values_types={})
    builder.add(entities)
    return builder.frame()


def plans_op(url: str, product_id: str) -> Operation[pd.DataFrame]:
    body = yield from api_op(url, "GET", product_path(product_id) + "/plans")
    return records_frame(_items(body))


def subscribe_op(
    url: str, product_id: str, *, plan: str, purpose: str, accept_terms: str
) -> Operation[dict[str, Any]]:
    plans = yield from api_op(url, "GET", product_path(product_id) + "/plans")
    plan_id = plan
    for p in _items(plans):
        if plan in (str(p.get("id")), p.get("name"), p.get("title")):
            plan_id = p.get("id", plan)
            break
    body = yield from api_op(
        url,
        "POST",
        "/api/subscriptions",
        json={
            "product_id": product_id,
            "plan_id": plan_id,
            "purpose": purpose,
            "terms_version": accept_terms,
        },
    )
    return body


def issue_api_key_op(
    url: str, *, label: str, scopes: Sequence[str] | None
) -> Operation[dict[str, Any]]:
    payload: dict[str, Any] = {"kind": "api_key", "label": label}
    if scopes is not None:
        payload["scopes"] = list(scopes)
    body = yield from api_op(url, "POST", "/api/credentials", json=payload)
    return body


def list_op(url: str, path: str, params: dict[str, str] | None = None) -> Operation[pd.DataFrame]:
    body = yield from api_op(url, "GET", path, params=params)
    return records_frame(_items(body))


def offer_body(
    product_id: str,
    *,
    title: str,
    licence: str,
    attribution: str,
    plans: list[dict[str, Any]] | None,
    terms: dict[str, Any] | None,
    **fields: Any,
) -> dict[str, Any]:
    """The body of ``POST /api/products`` for :meth:`Exchange.create_product`, checked.

    Raises
    ------
    ValueError
        A required field is empty, or plans / terms are not shaped as the exchange expects.
    """
    required = {"product_id": product_id, "title": title, "licence": licence}
    for name, value in {**required, "attribution": attribution}.items():
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"create_product needs a non-empty {name} (a string)")
    if plans is None:
        plans = [{"id": "open", "name": "Open (free)", "kind": "free"}]
    if not isinstance(plans, list) or not all(isinstance(p, dict) for p in plans) or not plans:
        raise ValueError(
            "plans must be a non-empty list of dicts, e.g. [{'id': 'open', 'kind': 'free'}] or "
            "[{'id': 'pro', 'kind': 'metered', 'price_per_1000_calls': 200, "
            "'monthly_quota': 100000, 'rate_limit_per_s': 10}]"
        )
    plans = [{"name": p.get("id"), **p} for p in plans]
    if not isinstance(terms, dict) or not terms.get("permitted_purposes"):
        raise ValueError(
            "terms must be a dict with version, text, permitted_purposes (at least one) and "
            "prohibitions, e.g. {'version': '1.0', 'text': 'Any purpose, with attribution.', "
            "'permitted_purposes': ['any'], 'prohibitions': ['removing_attribution']}"
        )
    terms = {"version": "1.0", "prohibitions": [], **terms}
    terms["version"] = str(terms["version"])
    body = {"id": product_id, "title": title, "licence": licence, "attribution": attribution}
    body.update({k: v for k, v in fields.items() if v is not None})
    if isinstance(body.get("entity_types"), str):
        body["entity_types"] = [body["entity_types"]]
    return {**body, "plans": plans, "terms": terms}


def create_product_op(url: str, body: dict[str, Any]) -> Operation[Product]:
    yield from api_op(url, "POST", "/api/products", json=body)
    return (yield from product_op(url, body["id"]))


def account_op(url: str) -> Operation[dict[str, Any]]:
    return (yield from api_op(url, "GET", "/api/me"))
