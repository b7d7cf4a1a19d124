"""Time `workbench seed` (the full default catalog) into a fresh data directory.

    .venv/bin/python benchmarks/bench_seed.py [--repeat N] [--keep DIR]

Prints the seconds of each product (build + load + quality) and of the whole seed, then the
time of a second call on the seeded directory (which must be a no-op).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from workbench.server.seed import seed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--keep", help="seed into this directory and keep it")
    args = parser.parse_args()
    totals, per_product = [], {}
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            data_dir = Path(args.keep or tmp)
            started = time.perf_counter()
            report = seed(data_dir, force=True, progress=lambda line: None)
            totals.append(time.perf_counter() - started)
            for pid, info in report["products"].items():
                per_product.setdefault(pid, []).append(info["seconds"])
            again = time.perf_counter()
            seed(data_dir, progress=lambda line: None)
            second = time.perf_counter() - again
    print("| product | entities | history updates | median (s) |")
    print("|---|---|---|---|")
    for pid, values in per_product.items():
        info = report["products"][pid]
        print(f"| {pid} | {info['entities']:,} | {info['history_updates']:,} "
              f"| {statistics.median(values):.1f} |")
    print(f"| **total seed** | | | **{statistics.median(totals):.1f}** |")
    print(f"| second call (already seeded) | | | {second:.2f} |")


if __name__ == "__main__":
    main()
