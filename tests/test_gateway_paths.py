"""The gateway authorises the path it forwards: raw ``..`` and encoded tricks on both backends.

Requests are written byte for byte (:func:`servers.raw_http`), because httpx and curl remove
``..`` before sending; every test checks the bytes on the wire still hold the trick. Each
attack runs against a product on the embedded broker (in-process) and one on a real
upstream ``workbench broker`` (over HTTP).
"""

from __future__ import annotations

import json

import httpx
import pytest
from exchange_fixtures import PROVIDER_EMAIL, Client, ExchangeServer, build_exchange, new_buyer
from servers import ServerProcess, raw_http

UPSTREAM_ENTITY = {"id": "U1", "type": "Sensor", "temperature": {"type": "Number", "value": 3.5}}


@pytest.fixture(scope="module")
def upstream(tmp_path_factory):
    """A provider's own broker: a second, bare ``workbench broker`` on a free port."""
    db = tmp_path_factory.mktemp("upstream") / "broker.db"
    with ServerProcess(["broker", "--db", str(db)]) as server:
        r = httpx.post(
            server.url + "/v2/entities", json=UPSTREAM_ENTITY, headers={"Fiware-Service": "up"}
        )
        assert r.status_code == 201, r.text
        yield server


@pytest.fixture(scope="module")
def exchange(tmp_path_factory, upstream):
    data_dir = tmp_path_factory.mktemp("paths")
    build_exchange(data_dir)
    env = {"WORKBENCH_ALLOW_UPSTREAM": "127.0.0.1"}
    with ExchangeServer(data_dir, env=env) as server:
        provider = Client(server.url).log_in(PROVIDER_EMAIL)
        product = {
            "id": "up",
            "title": "Sensors on the provider's broker",
            "service": "up",
            "entity_types": ["Sensor"],
            "licence": "CC0",
            "upstream_url": upstream.url,
        }
        assert provider.http.post("/api/products", json=product).status_code == 201
        plan = {"id": "free", "name": "Free", "kind": "free"}
        assert provider.http.post("/api/products/up/plans", json=plan).status_code == 201
        terms = {"version": "1", "text": "Open.", "permitted_purposes": ["any"]}
        assert provider.http.post("/api/products/up/terms", json=terms).status_code == 201
        server.provider_key = provider.api_key()
        buyer = new_buyer(server.url, "reader@paths.example")
        buyer.subscribe("wards", "free")
        buyer.subscribe("up", "free")
        server.buyer_key = buyer.api_key()
        yield server


BACKENDS = ["embedded", "upstream"]
SERVICE = {"embedded": "wards", "upstream": "up"}


def _send(
    exchange,
    backend: str,
    method: str,
    target: str,
    body: dict | None = None,
    *,
    key: str | None = None,
):
    headers = {"Fiware-Service": SERVICE[backend], "X-API-Key": key or exchange.buyer_key}
    payload = b""
    if body is not None:
        headers["Content-Type"] = "application/json"
        payload = json.dumps(body).encode()
    return raw_http(exchange.url, method, target, headers=headers, body=payload)


