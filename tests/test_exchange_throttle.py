"""Log-in throttling on a real ``workbench serve``: atomic under concurrency, per (account,
client) and per client, and never a way to lock the owner out from elsewhere.

Different clients are real TCP connections from different loopback source addresses
(127.0.0.11, 127.0.0.12, ...), which is what the server sees as the client."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from exchange_fixtures import PASSWORD, PROVIDER_EMAIL, Client, ExchangeServer, build_exchange

from workbench.server.exchange.throttle import LoginThrottle

OWNER = "owner@example.org"


@pytest.fixture(scope="module")
def exchange(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("exchange-login")
    build_exchange(data_dir)
    with ExchangeServer(data_dir) as server:
        Client(server.url).sign_up(OWNER)
        yield server


def _from(url: str, address: str) -> httpx.Client:
    """An HTTP client whose connections come from ``address`` (a loopback alias)."""
    transport = httpx.HTTPTransport(local_address=address)
    limits = httpx.Limits(max_connections=100)
    return httpx.Client(base_url=url, transport=transport, timeout=60, limits=limits)


def _log_in(http: httpx.Client, email: str, password: str) -> httpx.Response:
    return http.post("/api/login", json={"email": email, "password": password})


def test_sixty_concurrent_wrong_passwords_check_exactly_the_limit(exchange):
    limit = LoginThrottle().free["pair"]
    start = threading.Barrier(60)

    def guess(i: int) -> httpx.Response:
        start.wait()
        return _log_in(attacker, OWNER, f"guess-number-{i}")

    with _from(exchange.url, "127.0.0.11") as attacker:
        with ThreadPoolExecutor(60) as pool:
            answers = list(pool.map(guess, range(60)))
        statuses = sorted(r.status_code for r in answers)
        assert statuses.count(401) == limit, statuses
        assert statuses.count(429) == 60 - limit, statuses
        refused = next(r for r in answers if r.status_code == 429)
        assert int(refused.headers["retry-after"]) >= 1
        assert refused.headers["content-type"] == "application/problem+json"
        # the attacker's client now waits, even with the right password ...
        assert _log_in(attacker, OWNER, PASSWORD).status_code == 429
    # ... but the owner, from another client, logs in at once
    with _from(exchange.url, "127.0.0.12") as owner:
        r = _log_in(owner, OWNER, PASSWORD)
        assert r.status_code == 200, r.text


def test_password_spraying_from_one_client_is_throttled(exchange):
    limit = LoginThrottle().free["client"]
    with _from(exchange.url, "127.0.0.13") as sprayer:
        statuses = [
            _log_in(sprayer, f"person{i}@example.org", "Summer2026!").status_code
            for i in range(limit + 10)
        ]
        assert statuses == [401] * limit + [429] * 10
        # each account saw one guess only; the client is what is slowed down
        assert _log_in(sprayer, PROVIDER_EMAIL, PASSWORD).status_code == 429
    with _from(exchange.url, "127.0.0.14") as someone_else:
        assert _log_in(someone_else, PROVIDER_EMAIL, PASSWORD).status_code == 200


def test_logout_revokes_the_bearer_token_it_was_called_with(exchange):
    with _from(exchange.url, "127.0.0.15") as http:
        token = _log_in(http, OWNER, PASSWORD).json()["access_token"]
        http.cookies.clear()  # a program: bearer only, no cookie
        auth = {"Authorization": f"Bearer {token}"}
        assert http.get("/api/me", headers=auth).status_code == 200
        assert http.post("/api/logout", headers=auth).status_code == 204
        r = http.get("/api/me", headers=auth)
        assert r.status_code == 401, r.text
        fresh = _log_in(http, OWNER, PASSWORD).json()["access_token"]
        introspected = http.post(
            "/oauth2/introspect",
            data={"token": token},
            headers={"Authorization": f"Bearer {fresh}"},
        )
        assert introspected.json() == {"active": False}


@pytest.mark.parametrize(
    "password,why",
    [
        ("password123456", "common"),
        ("qwertyuiop", "common"),
        ("iloveyou2026!", "common"),
        ("aaaaaaaaaaaa", "too few"),
        ("short-pw", "at least 10"),
        ("aiko.tanaka2026", "e-mail address or name"),
    ],
)
def test_sign_up_refuses_common_and_trivial_passwords(exchange, password, why):
    r = httpx.post(
        exchange.url + "/api/accounts",
        json={"email": "aiko.tanaka@example.org", "password": password, "name": "Aiko Tanaka"},
    )
    assert r.status_code == 422 and why in r.text, r.text


def test_sign_up_accepts_the_demo_password(exchange):
    r = httpx.post(
        exchange.url + "/api/accounts",
        json={"email": "demo-like@example.org", "password": "sapporo-demo-2026", "name": "Demo"},
    )
    assert r.status_code == 201, r.text


def test_delays_grow_and_a_success_clears_the_pair():
    now = [0.0]
    throttle = LoginThrottle(
        free_per_account_client=2, free_per_client=100, base_delay_s=4, clock=lambda: now[0]
    )
    for _ in range(2):
        throttle.failed(throttle.begin("a@x", "c1"))
    with pytest.raises(Exception, match="wait 4 s"):
        throttle.begin("a@x", "c1")
    now[0] = 4.1
    throttle.failed(throttle.begin("a@x", "c1"))
    with pytest.raises(Exception, match="wait 8 s"):
        throttle.begin("a@x", "c1")
    throttle.begin("a@x", "c2")  # another client is not slowed
    now[0] = 20
    throttle.succeeded(throttle.begin("a@x", "c1"))
    throttle.failed(throttle.begin("a@x", "c1"))  # counting starts again after a success
    throttle.begin("a@x", "c1")
