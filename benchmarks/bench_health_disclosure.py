"""Time the joint disclosure control of the health aggregate and the intruder's LP audit.

Usage: ``.venv/bin/python benchmarks/bench_health_disclosure.py [--participants 3000]``

Prints seconds for generating the programme, protecting the aggregate (all months together,
``suppress_linked_cells``) and attacking it (``tests/sdc_attack.feasible_ranges``), and the
share of cells suppressed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from sdc_attack import feasible_ranges  # noqa: E402

from workbench.dashboards import health  # noqa: E402
from workbench.datasets.health_points import (  # noqa: E402
    aggregate_health_points,
    generate_health_points,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=20261126)
    args = parser.parse_args()
    t0 = time.perf_counter()
    programme = generate_health_points(
        n_participants=args.participants, n_comparison=args.participants, seed=args.seed
    )
    t1 = time.perf_counter()
    table = aggregate_health_points(programme)
    t2 = time.perf_counter()
    ranges = feasible_ranges(health.normalise_health_table(table))
    t3 = time.perf_counter()
    print(f"load average {os.getloadavg()[0]:.1f}")
    print(f"generate {t1 - t0:.1f} s, protect {t2 - t1:.1f} s, attack {t3 - t2:.1f} s")
    exact = int((ranges["high"] - ranges["low"] < 0.5).sum())
    print(f"cells {len(table)}, suppressed {int(table['suppressed'].sum())} "
          f"({table['suppressed'].mean():.1%}), exactly derivable {exact}")


if __name__ == "__main__":
    main()
