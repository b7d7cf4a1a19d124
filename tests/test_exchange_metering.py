"""Exact admission under contention, and usage persisted in batches."""

from __future__ import annotations

import threading
import time

from workbench.server.exchange import db
from workbench.server.exchange.metering import Meter


def _meter(tmp_path) -> Meter:
    return Meter(db.open_engine(tmp_path / "exchange.db"), flush_interval_s=3600)


def test_quota_admits_exactly_the_quota_across_threads(tmp_path):
    meter = _meter(tmp_path)
    admitted = []
    lock = threading.Lock()

    def run() -> None:
        for _ in range(50):
            adm = meter.admit("sub_1", rate_limit_per_s=None, monthly_quota=137)
            if adm.allowed:
                meter.record("sub_1", entities=2, nbytes=10)
            with lock:
                admitted.append(adm.allowed)

    threads = [threading.Thread(target=run) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert admitted.count(True) == 137
    meter.flush()
    with meter._engine.connect() as conn:
        row = conn.execute(db.usage.select()).mappings().one()
    assert (row["calls"], row["entities"], row["bytes"]) == (137, 274, 1370)


def test_quota_survives_a_restart_from_the_usage_table(tmp_path):
    meter = _meter(tmp_path)
    for _ in range(3):
        assert meter.admit("sub_2", rate_limit_per_s=None, monthly_quota=4).allowed
        meter.record("sub_2", entities=0, nbytes=0)
    meter.flush()
    again = _meter(tmp_path)
    assert again.admit("sub_2", rate_limit_per_s=None, monthly_quota=4).remaining == 0
    refused = again.admit("sub_2", rate_limit_per_s=None, monthly_quota=4)
    assert not refused.allowed and refused.reason == "quota" and refused.retry_after_s > 0


def test_released_calls_do_not_count(tmp_path):
    meter = _meter(tmp_path)
    adm = meter.admit("sub_3", rate_limit_per_s=None, monthly_quota=1)
    meter.release("sub_3", adm)
    assert meter.admit("sub_3", rate_limit_per_s=None, monthly_quota=1).allowed


def test_rate_limit_refuses_with_retry_after_one_second(tmp_path):
    meter = _meter(tmp_path)
    while time.monotonic() % 1 > 0.5:  # stay inside one one-second window
        time.sleep(0.05)
    results = [meter.admit("sub_4", rate_limit_per_s=3, monthly_quota=None) for _ in range(3)]
    assert all(a.allowed for a in results)
    refused = meter.admit("sub_4", rate_limit_per_s=3, monthly_quota=None)
    assert not refused.allowed and refused.reason == "rate" and refused.retry_after_s == 1
