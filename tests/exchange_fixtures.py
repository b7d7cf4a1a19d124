"""A small exchange for tests: one provider, three products, a few entities, a real server.

``build_exchange(data_dir)`` fills a data directory through the in-process service API (as
the seeder does); ``ExchangeServer`` runs ``workbench serve`` on it; ``Client`` is a tiny
httpx helper that signs up, logs in, subscribes and issues credentials.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx
from servers import ServerProcess

from workbench.server.exchange.service import ExchangeService

PROVIDER_EMAIL = "provider@city.sapporo.example"
ADMIN_EMAIL = "admin@exchange.example"
PASSWORD = "correct horse battery"


def _wards(n: int = 10) -> list[dict]:
    return [
        {
            "id": f"urn:ngsi-ld:AdministrativeArea:{i:02d}",
            "type": "AdministrativeArea",
            "name": {"type": "Text", "value": f"Ward {i}"},
            "population": {"type": "Integer", "value": 100000 + i},
            "location": {
                "type": "geo:json",
                "value": {"type": "Point", "coordinates": [141.35 + i / 100, 43.06]},
            },
            "dateObserved": {"type": "DateTime", "value": "2026-10-01T00:00:00Z"},
        }
        for i in range(1, n + 1)
    ]


@dataclass
class Seeded:
    provider_org: str
    provider_id: str
    admin_id: str


def build_exchange(data_dir: Path) -> Seeded:
    """Create the test catalog under ``data_dir`` with the in-process service API."""
    svc = ExchangeService.open(data_dir)
    org = svc.create_organization("Sapporo City", description="Open data of Sapporo")
    provider = svc.create_account(
        PROVIDER_EMAIL, PASSWORD, name="City data team", role="provider", organization_id=org
    )
    admin = svc.create_account(ADMIN_EMAIL, PASSWORD, name="Admin", role="admin")
    common = dict(
        organization_id=org,
        licence="CC BY 4.0",
        attribution="Sapporo City",
        update_frequency="yearly",
    )
    svc.create_product(
        id="wards",
        title="Sapporo wards",
        description="The ten wards with population",
        service="wards",
        entity_types=["AdministrativeArea"],
        documentation="GET /v2/entities?type=AdministrativeArea",
        tutorial="wb.query('wards')",
        preview_size=3,
        **common,
    )
    svc.create_plan("wards", id="free", name="Free", kind="free", rate_limit_per_s=1000)
    svc.create_plan(
        "wards", id="metered", name="Metered", kind="metered", price_per_1000_calls=1500
    )
    svc.create_plan(
        "wards", id="tiny", name="Tiny", kind="free", monthly_quota=30, rate_limit_per_s=1000
    )
    svc.create_plan("wards", id="slow", name="Slow", kind="free", rate_limit_per_s=5)
    svc.publish_terms(
        "wards",
        version="2026-11",
        text="Use for public-interest analysis.",
        permitted_purposes=["research", "planning"],
        prohibitions=["re-identification", "resale"],
    )
    svc.create_product(
        id="stations",
        title="Subway stations",
        description="Stations of the subway",
        service="stations",
        entity_types=["TransitStop"],
        **common,
    )
    svc.create_plan("stations", id="free", name="Free", kind="free")
    svc.publish_terms(
        "stations", version="1", text="Open.", permitted_purposes=["any"], prohibitions=[]
    )
    svc.create_product(
        id="steps",
        title="Health-point daily steps (pseudonymised)",
        description="Individual daily steps (synthetic)",
        service="health_steps",
        entity_types=["Person"],
        restricted=True,
        synthetic=True,
        **common,
    )
    svc.create_plan("steps", id="research", name="Research", kind="monthly", monthly_fee=5000)
    svc.publish_terms(
        "steps",
        version="v1",
        text="Research only.",
        permitted_purposes=["research"],
        prohibitions=["re-identification"],
    )
    svc.broker.batch_update("wards", "/", "append", _wards())
    svc.broker.batch_update(
        "stations",
        "/",
        "append",
        [{"id": "S1", "type": "TransitStop", "name": {"type": "Text", "value": "Odori"}}],
    )
    svc.refresh_quality("wards")
    svc.close()
    return Seeded(org, provider, admin)


class ExchangeServer(ServerProcess):
    """``workbench serve`` on a built data directory."""

    def __init__(self, data_dir: Path, **kw) -> None:
        super().__init__(["serve", "--data-dir", str(data_dir)], **kw)
        self.data_dir = data_dir


class Client:
    """A user of the exchange API (httpx, bearer log-in token)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=30)
        self.token: str | None = None

    def sign_up(self, email: str, *, name: str = "Buyer", password: str = PASSWORD) -> dict:
        r = self.http.post(
            "/api/accounts", json={"email": email, "password": password, "name": name}
        )
        assert r.status_code == 201, r.text
        return r.json()

    def log_in(self, email: str, password: str = PASSWORD) -> Client:
        r = self.http.post("/api/login", json={"email": email, "password": password})
        assert r.status_code == 200, r.text
        self.token = r.json()["access_token"]
        self.http.cookies.clear()
        self.http.headers["Authorization"] = f"Bearer {self.token}"
        return self

    def subscribe(self, product_id: str, plan_id: str, purpose: str = "research") -> dict:
        version = self.http.get(f"/api/products/{product_id}/terms").json()["version"]
        r = self.http.post(
            "/api/subscriptions",
            json={
                "product_id": product_id,
                "plan_id": plan_id,
                "purpose": purpose,
                "terms_version": version,
            },
        )
        assert r.status_code == 201, r.text
        return r.json()

    def api_key(self) -> str:
        r = self.http.post("/api/credentials", json={"kind": "api_key", "label": "test"})
        assert r.status_code == 201, r.text
        return r.json()["api_key"]

    def oauth_client(self) -> tuple[str, str]:
        r = self.http.post("/api/credentials", json={"kind": "oauth_client", "label": "nb"})
        assert r.status_code == 201, r.text
        return r.json()["client_id"], r.json()["client_secret"]

    def close(self) -> None:
        self.http.close()


def new_buyer(url: str, email: str) -> Client:
    """Sign up and log in a new buyer."""
    client = Client(url)
    client.sign_up(email)
    return client.log_in(email)
