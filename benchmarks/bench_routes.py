"""What the gateway's path normalisation and allow-list add to one call (in-process).

Times :func:`workbench.server.routes.normalise_path` followed by ``READ.allows`` on a plain
path, a long entity-attribute path and one with dot segments and escapes (best of 3 runs).

Usage::

    .venv/bin/python benchmarks/bench_routes.py [--number 100000]
"""

from __future__ import annotations

import argparse
import timeit

from workbench.server.routes import READ, normalise_path

PATHS = [
    b"/v2/entities",
    b"/v2/entities/urn:ngsi-ld:AdministrativeArea:01/attrs/population",
    b"/v2/./entities/x/../urn%3Angsi-ld%3AX%3A1",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=100_000)
    args = parser.parse_args(argv)
    for raw in PATHS:

        def call(raw: bytes = raw) -> bool:
            return READ.allows("GET", normalise_path(raw).path)

        best = min(timeit.repeat(call, number=args.number, repeat=3)) / args.number
        print(f"{best * 1e6:7.2f} µs  {raw.decode()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
