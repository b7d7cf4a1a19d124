"""``workbench broker``: the bare NGSI v2 broker, no authentication, like Orion."""

from __future__ import annotations

import argparse


def add_cli(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("broker", help="run the bare NGSI v2 broker (no authentication)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=1026)
    p.add_argument("--db", default=".workbench/broker.db", help="SQLite database file")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    raise SystemExit("workbench broker: not implemented yet")
