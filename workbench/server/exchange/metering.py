"""Exact rate limits, monthly quotas and durable usage counting for one gateway process.

Admission counters live in memory behind one lock, so admission decisions are exact under
any number of concurrent clients. A served call is written to the ``usage`` table (one row
per subscription and UTC day) *before* its response leaves: :meth:`Meter.arecord` returns
only once the call's row is committed. Calls that arrive while a commit is in progress are
gathered into the next one (group commit), so one commit carries many calls and the gateway
keeps its throughput. After any crash the usage table holds every answered call, and the
quota counters are rebuilt from it on first use (docs/adr/0115-usage-group-commit.md).
Several worker processes would move the counters into the database with an atomic
``UPDATE ... WHERE calls < quota`` (docs/adr/0013-exact-counters-in-one-process.md).
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from . import db

SYNC_MODES = ("NORMAL", "FULL")


class UsageNotRecorded(Exception):
    """A served call could not be written to the usage ledger (its response must not leave)."""


@dataclass(frozen=True)
class Admission:
    """The gateway's decision for one call.

    ``allowed`` is False with ``reason`` ``"rate"`` or ``"quota"``; ``limit``, ``remaining``
    and ``reset_s`` feed the ``RateLimit-*`` headers; ``retry_after_s`` the ``Retry-After``.
    """

    allowed: bool
    reason: str = ""
    limit: int | None = None
    remaining: int | None = None
    reset_s: int = 0
    retry_after_s: int = 0
    month: str = ""


def _month_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m")


def _seconds_to_month_end() -> int:
    now = datetime.now(UTC)
    nxt = datetime(now.year + (now.month == 12), now.month % 12 + 1, 1, tzinfo=UTC)
    return max(1, math.ceil((nxt - now).total_seconds()))


class _Commit:
    """One group commit: the calls gathered while the previous commit was being written."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], list[int]] = {}
        self.done = threading.Event()
        self.error: BaseException | None = None
        self._lock = threading.Lock()
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future]] = []

    def add(self, subscription_id: str, day: str, entities: int, nbytes: int) -> None:
        row = self.rows.setdefault((subscription_id, day), [0, 0, 0])
        row[0] += 1
        row[1] += entities
        row[2] += nbytes

    def finish(self, error: BaseException | None) -> None:
        with self._lock:
            self.error = error
            self.done.set()
            waiters, self._waiters = self._waiters, []
        by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future]] = {}
        for loop, future in waiters:
            by_loop.setdefault(loop, []).append(future)
        for loop, futures in by_loop.items():  # one wake-up per event loop, not per call
            loop.call_soon_threadsafe(_resolve, futures)

    def wait(self) -> None:
        self.done.wait()
        if self.error is not None:
            raise UsageNotRecorded(str(self.error)) from self.error

    async def wait_async(self) -> None:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        with self._lock:
            if not self.done.is_set():
                self._waiters.append((loop, future))
                wait = True
            else:
                wait = False
        if wait:
            await future
        if self.error is not None:
            raise UsageNotRecorded(str(self.error)) from self.error


def _resolve(futures: list[asyncio.Future]) -> None:
    for future in futures:
        if not future.done():  # a cancelled request (client gone) has nobody to tell
            future.set_result(None)


