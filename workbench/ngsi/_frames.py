"""NGSI v2 entities (normalized representation) <-> pandas / GeoPandas frames.

Frames are built column by column from lists (one pass per attribute), never row by row,
and point geometries from coordinate arrays, so 100,000 entities convert in well under a
second. GeoJSON points become shapely points page by page (ADR 0082), so the
decoded dicts do not outlive their page.
"""

from __future__ import annotations

import itertools
from itertools import repeat
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._geometry import CRS, GEO_TYPES
from ._types import (
    common_type,
    dtype_for,
    guess_type,
    series_to_values,
    strings_to_array,
    values_to_array,
)

_RESERVED = ("id", "type")


def entities_to_frame(
    entities: list[dict[str, Any]],
    *,
    metadata: bool = False,
    flatten: bool = False,
    attr_types: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Build a typed DataFrame from entities in NGSI v2 normalized representation.

    Parameters
    ----------
    entities : list of dict
        ``[{"id": ..., "type": ..., "<attr>": {"type", "value", "metadata"}}, ...]``.
    metadata : bool
        Add a ``<attr>.metadata.<name>`` column per metadata item.
    flatten : bool
        Expand ``StructuredValue`` dicts into dotted columns ``<attr>.<key>`` (like
        ``pandas.json_normalize``); lists stay as objects.
    attr_types : dict, optional
        Known ``{attribute: NGSI type}``: used for the columns of an empty result.

    Returns
    -------
    pandas.DataFrame
        Columns ``id``, ``type`` (string dtype), then one column per attribute in order of
        first appearance; geo attributes hold shapely geometries (object dtype).
    """
    builder = FrameBuilder(metadata=metadata)
    builder.add(entities)
    return builder.frame(flatten=flatten, attr_types=attr_types)


class FrameBuilder:
    """Accumulates pages of entities as per-attribute value lists, then builds one frame.

    Only the values are kept between pages (not the entity dicts), so memory stays close to
    the size of the result; every step is a list comprehension or a C-level ``map``.
    """

    def __init__(
        self, *, metadata: bool = False, key_values_types: dict[str, str] | None = None
    ) -> None:
        if metadata and key_values_types is not None:
            raise ValueError("metadata needs the normalized representation, not keyValues")
        self.metadata = metadata
        self.key_values_types = key_values_types
        self.n = 0
        self.ids: list[Any] = []
        self.types: list[Any] = []
        self.values: dict[str, list[Any]] = {}
        self.ngsi_types: dict[str, set[str]] = {}
        self.metas: dict[str, list[Any]] = {}
        # GeoJSON Point pages held as shapely points: (first row, present mask, points),
        # made while the next pages download; their rows are None in ``values``
        self.points: dict[str, list[tuple[int, np.ndarray, np.ndarray]]] = {}

    def add(self, entities: list[dict[str, Any]]) -> None:
        """Append a page of entities (normalized representation)."""
        m = len(entities)
        self.ids.extend(map(dict.get, entities, repeat("id")))
        self.types.extend(map(dict.get, entities, repeat("type")))
        names = [
            n for n in dict.fromkeys(itertools.chain.from_iterable(entities)) if n not in _RESERVED
        ]
        for name in names:
            attrs = list(map(dict.get, entities, repeat(name)))
            if name not in self.values:
                self.values[name] = [None] * self.n
                self.ngsi_types[name] = set()
                if self.metadata:
                    self.metas[name] = [None] * self.n
            if self.key_values_types is not None:  # keyValues: the attribute is its value
                values = attrs
                page_types = {self.key_values_types.get(name)} - {None}
            elif None in attrs:
                page_types = {a.get("type") for a in attrs if a is not None}
                values = [None if a is None else a.get("value") for a in attrs]
            else:  # every entity has the attribute: C-level map, no Python loop
                page_types = set(map(dict.get, attrs, repeat("type")))
                values = list(map(dict.get, attrs, repeat("value")))
            self.ngsi_types[name].update(page_types)
            points = _page_points(values) if page_types == {"geo:json"} else None
            if points is None:
                self.values[name].extend(values)
            else:
                self.points.setdefault(name, []).append((self.n, *points))
                self.values[name].extend(repeat(None, m))
            if self.metadata:
                self.metas[name].extend([None if a is None else a.get("metadata") for a in attrs])
        present = set(names)
        for name, values in self.values.items():
            if name not in present:
                values.extend([None] * m)
                if self.metadata:
                    self.metas[name].extend([None] * m)
        self.n += m

    def frame(
        self, *, flatten: bool = False, attr_types: dict[str, str] | None = None
    ) -> pd.DataFrame:
        """The typed DataFrame of everything added so far."""
        columns: dict[str, Any] = {
            "id": strings_to_array(self.ids),
            "type": strings_to_array(self.types),
        }
        names = list(self.values)
        if not self.n and attr_types:
            names = list(attr_types)
        for name in names:
            types = self.ngsi_types.get(name, set()) - {None}
            ngsi_type = common_type(types) if types else (attr_types or {}).get(name)
            values = self.values.get(name, [])
            if self.n and not types and self.key_values_types is not None:  # not in the map
                ngsi_type = guess_type(values)
            points = self.points.get(name)
            if not self.n:
                columns[name] = pd.array([], dtype=dtype_for(ngsi_type))
            elif points and ngsi_type == "geo:json" and all(v is None for v in values):
                columns[name] = _points_column(self.n, points)
            else:
                if points:  # a column that also holds other values: the dicts are needed
                    values = _with_point_dicts(values, points)
                columns[name] = values_to_array(values, ngsi_type)
            if flatten and ngsi_type not in GEO_TYPES and _all_dicts(values):
                del columns[name]
                columns.update(_flattened(name, values))
            if self.metadata and name in self.metas:
                columns.update(_metadata_columns(name, self.metas[name]))
        return pd.DataFrame(columns, index=pd.RangeIndex(self.n), copy=False)


def _page_points(values: list[Any]) -> tuple[np.ndarray, np.ndarray] | None:
    """``(present mask, shapely points)`` if a page's values are 2D GeoJSON Points."""
    present = [v is not None for v in values]
    found = [v for v in values if v is not None]
    if not found or not all(type(v) is dict and v.get("type") == "Point" for v in found):
        return None
    try:
        xy = np.array([v["coordinates"] for v in found], dtype="float64")
    except (KeyError, TypeError, ValueError):
        return None
    if xy.ndim != 2 or xy.shape[1] != 2:
        return None
    return np.array(present, dtype=bool), shapely.points(xy)


def _points_column(n: int, chunks: list[tuple[int, np.ndarray, np.ndarray]]) -> np.ndarray:
    """Shapely points (``None`` where missing) for ``n`` rows from per-page chunks."""
    if all(mask.all() for _, mask, _ in chunks) and sum(len(m) for _, m, _ in chunks) == n:
        return np.concatenate([points for _, _, points in chunks])
    out = np.empty(n, dtype=object)
    for start, mask, points in chunks:
        out[start + np.flatnonzero(mask)] = points
    return out


def _with_point_dicts(
    values: list[Any], chunks: list[tuple[int, np.ndarray, np.ndarray]]
) -> list[Any]:
    """``values`` with the GeoJSON Point dicts of the coordinate chunks put back."""
    values = list(values)
    for start, mask, points in chunks:
        coords = shapely.get_coordinates(points).tolist()
        for row, (x, y) in zip((start + np.flatnonzero(mask)).tolist(), coords, strict=True):
            values[row] = {"type": "Point", "coordinates": [x, y]}
    return values


def _all_dicts(values: list[Any]) -> bool:
    present = [v for v in values if v is not None]
    return bool(present) and all(isinstance(v, dict) for v in present)


def _flattened(name: str, values: list[Any]) -> dict[str, Any]:
    flat = pd.json_normalize([v if isinstance(v, dict) else {} for v in values], sep=".")
    return {f"{name}.{col}": flat[col].to_numpy() for col in flat.columns}


def _metadata_columns(name: str, metas: list[Any]) -> dict[str, Any]:
    metas = [m or None for m in metas]
    keys = dict.fromkeys(itertools.chain.from_iterable(m for m in metas if m))
    out = {}
    for key in keys:
        items = [None if m is None else m.get(key) for m in metas]
        types = {i.get("type") for i in items if i is not None}
        values = [None if i is None else i.get("value") for i in items]
        out[f"{name}.metadata.{key}"] = values_to_array(values, common_type(types))
    return out


def geo_columns(frame: pd.DataFrame) -> list[str]:
    """Columns of ``frame`` that hold shapely geometries."""
    from shapely.geometry.base import BaseGeometry

    out = []
    for col in frame.columns:
        if frame[col].dtype != object:
            continue
        # by position: a history's time index repeats, so .loc could give several rows
        valid = frame[col].notna().to_numpy().nonzero()[0]
        if len(valid) and isinstance(frame[col].iloc[valid[0]], BaseGeometry):
            out.append(col)
    return out


def to_geodataframe(frame: pd.DataFrame, *, geometry: str | None = None) -> gpd.GeoDataFrame:
    """Turn a frame from :func:`entities_to_frame` into a GeoDataFrame in EPSG:4326.

    The active geometry is ``geometry`` if given, else ``location`` if it is a geo column,
    else the first geo column; other geo columns become GeoSeries too.
    """
    geos = geo_columns(frame)
    if geometry is None:
        geometry = "location" if "location" in geos else (geos[0] if geos else None)
    if geometry is None:
        if len(frame) == 0 or ("location" in frame.columns and frame["location"].isna().all()):
            geometry = "location"  # an empty result: keep the conventional geometry column
            if "location" not in frame.columns:
                frame = frame.assign(location=np.empty(0, dtype=object))
        else:
            raise ValueError(
                "no geo:json / geo:point attribute in the result, so there is no geometry: "
                "use .to_pandas(), or request the location attribute with attrs=[...]"
            )
    data = {col: frame[col] for col in frame.columns}
    for col in {*geos, geometry}:
        data[col] = gpd.GeoSeries(np.asarray(frame[col], dtype=object), index=frame.index, crs=CRS)
    gdf = gpd.GeoDataFrame(data, geometry=geometry, crs=CRS)
    gdf.attrs.update(frame.attrs)
    return gdf


def frame_to_entities(
    frame: pd.DataFrame, *, type: str | None, id_column: str = "id"
) -> list[dict[str, Any]]:
    """Entities in normalized representation from a (Geo)DataFrame, one per row.

    ``id_column`` gives the entity id; ``type`` the entity type (or a ``type`` column when
    ``type`` is None). Every other column becomes an attribute typed from its dtype;
    missing values are left out of that entity.
    """
    if id_column not in frame.columns:
        raise KeyError(
            f"id_column {id_column!r} is not a column; the columns are {list(frame.columns)}"
        )
    ids = frame[id_column].astype(str).tolist()
    if type is not None:
        types = [type] * len(frame)
    elif "type" in frame.columns:
        types = frame["type"].astype(str).tolist()
    else:
        raise ValueError("pass type='EntityType' (or give the frame a 'type' column)")
    skip = {id_column, "type"}
    attrs = []
    for col in frame.columns:
        if col in skip:
            continue
        ngsi_type, values = series_to_values(frame[col])
        attrs.append((str(col), ngsi_type, values))
    entities = []
    for i, (eid, etype) in enumerate(zip(ids, types, strict=True)):
        entity: dict[str, Any] = {"id": eid, "type": etype}
        for name, ngsi_type, values in attrs:
            value = values[i]
            if value is not None:
                entity[name] = {"type": ngsi_type, "value": value}
        entities.append(entity)
    return entities