def _exists(exchange, upstream, backend: str, entity_id: str) -> bool:
    """Whether the entity is on the product's broker (asked directly, not via the buyer)."""
    if backend == "upstream":
        url, headers = upstream.url, {"Fiware-Service": "up"}
    else:
        url = exchange.url
        headers = {"Fiware-Service": "wards", "X-API-Key": exchange.provider_key}
    r = httpx.get(f"{url}/v2/entities/{entity_id}", headers=headers, timeout=30)
    assert r.status_code in (200, 404), r.text
    return r.status_code == 200


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("target", "body"),
    [
        (
            "/v2/op/query/../update",
            {"actionType": "append", "entities": [{"id": "Evil1", "type": "Evil"}]},
        ),
        ("/v2/op/query/../../entities", {"id": "Evil2", "type": "Evil"}),
        ("/v2/op/query/./../../entities/", {"id": "Evil3", "type": "Evil"}),
    ],
)
def test_a_read_only_subscriber_cannot_write_through_dot_segments(
    exchange, upstream, backend, target, body
):
    r = _send(exchange, backend, "POST", target, body)
    assert f"POST {target} HTTP/1.1".encode() in r.wire  # the '..' really went out
    assert r.status_code == 403, r.content
    # refused as a write: by the subscription (read-only) or by the credential's scopes
    assert r.json()["error"] == "Forbidden"
    assert "read-only" in r.json()["description"] or "data:write" in r.json()["description"]
    ids = [e["id"] for e in body.get("entities", [body])]
    assert not any(_exists(exchange, upstream, backend, i) for i in ids)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "target",
    [
        "/v2/op/query/%2e%2e/update",
        "/v2/op/query/.%2E/update",
        "/v2/op/query%2f..%2fupdate",
        "/v2/op/query%2F%2e%2e%2Fupdate",
        "/v2/op/query/..%5cupdate",
        "/v2/op/query\\..\\update",
        "/v2/entities/%ZZ",
        "/v2/entities/%00",
    ],
)
def test_encoded_slashes_backslashes_and_dot_segments_are_400(exchange, backend, target):
    body = {"actionType": "append", "entities": [{"id": "Evil4", "type": "Evil"}]}
    r = _send(exchange, backend, "POST", target, body)
    assert f"POST {target} HTTP/1.1".encode() in r.wire
    assert r.status_code == 400, r.content
    assert r.json()["error"] == "BadRequest" and r.json()["description"]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("method", "target"),
    [
        ("PATCH", "/v2/entities/U1/attrs"),
        ("DELETE", "/v2/entities/U1"),
        ("PUT", "/v2/entities/U1/attrs/temperature/value"),
        ("POST", "/v2/entities/U1/attrs"),
        ("OPTIONS", "/v2/entities"),
        ("POST", "/v2/subscriptions"),
        ("GET", "/v2/subscriptions"),
    ],
)
def test_only_the_read_allow_list_passes_for_subscribers(exchange, backend, method, target):
    r = _send(exchange, backend, method, target, {"value": 1} if method != "GET" else None)
    assert r.status_code in (403, 405), r.content
    assert r.json()["error"] in ("Forbidden", "MethodNotAllowed")


@pytest.mark.parametrize("backend", BACKENDS)
def test_reads_and_queries_still_pass_after_normalisation(exchange, backend):
    entity = "U1" if backend == "upstream" else "urn:ngsi-ld:AdministrativeArea:01"
    encoded = entity.replace(":", "%3A")
    r = _send(exchange, backend, "GET", f"/v2/./entities/x/../{encoded}?attrs=type")
    assert r.status_code == 200, r.content
    assert r.json()["id"] == entity
    r = _send(exchange, backend, "POST", "/v2/op/query", {"entities": [{"idPattern": ".*"}]})
    assert r.status_code == 200, r.content
    assert entity in [e["id"] for e in r.json()]
    r = _send(exchange, backend, "HEAD", "/v2/entities/")
    assert r.status_code == 200


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_provider_writes_exactly_the_normalised_path(exchange, upstream, backend):
    body = {"actionType": "append", "entities": [{"id": f"Mine-{backend}", "type": "Own"}]}
    r = _send(exchange, backend, "POST", "/v2/op/query/../update", body, key=exchange.provider_key)
    assert r.status_code == 204, r.content
    assert _exists(exchange, upstream, backend, f"Mine-{backend}")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("target", ["/v2/../version", "/v2/../api/products", "/ql/../../v2x"])
def test_paths_that_leave_the_data_plane_reach_no_broker(exchange, backend, target):
    r = _send(exchange, backend, "GET", target)
    assert f"GET {target} HTTP/1.1".encode() in r.wire
    assert r.status_code == 400, r.content
    assert r.json() == {
        "error": "BadRequest",
        "description": f"service '{target.rsplit('..', 1)[1]}' not found",
    }


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "query",
    [
        "offset=9223372036854775808",
        "limit=%C2%B2",
        "lastN=99999999999999999999",
        "georel=near;maxDistance:1e400&geometry=point&coords=43.06,141.35",
    ],
)
def test_out_of_range_numbers_are_400_through_the_gateway(exchange, backend, query):
    path = "/ql/v2/entities/U1" if "lastN" in query else "/v2/entities"
    r = _send(exchange, backend, "GET", f"{path}?{query}")
    assert r.status_code == 400, r.content
    assert r.json()["error"] == "BadRequest"
