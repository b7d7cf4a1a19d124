"""Exact admission under contention, and every answered call in the usage ledger after kill -9."""

from __future__ import annotations

import threading
import time

import httpx
from exchange_fixtures import ExchangeServer, build_exchange

from workbench.server.exchange import db
from workbench.server.exchange.metering import Meter
from workbench.server.exchange.service import ExchangeService


def _meter(tmp_path) -> Meter:
    return Meter(db.open_engine(tmp_path / "exchange.db"))


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


# ------------------------------------------------------------------ crashes lose no money

QUOTA = 1_000_000
H = {"Fiware-Service": "wards"}


def _metered_buyer(data_dir) -> tuple[str, str, str]:
    """A buyer on a metered plan with a monthly quota; return (account, subscription, key)."""
    build_exchange(data_dir)
    svc = ExchangeService.open(data_dir)
    try:
        svc.create_plan(
            "wards",
            id="metered-quota",
            name="Metered with quota",
            kind="metered",
            price_per_1000_calls=1500,
            monthly_quota=QUOTA,
        )
        buyer = svc.create_account(
            "payer@example.org", "a long buyer passphrase", name="Payer", role="buyer"
        )
        sub = svc.subscribe(
            buyer, "wards", "metered-quota", purpose="research", terms_version="2026-11"
        )
        _, key = svc.issue_api_key(buyer, label="stream")
    finally:
        svc.close()
    return buyer, sub, key


def _stream(url: str, key: str, sent: list[int], answered: list[int], i: int) -> None:
    """Call the gateway until the server dies; count calls sent and 2xx answers received."""
    with httpx.Client(base_url=url, headers={**H, "X-API-Key": key}, timeout=5) as client:
        while True:
            sent[i] += 1
            try:
                r = client.get("/v2/entities", params={"limit": 2})
            except httpx.HTTPError:
                return  # the server is gone; this call was never answered
            if 200 <= r.status_code < 300:
                answered[i] += 1


def test_every_answered_call_is_billed_and_counted_after_kill_9(tmp_path):
    buyer, sub, key = _metered_buyer(tmp_path)
    clients = 8
    sent, answered = [0] * clients, [0] * clients
    server = ExchangeServer(tmp_path).start()
    try:
        threads = [
            threading.Thread(target=_stream, args=(server.url, key, sent, answered, i))
            for i in range(clients)
        ]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 30
        while sum(answered) < 1500 and time.monotonic() < deadline:
            time.sleep(0.01)
        server.kill9()  # in the middle of the stream, without any chance to flush
        for t in threads:
            t.join(10)
    finally:
        server.stop()
    answered_total, sent_total = sum(answered), sum(sent)
    assert answered_total >= 1500

    with ExchangeServer(tmp_path) as restarted:  # quota counters rebuilt after the crash
        r = httpx.get(
            restarted.url + "/v2/entities", headers={**H, "X-API-Key": key}, params={"limit": 1}
        )
        assert r.status_code == 200, r.text
        counted = QUOTA - 1 - int(r.headers["ratelimit-remaining"])  # before this call
    svc = ExchangeService.open(tmp_path)
    try:
        billed = sum(u["calls"] for u in svc.usage(buyer) if u["subscription_id"] == sub)
    finally:
        svc.close()
    lost = answered_total - counted
    assert counted >= answered_total, f"{lost} answered calls not counted against the quota"
    assert billed >= answered_total + 1, f"{answered_total + 1 - billed} answered calls unbilled"
    assert billed <= sent_total + 1 and counted <= sent_total
