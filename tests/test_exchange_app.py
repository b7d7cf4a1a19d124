"""The exchange app's lifecycle: usage counted just before shutdown is not lost."""

from __future__ import annotations

import httpx
from exchange_fixtures import ExchangeServer, build_exchange, new_buyer

from workbench.server.exchange.service import ExchangeService


def test_usage_is_flushed_on_a_graceful_stop(tmp_path):
    build_exchange(tmp_path)
    server = ExchangeServer(tmp_path).start()
    try:
        buyer = new_buyer(server.url, "shutdown@example.org")
        buyer.subscribe("wards", "free")
        key = buyer.api_key()
        account_id = buyer.http.get("/api/me").json()["id"]
        buyer.close()
        with httpx.Client(base_url=server.url) as http:
            for _ in range(25):
                r = http.get("/v2/entities", headers={"Fiware-Service": "wards", "X-API-Key": key})
                assert r.status_code == 200
    finally:
        server.stop()  # SIGTERM right after the calls, before the periodic flush
    svc = ExchangeService.open(tmp_path)
    [usage] = svc.usage(account_id)
    svc.close()
    assert usage["calls"] == 25 and usage["entities"] == 250
