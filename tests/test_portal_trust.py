"""Trust journeys in the portal, in headless Chromium: a provider creates a product with the
form, an admin reviews an unverified provider's product and a buyer's verification request,
a buyer learns what a restricted product needs before trying, a provider rejects with a
reason the buyer reads, and the API docs at /docs render with no network."""

from __future__ import annotations

import pytest
from exchange_fixtures import ADMIN_EMAIL, PASSWORD, PROVIDER_EMAIL, ExchangeServer, build_exchange


@pytest.fixture(scope="module")
def exchange(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("portal-trust")
    build_exchange(data_dir)
    with ExchangeServer(data_dir) as server:
        yield server


@pytest.fixture
def new_page(browser):
    """Fresh browser contexts (one per user), offline: only 127.0.0.1 is reachable."""
    contexts = []
    outside: list[str] = []

    def make():
        context = browser.new_context()
        contexts.append(context)

        def only_local(route):
            if route.request.url.startswith(("http://127.0.0.1", "data:", "blob:")):
                route.continue_()
            else:
                outside.append(route.request.url)
                route.abort()

        context.route("**/*", only_local)
        return context.new_page()

    make.outside = outside
    yield make
    for context in contexts:
        context.close()


def _log_in(page, url: str, email: str, target: str) -> None:
    page.goto(f"{url}/login?next={target}")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("#login button[type=submit]")
    page.wait_for_url(f"**{target}*")


def _sign_up(page, url: str, email: str, *, provider: str | None = None) -> None:
    page.goto(url + "/signup")
    page.fill("#name", email.split("@")[0])
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    if provider:
        page.select_option("#role", "provider")
        page.fill("#organization", provider)
    page.click("#signup button[type=submit]")
    page.wait_for_url(url + "/")


def _fill_product(page, product_id: str, *, price: str) -> None:
    page.fill("#id", product_id)
    page.fill("#title", f"{product_id} counts")
    page.fill("#entity_types", "CrowdFlowObserved")
    page.fill("#licence", "CC BY 4.0")
    page.fill("#attribution", "Test company")
    page.fill("#upstream_url", "")
    page.fill("input[name=plan0_id]", "open")
    page.select_option("select[name=plan0_kind]", "free")
    page.fill("input[name=plan0_rate]", "20")
    page.fill("input[name=plan1_id]", "pro")
    page.select_option("select[name=plan1_kind]", "metered")
    page.fill("input[name=plan1_price]", price)
    page.fill("input[name=plan1_quota]", "100000")
    page.fill("input[name=plan1_rate]", "10")
    page.fill("#terms_text", "Planning and research; no resale.")
    page.fill("#permitted_purposes", "urban_planning\nresearch")
    page.fill("#prohibitions", "resale")


def test_docs_render_operations_offline(exchange, new_page):
    page = new_page()
    page.goto(exchange.url + "/docs")
    page.wait_for_selector(".opblock", timeout=30_000)
    assert page.locator(".opblock").count() > 20
    assert "/api/products" in page.locator("#swagger-ui").inner_text()
    assert new_page.outside == []


def test_provider_creates_a_product_with_the_form(exchange, new_page):
    page = new_page()
    _log_in(page, exchange.url, PROVIDER_EMAIL, "/provider")
    page.click("text=New product")
    page.wait_for_url("**/provider/products/new")
    _fill_product(page, "kita-counts", price="")
    page.click("#new-product button[type=submit]")
    error = page.locator("[role=alert]").inner_text()
    assert "plan 'pro' is metered: give price_per_1000_calls" in error
    assert page.input_value("#title") == "kita-counts counts"  # what was typed is kept
    page.fill("input[name=plan1_price]", "200")
    page.click("#new-product button[type=submit]")
    page.wait_for_url("**/provider?notice=*")
    assert "kita-counts: it is listed" in page.locator(".notice").inner_text()
    page.goto(exchange.url + "/products/kita-counts")
    plans = page.locator("#plans").inner_text()
    assert "metered" in plans and "200" in plans and "100000" in plans
    assert "urban_planning" in page.locator("main").inner_text()


def test_unverified_providers_product_is_listed_after_an_admin_approves(exchange, new_page):
    page = new_page()
    _sign_up(page, exchange.url, "new-provider@bus.example", provider="Bus Co (test)")
    page.goto(exchange.url + "/provider/products/new")
    _fill_product(page, "bus-counts", price="150")
    page.click("#new-product button[type=submit]")
    page.wait_for_url("**/provider?notice=*")
    assert "an admin reviews it" in page.locator(".notice").inner_text()
    assert "review" in page.locator("#my-products").inner_text()
    visitor = new_page()
    visitor.goto(exchange.url + "/")
    assert "bus-counts" not in visitor.content()
    visitor.goto(exchange.url + "/products/bus-counts")
    assert "No such product" in visitor.locator("[role=alert]").inner_text()

    admin = new_page()
    _log_in(admin, exchange.url, ADMIN_EMAIL, "/admin")
    row = admin.locator("#admin-listings tbody tr", has_text="bus-counts")
    assert "Bus Co (test)" in row.inner_text()
    row.get_by_role("button", name="List").click()
    admin.wait_for_url("**/admin?notice=*")
    assert "bus-counts: listed" in admin.locator(".notice").inner_text()
    visitor.goto(exchange.url + "/")
    assert "bus-counts" in visitor.content()


def test_buyer_learns_what_a_restricted_product_needs_and_is_verified(exchange, new_page):
    buyer = new_page()
    _sign_up(buyer, exchange.url, "student@uni.example")
    buyer.goto(exchange.url + "/products/steps")
    notice = buyer.locator("#verify-first").inner_text()
    assert "only verified accounts can subscribe" in notice and "research" in notice
    assert "approval" in notice
    assert buyer.locator("#subscribe").count() == 0  # no form to fail on
    buyer.click("#verify-first a[href='/verification']")
    buyer.fill("#organisation", "   ")  # passes the browser's check, not the server's
    buyer.fill("#intended_use", "Evaluation of the health-point programme, ethics 2027-014")
    buyer.click("#verification button[type=submit]")
    assert "organisation must be 1 to 200" in buyer.locator("[role=alert]").inner_text()
    buyer.fill("#organisation", "Hokkaido University")
    buyer.click("#verification button[type=submit]")
    assert "an admin will review" in buyer.locator(".notice").inner_text()
    assert "pending" in buyer.locator("#verification-requests").inner_text()

    admin = new_page()
    _log_in(admin, exchange.url, ADMIN_EMAIL, "/admin")
    row = admin.locator("#admin-verification tbody tr", has_text="student@uni.example")
    assert "Hokkaido University" in row.inner_text() and "ethics 2027-014" in row.inner_text()
    row.get_by_role("button", name="Verify").click()
    admin.wait_for_url("**/admin?notice=*")

    buyer.goto(exchange.url + "/products/steps")
    assert buyer.locator("#verify-first").count() == 0
    buyer.fill("#purpose", "research: marketing list")
    buyer.check("input[name=accept]")
    buyer.click("#subscribe button[type=submit]")
    buyer.wait_for_url("**/me")
    assert "pending" in buyer.locator("#subscriptions").inner_text()

    provider = new_page()
    _log_in(provider, exchange.url, PROVIDER_EMAIL, "/provider")
    subscribers = provider.locator("#subscribers").inner_text()
    assert "student@uni.example" in subscribers and "research: marketing list" in subscribers
    row = provider.locator("#approvals tbody tr", has_text="student@uni.example")
    row.locator("input[name=reason]").fill("Marketing is not a permitted research purpose.")
    row.get_by_role("button", name="Reject").click()
    provider.wait_for_url("**/provider?notice=*")
    assert "rejected" in provider.locator("#subscribers").inner_text()

    buyer.goto(exchange.url + "/me")
    mine = buyer.locator("#subscriptions").inner_text()
    assert "rejected" in mine and "Marketing is not a permitted research purpose." in mine
