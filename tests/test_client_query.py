"""Lazy queries against a real ``workbench broker``: dtypes, geometry, paging, geo-queries."""

from __future__ import annotations

import asyncio
import uuid

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from pandas.testing import assert_frame_equal

import workbench.client as wbc


def _service() -> str:
    return "t" + uuid.uuid4().hex[:12]


def sample_frame(n: int, *, seed: int = 0) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    frame = gpd.GeoDataFrame(
        {
            "id": pd.array([f"urn:ngsi:Stop:{i:06d}" for i in range(n)], dtype="string"),
            "type": pd.array(["Stop"] * n, dtype="string"),
            "riders": pd.array(rng.integers(0, 1000, n), dtype="Int64"),
            "share": rng.random(n),
            "open": pd.array(rng.random(n) > 0.5, dtype="boolean"),
            "name": pd.array([f"stop {i}" for i in range(n)], dtype="string"),
            "updated": (
                pd.Timestamp("2024-04-01", tz="UTC")
                + pd.to_timedelta(rng.integers(0, 10**7, n), unit="s")
            ).astype("datetime64[ns, UTC]"),
            "info": [{"ward": "Chuo", "lines": [1, i % 3]} for i in range(n)],
        },
        geometry=gpd.points_from_xy(141.2 + rng.random(n) / 5, 43.0 + rng.random(n) / 5),
        crs="EPSG:4326",
    )
    return frame.rename_geometry("location")


@pytest.fixture(scope="module")
def stops(broker):
    """3,500 published stops (past three page boundaries) in their own service."""
    service = _service()
    ex = wbc.connect(broker.url, service=service, progress=False)
    frame = sample_frame(3500)
    ex.publish(frame, type="Stop", id_column="id")
    return ex, frame


def _sorted(frame):
    return frame.sort_values("id").reset_index(drop=True)


def test_round_trip_gives_an_equal_geodataframe(stops):
    ex, frame = stops
    got = ex.entities(type="Stop", order_by="id").to_geopandas()
    assert_geodataframe_equal(got, frame, check_like=False)


def test_every_ngsi_type_maps_to_its_dtype(stops):
    ex, _ = stops
    df = ex.entities(type="Stop", limit=5).to_pandas()
    assert df.dtypes.astype(str).to_dict() == {
        "id": "string",
        "type": "string",
        "riders": "Int64",
        "share": "float64",
        "open": "boolean",
        "name": "string",
        "updated": "datetime64[ns, UTC]",
        "info": "object",
        "location": "object",
    }
    assert isinstance(df["location"][0], shapely.Point)


def test_query_pages_past_1000_without_repeats_in_server_order(stops):
    ex, frame = stops
    got = ex.entities(type="Stop").to_pandas()
    assert len(got) == 3500 and got["id"].is_unique
    one_by_one = pd.concat(list(ex.entities(type="Stop").pages()))
    assert_frame_equal(got.drop(columns="location"), one_by_one.drop(columns="location"))


def test_count_and_limit(stops):
    ex, _ = stops
    q = ex.entities(type="Stop", q="riders<500")
    n = q.count()
    assert 0 < n < 3500
    assert len(q.to_pandas()) == n
    assert len(ex.entities(type="Stop", limit=1200).to_pandas()) == 1200


def test_pages_iterate_lazily_in_pages_of_1000(stops):
    ex, _ = stops
    sizes = [len(page) for page in ex.entities(type="Stop")]
    assert sizes == [1000, 1000, 1000, 500]


def test_shapely_geometry_filters_with_lat_lon_handled(stops):
    ex, frame = stops
    area = shapely.box(141.2, 43.0, 141.25, 43.05)
    got = ex.entities(type="Stop", geometry=area, georel="coveredBy").to_geopandas()
    expected = frame[frame.within(area) | frame.touches(area)]
    assert set(got["id"]) == set(expected["id"]) and len(got) > 0
    centre = shapely.Point(141.3, 43.1)
    near = ex.entities(type="Stop", georel="near;maxDistance:1000", geometry=centre).to_pandas()
    utm = frame.to_crs(32654)
    c = gpd.GeoSeries([centre], crs=4326).to_crs(32654)[0]
    assert set(near["id"]) == set(frame["id"][utm.distance(c) <= 1000])


