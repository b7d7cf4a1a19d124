"""Geometry of location attributes and Orion's geo-queries (``georel``/``geometry``/``coords``).

Geometries are GeoJSON dicts in (lon, lat) order. The store prefilters candidates with a
bounding box (R*Tree); :func:`refine` applies the exact test: haversine distances for
``near`` and shapely predicates for the others.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape

from .errors import bad_request

GEO_TYPES = frozenset({"geo:json", "geo:point", "geo:line", "geo:box", "geo:polygon"})
_GEOJSON_TYPES = frozenset(
    {"Point", "LineString", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon"}
)
EARTH_RADIUS_M = 6_371_008.8
M_PER_DEG = math.pi * EARTH_RADIUS_M / 180.0
_M_PER_DEG = M_PER_DEG


def _bad_location(why: str) -> Exception:
    return bad_request(f"error parsing location attribute: {why}")


def _latlon(text: Any) -> tuple[float, float]:
    """Parse ``"lat, lon"`` into ``(lon, lat)``."""
    if not isinstance(text, str):
        raise _bad_location("coordinates must be a 'lat, lon' string")
    parts = text.split(",")
    if len(parts) != 2:
        raise _bad_location(f"{text[:40]!r} is not 'lat, lon'")
    try:
        lat, lon = float(parts[0]), float(parts[1])
    except ValueError:
        raise _bad_location(f"{text[:40]!r} is not 'lat, lon'") from None
    _check_lonlat(lon, lat)
    return lon, lat


def _check_lonlat(lon: float, lat: float) -> None:
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0) or math.isnan(lon + lat):
        raise _bad_location(f"coordinates out of range: lat {lat}, lon {lon}")


def _check_geojson(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or value.get("type") not in _GEOJSON_TYPES:
        raise _bad_location(
            "geo:json value must be a GeoJSON geometry (Point, LineString, Polygon, "
            "MultiPoint, MultiLineString or MultiPolygon)"
        )
    coords = value.get("coordinates")
    if value["type"] == "Point":
        if (
            coords.__class__ is not list
            or len(coords) not in (2, 3)
            or any(c.__class__ not in (int, float) for c in coords)
        ):
            raise _bad_location("a Point needs [lon, lat] numbers")
        _check_lonlat(coords[0], coords[1])
        return {"type": "Point", "coordinates": [coords[0], coords[1]]}
    if _depth(coords) > 6:
        raise _bad_location("coordinates nested too deeply")
    try:
        geom = shape(value)
    except Exception as exc:  # shapely raises several types on bad input
        raise _bad_location(f"invalid {value['type']}: {str(exc)[:80]}") from None
    if geom.is_empty:
        raise _bad_location(f"empty {value['type']}")
    minx, miny, maxx, maxy = geom.bounds
    _check_lonlat(minx, miny)
    _check_lonlat(maxx, maxy)
    return {"type": value["type"], "coordinates": value["coordinates"]}


def _depth(value: Any) -> int:
    d = 0
    while isinstance(value, list) and value:
        value = value[0]
        d += 1
    return d


def attr_geometry(atype: str, value: Any) -> dict[str, Any]:
    """GeoJSON geometry of a location attribute (validated; 400 when malformed)."""
    if atype == "geo:json":
        return _check_geojson(value)
    if atype == "geo:point":
        lon, lat = _latlon(value)
        return {"type": "Point", "coordinates": [lon, lat]}
    if not isinstance(value, list) or not value:
        raise _bad_location(f"{atype} value must be a list of 'lat, lon' strings")
    pts = [list(_latlon(v)) for v in value]
    if atype == "geo:line":
        if len(pts) < 2:
            raise _bad_location("geo:line needs at least 2 points")
        return {"type": "LineString", "coordinates": pts}
    if atype == "geo:box":
        if len(pts) != 2:
            raise _bad_location("geo:box needs exactly 2 points")
        (x1, y1), (x2, y2) = pts
        ring = [[x1, y1], [x2, y1], [x2, y2], [x1, y2], [x1, y1]]
        return {"type": "Polygon", "coordinates": [ring]}
    if len(pts) < 4 or pts[0] != pts[-1]:
        raise _bad_location("geo:polygon needs at least 4 points, first equal to last")
    return {"type": "Polygon", "coordinates": [pts]}


def bounds(geometry: dict[str, Any]) -> tuple[float, float, float, float]:
    """``(minx, miny, maxx, maxy)`` of a GeoJSON geometry."""
    if geometry["type"] == "Point":
        x, y = geometry["coordinates"][:2]
        return x, y, x, y
    return shape(geometry).bounds


# --- queries -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GeoFilter:
    """A parsed geo-query. ``bbox`` is the prefilter box, ``None`` to scan every geometry."""

    georel: str
    geometry: Any  # shapely geometry (lon, lat)
    max_distance_m: float | None = None
    min_distance_m: float | None = None
    bbox: tuple[float, float, float, float] | None = None

    @property
    def point(self) -> tuple[float, float]:
        return self.geometry.x, self.geometry.y


def _parse_coords(coords: str) -> list[tuple[float, float]]:
    pts = []
    for pair in coords.split(";"):
        parts = pair.split(",")
        if len(parts) != 2:
            raise bad_request(f"invalid coords: {pair[:40]!r} is not 'lat,lon'")
        try:
            lat, lon = float(parts[0]), float(parts[1])
        except ValueError:
            raise bad_request(f"invalid coords: {pair[:40]!r} is not 'lat,lon'") from None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise bad_request(f"invalid coords: {pair[:40]!r} out of range")
        pts.append((lon, lat))
    return pts


def _distance(token: str, name: str) -> float:
    try:
        d = float(token)
    except ValueError:
        raise bad_request(f"invalid georel: {name} must be a number of metres") from None
    if not math.isfinite(d) or d < 0:
        raise bad_request(f"invalid georel: {name} must be a finite, non-negative number")
    return d


def parse_geo_query(georel: str | None, geometry: str | None, coords: str | None) -> GeoFilter:
    """Parse Orion's ``georel``, ``geometry`` and ``coords`` parameters (all three needed)."""
    if not (georel and geometry and coords):
        raise bad_request("Missing parameter: georel, geometry and coords must be used together")
    parts = georel.split(";")
    rel = parts[0]
    if rel not in ("near", "coveredBy", "intersects", "equals", "disjoint"):
        raise bad_request(
            f"Invalid georel {rel!r}: use near, coveredBy, intersects, equals or disjoint"
        )
    max_d = min_d = None
    for mod in parts[1:]:
        key, _, val = mod.partition(":")
        if key == "maxDistance" and rel == "near":
            max_d = _distance(val, key)
        elif key == "minDistance" and rel == "near":
            min_d = _distance(val, key)
        else:
            raise bad_request(f"Invalid georel modifier {mod!r}")
    pts = _parse_coords(coords)
    if geometry == "point":
        if len(pts) != 1:
            raise bad_request("geometry point needs exactly one coordinate pair")
        geom = shapely.Point(pts[0])
    elif geometry == "line":
        if len(pts) < 2:
            raise bad_request("geometry line needs at least two coordinate pairs")
        geom = shapely.LineString(pts)
    elif geometry == "box":
        if len(pts) != 2:
            raise bad_request("geometry box needs exactly two coordinate pairs")
        (x1, y1), (x2, y2) = pts
        geom = shapely.box(min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))
    elif geometry == "polygon":
        if len(pts) < 4 or pts[0] != pts[-1]:
            raise bad_request("geometry polygon needs 4+ pairs, the first equal to the last")
        geom = shapely.Polygon(pts)
    else:
        raise bad_request(f"Invalid geometry {geometry!r}: use point, line, polygon or box")
    if rel == "near":
        if geometry != "point":
            raise bad_request("georel near needs geometry=point")
        if max_d is None and min_d is None:
            raise bad_request("georel near needs maxDistance or minDistance")
        bbox = None
        if max_d is not None:
            lon, lat = pts[0]
            dlat = max_d / _M_PER_DEG
            coslat = max(math.cos(math.radians(min(abs(lat) + dlat, 89.9))), 1e-6)
            dlon = min(max_d / (_M_PER_DEG * coslat), 360.0)
            bbox = (lon - dlon, lat - dlat, lon + dlon, lat + dlat)
        return GeoFilter("near", geom, max_d, min_d, bbox)
    if rel in ("coveredBy",) and geometry not in ("polygon", "box"):
        raise bad_request("georel coveredBy needs geometry polygon or box")
    bbox = None if rel == "disjoint" else geom.bounds
    return GeoFilter(rel, geom, bbox=bbox)


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def haversine_many(origin: tuple[float, float], xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Great-circle distances in metres from ``origin`` (lon, lat) to many points."""
    lon, lat = origin
    p1 = math.radians(lat)
    p2 = np.radians(ys)
    dl = np.radians(xs - lon)
    a = np.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(a, 1.0)))


def points_match(flt: GeoFilter, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Exact predicate (not near) for many points; a boolean array."""
    pts = shapely.points(xs, ys)
    q = flt.geometry
    if flt.georel == "coveredBy":
        return shapely.covered_by(pts, q)
    if flt.georel == "intersects":
        return shapely.intersects(pts, q)
    if flt.georel == "disjoint":
        return shapely.disjoint(pts, q)
    return shapely.equals(pts, q)


def distance_m(flt: GeoFilter, geometry: dict[str, Any]) -> float:
    """Distance in metres from the query point to a geometry (exact for points)."""
    lon, lat = flt.point
    if geometry["type"] == "Point":
        x, y = geometry["coordinates"][:2]
        return haversine_m(lon, lat, x, y)
    # local equirectangular projection around the query point, then planar distance
    k = math.cos(math.radians(lat))
    geom = shape(geometry)
    projected = shapely.transform(geom, lambda c: (c - [lon, lat]) * [k * _M_PER_DEG, _M_PER_DEG])
    return projected.distance(shapely.Point(0, 0))


def matches(flt: GeoFilter, geometries: list[dict[str, Any]]) -> list[float | None] | list[bool]:
    """Exact test for each geometry: distances (``None`` = no match) for near, else booleans."""
    if flt.georel == "near":
        out: list[float | None] = []
        for g in geometries:
            d = distance_m(flt, g)
            ok = (flt.max_distance_m is None or d <= flt.max_distance_m) and (
                flt.min_distance_m is None or d >= flt.min_distance_m
            )
            out.append(d if ok else None)
        return out
    shapes = shapely.from_geojson([_dumps(g) for g in geometries]) if geometries else []
    if not len(shapes):
        return []
    q = flt.geometry
    if flt.georel == "coveredBy":
        res = shapely.covered_by(shapes, q)
    elif flt.georel == "intersects":
        res = shapely.intersects(shapes, q)
    elif flt.georel == "disjoint":
        res = shapely.disjoint(shapes, q)
    else:
        res = shapely.equals(shapes, q)
    return [bool(r) for r in res]


def _dumps(g: dict[str, Any]) -> str:
    import orjson

    return orjson.dumps(g).decode()
