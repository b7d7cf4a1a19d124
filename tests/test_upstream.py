"""Server-side request forgery: the exchange reaches only upstream brokers the operator listed.

The allow-list (:class:`workbench.server.upstream.UpstreamPolicy`) is checked on every
resolved address; the exchanges run as ``workbench serve`` with and without a list, and the
"upstreams" are real HTTP servers on free ports that record every request they receive.
"""

from __future__ import annotations

import asyncio
import http.server
import json
import threading

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
from workbench.server.upstream import UpstreamPolicy, UpstreamRefused, upstream_client

ENTITY = {"id": "R1", "type": "Sensor", "temperature": {"type": "Number", "value": 1.0}}


class Recorder:
    """A real HTTP server on a free loopback port that records the paths it is asked for.

    It answers ``[ENTITY]`` as an NGSI broker would, or ``body``, or a 302 to ``redirect_to``.
    """

    def __init__(self, *, redirect_to: str | None = None, body: bytes | None = None) -> None:
        answer = json.dumps([ENTITY]).encode() if body is None else body
        hits: list[str] = []
        self.hits = hits

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                hits.append(self.path)
                if redirect_to:
                    self.send_response(302)
                    self.send_header("Location", redirect_to + self.path)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Fiware-Total-Count", "1")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args) -> None:
                return None

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Recorder:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)


@pytest.fixture(scope="module")
def secret_service():
    """Something on the exchange's own network that must never be read through it."""
    with Recorder() as server:
        yield server


@pytest.fixture(scope="module")
def redirector(secret_service):
    """A listed upstream that answers every request with a redirect to the secret service."""
    with Recorder(redirect_to=secret_service.url) as server:
        yield server


# ------------------------------------------------------------------------ the policy itself
@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "::1",
        "::ffff:127.0.0.1",
        "169.254.169.254",
        "fe80::1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "fd00::1",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "2002:7f00:1::1",
    ],
)
def test_non_public_addresses_are_refused_even_for_a_listed_name(address):
    policy = UpstreamPolicy.parse(["broker.city.example", "*"])
    assert policy.check_addresses("broker.city.example", ["93.184.216.34"]) == ["93.184.216.34"]
    with pytest.raises(UpstreamRefused, match="private"):
        policy.check_addresses("broker.city.example", ["93.184.216.34", address])


def test_listed_ranges_allow_their_addresses_and_nothing_else():
    policy = UpstreamPolicy.parse(["10.20.0.0/16, 127.0.0.1"])
    assert policy.check_addresses("orion.internal", ["10.20.3.4"]) == ["10.20.3.4"]
    assert policy.check_addresses("127.0.0.1", ["127.0.0.1"]) == ["127.0.0.1"]
    with pytest.raises(UpstreamRefused, match="allow-list"):
        policy.check_addresses("orion.internal", ["10.21.0.1"])
    with pytest.raises(UpstreamRefused, match="allow-list"):
        policy.check_addresses("public.example", ["93.184.216.34"])  # not listed


def test_names_must_be_listed_unless_star():
    policy = UpstreamPolicy.parse(["*.city.example"])
    assert policy.check_addresses("orion.city.example", ["93.184.216.34"])
    with pytest.raises(UpstreamRefused, match="allow-list"):
        policy.check_addresses("evil.example", ["93.184.216.34"])
    assert UpstreamPolicy.parse(["*"]).check_addresses("evil.example", ["93.184.216.34"])


def test_the_default_policy_refuses_every_upstream():
    policy = UpstreamPolicy.from_env({})
    for url in ("http://127.0.0.1:1026", "http://93.184.216.34", "http://[::1]:1026"):
        with pytest.raises(UpstreamRefused):
            policy.check_url(url)


def test_a_listed_name_that_resolves_to_loopback_is_refused():
    # 'localhost' is resolved for real (/etc/hosts); listing the name is not enough
    with pytest.raises(UpstreamRefused, match="resolves to"):
        UpstreamPolicy.parse(["localhost"]).check_url("http://localhost:1026")
    assert UpstreamPolicy.parse(["localhost", "127.0.0.0/8", "::1"]).check_url(
        "http://localhost:1026/"
    ) == ("http://localhost:1026")


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "gopher://127.0.0.1:70/",
        "http://user:pw@127.0.0.1:1026",
        "http://127.0.0.1:1026/?x=1",
        "http:///v2",
        "not a url",
    ],
)
def test_only_plain_http_urls_are_upstreams(url):
    with pytest.raises(UpstreamRefused):
        UpstreamPolicy.parse(["127.0.0.1"]).check_url(url)


