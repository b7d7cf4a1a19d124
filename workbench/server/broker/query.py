"""Query parameters of ``GET /v2/entities`` and ``POST /v2/op/query``, backend-neutral.

:func:`parse_q` turns Orion's simple query language (``q`` and ``mq``) into a list of
:class:`Condition` objects; each store translates them into its own query language (the
SQLite store into parameterised SQL over ``json_extract``). Nothing of the raw string ever
reaches SQL.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .entities import check_name, normalize_datetime, parse_datetime
from .errors import bad_request
from .geo import GeoFilter, parse_geo_query
from .patterns import check_pattern
from .tenancy import PathScope

DEFAULT_LIMIT = 20
MAX_LIMIT = 1000
MAX_Q_LENGTH = 8192
MAX_STATEMENTS = 64
MAX_LIST = 1000
_NUMBER = re.compile(r"^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$")
_OPS = ("==", "!=", ">=", "<=", "~=", ">", "<", ":")
_BUILTIN_ORDER = {"id", "type", "dateCreated", "dateModified", "geo:distance"}


@dataclass(frozen=True, slots=True)
class Literal:
    """A typed right-hand value: ``kind`` is number, string, date, bool or null."""

    kind: str
    value: Any


@dataclass(frozen=True, slots=True)
class Condition:
    """One ``;``-separated statement of ``q`` or ``mq``.

    ``op`` is ``exists``, ``not_exists``, ``eq``, ``ne``, ``gt``, ``ge``, ``lt``, ``le`` or
    ``match``. ``values`` holds one or more literals for ``eq``/``ne`` (a list matches
    any), ``range`` a ``(low, high)`` pair for ``a..b``.
    """

    attr: str
    path: tuple[str, ...] = ()
    metadata: str | None = None
    op: str = "exists"
    values: tuple[Literal, ...] = ()
    range: tuple[Literal, Literal] | None = None
    pattern: str | None = None


@dataclass(frozen=True, slots=True)
class Selector:
    """Which entities: id list or pattern, type list or pattern (``None`` = any)."""

    ids: tuple[str, ...] | None = None
    id_pattern: str | None = None
    types: tuple[str, ...] | None = None
    type_pattern: str | None = None


@dataclass(slots=True)
class QuerySpec:
    """Everything a store needs to answer an entity query."""

    scopes: list[PathScope]
    selectors: list[Selector] = field(default_factory=lambda: [Selector()])
    conditions: list[Condition] = field(default_factory=list)
    geo: GeoFilter | None = None
    order: list[tuple[str, bool]] = field(default_factory=list)  # (key, descending)
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    count: bool = False


# --- q / mq ---------------------------------------------------------------------------------


def _split_outside_quotes(text: str, sep: str) -> list[str]:
    parts, buf, quoted = [], [], False
    for ch in text:
        if ch == "'":
            quoted = not quoted
        if ch == sep and not quoted:
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    if quoted:
        raise bad_request("invalid query: unbalanced single quote")
    parts.append("".join(buf))
    return parts


def _find_op(stmt: str) -> tuple[int, str] | None:
    quoted = False
    for i, ch in enumerate(stmt):
        if ch == "'":
            quoted = not quoted
            continue
        if quoted:
            continue
        for op in _OPS:
            if stmt.startswith(op, i):
                return i, op
    return None


def _literal(token: str) -> Literal:
    token = token.strip()
    if len(token) >= 2 and token[0] == "'" and token[-1] == "'":
        return Literal("string", token[1:-1])
    if _NUMBER.match(token):
        n = float(token)
        return Literal("number", int(n) if n.is_integer() and abs(n) < 2**53 else n)
    if token in ("true", "false"):
        return Literal("bool", token == "true")
    if token == "null":
        return Literal("null", None)
    if parse_datetime(token) is not None and token[4:5] == "-":
        return Literal("date", normalize_datetime(token))
    if not token:
        raise bad_request("invalid query: empty right-hand side")
    return Literal("string", token)


def _path(lhs: str, *, metadata: bool) -> tuple[str, tuple[str, ...], str | None]:
    lhs = lhs.strip()
    if not lhs:
        raise bad_request("invalid query: missing attribute name")
    segments = [s[1:-1] if len(s) >= 2 and s[0] == s[-1] == "'" else s
                for s in _split_outside_quotes(lhs, ".")]
    for s in segments:
        if not s:
            raise bad_request(f"invalid query: empty path segment in {lhs[:60]!r}")
    attr = check_name(segments[0], "attribute name in query")
    if metadata:
        if len(segments) < 2:
            raise bad_request(f"invalid mq: {lhs[:60]!r} must be attribute.metadata")
        return attr, tuple(segments[2:]), check_name(segments[1], "metadata name in query")
    return attr, tuple(segments[1:]), None


def parse_q(text: str | None, *, metadata: bool = False) -> list[Condition]:
    """Parse ``q`` (or ``mq`` with ``metadata=True``) into conditions ANDed together.

    Raises
    ------
    NgsiError
        400 BadRequest on any syntax error.
    """
    if text is None:
        return []
    if len(text) > MAX_Q_LENGTH:
        raise bad_request(f"invalid query: longer than {MAX_Q_LENGTH} characters")
    statements = [s for s in _split_outside_quotes(text, ";") if s.strip()]
    if not statements:
        raise bad_request("invalid query: empty q")
    if len(statements) > MAX_STATEMENTS:
        raise bad_request(f"invalid query: more than {MAX_STATEMENTS} statements")
    out = []
    for stmt in statements:
        found = _find_op(stmt)
        if found is None:
            s = stmt.strip()
            negate = s.startswith("!")
            attr, path, md = _path(s[1:] if negate else s, metadata=metadata)
            out.append(Condition(attr, path, md, "not_exists" if negate else "exists"))
            continue
        pos, op = found
        attr, path, md = _path(stmt[:pos], metadata=metadata)
        rhs = stmt[pos + len(op):]
        if op == "~=":
            if not rhs:
                raise bad_request("invalid query: empty pattern")
            check_pattern(rhs, "q" if not metadata else "mq")
            out.append(Condition(attr, path, md, "match", pattern=rhs))
            continue
        name = {"==": "eq", ":": "eq", "!=": "ne", ">": "gt", ">=": "ge", "<": "lt", "<=": "le"}[op]
        items = _split_outside_quotes(rhs, ",")
        if name in ("eq", "ne") and len(items) == 1 and ".." in rhs and "'" not in rhs:
            lo, _, hi = rhs.partition("..")
            low, high = _literal(lo), _literal(hi)
            if low.kind != high.kind or low.kind not in ("number", "date", "string"):
                raise bad_request("invalid query: a range needs two numbers, dates or strings")
            out.append(Condition(attr, path, md, name, range=(low, high)))
            continue
        if len(items) > 1 and name not in ("eq", "ne"):
            raise bad_request(f"invalid query: a list is only allowed with == or != ({op})")
        if len(items) > MAX_LIST:
            raise bad_request(f"invalid query: more than {MAX_LIST} values in a list")
        out.append(Condition(attr, path, md, name, tuple(_literal(i) for i in items)))
    return out


# --- other parameters ------------------------------------------------------------------------


MAX_COUNT = 2**63 - 1  # SQLite's largest integer: bigger offsets and lastN are a 400
_DECIMAL = re.compile(r"[0-9]{1,19}")  # ASCII digits only: str.isdigit() accepts '²'


def parse_count(raw: str | None, *, maximum: int = MAX_COUNT) -> int | None:
    """Return ``raw`` as an integer in ``0..maximum``, ``None`` if absent.

    Raises
    ------
    ValueError
        Not ASCII decimal digits, or above ``maximum`` (callers answer 400).
    """
    if raw is None:
        return None
    if _DECIMAL.fullmatch(raw) is None or int(raw) > maximum:
        raise ValueError(raw)
    return int(raw)


def parse_limit(params: Mapping[str, str], *, default: int = DEFAULT_LIMIT,
                maximum: int = MAX_LIMIT) -> tuple[int, int]:
    """``(limit, offset)`` with Orion's checks (400 above ``maximum``, or an offset above
    2^63 - 1, or anything but ASCII digits)."""
    raw = params.get("limit")
    try:
        limit = parse_count(raw, maximum=maximum)
    except ValueError:
        limit = 0
    if limit == 0:
        raise bad_request(
            f"Bad pagination limit: /{raw[:20]}/ [must be a positive integer number up "
            f"to {maximum}]"
        )
    raw = params.get("offset")
    try:
        offset = parse_count(raw)
    except ValueError:
        raise bad_request(
            f"Bad pagination offset: /{raw[:20]}/ [must be a decimal number up to {MAX_COUNT}]"
        ) from None
    return limit if limit is not None else default, offset or 0


def split_list(raw: str | None) -> list[str] | None:
    """Split a comma-separated parameter (``None`` stays ``None``)."""
    if raw is None:
        return None
    items = [s for s in raw.split(",") if s]
    if not items:
        raise bad_request("empty list in URI parameter")
    return items


def parse_options(raw: str | None) -> set[str]:
    """The ``options`` parameter as a set, checked against Orion's known options."""
    if not raw:
        return set()
    known = {"normalized", "keyValues", "values", "unique", "count", "append", "upsert",
             "dateCreated",
             "dateModified", "noAttrDetail", "skipForwarding", "overrideMetadata",
             "forcedUpdate", "flowControl", "sysAttrs"}
    opts = set(raw.split(","))
    bad = opts - known
    if bad:
        raise bad_request(f"Invalid value for URI param /options/: {sorted(bad)[0][:40]}")
    return opts


