"""``workbench seed``: products, demo accounts and credentials in a data directory."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
import time

import httpx
import pandas as pd
import pytest
from servers import ServerProcess

from workbench.server.seed import is_seeded, seed

SMALL = dict(products=["sapporo-wards", "sapporo-rail", "subway-ridership",
                       "city-centre-pedestrians-daily", "health-points-aggregate",
                       "health-points-individual"],
             n_participants=600, n_comparison=600, progress=lambda line: None)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("seed")
    report = seed(data_dir, **SMALL)
    return data_dir, report


def test_report_counts_what_was_loaded(seeded):
    data_dir, report = seeded
    assert is_seeded(data_dir) and report["skipped"] is False
    products = report["products"]
    assert products["sapporo-wards"]["entities"] == 11 + 308
    assert products["subway-ridership"]["history_updates"] == 49 * 1096
    assert products["city-centre-pedestrians-daily"]["entities"] == 8
    assert products["city-centre-pedestrians-daily"]["history_updates"] == 8 * 731
    assert products["health-points-individual"]["entities"] == 1200
    assert products["health-points-aggregate"]["quality"]["entity_count"] > 0
    assert json.loads((data_dir / "seed-report.json").read_text())["seconds"] > 0


def test_credentials_file_is_private_and_lists_every_demo_account(seeded):
    data_dir, _ = seeded
    path = data_dir / "demo-credentials.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    accounts = {a["role"]: a for a in json.loads(path.read_text())["accounts"]}
    assert {"planner", "researcher", "trainer", "provider", "public"} <= set(accounts)
    for account in accounts.values():
        assert account["api_key"] and account["client_id"] and account["client_secret"]
    assert "researcher" in (data_dir / "demo-credentials.md").read_text()


def test_seeding_again_is_a_no_op_and_force_reseeds(seeded, tmp_path):
    data_dir, report = seeded
    started = time.perf_counter()
    again = seed(data_dir, **SMALL)
    assert again["skipped"] is True and time.perf_counter() - started < 2
    small = seed(tmp_path, products=["sapporo-rail"], progress=lambda line: None)
    keys = json.loads((tmp_path / "demo-credentials.json").read_text())
    redo = seed(tmp_path, products=["sapporo-rail"], force=True, progress=lambda line: None)
    assert list(small["products"]) == list(redo["products"]) == ["sapporo-rail"]
    assert json.loads((tmp_path / "demo-credentials.json").read_text()) != keys


def test_an_exchange_not_made_by_seed_is_not_overwritten(tmp_path):
    (tmp_path / "exchange.db").write_bytes(b"")
    with pytest.raises(RuntimeError, match="--force"):
        seed(tmp_path, products=["sapporo-rail"], progress=lambda line: None)


def test_missing_sample_data_is_reported_before_anything_is_written(tmp_path):
    with pytest.raises(FileNotFoundError, match="WORKBENCH_SAMPLE_DATA"):
        seed(tmp_path / "d", sample_data=tmp_path / "none", progress=lambda line: None)
    assert not (tmp_path / "d").exists()


def test_cli_reports_a_missing_sample_folder(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "workbench", "seed", "--data-dir", str(tmp_path / "d"),
         "--sample-data", str(tmp_path / "none")], capture_output=True, text=True)
    assert result.returncode == 2 and "WORKBENCH_SAMPLE_DATA" in result.stderr


def test_demo_accounts_see_what_they_should_through_the_gateway(seeded):
    data_dir, _ = seeded
    accounts = {a["role"]: a for a in
                json.loads((data_dir / "demo-credentials.json").read_text())["accounts"]}
    with ServerProcess(["serve", "--data-dir", str(data_dir)]) as server:
        def get(role, service, path="/v2/entities", **params):
            headers = {"X-API-Key": accounts[role]["api_key"], "Fiware-Service": service}
            return httpx.get(server.url + path, headers=headers, params=params, timeout=30)

        wards = get("public", "sapporo_wards", type="AdministrativeArea",
                    options="count,keyValues")
        assert wards.status_code == 200 and wards.headers["Fiware-Total-Count"] == "11"
        assert get("public", "sapporo_health_points_research").status_code == 403
        records = get("researcher", "sapporo_health_points_research", limit=1,
                      options="keyValues")
        assert records.status_code == 200 and records.json()[0]["synthetic"] is True
        series = get("trainer", "sapporo_subway_ridership",
                     "/ql/v2/entities/urn:ngsi-ld:RidershipObserved:sapporo:N07/attrs/peopleCount",
                     lastN=7)
        assert series.status_code == 200 and len(series.json()["values"]) == 7
        sensors = get("public", "sapporo_pedestrian_counts_daily", type="CrowdFlowObserved",
                      options="count,keyValues")
        assert sensors.status_code == 200 and sensors.headers["Fiware-Total-Count"] == "8"
        assert all(s["synthetic"] is True for s in sensors.json())
        daily = get("public", "sapporo_pedestrian_counts_daily",
                    "/ql/v2/entities/urn:ngsi-ld:CrowdFlowObserved:sapporo:chikaho-kita2"
                    "/attrs/peopleCount", lastN=7)
        assert daily.status_code == 200 and len(daily.json()["values"]) == 7
        token = httpx.post(server.url + "/oauth2/token", data={
            "grant_type": "client_credentials", "client_id": accounts["planner"]["client_id"],
            "client_secret": accounts["planner"]["client_secret"]}, timeout=30)
        assert token.status_code == 200
        product = httpx.get(server.url + "/api/products/health-points-aggregate",
                            timeout=30).json()
        assert product["synthetic"] is True and "SYNTHETIC" in product["documentation"]
        assert "札幌市" in product["attribution"]
        assert "+1,800 steps a day" in product["documentation"]


def test_full_seed_publishes_every_product_with_quality(seeded_exchange):
    """The full default seed (shared with the notebook tests through ``seeded_exchange``)."""
    from workbench.datasets.catalog import PRODUCTS

    report = json.loads((seeded_exchange.data_dir / "seed-report.json").read_text())
    assert set(report["products"]) == {p.id for p in PRODUCTS}
    products = {p["id"]: p for p in httpx.get(seeded_exchange.url + "/api/products",
                                              timeout=30).json()}
    for spec in PRODUCTS:
        product = products[spec.id]
        assert product["synthetic"] is spec.synthetic and product["attribution"]
        assert product["quality"]["entity_count"] > 0
        if spec.synthetic:
            assert "SYNTHETIC" in product["title"]


def test_daily_pedestrian_product_equals_the_hourly_product_summed_by_day(seeded_exchange):
    """Through the gateway: the open daily totals agree with the commercial hourly counts."""
    accounts = {a["role"]: a for a in seeded_exchange.credentials["accounts"]}

    def series(role, service, **params):
        path = "/ql/v2/entities/urn:ngsi-ld:CrowdFlowObserved:sapporo:ekimae-ground-kita2"
        headers = {"X-API-Key": accounts[role]["api_key"], "Fiware-Service": service}
        response = httpx.get(seeded_exchange.url + path + "/attrs/peopleCount",
                             headers=headers, params=params, timeout=30)
        assert response.status_code == 200, response.text
        body = response.json()
        return pd.Series(body["values"], index=pd.to_datetime(body["index"], utc=True))

    daily = series("public", "sapporo_pedestrian_counts_daily",
                   fromDate="2024-06-01T00:00:00Z", toDate="2024-06-07T00:00:00Z")
    hourly = series("planner", "sapporo_pedestrian_counts",  # Japan days 1-7 June
                    fromDate="2024-05-31T15:00:00Z", toDate="2024-06-07T14:59:59Z")
    assert len(daily) == 7 and len(hourly) == 7 * 24
    by_day = hourly.groupby(hourly.index.tz_convert("Asia/Tokyo").date).sum()
    assert by_day.tolist() == daily.tolist()
    assert list(by_day.index) == list(daily.index.date)
    public = {"X-API-Key": accounts["public"]["api_key"],
              "Fiware-Service": "sapporo_pedestrian_counts"}
    assert httpx.get(seeded_exchange.url + "/v2/entities", headers=public,
                     timeout=30).status_code == 403  # the hourly counts stay commercial