@pytest.mark.parametrize("entry", ["not a host!", "10.0.0.0/33", "http://x", "*.!", "a..b"])
def test_a_bad_allow_list_entry_is_an_error(entry):
    with pytest.raises(ValueError):
        UpstreamPolicy.parse([entry])


# ----------------------------------------------------------- the guarded client, for real
def test_the_guard_refuses_at_connect_time_and_sends_nothing(secret_service):
    async def get(policy: UpstreamPolicy) -> httpx.Response:
        async with upstream_client(secret_service.url, policy) as client:
            return await client.get("/v2/entities")

    before = len(secret_service.hits)
    with pytest.raises(httpx.ConnectError, match="allow-list"):
        asyncio.run(get(UpstreamPolicy.parse(["localhost"])))
    assert len(secret_service.hits) == before
    assert asyncio.run(get(UpstreamPolicy.parse(["127.0.0.1"]))).status_code == 200
    assert len(secret_service.hits) == before + 1


def test_the_guarded_client_does_not_follow_redirects(redirector, secret_service):
    async def get() -> httpx.Response:
        async with upstream_client(redirector.url, UpstreamPolicy.parse(["127.0.0.1"])) as c:
            return await c.get("/v2/entities")

    before = len(secret_service.hits)
    assert asyncio.run(get()).status_code == 302
    assert len(secret_service.hits) == before


# --------------------------------------------------------------- through a real exchange
@pytest.fixture(scope="module")
def unlisted_exchange(tmp_path_factory, secret_service):
    """``workbench serve`` with the default (empty) allow-list, holding a product whose
    upstream was registered before the allow-list existed."""
    data_dir = tmp_path_factory.mktemp("ssrf-default")
    seeded = build_exchange(data_dir)
    svc = ExchangeService.open(data_dir, upstream_policy=UpstreamPolicy.parse(["127.0.0.1"]))
    svc.create_product(
        id="legacy",
        organization_id=seeded.provider_org,
        title="Registered before the allow-list",
        description="",
        service="legacy",
        entity_types=["Sensor"],
        licence="CC0",
        attribution="",
        update_frequency="",
        upstream_url=secret_service.url,
    )
    svc.create_plan("legacy", id="free", name="Free", kind="free")
    svc.publish_terms(
        "legacy", version="1", text="Open.", permitted_purposes=["any"], prohibitions=[]
    )
    svc.close()
    with ExchangeServer(data_dir, env={"WORKBENCH_ALLOW_UPSTREAM": ""}) as server:
        yield server


@pytest.fixture(scope="module")
def listed_exchange(tmp_path_factory):
    """``workbench serve --allow-upstream 127.0.0.1``."""
    data_dir = tmp_path_factory.mktemp("ssrf-listed")
    build_exchange(data_dir)
    server = ExchangeServer(data_dir, env={"WORKBENCH_ALLOW_UPSTREAM": ""})
    server.args[-2:-2] = ["--allow-upstream", "127.0.0.1"]
    with server:
        yield server


def _product(upstream_url: str, product_id: str) -> dict:
    return {
        "id": product_id,
        "title": "Provider's own broker",
        "service": product_id,
        "licence": "CC0",
        "upstream_url": upstream_url,
    }


def _with_free_plan(provider: Client, product_id: str) -> None:
    plan = {"id": "free", "name": "Free", "kind": "free"}
    assert provider.http.post(f"/api/products/{product_id}/plans", json=plan).status_code == 201
    terms = {"version": "1", "text": "Open.", "permitted_purposes": ["any"]}
    assert provider.http.post(f"/api/products/{product_id}/terms", json=terms).status_code == 201


def test_by_default_no_upstream_can_be_registered(unlisted_exchange, secret_service):
    provider = Client(unlisted_exchange.url).log_in(PROVIDER_EMAIL, PASSWORD)  # verified
    r = provider.http.post("/api/products", json=_product(secret_service.url, "fresh"))
    assert r.status_code == 422, r.text
    assert "allow-list" in r.json()["detail"]


def test_an_upstream_no_longer_listed_is_not_contacted(unlisted_exchange, secret_service):
    buyer = new_buyer(unlisted_exchange.url, "legacy@ssrf.example")
    buyer.subscribe("legacy", "free")
    key = buyer.api_key()
    before = len(secret_service.hits)
    r = httpx.get(
        unlisted_exchange.url + "/v2/entities",
        headers={"Fiware-Service": "legacy", "X-API-Key": key},
        timeout=30,
    )
    assert r.status_code == 502 and "allow-list" in r.json()["description"]
    r = httpx.get(unlisted_exchange.url + "/api/products/legacy/preview", timeout=30)
    assert r.status_code == 502 and "allow-list" in r.json()["detail"]
    assert httpx.get(unlisted_exchange.url + "/products/legacy", timeout=30).status_code == 200
    assert len(secret_service.hits) == before


