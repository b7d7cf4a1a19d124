"""The web portal in headless Chromium (Playwright's Python API, Debian's chromium)."""

from __future__ import annotations

import httpx
import pytest
from exchange_fixtures import PASSWORD, PROVIDER_EMAIL, ExchangeServer, build_exchange


@pytest.fixture(scope="module")
def exchange(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("portal")
    build_exchange(data_dir)
    with ExchangeServer(data_dir) as server:
        yield server


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.requested = requested
    yield page
    context.close()


def test_catalog_search_and_product_page_render(exchange, page):
    page.goto(exchange.url + "/")
    assert page.locator("#catalog tbody tr").count() == 3
    page.fill("input[name=q]", "subway")
    page.press("input[name=q]", "Enter")
    page.wait_for_url("**/?q=subway")
    assert page.locator("#catalog tbody tr").count() == 1
    page.goto(exchange.url + "/products/wards")
    assert page.locator("h1").inner_text().startswith("Sapporo wards")
    assert page.locator("#preview tbody tr").count() == 3  # preview_size
    assert page.locator("#plans tbody tr").count() == 4
    assert "re-identification" in page.content()
    assert page.locator("#quality").inner_text().count("10") >= 1
    # nothing is fetched from anywhere but the exchange (no CDN)
    assert all(u.startswith(exchange.url) for u in page.requested)
    css = httpx.get(exchange.url + "/portal/static/portal.css")
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]


def test_sign_up_subscribe_and_get_a_key_shown_once(exchange, page):
    page.goto(exchange.url + "/signup")
    page.fill("#name", "Portal Buyer")
    page.fill("#email", "portal@example.org")
    page.fill("#password", PASSWORD)
    page.click("#signup button[type=submit]")
    page.wait_for_url(exchange.url + "/")
    page.goto(exchange.url + "/products/stations")
    page.fill("#purpose", "Station accessibility study")
    page.check("input[name=accept]")
    page.click("#subscribe button[type=submit]")
    page.wait_for_url("**/me")
    row = page.locator("#subscriptions tbody tr").first.inner_text()
    assert "stations" in row and "active" in row and "Station accessibility study" in row
    page.click("#new-credential button[type=submit]")
    secret = page.locator("#new-secret .secret").inner_text()
    assert secret.startswith("wbk_")
    r = httpx.get(
        exchange.url + "/v2/entities", headers={"Fiware-Service": "stations", "X-API-Key": secret}
    )
    assert r.status_code == 200
    page.goto(exchange.url + "/me")
    assert page.locator("#new-secret").count() == 0 and secret not in page.content()
    assert "1" in page.locator("#usage tbody tr").first.inner_text()
    assert page.locator("#bills tbody tr").count() == 1


def test_subscribing_without_accepting_terms_is_refused(exchange, page):
    page.goto(exchange.url + "/login")
    page.fill("#email", PROVIDER_EMAIL)
    page.fill("#password", PASSWORD)
    page.click("#login button[type=submit]")
    page.wait_for_url("**/me")
    page.goto(exchange.url + "/products/wards")
    csrf = page.locator("#subscribe input[name=csrf_token]").get_attribute("value")
    r = page.request.post(  # the form without its 'accept' box, as the page's own origin
        exchange.url + "/products/wards/subscribe",
        form={"plan_id": "free", "purpose": "testing", "terms_version": "2026-11",
              "csrf_token": csrf},
        headers={"Origin": exchange.url},
    )
    assert r.status == 422 and "accept the terms" in r.text()


def test_provider_sees_revenue_and_approves_a_restricted_subscription(exchange, page):
    from workbench.server.exchange.service import ExchangeService

    svc = ExchangeService.open(exchange.data_dir)
    buyer = svc.create_account("verified@example.org", PASSWORD, name="Researcher", role="buyer")
    sub = svc.subscribe(buyer, "steps", "research", purpose="Step study", terms_version="v1")
    svc.close()
    page.goto(exchange.url + "/provider")
    page.wait_for_url("**/login?next=/provider")
    page.fill("#email", PROVIDER_EMAIL)
    page.fill("#password", PASSWORD)
    page.click("#login button[type=submit]")
    page.wait_for_url("**/provider")
    approvals = page.locator("#approvals tbody tr").first
    assert sub in approvals.inner_text() and "Step study" in approvals.inner_text()
    approvals.get_by_role("button", name="Approve").click()
    page.wait_for_url("**/provider?notice=*")
    assert sub not in page.locator("#approvals").inner_text()
    settlements = page.locator("#settlements tbody tr").first.inner_text()
    assert "5000" in settlements and "4500" in settlements and "500" in settlements
