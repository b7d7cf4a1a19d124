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

from ..ngsi import values_to_array
from ..ngsi._types import DATETIME_DTYPE, guess_type
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
    raise ValueError(
        "history() needs entity_id= (one entity: one attribute with attr=, or all of them), "
        "or type= with attr= (one attribute of every entity of a type); for all attributes of "
        "a type, pass type= without attr= and the client queries each entity"
    )


def _pages_op(
    ref: ProductRef, path: str, params: dict[str, str], *, progress: bool
) -> Operation[list[Any]]:
    def request(offset: int, *, count: bool) -> Request:
        query = [*params.items(), ("limit", str(PAGE_SIZE)), ("offset", str(offset))]
        if count:
            query.append(("options", "count"))
        return Request("GET", path, params=query, headers=ref.headers())

    (first,) = yield one(request(0, count=True))
    bodies = [first.json()]
    total = first.headers.get("fiware-total-count")
    if "lastN" in params:
        return bodies
    if total is None:
        offset = PAGE_SIZE
        while _points(bodies[-1]) == PAGE_SIZE:
            (page,) = yield one(request(offset, count=False))
            bodies.append(page.json())
            offset += PAGE_SIZE
        return bodies
    offsets = list(range(PAGE_SIZE, int(total), PAGE_SIZE))
    if offsets:
        with progress_bar(total=int(total), enabled=progress, unit="points") as bar:
            bar.update(PAGE_SIZE)
            responses: list[Response] = yield Batch(
                [request(o, count=False) for o in offsets],
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
    frame = pd.DataFrame(data, index=index)
    order = frame.reset_index()[["time", "entity_id"]]
    frame = frame.iloc[order.sort_values(["time", "entity_id"], kind="stable").index]
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
    rows: dict[str, list[Any]] = {"time": [], "entity_id": [], "entity_type": []}
    attrs: list[str] = []
    for body in bodies:
        if "entities" in body:  # one attribute of every entity of a type
            attrs = [attr or body.get("attrName")]
            rows.setdefault(attrs[0], [])
            for ent in body["entities"]:
                n = len(ent.get("index", []))
                rows["time"].extend(ent.get("index", []))
                rows["entity_id"].extend([ent.get("entityId")] * n)
                rows["entity_type"].extend([ent.get("entityType") or body.get("entityType")] * n)
                rows[attrs[0]].extend(ent.get("values", []))
            continue
        index = body.get("index", [])
        n = len(index)
        rows["time"].extend(index)
        rows["entity_id"].extend([body.get("entityId")] * n)
        rows["entity_type"].extend([body.get("entityType")] * n)
        if "attributes" in body:
            series = {a["attrName"]: a.get("values", []) for a in body["attributes"]}
        else:
            series = {body.get("attrName") or attr: body.get("values", [])}
        for name, values in series.items():
            if name not in rows:
                attrs.append(name)
                rows[name] = [None] * (len(rows["time"]) - n)
            rows[name].extend(values)
        for name in attrs:
            if name not in series:
                rows[name].extend([None] * n)
    if not attrs and attr:
        attrs = [attr]
        rows[attr] = []
    return _frame(rows, attrs)


def _type_all_attrs_op(
    ref: ProductRef, *, type: str, params: dict[str, str], progress: bool
) -> Operation[pd.DataFrame]:
    from ._query import QuerySpec, fetch_entities_op

    spec = QuerySpec(target=None, params={"type": type, "attrs": "__none__"})
    entities = yield from fetch_entities_op(ref, spec, progress=False)
    frames = []
    for ent in entities:
        frame = yield from history_op(
            ref, entity_id=ent["id"], type=type, attr=None, params=params, progress=progress
        )
        frames.append(frame)
    if not frames:
        return _frame({"time": [], "entity_id": [], "entity_type": []}, [])
    frame = pd.concat(frames)
    order = frame.reset_index()[["time", "entity_id"]]
    return frame.iloc[order.sort_values(["time", "entity_id"], kind="stable").index]


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
