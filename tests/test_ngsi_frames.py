"""Entities <-> DataFrame / GeoDataFrame."""

import pandas as pd
import pytest
import shapely

from workbench.ngsi import entities_to_frame, frame_to_entities, to_geodataframe

ENTITIES = [
    {
        "id": "s1",
        "type": "Stop",
        "name": {"type": "Text", "value": "Odori", "metadata": {}},
        "location": {
            "type": "geo:json",
            "value": {"type": "Point", "coordinates": [141.35, 43.06]},
        },
        "info": {"type": "StructuredValue", "value": {"ward": "Chuo", "lines": {"n": 3}}},
        "count": {
            "type": "Number",
            "value": 5,
            "metadata": {"unit": {"type": "Text", "value": "persons"}},
        },
    },
    {"id": "s2", "type": "Stop", "name": {"type": "Text", "value": "Susukino"}},
]


def test_columns_are_id_type_then_attributes_in_order_of_appearance():
    df = entities_to_frame(ENTITIES)
    assert list(df.columns) == ["id", "type", "name", "location", "info", "count"]
    assert df["count"].dtype == "Int64" and pd.isna(df["count"][1])


def test_flatten_expands_structured_values_into_dotted_columns():
    df = entities_to_frame(ENTITIES, flatten=True)
    assert {"info.ward", "info.lines.n"} <= set(df.columns)
    assert df.loc[0, "info.ward"] == "Chuo"


def test_metadata_on_request_adds_typed_columns():
    df = entities_to_frame(ENTITIES, metadata=True)
    assert df["count.metadata.unit"].dtype == pd.StringDtype()
    assert "count.metadata.unit" not in entities_to_frame(ENTITIES).columns


def test_empty_result_keeps_known_columns_and_dtypes():
    df = entities_to_frame([], attr_types={"count": "Number", "when": "DateTime"})
    assert list(df.columns) == ["id", "type", "count", "when"]
    assert str(df["when"].dtype) == "datetime64[ns, UTC]"


def test_geodataframe_uses_location_in_epsg_4326():
    gdf = to_geodataframe(entities_to_frame(ENTITIES))
    assert gdf.crs.to_epsg() == 4326 and gdf.geometry.name == "location"
    assert gdf.geometry[0].equals(shapely.Point(141.35, 43.06)) and gdf.geometry[1] is None


def test_geodataframe_without_geometry_explains_what_to_do():
    with pytest.raises(ValueError, match="to_pandas"):
        to_geodataframe(entities_to_frame([{"id": "a", "type": "T"}]))


def test_frame_to_entities_skips_missing_values():
    df = entities_to_frame(ENTITIES)
    ents = frame_to_entities(df, type=None)
    assert ents[1] == {"id": "s2", "type": "Stop", "name": {"type": "Text", "value": "Susukino"}}
    assert ents[0]["location"]["type"] == "geo:json"
    assert ents[0]["count"] == {"type": "Number", "value": 5}


def test_frame_to_entities_requires_the_id_column():
    with pytest.raises(KeyError, match="id_column"):
        frame_to_entities(pd.DataFrame({"x": [1]}), type="T", id_column="code")
