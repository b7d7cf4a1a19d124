"""Benchmark the NGSI v2 broker on N point entities in one tenant.

Measures, against ``workbench broker`` on a local port:

- bulk load through ``POST /v2/op/update`` (1000-entity batches): entities/s;
- ``georel=near;maxDistance:800`` geo-query: median latency;
- a ``q``-filtered page of 1000 entities, normalized form: median latency;
- a whole type pulled as a client does (``type=Sensor&limit=1000&options=count``, offsets
  0, 1000, ... up to 100 pages), keyValues and normalized: median latency per page;
- single-entity ``GET /v2/entities/{id}`` throughput (``wrk`` if installed, else several
  httpx client processes).

Usage::

    python benchmarks/bench_broker.py --n 100000
    python benchmarks/bench_broker.py --n 1000000 --reuse   # keep the loaded database

The database goes to ``benchmarks/.data/`` (gitignored).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import orjson

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from servers import ServerProcess  # noqa: E402

DATA = REPO / "benchmarks" / ".data"
H = {"Fiware-Service": "bench", "Content-Type": "application/json"}
# Sapporo's built-up area, roughly
LON0, LON1, LAT0, LAT1 = 141.20, 141.50, 42.95, 43.15
CATEGORIES = [f"c{i}" for i in range(10)]


def _entity(i: int, rng: random.Random) -> dict:
    return {
        "id": f"urn:ngsi:Sensor:{i:07d}",
        "type": "Sensor",
        "temperature": {"type": "Number", "value": round(rng.uniform(-10, 35), 2)},
        "category": {"type": "Text", "value": rng.choice(CATEGORIES)},
        "dateObserved": {"type": "DateTime", "value": "2026-11-01T09:00:00.000Z"},
        "location": {"type": "geo:json", "value": {
            "type": "Point",
            "coordinates": [round(rng.uniform(LON0, LON1), 6), round(rng.uniform(LAT0, LAT1), 6)],
        }},
    }


def _batch_body(start: int, size: int) -> bytes:
    rng = random.Random(start)
    return orjson.dumps({"actionType": "append",
                         "entities": [_entity(i, rng) for i in range(start, start + size)]})


def bulk_load(url: str, n: int, *, batch: int = 1000, clients: int = 1) -> float:
    """Load n entities in batches; return entities/s.

    Payloads are generated before the clock starts, so the figure is the broker's; one
    client sends them back to back (a second client only competed for the same 2 cores).
    """
    bodies = [_batch_body(start, min(batch, n - start)) for start in range(0, n, batch)]

    def send(body: bytes) -> None:
        r = client.post("/v2/op/update", content=body, headers=H)
        if r.status_code != 204:
            raise RuntimeError(f"bulk load failed: {r.status_code} {r.text[:200]}")

    with httpx.Client(base_url=url, timeout=300) as client:
        t0 = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            for _ in pool.map(send, bodies):
                pass
        return n / (time.perf_counter() - t0)


def _median_ms(client: httpx.Client, requests: list[dict], *, expect: int | None = None
               ) -> tuple[float, float]:
    times, sizes = [], []
    for params in requests:
        t0 = time.perf_counter()
        r = client.get("/v2/entities", params=params, headers=H)
        times.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200, r.text[:200]
        sizes.append(len(r.json()))
        if expect is not None:
            assert sizes[-1] == expect, (params, sizes[-1])
    return statistics.median(times), statistics.mean(sizes)


def near_queries(url: str, runs: int = 200) -> tuple[float, float]:
    rng = random.Random(1)
    reqs = [{"georel": "near;maxDistance:800", "geometry": "point",
             "coords": f"{rng.uniform(LAT0 + .01, LAT1 - .01):.5f},"
                       f"{rng.uniform(LON0 + .01, LON1 - .01):.5f}"} for _ in range(runs)]
    with httpx.Client(base_url=url, timeout=60) as client:
        _median_ms(client, reqs[:10])
        return _median_ms(client, reqs)


def q_pages(url: str, runs: int = 50) -> tuple[float, float]:
    rng = random.Random(2)
    reqs = [{"type": "Sensor", "limit": "1000",
             "q": f"temperature>{rng.uniform(-10, 5):.1f};category=={rng.choice(CATEGORIES)}"}
            for _ in range(runs)]
    with httpx.Client(base_url=url, timeout=60) as client:
        _median_ms(client, reqs[:5])
        return _median_ms(client, reqs, expect=1000)


def type_pages(url: str, n: int, *, key_values: bool, pages: int = 100) -> tuple[float, float]:
    """Pull up to ``pages`` pages of 1000 in order; return (median ms per page, total s)."""
    options = "count,keyValues" if key_values else "count"
    times = []
    with httpx.Client(base_url=url, timeout=60) as client:
        t0 = time.perf_counter()
        for offset in range(0, min(n, pages * 1000), 1000):
            t = time.perf_counter()
            r = client.get("/v2/entities", headers=H, params={
                "type": "Sensor", "limit": "1000", "offset": str(offset), "options": options})
            times.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200 and r.headers["fiware-total-count"] == str(n), r.text[:200]
            assert len(orjson.loads(r.content)) == min(1000, n - offset)
        return statistics.median(times), time.perf_counter() - t0


_LUA = """
math.randomseed(42)
wrk.headers["Fiware-Service"] = "bench"
request = function()
  return wrk.format("GET", string.format("/v2/entities/urn:ngsi:Sensor:%%07d", math.random(0, %d)))
