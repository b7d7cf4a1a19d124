"""What the browser defences (CSRF/Origin middleware, security headers) and scope checks cost
per gateway call, measured in-process so that the load of a shared machine matters less.

Builds a small exchange (100 entities, a buyer with a metered API key), then calls the same
app in-process (``httpx.ASGITransport``, no sockets) with and without
:class:`~workbench.server.exchange.browser_security.BrowserSecurityMiddleware`, in
alternating blocks, and reports the median CPU time (``time.process_time``) per
``GET /v2/entities?limit=10`` and per ``GET /api/products`` for each.

Usage::

    .venv/bin/python benchmarks/bench_browser_security.py [--calls 2000] [--block 100]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from workbench.server.exchange.app import create_exchange_app
from workbench.server.exchange.browser_security import BrowserSecurityMiddleware
from workbench.server.exchange.service import ExchangeService

PASSWORD = "correct horse battery"


def _build(data_dir: Path) -> tuple[ExchangeService, str]:
    svc = ExchangeService.open(data_dir)
    org = svc.create_organization("Bench City")
    svc.create_account("p@bench.example", PASSWORD, name="P", role="provider", organization_id=org)
    buyer = svc.create_account("b@bench.example", PASSWORD, name="B", role="buyer")
    svc.create_product(
        id="bench", organization_id=org, title="Bench", description="", service="bench",
        entity_types=["Thing"], licence="CC BY 4.0", attribution="", update_frequency="",
    )  # fmt: skip
    svc.create_plan("bench", id="metered", name="M", kind="metered", price_per_1000_calls=1)
    svc.publish_terms("bench", version="1", text="t", permitted_purposes=[], prohibitions=[])
    svc.subscribe(buyer, "bench", "metered", purpose="benchmark", terms_version="1")
    entities = [
        {"id": f"T{i:03d}", "type": "Thing", "n": {"type": "Integer", "value": i}}
        for i in range(100)
    ]
    svc.broker.batch_update("bench", "/", "append", entities)
    _, key = svc.issue_api_key(buyer, label="bench", scopes=["data:read"])
    return svc, key


async def _cpu_per_call(app, key: str, path: str, n: int) -> list[float]:
    transport = httpx.ASGITransport(app=app)
    headers = {"X-API-Key": key, "Fiware-Service": "bench"}
    out = []
    async with httpx.AsyncClient(transport=transport, base_url="http://exchange") as client:
        for _ in range(n):
            t = time.process_time()
            r = await client.get(path, headers=headers)
            out.append(time.process_time() - t)
            assert r.status_code == 200, r.text
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--block", type=int, default=100)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        svc, key = _build(Path(tmp))
        with_mw = create_exchange_app(tmp, service=svc)
        without = create_exchange_app(tmp, service=svc)
        without.user_middleware = [
            m for m in without.user_middleware if m.cls is not BrowserSecurityMiddleware
        ]
        for path in ("/v2/entities?limit=10", "/api/products"):
            times: dict[str, list[float]] = {"with": [], "without": []}
            asyncio.run(_cpu_per_call(with_mw, key, path, 50))  # warm up
            asyncio.run(_cpu_per_call(without, key, path, 50))
            for _ in range(max(1, args.calls // args.block)):
                times["with"] += asyncio.run(_cpu_per_call(with_mw, key, path, args.block))
                times["without"] += asyncio.run(_cpu_per_call(without, key, path, args.block))
            med = {k: statistics.median(v) * 1000 for k, v in times.items()}
            print(
                f"{path:24s} median CPU per call: without {med['without']:.3f} ms, "
                f"with {med['with']:.3f} ms, difference {med['with'] - med['without']:+.3f} ms"
            )
        svc.close()


if __name__ == "__main__":
    main()
