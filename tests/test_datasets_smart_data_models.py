"""Frames → NGSI v2 entities that an Orion-compatible broker accepts."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from shapely.geometry import Point

from workbench.datasets import smart_data_models as sdm
from workbench.datasets.facilities import load_facilities
from workbench.datasets.health_points import aggregate_health_points, generate_health_points
from workbench.datasets.pedestrians import generate_pedestrian_counts
from workbench.datasets.population import load_small_area_population, load_ward_population
from workbench.datasets.ridership import generate_ridership
from workbench.datasets.small_areas import load_small_areas
from workbench.datasets.transit import load_stations, load_subway_lines
from workbench.datasets.wards import load_wards
from workbench.server.broker import Broker, open_store

ORION_ID = re.compile(r"^[^\x00-\x20\x7f<>\"'=;()&?/#]{1,256}$")


@pytest.fixture()
def broker():
    store = open_store(":memory:")
    yield Broker(store)
    store.close()


def test_attribute_types():
    assert sdm.attribute(3) == {"type": "Number", "value": 3}
    assert sdm.attribute(True) == {"type": "Boolean", "value": True}
    assert sdm.attribute(pd.Timestamp("2024-06-01")) == {
        "type": "DateTime", "value": "2024-06-01T00:00:00.000Z"}
    assert sdm.attribute(float("nan")) == {"type": "None", "value": None}
    assert sdm.attribute(pd.NA, ngsi_type="Number") == {"type": "Number", "value": None}
    assert sdm.attribute(Point(141.35, 43.06)) == {
        "type": "geo:json", "value": {"type": "Point", "coordinates": [141.35, 43.06]}}
    assert sdm.attribute(["a"]) == {"type": "StructuredValue", "value": ["a"]}


def test_open_data_entities_load_into_the_broker(broker):
    stations = load_stations()
    entities = (
        sdm.ward_entities(load_wards())
        + sdm.population_entities(load_ward_population(include_city=True))
        + sdm.station_entities(stations)
        + sdm.subway_line_entities(load_subway_lines(), stations)
        + sdm.facility_entities(load_facilities())
    )
    assert all(ORION_ID.match(e["id"]) for e in entities)
    assert len({e["id"] for e in entities}) == len(entities)
    broker.batch_update("t", "/", "append", entities)
    wards, total = broker.query_entities(
        "t", "/", {"type": "AdministrativeArea", "options": "count,keyValues"})
    assert total == 11
    city = [e for e in wards if e["areaCode"] == "01100"][0]
    assert city["population"] == 1_973_395 and city["location"]["type"] == "Polygon"
    assert "e-Stat" in city["source"]
    near, _ = broker.query_entities("t", "/", {
        "type": "PointOfInterest", "georel": "near;maxDistance:1000",
        "geometry": "point", "coords": "43.0687,141.3508", "options": "count"})
    assert near  # facilities around Sapporo Station: geo-queries work on the locations


def test_small_areas_have_unique_ids_and_age_bands():
    entities = sdm.small_area_entities(load_small_areas(),
                                       load_small_area_population(years=[2020]))
    assert len({e["id"] for e in entities}) == len(entities) == 5781
    with_bands = [e for e in entities if "population65Plus" in e]
    assert len(with_bands) / len(entities) > 0.9
    assert sum(e["population"]["value"] for e in entities) == 1_973_395


def test_station_and_route_refs_point_at_each_other():
    stations = load_stations()
    stops = {e["id"]: e for e in sdm.station_entities(stations)}
    routes = sdm.subway_line_entities(load_subway_lines(), stations)
    for route in routes:
        refs = route["refPublicTransportStops"]["value"]
        assert refs and all(r in stops for r in refs)
        assert all(route["id"] in stops[r]["refPublicTransportRoute"]["value"] for r in refs)
    assert stops[sdm.entity_id("PublicTransportStop", "N07")]["transportationType"]["value"] == 1


def test_ridership_history_is_queryable_per_station(broker):
    result = generate_ridership(start="2024-05-25", end="2024-06-05")
    static, history = sdm.ridership_entities(result)
    assert len(history) == 49 * 12
    broker.batch_update("r", "/", "append", static)
    broker.batch_update("r", "/", "append", history)
    body, _ = broker.history_attr("r", "/", sdm.entity_id("RidershipObserved", "N06"),
                                  "peopleCount", {})
    expected = result.daily[result.daily["station_code"] == "N06"]["boardings"].tolist()
    assert body["values"] == expected
    assert body["index"][0] == "2024-05-25T00:00:00.000Z"


def test_pedestrian_history_keeps_the_real_instant():
    counts = generate_pedestrian_counts(start="2024-06-01", end="2024-06-01")
    static, history = sdm.pedestrian_entities(counts)
    assert len(static) == 8 and static[0]["type"] == "CrowdFlowObserved"
    first = history[0]["dateObserved"]["value"]
    assert first == "2024-06-01T00:00:00.000+09:00"


def test_daily_pedestrian_history_is_one_date_labelled_total_per_sensor_and_day():
    counts = generate_pedestrian_counts(start="2024-06-01", end="2024-06-02")
    static, history = sdm.pedestrian_daily_entities(counts)
    assert [e["id"] for e in static] == [e["id"] for e in sdm.pedestrian_entities(counts)[0]]
    assert len(history) == 8 * 2
    first = history[0]
    assert first["dateObserved"]["value"] == "2024-06-01T00:00:00.000Z"
    sensor = first["id"].rsplit(":", 1)[1]
    hourly = counts.hourly
    day = hourly[(hourly["sensor_id"] == sensor) & (hourly["time"].dt.day == 1)]
    assert first["peopleCount"] == {"type": "Number", "value": int(day["count"].sum())}


def test_health_entities_keep_suppressed_cells_as_nulls(broker):
    result = generate_health_points(n_participants=300, n_comparison=300,
                                    start="2024-01-01", end="2024-03-31")
    people, monthly = sdm.health_individual_entities(result)
    assert len(people) == 600 and len(monthly) == 600 * 3
    static, history = sdm.health_aggregate_entities(aggregate_health_points(result))
    assert all(ORION_ID.match(e["id"]) for e in static)
    hidden = [h for h in history if h["suppressed"]["value"]]
    assert hidden and all(h["personCount"] == {"type": "Number", "value": None} for h in hidden)
    broker.batch_update("h", "/", "append", static + history)
