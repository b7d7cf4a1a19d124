"""Credential scopes on a real ``workbench serve``: every REST route and the gateway check
the scope they need; the public dashboards' credential only reads open data."""

from __future__ import annotations

import sqlite3

import httpx
import pytest
from exchange_fixtures import PASSWORD, PROVIDER_EMAIL, Client, ExchangeServer, build_exchange
from fastapi.routing import APIRoute

from workbench.server.exchange import api
from workbench.server.exchange.errors import Forbidden, InvalidInput
from workbench.server.exchange.service import ExchangeService

READ, MANAGE = "account:read", "account:manage"
ANY = "any valid credential"
# every route of /api and the scope it needs (None: anonymous callers too)
ROUTE_SCOPES = {
    ("POST", "/api/accounts"): None,
    ("POST", "/api/login"): None,
    ("POST", "/api/logout"): ANY,
    ("GET", "/api/me"): READ,
    ("POST", "/api/accounts/{account_id}/verify"): MANAGE,
    ("GET", "/api/products"): None,
    ("GET", "/api/products/{product_id}"): None,
    ("GET", "/api/products/{product_id}/preview"): None,
    ("GET", "/api/products/{product_id}/plans"): None,
    ("GET", "/api/products/{product_id}/terms"): None,
    ("POST", "/api/products"): MANAGE,
    ("POST", "/api/products/{product_id}/plans"): MANAGE,
    ("POST", "/api/products/{product_id}/terms"): MANAGE,
    ("POST", "/api/products/{product_id}/quality"): MANAGE,
    ("POST", "/api/subscriptions"): MANAGE,
    ("GET", "/api/subscriptions"): READ,
    ("GET", "/api/subscriptions/{subscription_id}"): READ,
    ("POST", "/api/subscriptions/{subscription_id}/approve"): MANAGE,
    ("POST", "/api/subscriptions/{subscription_id}/cancel"): MANAGE,
    ("POST", "/api/subscriptions/{subscription_id}/suspend"): MANAGE,
    ("POST", "/api/credentials"): MANAGE,
    ("GET", "/api/credentials"): READ,
    ("DELETE", "/api/credentials/{credential_id}"): MANAGE,
    ("GET", "/api/usage"): READ,
    ("GET", "/api/bills"): READ,
    ("GET", "/api/settlements"): READ,
    ("GET", "/api/audit"): READ,
    ("GET", "/api/organizations"): None,
}
ALL = ["data:read", "data:write", "account:read", "account:manage"]
PUBLIC_EMAIL = "public@dashboards.example"


