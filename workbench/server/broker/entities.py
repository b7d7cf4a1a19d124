"""NGSI v2 entities: identifier rules, attribute normalisation, type inference, rendering.

An entity is kept in *normalized* form: ``attrs`` maps each attribute name to
``{"type": ..., "value": ..., "metadata": {...}}`` in write order. DateTime values (attributes
and metadata of type ``DateTime``) are normalised to ``YYYY-MM-DDThh:mm:ss.sssZ`` in UTC so
that they sort and compare as text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from . import geo
from .errors import bad_request, parse_error

MAX_ID = 256
MAX_DEPTH = 50
DEFAULT_TYPE = "Thing"
BUILTIN_ATTRS = ("dateCreated", "dateModified")
_FORBIDDEN_ID = re.compile(r"[\x00-\x20\x7f<>\"'=;()&?/#]")
_ISO_NORMAL = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
_DATE_TYPES = frozenset({"DateTime", "ISO8601"})
_ATTR_KEYS = frozenset({"type", "value", "metadata"})
_POINT_KEYS = frozenset({"type", "coordinates"})
_SCALARS = frozenset({int, float, str, bool, type(None)})
_PLAIN_TYPES: set[str] = set()  # validated types without special handling (not dates, geo)


@dataclass(slots=True)
class Entity:
    """One stored entity; ``rowid`` is the store's key (``None`` until stored)."""

    id: str
    type: str
    service_path: str
    attrs: dict[str, dict[str, Any]]
    created: float
    modified: float
    geometry: dict[str, Any] | None = None
    rowid: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


# --- identifiers -------------------------------------------------------------------------


_VALID_NAMES: set[str] = set()


def check_name(value: Any, what: str) -> str:
    """Validate an id, type, attribute or metadata name by Orion's rules.

    1 to 256 characters, none of whitespace, control characters or ``<>"'=;()&?/#``.
    """
    if value.__class__ is str and value in _VALID_NAMES:
        return value
    if not isinstance(value, str):
        raise bad_request(f"Invalid JSON type for {what}: it must be a string")
    if not value:
        raise bad_request(f"Empty {what}: it must have 1 to {MAX_ID} characters")
    if len(value) > MAX_ID:
        raise bad_request(f"Too long {what}: it must have at most {MAX_ID} characters")
    if _FORBIDDEN_ID.search(value):
        raise bad_request(
            f"Invalid characters in {what}: whitespace and <>\"'=;()&?/# are not allowed"
        )
    if len(_VALID_NAMES) < 100_000:  # names repeat a lot (attribute names, types)
        _VALID_NAMES.add(value)
    return value


# --- dates ---------------------------------------------------------------------------------


def format_time(epoch_s: float) -> str:
    """Format epoch seconds as ``YYYY-MM-DDThh:mm:ss.sssZ``."""
    dt = datetime.fromtimestamp(epoch_s, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def parse_datetime(text: Any) -> datetime | None:
    """Parse an ISO 8601 date or date-time (naive means UTC); ``None`` when it is not one."""
    if not isinstance(text, str) or len(text) < 10 or not text[:4].isdigit():
        return None
    s = text.strip()
    try:
        dt = datetime.fromisoformat(s[:-1] + "+00:00" if s.endswith(("Z", "z")) else s)
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def normalize_datetime(value: Any) -> str:
    """Return ``value`` as ``YYYY-MM-DDThh:mm:ss.sssZ``; 400 if it is not an ISO 8601 date."""
    if isinstance(value, str) and _ISO_NORMAL.match(value):
        return value
    dt = parse_datetime(value)
    if dt is None:
        raise bad_request(f"date has invalid format: {str(value)[:64]!r} (use ISO 8601)")
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def datetime_epoch(value: Any) -> float | None:
    """Epoch seconds of an ISO 8601 string, or ``None``."""
    dt = parse_datetime(value)
    return dt.timestamp() if dt else None


# --- attributes --------------------------------------------------------------------------


def infer_type(value: Any) -> str:
    """Orion's default attribute type for a JSON value."""
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, str):
        return "Text"
    if isinstance(value, int | float):
        return "Number"
    if value is None:
        return "None"
    return "StructuredValue"


def _check_depth(value: Any, depth: int = 1) -> None:
    if depth > MAX_DEPTH:
        raise parse_error(f"JSON nesting too deep (at most {MAX_DEPTH} levels)")
    if isinstance(value, dict):
        for v in value.values():
            if isinstance(v, dict | list):
                _check_depth(v, depth + 1)
    elif isinstance(value, list):
        for v in value:
            if isinstance(v, dict | list):
                _check_depth(v, depth + 1)


