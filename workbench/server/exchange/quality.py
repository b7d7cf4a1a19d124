"""Quality figures of a data product, computed from its entities."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

_TIME_ATTRS = ("dateModified", "TimeInstant", "dateObserved")


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _entity_times(entity: dict) -> list[datetime]:
    found = []
    for name, attr in entity.items():
        if not isinstance(attr, dict):
            continue
        if name in _TIME_ATTRS:
            found.append(_parse_time(attr.get("value")))
        meta = attr.get("metadata") or {}
        for key in ("TimeInstant", "dateModified"):
            if isinstance(meta.get(key), dict):
                found.append(_parse_time(meta[key].get("value")))
    return [t for t in found if t is not None]


def compute_quality(
    entities: list[dict], *, entity_count: int | None = None, now: datetime | None = None
) -> dict:
    """Return ``{entity_count, completeness, freshness}`` for normalised NGSI v2 entities.

    Parameters
    ----------
    entities
        A sample of the product's entities in normalised representation.
    entity_count
        The product's total number of entities (``Fiware-Total-Count``); defaults to the
        sample size.
    now
        Reference time for the freshness age (default: now, UTC).

    Returns
    -------
    dict
        ``completeness`` is the share (0..1) of non-null attribute values over every
        attribute seen on entities of the same type; ``freshness`` has ``latest`` (ISO 8601
        or None) and ``age_hours``.
    """
    now = now or datetime.now(UTC)
    attrs_by_type: dict[str, set[str]] = {}
    for entity in entities:
        names = {k for k in entity if k not in ("id", "type")}
        attrs_by_type.setdefault(str(entity.get("type")), set()).update(names)
    filled = total = 0
    latest: datetime | None = None
    for entity in entities:
        expected = attrs_by_type[str(entity.get("type"))]
        total += len(expected)
        for name in expected:
            attr = entity.get(name)
            value = attr.get("value") if isinstance(attr, dict) else attr
            if value not in (None, "", [], {}):
                filled += 1
        for t in _entity_times(entity):
            latest = t if latest is None or t > latest else latest
    return {
        "entity_count": len(entities) if entity_count is None else int(entity_count),
        "completeness": round(filled / total, 4) if total else None,
        "freshness": {
            "latest": latest.isoformat() if latest else None,
            "age_hours": round((now - latest).total_seconds() / 3600, 2) if latest else None,
        },
        "computed_at": now.isoformat(timespec="seconds"),
    }