@pytest.fixture(scope="module")
def exchange(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("exchange-scopes")
    build_exchange(data_dir)
    svc = ExchangeService.open(data_dir)
    public = svc.create_account(PUBLIC_EMAIL, PASSWORD, name="Dashboards", role="public")
    for product in ("wards", "stations"):
        version = svc.current_terms(product)["version"]
        svc.subscribe(public, product, "free", purpose="public dashboards", terms_version=version)
    svc.close()
    with ExchangeServer(data_dir) as server:
        yield server


@pytest.fixture(scope="module")
def provider(exchange) -> Client:
    client = Client(exchange.url).log_in(PROVIDER_EMAIL)
    yield client
    client.close()


def _key(client: Client, scopes: list[str]) -> str:
    r = client.http.post("/api/credentials", json={"label": "scoped", "scopes": scopes})
    assert r.status_code == 201, r.text
    assert r.json()["scopes"] == scopes
    return r.json()["api_key"]


def _call(url: str, method: str, path: str, key: str) -> httpx.Response:
    filled = (
        path.replace("{product_id}", "wards")
        .replace("{subscription_id}", "sub_none")
        .replace("{credential_id}", "cred_none")
        .replace("{account_id}", "acc_none")
    )
    body = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
    return httpx.request(method, url + filled, headers={"X-API-Key": key}, timeout=30, **body)


def test_every_api_route_declares_the_scope_it_needs():
    declared = {}
    for route in api.router.routes:
        assert isinstance(route, APIRoute)
        needs = [getattr(d.call, "scope", None) for d in route.dependant.dependencies]
        needs = [n for n in needs if n]
        for method in route.methods:
            declared[(method, route.path)] = needs[0] if needs else None
    # a new route fails here until it is given a scope (or listed as public) above
    assert set(declared) == set(ROUTE_SCOPES)
    for key, scope in ROUTE_SCOPES.items():
        assert declared[key] == (None if scope in (None, ANY) else scope), key


@pytest.mark.parametrize(
    "method,path",
    [k for k, v in ROUTE_SCOPES.items() if v in (READ, MANAGE)],
    ids=[f"{m} {p}" for (m, p), v in ROUTE_SCOPES.items() if v in (READ, MANAGE)],
)
def test_a_credential_without_the_routes_scope_gets_403_insufficient_scope(
    exchange, provider, method, path
):
    needed = ROUTE_SCOPES[(method, path)]
    without = _key(provider, [s for s in ALL if s != needed])
    r = _call(exchange.url, method, path, without)
    assert r.status_code == 403, r.text
    problem = r.json()
    assert r.headers["content-type"] == "application/problem+json"
    assert problem["error"] == "insufficient_scope" and problem["required_scope"] == needed
    assert needed in problem["detail"]
    assert 'error="insufficient_scope"' in r.headers["www-authenticate"]
    # the same call with a key holding only that scope passes the scope check
    only = _key(provider, [needed])
    r = _call(exchange.url, method, path, only)
    assert r.status_code < 500 and "insufficient_scope" not in r.text, r.text


def test_gateway_reads_need_data_read_and_writes_need_data_write(exchange, provider):
    ngsi = {"Fiware-Service": "wards"}
    entity = {"id": "urn:ngsi-ld:AdministrativeArea:99", "type": "AdministrativeArea"}
    account_only = _key(provider, ["account:read", "account:manage"])
    r = httpx.get(
        exchange.url + "/v2/entities", headers={**ngsi, "X-API-Key": account_only}, timeout=30
    )
    assert r.status_code == 403 and "insufficient_scope" in r.json()["description"]
    reader = _key(provider, ["data:read"])
    r = httpx.post(
        exchange.url + "/v2/entities",
        json=entity,
        headers={**ngsi, "X-API-Key": reader},
        timeout=30,
    )
    assert r.status_code == 403 and "data:write" in r.json()["description"]
    r = httpx.get(exchange.url + "/v2/entities", headers={**ngsi, "X-API-Key": reader}, timeout=30)
    assert r.status_code == 200 and len(r.json()) == 10
    writer = _key(provider, ["data:read", "data:write"])
    r = httpx.post(
        exchange.url + "/v2/entities",
        json=entity,
        headers={**ngsi, "X-API-Key": writer},
        timeout=30,
    )
    assert r.status_code == 201, r.text


def test_public_credential_reads_open_data_but_cannot_subscribe_issue_or_cancel(exchange):
    public = Client(exchange.url).log_in(PUBLIC_EMAIL)  # even its password gives data:read only
    key_r = public.http.post("/api/credentials", json={"label": "more"})
    assert key_r.status_code == 403 and key_r.json()["error"] == "insufficient_scope"
    version = httpx.get(exchange.url + "/api/products/wards/terms").json()["version"]
    sub = public.http.post(
        "/api/subscriptions",
        json={
            "product_id": "wards",
            "plan_id": "metered",
            "purpose": "more calls",
            "terms_version": version,
        },
    )
    assert sub.status_code == 403 and sub.json()["required_scope"] == "account:manage"
    r = httpx.get(
        exchange.url + "/v2/entities?limit=3",
        headers={"Fiware-Service": "wards", "Authorization": f"Bearer {public.token}"},
        timeout=30,
    )
    assert r.status_code == 200 and len(r.json()) == 3
    public.close()


def test_public_account_can_only_hold_free_plans_of_open_products(tmp_path):
    build_exchange(tmp_path)
    svc = ExchangeService.open(tmp_path)
    try:
        public = svc.create_account("p@x.example", PASSWORD, name="Public", role="public")
        with pytest.raises(Forbidden, match="free plans only"):
            svc.subscribe(public, "wards", "metered", purpose="dash", terms_version="2026-11")
        with pytest.raises(InvalidInput, match="cannot grant"):
            svc.issue_api_key(public, label="x", scopes=["account:manage"])
        _, key = svc.issue_api_key(public, label="dash")
        assert svc.scopes_of(key) == {"data:read"}
    finally:
        svc.close()


def test_oauth_token_requests_can_narrow_the_scope(exchange, provider):
    r = provider.http.post(
        "/api/credentials", json={"kind": "oauth_client", "scopes": ["data:read", "account:read"]}
    )
    client_id, secret = r.json()["client_id"], r.json()["client_secret"]
    token_url = exchange.url + "/oauth2/token"
    r = httpx.post(
        token_url,
        data={"grant_type": "client_credentials", "scope": "data:read"},
        auth=(client_id, secret),
    )
    assert r.status_code == 200 and r.json()["scope"] == "data:read"
    narrow = r.json()["access_token"]
    me = httpx.get(exchange.url + "/api/me", headers={"Authorization": f"Bearer {narrow}"})
    assert me.status_code == 403 and me.json()["required_scope"] == "account:read"
    seen = httpx.post(
        exchange.url + "/oauth2/introspect", data={"token": narrow}, auth=(client_id, secret)
    ).json()
    assert seen["active"] is True and seen["scope"] == "data:read"
    full = httpx.post(
        token_url, data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    ).json()
    assert full["scope"] == "data:read account:read"
    for asked in ("account:manage", "everything"):
        r = httpx.post(
            token_url,
            data={"grant_type": "client_credentials", "scope": asked},
            auth=(client_id, secret),
        )
        assert r.status_code == 400 and r.json()["error"] == "invalid_scope", r.text


def test_a_credential_cannot_issue_a_stronger_one(exchange, provider):
    manager = _key(provider, ["account:manage"])
    r = httpx.post(
        exchange.url + "/api/credentials",
        json={"scopes": ["account:manage", "data:write"]},
        headers={"X-API-Key": manager},
    )
    assert r.status_code == 403 and "data:write" in r.json()["detail"]
    r = httpx.post(exchange.url + "/api/credentials", json={}, headers={"X-API-Key": manager})
    assert r.status_code == 201 and r.json()["scopes"] == ["account:manage"]


def test_keys_stored_before_scopes_get_their_roles_scopes(tmp_path):
    build_exchange(tmp_path)
    svc = ExchangeService.open(tmp_path)
    public = svc.create_account("old@x.example", PASSWORD, name="Old", role="public")
    buyer = svc.create_account("buyer@x.example", PASSWORD, name="Buyer", role="buyer")
    _, public_key = svc.issue_api_key(public, label="old")
    _, buyer_key = svc.issue_api_key(buyer, label="old")
    svc.close()
    with sqlite3.connect(tmp_path / "exchange.db") as db:  # the schema of the previous release
        db.execute("ALTER TABLE credentials DROP COLUMN scopes")
        db.execute("ALTER TABLE tokens DROP COLUMN scopes")
    svc = ExchangeService.open(tmp_path)
    try:
        assert svc.scopes_of(public_key) == {"data:read"}
        assert svc.scopes_of(buyer_key) == {"data:read", "account:read", "account:manage"}
        with sqlite3.connect(tmp_path / "exchange.db") as db:
            columns = {row[1] for row in db.execute("PRAGMA table_info(credentials)")}
        assert "scopes" in columns
    finally:
        svc.close()


def test_seeded_dashboard_key_is_read_only(seeded_exchange):
    public = next(a for a in seeded_exchange.credentials["accounts"] if a["kind"] == "public")
    assert public["scopes"] == ["data:read"]
    headers = {"X-API-Key": public["api_key"]}
    url = seeded_exchange.url
    own_sub = public["subscriptions"][0]["subscription_id"]
    attempts = [
        ("POST", "/api/credentials", {"json": {"label": "stolen"}}),
        ("POST", f"/api/subscriptions/{own_sub}/cancel", {}),
        (
            "POST",
            "/api/subscriptions",
            {
                "json": {
                    "product_id": "city-centre-pedestrians",
                    "plan_id": "metered",
                    "purpose": "x" * 5,
                    "terms_version": "1",
                }
            },
        ),
    ]
    for method, path, kw in attempts:
        r = httpx.request(method, url + path, headers=headers, timeout=30, **kw)
        assert r.status_code == 403 and r.json()["error"] == "insufficient_scope", (path, r.text)
    product = public["subscriptions"][0]["product_id"]
    service = httpx.get(url + f"/api/products/{product}").json()["service"]
    r = httpx.get(
        url + "/v2/entities?limit=1", headers={**headers, "Fiware-Service": service}, timeout=30
    )
    assert r.status_code == 200