class Meter:
    """Admission control and durable usage counting.

    Parameters
    ----------
    engine
        The exchange database (``usage`` table).
    synchronous
        SQLite's ``synchronous`` setting for the usage writes: ``"NORMAL"`` (default) makes a
        committed call survive any crash of the process (kill -9, OOM kill); ``"FULL"`` also
        survives a power loss or kernel panic, at the cost of one fsync per group commit
        (~8 ms on our shared disk). Ignored on PostgreSQL, whose commits are fsynced.
    """

    def __init__(self, engine: Engine, *, synchronous: str = "NORMAL") -> None:
        if synchronous.upper() not in SYNC_MODES:
            raise ValueError(f"synchronous must be one of {SYNC_MODES}, not {synchronous!r}")
        self._engine = engine
        self._synchronous = synchronous.upper()
        self._lock = threading.Lock()
        self._month_calls: dict[tuple[str, str], int] = {}
        self._windows: dict[str, tuple[int, int]] = {}
        insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
        stmt = insert(db.usage)  # built once: the writer only binds values
        self._upsert = stmt.on_conflict_do_update(
            index_elements=["subscription_id", "day"],
            set_={
                "calls": db.usage.c.calls + stmt.excluded.calls,
                "entities": db.usage.c.entities + stmt.excluded.entities,
                "bytes": db.usage.c.bytes + stmt.excluded.bytes,
            },
        )
        # the ledger: calls wait in ``_open`` while the writer thread commits the previous group
        self._ledger = threading.Condition()
        self._open = _Commit()
        self._last: _Commit | None = None
        self._writer: threading.Thread | None = None
        self._stopping = False

    def _calls_this_month(self, subscription_id: str, month: str) -> int:
        # Every recorded call was admitted first in this process, so on a cache miss nothing
        # of this subscription and month waits in the ledger: the table holds all of it.
        key = (subscription_id, month)
        calls = self._month_calls.get(key)
        if calls is None:
            with self._engine.connect() as conn:
                stored = conn.execute(
                    select(func.coalesce(func.sum(db.usage.c.calls), 0)).where(
                        db.usage.c.subscription_id == subscription_id,
                        db.usage.c.day.like(f"{month}-%"),
                    )
                ).scalar_one()
            calls = int(stored)
            self._month_calls[key] = calls
        return calls

    def admit(
        self, subscription_id: str, *, rate_limit_per_s: int | None, monthly_quota: int | None
    ) -> Admission:
        """Reserve one call for ``subscription_id`` if its rate limit and quota allow it.

        A reserved call counts against the quota at once; :meth:`arecord` (or
        :meth:`record`) completes it and :meth:`release` gives it back (the upstream failed).
        """
        month = _month_now()
        now = time.monotonic()
        second = int(now)
        with self._lock:
            used = (
                self._calls_this_month(subscription_id, month)
                if monthly_quota is not None
                else None
            )
            if rate_limit_per_s is not None:
                window, count = self._windows.get(subscription_id, (second, 0))
                if window != second:
                    window, count = second, 0
                if count >= rate_limit_per_s:
                    return Admission(False, "rate", rate_limit_per_s, 0, 1, 1, month)
            if monthly_quota is not None and used >= monthly_quota:
                reset = _seconds_to_month_end()
                return Admission(False, "quota", monthly_quota, 0, reset, reset, month)
            if rate_limit_per_s is not None:
                self._windows[subscription_id] = (window, count + 1)
            key = (subscription_id, month)
            self._month_calls[key] = self._month_calls.get(key, 0) + 1
            if monthly_quota is not None:
                return Admission(
                    True,
                    limit=monthly_quota,
                    remaining=monthly_quota - used - 1,
                    reset_s=_seconds_to_month_end(),
                    month=month,
                )
            if rate_limit_per_s is not None:
                return Admission(
                    True,
                    limit=rate_limit_per_s,
                    remaining=rate_limit_per_s - count - 1,
                    reset_s=1,
                    month=month,
                )
            return Admission(True, month=month)

    def release(self, subscription_id: str, admission: Admission) -> None:
        """Give back a reserved call that was not served (e.g. the upstream failed)."""
        with self._lock:
            key = (subscription_id, admission.month)
            if key in self._month_calls:
                self._month_calls[key] -= 1

    # ------------------------------------------------------------------ the ledger
    def _submit(self, subscription_id: str, entities: int, nbytes: int) -> _Commit:
        day = datetime.now(UTC).strftime("%Y-%m-%d")
        with self._ledger:
            if self._writer is None:
                self._stopping = False
                self._writer = threading.Thread(
                    target=self._write_forever, name="usage-ledger", daemon=True
                )
                self._writer.start()
            commit = self._open
            commit.add(subscription_id, day, entities, nbytes)
            self._last = commit
            self._ledger.notify()
        return commit

    def record(self, subscription_id: str, *, entities: int, nbytes: int) -> None:
        """Count one served call and return once it is committed to the usage table.

        Raises
        ------
        UsageNotRecorded
            The database refused the write; the call must not be answered.
        """
        self._submit(subscription_id, entities, nbytes).wait()

    async def arecord(self, subscription_id: str, *, entities: int, nbytes: int) -> None:
        """Count one served call; return (without blocking the event loop) once committed.

        Raises
        ------
        UsageNotRecorded
            The database refused the write; the call must not be answered.
        """
        await self._submit(subscription_id, entities, nbytes).wait_async()

    def flush(self) -> None:
        """Wait until every call recorded so far is committed (usage reads call this)."""
        with self._ledger:
            last = self._last
        if last is not None:
            last.done.wait()

    def close(self) -> None:
        """Commit what is waiting and stop the writer thread (a later call restarts it)."""
        with self._ledger:
            writer, self._stopping = self._writer, True
            self._ledger.notify()
        if writer is not None:
            writer.join()

    def _write_forever(self) -> None:
        conn: Connection | None = None
        try:
            while True:
                with self._ledger:
                    while not self._open.rows and not self._stopping:
                        self._ledger.wait()
                    if not self._open.rows:
                        self._writer = None  # under the lock: the next call starts a new one
                        return
                    commit, self._open = self._open, _Commit()
                try:
                    if conn is None:
                        conn = self._connect()
                    self._write(conn, commit.rows)
                except Exception as exc:  # the callers answer 503 and release their calls
                    if conn is not None:
                        conn.invalidate()
                        conn.close()
                        conn = None
                    commit.finish(exc)
                else:
                    commit.finish(None)
        finally:
            if conn is not None:
                if self._synchronous != "NORMAL" and self._engine.dialect.name == "sqlite":
                    conn.exec_driver_sql("PRAGMA synchronous=NORMAL")  # back to the pool's
                conn.close()

    def _connect(self) -> Connection:
        conn = self._engine.connect()
        if self._synchronous != "NORMAL" and self._engine.dialect.name == "sqlite":
            conn.exec_driver_sql(f"PRAGMA synchronous={self._synchronous}")
            conn.commit()
        return conn

    def _write(self, conn: Connection, rows: dict[tuple[str, str], list[int]]) -> None:
        params = [
            {"subscription_id": s, "day": d, "calls": c, "entities": e, "bytes": b}
            for (s, d), (c, e, b) in rows.items()
        ]
        with conn.begin():
            conn.execute(self._upsert, params)
