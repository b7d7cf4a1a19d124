"""CSRF, Origin checks and framing, in real Chromium: a page from another origin on a free port
(same site: 127.0.0.1) cannot act for a logged-in user; the portal's own forms still work."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from exchange_fixtures import PASSWORD, Client, ExchangeServer, build_exchange
from servers import ServerProcess, free_port

VICTIM = "victim@example.org"


@pytest.fixture(scope="module")
def exchange(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("exchange-csrf")
    build_exchange(data_dir)
    with ExchangeServer(data_dir) as server:
        Client(server.url).sign_up(VICTIM, name="Victim")
        yield server


def _attack_pages(target: str) -> dict[str, str]:
    auto = "<script>document.forms[0].submit()</script>"
    return {
        "/key.html": f"""<form method="post" action="{target}/me/credentials">
            <input name="kind" value="api_key"><input name="label" value="stolen-form">
            </form>{auto}""",
        "/subscribe.html": f"""<form method="post" action="{target}/products/wards/subscribe">
            <input name="plan_id" value="metered"><input name="purpose" value="forged purpose">
            <input name="terms_version" value="2026-11"><input name="accept" value="yes">
            </form>{auto}""",
        "/fetch.html": f"""<script>
            fetch("{target}/api/credentials", {{method: "POST", mode: "no-cors",
              credentials: "include", headers: {{"Content-Type": "text/plain"}},
              body: JSON.stringify({{kind: "api_key", label: "stolen-fetch"}})}})
            .finally(() => {{ document.title = "sent"; }});
            </script>""",
        "/frame.html": f'<iframe id="victim" src="{target}/me" width="800" height="600"></iframe>',
    }


@pytest.fixture(scope="module")
def attacker_site(exchange):
    """Another origin on this host: a plain HTTP server on a free port serving attack pages."""
    pages = _attack_pages(exchange.url)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path, "not found").encode()
            self.send_response(200 if self.path in pages else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@pytest.fixture
def victim_page(browser, exchange):
    """A Chromium tab logged in to the portal as the victim."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(exchange.url + "/login")
    page.fill("#email", VICTIM)
    page.fill("#password", PASSWORD)
    page.click("#login button[type=submit]")
    page.wait_for_url("**/me")
    yield page
    context.close()


def _victim_state(url: str) -> tuple[list[str], list[str]]:
    victim = Client(url).log_in(VICTIM)
    labels = [c["label"] for c in victim.http.get("/api/credentials").json()]
    subs = [s["plan_id"] for s in victim.http.get("/api/subscriptions").json()]
    victim.close()
    return labels, subs


@pytest.mark.parametrize("attack", ["/key.html", "/subscribe.html", "/fetch.html"])
def test_a_page_from_another_origin_cannot_act_for_a_logged_in_user(
    exchange, attacker_site, victim_page, attack
):
    before = _victim_state(exchange.url)
    answers: list[tuple[str, int]] = []
    victim_page.on(
        "response",
        lambda r: answers.append((r.url, r.status)) if r.url.startswith(exchange.url) else None,
    )
    victim_page.goto(attacker_site + attack)
    victim_page.wait_for_load_state("networkidle")
    assert _victim_state(exchange.url) == before
    assert answers and all(status == 403 for _, status in answers), answers


def test_the_portal_cannot_be_framed_by_another_origin(exchange, attacker_site, victim_page):
    victim_page.goto(attacker_site + "/frame.html")
    victim_page.wait_for_load_state("networkidle")
    frame = victim_page.frame_locator("#victim")
    assert frame.locator("#new-credential").count() == 0  # Chromium refused to render it
    r = httpx.get(exchange.url + "/me")
    assert r.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]


def test_the_portals_own_forms_still_work(exchange, victim_page):
    page = victim_page
    page.goto(exchange.url + "/products/wards")
    page.select_option("#plan_id", "free")
    page.fill("#purpose", "Ward-level walkability study")
    page.check("input[name=accept]")
    page.click("#subscribe button[type=submit]")
    page.wait_for_url("**/me")
    assert "wards" in page.locator("#subscriptions").inner_text()
    page.fill("input[name=label]", "portal key")
    page.uncheck("input[name=scopes][value='account:manage']")
    page.click("#new-credential button[type=submit]")
    shown = page.locator("code").filter(has_text="wbk_").first.inner_text()
    assert shown.startswith("wbk_")
    row = page.locator("#credentials tbody tr", has_text="portal key")
    assert "account:manage" not in row.inner_text() and "data:read" in row.inner_text()
    row.locator("button", has_text="Revoke").click()
    page.wait_for_url("**/me")
    assert "revoked" in page.locator("#credentials tbody tr", has_text="portal key").inner_text()
    page.click("header form button[type=submit]")  # log out
    page.wait_for_url(exchange.url + "/")
    assert page.locator("header a", has_text="Log in").count() == 1


def test_cookie_borne_api_writes_need_the_exchanges_origin(exchange):
    http = httpx.Client(base_url=exchange.url, timeout=30)
    r = http.post("/api/login", json={"email": VICTIM, "password": PASSWORD})
    token = r.json()["access_token"]
    assert "wb_session" in http.cookies
    body = {"kind": "api_key", "label": "cookie"}
    foreign = http.post("/api/credentials", json=body, headers={"Origin": "http://127.0.0.1:1"})
    assert foreign.status_code == 403 and foreign.json()["error"] == "csrf"
    assert http.post("/api/credentials", json=body).status_code == 403  # no Origin at all
    own = http.post("/api/credentials", json=body, headers={"Origin": exchange.url})
    assert own.status_code == 201, own.text
    # a program's bearer token is never attached by a browser: no Origin needed
    program = httpx.post(
        exchange.url + "/api/credentials",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert program.status_code == 201
    http.close()


def test_secure_cookies_and_hsts_behind_tls(tmp_path):
    build_exchange(tmp_path)
    with ServerProcess(["serve", "--data-dir", str(tmp_path), "--secure-cookies"]) as server:
        page = httpx.get(server.url + "/login")
        assert page.headers["strict-transport-security"].startswith("max-age=")
        assert "secure" in page.headers["set-cookie"].lower()
        r = httpx.post(server.url + "/api/login", json={"email": VICTIM, "password": PASSWORD})
        assert r.status_code == 401  # no such account here; the cookie flags are what matter
        provider = httpx.post(
            server.url + "/api/login",
            json={"email": "provider@city.sapporo.example", "password": PASSWORD},
        )
        cookie = provider.headers["set-cookie"].lower()
        assert "wb_session=" in cookie and "secure" in cookie and "samesite=strict" in cookie
