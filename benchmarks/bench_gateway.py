"""Gateway overhead over the bare broker, and authorised calls per second.

Starts ``workbench broker`` and ``workbench serve`` on free ports over the same entities
(100 wards-like entities in tenant ``bench``), then

1. per-call latency: N sequential ``GET /v2/entities?limit=10`` against each, median and p95
   (the gateway's median minus the broker's is the overhead of authorisation, limits,
   metering and the in-process hop);
2. large pages: R rounds over the P keyValues pages of 1000 of P x 1000 bus-stop-like
   entities (point + 10 attributes, ~330 kB a page), mean per page against each (the mean:
   a garbage collection every few pages is part of the cost);
3. throughput: C concurrent clients hammering the gateway for T seconds with an API key.

Usage::

    .venv/bin/python benchmarks/bench_gateway.py [--calls 2000] [--clients 8] [--seconds 10]
        [--pages 20] [--rounds 3]
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


def _stops(start: int, n: int) -> list[dict]:
    return [
        {
            "id": f"urn:ngsi-ld:Stop:{i:06d}",
            "type": "Stop",
            "riders": {"type": "Number", "value": i % 5000},
            "capacity": {"type": "Number", "value": i % 40},
            "share": {"type": "Number", "value": (i % 997) / 997},
            "temperature": {"type": "Number", "value": round((i % 300) / 10 - 10, 2)},
            "open": {"type": "Boolean", "value": i % 5 != 0},
            "accessible": {"type": "Boolean", "value": i % 2 == 0},
            "name": {"type": "Text", "value": f"Stop {i}"},
            "ward": {"type": "Text", "value": ("Chuo", "Kita", "Higashi")[i % 3]},
            "operator": {"type": "Text", "value": "Jotetsu"},
            "updated": {"type": "DateTime", "value": "2026-03-01T12:00:00.000Z"},
            "location": {
                "type": "geo:json",
                "value": {"type": "Point", "coordinates": [141.2 + i % 300 / 1000, 43.0]},
            },
        }
        for i in range(start, start + n)
    ]


def _prepare(data_dir: Path, pages: int) -> str:
    svc = ExchangeService.open(data_dir)
    org = svc.create_organization("Bench provider")
    buyer = svc.create_account("bench@example.org", "benchmark-pass", name="Bench", role="buyer")
    # small calls on 100 places (tenant "bench"), large pages on the stops ("benchpages")
    for product, types in (("bench", ["Place"]), ("benchpages", ["Stop"])):
        svc.create_product(
            id=product,
            organization_id=org,
            title=product,
            description="benchmark entities",
            service=product,
            entity_types=types,
            licence="CC0",
            attribution="-",
            update_frequency="never",
        )
        svc.create_plan(
            product,
            id="metered",
            name="Metered",
            kind="metered",
            price_per_1000_calls=100,
            rate_limit_per_s=100_000,
        )
        svc.publish_terms(
            product, version="1", text="-", permitted_purposes=["any"], prohibitions=[]
        )
        svc.subscribe(buyer, product, "metered", purpose="benchmark", terms_version="1")
    svc.broker.batch_update("bench", "/", "append", _entities(100))
    for start in range(0, pages * 1000, 1000):
        svc.broker.batch_update("benchpages", "/", "append", _stops(start, 1000))
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


def _page_latencies(url: str, headers: dict, pages: int, rounds: int) -> list[float]:
    out = []
    with httpx.Client(base_url=url, headers=headers, timeout=60) as http:
        for round_ in range(rounds + 1):  # the first round warms up
            for offset in range(0, pages * 1000, 1000):
                params = {"type": "Stop", "limit": 1000, "offset": offset, "options": "keyValues"}
                t0 = time.perf_counter()
                r = http.get(PATH, params=params)
                if round_:
                    out.append((time.perf_counter() - t0) * 1000)
                assert r.status_code == 200 and len(r.content) > 100_000, r.text[:200]
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
    ap.add_argument("--pages", type=int, default=50, help="large pages of 1000 entities")
    ap.add_argument("--rounds", type=int, default=3, help="passes over the large pages")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        key = _prepare(data_dir, args.pages)
        broker = ServerProcess(["broker", "--db", str(data_dir / "broker.db")])
        gateway = ServerProcess(["serve", "--data-dir", str(data_dir)])
        with broker, gateway:
            bare = _latencies(broker.url, {"Fiware-Service": "bench"}, args.calls)
            gated = _latencies(
                gateway.url, {"Fiware-Service": "bench", "X-API-Key": key}, args.calls
            )
            bare_pages = _page_latencies(
                broker.url, {"Fiware-Service": "benchpages"}, args.pages, args.rounds
            )
            gated_pages = _page_latencies(
                gateway.url,
                {"Fiware-Service": "benchpages", "X-API-Key": key},
                args.pages,
                args.rounds,
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
    # the mean, not the median: a full garbage collection every few pages is part of the cost
    bp_mean, gp_mean = statistics.fmean(bare_pages), statistics.fmean(gated_pages)
    n_pages = len(bare_pages)
    print(f"large page    : bare mean {bp_mean:.1f} ms (p95 {q(bare_pages, 95):.1f}), gateway")
    print(f"                mean {gp_mean:.1f} ms (p95 {q(gated_pages, 95):.1f}) over {n_pages}")
    print(f"                keyValues pages of 1000: overhead {gp_mean - bp_mean:.2f} ms per page")
    print(
        f"throughput    : {ok / args.seconds:.0f} authorised calls/s with {args.clients} clients "
        f"({errors} errors)"
    )
    metered = sum(u["calls"] for u in usage)
    expected = 50 + args.calls + (args.rounds + 1) * args.pages + ok
    print(f"metered calls : {metered} (= {expected} expected)")
    return 0 if metered == expected else 1


if __name__ == "__main__":
    sys.exit(main())
