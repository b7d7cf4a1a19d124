"""Trust between users over the real API and CLI: creating products (client, REST, CLI), the
admins' review of unverified providers' products, rejecting subscriptions with a reason the
buyer sees, and buyers' verification requests."""

from __future__ import annotations

import subprocess
import sys

import geopandas as gpd
import pandas as pd
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
from shapely.geometry import Point

import workbench as wb

TERMS = {
    "version": "1.0",
    "text": "Any purpose, with attribution.",
    "permitted_purposes": ["any", "research"],
    "prohibitions": ["removing_attribution"],
}


@pytest.fixture(scope="module")
def exchange(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("trust")
    build_exchange(data_dir)
    with ExchangeServer(data_dir) as server:
        yield server


def _cli(exchange, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "workbench", *args, "--data-dir", str(exchange.data_dir)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def _provider_key(exchange) -> str:
    return Client(exchange.url).log_in(PROVIDER_EMAIL).api_key()


def _sign_up_provider(exchange, email: str, organisation: str) -> Client:
    client = Client(exchange.url)
    r = client.http.post(
        "/api/accounts",
        json={
            "email": email,
            "password": PASSWORD,
            "name": "New provider",
            "role": "provider",
            "organization": organisation,
        },
    )
    assert r.status_code == 201, r.text
    return client.log_in(email)


def test_readme_publish_example_works_after_create_product(exchange):
    ex = wb.connect(exchange.url, api_key=_provider_key(exchange), progress=False)
    frame = gpd.GeoDataFrame(
        {"id": ["s1", "s2"], "temperature": [3.5, -1.0]},
        geometry=[Point(141.35, 43.06), Point(141.36, 43.07)],
        crs=4326,
    )
    with pytest.raises(wb.NotFoundError, match="create_product"):
        ex.publish(frame, "my-product", type="Sensor", id_column="id")
    product = ex.create_product(
        "my-product",
        title="My sensors",
        licence="CC BY 4.0",
        attribution="Sapporo City",
        entity_types=["Sensor"],
        plans=[
            {"id": "open", "kind": "free"},
            {"id": "pro", "kind": "metered", "price_per_1000_calls": 200, "rate_limit_per_s": 5},
        ],
        terms=TERMS,
    )
    assert product.service == "my_product"
    assert sorted(product.plans["id"]) == ["open", "pro"]
    assert ex.publish(frame, "my-product", type="Sensor", id_column="id")["entities"] == 2
    back = ex.entities("my-product", type="Sensor").to_pandas().set_index("id")
    assert back.loc["s1", "temperature"] == 3.5
    assert "my-product" in set(wb.connect(exchange.url).products()["id"])  # verified: listed


def test_create_product_is_validated_with_clear_errors(exchange):
    ex = wb.connect(exchange.url, api_key=_provider_key(exchange), progress=False)
    with pytest.raises(ValueError, match="terms must be a dict"):
        ex.create_product("x1", title="X", licence="CC BY", attribution="me", terms=None)
    with pytest.raises(ValueError, match="non-empty licence"):
        ex.create_product("x1", title="X", licence="", attribution="me", terms=TERMS)
    with pytest.raises(wb.WorkbenchError, match="metered: give price_per_1000_calls") as err:
        ex.create_product(
            "x1",
            title="X",
            licence="CC BY",
            attribution="me",
            terms=TERMS,
            plans=[{"id": "m", "kind": "metered"}],
        )
    assert err.value.status == 422
    with pytest.raises(wb.WorkbenchError, match="already exists") as err:
        ex.create_product("wards", title="X", licence="CC BY", attribution="me", terms=TERMS)
    assert err.value.status == 409
    with pytest.raises(wb.NotFoundError):
        ex.product("x1")  # nothing half-made


def test_buyer_cannot_create_products(exchange):
    buyer = new_buyer(exchange.url, "not-a-provider@example.org")
    ex = wb.connect(exchange.url, api_key=buyer.api_key(), progress=False)
    with pytest.raises(wb.WorkbenchError, match="Only provider accounts") as err:
        ex.create_product("mine", title="X", licence="CC BY", attribution="me", terms=TERMS)
    assert err.value.status == 403


def test_unverified_providers_products_wait_for_review_then_list(exchange):
    newcomer = _sign_up_provider(exchange, "new@bus.example", "Jotetsu Bus (test)")
    body = {
        "id": "bus-stops",
        "title": "Bus stops",
        "licence": "CC BY 4.0",
        "attribution": "Jotetsu",
        "plans": [{"id": "open", "name": "Open", "kind": "free"}],
        "terms": TERMS,
    }
    r = newcomer.http.post("/api/products", json=body)
    assert r.status_code == 201, r.text
    assert r.json()["listing"] == "review"
    anonymous = Client(exchange.url).http
    assert "bus-stops" not in [p["id"] for p in anonymous.get("/api/products").json()]
    assert anonymous.get("/api/products/bus-stops").status_code == 404
    assert newcomer.http.get("/api/products/bus-stops").json()["listing"] == "review"
    buyer = new_buyer(exchange.url, "early@example.org")
    version = TERMS["version"]
    r = buyer.http.post(
        "/api/subscriptions",
        json={"product_id": "bus-stops", "plan_id": "open", "purpose": "x" * 5,
              "terms_version": version},
    )  # fmt: skip
    assert r.status_code == 404

    listed = _cli(exchange, "products", "review")
    assert listed.returncode == 0 and "bus-stops" in listed.stdout
    admin = Client(exchange.url).log_in(ADMIN_EMAIL)
    queue = admin.http.get("/api/listings/review").json()
    assert [q["product_id"] for q in queue] == ["bus-stops"]
    assert newcomer.http.post("/api/products/bus-stops/listing/approve").status_code == 403
    r = admin.http.post("/api/products/bus-stops/listing/reject", json={"reason": ""})
    assert r.status_code == 422 and "Say why" in r.json()["detail"]
    r = admin.http.post("/api/products/bus-stops/listing/approve")
    assert r.status_code == 200 and r.json()["status"] == "listed"
    assert "bus-stops" in [p["id"] for p in anonymous.get("/api/products").json()]


def test_cli_creates_and_reviews_products(exchange):
    made = _cli(
        exchange, "products", "create", "cli-benches", "--provider", "Sapporo City",
        "--title", "Benches", "--licence", "CC BY 4.0", "--attribution", "Sapporo City",
        "--entity-type", "PointOfInterest", "--plan", "open:free,rate=20",
        "--plan", "pro:metered,price=200,quota=100000,rate=10,trial=30",
        "--terms-text", "Any purpose, with attribution.", "--purpose", "any",
        "--prohibit", "resale",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert "created cli-benches" in made.stdout and "listed" in made.stdout
    product = wb.connect(exchange.url).product("cli-benches")
    pro = product.plans.set_index("id").loc["pro"]
    assert (pro["price_per_1000_calls"], pro["monthly_quota"], pro["trial_days"]) == (
        200,
        100000,
        30,
    )
    assert product.terms["prohibitions"] == ["resale"]
    bad = _cli(
        exchange, "products", "create", "cli-bad", "--provider", "Sapporo City", "--title", "B",
        "--licence", "CC BY", "--attribution", "me", "--plan", "m:monthly",
        "--terms-text", "t", "--purpose", "any",
    )  # fmt: skip
    assert bad.returncode == 2 and "monthly: give monthly_fee" in bad.stderr
    unknown = _cli(
        exchange, "products", "create", "cli-bad", "--provider", "Nobody", "--title", "B",
        "--licence", "CC BY", "--attribution", "me", "--plan", "o:free", "--terms-text", "t",
    )  # fmt: skip
    assert unknown.returncode != 0 and "no organisation 'Nobody'" in unknown.stderr


def test_provider_rejects_a_subscription_with_a_reason_the_buyer_sees(exchange):
    build = Client(exchange.url).log_in(ADMIN_EMAIL)
    buyer = new_buyer(exchange.url, "rejected@example.org")
    r = build.http.post("/api/accounts/" + buyer.http.get("/api/me").json()["id"] + "/verify")
    assert r.status_code == 200
    sub = buyer.subscribe("steps", "research", purpose="research: marketing list")
    assert sub["status"] == "pending"
    provider = Client(exchange.url).log_in(PROVIDER_EMAIL)
    r = provider.http.post(f"/api/subscriptions/{sub['id']}/reject", json={"reason": "  "})
    assert r.status_code == 422
    reason = "Marketing is not a research purpose under the terms."
    r = provider.http.post(f"/api/subscriptions/{sub['id']}/reject", json={"reason": reason})
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    mine = {s["id"]: s for s in buyer.http.get("/api/subscriptions").json()}
    assert mine[sub["id"]]["status"] == "rejected" and mine[sub["id"]]["reason"] == reason
    subscribers = provider.http.get("/api/subscriptions", params={"scope": "provider"}).json()
    row = next(s for s in subscribers if s["id"] == sub["id"])
    assert row["purpose"] == "research: marketing list" and row["reason"] == reason
    assert "calls" in row and row["buyer"].endswith("<rejected@example.org>")
    again = provider.http.post(f"/api/subscriptions/{sub['id']}/reject", json={"reason": reason})
    assert again.status_code == 409


def test_unverified_buyer_requests_verification_and_an_admin_grants_it(exchange):
    buyer = new_buyer(exchange.url, "researcher@uni.example")
    version = buyer.http.get("/api/products/steps/terms").json()["version"]
    body = {"product_id": "steps", "plan_id": "research", "purpose": "research: study",
            "terms_version": version}  # fmt: skip
    refused = buyer.http.post("/api/subscriptions", json=body)
    assert refused.status_code == 403 and "request verification" in refused.json()["detail"]
    bad = buyer.http.post(
        "/api/verification-requests",
        json={"organisation": "Hokkaido U", "contact": "not an address", "intended_use": "x"},
    )
    assert bad.status_code == 422 and "contact" in bad.json()["detail"]
    request = {
        "organisation": "Hokkaido University",
        "contact": "pi@uni.example",
        "intended_use": "Evaluation of the health-point programme (ethics 2027-014)",
    }
    r = buyer.http.post("/api/verification-requests", json=request)
    assert r.status_code == 201 and r.json()["status"] == "pending"
    assert buyer.http.post("/api/verification-requests", json=request).status_code == 409
    listed = _cli(exchange, "users", "verification-requests")
    assert "researcher@uni.example" in listed.stdout and "Hokkaido University" in listed.stdout
    assert (
        buyer.http.post(f"/api/verification-requests/{r.json()['id']}/approve").status_code == 403
    )
    approved = _cli(exchange, "users", "verification-requests", "--approve", r.json()["id"])
    assert approved.returncode == 0 and "approved" in approved.stdout
    assert buyer.http.get("/api/me").json()["verified"] is True
    assert buyer.http.post("/api/subscriptions", json=body).status_code == 201


def test_admin_rejects_a_verification_request_with_a_reason(exchange):
    buyer = new_buyer(exchange.url, "anonymous@example.org")
    r = buyer.http.post(
        "/api/verification-requests",
        json={"organisation": "Me", "contact": "a@example.org", "intended_use": "just curious"},
    )
    admin = Client(exchange.url).log_in(ADMIN_EMAIL)
    pending = admin.http.get("/api/verification-requests").json()
    assert r.json()["id"] in [p["id"] for p in pending]
    done = admin.http.post(
        f"/api/verification-requests/{r.json()['id']}/reject",
        json={"reason": "Name a research institution."},
    )
    assert done.status_code == 200 and done.json()["status"] == "rejected"
    mine = buyer.http.get("/api/verification-requests").json()
    assert mine[0]["reason"] == "Name a research institution."


def test_naive_datetimes_are_published_as_japan_time(exchange):
    ex = wb.connect(exchange.url, api_key=_provider_key(exchange), progress=False)
    ex.create_product(
        "clock", title="Clock", licence="CC0", attribution="me", terms=TERMS,
        entity_types=["Reading"],
    )  # fmt: skip
    frame = pd.DataFrame(
        {
            "id": ["r1", "r2"],
            "observedAt": pd.to_datetime(["2026-06-01 09:00", "2026-06-01 00:00"]),
            "checkedAt": [pd.Timestamp("2026-06-01 09:00").to_pydatetime()] * 2,
        }
    )
    ex.publish(frame, "clock", type="Reading", id_column="id")
    back = ex.entities("clock", type="Reading").to_pandas().set_index("id")
    assert back.loc["r1", "observedAt"] == pd.Timestamp("2026-06-01 00:00", tz="UTC")
    assert back.loc["r2", "observedAt"] == pd.Timestamp("2026-05-31 15:00", tz="UTC")
    assert back.loc["r1", "checkedAt"] == pd.Timestamp("2026-06-01 00:00", tz="UTC")
