"""A read-only CKAN action API subset over the catalog, so ``ckanapi`` can browse it.

Actions ``package_list``, ``package_show``, ``package_search``, ``organization_list``,
``organization_show``, ``status_show`` and ``site_read`` under ``/api/3/action/`` (and
``/api/action/``, which ``ckanapi`` uses); GET with query parameters or POST with a JSON
body, as ``ckanapi.RemoteCKAN`` sends. Each API product is a CKAN *package* (a DCAT
DataService) with one resource: its NGSI v2 endpoint.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from .auth import service_of
from .service import ExchangeService

router = APIRouter(tags=["ckan"], include_in_schema=False)

_MAX_ROWS = 1000


class _CkanError(Exception):
    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status, self.kind, self.message = status, kind, message


def _reply(request: Request, result: Any = None, error: _CkanError | None = None) -> Response:
    body: dict[str, Any] = {"help": str(request.url).split("?")[0], "success": error is None}
    if error is None:
        body["result"] = result
    else:
        body["error"] = {"__type": error.kind, "message": error.message}
    status = 200 if error is None else error.status
    return Response(orjson.dumps(body, default=str), status, media_type="application/json")


def _org_dict(org: dict) -> dict:
    return {
        "id": org["id"],
        "name": org["id"],
        "title": org["name"],
        "display_name": org["name"],
        "description": org["description"],
        "type": "organization",
        "is_organization": True,
        "state": "active",
        "created": org["created_at"],
    }


def _package(product: dict, base_url: str, orgs: dict[str, dict]) -> dict:
    org = orgs.get(product["organization_id"])
    tags = [{"name": t} for t in product["entity_types"]]
    if product["synthetic"]:
        tags.append({"name": "synthetic"})
    terms = product.get("terms") or {}
    quality = product.get("quality") or {}
    extras = {
        "fiware_service": product["service"],
        "dcat_type": "dcat:DataService",
        "attribution": product["attribution"],
        "update_frequency": product["update_frequency"],
        "restricted": str(bool(product["restricted"])).lower(),
        "synthetic": str(bool(product["synthetic"])).lower(),
        "terms_version": terms.get("version", ""),
        "entity_count": str(quality.get("entity_count", "")),
        "completeness": str(quality.get("completeness", "")),
    }
    return {
        "id": product["id"],
        "name": product["id"].lower(),
        "title": product["title"],
        "notes": product["description"],
        "type": "dataset",
        "state": "active",
        "private": False,
        "license_id": product["licence"],
        "license_title": product["licence"],
        "author": product["provider"],
        "maintainer": product["provider"],
        "owner_org": product["organization_id"],
        "organization": _org_dict(org) if org else None,
        "metadata_created": product["created_at"],
        "metadata_modified": quality.get("computed_at") or product["created_at"],
        "url": f"{base_url}/products/{product['id']}",
        "tags": tags,
        "num_tags": len(tags),
        "extras": [{"key": k, "value": v} for k, v in extras.items()],
        "resources": [
            {
                "id": f"{product['id']}-ngsi",
                "package_id": product["id"],
                "name": f"{product['title']} (NGSI v2 API)",
                "url": f"{base_url}/v2/entities",
                "format": "NGSI v2",
                "description": (
                    f"Send 'Fiware-Service: {product['service']}' and a credential; "
                    f"subscribe at {base_url}/products/{product['id']}."
                ),
                "state": "active",
            }
        ],
        "num_resources": 1,
    }


def _int(params: dict, key: str, default: int, *, lo: int = 0, hi: int = _MAX_ROWS) -> int:
    raw = params.get(key, default)
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise _CkanError(409, "Validation Error", f"{key} must be an integer") from None
    if not lo <= value <= hi:
        raise _CkanError(409, "Validation Error", f"{key} must be between {lo} and {hi}")
    return value


def _run(action: str, params: dict, svc: ExchangeService, base_url: str) -> Any:
    orgs = {o["id"]: o for o in svc.list_organizations()}
    if action in ("status_show",):
        return {"ckan_version": "2.10.0", "site_title": "Sapporo Data Commons", "extensions": []}
    if action == "site_read":
        return True
    if action == "package_list":
        names = [p["id"].lower() for p in svc.list_products()]
        offset = _int(params, "offset", 0, hi=10**9)
        limit = _int(params, "limit", len(names) or 1, hi=10**9)
        return names[offset : offset + limit]
    if action == "package_show":
        wanted = str(params.get("id") or params.get("name") or "").lower()
        if not wanted:
            raise _CkanError(409, "Validation Error", "id: Missing value")
        for p in svc.list_products():
            if p["id"].lower() == wanted:
                return _package(p, base_url, orgs)
        raise _CkanError(404, "Not Found Error", "Not found")
    if action == "package_search":
        q = params.get("q") or ""
        q = "" if q in ("*:*", "*") else str(q)
        rows = _int(params, "rows", 10)
        start = _int(params, "start", 0, hi=10**9)
        found = svc.list_products(q or None)
        fq = str(params.get("fq") or "")
        if fq.startswith("organization:"):
            org = fq.split(":", 1)[1].strip('"')
            found = [p for p in found if p["organization_id"] == org]
        return {
            "count": len(found),
            "results": [_package(p, base_url, orgs) for p in found[start : start + rows]],
            "facets": {},
            "search_facets": {},
            "sort": "score desc, metadata_modified desc",
        }
    if action == "organization_list":
        all_fields = str(params.get("all_fields", "false")).lower() in ("true", "1")
        listed = sorted(orgs.values(), key=lambda o: o["id"])
        return [_org_dict(o) for o in listed] if all_fields else [o["id"] for o in listed]
    if action == "organization_show":
        wanted = str(params.get("id") or "")
        if wanted not in orgs:
            raise _CkanError(404, "Not Found Error", "Not found")
        out = _org_dict(orgs[wanted])
        out["packages"] = [
            _package(p, base_url, orgs) for p in svc.list_products(organization_id=wanted)
        ]
        return out
    raise _CkanError(400, "Bad Request", f"Action {action!r} is not provided by this catalog.")


@router.api_route("/api/3/action/{action}", methods=["GET", "POST"])
@router.api_route("/api/action/{action}", methods=["GET", "POST"])
async def action(action: str, request: Request) -> Response:
    """Run one CKAN action (read-only subset)."""
    params: dict[str, Any] = dict(request.query_params)
    if request.method == "POST":
        raw = await request.body()
        if raw:
            ctype = request.headers.get("content-type", "")
            if ctype.startswith("application/x-www-form-urlencoded") or ctype.startswith(
                "multipart/"
            ):
                form = await request.form()
                params.update({k: v for k, v in form.items() if isinstance(v, str)})
            else:
                try:
                    body = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    return _reply(
                        request, error=_CkanError(400, "Bad Request", "Body is not valid JSON")
                    )
                if not isinstance(body, dict):
                    return _reply(
                        request, error=_CkanError(400, "Bad Request", "Body must be a JSON object")
                    )
                params.update(body)
    base_url = str(request.base_url).rstrip("/")
    try:
        result = await run_in_threadpool(_run, action, params, service_of(request), base_url)
    except _CkanError as err:
        return _reply(request, error=err)
    return _reply(request, result)
