"""Publishing frames as entities in chunks through ``/v2/op/update``."""

from __future__ import annotations

import uuid

import geopandas as gpd
import pandas as pd
import pytest
import shapely

import workbench.client as wbc


def test_publish_in_chunks_then_append_updates(broker):
    ex = wbc.connect(broker.url, service="p" + uuid.uuid4().hex[:10], progress=False)
    frame = pd.DataFrame({"code": [f"c{i}" for i in range(250)], "v": range(250)})
    assert ex.publish(frame, type="Cell", id_column="code", chunk_size=100) == {
        "entities": 250,
        "requests": 3,
    }
    assert ex.entities(type="Cell").count() == 250
    ex.publish(frame.assign(v=frame["v"] * 2).head(10), type="Cell", id_column="code")
    got = ex.entities(type="Cell", id="c9").to_pandas()
    assert got["v"].tolist() == [18] and got["id"].tolist() == ["c9"]


def test_publish_polygons_and_missing_values(broker):
    ex = wbc.connect(broker.url, service="p" + uuid.uuid4().hex[:10], progress=False)
    gdf = gpd.GeoDataFrame(
        {"id": ["a", "b"], "pop": pd.array([10, None], dtype="Int64")},
        geometry=[shapely.box(141.3, 43.0, 141.4, 43.1), shapely.Point(141.35, 43.05)],
        crs=4326,
    )
    ex.publish(gdf, type="Ward")
    got = ex.entities(type="Ward", order_by="id").to_geopandas()
    assert got.geometry.name == "geometry"
    assert got.geometry[0].equals(gdf.geometry[0]) and got.geometry[1].equals(gdf.geometry[1])
    assert got["pop"].tolist()[0] == 10 and pd.isna(got["pop"][1])


def test_publish_needs_a_type(broker):
    ex = wbc.connect(broker.url, service="p", progress=False)
    with pytest.raises(ValueError, match="type="):
        ex.publish(pd.DataFrame({"id": ["a"]}), type=None)
