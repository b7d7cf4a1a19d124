"""NGSI geometries <-> shapely, with the latitude/longitude order handled.

GeoJSON (``geo:json``) is longitude-first, like shapely (x = longitude, y = latitude). The
simple location format (``geo:point``, ``geo:line``, ``geo:polygon``, ``geo:box``) and the
``coords`` query parameter are *latitude*-first (``"43.06, 141.35"``). This module is the only
place that swaps them. Points are built vectorised (``shapely.points`` over a coordinate
array); other GeoJSON geometries go through ``shapely.from_geojson`` in one call.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
import shapely
from shapely.geometry.base import BaseGeometry

GEO_TYPES = frozenset({"geo:json", "geo:point", "geo:line", "geo:polygon", "geo:box"})
CRS = "EPSG:4326"


def is_geometry(value: Any) -> bool:
    return isinstance(value, BaseGeometry)


def geometries_from_values(values: list[Any], ngsi_type: str) -> np.ndarray:
    """Shapely geometries (``None`` where missing) from NGSI geo attribute values."""
    if ngsi_type == "geo:point":
        return _points_from_latlon_strings(values)
    if ngsi_type in ("geo:line", "geo:polygon", "geo:box"):
        return np.array([_simple_location(v, ngsi_type) for v in values], dtype=object)
    return _from_geojson(values)


def _from_geojson(values: list[Any]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    present = [i for i, v in enumerate(values) if v is not None]
    if not present:
        return out
    if all(values[i].get("type") == "Point" for i in present):
        raw = [values[i]["coordinates"] for i in present]
        try:
            coords = np.array(raw, dtype="float64")[:, :2]
        except ValueError:  # a mix of 2D and 3D positions
            coords = np.array([c[:2] for c in raw], dtype="float64")
        points = shapely.points(coords)
    else:
        points = shapely.from_geojson([orjson.dumps(values[i]) for i in present])
    if len(present) == len(values):
        return points
    out[present] = points
    return out


def _points_from_latlon_strings(values: list[Any]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    present = [i for i, v in enumerate(values) if v is not None]
    if present:
        latlon = np.array([values[i].split(",") for i in present], dtype="float64")
        out[present] = shapely.points(latlon[:, 1], latlon[:, 0])
    return out


def _latlon_pairs(items: list[str]) -> list[tuple[float, float]]:
    pairs = [tuple(float(x) for x in item.split(",")) for item in items]
    return [(lon, lat) for lat, lon in pairs]


def _simple_location(value: Any, ngsi_type: str) -> BaseGeometry | None:
    if value is None:
        return None
    xy = _latlon_pairs(value)
    if ngsi_type == "geo:line":
        return shapely.LineString(xy)
    if ngsi_type == "geo:box":
        (x1, y1), (x2, y2) = xy
        return shapely.box(min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))
    return shapely.Polygon(xy)


def geometries_to_geojson(geometries: np.ndarray) -> list[Any]:
    """GeoJSON dicts (``None`` where missing or empty) for an array of shapely geometries."""
    geoms = np.asarray(geometries, dtype=object)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    type_ids = shapely.get_type_id(geoms)
    if (missing | (type_ids == 0)).all():
        x = shapely.get_x(geoms).tolist()
        y = shapely.get_y(geoms).tolist()
        return [
            None if m else {"type": "Point", "coordinates": [xi, yi]}
            for xi, yi, m in zip(x, y, missing.tolist(), strict=True)
        ]
    text = shapely.to_geojson(geoms)
    return [None if m else orjson.loads(t) for t, m in zip(text, missing.tolist(), strict=True)]


def query_geometry(geometry: Any) -> tuple[str, str]:
    """NGSI ``geometry`` and ``coords`` query parameters for a shapely geometry.

    Parameters
    ----------
    geometry : shapely Point, LineString, Polygon (or a box from ``shapely.box``)
        In longitude/latitude (EPSG:4326, x = longitude), as shapely and GeoPandas use.

    Returns
    -------
    (geometry, coords) : tuple of str
        E.g. ``("point", "43.0621,141.3544")`` -- latitude first, as NGSI v2 requires.
    """
    if not is_geometry(geometry):
        raise TypeError(
            f"geometry must be a shapely Point, LineString or Polygon, got {type(geometry)!r}; "
            "or pass the NGSI strings yourself as geometry='point', coords='lat,lon'"
        )
    kind = geometry.geom_type
    if kind == "Point":
        coords = [geometry.coords[0]]
        name = "point"
    elif kind == "LineString":
        coords = list(geometry.coords)
        name = "line"
    elif kind == "Polygon":
        coords = list(geometry.exterior.coords)
        name = "polygon"
    else:
        raise ValueError(
            f"NGSI v2 geo-queries take a Point, LineString or Polygon, not a {kind}; "
            "use .convex_hull or .envelope to turn it into a Polygon"
        )
    return name, ";".join(f"{xy[1]:.7f},{xy[0]:.7f}" for xy in coords)
