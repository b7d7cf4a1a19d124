"""The catalog as DCAT JSON-LD (``/api/catalog.jsonld``)."""

from __future__ import annotations

import httpx
import pytest
from exchange_fixtures import ExchangeServer, build_exchange


@pytest.fixture(scope="module")
def exchange(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("dcat")
    build_exchange(data_dir)
    with ExchangeServer(data_dir) as server:
        yield server


def test_the_catalog_is_published_as_dcat_data_services(exchange):
    r = httpx.get(exchange.url + "/api/catalog.jsonld")
    assert r.status_code == 200 and r.headers["content-type"] == "application/ld+json"
    catalog = r.json()
    assert catalog["@type"] == "dcat:Catalog"
    services = {s["dct:identifier"]: s for s in catalog["dcat:service"]}
    assert set(services) == {"wards", "stations", "steps"}
    wards = services["wards"]
    assert wards["@type"] == "dcat:DataService" and wards["wb:fiwareService"] == "wards"
    assert wards["dcat:endpointURL"] == exchange.url + "/v2"
    assert {"odrl:action": "resale"} in wards["odrl:hasPolicy"]["odrl:prohibition"]
    assert services["steps"]["wb:synthetic"] is True
