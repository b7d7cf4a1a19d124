"""``workbench serve``, ``workbench users`` and ``workbench products``."""

from __future__ import annotations

import argparse


def add_cli(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("serve", help="run the exchange with the embedded broker")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--data-dir", default=".workbench")
    p.set_defaults(func=_serve)


def _serve(args: argparse.Namespace) -> int:
    raise SystemExit("workbench serve: not implemented yet")
