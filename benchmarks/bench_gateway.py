"""Gateway overhead over the bare broker, and authorised calls per second.

Starts ``workbench broker`` and ``workbench serve`` on free ports over the same entities
(100 wards-like entities in tenant ``bench``), then

1. per-call latency: N sequential ``GET /v2/entities?limit=10`` against each, median and p95
   (the gateway's median minus the broker's is the overhead of authorisation, limits,
   metering and the in-process hop);
2. throughput: C concurrent clients hammering the gateway for T seconds with an API key.

Usage::

    .venv/bin/python benchmarks/bench_gateway.py [--calls 2000] [--clients 8] [--seconds 10]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from servers import ServerProcess  # noqa: E402

from workbench.server.exchange.service import ExchangeService  # noqa: E402

PATH = "/v2/entities"
PARAMS = {"limit": 10}


def _entities(n: int) -> list[dict]:
    return [
        {
            "id": f"urn:ngsi-ld:Place:{i:04d}",
            "type": "Place",
            "name": {"type": "Text", "value": f"Place {i}"},
            "population": {"type": "Integer", "value": i},
            "location": {
                "type": "geo:json",
                "value": {"type": "Point", "coordinates": [141.3, 43.0]},
            },
        }
        for i in range(n)
    ]


def _prepare(data_dir: Path) -> str:
    svc = ExchangeService.open(data_dir)
    org = svc.create_organization("Bench provider")
    svc.create_product(
        id="bench",
        organization_id=org,
        title="Bench",
        description="benchmark entities",
        service="bench",
        entity_types=["Place"],
        licence="CC0",
        attribution="-",
        update_frequency="never",
    )
    svc.create_plan(
        "bench",
        id="metered",
        name="Metered",
        kind="metered",
        price_per_1000_calls=100,
        rate_limit_per_s=100_000,
    )
    svc.publish_terms("bench", version="1", text="-", permitted_purposes=["any"], prohibitions=[])
    svc.broker.batch_update("bench", "/", "append", _entities(100))
    buyer = svc.create_account("bench@example.org", "benchmark-pass", name="Bench", role="buyer")
    svc.subscribe(buyer, "bench", "metered", purpose="benchmark", terms_version="1")
    _, key = svc.issue_api_key(buyer, label="bench")
    svc.close()
    return key


def _latencies(url: str, headers: dict, calls: int) -> list[float]:
    out = []
    with httpx.Client(base_url=url, headers=headers, timeout=30) as http:
        for _ in range(50):  # warm-up
            http.get(PATH, params=PARAMS).raise_for_status()
        for _ in range(calls):
            t0 = time.perf_counter()
            r = http.get(PATH, params=PARAMS)
            out.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200, r.text
    return out


def _throughput(url: str, headers: dict, clients: int, seconds: float) -> tuple[int, int]:
    counts = [0] * clients
    errors = [0] * clients
    stop = time.monotonic() + seconds

    def run(i: int) -> None:
        with httpx.Client(base_url=url, headers=headers, timeout=30) as http:
            while time.monotonic() < stop:
                r = http.get(PATH, params=PARAMS)
                if r.status_code == 200:
                    counts[i] += 1
                else:
                    errors[i] += 1

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts), sum(errors)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=10.0)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        key = _prepare(data_dir)
        broker = ServerProcess(["broker", "--db", str(data_dir / "broker.db")])
        gateway = ServerProcess(["serve", "--data-dir", str(data_dir)])
        with broker, gateway:
            bare = _latencies(broker.url, {"Fiware-Service": "bench"}, args.calls)
            gated = _latencies(
                gateway.url, {"Fiware-Service": "bench", "X-API-Key": key}, args.calls
            )
            ok, errors = _throughput(
                gateway.url,
                {"Fiware-Service": "bench", "X-API-Key": key},
                args.clients,
                args.seconds,
            )
            usage = httpx.get(gateway.url + "/api/usage", headers={"X-API-Key": key}).json()

    def q(xs: list[float], p: float) -> float:
        return statistics.quantiles(xs, n=100)[int(p) - 1]

    b_med, g_med = statistics.median(bare), statistics.median(gated)
    print(f"bare broker   : median {b_med:.2f} ms, p95 {q(bare, 95):.2f} ms ({args.calls} calls)")
    print(f"via gateway   : median {g_med:.2f} ms, p95 {q(gated, 95):.2f} ms ({args.calls} calls)")
    print(f"overhead      : median {g_med - b_med:.2f} ms per call")
    print(
        f"throughput    : {ok / args.seconds:.0f} authorised calls/s with {args.clients} clients "
        f"({errors} errors)"
    )
    metered = sum(u["calls"] for u in usage)
    print(f"metered calls : {metered} (= {50 + args.calls + ok} expected)")
    return 0 if metered == 50 + args.calls + ok else 1


if __name__ == "__main__":
    sys.exit(main())
