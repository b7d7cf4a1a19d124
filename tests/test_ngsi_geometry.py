"""Geometry: GeoJSON and the latitude-first simple location format <-> shapely."""

import numpy as np
import pytest
import shapely

from workbench.ngsi import geometries_from_values, geometries_to_geojson, query_geometry


def test_geojson_points_keep_longitude_as_x():
    geoms = geometries_from_values(
        [{"type": "Point", "coordinates": [141.35, 43.06]}, None], "geo:json"
    )
    assert geoms[0].x == 141.35 and geoms[0].y == 43.06
    assert geoms[1] is None


def test_geo_point_strings_are_latitude_first():
    (p,) = geometries_from_values(["43.06, 141.35"], "geo:point")
    assert (p.x, p.y) == (141.35, 43.06)


def test_mixed_geojson_geometries_are_parsed():
    poly = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}
    pt = {"type": "Point", "coordinates": [2, 3]}
    geoms = geometries_from_values([poly, pt], "geo:json")
    assert geoms[0].geom_type == "Polygon" and geoms[1].equals(shapely.Point(2, 3))


def test_simple_location_polygon_and_box_swap_to_lon_lat():
    (box,) = geometries_from_values([["43.0, 141.0", "43.1, 141.2"]], "geo:box")
    assert box.bounds == (141.0, 43.0, 141.2, 43.1)


def test_shapely_to_geojson_round_trips():
    geoms = np.array([shapely.Point(141.3, 43.1), None, shapely.box(0, 0, 1, 1)], dtype=object)
    back = geometries_from_values(geometries_to_geojson(geoms), "geo:json")
    assert back[0].equals(geoms[0]) and back[1] is None and back[2].equals(geoms[2])


def test_query_geometry_emits_latitude_first_coords():
    assert query_geometry(shapely.Point(141.35, 43.06)) == ("point", "43.0600000,141.3500000")
    name, coords = query_geometry(shapely.box(141.0, 43.0, 141.1, 43.1))
    assert name == "polygon"
    assert coords.split(";")[0].startswith("43.0")


def test_query_geometry_rejects_multipart_with_advice():
    with pytest.raises(ValueError, match="convex_hull"):
        query_geometry(shapely.MultiPoint([(0, 0), (1, 1)]))
