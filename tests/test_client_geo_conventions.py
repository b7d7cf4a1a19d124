"""Frames with geometries keep GeoPandas conventions: ``.geometry``, an active column, EPSG:4326.

Against a real broker: sensors that move are published with their locations on three days,
then read back as current entities (fresh and from the on-disk cache) and as history.
"""

from __future__ import annotations

import uuid

import geopandas as gpd
import pandas as pd
import pytest
import shapely

import workbench.client as wbc


@pytest.fixture(scope="module")
def sensors(broker):
    ex = wbc.connect(broker.url, service="g" + uuid.uuid4().hex[:10], progress=False)
    for day in range(1, 4):
        frame = gpd.GeoDataFrame(
            {
                "id": ["s1", "s2"],
                "count": [10 * day, 20 * day],
                "dateObserved": pd.to_datetime([f"2024-06-0{day}T00:00:00Z"] * 2, utc=True),
            },
            geometry=[shapely.Point(141.35 + day / 100, 43.06), shapely.Point(141.30, 43.0)],
            crs="EPSG:4326",
        ).rename_geometry("location")
        ex.publish(frame, type="Sensor")
    return ex


def _assert_geo(frame: pd.DataFrame) -> None:
    assert isinstance(frame, gpd.GeoDataFrame)
    assert frame.geometry.name == "location"
    assert frame.crs.to_epsg() == 4326
    assert all(isinstance(g, shapely.Point) for g in frame.geometry)


def test_to_geopandas_has_an_active_geometry_in_wgs84(sensors):
    gdf = sensors.entities(type="Sensor").to_geopandas()
    _assert_geo(gdf)
    row = gdf.set_index("id").loc["s1"]
    assert (row["location"].x, row["location"].y) == pytest.approx((141.38, 43.06))
    assert gdf.to_crs(6680).crs.to_epsg() == 6680  # usable as any GeoDataFrame


def test_to_geopandas_from_the_cache_keeps_the_conventions(broker, sensors, tmp_path):
    with wbc.connect(broker.url, service=sensors.service, cache=tmp_path, progress=False) as ex:
        fresh = ex.entities(type="Sensor").to_geopandas()
        again = ex.entities(type="Sensor").to_geopandas()
    _assert_geo(again)
    assert again.geometry.equals(fresh.geometry)


def test_history_of_a_location_is_a_geodataframe(sensors):
    h = sensors.history(entity_id="s1", attr="location")
    _assert_geo(h)
    assert [round(p.x, 2) for p in h.geometry] == [141.36, 141.37, 141.38]
    assert h.index.name == "time" and list(h["entity_id"]) == ["s1"] * 3


def test_history_of_a_whole_type_with_locations_is_a_geodataframe(sensors):
    h = sensors.history(type="Sensor")
    _assert_geo(h)
    assert len(h) == 6 and h["count"].tolist()[:2] == [10, 20]


def test_history_without_geometries_stays_a_plain_frame(sensors):
    h = sensors.history(entity_id="s1", attr="count")
    assert not isinstance(h, gpd.GeoDataFrame) and h["count"].tolist() == [10, 20, 30]