def _typed_value(atype: str, value: Any, name: str) -> Any:
    if atype in _DATE_TYPES:
        return normalize_datetime(value)
    if atype != "geo:json" and isinstance(value, dict | list):
        _check_depth(value)  # geo:json is checked by geo.attr_geometry
    return value


def normalize_metadata(raw: Any) -> dict[str, dict[str, Any]]:
    """Validate and normalise an attribute's ``metadata`` object."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise bad_request("metadata must be a JSON object")
    out: dict[str, dict[str, Any]] = {}
    for name, md in raw.items():
        check_name(name, "metadata name")
        if name in BUILTIN_ATTRS:
            continue
        if not isinstance(md, dict):
            raise bad_request(f"metadata {name!r} must be a JSON object with type and value")
        value = md.get("value")
        mtype = md.get("type")
        mtype = infer_type(value) if mtype is None or mtype == "" else check_name(mtype, "type")
        out[name] = {"type": mtype, "value": _typed_value(mtype, value, name)}
    return out


def normalize_attr(name: str, raw: Any, *, key_values: bool = False) -> dict[str, Any]:
    """Return the normalised attribute ``{"type", "value", "metadata"}`` for a request value.

    In ``keyValues`` mode ``raw`` is the bare value; otherwise it must be an object with
    ``value`` and optional ``type`` and ``metadata``.
    """
    if key_values:
        value = raw
        atype = infer_type(value)
        metadata: dict[str, Any] = {}
    else:
        if raw.__class__ is not dict:
            if not isinstance(raw, dict):
                raise bad_request(
                    f"attribute {name!r} must be a JSON object, unless keyValues option is used"
                )
        if not raw.keys() <= _ATTR_KEYS:
            key = next(k for k in raw if k not in _ATTR_KEYS)
            raise bad_request(f"unrecognized property for context attribute: {key!r}")
        value = raw.get("value")
        atype = raw.get("type")
        if atype is None or atype == "":
            atype = infer_type(value)
        elif atype not in _PLAIN_TYPES:
            check_name(atype, "type")
            special = atype in _DATE_TYPES or atype in geo.GEO_TYPES
            if not special and len(_PLAIN_TYPES) < 10_000:
                _PLAIN_TYPES.add(atype)
        md = raw.get("metadata")
        metadata = normalize_metadata(md) if md else {}
    if atype in _DATE_TYPES:
        value = normalize_datetime(value)
    elif atype in geo.GEO_TYPES:
        if metadata.get("ignoreType", {}).get("value") is not True:
            geo.attr_geometry(atype, value)  # validates; raises 400 when malformed
        elif value.__class__ in (dict, list):
            _check_depth(value)
    elif value.__class__ in (dict, list):
        _check_depth(value)
    return {"type": atype, "value": value, "metadata": metadata}


_NUMBERS = (int, float)


def normalize_attrs(raw: Any, *, key_values: bool = False) -> dict[str, dict[str, Any]]:
    """Normalise an attributes object (an entity body without ``id`` and ``type``)."""
    if not isinstance(raw, dict):
        raise parse_error("the payload must be a JSON object")
    return _normalize(raw, key_values, skip_id_type=False)


def _normalize(raw: dict[str, Any], key_values: bool, *, skip_id_type: bool
               ) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    valid = _VALID_NAMES
    plain = _PLAIN_TYPES
    for name, value in raw.items():
        if name not in valid:
            if name in ("id", "type"):
                if skip_id_type:
                    continue
                raise bad_request(f"{name!r} is not allowed as an attribute name here")
            check_name(name, "attribute name")
        elif skip_id_type and (name == "id" or name == "type"):
            continue
        if name in BUILTIN_ATTRS:
            continue  # built-ins are read-only, Orion ignores them in writes
        if value.__class__ is dict and not key_values:
            # fast paths for {"type": T, "value": V} (or {"type": T}) already in canonical
            # form: a known plain type with a scalar, a normalised DateTime, a 2D geo:json
            # Point; anything else is checked in full by normalize_attr
            atype = value.get("type")
            size = len(value)
            if atype.__class__ is str and (size == 1 or (size == 2 and "value" in value)):
                v = value.get("value")
                if atype in plain:
                    if v.__class__ in _SCALARS:
                        out[name] = {"type": atype, "value": v, "metadata": {}}
                        continue
                elif atype == "DateTime":
                    if v.__class__ is str and _ISO_NORMAL.match(v):
                        out[name] = {"type": atype, "value": v, "metadata": {}}
                        continue
                elif atype == "geo:json" and _is_point_2d(v):
                    out[name] = {"type": atype, "value": v, "metadata": {}}
                    continue
        out[name] = normalize_attr(name, value, key_values=key_values)
    return out


def _is_point_2d(value: Any) -> bool:
    """A canonical GeoJSON Point ``{"type": "Point", "coordinates": [lon, lat]}``."""
    if value.__class__ is not dict or value.get("type") != "Point":
        return False
    c = value.get("coordinates")
    return (c.__class__ is list and len(c) == 2 and value.keys() == _POINT_KEYS
            and c[0].__class__ in _NUMBERS and c[1].__class__ in _NUMBERS
            and -180.0 <= c[0] <= 180.0 and -90.0 <= c[1] <= 90.0)


def parse_entity(
    raw: Any, *, key_values: bool = False, default_type: str | None = DEFAULT_TYPE
) -> tuple[str, str | None, dict[str, dict[str, Any]]]:
    """Split an entity payload into ``(id, type, normalised attrs)``.

    ``type`` defaults to ``default_type`` (``"Thing"`` for creation, like Orion).
    """
    if not isinstance(raw, dict):
        raise parse_error("an entity must be a JSON object")
    if "id" not in raw:
        raise bad_request("entity id is missing: every entity needs an 'id'")
    entity_id = check_name(raw["id"], "entity id")
    etype = raw.get("type")
    etype = default_type if etype is None else check_name(etype, "entity type")
    return entity_id, etype, _normalize(raw, key_values, skip_id_type=True)


def entity_geometry(attrs: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """GeoJSON geometry (lon, lat) of the entity's location attribute, if any."""
    for a in attrs.values():
        atype = a["type"]
        if atype in geo.GEO_TYPES:
            md = a["metadata"]
            if md and md.get("ignoreType", {}).get("value") is True:
                continue
            value = a["value"]
            if atype == "geo:json" and value["type"] == "Point":  # validated on write
                return {"type": "Point", "coordinates": value["coordinates"][:2]}
            return geo.attr_geometry(atype, value)
    return None


