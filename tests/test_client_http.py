"""The HTTP layer against a tiny real local server: retries, Retry-After, dropped
connections, OAuth token refresh and the mapping of error bodies to typed exceptions."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest

import workbench.client as wbc
from workbench.client._http import parse_retry_after

ENTITIES = [{"id": f"e{i}", "type": "T", "n": {"type": "Number", "value": i}} for i in range(3)]


class ScriptedServer:
    """A local HTTP server answering from a per-path script, then with a default.

    ``script[path]`` is a list consumed one request at a time; each item is ``"drop"`` (close
    the connection without answering) or ``(status, headers, body)``. ``log`` records
    ``(method, path, headers)``.
    """

    def __init__(self):
        self.script: dict[str, list] = {}
        self.log: list[tuple[str, str, dict]] = []
        self.tokens_issued = 0
        self.valid_token: str | None = None
        self.entities = ENTITIES
        self.delay_s = 0.0
        self.in_flight = self.max_in_flight = 0
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _handle(self):
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                path = self.path.split("?")[0]
                outer.log.append((self.command, self.path, dict(self.headers), body))
                queue = outer.script.get(path)
                if queue:
                    item = queue.pop(0)
                    if item == "drop":
                        self.close_connection = True
                        self.connection.close()
                        return
                    self._send(*item)
                    return
                if path == "/oauth2/token":
                    outer.tokens_issued += 1
                    outer.valid_token = f"tok{outer.tokens_issued}"
                    self._send(
                        200,
                        {},
                        {
                            "access_token": outer.valid_token,
                            "token_type": "Bearer",
                            "expires_in": 3600,
                        },
                    )
                    return
                if outer.valid_token and self.headers.get("authorization") != (
                    f"Bearer {outer.valid_token}"
                ):
                    self._send(
                        401,
                        {"WWW-Authenticate": "Bearer"},
                        {"error": "Unauthorized", "description": "token expired"},
                    )
                    return
                if path == "/v2/entities":
                    query = dict(parse_qsl(urlsplit(self.path).query))
                    offset, limit = int(query.get("offset", 0)), int(query.get("limit", 20))
                    with outer.lock:
                        outer.in_flight += 1
                        outer.max_in_flight = max(outer.max_in_flight, outer.in_flight)
                    time.sleep(outer.delay_s)
                    with outer.lock:
                        outer.in_flight -= 1
                    rows = outer.entities[offset : offset + limit]
                    self._send(200, {"Fiware-Total-Count": str(len(outer.entities))}, rows)
                    return
                self._send(404, {}, {"error": "NotFound", "description": "no such path"})

            do_GET = do_POST = _handle

            def _send(self, status, headers, body):
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                headers = {"Content-Type": "application/json", **headers}
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    with ScriptedServer() as s:
        yield s


def _ngsi(status, error, description, headers=None):
    return (status, headers or {}, {"error": error, "description": description})


def test_429_is_retried_after_the_servers_retry_after(server):
    server.script["/v2/entities"] = [
        _ngsi(429, "TooManyRequests", "slow down", {"Retry-After": "1"})
    ]
    ex = wbc.connect(server.url, service="t", progress=False)
    start = time.monotonic()
    df = ex.entities(type="T").to_pandas()
    assert time.monotonic() - start >= 0.9
    assert list(df["id"]) == ["e0", "e1", "e2"]


def test_dropped_connection_is_retried(server):
    server.script["/v2/entities"] = ["drop"]
    ex = wbc.connect(server.url, service="t", progress=False)
    assert len(ex.entities().to_pandas()) == 3
    assert sum(1 for m, p, *_ in server.log if p.startswith("/v2/entities")) == 2


def test_persistent_429_raises_rate_limited_with_the_servers_explanation(server):
    server.script["/v2/entities"] = [
        _ngsi(429, "TooManyRequests", "quota of 10/min reached", {"Retry-After": "0"})
    ] * 3
    ex = wbc.connect(server.url, service="t", progress=False, max_retries=2)
    with pytest.raises(wbc.RateLimitedError) as info:
        ex.entities().count()
    assert info.value.status == 429
    assert info.value.description == "quota of 10/min reached"
    assert info.value.retry_after_s == 0
    assert isinstance(info.value, wbc.NgsiError)


def test_5xx_is_retried_then_raised_as_server_error(server):
    server.script["/v2/entities"] = [(503, {}, {"error": "Busy", "description": "x"})] * 2
    ex = wbc.connect(server.url, service="t", progress=False, max_retries=1)
    with pytest.raises(wbc.ServerError, match="503 Busy"):
        ex.entities().to_pandas()


def test_ngsi_404_is_both_not_found_and_ngsi_error(server):
    server.script["/v2/entities"] = [
        _ngsi(404, "NotFound", "The requested entity has not been found")
    ]
    ex = wbc.connect(server.url, service="t", progress=False)
    with pytest.raises(wbc.NotFoundError) as info:
        ex.entities().to_pandas()
    assert isinstance(info.value, wbc.NgsiError)
    assert info.value.error == "NotFound"
    assert "has not been found" in str(info.value)


def test_problem_json_403_maps_to_permission_denied_with_advice(server):
    problem = {
        "type": "about:blank",
        "title": "Forbidden",
        "status": 403,
        "detail": "no active subscription",
        "instance": "/v2/entities",
    }
    server.script["/v2/entities"] = [(403, {"Content-Type": "application/problem+json"}, problem)]
    ex = wbc.connect(server.url, service="t", progress=False)
    with pytest.raises(wbc.PermissionDeniedError, match="subscribe") as info:
        ex.entities().to_pandas()
    assert isinstance(info.value, wbc.ProblemError)
    assert info.value.detail == "no active subscription"
    assert info.value.instance == "/v2/entities"


def test_oauth_token_is_fetched_sent_and_refreshed_after_401(server):
    ex = wbc.connect(server.url, client_id="c", client_secret="s", service="t", progress=False)
    assert len(ex.entities().to_pandas()) == 3
    token_calls = [h for m, p, h, b in server.log if p == "/oauth2/token"]
    assert token_calls[0]["Authorization"].startswith("Basic ")
    server.valid_token = "rotated-on-the-server"  # the current token stops working
    server.script["/oauth2/token"] = [
        (
            200,
            {},
            {"access_token": "rotated-on-the-server", "token_type": "Bearer", "expires_in": 60},
        )
    ]
    assert len(ex.entities().to_pandas()) == 3


def test_api_key_is_sent_as_x_api_key(server):
    ex = wbc.connect(server.url, api_key="k123", service="t", progress=False)
    ex.entities().count()
    assert server.log[-1][2]["X-API-Key"] == "k123"
    assert server.log[-1][2]["Fiware-Service"] == "t"


def test_connection_refused_raises_connection_error_quickly():
    ex = wbc.connect("http://127.0.0.1:9", service="t", progress=False, max_retries=0)
    with pytest.raises(wbc.WorkbenchConnectionError, match="Is the server running"):
        ex.entities().count()


def test_async_client_retries_the_same_way(server):
    server.script["/v2/entities"] = [
        _ngsi(429, "TooManyRequests", "x", {"Retry-After": "0"}),
        "drop",
    ]

    async def main():
        async with wbc.connect_async(server.url, service="t", progress=False) as ex:
            return await ex.entities().to_pandas(), await ex.entities().count()

    df, n = asyncio.run(main())
    assert list(df["id"]) == ["e0", "e1", "e2"] and n == 3


def test_pages_are_fetched_concurrently_and_reassembled_in_order(server):
    server.entities = [
        {"id": f"e{i:05d}", "type": "T", "n": {"type": "Number", "value": i}} for i in range(4500)
    ]
    server.delay_s = 0.05
    ex = wbc.connect(server.url, service="t", progress=False, max_concurrency=4)
    df = ex.entities(type="T").to_pandas()
    assert df["id"].tolist() == [e["id"] for e in server.entities]
    assert df["n"].tolist() == list(range(4500))
    assert server.max_in_flight > 1  # pages 2..5 were in flight together
    requests = [p for m, p, *_ in server.log if p.startswith("/v2/entities")]
    assert "options=count" in requests[0] and len(requests) == 5


def test_retry_after_accepts_seconds_and_http_dates():
    assert parse_retry_after("7") == 7
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0
    assert parse_retry_after(None) is None
