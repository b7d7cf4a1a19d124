"""The exchange API end to end on a real ``workbench serve``: the buyer journey with FIWARE's
filip, provider revenue, isolation between buyers, secrets, problems and hostile input."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap

import httpx
import pytest
from exchange_fixtures import (
    ADMIN_EMAIL,
    PASSWORD,
    PROVIDER_EMAIL,
    Client,
    ExchangeServer,
    build_exchange,
    new_buyer,
)
from filip_env import run_filip_script

SECRETS: list[str] = []  # every secret the tests saw; none may appear in the server log


@pytest.fixture(scope="module")
def exchange(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("exchange-api")
    build_exchange(data_dir)
    with ExchangeServer(data_dir) as server:
        yield server


FILIP_SCRIPT = textwrap.dedent(
    """
    import sys, requests
    from filip.clients.ngsi_v2 import ContextBrokerClient
    from filip.models.base import FiwareHeader
    url, token = sys.argv[1], sys.argv[2]
    session = requests.Session()
    session.headers["Authorization"] = "Bearer " + token
    cb = ContextBrokerClient(url=url, session=session,
                             fiware_header=FiwareHeader(service="wards", service_path="/"))
    entities = cb.get_entity_list(entity_types=["AdministrativeArea"], limit=5,
                                  attrs=["name", "population"])
    print(len(entities), entities[0].id, entities[0].get_attribute("population").value)
    """
)


def test_buyer_journey_from_sign_up_to_bill_with_filip(exchange):
    buyer = Client(exchange.url)
    account = buyer.sign_up("journey@example.org", name="Aiko")
    assert account["role"] == "buyer" and "password_hash" not in account
    buyer.log_in("journey@example.org")
    product = buyer.http.get("/api/products/wards").json()
    assert product["service"] == "wards" and product["quality"]["entity_count"] == 10
    assert product["terms"]["prohibitions"] == ["re-identification", "resale"]
    sub = buyer.subscribe("wards", "metered", purpose="Ward walkability study")
    assert sub["status"] == "active" and sub["terms_version"] == "2026-11"
    assert sub["purpose"] == "Ward walkability study"
    client_id, secret = buyer.oauth_client()
    token = httpx.post(
        exchange.url + "/oauth2/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    ).json()["access_token"]
    SECRETS.extend([secret, token])

    out = run_filip_script(FILIP_SCRIPT, exchange.url, token).split()
    assert out == ["5", "urn:ngsi-ld:AdministrativeArea:01", "100001"]

    [usage] = buyer.http.get("/api/usage").json()
    assert usage["product_id"] == "wards" and usage["calls"] >= 1 and usage["entities"] >= 5
    [bill] = buyer.http.get("/api/bills").json()
    assert bill["calls"] == usage["calls"] and bill["amount_yen"] >= 1

    provider = Client(exchange.url).log_in(PROVIDER_EMAIL)
    revenue = provider.http.get("/api/bills", params={"scope": "provider"}).json()
    assert any(b["subscription_id"] == sub["id"] for b in revenue)
    [settlement] = provider.http.get("/api/settlements").json()
    assert settlement["gross_yen"] >= bill["amount_yen"]
    assert settlement["provider_yen"] + settlement["platform_yen"] == settlement["gross_yen"]
    assert settlement["commission_rate"] == "0.10"
    actions = {e["action"] for e in buyer.http.get("/api/audit").json()}
    assert {"terms.accepted", "subscription.activated", "credential.issued"} <= actions


def test_restricted_product_needs_verification_and_provider_approval(exchange):
    buyer = new_buyer(exchange.url, "researcher@example.org")
    version = buyer.http.get("/api/products/steps/terms").json()["version"]
    body = {
        "product_id": "steps",
        "plan_id": "research",
        "purpose": "Step study",
        "terms_version": version,
    }
    r = buyer.http.post("/api/subscriptions", json=body)
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"
    admin = Client(exchange.url).log_in(ADMIN_EMAIL)
    me = buyer.http.get("/api/me").json()
    assert admin.http.post(f"/api/accounts/{me['id']}/verify").json()["verified"] is True
    sub = buyer.http.post("/api/subscriptions", json=body).json()
    assert sub["status"] == "pending"
    key = buyer.api_key()
    headers = {"Fiware-Service": "health_steps", "X-API-Key": key}
    assert httpx.get(exchange.url + "/v2/entities", headers=headers).status_code == 403
    # the buyer cannot approve itself; the provider can
    assert buyer.http.post(f"/api/subscriptions/{sub['id']}/approve").status_code == 403
    provider = Client(exchange.url).log_in(PROVIDER_EMAIL)
    pending = provider.http.get("/api/subscriptions", params={"scope": "provider"}).json()
    assert sub["id"] in {s["id"] for s in pending if s["status"] == "pending"}
    assert (
        provider.http.post(f"/api/subscriptions/{sub['id']}/approve").json()["status"] == "active"
    )
    assert httpx.get(exchange.url + "/v2/entities", headers=headers).status_code == 200
    provider_audit = provider.http.get("/api/audit").json()
    assert any(e["action"] == "subscription.approved" for e in provider_audit)


def test_terms_must_be_the_current_version(exchange):
    buyer = new_buyer(exchange.url, "terms@example.org")
    r = buyer.http.post(
        "/api/subscriptions",
        json={
            "product_id": "stations",
            "plan_id": "free",
            "purpose": "x" * 5,
            "terms_version": "0",
        },
    )
    assert r.status_code == 422
    assert "current terms version '1'" in r.json()["detail"]


def test_a_buyer_never_sees_another_buyers_usage_bills_or_keys(exchange):
    alice = new_buyer(exchange.url, "alice@example.org")
    bob = new_buyer(exchange.url, "bob@example.org")
    sub = alice.subscribe("stations", "free")
    key = alice.api_key()
    headers = {"Fiware-Service": "stations", "X-API-Key": key}
    assert httpx.get(exchange.url + "/v2/entities", headers=headers).status_code == 200
    assert alice.http.get("/api/usage").json()[0]["calls"] == 1
    assert bob.http.get("/api/usage").json() == []
    assert bob.http.get("/api/bills").json() == []
    assert bob.http.get("/api/credentials").json() == []
    assert bob.http.get("/api/subscriptions").json() == []
    assert bob.http.get(f"/api/subscriptions/{sub['id']}").status_code == 404
    assert bob.http.post(f"/api/subscriptions/{sub['id']}/cancel").status_code == 404
    cred_id = alice.http.get("/api/credentials").json()[0]["id"]
    assert bob.http.delete(f"/api/credentials/{cred_id}").status_code == 404
    assert httpx.get(exchange.url + "/v2/entities", headers=headers).status_code == 200
    assert not any(
        e["buyer_id"] == alice.http.get("/api/me").json()["id"]
        for e in bob.http.get("/api/audit").json()
    )
    assert bob.http.get("/api/settlements").status_code == 403


def test_secrets_are_shown_once_stored_hashed_and_never_logged(exchange):
    buyer = new_buyer(exchange.url, "secrets@example.org")
    key = buyer.api_key()
    client_id, secret = buyer.oauth_client()
    SECRETS.extend([key, secret, PASSWORD])
    listed = buyer.http.get("/api/credentials").text
    assert key not in listed and secret not in listed
    db = sqlite3.connect(exchange.data_dir / "exchange.db")
    dump = "\n".join(db.iterdump())
    db.close()
    assert key not in dump and secret not in dump and PASSWORD not in dump
    assert "$argon2id$" in dump
    log = exchange.log_path.read_text()
    assert all(s not in log for s in SECRETS)


def test_problem_json_everywhere_outside_ngsi(exchange):
    r = httpx.get(exchange.url + "/api/products/nope")
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["title"] == "Not Found" and r.json()["status"] == 404
    r = httpx.post(exchange.url + "/api/accounts", json={"email": "x"})
    assert r.status_code == 422 and r.json()["errors"]
    assert httpx.get(exchange.url + "/openapi.json").json()["paths"]["/api/subscriptions"]


HOSTILE = [
    ("POST", "/api/accounts", {"content": b"{not json"}),
    ("POST", "/api/accounts", {"json": []}),
    ("POST", "/api/accounts", {"json": {"email": "a@b.c", "password": "short", "name": "A"}}),
    ("POST", "/api/accounts", {"json": {"email": "\x00@\x00", "password": "p" * 9, "name": "A"}}),
    (
        "POST",
        "/api/accounts",
        {"json": {"email": "a@b.c", "password": "p" * 9, "name": "A", "role": "admin"}},
    ),
    ("POST", "/api/accounts", {"json": {"email": "e" * 5000, "password": "p" * 9, "name": "A"}}),
    ("POST", "/api/login", {"json": {"email": "nobody@x.y", "password": "wrong"}}),
    ("POST", "/api/login", {"data": {"email": "x"}}),
    ("GET", "/api/products/%00", {}),
    ("GET", "/api/products/" + "a" * 3000, {}),
    ("GET", "/api/products?q=" + "%FF" * 50, {}),
    ("GET", "/api/products/wards/preview?limit=-1", {}),
    ("GET", "/api/me", {"headers": {"Authorization": "Bearer \u00e9".encode("latin-1")}}),
    ("GET", "/api/me", {"headers": {"X-API-Key": "wbk_" + "z" * 300}}),
    ("GET", "/api/usage?month=2026-13", {"auth": True}),
    ("GET", "/api/usage?month=';drop table usage;--", {"auth": True}),
    ("GET", "/api/audit?limit=999999999999", {"auth": True}),
    ("POST", "/api/subscriptions", {"auth": True, "json": {"product_id": "wards"}}),
    (
        "POST",
        "/api/subscriptions",
        {
            "auth": True,
            "json": {
                "product_id": "../../etc",
                "plan_id": "x",
                "purpose": "abc",
                "terms_version": "1",
            },
        },
    ),
    (
        "POST",
        "/api/subscriptions",
        {
            "auth": True,
            "json": {
                "product_id": "wards",
                "plan_id": "free",
                "purpose": "abc",
                "terms_version": None,
            },
        },
    ),
    ("POST", "/api/subscriptions/sub_x/approve", {"auth": True}),
    ("POST", "/api/credentials", {"auth": True, "json": {"kind": "root"}}),
    ("DELETE", "/api/credentials/' OR 1=1 --", {"auth": True}),
    ("POST", "/api/products", {"auth": True, "json": {"id": "x"}}),
    (
        "POST",
        "/api/products/wards/plans",
        {"auth": True, "json": {"id": "free", "name": "n", "kind": "free"}},
    ),
    ("POST", "/oauth2/token", {"data": {"grant_type": "password", "username": "a"}}),
    ("POST", "/oauth2/token", {"data": {"grant_type": "client_credentials"}}),
    (
        "POST",
        "/oauth2/token",
        {"headers": {"Authorization": "Basic !!!"}, "data": {"grant_type": "client_credentials"}},
    ),
    ("POST", "/oauth2/token", {"json": {"grant_type": "client_credentials"}}),
    ("POST", "/oauth2/introspect", {"data": {"token": "x"}}),
    ("POST", "/oauth2/revoke", {"content": b"\xff\xfe"}),
    ("GET", "/api/3/action/package_show?id=", {}),
    ("GET", "/api/3/action/package_search?rows=abc", {}),
    ("GET", "/api/3/action/package_search?rows=-5", {}),
    (
        "POST",
        "/api/3/action/package_show",
        {"content": b"[1,2", "headers": {"Content-Type": "application/json"}},
    ),
    ("GET", "/api/3/action/member_create", {}),
    ("GET", "/v2/entities", {"headers": {"Fiware-Service": "w" * 500, "X-API-Key": "x"}}),
    ("POST", "/v2/op/update", {"headers": {"X-API-Key": "x"}, "content": b"\x00" * 100}),
    ("GET", "/products/%2e%2e%2f", {}),
    ("POST", "/products/wards/subscribe", {"data": {"plan_id": "free"}}),
    ("POST", "/login", {"data": {"email": "\x00", "password": ""}}),
    ("POST", "/signup", {"data": {"email": "bad", "password": "x", "role": "admin"}}),
]


@pytest.mark.parametrize("method,path,kw", HOSTILE, ids=[f"{m} {p[:40]}" for m, p, _ in HOSTILE])
def test_hostile_input_gets_a_4xx_never_a_500(exchange, method, path, kw):
    kw = dict(kw)
    headers = dict(kw.pop("headers", {}))
    if kw.pop("auth", False):
        headers["Authorization"] = "Bearer " + _provider_token(exchange.url)
    r = httpx.request(method, exchange.url + path, headers=headers, timeout=30, **kw)
    assert r.status_code < 500, (r.status_code, r.text[:300])
    if r.status_code >= 400 and path.startswith("/api/") and not path.startswith("/api/3/"):
        assert r.headers["content-type"] == "application/problem+json"


_TOKENS: dict[str, str] = {}


def _provider_token(url: str) -> str:
    if url not in _TOKENS:
        r = httpx.post(url + "/api/login", json={"email": PROVIDER_EMAIL, "password": PASSWORD})
        _TOKENS[url] = r.json()["access_token"]
    return _TOKENS[url]


def test_workshop_accounts_are_created_in_one_command_as_csv(exchange, tmp_path):
    import nbformat

    notebook = nbformat.v4.new_notebook()  # a one-notebook series that queries the stations
    notebook.cells = [nbformat.v4.new_code_cell('ex.entities("stations").to_pandas()')]
    nbformat.write(notebook, tmp_path / "01-stations.ipynb")
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "workbench",
            "users",
            "create-workshop",
            "--count",
            "3",
            "--prefix",
            "ws",
            "--subscribe",
            "stations:free",
            "--data-dir",
            str(exchange.data_dir),
            "--notebooks",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert out[0] == "email,password,account_id,api_key,sandbox_organization"
    rows = [line.split(",") for line in out[1:]]
    assert [r[0] for r in rows] == [f"ws{i:02d}@workshop.example" for i in (1, 2, 3)]
    email, password, _, key, _ = rows[2]
    r = httpx.get(
        exchange.url + "/v2/entities", headers={"Fiware-Service": "stations", "X-API-Key": key}
    )
    assert r.status_code == 200 and r.json()[0]["id"] == "S1"
    assert Client(exchange.url).log_in(email, password).token


def test_restricted_products_have_no_public_preview(exchange):
    assert httpx.get(exchange.url + "/api/products/wards/preview").status_code == 200
    r = httpx.get(exchange.url + "/api/products/steps/preview")
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"
    provider = Client(exchange.url).log_in(PROVIDER_EMAIL)
    assert provider.http.get("/api/products/steps/preview").status_code == 200


JUNK_PARAMS = ["%00", "a" * 300, "..%2F..%2Fetc", "'%20OR%201=1", "%F0%9F%92%A3"]
JUNK_BODIES = [None, b"[]", b'{"id": null, "kind": 5}', b"{bad", b'"' + b"x" * 10000 + b'"']


def test_every_api_operation_answers_junk_with_a_4xx(exchange):
    """A sweep over the OpenAPI document: junk path parameters and bodies, with and without
    a credential, never produce a 5xx."""
    spec = httpx.get(exchange.url + "/openapi.json").json()
    token = _provider_token(exchange.url)
    failures = []
    with httpx.Client(base_url=exchange.url, timeout=30) as http:
        for path, ops in spec["paths"].items():
            for method in ops:
                for i, param in enumerate(JUNK_PARAMS):
                    url = path
                    while "{" in url:
                        start, end = url.index("{"), url.index("}")
                        url = url[:start] + param + url[end + 1 :]
                    body = JUNK_BODIES[i % len(JUNK_BODIES)]
                    for headers in ({}, {"Authorization": f"Bearer {token}"}):
                        if body is not None:
                            headers = {**headers, "Content-Type": "application/json"}
                        r = http.request(method.upper(), url, content=body, headers=headers)
                        if r.status_code >= 500:
                            failures.append((method, url[:60], r.status_code, r.text[:120]))
    assert failures == []