def test_attrs_and_flatten_and_metadata(stops):
    ex, _ = stops
    df = ex.entities(type="Stop", attrs=["info", "riders"], limit=3, flatten=True).to_pandas()
    assert list(df.columns) == ["id", "type", "info.ward", "info.lines", "riders"]
    md = ex.entities(type="Stop", attrs="riders", limit=3, metadata=True).to_pandas()
    assert "riders" in md.columns


def test_empty_result_keeps_columns_and_dtypes(stops):
    ex, _ = stops
    df = ex.entities(type="Stop", q="riders>100000").to_pandas()
    assert len(df) == 0
    assert {"riders", "updated", "location"} <= set(df.columns)
    assert str(df["updated"].dtype) == "datetime64[ns, UTC]"


def test_bad_query_raises_ngsi_error_with_the_brokers_description(stops):
    ex, _ = stops
    with pytest.raises(wbc.NgsiError) as info:
        ex.entities(type="Stop", q="riders==").to_pandas()
    assert info.value.status == 400 and info.value.description


def test_unknown_entity_is_not_found(broker):
    ex = wbc.connect(broker.url, service=_service(), progress=False)
    assert len(ex.entities(id="urn:none").to_pandas()) == 0
    with pytest.raises(wbc.NotFoundError):
        ex.history(entity_id="urn:none", attr="x")


def test_async_query_gives_the_same_frame(stops, broker):
    ex, _ = stops

    async def main():
        async with wbc.connect_async(broker.url, service=ex.service, progress=False) as aex:
            q = aex.entities(type="Stop")
            pages = [len(p) async for p in q]
            return await q.to_geopandas(), await q.count(), pages

    got, n, pages = asyncio.run(main())
    assert n == 3500 and pages == [1000, 1000, 1000, 500]
    assert_geodataframe_equal(_sorted(got), _sorted(ex.entities(type="Stop").to_geopandas()))


def test_plain_broker_has_no_catalog_but_queries_work(stops, broker):
    ex, _ = stops
    with pytest.raises(wbc.CatalogUnavailableError, match="plain NGSI broker"):
        ex.products()
    assert ex.entities(type="Stop").count() == 3500


def test_mixed_attribute_types_fall_back_without_losing_values(broker):
    ex = wbc.connect(broker.url, service=_service(), progress=False)
    ex.publish(pd.DataFrame({"id": ["a"], "x": [1]}), type="M")
    ex.publish(pd.DataFrame({"id": ["b"], "x": ["one"]}), type="M")
    df = ex.entities(type="M", order_by="id").to_pandas()
    assert df["x"].tolist() == [1, "one"] and df["x"].dtype == object


def test_metadata_columns_from_the_broker(broker):
    import httpx

    service = _service()
    entity = {
        "id": "s1",
        "type": "Sensor",
        "temp": {
            "type": "Number",
            "value": 21.5,
            "metadata": {
                "unit": {"type": "Text", "value": "CEL"},
                "TimeInstant": {"type": "DateTime", "value": "2024-01-01T00:00:00Z"},
            },
        },
    }
    r = httpx.post(broker.url + "/v2/entities", json=entity, headers={"Fiware-Service": service})
    assert r.status_code == 201
    ex = wbc.connect(broker.url, service=service, progress=False)
    df = ex.entities(type="Sensor", metadata=True).to_pandas()
    assert df.loc[0, "temp.metadata.unit"] == "CEL"
    assert df["temp.metadata.TimeInstant"].dtype == "datetime64[ns, UTC]"
    assert "temp.metadata.unit" not in ex.entities(type="Sensor").to_pandas().columns
