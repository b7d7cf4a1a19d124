"""``workbench seed`` and ``workbench up``: the Sapporo products and the whole product."""

from __future__ import annotations

import argparse


def add_cli(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("up", help="seed if empty, start the exchange and dashboards")
    p.add_argument("--data-dir", default=".workbench")
    p.set_defaults(func=_up)


def _up(args: argparse.Namespace) -> int:
    raise SystemExit("workbench up: not implemented yet")
