"""NGSI v2 model: attribute types <-> dtypes, geometry <-> shapely, entities <-> frames."""

from ._frames import entities_to_frame, frame_to_entities, geo_columns, to_geodataframe
from ._geometry import CRS, geometries_from_values, geometries_to_geojson, query_geometry
from ._types import dtype_for, series_to_values, values_to_array

__all__ = [
    "CRS",
    "dtype_for",
    "entities_to_frame",
    "frame_to_entities",
    "geo_columns",
    "geometries_from_values",
    "geometries_to_geojson",
    "query_geometry",
    "series_to_values",
    "to_geodataframe",
    "values_to_array",
]
