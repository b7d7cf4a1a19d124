"""Exact rate limits, monthly quotas and usage counting for one gateway process.

Counters live in memory behind one lock, so admission decisions are exact under any number
of concurrent clients. Usage is written to the ``usage`` table in batches (every
``flush_interval_s`` and whenever someone reads usage or bills), one row per subscription and
day. Several worker processes would move the counters into the database with an atomic
``UPDATE ... WHERE calls < quota`` (docs/adr/0013-exact-counters-in-one-process.md).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from . import db


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


class Meter:
    """Admission control and usage counting.

    Parameters
    ----------
    engine
        The exchange database (``usage`` table).
    flush_interval_s
        Longest time a counted call waits before it is written to the database.
    """

    def __init__(self, engine: Engine, *, flush_interval_s: float = 0.5) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._month_calls: dict[tuple[str, str], int] = {}
        self._windows: dict[str, tuple[int, int]] = {}
        self._pending: dict[tuple[str, str], list[int]] = {}
        self.flush_interval_s = flush_interval_s
        self.auto_flush = True  # a server turns this off and flushes from a background task
        self._last_flush = time.monotonic()
        self._insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert

    def _calls_this_month(self, subscription_id: str, month: str) -> int:
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
            pending = sum(
                v[0]
                for (s, d), v in self._pending.items()
                if s == subscription_id and d[:7] == month
            )
            calls = int(stored) + pending
            self._month_calls[key] = calls
        return calls

    def admit(
        self, subscription_id: str, *, rate_limit_per_s: int | None, monthly_quota: int | None
    ) -> Admission:
        """Reserve one call for ``subscription_id`` if its rate limit and quota allow it.

        A reserved call counts against the quota at once; :meth:`record` completes it and
        :meth:`release` gives it back (the upstream failed).
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

    def record(self, subscription_id: str, *, entities: int, nbytes: int) -> None:
        """Count one served call with the entities and bytes it returned."""
        day = datetime.now(UTC).strftime("%Y-%m-%d")
        with self._lock:
            row = self._pending.setdefault((subscription_id, day), [0, 0, 0])
            row[0] += 1
            row[1] += entities
            row[2] += nbytes
        if self.auto_flush and time.monotonic() - self._last_flush >= self.flush_interval_s:
            self.flush()

    def flush(self) -> None:
        """Write pending usage to the database (idempotent, thread-safe)."""
        with self._flush_lock:
            with self._lock:
                pending, self._pending = self._pending, {}
                self._last_flush = time.monotonic()
            if not pending:
                return
            with self._engine.begin() as conn:
                for (subscription_id, day), (calls, entities, nbytes) in pending.items():
                    stmt = self._insert(db.usage).values(
                        subscription_id=subscription_id,
                        day=day,
                        calls=calls,
                        entities=entities,
                        bytes=nbytes,
                    )
                    stmt = stmt.on_conflict_do_update(
                        index_elements=["subscription_id", "day"],
                        set_={
                            "calls": db.usage.c.calls + calls,
                            "entities": db.usage.c.entities + entities,
                            "bytes": db.usage.c.bytes + nbytes,
                        },
                    )
                    conn.execute(stmt)
