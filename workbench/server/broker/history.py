"""QuantumLeap-style history: one point per attribute write, served under ``/ql/v2``.

Time index of a point (docs/exchange-api.md): the attribute's ``TimeInstant`` metadata, else
the entity's ``TimeInstant`` or ``dateObserved`` attribute in the same write, else the write
time. Points are ordered by time index, then entity id.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .entities import _ISO_NORMAL, check_name, normalize_datetime, parse_datetime
from .errors import bad_request, not_found
from .query import MAX_COUNT, parse_count, parse_limit, parse_options
from .store import EntityStore, HistoryPoint, HistoryQuery
from .tenancy import PathScope

DEFAULT_LIMIT = 1000
MAX_LIMIT = 10000


def _as_time(value: Any) -> str | None:
    if isinstance(value, str) and _ISO_NORMAL.match(value):
        return value
    dt = parse_datetime(value)
    if dt is None:
        return None
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def points(service_path: str, entity_id: str, entity_type: str,
           attrs: Mapping[str, dict[str, Any]], now_iso: str) -> list[HistoryPoint]:
    """History points for one write of ``attrs`` (grouped by time index)."""
    ts = None
    for key in ("TimeInstant", "dateObserved"):
        a = attrs.get(key)
        if a is not None:
            # DateTime values are already normalised; anything else is parsed
            ts = a["value"] if a["type"] == "DateTime" else _as_time(a["value"])
            if ts:
                break
    ts = ts or now_iso
    values: dict[str, Any] = {}
    extra: list[HistoryPoint] = []
    for name, a in attrs.items():
        md = a["metadata"]
        if md and "TimeInstant" in md:
            t = _as_time(md["TimeInstant"].get("value")) or ts
            if t != ts:
                extra.append(HistoryPoint(service_path, entity_id, entity_type, t,
                                          {name: a["value"]}))
                continue
        values[name] = a["value"]
    if not extra:
        return [HistoryPoint(service_path, entity_id, entity_type, ts, values)]
    merged: dict[str, dict[str, Any]] = {ts: values} if values else {}
    for p in extra:
        merged.setdefault(p.ts, {}).update(p.values)
    return [HistoryPoint(service_path, entity_id, entity_type, t, v) for t, v in merged.items()]


def _query(params: Mapping[str, str], scopes: list[PathScope], **kw: Any) -> HistoryQuery:
    limit, offset = parse_limit(params, default=DEFAULT_LIMIT, maximum=MAX_LIMIT)
    try:
        last_n = parse_count(params.get("lastN"))
    except ValueError as exc:
        raise bad_request(
            f"lastN must be an integer from 0 to {MAX_COUNT}, got {str(exc)[:20]!r}"
        ) from None
    from_ts = params.get("fromDate")
    to_ts = params.get("toDate")
    etype = params.get("type")
    if etype is not None:
        check_name(etype, "entity type")
    return HistoryQuery(
        entity_type=kw.pop("entity_type", etype),
        from_ts=normalize_datetime(from_ts) if from_ts else None,
        to_ts=normalize_datetime(to_ts) if to_ts else None,
        last_n=last_n,
        limit=limit,
        offset=offset,
        scopes=scopes,
        **kw,
    )


def _no_records() -> Exception:
    return not_found("No records were found for such query.")


def _count(params: Mapping[str, str], total: int) -> int | None:
    return total if "count" in parse_options(params.get("options")) else None


def entity_attr(
    store: EntityStore,
    tenant: str,
    scopes: list[PathScope],
    entity_id: str,
    attr: str,
    params: Mapping[str, str],
) -> tuple[dict[str, Any], int | None]:
    """Body of ``GET /ql/v2/entities/{id}/attrs/{attr}`` and the total point count."""
    check_name(entity_id, "entity id")
    check_name(attr, "attribute name")
    rows, total = store.history(tenant, _query(params, scopes, entity_id=entity_id, attrs=[attr]))
    if not rows:
        raise _no_records()
    return {
        "entityId": entity_id,
        "entityType": rows[0][1],
        "attrName": attr,
        "index": [r[2] for r in rows],
        "values": [r[3].get(attr) for r in rows],
    }, _count(params, total)


def entity(
    store: EntityStore,
    tenant: str,
    scopes: list[PathScope],
    entity_id: str,
    params: Mapping[str, str],
) -> tuple[dict[str, Any], int | None]:
    """Body of ``GET /ql/v2/entities/{id}``: every (or ``attrs``) attribute, aligned."""
    check_name(entity_id, "entity id")
    attrs = [a for a in params.get("attrs", "").split(",") if a] or None
    rows, total = store.history(tenant, _query(params, scopes, entity_id=entity_id, attrs=attrs))
    if not rows:
        raise _no_records()
    names: dict[str, None] = {}
    for r in rows:
        for n in r[3]:
            if attrs is None or n in attrs:
                names.setdefault(n)
    return {
        "entityId": entity_id,
        "entityType": rows[0][1],
        "index": [r[2] for r in rows],
        "attributes": [{"attrName": n, "values": [r[3].get(n) for r in rows]} for n in names],
    }, _count(params, total)


def type_attr(
    store: EntityStore,
    tenant: str,
    scopes: list[PathScope],
    entity_type: str,
    attr: str,
    params: Mapping[str, str],
) -> tuple[dict[str, Any], int | None]:
    """Body of ``GET /ql/v2/types/{type}/attrs/{attr}``: points grouped per entity."""
    check_name(entity_type, "entity type")
    check_name(attr, "attribute name")
    rows, total = store.history(
        tenant, _query(params, scopes, entity_type=entity_type, attrs=[attr])
    )
    if not rows:
        raise _no_records()
    groups: dict[str, dict[str, Any]] = {}
    for eid, _, ts, values in rows:
        g = groups.setdefault(eid, {"entityId": eid, "index": [], "values": []})
        g["index"].append(ts)
        g["values"].append(values.get(attr))
    return {"entityType": entity_type, "attrName": attr, "entities": list(groups.values())}, _count(
        params, total
    )


def type_entities(
    store: EntityStore,
    tenant: str,
    scopes: list[PathScope],
    entity_type: str,
    params: Mapping[str, str],
) -> tuple[dict[str, Any], int | None]:
    """Body of ``GET /ql/v2/types/{type}``: every (or ``attrs``) attribute of every entity.

    QuantumLeap's "type data": points (one per write, ordered by time index then entity id)
    are paged with ``limit``/``offset`` and ``lastN`` over the whole type, then grouped per
    entity, each entity with its own aligned ``index`` and ``attributes``. ``options=count``
    gives the total number of points.
    """
    check_name(entity_type, "entity type")
    attrs = [a for a in params.get("attrs", "").split(",") if a] or None
    rows, total = store.history(
        tenant, _query(params, scopes, entity_type=entity_type, attrs=attrs)
    )
    if not rows:
        raise _no_records()
    groups: dict[str, tuple[list[str], list[dict[str, Any]], dict[str, None]]] = {}
    for eid, _, ts, values in rows:
        group = groups.get(eid)
        if group is None:
            group = groups[eid] = ([], [], {})
        group[0].append(ts)
        group[1].append(values)
        for name in values:
            if attrs is None or name in attrs:
                group[2].setdefault(name)
    entities = [
        {
            "entityId": eid,
            "index": index,
            "attributes": [
                {"attrName": n, "values": [v.get(n) for v in values]} for n in names
            ],
        }
        for eid, (index, values, names) in groups.items()
    ]
    return {"entityType": entity_type, "entities": entities}, _count(params, total)