# --- rendering ---------------------------------------------------------------------------

MODES = ("normalized", "keyValues", "values", "unique")


def _builtin(entity: Entity, name: str) -> dict[str, Any]:
    t = entity.created if name == "dateCreated" else entity.modified
    return {"type": "DateTime", "value": format_time(t), "metadata": {}}


def _select_names(entity: Entity, attrs: list[str] | None) -> list[str]:
    if attrs is None:
        return list(entity.attrs)
    names: list[str] = []
    listed = set(attrs)
    for name in attrs:
        if name == "*":
            names.extend(n for n in entity.attrs if n not in listed)
        elif name in entity.attrs or name in BUILTIN_ATTRS:
            names.append(name)
    return names


def _select_metadata(md: dict[str, Any], metadata: list[str] | None) -> dict[str, Any]:
    if metadata is None or "*" in metadata:
        return md
    return {k: md[k] for k in metadata if k in md}


def render(
    entity: Entity,
    *,
    mode: str = "normalized",
    attrs: list[str] | None = None,
    metadata: list[str] | None = None,
    with_id: bool = True,
) -> Any:
    """Render an entity in one of Orion's representations.

    Parameters
    ----------
    mode
        ``normalized``, ``keyValues``, ``values`` or ``unique``.
    attrs
        Attribute names in output order (``*`` = all others; ``dateCreated`` and
        ``dateModified`` only when named). ``None`` means every attribute.
    metadata
        Metadata names to keep (``*`` = all). ``None`` keeps all.
    with_id
        Include ``id`` and ``type`` (``False`` for ``/v2/entities/{id}/attrs``).
    """
    if mode == "normalized" and attrs is None and metadata is None:
        if not with_id:
            return entity.attrs
        out = {"id": entity.id, "type": entity.type}
        out.update(entity.attrs)
        return out
    names = _select_names(entity, attrs)
    if mode in ("values", "unique"):
        values = [
            format_time(entity.created if n == "dateCreated" else entity.modified)
            if n in BUILTIN_ATTRS and n not in entity.attrs
            else entity.attrs[n]["value"]
            for n in names
        ]
        return values
    out = {"id": entity.id, "type": entity.type} if with_id else {}
    for n in names:
        a = entity.attrs.get(n) or _builtin(entity, n)
        if mode == "keyValues":
            out[n] = a["value"]
        else:
            out[n] = {
                "type": a["type"],
                "value": a["value"],
                "metadata": _select_metadata(a["metadata"], metadata),
            }
    return out