end
"""


def _get_worker(url: str, n: int, seconds: float, out: mp.Queue) -> None:
    rng = random.Random(os.getpid())
    done = 0
    with httpx.Client(base_url=url, timeout=10, headers=H) as client:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            r = client.get(f"/v2/entities/urn:ngsi:Sensor:{rng.randrange(n):07d}")
            assert r.status_code == 200
            done += 1
    out.put(done)


def get_throughput(url: str, n: int, *, seconds: float = 10.0, connections: int = 8
                   ) -> tuple[float, str]:
    """Single-entity GET requests per second with random ids."""
    wrk = shutil.which("wrk")
    if wrk:
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
            f.write(_LUA % (n - 1))
        out = subprocess.run([wrk, "-t1", f"-c{connections}", f"-d{int(seconds)}s", "-s", f.name,
                              url], capture_output=True, text=True, check=True).stdout
        os.unlink(f.name)
        for line in out.splitlines():
            if line.startswith("Requests/sec:"):
                non2xx = [x for x in out.splitlines() if "Non-2xx" in x]
                assert not non2xx, out
                return float(line.split()[1]), f"wrk -t1 -c{connections}"
        raise RuntimeError(out)
    q: mp.Queue = mp.Queue()
    procs = [mp.Process(target=_get_worker, args=(url, n, seconds, q)) for _ in range(3)]
    for p in procs:
        p.start()
    total = sum(q.get() for _ in procs)
    for p in procs:
        p.join()
    return total / seconds, "3 httpx client processes"


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) used so far by process ``pid`` (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _Cpu:
    """Server CPU time spent inside a ``with`` block: robust to other load on the machine."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def __enter__(self) -> _Cpu:
        self.start = _cpu_s(self.pid)
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = _cpu_s(self.pid) - self.start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="number of point entities")
    parser.add_argument("--reuse", action="store_true",
                        help="reuse an already loaded database (skip the bulk load)")
    parser.add_argument("--seconds", type=float, default=10.0, help="GET throughput duration")
    args = parser.parse_args(argv)
    DATA.mkdir(parents=True, exist_ok=True)
    db = DATA / f"broker-{args.n}.db"
    if not args.reuse:
        for suffix in ("", "-wal", "-shm"):
            Path(str(db) + suffix).unlink(missing_ok=True)
    print(f"# broker benchmark, n={args.n:,}, {time.strftime('%Y-%m-%d %H:%M')}, "
          f"{os.cpu_count()} cores")
    with ServerProcess(["broker", "--db", str(db)], timeout_s=120) as server:
        pid = server.proc.pid
        if not args.reuse:
            with _Cpu(pid) as cpu:
                rate = bulk_load(server.url, args.n)
            print(f"bulk load /v2/op/update (1000/batch): {rate:,.0f} entities/s wall; "
                  f"{args.n / cpu.seconds:,.0f} entities per broker CPU-second")
        size_mb, wal_mb = (Path(str(db) + s).stat().st_size / 1e6
                           if Path(str(db) + s).exists() else 0.0 for s in ("", "-wal"))
        print(f"database size: {size_mb:,.0f} MB (+ {wal_mb:,.0f} MB WAL not yet checkpointed)")
        with _Cpu(pid) as cpu:
            med, mean_hits = near_queries(server.url)
        print(f"near;maxDistance:800 median: {med:.2f} ms wall ({mean_hits:.1f} entities/"
              f"response, default limit 20); broker CPU {cpu.seconds / 210 * 1000:.2f} ms/query")
        with _Cpu(pid) as cpu:
            med, _ = q_pages(server.url)
        print(f"q-filtered 1000-entity page, normalized, median: {med:.2f} ms wall; "
              f"broker CPU {cpu.seconds / 55 * 1000:.2f} ms/query")
        for key_values in (True, False):
            pages = min(100, -(-args.n // 1000))
            with _Cpu(pid) as cpu:
                med, total_s = type_pages(server.url, args.n, key_values=key_values)
            print(f"type page of 1000, {'keyValues' if key_values else 'normalized'}, "
                  f"median: {med:.2f} ms wall ({pages} pages in {total_s:.2f} s); "
                  f"broker CPU {cpu.seconds / pages * 1000:.2f} ms/page")
        with _Cpu(pid) as cpu:
            rps, how = get_throughput(server.url, args.n, seconds=args.seconds)
        print(f"single-entity GET: {rps:,.0f} req/s wall ({how}, random ids); "
              f"{rps * args.seconds / cpu.seconds:,.0f} req per broker CPU-second")
        print(f"load average: {os.getloadavg()[0]:.1f} (other work on the machine)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
