"""What recording a served call durably costs: the usage ledger's group commit, in process.

For each SQLite ``synchronous`` mode (NORMAL: survives kill -9; FULL: also a power loss),
on a fresh ``exchange.db``:

1. latency: N sequential ``await meter.arecord(...)`` (one call per group), median and p95;
2. throughput: C concurrent callers for T seconds, calls/s (all recorded).

Usage::

    .venv/bin/python benchmarks/bench_metering.py [--calls 500] [--callers 64] [--seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

from workbench.server.exchange import db
from workbench.server.exchange.metering import Meter


async def _latencies(meter: Meter, calls: int) -> list[float]:
    out = []
    for _ in range(calls):
        t0 = time.perf_counter()
        await meter.arecord("sub_lat", entities=10, nbytes=3000)
        out.append((time.perf_counter() - t0) * 1000)
    return out


async def _throughput(meter: Meter, callers: int, seconds: float) -> int:
    stop = time.monotonic() + seconds
    done = [0]

    async def caller(i: int) -> None:
        while time.monotonic() < stop:
            await meter.arecord(f"sub_{i % 8}", entities=10, nbytes=3000)
            done[0] += 1

    await asyncio.gather(*(caller(i) for i in range(callers)))
    return done[0]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=500)
    ap.add_argument("--callers", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=5.0)
    args = ap.parse_args()
    for mode in ("NORMAL", "FULL"):
        with tempfile.TemporaryDirectory() as tmp:
            engine = db.open_engine(Path(tmp) / "exchange.db")
            meter = Meter(engine, synchronous=mode)
            lat = asyncio.run(_latencies(meter, args.calls))
            calls = asyncio.run(_throughput(meter, args.callers, args.seconds))
            meter.close()
            with engine.connect() as conn:
                stored = sum(r.calls for r in conn.execute(db.usage.select()))
            engine.dispose()
        lat.sort()
        print(
            f"synchronous={mode:6}: one call {statistics.median(lat):.2f} ms median "
            f"(p95 {lat[int(len(lat) * 0.95)]:.2f}); {calls / args.seconds:,.0f} calls/s "
            f"with {args.callers} concurrent callers; stored {stored} = {args.calls + calls}"
        )
    print(f"load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
