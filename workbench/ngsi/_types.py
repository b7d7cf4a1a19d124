"""NGSI v2 attribute types and their pandas dtypes, in both directions.

Reading (``values_to_array``):

=================================  =============================================
NGSI type                          pandas dtype
=================================  =============================================
``Number``, ``Float``              ``float64``; ``Int64`` when every non-null value
                                   is a JSON integer (no decimal point, no exponent)
``Integer``                        ``Int64``
``DateTime``, ``Date``             ``datetime64[ns, UTC]``
``Boolean``                        ``boolean``
``Text``, ``String``, ``URL``,     ``string`` (``pd.StringDtype()``, missing is ``pd.NA``)
``Relationship``
``geo:json``, ``geo:point``, ...   shapely geometries (see :mod:`._geometry`)
``StructuredValue`` and others     ``object`` (dicts and lists as decoded)
=================================  =============================================

A value that does not fit its declared type (e.g. a ``Text`` in a ``Number`` attribute)
makes the whole column fall back to ``object`` rather than losing data.

Writing (``series_to_values``) maps dtypes back: floats and integers to ``Number``,
datetimes to ``DateTime`` (ISO 8601 UTC with milliseconds, ``Z``), booleans to ``Boolean``,
strings to ``Text``, shapely geometries to ``geo:json`` and dicts/lists to
``StructuredValue``. Missing values are left out of the entity.

Naive datetimes (no time zone) are taken as Japan time, ``Asia/Tokyo`` (``NAIVE_TIME_ZONE``):
a Sapporo provider who writes ``pd.Timestamp("2026-06-01 09:00")`` means 9 o'clock in
Sapporo, which is stored as ``2026-06-01T00:00:00.000Z``. Give an aware datetime
(``tz="UTC"``, ``.dt.tz_localize(...)``) to mean anything else (ADR 0142).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from ._geometry import GEO_TYPES, geometries_from_values, geometries_to_geojson, is_geometry

NUMBER_TYPES = frozenset({"Number", "Float", "Integer"})
DATETIME_TYPES = frozenset({"DateTime", "Date"})
TEXT_TYPES = frozenset({"Text", "String", "URL", "Relationship", "Property"})

DATETIME_DTYPE = "datetime64[ns, UTC]"
NAIVE_TIME_ZONE = "Asia/Tokyo"  # how naive datetimes are read when writing (module doc)


def dtype_for(ngsi_type: str | None) -> Any:
    """The dtype an (empty) column of ``ngsi_type`` gets."""
    if ngsi_type in ("Integer",):
        return pd.Int64Dtype()
    if ngsi_type in NUMBER_TYPES:
        return np.dtype("float64")
    if ngsi_type in DATETIME_TYPES:
        return pd.DatetimeTZDtype("ns", "UTC")
    if ngsi_type == "Boolean":
        return pd.BooleanDtype()
    if ngsi_type in TEXT_TYPES:
        return pd.StringDtype()
    return np.dtype("object")


def common_type(types: set[str]) -> str | None:
    """The single NGSI type of a column whose attributes have ``types`` (``None`` if mixed)."""
    types = types - {"None"}
    if len(types) == 1:
        return next(iter(types))
    if types and types <= NUMBER_TYPES:
        return "Number"
    if types and types <= TEXT_TYPES:
        return "Text"
    if types and types <= GEO_TYPES:
        return "geo:json"
    return None


_GEOJSON_TYPES = frozenset(
    {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"}
)
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def guess_type(values: list[Any]) -> str | None:
    """The NGSI type that plain JSON ``values`` (no declared type) most likely have."""
    kinds = set(map(type, values)) - {type(None)}
    if not kinds:
        return None
    if kinds == {bool}:
        return "Boolean"
    if kinds <= {int, float}:
        return "Number"
    present = [v for v in values if v is not None]
    if kinds == {str}:
        return "DateTime" if all(_ISO_DATETIME.match(v) for v in present) else "Text"
    if kinds == {dict} and all(
        v.get("type") in _GEOJSON_TYPES and "coordinates" in v for v in present
    ):
        return "geo:json"
    return None


def values_to_array(values: list[Any], ngsi_type: str | None) -> Any:
    """Convert decoded attribute ``values`` (``None`` where missing) to a typed array.

    Returns a numpy array or pandas extension array suitable as a DataFrame column.
    """
    try:
        if ngsi_type in NUMBER_TYPES:
            return _numbers(values, integer=ngsi_type == "Integer")
        if ngsi_type in DATETIME_TYPES:
            return _datetimes(values)
        if ngsi_type == "Boolean":
            if not set(map(type, values)) <= {bool, type(None)}:
                raise TypeError("non-boolean value")
            return pd.array(values, dtype="boolean")
        if ngsi_type in TEXT_TYPES:
            return strings_to_array(values)
        if ngsi_type in GEO_TYPES:
            return geometries_from_values(values, ngsi_type)
    except (TypeError, ValueError, KeyError, IndexError):
        pass
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def strings_to_array(values: list[Any]) -> Any:
    """A ``string`` array of ``values`` (``None`` where missing).

    With pyarrow storage (pandas' default), a list of ``str``/``None`` goes straight into a
    pyarrow array, skipping pandas' per-element validation (3-4x faster); anything else
    (numbers, ``NaN``) takes pandas' path, which converts it the usual way.
    """
    dtype = pd.StringDtype()
    if dtype.storage == "pyarrow" and dtype.na_value is pd.NA:
        import pyarrow as pa

        try:
            chunk = pa.array(values, type=pa.large_string())
        except (pa.ArrowTypeError, pa.ArrowInvalid):
            pass
        else:
            return pd.arrays.ArrowStringArray(pa.chunked_array([chunk]))
    return pd.array(values, dtype="string")


def _numbers(values: list[Any], *, integer: bool) -> Any:
    kinds = set(map(type, values)) - {type(None)}
    if not kinds <= {int, float}:
        raise TypeError("non-numeric value")
    if kinds and (integer or kinds == {int}):
        try:
            if None not in values:
                return pd.array(np.array(values, dtype="int64"), dtype="Int64")
            return pd.array(values, dtype="Int64")
        except OverflowError:
            pass
    return np.array(values, dtype="float64")


def _datetimes(values: list[Any]) -> Any:
    if not set(map(type, values)) <= {str, type(None)}:
        raise TypeError("non-string datetime")
    parsed = pd.to_datetime(pd.Series(values, dtype=object), utc=True, format="ISO8601")
    return parsed.astype(DATETIME_DTYPE).array


# --------------------------------------------------------------------------- writing


def series_to_values(series: pd.Series) -> tuple[str, list[Any]]:
    """NGSI type and JSON-ready values (``None`` where missing) of a frame column."""
    dtype = series.dtype
    mask = series.isna().to_numpy()
    is_object = pd.api.types.is_object_dtype(dtype)
    if getattr(dtype, "name", "") == "geometry" or (is_object and is_geometry(_first(series))):
        return "geo:json", geometries_to_geojson(series.to_numpy())
    if pd.api.types.is_bool_dtype(dtype):
        return "Boolean", _with_none(series.astype(object).tolist(), mask)
    if pd.api.types.is_integer_dtype(dtype):
        return "Number", _with_none(series.astype(object).tolist(), mask)
    if pd.api.types.is_float_dtype(dtype):
        return "Number", _with_none(series.astype(object).tolist(), mask)
    if isinstance(dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(dtype):
        if series.dt.tz is None:
            series = series.dt.tz_localize(NAIVE_TIME_ZONE, ambiguous="NaT", nonexistent="NaT")
        utc = series.dt.tz_convert("UTC")
        text = np.datetime_as_string(
            utc.dt.tz_localize(None).to_numpy(dtype="datetime64[ms]"), unit="ms"
        )
        return "DateTime", _with_none([t + "Z" for t in text.tolist()], mask)
    if pd.api.types.is_string_dtype(dtype) and not is_object:
        return "Text", _with_none(series.astype(object).tolist(), mask)
    first = _first(series)
    values = series.tolist()
    if isinstance(first, dict | list):
        return "StructuredValue", [None if m else v for v, m in zip(values, mask, strict=True)]
    if isinstance(first, bool):
        return "Boolean", _with_none(values, mask)
    if isinstance(first, int | float | np.number):
        return "Number", _with_none([_py(v) for v in values], mask)
    if isinstance(first, datetime):
        aware = {v.tzinfo is not None for v in values if isinstance(v, datetime)}
        if len(aware) > 1:
            raise ValueError(
                f"column {series.name!r} mixes datetimes with and without a time zone; give "
                "them all one (naive ones are read as Asia/Tokyo)"
            )
        return series_to_values(pd.Series(pd.to_datetime(values, utc=aware == {True})))
    return "Text", _with_none([None if v is None else str(v) for v in values], mask)


def _first(series: pd.Series) -> Any:
    valid = series.first_valid_index()
    return None if valid is None else series.loc[valid]


def _py(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def _with_none(values: list[Any], mask: np.ndarray) -> list[Any]:
    if mask.any():
        return [None if m else v for v, m in zip(values, mask, strict=True)]
    return values
