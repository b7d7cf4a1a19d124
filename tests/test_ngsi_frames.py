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


def _point(x: float, y: float) -> dict:
    """A GeoJSON Point."""
    return {"type": "Point", "coordinates": [x, y]}


def test_point_pages_and_other_geometries_make_one_geometry_column():
    from workbench.ngsi._frames import FrameBuilder

    builder = FrameBuilder(key_values_types={"location": "geo:json"})
    builder.add([{"id": "a", "type": "T", "location": _point(1, 2)}, {"id": "b", "type": "T"}])
    square = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}
    builder.add([{"id": "c", "type": "T", "location": square}])
    builder.add([{"id": "d", "type": "T", "location": _point(3, 4)}])
    geoms = builder.frame()["location"].tolist()
    assert geoms[0].equals(shapely.Point(1, 2)) and geoms[1] is None
    assert geoms[2].geom_type == "Polygon" and geoms[3].equals(shapely.Point(3, 4))
    only_points = FrameBuilder(key_values_types={"location": "geo:json"})
    only_points.add([{"id": "a", "type": "T", "location": _point(1, 2)}, {"id": "b", "type": "T"}])
    only_points.add([{"id": "c", "type": "T", "location": _point(5, 6)}])
    geoms = only_points.frame()["location"].tolist()
    assert geoms[0].equals(shapely.Point(1, 2)) and geoms[1] is None
    assert geoms[2].equals(shapely.Point(5, 6))


def test_a_point_column_with_other_types_keeps_the_decoded_values():
    entities = [
        {"id": "a", "type": "T", "where": {"type": "geo:json", "value": _point(1.5, 2.5)}},
        {"id": "b", "type": "T", "where": {"type": "Text", "value": "unknown"}},
    ]
    from workbench.ngsi._frames import FrameBuilder

    builder = FrameBuilder()
    builder.add(entities[:1])
    builder.add(entities[1:])
    assert builder.frame()["where"].tolist() == [_point(1.5, 2.5), "unknown"]


def test_text_columns_with_non_strings_convert_like_pandas():
    from workbench.ngsi._types import strings_to_array

    mixed = ["a", None, 5, float("nan")]
    assert list(strings_to_array(mixed)) == list(pd.array(mixed, dtype="string"))
    plain = strings_to_array(["a", None])
    assert plain.dtype == pd.StringDtype() and list(plain) == ["a", pd.NA]
