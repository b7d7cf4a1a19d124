"""The client against a real ``workbench serve``: catalog, subscribe, API keys and OAuth,
typed errors from the gateway and the exchange API, provenance and usage."""

from __future__ import annotations

import asyncio

import pytest
from servers import ServerProcess
from test_client_query import sample_frame

import workbench.client as wbc


@pytest.fixture(scope="module")
def exchange(tmp_path_factory):
    """An exchange with one product (service ``busstops``), a provider and two buyers."""
    from workbench.server.exchange.service import ExchangeService

    data_dir = tmp_path_factory.mktemp("client-exchange")
    svc = ExchangeService.open(data_dir)
    org = svc.create_organization("City of Sapporo")
    provider = svc.create_account(
        "prov@city.example", "provider-pass-123", name="P", role="provider", organization_id=org
    )
    buyer = svc.create_account("buyer@uni.example", "buyer-pass-123", name="B", role="buyer")
    stranger = svc.create_account("x@uni.example", "stranger-pass-123", name="X", role="buyer")
    svc.create_product(
        id="bus-stops", organization_id=org, title="Bus stops", description="All bus stops",
        service="busstops", entity_types=["BusStop"], licence="CC BY 4.0",
        attribution="City of Sapporo", update_frequency="monthly",
    )  # fmt: skip
    svc.create_plan("bus-stops", id="free", name="Free", kind="free")
    svc.publish_terms(
        "bus-stops", version="1", text="Research only.", permitted_purposes=["research"],
        prohibitions=["resale"],
    )  # fmt: skip
    svc.subscribe(provider, "bus-stops", "free", purpose="publishing", terms_version="1")
    creds = {
        "provider": svc.issue_api_key(provider, label="t")[1],
        "buyer": svc.issue_api_key(buyer, label="t")[1],
        "oauth": svc.issue_oauth_client(provider, label="t"),  # subscribed
        "stranger": svc.issue_api_key(stranger, label="t")[1],
    }
    svc.close()
    with ServerProcess(["serve", "--data-dir", str(data_dir)]) as server:
        server.creds = creds
        frame = sample_frame(1200).drop(columns="type")
        wbc.connect(server.url, api_key=creds["provider"], progress=False).publish(
            frame, "bus-stops", type="BusStop", id_column="id"
        )
        yield server


def test_catalog_is_a_searchable_dataframe(exchange):
    ex = wbc.connect(exchange.url, progress=False)  # anonymous callers may read the catalog
    products = ex.products()
    assert list(products.columns[:4]) == ["id", "title", "provider", "service"]
    assert products.loc[0, "licence"] == "CC BY 4.0"
    assert len(ex.products(q="bus")) == 1 and len(ex.products(q="zzz-nothing")) == 0


def test_product_detail_has_terms_licence_quality_plans_and_preview(exchange):
    p = wbc.connect(exchange.url, api_key=exchange.creds["buyer"], progress=False).product(
        "bus-stops"
    )
    assert p.service == "busstops" and p.licence == "CC BY 4.0"
    assert p.terms_version == "1" and "research" in p.terms["permitted_purposes"]
    assert list(p.plans["id"]) == ["free"]
    assert 0 < len(p.preview) <= 10 and "id" in p.preview.columns
    assert p.preview["riders"].dtype == "Int64"  # dtypes guessed from the keyValues preview
    assert str(p.preview["updated"].dtype) == "datetime64[ns, UTC]"
    assert p.preview["location"][0].geom_type == "Point"
    assert isinstance(p.quality, dict)


def test_unknown_product_is_a_not_found_problem(exchange):
    ex = wbc.connect(exchange.url, progress=False)
    with pytest.raises(wbc.NotFoundError) as info:
        ex.product("no-such-product")
    assert isinstance(info.value, wbc.ProblemError) and info.value.detail


