"""The CKAN-compatible catalog API, browsed with ``ckanapi.RemoteCKAN``."""

from __future__ import annotations

import ckanapi
import httpx
import pytest
from exchange_fixtures import ExchangeServer, build_exchange


@pytest.fixture(scope="module")
def exchange(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("ckan")
    build_exchange(data_dir)
    with ExchangeServer(data_dir) as server:
        yield server


@pytest.fixture(scope="module")
def ckan(exchange):
    with ckanapi.RemoteCKAN(exchange.url, user_agent="workbench-tests") as remote:
        yield remote


def test_ckanapi_lists_and_shows_products(ckan, exchange):
    assert ckan.action.package_list() == ["stations", "steps", "wards"]
    pkg = ckan.action.package_show(id="wards")
    assert pkg["title"] == "Sapporo wards" and pkg["license_title"] == "CC BY 4.0"
    assert pkg["organization"]["title"] == "Sapporo City"
    [resource] = pkg["resources"]
    assert resource["format"] == "NGSI v2" and resource["url"] == exchange.url + "/v2/entities"
    extras = {e["key"]: e["value"] for e in pkg["extras"]}
    assert extras["fiware_service"] == "wards" and extras["entity_count"] == "10"
    steps = ckan.action.package_show(id="steps")
    assert {"name": "synthetic"} in steps["tags"]


def test_ckanapi_searches_and_lists_organizations(ckan):
    found = ckan.action.package_search(q="subway")
    assert found["count"] == 1 and found["results"][0]["name"] == "stations"
    assert ckan.action.package_search(q="*:*", rows=2)["count"] == 3
    assert len(ckan.action.package_search(rows=2)["results"]) == 2
    [org_id] = ckan.action.organization_list()
    assert ckan.action.organization_list(all_fields=True)[0]["title"] == "Sapporo City"
    assert len(ckan.action.organization_show(id=org_id)["packages"]) == 3


def test_unknown_package_is_ckan_not_found(ckan, exchange):
    with pytest.raises(ckanapi.NotFound):
        ckan.action.package_show(id="nope")
    r = httpx.get(exchange.url + "/api/3/action/package_show", params={"id": "nope"})
    assert r.status_code == 404 and r.json()["success"] is False