def test_a_self_registered_provider_cannot_set_an_upstream(listed_exchange, secret_service):
    stranger = Client(listed_exchange.url)
    r = stranger.http.post(
        "/api/accounts",
        json={
            "email": "stranger@ssrf.example",
            "password": PASSWORD,
            "name": "Stranger",
            "role": "provider",
            "organization": "Stranger Inc",
        },
    )
    assert r.status_code == 201, r.text
    stranger.log_in("stranger@ssrf.example")
    r = stranger.http.post("/api/products", json=_product(secret_service.url, "mine"))
    assert r.status_code == 403 and "verified" in r.json()["detail"]
    product = {k: v for k, v in _product("", "mine").items() if k != "upstream_url"}
    assert stranger.http.post("/api/products", json=product).status_code == 201


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.1:1026",
        "http://[::1]:1026",
        "http://127.0.0.2:1026",
    ],
)
def test_a_verified_provider_cannot_point_at_unlisted_networks(listed_exchange, url):
    provider = Client(listed_exchange.url).log_in(PROVIDER_EMAIL, PASSWORD)
    r = provider.http.post("/api/products", json=_product(url, "internal"))
    assert r.status_code == 422, r.text
    assert "allow-list" in r.json()["detail"] or "resolved" in r.json()["detail"]


def test_redirects_from_a_listed_upstream_are_not_followed(
    listed_exchange, redirector, secret_service
):
    provider = Client(listed_exchange.url).log_in(PROVIDER_EMAIL, PASSWORD)
    r = provider.http.post("/api/products", json=_product(redirector.url, "hop"))
    assert r.status_code == 201, r.text
    _with_free_plan(provider, "hop")
    buyer = new_buyer(listed_exchange.url, "hop@ssrf.example")
    buyer.subscribe("hop", "free")
    key = buyer.api_key()
    before = len(secret_service.hits)
    r = httpx.get(
        listed_exchange.url + "/v2/entities",
        headers={"Fiware-Service": "hop", "X-API-Key": key},
        timeout=30,
    )
    assert r.status_code == 302
    assert httpx.get(listed_exchange.url + "/api/products/hop/preview").json() == []
    assert provider.http.post("/api/products/hop/quality").status_code == 200
    assert len(secret_service.hits) == before
    assert len(redirector.hits) >= 3  # the gateway, the preview and the quality read


def test_a_listed_upstream_is_read_by_gateway_preview_and_quality(listed_exchange, secret_service):
    provider = Client(listed_exchange.url).log_in(PROVIDER_EMAIL, PASSWORD)
    r = provider.http.post("/api/products", json=_product(secret_service.url, "listed"))
    assert r.status_code == 201, r.text
    _with_free_plan(provider, "listed")
    buyer = new_buyer(listed_exchange.url, "listed@ssrf.example")
    buyer.subscribe("listed", "free")
    key = buyer.api_key()
    r = httpx.get(
        listed_exchange.url + "/v2/entities",
        headers={"Fiware-Service": "listed", "X-API-Key": key},
        timeout=30,
    )
    assert r.status_code == 200 and r.json() == [ENTITY]
    preview = httpx.get(listed_exchange.url + "/api/products/listed/preview", timeout=30)
    assert preview.json()[0]["id"] == "R1"
    quality = provider.http.post("/api/products/listed/quality")
    assert quality.json()["entity_count"] == 1


@pytest.mark.parametrize("body", [b"<html>not json", b'{"id": "x"}', b"[1, 2]"])
def test_a_listed_upstream_answering_junk_is_a_502_not_a_500(listed_exchange, body):
    product_id = f"junk{len(body)}"
    with Recorder(body=body) as junk:
        provider = Client(listed_exchange.url).log_in(PROVIDER_EMAIL, PASSWORD)
        r = provider.http.post("/api/products", json=_product(junk.url, product_id))
        assert r.status_code == 201, r.text
        preview = httpx.get(f"{listed_exchange.url}/api/products/{product_id}/preview")
        assert preview.status_code == 502, preview.text
        assert provider.http.post(f"/api/products/{product_id}/quality").status_code == 502