def render_mode(options: set[str]) -> str:
    """Representation chosen by ``options`` (normalized unless keyValues/values/unique)."""
    modes = [m for m in ("keyValues", "values", "unique") if m in options]
    if len(modes) > 1:
        raise bad_request("options keyValues, values and unique are mutually exclusive")
    return modes[0] if modes else "normalized"


def parse_order(raw: str | None) -> list[tuple[str, bool]]:
    """``orderBy`` as ``[(key, descending)]``; attribute keys are attribute names."""
    if raw is None:
        return []
    out = []
    for item in raw.split(","):
        desc = item.startswith("!")
        key = item[1:] if desc else item
        if key not in _BUILTIN_ORDER:
            check_name(key, "orderBy attribute")
        out.append((key, desc))
    if not out:
        raise bad_request("empty orderBy")
    return out


def selector(*, ids: list[str] | None = None, id_pattern: str | None = None,
             types: list[str] | None = None, type_pattern: str | None = None) -> Selector:
    """Build a validated :class:`Selector`."""
    if ids is not None and id_pattern is not None:
        raise bad_request("Incompatible parameters: id, idPattern")
    if types is not None and type_pattern is not None:
        raise bad_request("Incompatible parameters: type, typePattern")
    return Selector(
        tuple(check_name(i, "entity id") for i in ids) if ids is not None else None,
        check_pattern(id_pattern, "idPattern") if id_pattern is not None else None,
        tuple(check_name(t, "entity type") for t in types) if types is not None else None,
        check_pattern(type_pattern, "typePattern") if type_pattern is not None else None,
    )


def geo_filter(georel: str | None, geometry: str | None, coords: str | None) -> GeoFilter | None:
    """Parsed geo-query, or ``None`` when no geo parameter was given."""
    if georel is None and geometry is None and coords is None:
        return None
    return parse_geo_query(georel, geometry, coords)
