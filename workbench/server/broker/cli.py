"""``workbench broker``: the bare NGSI v2 broker, no authentication, like Orion."""

from __future__ import annotations

import argparse
import importlib.util
import signal


def add_cli(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("broker", help="run the bare NGSI v2 broker (no authentication)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=1026)
    p.add_argument("--db", default=".workbench/broker.db", help="SQLite database file")
    p.add_argument("--sync", default="NORMAL", choices=["NORMAL", "FULL"],
                   help="SQLite synchronous mode: NORMAL survives kill -9, FULL power loss")
    p.add_argument("--query-budget-s", type=_seconds, default=None, metavar="SECONDS",
                   help="stop a query after this long and answer 400 (default: "
                        "$WORKBENCH_QUERY_BUDGET_S, else 15)")
    p.set_defaults(func=_run)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    return value


def _run(args: argparse.Namespace) -> int:
    import uvicorn

    from workbench.server._files import use_private_umask
    from workbench.server._gc import tune_gc_for_serving, tune_gil_for_serving

    from . import Broker, create_broker_app, open_store

    use_private_umask()

    class _Server(uvicorn.Server):
        """Stop gracefully on SIGINT/SIGTERM and exit 0 (uvicorn would re-raise the signal)."""

        def handle_exit(self, sig: int, frame: object) -> None:
            if self.should_exit and sig == signal.SIGINT:
                self.force_exit = True
            self.should_exit = True

    store = open_store(args.db, synchronous=args.sync, query_budget_s=args.query_budget_s)
    app = create_broker_app(Broker(store))
    tune_gc_for_serving()
    tune_gil_for_serving()
    have = importlib.util.find_spec
    config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        access_log=False,
        log_level="warning",
        http="httptools" if have("httptools") else "h11",
        loop="uvloop" if have("uvloop") else "asyncio",
        lifespan="off",
    )
    try:
        _Server(config).run()
    finally:
        store.close()
    return 0
