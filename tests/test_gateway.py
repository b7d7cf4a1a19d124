"""The gateway on a real ``workbench serve``: authorisation, limits, metering."""

from __future__ import annotations

import math
import threading
import time

import httpx
import pytest
from exchange_fixtures import (
    PASSWORD,
    PROVIDER_EMAIL,
    Client,
    ExchangeServer,
    build_exchange,
    new_buyer,
)

from workbench.server.exchange.service import ExchangeService

WARDS = {"Fiware-Service": "wards"}


@pytest.fixture(scope="module")
def exchange(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("gateway")
    build_exchange(data_dir)
    # the upstream brokers of these tests run on loopback, which the operator must list
    with ExchangeServer(data_dir, env={"WORKBENCH_ALLOW_UPSTREAM": "127.0.0.1"}) as server:
        yield server


@pytest.fixture(scope="module")
def buyer(exchange):
    client = new_buyer(exchange.url, "buyer@gateway.example")
    client.subscribe("wards", "free")
    client.key = client.api_key()
    yield client
    client.close()


def _get(url: str, path: str = "/v2/entities", **headers: str) -> httpx.Response:
    return httpx.get(url + path, headers=headers, timeout=30)


def test_subscriber_reads_the_brokers_response_unchanged(exchange, buyer):
    r = _get(
        exchange.url,
        "/v2/entities?type=AdministrativeArea&options=count&limit=4",
        **WARDS,
        **{"X-API-Key": buyer.key},
    )
    assert r.status_code == 200
    assert r.headers["Fiware-Total-Count"] == "10"
    body = r.json()
    assert [e["id"] for e in body] == [
        f"urn:ngsi-ld:AdministrativeArea:{i:02d}" for i in (1, 2, 3, 4)
    ]
    assert body[0]["population"] == {"type": "Integer", "value": 100001, "metadata": {}}
    assert int(r.headers["RateLimit-Limit"]) == 1000


def test_version_is_public_and_history_goes_through_the_gateway(exchange, buyer):
    assert _get(exchange.url, "/version").status_code == 200
    r = _get(
        exchange.url,
        "/ql/v2/entities/urn:ngsi-ld:AdministrativeArea:01/attrs/population",
        **WARDS,
        **{"X-API-Key": buyer.key},
    )
    assert r.status_code == 200, r.text
    assert r.json()["values"] == [100001]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-API-Key": "wbk_not-a-real-key"},
        {"Authorization": "Bearer wbt_forged"},
        {"Authorization": "Basic Zm9vOmJhcg=="},
        {"X-Auth-Token": ""},
        {"Authorization": "Bearer " + "x" * 5000},
    ],
    ids=["none", "unknown-key", "unknown-token", "basic", "empty", "huge"],
)
def test_missing_or_invalid_credentials_get_401(exchange, headers):
    r = _get(exchange.url, **WARDS, **headers)
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert r.json()["error"] == "Unauthorized"


def test_valid_credential_without_subscription_gets_403_and_unknown_tenant_404(exchange, buyer):
    # subscribed to wards only: stations is the wrong product
    r = _get(exchange.url, **{"Fiware-Service": "stations", "X-API-Key": buyer.key})
    assert r.status_code == 403
    assert r.json()["error"] == "Forbidden"
    assert (
        _get(exchange.url, **{"Fiware-Service": "nope", "X-API-Key": buyer.key}).status_code == 404
    )
    assert _get(exchange.url, **{"X-API-Key": buyer.key}).status_code == 404


def test_subscribers_cannot_write_but_the_provider_can(exchange, buyer):
    entity = {"id": "X1", "type": "AdministrativeArea"}
    r = httpx.post(
        exchange.url + "/v2/entities", json=entity, headers={**WARDS, "X-API-Key": buyer.key}
    )
    assert r.status_code == 403
    provider = Client(exchange.url).log_in(PROVIDER_EMAIL)
    r = provider.http.post("/v2/entities", json=entity, headers=WARDS)
    assert r.status_code == 201, r.text
    r = provider.http.delete("/v2/entities/X1", headers=WARDS)
    assert r.status_code == 204


def test_revoked_key_and_revoked_token_are_refused_at_once(exchange):
    client = new_buyer(exchange.url, "revoker@gateway.example")
    client.subscribe("wards", "free")
    key = client.api_key()
    cred_id = [c for c in client.http.get("/api/credentials").json() if c["kind"] == "api_key"][0][
        "id"
    ]
    assert _get(exchange.url, **WARDS, **{"X-API-Key": key}).status_code == 200
    assert client.http.delete(f"/api/credentials/{cred_id}").status_code == 204
    assert _get(exchange.url, **WARDS, **{"X-API-Key": key}).status_code == 401

    client_id, secret = client.oauth_client()
    token = httpx.post(
        exchange.url + "/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, secret),
    ).json()["access_token"]
    assert _get(exchange.url, **WARDS, **{"Authorization": f"Bearer {token}"}).status_code == 200
    r = httpx.post(exchange.url + "/oauth2/revoke", data={"token": token}, auth=(client_id, secret))
    assert r.status_code == 200
    assert _get(exchange.url, **WARDS, **{"Authorization": f"Bearer {token}"}).status_code == 401


