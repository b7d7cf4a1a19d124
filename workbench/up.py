"""``workbench up``: the whole product on its embedded default, in one command.

Seeds the Sapporo data products if the data directory is empty, starts the exchange
(``workbench serve``) and the Voilà dashboards server, prints where everything is, and stops
both cleanly on Ctrl-C / SIGTERM.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from .demo import demo_api_key

#: Preheated kernels per dashboard: a visitor takes a warm one (controls at once) while the
#: next warms (docs/adr/0153-dashboards-ready-when-warm.md).
DEFAULT_POOL_SIZE = 1


def add_cli(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "up", help="seed if empty, then start the exchange and the dashboards (make run)"
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000, help="exchange port")
    p.add_argument("--dashboards-port", type=int, default=8866, help="Voilà port")
    p.add_argument("--data-dir", default=".workbench")
    p.add_argument("--no-dashboards", action="store_true", help="start the exchange only")
    p.add_argument(
        "--pool-size",
        type=int,
        default=DEFAULT_POOL_SIZE,
        help="preheated kernels kept ready per dashboard (default %(default)s)",
    )
    p.set_defaults(func=_up)


def _wait_until_up(url: str, proc: subprocess.Popen, *, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"workbench up: the {what} exited (code {proc.returncode}).")
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit(f"workbench up: the {what} did not answer at {url} in {timeout_s:.0f} s.")


def wait_until_warm(
    dashboards_url: str, proc: subprocess.Popen, *, timeout_s: float
) -> bool:
    """Wait until every dashboard has a preheated kernel that has run its notebook.

    Polls ``/workbench/ready``; returns ``False`` when ``timeout_s`` passes first (the
    landing page then says the dashboards are warming up). Raises ``SystemExit`` when the
    server exits.
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            code = proc.returncode
            raise SystemExit(f"workbench up: the dashboards server exited (code {code}).")
        try:
            if httpx.get(dashboards_url + "workbench/ready", timeout=2.0).json().get("ready"):
                return True
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.5)
    return False


def _stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


def _up(args: argparse.Namespace) -> int:
    from workbench.server._files import use_private_umask
    from workbench.server.seed import is_seeded, seed

    use_private_umask()
    data_dir = Path(args.data_dir).resolve()
    started = time.monotonic()
    if not is_seeded(data_dir):
        print(f"Seeding the Sapporo data products into {data_dir} (first run only) ...")
        seed(data_dir)
    exchange_url = f"http://{args.host}:{args.port}"
    procs: list[subprocess.Popen] = []
    stopping = False

    def _on_signal(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    try:
        serve = [sys.executable, "-m", "workbench", "serve", "--host", args.host]
        serve += ["--port", str(args.port), "--data-dir", str(data_dir)]
        procs.append(subprocess.Popen(serve))
        _wait_until_up(exchange_url + "/version", procs[0], timeout_s=60, what="exchange")
        dashboards_url = None
        if not args.no_dashboards:
            from workbench.dashboards import serve_dashboards

            env = {**os.environ, "WORKBENCH_URL": exchange_url}
            key = demo_api_key(data_dir, "public")
            if key:
                env["WORKBENCH_API_KEY"] = key
            voila = serve_dashboards(
                dashboards_dir=Path(__file__).resolve().parents[1] / "dashboards",
                port=args.dashboards_port,
                host=args.host,
                env=env,
                pool_size=args.pool_size,
            )
            procs.append(voila)
            dashboards_url = f"http://{args.host}:{args.dashboards_port}/"
            _wait_until_up(dashboards_url, voila, timeout_s=60, what="dashboards server")
            if args.pool_size > 0:
                print("Warming up the dashboards (each runs once before anyone visits) ...")
                if not wait_until_warm(dashboards_url, voila, timeout_s=300):
                    print("  still warming after 300 s; the landing page says so until ready")
        print()
        print(f"Sapporo Data Commons Workbench is up ({time.monotonic() - started:.1f} s).")
        print(f"  Exchange portal : {exchange_url}/")
        print(f"  NGSI v2 API     : {exchange_url}/v2  (Fiware-Service selects the product)")
        print(f"  API docs        : {exchange_url}/docs")
        if dashboards_url:
            print(f"  Dashboards      : {dashboards_url}")
        print(f"  Demo credentials: {data_dir / 'demo-credentials.md'}")
        print("Press Ctrl-C to stop.")
        while not stopping and all(p.poll() is None for p in procs):
            time.sleep(0.5)
    finally:
        _stop(procs)
    return 0
