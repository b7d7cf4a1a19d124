"""The ``workbench`` console command.

Each subsystem contributes its subcommands through an ``add_cli(subparsers)`` function, so this
module only wires them together:

- ``workbench broker``   the bare NGSI v2 broker (:mod:`workbench.server.broker.cli`)
- ``workbench serve``    the exchange with the embedded broker (``server.exchange.cli``)
- ``workbench users`` / ``workbench products``  admin tools (``server.exchange.cli``)
- ``workbench seed`` / ``workbench up``  Sapporo products and the whole product (``workbench.up``)
- ``workbench lab``      JupyterLab on the notebooks, connected to the exchange
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

_SUBSYSTEMS = (
    "workbench.server.broker.cli",
    "workbench.server.exchange.cli",
    "workbench.server.seed",
    "workbench.up",
    "workbench.lab",
)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every subsystem's subcommands registered."""
    parser = argparse.ArgumentParser(
        prog="workbench",
        description="Sapporo Data Commons Workbench: NGSI v2 broker, exchange and tools.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in _SUBSYSTEMS:
        importlib.import_module(module_name).add_cli(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``workbench`` command; each subcommand sets ``func`` returning an exit code."""
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
