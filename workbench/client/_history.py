"""Attribute history (QuantumLeap-style ``/ql/v2``) as time-indexed frames.

The result is long-form: a ``time`` index (``datetime64[ns, UTC]``), ``entity_id`` and
``entity_type`` columns, then one column per attribute, sorted by time then entity id. Points
are paged (``limit``/``offset``, 10,000 a page); after the first page gives
``Fiware-Total-Count``, the remaining pages are fetched concurrently.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote

import pandas as pd

from ..ngsi import geo_columns, to_geodataframe, values_to_array
from ..ngsi._types import DATETIME_DTYPE, guess_type
from ._errors import NotFoundError, WorkbenchError
from ._http import Batch, Operation, Request, Response, one
from ._progress import progress_bar
from ._provenance import ProductRef

PAGE_SIZE = 10_000  # the /ql/v2 maximum


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    ts = pd.Timestamp(value)
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    return ts.tz_convert("UTC").isoformat().replace("+00:00", "Z")


def history_params(
    *,
    type: str | None,
    from_date: Any,
    to_date: Any,
    last_n: int | None,
) -> dict[str, str]:
    params = {
        "type": type,
        "fromDate": _iso(from_date),
        "toDate": _iso(to_date),
        "lastN": None if last_n is None else str(last_n),
    }
    return {k: v for k, v in params.items() if v is not None}


def history_path(*, entity_id: str | None, type: str | None, attr: str | None) -> str:
    if entity_id is not None and attr is not None:
        return f"/ql/v2/entities/{quote(entity_id, safe='')}/attrs/{quote(attr, safe='')}"
    if entity_id is not None:
        return f"/ql/v2/entities/{quote(entity_id, safe='')}"
    if type is not None and attr is not None:
        return f"/ql/v2/types/{quote(type, safe='')}/attrs/{quote(attr, safe='')}"
    if type is not None:
        return f"/ql/v2/types/{quote(type, safe='')}"
    raise ValueError(
        "history() needs entity_id= (one entity: one attribute with attr=, or all of them), "
        "or type= (every entity of a type: one attribute with attr=, or all of them)"
    )


def _page_request(
    ref: ProductRef, path: str, params: dict[str, str], offset: int, *, count: bool
) -> Request:
    query = [*params.items(), ("limit", str(PAGE_SIZE)), ("offset", str(offset))]
    if count:
        query.append(("options", "count"))
    return Request("GET", path, params=query, headers=ref.headers())


def _pages_op(
    ref: ProductRef, path: str, params: dict[str, str], *, progress: bool
) -> Operation[list[Any]]:
    (first,) = yield one(_page_request(ref, path, params, 0, count=True))
    return (yield from _rest_op(ref, path, params, first, progress=progress))


def _rest_op(
    ref: ProductRef, path: str, params: dict[str, str], first: Response, *, progress: bool
) -> Operation[list[Any]]:
    """The bodies of every page of ``path``, given its first page (asked with a count)."""
    bodies = [first.json()]
    total = first.headers.get("fiware-total-count")
    if "lastN" in params:
        return bodies
    if total is None:
        offset = PAGE_SIZE
        while _points(bodies[-1]) == PAGE_SIZE:
            (page,) = yield one(_page_request(ref, path, params, offset, count=False))
            bodies.append(page.json())
            offset += PAGE_SIZE
        return bodies
    offsets = list(range(PAGE_SIZE, int(total), PAGE_SIZE))
    if offsets:
        with progress_bar(total=int(total), enabled=progress, unit="points") as bar:
            bar.update(PAGE_SIZE)
            responses: list[Response] = yield Batch(
                [_page_request(ref, path, params, o, count=False) for o in offsets],
                on_response=lambda r: bar.update(PAGE_SIZE),
            )
        bodies.extend(r.json() for r in responses)
    return bodies


def _points(body: dict[str, Any]) -> int:
    if "entities" in body:
        return sum(len(e.get("index", [])) for e in body["entities"])
    return len(body.get("index", []))


def _frame(rows: dict[str, list[Any]], attrs: list[str]) -> pd.DataFrame:
    index = pd.DatetimeIndex(
        pd.to_datetime(pd.Series(rows["time"], dtype=object), utc=True, format="ISO8601"),
        name="time",
    ).astype(DATETIME_DTYPE)
    data: dict[str, Any] = {
        "entity_id": pd.array(rows["entity_id"], dtype="string"),
        "entity_type": pd.array(rows["entity_type"], dtype="string"),
    }
    for attr in attrs:
        values = rows[attr]
        data[attr] = values_to_array(values, guess_type(values))
    frame = _sorted(pd.DataFrame(data, index=index))
    if geo_columns(frame):  # a moving thing's location: GeoPandas conventions (ADR 0152)
        return to_geodataframe(frame)
    return frame


def history_op(
    ref: ProductRef,
    *,
    entity_id: str | None,
    type: str | None,
    attr: str | None,
    params: dict[str, str],
    progress: bool,
) -> Operation[pd.DataFrame]:
    """Fetch a history and build its time-indexed frame."""
    if entity_id is None and type is not None and attr is None:
        return (yield from _type_all_attrs_op(ref, type=type, params=params, progress=progress))
    path = history_path(entity_id=entity_id, type=type, attr=attr)
    bodies = yield from _pages_op(ref, path, params, progress=progress)
    return _bodies_frame(bodies, attr=attr)


def _bodies_frame(bodies: list[dict[str, Any]], *, attr: str | None) -> pd.DataFrame:
    """The long-form frame of history response bodies (any of the ``/ql/v2`` shapes)."""
    rows: dict[str, list[Any]] = {"time": [], "entity_id": [], "entity_type": []}
    attrs: list[str] = []

    def add(index: list[Any], eid: Any, etype: Any, series: dict[str, list[Any]]) -> None:
        n = len(index)
        rows["time"].extend(index)
        rows["entity_id"].extend([eid] * n)
        rows["entity_type"].extend([etype] * n)
        for name, values in series.items():
            if name not in rows:
                attrs.append(name)
                rows[name] = [None] * (len(rows["time"]) - n)
            rows[name].extend(values)
        for name in attrs:
            if name not in series:
                rows[name].extend([None] * n)

    for body in bodies:
        if "entities" in body:  # every entity of a type: one attribute, or all of them
            for ent in body["entities"]:
                if "attributes" in ent:
                    series = {a["attrName"]: a.get("values", []) for a in ent["attributes"]}
                else:
                    series = {attr or body.get("attrName"): ent.get("values", [])}
                etype = ent.get("entityType") or body.get("entityType")
                add(ent.get("index", []), ent.get("entityId"), etype, series)
            continue
        if "attributes" in body:
            series = {a["attrName"]: a.get("values", []) for a in body["attributes"]}
        else:
            series = {body.get("attrName") or attr: body.get("values", [])}
        add(body.get("index", []), body.get("entityId"), body.get("entityType"), series)
    if not attrs and attr:
        attrs = [attr]
        rows[attr] = []
    return _frame(rows, attrs)


def _type_all_attrs_op(
    ref: ProductRef, *, type: str, params: dict[str, str], progress: bool
) -> Operation[pd.DataFrame]:
    """All attributes of every entity of ``type`` (docs/adr/0083-history-of-a-whole-type.md).

    One paged ``GET /ql/v2/types/{type}`` (QuantumLeap's type data), the pages after the
    first fetched concurrently. ``lastN`` means the last N points *of each entity* here, so
    it asks each entity's history instead (all at once), as it does from a server without
    the type route (which answers 400).
    """
    if "lastN" not in params:
        path = history_path(entity_id=None, type=type, attr=None)
        try:
            bodies = yield from _pages_op(ref, path, params, progress=progress)
        except NotFoundError:  # no points at all
            return _bodies_frame([], attr=None)
        except WorkbenchError as exc:
            if exc.status != 400:
                raise
        else:
            return _bodies_frame(bodies, attr=None)
    ids = yield from _entity_ids_op(ref, type)
    if not ids:
        return _bodies_frame([], attr=None)
    return (yield from _per_entity_op(ref, ids, params=params, progress=progress))


def _entity_ids_op(ref: ProductRef, type: str) -> Operation[list[str]]:
    from ._query import QuerySpec, fetch_entities_op

    spec = QuerySpec(target=None, params={"type": type, "attrs": "__none__"})
    entities = yield from fetch_entities_op(ref, spec, progress=False)
    return [e["id"] for e in entities]


def _per_entity_op(
    ref: ProductRef, ids: list[str], *, params: dict[str, str], progress: bool
) -> Operation[pd.DataFrame]:
    """Every attribute of each entity in ``ids``: all first pages at once, then the rest."""
    paths = [history_path(entity_id=i, type=None, attr=None) for i in ids]
    firsts: list[Response] = yield Batch(
        [_page_request(ref, p, params, 0, count=True) for p in paths]
    )
    bodies = [r.json() for r in firsts]
    more: list[Request] = []
    for path, first in zip(paths, firsts, strict=True):
        total = first.headers.get("fiware-total-count")
        if "lastN" in params:
            continue
        if total is None:  # a server that does not count: page this entity on its own
            bodies.extend((yield from _rest_op(ref, path, params, first, progress=False))[1:])
            continue
        more.extend(
            _page_request(ref, path, params, o, count=False)
            for o in range(PAGE_SIZE, int(total), PAGE_SIZE)
        )
    if more:
        with progress_bar(total=len(more), enabled=progress, unit="pages") as bar:
            responses: list[Response] = yield Batch(more, on_response=lambda r: bar.update(1))
        bodies.extend(r.json() for r in responses)
    return _bodies_frame(bodies, attr=None)


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    order = frame.reset_index()[["time", "entity_id"]]
    return frame.iloc[order.sort_values(["time", "entity_id"], kind="stable").index]


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
