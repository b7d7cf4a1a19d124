"""Warnings for queries that are valid NGSI but almost certainly not what the user meant.

NGSI v2 answers an empty list, not an error, when ``q`` names an attribute no entity has,
when ``type`` names a type the product does not hold, or when an unquoted number is compared
with a ``Text`` attribute (``wardId==01101`` compares with the number 1101; the code is the
text ``'01101'``). The client looks the names up in the product's ``GET /v2/types`` (fetched
once per product and cached on the exchange) and warns with :class:`QueryWarning`, naming
the closest existing names.
"""

from __future__ import annotations

import difflib
import re
import warnings
from collections.abc import Iterator
from typing import Any

from ._http import Operation, Request, one
from ._provenance import ProductRef

_OPS = ("==", "!=", ">=", "<=", "~=", ">", "<", ":")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?([eE][+-]?\d+)?$")
_TEXT_TYPES = {"Text", "String", "string"}


class QueryWarning(UserWarning):
    """A query names a type or attribute the product lacks, or compares text with a number."""


def _split(text: str, sep: str) -> Iterator[str]:
    buf: list[str] = []
    quoted = False
    for ch in text:
        if ch == "'":
            quoted = not quoted
        if ch == sep and not quoted:
            yield "".join(buf)
            buf = []
        else:
            buf.append(ch)
    yield "".join(buf)


def _statements(q: str) -> Iterator[tuple[str, str | None, list[str]]]:
    """``(attribute, operator, right-hand items)`` of each statement of ``q``."""
    for stmt in _split(q, ";"):
        stmt = stmt.strip()
        if not stmt:
            continue
        found = None
        quoted = False
        for i, ch in enumerate(stmt):
            if ch == "'":
                quoted = not quoted
            elif not quoted:
                op = next((o for o in _OPS if stmt.startswith(o, i)), None)
                if op:
                    found = (i, op)
                    break
        if found is None:
            yield stmt.lstrip("!").split(".")[0].strip("'"), None, []
            continue
        i, op = found
        attr = stmt[:i].strip().split(".")[0].strip("'")
        rhs = stmt[i + len(op):]
        items = [] if op == "~=" else [p for s in _split(rhs, ",") for p in s.split("..")]
        yield attr, op, [s.strip() for s in items]


def _closest(name: str, names: list[str]) -> str:
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    if close:
        return "did you mean " + " or ".join(repr(c) for c in close) + "?"
    return "known: " + ", ".join(sorted(names)[:20])


def query_problems(
    params: dict[str, str], types: dict[str, dict[str, set[str]]]
) -> list[str]:
    """Messages about ``params`` (NGSI ``GET /v2/entities`` parameters) given the product's
    types (``{type: {attribute: {NGSI types}}}``); empty when the query looks right."""
    if not types:
        return []
    problems = []
    wanted = [t for t in (params.get("type") or "").split(",") if t]
    missing = [t for t in wanted if t not in types]
    for t in missing:
        problems.append(f"type {t!r} does not exist in this product; {_closest(t, list(types))}")
    in_scope = [t for t in wanted if t in types] or ([] if wanted else list(types))
    if not in_scope:
        return problems
    attrs: dict[str, set[str]] = {}
    for t in in_scope:
        for name, ts in types[t].items():
            attrs.setdefault(name, set()).update(ts)
    known = [*attrs, "id", "type", "dateCreated", "dateModified"]
    where = ", ".join(repr(t) for t in in_scope)
    for name in [a for a in (params.get("attrs") or "").split(",") if a and a != "*"]:
        if name not in known:
            problems.append(
                f"attribute {name!r} (attrs=) does not exist in type {where}; "
                f"{_closest(name, list(attrs))}"
            )
    for attr, _op, items in _statements(params.get("q") or ""):
        if attr not in known:
            problems.append(
                f"attribute {attr!r} (q=) does not exist in type {where}; "
                f"{_closest(attr, list(attrs))}"
            )
            continue
        if attrs.get(attr) and attrs[attr] <= _TEXT_TYPES:
            for item in items:
                if _NUMBER.match(item):
                    problems.append(
                        f"q compares the Text attribute {attr!r} with the number {item}, which "
                        f"matches nothing; quote it: {attr}{_op}'{item}'"
                    )
    return problems


def product_types_op(
    exchange: Any, ref: ProductRef
) -> Operation[dict[str, dict[str, set[str]]]]:
    """The product's ``{type: {attribute: {NGSI types}}}`` from ``GET /v2/types`` (cached on
    ``exchange`` per tenant and service path; empty when the broker cannot say)."""
    from ._errors import WorkbenchConnectionError, WorkbenchError

    cache: dict[tuple[str | None, str | None], dict[str, dict[str, set[str]]]]
    cache = exchange.__dict__.setdefault("_types_info", {})
    key = (ref.service, ref.servicepath)
    if key in cache:
        return cache[key]
    request = Request("GET", "/v2/types", params=[("limit", "1000")], headers=ref.headers())
    try:
        (response,) = yield one(request)
        body = response.json()
    except WorkbenchConnectionError:
        raise
    except (WorkbenchError, ValueError):
        body = None
    info: dict[str, dict[str, set[str]]] = {}
    if isinstance(body, list):
        for item in body:
            attrs = item.get("attrs") or {}
            info[item.get("type")] = {n: set(a.get("types") or []) for n, a in attrs.items()}
    cache[key] = info
    return info


def check_query_op(exchange: Any, ref: ProductRef, params: dict[str, str]) -> Operation[None]:
    """Warn (:class:`QueryWarning`) about each problem :func:`query_problems` finds."""
    if not any(params.get(k) for k in ("type", "q", "attrs")):
        return None
    types = yield from product_types_op(exchange, ref)
    for message in query_problems(params, types):
        warnings.warn(message, QueryWarning, stacklevel=2)
    return None