def test_expired_token_is_refused(exchange, buyer):
    svc = ExchangeService.open(exchange.data_dir, token_ttl_s=3)  # slack for a loaded machine
    account_id = buyer.http.get("/api/me").json()["id"]
    token, _ = svc.login_token(account_id)
    svc.close()
    assert _get(exchange.url, **WARDS, **{"X-Auth-Token": token}).status_code == 200
    time.sleep(3.3)
    assert _get(exchange.url, **WARDS, **{"X-Auth-Token": token}).status_code == 401


def _hammer(url: str, key: str, *, clients: int, calls_each: int) -> list[httpx.Response]:
    results: list[httpx.Response] = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients)

    def run() -> None:
        with httpx.Client(base_url=url, headers={**WARDS, "X-API-Key": key}, timeout=30) as http:
            barrier.wait()
            for _ in range(calls_each):
                r = http.get("/v2/entities", params={"limit": 2})
                with lock:
                    results.append(r)

    threads = [threading.Thread(target=run) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def _usage_calls(client: Client, product_id: str) -> tuple[int, int]:
    rows = [u for u in client.http.get("/api/usage").json() if u["product_id"] == product_id]
    return sum(u["calls"] for u in rows), sum(u["entities"] for u in rows)


def test_monthly_quota_is_exact_under_8_concurrent_clients(exchange):
    client = new_buyer(exchange.url, "quota@gateway.example")
    client.subscribe("wards", "tiny")  # 30 calls a month
    key = client.api_key()
    results = _hammer(exchange.url, key, clients=8, calls_each=8)
    ok = [r for r in results if r.status_code == 200]
    refused = [r for r in results if r.status_code == 429]
    assert len(ok) == 30 and len(refused) == 64 - 30
    assert all(int(r.headers["Retry-After"]) > 0 for r in refused)
    assert refused[0].headers["RateLimit-Remaining"] == "0"
    assert _usage_calls(client, "wards") == (30, 60)


def test_rate_limit_is_exact_under_8_concurrent_clients(exchange):
    client = new_buyer(exchange.url, "rate@gateway.example")
    client.subscribe("wards", "slow")  # 5 calls per second
    key = client.api_key()
    started = time.monotonic()
    results = _hammer(exchange.url, key, clients=8, calls_each=5)
    elapsed = time.monotonic() - started
    ok = [r for r in results if r.status_code == 200]
    refused = [r for r in results if r.status_code == 429]
    assert len(ok) + len(refused) == 40
    assert 5 <= len(ok) <= 5 * (math.ceil(elapsed) + 1)
    assert refused and refused[0].headers["Retry-After"] == "1"
    assert refused[0].headers["RateLimit-Limit"] == "5"
    assert _usage_calls(client, "wards")[0] == len(ok)


def test_pages_are_metered_by_their_entity_count_without_reparsing(exchange):
    client = new_buyer(exchange.url, "pages@gateway.example")
    client.subscribe("wards", "free")
    headers = {**WARDS, "X-API-Key": client.api_key()}
    page = _get(exchange.url, "/v2/entities?limit=1000&options=keyValues", **headers)
    types = _get(exchange.url, "/v2/types", **headers)
    one = _get(exchange.url, "/v2/entities/urn:ngsi-ld:AdministrativeArea:01", **headers)
    assert page.status_code == types.status_code == one.status_code == 200
    assert page.headers["Workbench-Result-Count"] == str(len(page.json())) != "0"
    assert _usage_calls(client, "wards") == (3, len(page.json()) + len(types.json()) + 1)


def test_history_of_a_whole_type_is_forwarded_and_metered(exchange):
    client = new_buyer(exchange.url, "typehistory@gateway.example")
    client.subscribe("wards", "free")
    headers = {**WARDS, "X-API-Key": client.api_key()}
    r = _get(exchange.url, "/ql/v2/types/AdministrativeArea?options=count&limit=3", **headers)
    assert r.status_code == 200, r.text
    assert r.json()["entityType"] == "AdministrativeArea" and int(r.headers["Fiware-Total-Count"])
    assert _get(exchange.url, "/ql/v2/types/AdministrativeArea").status_code == 401
    assert _usage_calls(client, "wards") == (1, 1)


def test_an_untrusted_count_header_is_not_believed():
    from workbench.server.gateway import _count_entities

    lying = [(b"workbench-result-count", b"999")]
    assert _count_entities(200, lying, b'[{"id":"a"},{"id":"b"}]', trusted=False) == 2
    assert _count_entities(200, lying, b'[{"id":"a"},{"id":"b"}]', trusted=True) == 999
    assert _count_entities(200, [], b'{"id":"a"}', trusted=True) == 1
    assert _count_entities(404, lying, b"[]", trusted=True) == 0


def test_bill_reconciles_with_usage_on_a_metered_plan(exchange):
    client = new_buyer(exchange.url, "metered@gateway.example")
    client.subscribe("wards", "metered")  # 1,500 yen per 1,000 calls
    key = client.api_key()
    for _ in range(7):
        assert _get(exchange.url, **WARDS, **{"X-API-Key": key}).status_code == 200
    calls, _ = _usage_calls(client, "wards")
    [bill] = [b for b in client.http.get("/api/bills").json() if b["product_id"] == "wards"]
    assert calls == bill["calls"] == 7
    assert bill["usage_yen"] == 11 == bill["amount_yen"]  # 10.5 yen, rounded half up
    provider = Client(exchange.url).log_in(PROVIDER_EMAIL, PASSWORD)
    [settlement] = provider.http.get("/api/settlements").json()
    assert settlement["gross_yen"] >= bill["amount_yen"]
    assert settlement["provider_yen"] + settlement["platform_yen"] == settlement["gross_yen"]


def test_a_product_on_an_upstream_broker_is_reached_over_http(exchange, broker):
    entity = {"id": "U1", "type": "Sensor", "temperature": {"type": "Number", "value": 3.5}}
    r = httpx.post(broker.url + "/v2/entities", json=entity, headers={"Fiware-Service": "up"})
    assert r.status_code == 201, r.text
    provider = Client(exchange.url).log_in(PROVIDER_EMAIL)
    product = {
        "id": "upstream",
        "title": "Sensors on an upstream broker",
        "service": "up",
        "entity_types": ["Sensor"],
        "licence": "CC0",
        "upstream_url": broker.url,
    }
    assert provider.http.post("/api/products", json=product).status_code == 201
    plan = {"id": "free", "name": "Free", "kind": "free"}
    assert provider.http.post("/api/products/upstream/plans", json=plan).status_code == 201
    terms = {"version": "1", "text": "Open.", "permitted_purposes": ["any"]}
    assert provider.http.post("/api/products/upstream/terms", json=terms).status_code == 201
    buyer = new_buyer(exchange.url, "upstream@gateway.example")
    buyer.subscribe("upstream", "free")
    key = buyer.api_key()
    r = _get(exchange.url, "/v2/entities/U1", **{"Fiware-Service": "up", "X-API-Key": key})
    assert r.status_code == 200 and r.json()["temperature"]["value"] == 3.5
    assert buyer.http.get("/api/products/upstream/preview").json()[0]["id"] == "U1"
    assert _usage_calls(buyer, "upstream") == (1, 1)


def test_an_unreachable_upstream_is_502_and_not_counted(exchange):
    from servers import free_port

    provider = Client(exchange.url).log_in(PROVIDER_EMAIL)
    product = {
        "id": "dead",
        "title": "Upstream that is down",
        "service": "dead",
        "licence": "CC0",
        "upstream_url": f"http://127.0.0.1:{free_port()}",
    }
    assert provider.http.post("/api/products", json=product).status_code == 201
    provider.http.post(
        "/api/products/dead/plans",
        json={"id": "q", "name": "Q", "kind": "free", "monthly_quota": 1},
    )
    provider.http.post("/api/products/dead/terms", json={"version": "1", "text": "-"})
    buyer = new_buyer(exchange.url, "dead@gateway.example")
    buyer.subscribe("dead", "q")
    key = buyer.api_key()
    for _ in range(2):  # quota 1: a failed call does not use it up
        r = _get(exchange.url, **{"Fiware-Service": "dead", "X-API-Key": key})
        assert r.status_code == 502 and r.json()["error"] == "BadGateway"
    assert _usage_calls(buyer, "dead") == (0, 0)


def test_a_suspended_subscription_is_refused_until_resubscribed(exchange):
    client = new_buyer(exchange.url, "suspended@gateway.example")
    sub = client.subscribe("stations", "free")
    key = client.api_key()
    headers = {"Fiware-Service": "stations", "X-API-Key": key}
    assert _get(exchange.url, **headers).status_code == 200
    provider = Client(exchange.url).log_in(PROVIDER_EMAIL)
    r = provider.http.post(f"/api/subscriptions/{sub['id']}/suspend")
    assert r.status_code == 200 and r.json()["status"] == "suspended"
    assert _get(exchange.url, **headers).status_code == 403
    audit = client.http.get("/api/audit").json()
    assert audit[0]["action"] == "subscription.suspended" and audit[0]["target"] == sub["id"]
