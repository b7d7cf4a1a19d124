"""SQLite implementation of :class:`~workbench.server.broker.store.EntityStore`.

One table of entities with attributes as a JSON text column (queried with JSON1's
``json_extract``), an R*Tree of location bounding boxes, a table of attribute types per
entity type, and an append-only history table. WAL journal; writes go through one
connection guarded by a lock (the broker is one process; a multi-process deployment uses
PostgreSQL); reads run in the caller's thread on a read-only connection of its own, each
in one snapshot and within a time budget (docs/adr/0105-broker-queries-off-the-event-loop.md).
"""

from __future__ import annotations

import math
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from .._files import private_file
from . import geo
from .entities import Entity
from .errors import bad_request, over_budget
from .patterns import pattern_matches
from .query import Condition, Literal, QuerySpec
from .store import QUERY_STARTED, HistoryPoint, HistoryQuery, TypeInfo, default_query_budget_s
from .tenancy import PathScope

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entities (
    pk INTEGER PRIMARY KEY,
    tenant TEXT NOT NULL,
    service_path TEXT NOT NULL,
    id TEXT NOT NULL,
    type TEXT NOT NULL,
    created REAL NOT NULL,
    modified REAL NOT NULL,
    attrs TEXT NOT NULL,
    geom TEXT,
    cell INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS entities_key ON entities (tenant, id, type, service_path);
CREATE INDEX IF NOT EXISTS entities_type ON entities (tenant, type);
CREATE VIRTUAL TABLE IF NOT EXISTS geo_index USING rtree (id, minx, maxx, miny, maxy);
CREATE TABLE IF NOT EXISTS geo_points (
    tenant TEXT NOT NULL, cell INTEGER NOT NULL, pk INTEGER NOT NULL,
    x REAL NOT NULL, y REAL NOT NULL,
    PRIMARY KEY (tenant, cell, pk)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS geo_fresh (
    tenant TEXT NOT NULL, block INTEGER NOT NULL, pk INTEGER NOT NULL, cell INTEGER NOT NULL,
    x REAL NOT NULL, y REAL NOT NULL,
    PRIMARY KEY (tenant, block, pk)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS type_attrs (
    tenant TEXT NOT NULL, type TEXT NOT NULL, attr TEXT NOT NULL, attr_type TEXT NOT NULL,
    PRIMARY KEY (tenant, type, attr, attr_type)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS history (
    seq INTEGER PRIMARY KEY,
    tenant TEXT NOT NULL,
    service_path TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    ts TEXT NOT NULL,
    attrs TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS history_entity ON history (tenant, entity_id, ts);
CREATE INDEX IF NOT EXISTS history_type ON history (tenant, entity_type, ts);
"""
_COLS = "e.pk, e.id, e.type, e.service_path, e.created, e.modified, e.attrs, e.cell"
SCHEMA_VERSION = 3
UPGRADES_FROM = (2,)  # schema 2 lacks only geo_fresh, which CREATE ... IF NOT EXISTS adds
CHECKPOINT_EVERY_S = 0.25
# Points live in a grid index: a B-tree keyed by (tenant, cell) with cells of 1/256 degree
# (about 430 m x 310 m in Sapporo), far cheaper to insert into than an R*Tree; other shapes
# go to the R*Tree ``geo_index``. New points land first in ``geo_fresh``, keyed by a
# coarse block of 8 x 8 cells (1/32 degree): a batch then dirties one page per block it
# touches instead of one per cell, and the fresh rows move to ``geo_points`` in one sorted
# pass every FRESH_MAX points (ADR 0070).
CELLS_PER_DEG = 256
_ROW = 1 << 17  # cells per row of latitude (360 * 256 < 2**17)
_BLOCK_SHIFT = 3  # a block is 2**3 x 2**3 cells
FRESH_MAX = 100_000  # fresh points of a tenant before they are merged into geo_points
_MAX_CELLS = 4096  # a larger query box scans the tenant's points instead
_FAST_NEAR_M = 20_000.0  # near queries up to this radius take the ranked fast path
_NEAR_SLACK = 0.005  # relative error bound of the planar distance within that radius
# SQLite calls the progress handler every this many virtual-machine steps (~0.1 ms): the
# granularity of the time budget
_BUDGET_STEPS = 4000
_READER_CACHE_KIB = 16384  # page cache of each reader connection (they share the mmap)
_NO_DEADLINE = float("inf")
# A read that has used this much CPU is a long one: long reads take turns, one per two
# cores, so they cannot crowd out the event loop and the short reads (ADR 0105).
LONG_READ_CPU_S = 0.02


def _by_block(row: tuple) -> int:
    return row[1]


def _cell(x: float, y: float) -> int:
    return int((y + 90.0) * CELLS_PER_DEG) * _ROW + int((x + 180.0) * CELLS_PER_DEG)


def _block(cell: int) -> int:
    row, col = divmod(cell, _ROW)
    return (row >> _BLOCK_SHIFT) * _ROW + (col >> _BLOCK_SHIFT)

_NUMERIC = "('integer','real')"


def _row_entity(row: tuple) -> Entity:
    pk, eid, etype, sp, created, modified, attrs, cell = row
    # the stored geometry is derived from attrs; writers recompute it, readers never need it
    e = Entity(eid, etype, sp, orjson.loads(attrs), created, modified, None, pk)
    if cell is not None:
        e.extra["cell"] = cell
    return e


def _page_json(rows: list[tuple], key_values: bool) -> bytes:
    """Entity rows as a JSON array: normalized (stored attrs JSON spliced in) or keyValues."""
    dumps = orjson.dumps
    if key_values:
        loads = orjson.loads
        return dumps([{"id": r[1], "type": r[2], **{k: a["value"] for k, a in loads(r[6]).items()}}
                      for r in rows])
    # the attrs column is orjson's own output for the attrs dict, so splicing it after id
    # and type gives exactly orjson.dumps({"id": ..., "type": ..., **attrs})
    parts = [b'{"id":' + dumps(r[1]) + b',"type":' + dumps(r[2])
             + (b"}" if r[6] == "{}" else b"," + r[6][1:].encode()) for r in rows]
    return b"[" + b",".join(parts) + b"]"


def _json_path(attr: str, path: Sequence[str], metadata: str | None) -> str:
    parts = [f'$."{attr}"']
    if metadata is not None:
        parts.append(f'.metadata."{metadata}"')
    parts.append(".value")
    for seg in path:
        if '"' in seg or "\\" in seg:
            raise bad_request("invalid query: path segments may not contain quotes or backslashes")
        parts.append(f'."{seg}"')
    return "".join(parts)


class _Sql:
    """Accumulates a parameterised WHERE clause."""

    def __init__(self) -> None:
        self.clauses: list[str] = []
        self.params: list[Any] = []

    def add(self, clause: str, *params: Any) -> None:
        self.clauses.append(clause)
        self.params.extend(params)

    def where(self) -> str:
        return " AND ".join(self.clauses) if self.clauses else "1"


# Each JSON function call re-parses the attrs text (SQLite caches parses per call site
# only), so every predicate below reads the value with ONE ``->>`` call where it can:
# ``x BETWEEN a AND b`` evaluates x once and, because SQLite orders numbers before text,
# doubles as a type guard (a number never lies between two strings, and vice versa).
_INF = float("inf")
_NOT_BOOL = "json_type(e.attrs, ?) NOT IN ('true', 'false')"


def _after(v: float) -> float:
    return math.nextafter(float(v), _INF)


def _before(v: float) -> float:
    return math.nextafter(float(v), -_INF)


def _member_pred(lit: Literal, params: list[Any]) -> str:
    if lit.kind == "number":
        params.append(lit.value)
        return f"(j.type IN {_NUMERIC} AND j.value = ?)"
    if lit.kind in ("string", "date"):
        params.append(lit.value)
        return "(j.type = 'text' AND j.value = ?)"
    if lit.kind == "bool":
        return f"j.type = '{'true' if lit.value else 'false'}'"
    return "j.type = 'null'"


def _range_pred(c: Condition, p: str, params: list[Any]) -> str:
    low, high = c.range  # type: ignore[misc]
    params += [p, low.value, high.value]
    if low.kind == "number":
        params.append(p)
        return f"((e.attrs ->> ?) BETWEEN ? AND ? AND {_NOT_BOOL})"
    params.append(p)
    return "((e.attrs ->> ?) BETWEEN ? AND ? AND json_type(e.attrs, ?) = 'text')"


def _probe(lit: Literal) -> str:
    return orjson.dumps(lit.value).decode()


def _text_only(c: Condition) -> bool:
    return c.range is None and all(lit.kind in ("string", "date") for lit in c.values)


def _eq_pred(c: Condition, p: str, params: list[Any]) -> str:
    if c.range is not None:
        return _range_pred(c, p, params)
    ors: list[str] = []
    plain = [lit for lit in c.values if lit.kind in ("number", "string", "date")]
    if plain:
        values = [lit.value for lit in plain]
        # ->> turns true/false into 1/0: keep booleans out of a numeric 0/1 match
        guard = any(lit.kind == "number" and lit.value in (0, 1) for lit in plain)
        params += [p, *values]
        clause = f"(e.attrs ->> ?) IN ({','.join('?' * len(values))})"
        if guard:
            clause = f"({clause} AND json_type(e.attrs, ?) NOT IN ('true', 'false'))"
            params.append(p)
        ors.append(clause)
    for lit in c.values:
        if lit.kind == "bool":
            params.append(p)
            ors.append(f"json_type(e.attrs, ?) = '{'true' if lit.value else 'false'}'")
        elif lit.kind == "null":
            params.append(p)
            ors.append("json_type(e.attrs, ?) = 'null'")
    # arrays match when they contain a value (Orion/MongoDB semantics); a cheap substring
    # test on the raw text avoids parsing the JSON for rows that cannot match
    members: list[Any] = []
    member = " OR ".join(_member_pred(lit, members) for lit in c.values)
    probes = [_probe(lit) for lit in c.values]
    any_probe = "(" + " OR ".join("instr(e.attrs, ?)" for _ in probes) + ")"
    params += [*probes, p, p, *members]
    ors.append(
        f"({any_probe} AND json_type(e.attrs, ?) = 'array' AND EXISTS "
        f"(SELECT 1 FROM json_each(e.attrs, ?) AS j WHERE {member}))"
    )
    pred = "(" + " OR ".join(ors) + ")"
    if _text_only(c):
        # stored JSON is written by orjson, so an equal string appears verbatim in it:
        # rows without the quoted text are rejected before any JSON parsing
        params[:0] = probes
        pred = f"({any_probe} AND {pred})"
    return pred


def _cost(c: Condition) -> int:
    """Evaluation order: cheap, selective predicates first."""
    if c.op == "eq" and _text_only(c):
        return 0
    return 1 if c.op in ("exists", "not_exists") else 2


def condition_sql(c: Condition, sql: _Sql) -> None:
    """Translate one q/mq condition into a parameterised SQL predicate."""
    p = _json_path(c.attr, c.path, c.metadata)
    if c.op in ("exists", "not_exists"):
        probe = p if (c.path or c.metadata) else f'$."{c.attr}"'
        sql.add(f"json_type(e.attrs, ?) IS {'NOT ' if c.op == 'exists' else ''}NULL", probe)
        return
    params: list[Any] = []
    if c.op == "eq":
        sql.add(_eq_pred(c, p, params), *params)
    elif c.op == "ne":
        pred = _eq_pred(c, p, params)
        sql.add(f"(json_type(e.attrs, ?) IS NOT NULL AND NOT {pred})", p, *params)
    elif c.op == "match":
        sql.add("regexp(?, e.attrs ->> ?)", c.pattern, p)
    else:
        lit = c.values[0]
        v = lit.value
        if lit.kind == "number":
            low, high = {"gt": (_after(v), _INF), "ge": (v, _INF),
                         "lt": (-_INF, _before(v)), "le": (-_INF, v)}[c.op]
            # ->> reads true/false as 1/0: the type check runs only on rows that passed
            sql.add("((e.attrs ->> ?) BETWEEN ? AND ? AND json_type(e.attrs, ?) "
                    "NOT IN ('true', 'false'))", p, low, high, p)
        elif lit.kind in ("string", "date"):
            # '' is the smallest text: the lower bound keeps numbers out; the type check
            # (objects and arrays read as JSON text) runs only on rows that passed
            text = "json_type(e.attrs, ?) = 'text'"
            if c.op in ("gt", "ge"):
                sql.add(f"((e.attrs ->> ?) {'>' if c.op == 'gt' else '>='} ? AND {text})",
                        p, v, p)
            elif c.op == "le":
                sql.add(f"((e.attrs ->> ?) BETWEEN '' AND ? AND {text})", p, v, p)
            else:
                sql.add(f"((e.attrs ->> ?) BETWEEN '' AND ? AND (e.attrs ->> ?) != ? AND {text})",
                        p, v, p, v, p)
        else:
            raise bad_request(f"invalid query: cannot compare with {lit.kind} using {c.op}")


def _escape_like(s: str) -> str:
    return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def scopes_sql(scopes: list[PathScope], sql: _Sql) -> None:
    """Restrict to the service paths of a query (nothing to add for ``/#``)."""
    ors: list[str] = []
    params: list[Any] = []
    for s in scopes:
        if s.recursive and s.path == "/":
            return
        if s.recursive:
            ors.append("(e.service_path = ? OR e.service_path LIKE ? ESCAPE '\\')")
            params += [s.path, _escape_like(s.path) + "/%"]
        else:
            ors.append("e.service_path = ?")
            params.append(s.path)
    sql.add("(" + " OR ".join(ors) + ")", *params)


def _in(column: str, values: Sequence[str], params: list[Any]) -> str:
    params.extend(values)
    return f"{column} IN ({','.join('?' * len(values))})"


def selectors_sql(spec: QuerySpec, sql: _Sql) -> None:
    ors = []
    params: list[Any] = []
    for s in spec.selectors:
        ands = []
        if s.ids is not None:
            ands.append(_in("e.id", s.ids, params))
        if s.id_pattern is not None:
            ands.append("regexp(?, e.id)")
            params.append(s.id_pattern)
        if s.types is not None:
            ands.append(_in("e.type", s.types, params))
        if s.type_pattern is not None:
            ands.append("regexp(?, e.type)")
            params.append(s.type_pattern)
        if not ands:
            return  # one selector matches everything
        ors.append("(" + " AND ".join(ands) + ")")
    if ors:
        sql.add("(" + " OR ".join(ors) + ")", *params)


def order_sql(order: list[tuple[str, bool]]) -> tuple[str, list[Any]]:
    terms, params = [], []
    for key, desc in order:
        direction = " DESC" if desc else ""
        if key in ("id", "type"):
            terms.append(f"e.{key}{direction}")
        elif key == "dateCreated":
            terms.append(f"e.created{direction}")
        elif key == "dateModified":
            terms.append(f"e.modified{direction}")
        elif key == "geo:distance":
            continue
        else:
            terms.append(f"json_extract(e.attrs, ?){direction}")
            params.append(f'$."{key}".value')
    terms.append("e.pk")
    return " ORDER BY " + ", ".join(terms), params


class SqliteStore:
    """The default :class:`EntityStore`: one SQLite file in WAL mode."""

    def __init__(self, path: str | Path, *, synchronous: str = "NORMAL",
                 query_budget_s: float | None = None) -> None:
        if synchronous.upper() not in ("NORMAL", "FULL", "EXTRA", "OFF"):
            raise ValueError("synchronous must be NORMAL, FULL, EXTRA or OFF")
        if query_budget_s is None:
            query_budget_s = default_query_budget_s()
        if not 0 < query_budget_s < _NO_DEADLINE:
            raise ValueError("query_budget_s must be a positive number of seconds")
        self.query_budget_s = float(query_budget_s)
        path = str(path)
        if path != ":memory:":
            private_file(path)  # 0600, so SQLite's -wal and -shm files are 0600 too
        self.path = path
        self._lock = threading.RLock()
        self._local = threading.local()  # per thread: reader connection, deadline
        self._readers: list[sqlite3.Connection] = []
        self._writer_thread: int | None = None  # the thread inside transaction()
        self._long_lane = threading.BoundedSemaphore(max(1, (os.cpu_count() or 2) // 2))
        self._writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        db = self._writer
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={synchronous.upper()}")
        db.execute("PRAGMA cache_size=-131072")
        db.execute("PRAGMA mmap_size=1073741824")
        db.execute("PRAGMA temp_store=MEMORY")
        # Checkpoints (copying WAL pages into the database, then fsync) cost as much as the
        # writes themselves. A background thread with its own connection runs them
        # (PASSIVE: never blocks readers or writers) on the other core; the writer's own
        # autocheckpoint stays only as a backstop if the WAL ever grows past ~256 MB.
        db.execute("PRAGMA wal_autocheckpoint=65536")
        db.execute("PRAGMA journal_size_limit=67108864")
        db.create_function("regexp", 2, pattern_matches, deterministic=True)
        if path == ":memory:":  # reads share the writer's connection: it needs the budget
            db.set_progress_handler(self._over_budget, _BUDGET_STEPS)
        exists = db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'entities'"
        ).fetchone()
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if exists and version != SCHEMA_VERSION and version not in UPGRADES_FROM:
            db.close()
            raise RuntimeError(
                f"{path} was written by an older broker (schema {version}, need "
                f"{SCHEMA_VERSION}); delete it or point --db to a new file"
            )
        db.executescript(_SCHEMA)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self._type_attrs: set[tuple[str, str, str, str]] = set(
            db.execute("SELECT tenant, type, attr, attr_type FROM type_attrs")
        )
        self._depth = 0
        self._next_pk: int | None = None
        self._fresh: dict[str, int] = {}  # fresh points per tenant (a hint for merging)
        # read caches, valid while the data does not change (see _check_caches); shared by
        # the reader threads under _cache_lock
        self._cache_lock = threading.Lock()
        self._generation = 0  # bumped whenever the caches are cleared
        self._counts: dict[tuple[str, tuple], int] = {}
        self._bounds: dict[tuple[str, tuple], dict[int, int]] = {}  # offset -> last pk
        self._stop = threading.Event()
        self._checkpointer: threading.Thread | None = None
        if path != ":memory:":
            self._checkpointer = threading.Thread(
                target=self._checkpoint_loop, name="broker-wal-checkpoint", daemon=True)
            self._checkpointer.start()

    def _checkpoint_loop(self) -> None:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            while not self._stop.wait(CHECKPOINT_EVERY_S):
                try:
                    db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error:  # busy or closing: try again next time
                    pass
        finally:
            db.close()

    # --- transactions ---------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self._db.execute("BEGIN IMMEDIATE")
            self._next_pk = None  # another process may have written since: re-read max(pk)
            self._depth = 1
            self._writer_thread = threading.get_ident()
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                self._next_pk = None
                self._fresh.clear()
                raise
            else:
                with self._cache_lock:  # readers start their snapshots under it (_reading)
                    self._db.execute("COMMIT")
                    self._clear_caches_locked()
            finally:
                self._depth = 0
                self._writer_thread = None
                self._clear_caches()

    def close(self) -> None:
        self._stop.set()
        if self._checkpointer is not None:
            self._checkpointer.join(10)
        with self._lock:
            for reader in self._readers:
                reader.close()
            self._readers.clear()
            self._writer.close()

    # --- reading: connections, snapshots, time budget ------------------------------------

    @property
    def _db(self) -> sqlite3.Connection:
        """The connection of this thread's current read, else the writer."""
        return getattr(self._local, "db", None) or self._writer

    def _reader(self) -> sqlite3.Connection:
        """This thread's read-only connection (opened on first use)."""
        db = getattr(self._local, "reader", None)
        if db is None:
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA query_only=1")
            db.execute(f"PRAGMA cache_size=-{_READER_CACHE_KIB}")
            db.execute("PRAGMA mmap_size=1073741824")
            db.execute("PRAGMA temp_store=MEMORY")
            db.create_function("regexp", 2, pattern_matches, deterministic=True)
            db.set_progress_handler(self._over_budget, _BUDGET_STEPS)
            with self._lock:
                self._readers.append(db)
            self._local.reader = db
            self._local.data_version = -1
        return db

    def _over_budget(self) -> int:
        """SQLite's progress handler: non-zero stops the statement (SQLITE_INTERRUPT).

        A read past its deadline is stopped. A read that has used LONG_READ_CPU_S of CPU
        first waits (without the GIL) for a place in the long-read lane, until its deadline
        at most.
        """
        local = self._local
        deadline = getattr(local, "deadline", None)
        if deadline is None:
            return False
        now = time.monotonic()
        if now > deadline:
            return True
        if local.lane_from is not None and time.thread_time() > local.lane_from:
            local.lane_from = None
            if not self._long_lane.acquire(timeout=deadline - now):
                return True
            local.in_lane = True
        return False

    def _check_deadline(self) -> None:
        """Raise the over-budget error if this thread's read has used up its time.

        Called between the Python-side steps of a read (geometry tests), which may also
        make a long read wait for its turn.
        """
        if self._over_budget():
            raise over_budget(self.query_budget_s)

    @contextmanager
    def _reading(self, *, patterns: bool = False) -> Iterator[None]:
        """Run the reads of one query in one snapshot, within the time budget.

        The budget counts from :data:`QUERY_STARTED` (when the request arrived) if set. A
        file database is read on this thread's own connection, so readers run in parallel
        with each other and with the writer; an in-memory one (tests) on the writer's,
        under the lock. Inside :meth:`transaction` the writer reads its own changes.

        A read that has used LONG_READ_CPU_S of CPU waits for a place in the long-read lane
        (see :meth:`_over_budget`); one with ``patterns`` calls Python for each candidate
        row, holding the GIL the event loop needs, and so takes its place from the start.
        """
        local = self._local
        if getattr(local, "deadline", None) is not None or self._writer_thread == (
                threading.get_ident()):
            yield  # nested in a read, or a read-modify-write of this thread
            return
        started = QUERY_STARTED.get()
        local.deadline = (time.monotonic() if started is None else started) + self.query_budget_s
        local.lane_from = None  # no turn-taking until the snapshot is open (cache lock)
        local.in_lane = False
        try:
            if self.path == ":memory:":  # one read at a time anyway: no lane
                with self._lock:
                    self._check_deadline()
                    yield
                return
            db = self._reader()
            self._check_caches(db)
            self._check_deadline()
            with self._cache_lock:  # the snapshot and the cache generation go together
                local.generation = self._generation
                db.execute("BEGIN")
                db.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
            local.db = db
            if patterns:
                wait = local.deadline - time.monotonic()
                if wait <= 0 or not self._long_lane.acquire(timeout=wait):
                    raise over_budget(self.query_budget_s)
                local.in_lane = True
            else:
                local.lane_from = time.thread_time() + LONG_READ_CPU_S
            yield
        except sqlite3.OperationalError:
            if time.monotonic() > local.deadline:
                raise over_budget(self.query_budget_s) from None
            raise
        finally:
            local.deadline = None
            local.lane_from = None
            if getattr(local, "db", None) is not None:
                local.db = None
                if db.in_transaction:
                    db.execute("COMMIT")
            if local.in_lane:
                local.in_lane = False
                self._long_lane.release()

    # --- reads ------------------------------------------------------------------------

    def find(self, tenant: str, ids: Sequence[str], scopes: list[PathScope], *,
             type: str | None = None) -> list[Entity]:
        out: list[Entity] = []
        ids = list(dict.fromkeys(ids))
        with self._reading():
            for i in range(0, len(ids), 500):
                chunk = ids[i:i + 500]
                sql = _Sql()
                sql.add("e.tenant = ?", tenant)
                params: list[Any] = []
                sql.add(_in("e.id", chunk, params), *params)
                if type is not None:
                    sql.add("e.type = ?", type)
                scopes_sql(scopes, sql)
                rows = self._db.execute(
                    f"SELECT {_COLS} FROM entities e WHERE {sql.where()} ORDER BY e.pk",
                    sql.params,
                ).fetchall()
                out.extend(_row_entity(r) for r in rows)
        return out

    def _where(self, tenant: str, spec: QuerySpec) -> _Sql:
        sql = _Sql()
        sql.add("e.tenant = ?", tenant)
        selectors_sql(spec, sql)
        scopes_sql(spec.scopes, sql)
        for c in sorted(spec.conditions, key=_cost):
            condition_sql(c, sql)
        return sql

    def query(self, tenant: str, spec: QuerySpec) -> tuple[list[Entity], int | None]:
        rows, total = self._query_rows(tenant, spec)
        return [_row_entity(r) for r in rows], total

    def query_json(self, tenant: str, spec: QuerySpec, *, key_values: bool = False
                   ) -> tuple[bytes, int | None]:
        """One page of matching entities as a JSON array, straight from the stored JSON.

        Every attribute with all its metadata, in the normalized form or (``key_values``)
        the keyValues form: the same bytes as ``orjson.dumps`` of
        :func:`~workbench.server.broker.entities.render` over :meth:`query`'s entities,
        without building them (ADR 0071).

        Returns
        -------
        tuple
            ``(json_bytes, total)``; ``total`` is ``None`` unless ``spec.count``.
        """
        rows, total = self._query_rows(tenant, spec)
        return _page_json(rows, key_values), total

    def _query_rows(self, tenant: str, spec: QuerySpec) -> tuple[list[tuple], int | None]:
        patterns = any(c.op == "match" for c in spec.conditions) or any(
            s.id_pattern is not None or s.type_pattern is not None for s in spec.selectors)
        with self._reading(patterns=patterns):
            if spec.geo is not None:
                return self._geo_query(tenant, spec)
            sql = self._where(tenant, spec)
            where, params, offset = sql.where(), list(sql.params), spec.offset
            key = (where, tuple(params))
            if not spec.order:
                # default order (pk): resume after the last pk of a page served before
                # instead of stepping over ``offset`` rows again (ADR 0071)
                with self._cache_lock:
                    bounds = self._bounds.get(key, {}) if self._cache_fresh() else {}
                    start = offset if offset in bounds else max(
                        (o for o in bounds if o <= offset), default=None)
                    last_pk = bounds[start] if start else None
                if last_pk is not None:
                    where += " AND e.pk > ?"
                    params.append(last_pk)
                    offset -= start
            order, oparams = order_sql(spec.order)
            rows = self._db.execute(
                f"SELECT {_COLS} FROM entities e WHERE {where}{order} LIMIT ? OFFSET ?",
                [*params, *oparams, spec.limit, offset],
            ).fetchall()
            if not spec.order and rows:
                self._cache_put(self._bounds, key, spec.offset + len(rows), rows[-1][0])
            total = self._count(sql) if spec.count else None
            return rows, total

    def _check_caches(self, db: sqlite3.Connection) -> None:
        """Drop cached counts and page bounds if another connection has committed since.

        Our own commits clear them in :meth:`transaction`; ``PRAGMA data_version`` of a
        reader's connection changes when any other connection (our writer, another
        process) commits. Called before the reader's snapshot begins.
        """
        version = db.execute("PRAGMA data_version").fetchone()[0]
        if version != self._local.data_version:  # also on a new connection's first read
            self._clear_caches()
            self._local.data_version = version

    def _clear_caches(self) -> None:
        with self._cache_lock:
            self._clear_caches_locked()

    def _clear_caches_locked(self) -> None:
        self._generation += 1
        self._counts.clear()
        self._bounds.clear()

    def _cache_fresh(self) -> bool:
        """True when this read's snapshot is the data the caches describe (lock held)."""
        return getattr(self._local, "generation", self._generation) == self._generation

    def _cache_put(self, cache: dict, key: tuple, sub: int | None, value: int) -> None:
        """Remember ``value`` under ``key`` (and ``sub``) unless the data changed meanwhile.

        A read starts its snapshot and notes the cache generation under the cache lock, and
        a commit clears the caches and bumps the generation under it too: so a read uses
        and stores cached values only while no commit has happened since its snapshot.
        """
        with self._cache_lock:
            if not self._cache_fresh():
                return
            if sub is None:
                if len(cache) >= 256:
                    cache.clear()
                cache[key] = value
                return
            bounds = cache.get(key)
            if bounds is None:
                if len(cache) >= 256:
                    cache.clear()
                bounds = cache[key] = {}
            elif len(bounds) >= 4096:
                bounds.clear()
            bounds[sub] = value

    def _count(self, sql: _Sql) -> int:
        """``COUNT(*)`` of a filter, cached until the data changes.

        A client paging through a type asks for the same count on every page; counting
        100k index entries costs ~5 ms.
        """
        key = (sql.where(), tuple(sql.params))
        with self._cache_lock:
            total = self._counts.get(key) if self._cache_fresh() else None
        if total is None:
            total = self._db.execute(
                f"SELECT COUNT(*) FROM entities e WHERE {key[0]}", sql.params).fetchone()[0]
            self._cache_put(self._counts, key, None, total)
        return total

    def _geo_query(self, tenant: str, spec: QuerySpec) -> tuple[list[tuple], int | None]:
        flt = spec.geo
        assert flt is not None
        sql = self._where(tenant, spec)
        plain = len(sql.clauses) == 1  # only the tenant: no need to join entities
        if (flt.georel == "near" and flt.min_distance_m is None
                and flt.max_distance_m is not None and flt.max_distance_m <= _FAST_NEAR_M
                and (not spec.order or spec.order[0] == ("geo:distance", False))):
            return self._near_page(tenant, spec, sql, plain)
        pks, dists = self._geo_points(tenant, flt, sql, plain)
        shape_pks, shape_dists = self._geo_shapes(flt, sql)
        if shape_pks:
            pks = np.concatenate([pks, np.asarray(shape_pks, dtype=np.int64)])
            if dists is not None:
                dists = np.concatenate([dists, np.asarray(shape_dists, dtype=float)])
        total = len(pks) if spec.count else None
        keys = [k for k, _ in spec.order]
        if flt.georel == "near" and (not keys or keys[0] == "geo:distance"):
            assert dists is not None
            desc = bool(keys) and spec.order[0][1]
            idx = np.lexsort((pks, -dists if desc else dists))
            page = [int(pks[i]) for i in idx[spec.offset:spec.offset + spec.limit]]
        elif len(pks) == 0:
            page = []
        else:
            order, oparams = order_sql(spec.order)
            page = [r[0] for r in self._db.execute(
                "SELECT e.pk FROM entities e WHERE e.pk IN (SELECT value FROM json_each(?))"
                f"{order} LIMIT ? OFFSET ?",
                [orjson.dumps(pks.tolist()).decode(), *oparams, spec.limit, spec.offset],
            )]
        if not page:
            return [], total
        fetched = {
            r[0]: r
            for r in self._db.execute(
                f"SELECT {_COLS} FROM entities e WHERE e.pk IN ({','.join('?' * len(page))})",
                page,
            )
        }
        return [fetched[pk] for pk in page], total

    def _tiers(self, tenant: str, bbox: tuple[float, float, float, float] | None, sql: _Sql,
               plain: bool) -> list[tuple[str, str, list[Any]]]:
        """``(FROM, WHERE, params)`` over ``g(pk, x, y)`` for each grid tier, in ``bbox``.

        Points are in ``geo_points`` (keyed by cell) or, until the next merge, in
        ``geo_fresh`` (keyed by block); each tier is queried on its own and the results
        combined, which lets SQLite use each table's key directly.
        """
        tiers = []
        for table, key, shift in (("geo_points", "cell", 0), ("geo_fresh", "block", _BLOCK_SHIFT)):
            where = ["g.tenant = ?"]
            params: list[Any] = [tenant]
            if bbox is not None:
                minx, miny, maxx, maxy = bbox
                r0 = int((miny + 90.0) * CELLS_PER_DEG) >> shift
                r1 = int((maxy + 90.0) * CELLS_PER_DEG) >> shift
                c0 = int((minx + 180.0) * CELLS_PER_DEG) >> shift
                c1 = int((maxx + 180.0) * CELLS_PER_DEG) >> shift
                if (r1 - r0 + 1) * (c1 - c0 + 1) <= _MAX_CELLS:
                    keys = [r * _ROW + c for r in range(r0, r1 + 1) for c in range(c0, c1 + 1)]
                    where.append(f"g.{key} IN (SELECT value FROM json_each(?))")
                    params.append(orjson.dumps(keys).decode())
                where.append("g.x BETWEEN ? AND ? AND g.y BETWEEN ? AND ?")
                params += [minx, maxx, miny, maxy]
            src = f"{table} g"
            if not plain:
                src += " JOIN entities e ON e.pk = g.pk"
                where.append(sql.where())
                params += sql.params
            tiers.append((src, " AND ".join(where), params))
        return tiers

    def _near_page(self, tenant: str, spec: QuerySpec, sql: _Sql, plain: bool
                   ) -> tuple[list[tuple], int | None]:
        """``near;maxDistance`` ordered by distance, without fetching every candidate.

        SQLite orders candidates by a local planar distance (accurate to well under 0.5%
        within 20 km) and returns only the page plus a margin; the margin is re-ranked by
        exact haversine distance. The count is exact too: rows in the uncertainty band
        around maxDistance are checked one by one.
        """
        flt = spec.geo
        assert flt is not None and flt.max_distance_m is not None and flt.bbox is not None
        lon, lat = flt.point
        kx2 = (geo.M_PER_DEG * math.cos(math.radians(lat))) ** 2
        ky2 = geo.M_PER_DEG ** 2
        d2 = "((g.x - ?) * (g.x - ?) * ? + (g.y - ?) * (g.y - ?) * ?)"
        d2p = [lon, lon, kx2, lat, lat, ky2]
        tiers = self._tiers(tenant, flt.bbox, sql, plain)
        hi = (flt.max_distance_m * (1 + _NEAR_SLACK)) ** 2
        lo = (flt.max_distance_m * (1 - _NEAR_SLACK)) ** 2
        window = spec.offset + spec.limit + 100
        rows = []
        for src, cond, params in tiers:  # each tier's nearest window contains the overall's
            rows += self._db.execute(
                f"SELECT g.pk, g.x, g.y FROM {src} WHERE {cond} AND {d2} <= ? "
                f"ORDER BY {d2}, g.pk LIMIT ?", [*params, *d2p, hi, *d2p, window]).fetchall()
        hits = []
        for pk, x, y in rows:
            d = geo.haversine_m(lon, lat, x, y)
            if d <= flt.max_distance_m:
                hits.append((d, pk))
        shape_pks, shape_dists = self._geo_shapes(flt, sql)
        hits += zip(shape_dists, shape_pks, strict=True)
        hits.sort()
        page = [pk for _, pk in hits[spec.offset:spec.offset + spec.limit]]
        total = None
        if spec.count:
            total, band = 0, []
            for src, cond, params in tiers:
                total += self._db.execute(
                    f"SELECT count(*) FROM {src} WHERE {cond} AND {d2} < ?",
                    [*params, *d2p, lo]).fetchone()[0]
                band += self._db.execute(
                    f"SELECT g.x, g.y FROM {src} WHERE {cond} AND {d2} BETWEEN ? AND ?",
                    [*params, *d2p, lo, hi]).fetchall()
            total += sum(geo.haversine_m(lon, lat, x, y) <= flt.max_distance_m
                         for x, y in band) + len(shape_pks)
        if not page:
            return [], total
        fetched = {
            r[0]: r
            for r in self._db.execute(
                f"SELECT {_COLS} FROM entities e WHERE e.pk IN ({','.join('?' * len(page))})",
                page,
            )
        }
        return [fetched[pk] for pk in page], total

    def _geo_points(self, tenant: str, flt: geo.GeoFilter, sql: _Sql, plain: bool
                    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Matching point entities from the grid index: (pks, distances for near)."""
        rows = []
        for src, cond, params in self._tiers(tenant, flt.bbox, sql, plain):
            rows += self._db.execute(f"SELECT g.pk, g.x, g.y FROM {src} WHERE {cond}",
                                     params).fetchall()
        self._check_deadline()
        if not rows:
            return np.empty(0, dtype=np.int64), (np.empty(0) if flt.georel == "near" else None)
        arr = np.asarray(rows, dtype=float)
        pks = arr[:, 0].astype(np.int64)
        xs, ys = arr[:, 1], arr[:, 2]
        if flt.georel == "near":
            d = geo.haversine_many(flt.point, xs, ys)
            ok = np.ones(len(d), dtype=bool)
            if flt.max_distance_m is not None:
                ok &= d <= flt.max_distance_m
            if flt.min_distance_m is not None:
                ok &= d >= flt.min_distance_m
            return pks[ok], d[ok]
        ok = geo.points_match(flt, xs, ys)
        return pks[ok], None

    def _geo_shapes(self, flt: geo.GeoFilter, sql: _Sql) -> tuple[list[int], list[float]]:
        """Matching non-point entities from the R*Tree (few, so refined one by one)."""
        where, params = [sql.where()], list(sql.params)
        if flt.bbox is not None:
            minx, miny, maxx, maxy = flt.bbox
            src = "geo_index g CROSS JOIN entities e ON e.pk = g.id"
            where.append("g.minx <= ? AND g.maxx >= ? AND g.miny <= ? AND g.maxy >= ?")
            params += [maxx, minx, maxy, miny]
        else:
            src = "entities e"
            where.append("e.geom IS NOT NULL AND e.cell IS NULL")
        rows = self._db.execute(
            f"SELECT e.pk, e.geom FROM {src} WHERE {' AND '.join(where)}", params
        ).fetchall()
        if not rows:
            return [], []
        self._check_deadline()
        result = geo.matches(flt, [orjson.loads(g) for _, g in rows])
        if flt.georel == "near":
            hits = [(pk, d) for (pk, _), d in zip(rows, result, strict=True) if d is not None]
            return [h[0] for h in hits], [h[1] for h in hits]
        return [pk for (pk, _), ok in zip(rows, result, strict=True) if ok], []

    def types(self, tenant: str, scopes: list[PathScope], *, type: str | None = None
              ) -> list[TypeInfo]:
        with self._reading():
            sql = _Sql()
            sql.add("e.tenant = ?", tenant)
            if type is not None:
                sql.add("e.type = ?", type)
            scopes_sql(scopes, sql)
            counts = self._db.execute(
                f"SELECT e.type, COUNT(*) FROM entities e WHERE {sql.where()} "
                "GROUP BY e.type ORDER BY e.type",
                sql.params,
            ).fetchall()
            attrs: dict[str, dict[str, list[str]]] = {}
            rows = self._db.execute(
                "SELECT type, attr, attr_type FROM type_attrs WHERE tenant = ?"
                + (" AND type = ?" if type is not None else "")
                + " ORDER BY type, attr, attr_type",
                [tenant] + ([type] if type is not None else []),
            )
            for t, a, at in rows:
                attrs.setdefault(t, {}).setdefault(a, []).append(at)
            return [TypeInfo(t, n, attrs.get(t, {})) for t, n in counts]

    def history(self, tenant: str, query: HistoryQuery
                ) -> tuple[list[tuple[str, str, str, dict[str, Any]]], int]:
        sql = _Sql()
        sql.add("tenant = ?", tenant)
        if query.entity_id is not None:
            sql.add("entity_id = ?", query.entity_id)
        if query.entity_type is not None:
            sql.add("entity_type = ?", query.entity_type)
        if query.from_ts is not None:
            sql.add("ts >= ?", query.from_ts)
        if query.to_ts is not None:
            sql.add("ts <= ?", query.to_ts)
        if query.attrs:
            probes = " OR ".join("json_type(attrs, ?) IS NOT NULL" for _ in query.attrs)
            sql.add(f"({probes})", *[f'$."{a}"' for a in query.attrs])
        ps = _Sql()
        scopes_sql(query.scopes, ps)
        if ps.clauses:
            sql.add(ps.where().replace("e.service_path", "service_path"), *ps.params)
        base = f"SELECT seq, entity_id, entity_type, ts, attrs FROM history WHERE {sql.where()}"
        with self._reading():
            if query.last_n is not None:
                inner = f"{base} ORDER BY ts DESC, entity_id DESC, seq DESC LIMIT ?"
                params = [*sql.params, query.last_n]
                total = self._db.execute(
                    f"SELECT COUNT(*) FROM ({inner})", params).fetchone()[0]
                rows = self._db.execute(
                    f"SELECT * FROM ({inner}) ORDER BY ts, entity_id, seq LIMIT ? OFFSET ?",
                    [*params, query.limit, query.offset],
                ).fetchall()
            else:
                total = self._db.execute(
                    f"SELECT COUNT(*) FROM history WHERE {sql.where()}", sql.params
                ).fetchone()[0]
                rows = self._db.execute(
                    f"{base} ORDER BY ts, entity_id, seq LIMIT ? OFFSET ?",
                    [*sql.params, query.limit, query.offset],
                ).fetchall()
        return [(r[1], r[2], r[3], orjson.loads(r[4])) for r in rows], total

    # --- writes (inside transaction()) --------------------------------------------------

    def _record_types(self, tenant: str, entities: Sequence[Entity]) -> None:
        new = []
        known = self._type_attrs
        for e in entities:
            for name, a in e.attrs.items():
                key = (tenant, e.type, name, a["type"])
                if key not in known:
                    known.add(key)
                    new.append(key)
        if new:
            self._db.executemany("INSERT OR IGNORE INTO type_attrs VALUES (?, ?, ?, ?)", new)

    def _place(self, tenant: str, e: Entity, grid: list, boxes: list) -> int | None:
        """Queue the index rows of e's geometry; return its grid cell for points."""
        g = e.geometry
        if not g:
            return None
        if g["type"] == "Point":
            x, y = g["coordinates"][:2]
            cell = _cell(x, y)
            grid.append((tenant, _block(cell), e.rowid, cell, x, y))
            return cell
        minx, miny, maxx, maxy = geo.bounds(g)
        boxes.append((e.rowid, minx, maxx, miny, maxy))
        return None

    def insert(self, tenant: str, entities: Sequence[Entity]) -> None:
        if not entities:
            return
        db = self._db
        if self._next_pk is None:
            self._next_pk = (db.execute("SELECT max(pk) FROM entities").fetchone()[0] or 0) + 1
        rows: list[tuple] = []
        grid: list[tuple] = []
        boxes: list[tuple] = []
        dumps = orjson.dumps
        for e in entities:
            e.rowid = pk = self._next_pk
            self._next_pk += 1
            g = e.geometry
            cell = self._place(tenant, e, grid, boxes)
            rows.append((pk, tenant, e.service_path, e.id, e.type, e.created, e.modified,
                         dumps(e.attrs).decode(), dumps(g).decode() if g else None, cell))
        try:
            db.executemany("INSERT INTO entities VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        except sqlite3.IntegrityError:
            self._next_pk = None
            raise
        self._add_points(tenant, grid)
        if boxes:
            db.executemany("INSERT INTO geo_index VALUES (?, ?, ?, ?, ?)", boxes)
        self._record_types(tenant, entities)

    def _add_points(self, tenant: str, grid: list[tuple]) -> None:
        """Insert grid rows into ``geo_fresh``; merge it into ``geo_points`` when full."""
        if not grid:
            return
        db = self._db
        grid.sort(key=_by_block)  # key order: each B-tree page is visited once per batch
        db.executemany("INSERT INTO geo_fresh VALUES (?, ?, ?, ?, ?, ?)", grid)
        fresh = self._fresh.get(tenant)
        if fresh is None:
            fresh = db.execute("SELECT count(*) FROM geo_fresh WHERE tenant = ?",
                               (tenant,)).fetchone()[0]
        else:
            fresh += len(grid)
        if fresh >= FRESH_MAX:
            self.merge_fresh_points(tenant)
            fresh = 0
        self._fresh[tenant] = fresh

    def merge_fresh_points(self, tenant: str) -> None:
        """Move the tenant's points from ``geo_fresh`` into ``geo_points`` (one sorted pass).

        Runs inside the writer's transaction; queries read both tables, so it never changes
        a result.
        """
        with self.transaction():
            self._db.execute(
                "INSERT INTO geo_points SELECT tenant, cell, pk, x, y FROM geo_fresh "
                "WHERE tenant = ? ORDER BY cell, pk", (tenant,))
            self._db.execute("DELETE FROM geo_fresh WHERE tenant = ?", (tenant,))
            self._fresh[tenant] = 0

    def _unplace(self, tenant: str, entities: Sequence[Entity]) -> None:
        old_cells = [(tenant, e.extra["cell"], e.rowid) for e in entities if "cell" in e.extra]
        if old_cells:
            self._db.executemany(
                "DELETE FROM geo_points WHERE tenant = ? AND cell = ? AND pk = ?", old_cells)
            self._db.executemany(
                "DELETE FROM geo_fresh WHERE tenant = ? AND block = ? AND pk = ?",
                [(t, _block(cell), pk) for t, cell, pk in old_cells])
        self._db.executemany("DELETE FROM geo_index WHERE id = ?",
                             [(e.rowid,) for e in entities])

    def update(self, tenant: str, entities: Sequence[Entity]) -> None:
        if not entities:
            return
        self._unplace(tenant, entities)
        rows: list[tuple] = []
        grid: list[tuple] = []
        boxes: list[tuple] = []
        dumps = orjson.dumps
        for e in entities:
            g = e.geometry
            cell = self._place(tenant, e, grid, boxes)
            if cell is None:
                e.extra.pop("cell", None)
            else:
                e.extra["cell"] = cell
            rows.append((e.type, e.modified, dumps(e.attrs).decode(),
                         dumps(g).decode() if g else None, cell, e.rowid))
        db = self._db
        db.executemany(
            "UPDATE entities SET type = ?, modified = ?, attrs = ?, geom = ?, cell = ? "
            "WHERE pk = ?", rows
        )
        self._add_points(tenant, grid)
        if boxes:
            db.executemany("INSERT INTO geo_index VALUES (?, ?, ?, ?, ?)", boxes)
        self._record_types(tenant, entities)

    def delete(self, tenant: str, entities: Sequence[Entity]) -> None:
        if not entities:
            return
        self._unplace(tenant, entities)
        self._db.executemany("DELETE FROM entities WHERE pk = ?", [(e.rowid,) for e in entities])

    def add_history(self, tenant: str, points: Sequence[HistoryPoint]) -> None:
        if not points:
            return
        dumps = orjson.dumps
        self._db.executemany(
            "INSERT INTO history (tenant, service_path, entity_id, entity_type, ts, attrs) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(tenant, p.service_path, p.entity_id, p.entity_type, p.ts, dumps(p.values).decode())
             for p in points],
        )
