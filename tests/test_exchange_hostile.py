"""Every route of the exchange, fed hostile input, answers 4xx, never 5xx.

``test_exchange_api.py`` lists hand-picked attacks; this module walks the app's route table
(the REST API in ``/openapi.json`` and the routes kept out of it: the NGSI data plane, the CKAN
API, the portal's forms) so a new endpoint is covered the day it is added. For each operation,
as an anonymous caller and as a logged-in admin (who passes every permission check and so
reaches the handler's own validation), it sends malformed JSON, JSON of the wrong shape,
wrong-typed and oversized fields, hostile path parameters and query strings.
"""

from __future__ import annotations

import re

import httpx
import pytest
from exchange_fixtures import ADMIN_EMAIL, PASSWORD, ExchangeServer, build_exchange

HOSTILE_SEGMENTS = ["' OR 1=1 --", "..%2f..%2fetc%2fpasswd", "x" * 3000, "%00", "-1", "1e309"]
HOSTILE_BODIES: list[dict] = [
    {"content": b"{not json", "headers": {"Content-Type": "application/json"}},
    {"content": b"\xff\xfe\x00", "headers": {"Content-Type": "application/json"}},
    {"json": []},
    {"json": "a string"},
    {"json": {"id": {"$ne": None}, "email": ["a"], "password": 5, "plan_id": None,
              "product_id": 12, "purpose": {"x": 1}, "terms_version": [], "kind": 3.5,
              "amount": "lots", "month": "2026-13", "status": True}},
    {"json": {"nested": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}},
    {"data": {"a": "\x00", "grant_type": "x" * 10000}},
]
HOSTILE_QUERY = {"limit": "-5", "offset": "abc", "month": "2026-99", "q": "\x00' OR 1=1",
                 "rows": "9" * 40, "id": "../../"}


@pytest.fixture(scope="module")
def exchange(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("exchange-hostile")
    build_exchange(data_dir)
    with ExchangeServer(data_dir) as server:
        yield server


# what a ``{path:path}`` catch-all (the NGSI data plane) is exercised with
NGSI_PATHS = ["entities", "entities/{x}/attrs", "entities/{x}/attrs/{x}/value", "op/update",
              "op/query", "types/{x}", "v2/entities/{x}", "v2/types/{x}/attrs/{x}"]


@pytest.fixture(scope="module")
def operations(exchange, tmp_path_factory) -> list[tuple[str, str]]:
    from starlette.routing import Route

    from workbench.server.exchange import ckan, portal
    from workbench.server.exchange.app import create_exchange_app

    spec = httpx.get(exchange.url + "/openapi.json", timeout=30).json()
    ops = [(method.upper(), path) for path, item in spec["paths"].items()
           for method in item if method in {"get", "post", "put", "patch", "delete"}]
    assert len(ops) >= 25, ops  # the document describes the API, not a stub
    app = create_exchange_app(tmp_path_factory.mktemp("routes"))
    hidden = [*app.routes, *ckan.router.routes, *portal.router.routes]
    for route in hidden:
        if not isinstance(route, Route) or route.include_in_schema:
            continue
        paths = [route.path]
        if route.path.endswith("{path:path}"):
            paths = [route.path.replace("{path:path}", p) for p in NGSI_PATHS]
        ops += [(m, p) for p in paths for m in sorted(route.methods - {"HEAD"})]
    assert {("GET", "/v2/entities"), ("POST", "/login"), ("GET", "/api/3/action/{action}")} \
        <= set(ops)
    return ops


@pytest.fixture(scope="module")
def admin_headers(exchange) -> dict[str, str]:
    r = httpx.post(exchange.url + "/api/login", json={"email": ADMIN_EMAIL, "password": PASSWORD},
                   timeout=30)
    r.raise_for_status()
    return {"Authorization": "Bearer " + r.json()["access_token"]}


def _fill(path: str, value: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda _: value, path)


@pytest.mark.parametrize("as_admin", [False, True], ids=["anonymous", "admin"])
def test_every_operation_answers_hostile_input_with_a_4xx(exchange, operations, admin_headers,
                                                          as_admin):
    headers = {"Fiware-Service": "wards", **(admin_headers if as_admin else {})}
    failures = []
    with httpx.Client(base_url=exchange.url, timeout=30) as http:
        for method, template in operations:
            paths = {_fill(template, s) for s in HOSTILE_SEGMENTS} if "{" in template \
                else {template}
            for path in paths:
                attempts = [{"params": HOSTILE_QUERY}]
                if method in {"POST", "PUT", "PATCH"}:
                    attempts += HOSTILE_BODIES
                for attempt in attempts:
                    attempt = dict(attempt)
                    h = {**headers, **attempt.pop("headers", {})}
                    r = http.request(method, path, headers=h, **attempt)
                    if r.status_code >= 500:
                        failures.append((method, path[:80], r.status_code, r.text[:200]))
    assert not failures, failures
    # and the server is still healthy afterwards
    assert httpx.get(exchange.url + "/api/products", timeout=30).status_code == 200