def test_query_needs_a_subscription_then_works_with_provenance(exchange):
    ex = wbc.connect(exchange.url, api_key=exchange.creds["buyer"], progress=False)
    with pytest.raises(wbc.PermissionDeniedError, match="No active subscription"):
        ex.entities("bus-stops").count()
    sub = ex.subscribe("bus-stops", plan="Free", purpose="research", accept_terms="1")
    assert sub["status"] == "active" and sub["terms_version"] == "1"
    assert "bus-stops" in set(ex.subscriptions()["product_id"])
    gdf = ex.entities("bus-stops", type="BusStop").to_geopandas()
    assert len(gdf) == 1200 and gdf.crs.to_epsg() == 4326
    attrs = gdf.attrs
    assert attrs["exchange_url"] == exchange.url and attrs["product"] == "bus-stops"
    assert attrs["licence"] == "CC BY 4.0" and attrs["attribution"] == "City of Sapporo"
    assert attrs["terms_version"] == "1" and attrs["entity_count"] == 1200
    assert attrs["query"] == {
        "endpoint": "/v2/entities",
        "params": {"type": "BusStop"},
        "limit": None,
        "metadata": False,
        "flatten": False,
    }
    assert attrs["retrieved_at"].endswith("Z")
    # the Fiware-Service name works as well, with the same provenance
    assert ex.entities("busstops", limit=1).to_pandas().attrs["product"] == "bus-stops"
    usage = ex.usage()
    assert usage["calls"].sum() >= 2
    assert len(ex.bills()) >= 1


def test_oauth_client_credentials_work_sync_and_async(exchange):
    client_id, secret = exchange.creds["oauth"]
    ex = wbc.connect(exchange.url, client_id=client_id, client_secret=secret, progress=False)
    assert "bus-stops" in set(ex.subscriptions()["product_id"])
    assert ex.entities("bus-stops").count() == 1200

    async def main():
        aex = wbc.connect_async(
            exchange.url, client_id=client_id, client_secret=secret, progress=False
        )
        async with aex:
            return await aex.products()

    assert "bus-stops" in set(asyncio.run(main())["id"])


def test_wrong_oauth_secret_is_an_authentication_error(exchange):
    client_id, _ = exchange.creds["oauth"]
    ex = wbc.connect(exchange.url, client_id=client_id, client_secret="wrong", progress=False)
    with pytest.raises(wbc.AuthenticationError):
        ex.entities("bus-stops").count()


def test_invalid_api_key_is_an_authentication_error_with_advice(exchange):
    ex = wbc.connect(exchange.url, api_key="wbk_not-a-key", progress=False)
    with pytest.raises(wbc.AuthenticationError, match="WORKBENCH_API_KEY") as info:
        ex.entities("bus-stops").count()
    assert info.value.status == 401 and isinstance(info.value, wbc.NgsiError)


def test_subscribing_with_old_terms_is_a_problem_with_detail(exchange):
    ex = wbc.connect(exchange.url, api_key=exchange.creds["stranger"], progress=False)
    with pytest.raises(wbc.ProblemError) as info:
        ex.subscribe("bus-stops", plan="free", purpose="research", accept_terms="0")
    assert info.value.status in (400, 409, 422) and info.value.detail


def test_a_read_only_key_from_issue_api_key_reads_but_cannot_subscribe(exchange):
    stranger = wbc.connect(exchange.url, api_key=exchange.creds["stranger"], progress=False)
    issued = stranger.issue_api_key("dashboard", scopes=["data:read"])
    assert issued["api_key"].startswith("wbk_") and issued["scopes"] == ["data:read"]
    read_only = wbc.connect(exchange.url, api_key=issued["api_key"], progress=False)
    assert len(read_only.products()) == 1  # the catalog is public
    with pytest.raises(wbc.PermissionDeniedError, match="account:manage"):
        read_only.subscribe("bus-stops", plan="free", purpose="more", accept_terms=1)
    with pytest.raises(wbc.PermissionDeniedError, match="account:manage"):
        read_only.issue_api_key("escalate")
