"""``workbench seed``: load the Sapporo data products into an exchange's data directory."""

from __future__ import annotations

import argparse


def add_cli(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("seed", help="(re)seed the Sapporo data products")
    p.add_argument("--data-dir", default=".workbench")
    p.set_defaults(func=_seed)


def _seed(args: argparse.Namespace) -> int:
    raise SystemExit("workbench seed: not implemented yet")
