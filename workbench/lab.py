"""``workbench lab``: JupyterLab on the curated notebooks, already connected to the exchange.

Planners explore in JupyterLab. This command opens it on ``notebooks/`` with the environment
that :func:`workbench.connect` reads (``WORKBENCH_URL`` and ``WORKBENCH_API_KEY``), taking the
key of a demo account from the seeded data directory, so ``ex = wb.connect()`` works in the
first cell and no secret is written in a notebook. A key or URL already set in the
environment wins. JupyterLab's own token authentication stays on.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import httpx

from .demo import demo_api_key

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def add_cli(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "lab", help="JupyterLab on the notebooks, connected to the exchange (make lab)"
    )
    p.add_argument("--url", default=None,
                   help="exchange URL (default: $WORKBENCH_URL or http://127.0.0.1:8000)")
    p.add_argument("--data-dir", default=".workbench",
                   help="seeded data directory holding demo-credentials.json")
    p.add_argument("--role", default="planner",
                   help="demo account whose API key the notebooks use (planner, researcher, "
                        "trainer, provider, public)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8888)
    p.add_argument("--notebook-dir", default=str(NOTEBOOKS))
    p.add_argument("--token", default=None,
                   help="JupyterLab access token (default: JupyterLab generates one)")
    p.set_defaults(func=_lab)


def lab_environment(
    *, url: str | None, data_dir: str | Path, role: str, environ: dict[str, str] | None = None
) -> dict[str, str]:
    """Return the environment JupyterLab's kernels get.

    Parameters
    ----------
    url
        The exchange URL, or None for ``$WORKBENCH_URL`` (else ``http://127.0.0.1:8000``).
    data_dir
        The seeded data directory with ``demo-credentials.json``.
    role
        The demo account whose API key is used when ``WORKBENCH_API_KEY`` is not already set.
    environ
        The starting environment (default: ``os.environ``).

    Returns
    -------
    dict
        ``environ`` with ``WORKBENCH_URL``, ``PYTHONSTARTUP`` (the offline-folium start-up
        file) and, when a key is known, ``WORKBENCH_API_KEY``.
    """
    env = dict(os.environ if environ is None else environ)
    env["WORKBENCH_URL"] = url or env.get("WORKBENCH_URL") or "http://127.0.0.1:8000"
    # Kernels run this first: folium maps and GeoDataFrame.explore() then load the vendored
    # Leaflet, not a CDN (ADR 0150). A user's own startup file still runs, after it.
    startup = str(Path(__file__).with_name("_lab_startup.py"))
    if env.get("PYTHONSTARTUP") and env["PYTHONSTARTUP"] != startup:
        env["WORKBENCH_USER_PYTHONSTARTUP"] = env["PYTHONSTARTUP"]
    env["PYTHONSTARTUP"] = startup
    if not env.get("WORKBENCH_API_KEY") and not env.get("WORKBENCH_CLIENT_ID"):
        key = demo_api_key(data_dir, role)
        if key:
            env["WORKBENCH_API_KEY"] = key
    return env


def _lab(args: argparse.Namespace) -> int:
    env = lab_environment(url=args.url, data_dir=args.data_dir, role=args.role)
    url = env["WORKBENCH_URL"]
    try:
        httpx.get(url + "/version", timeout=2.0)
    except httpx.HTTPError:
        print(f"workbench lab: no exchange answers at {url}; start it with `make run` in "
              "another terminal (the notebooks need it).", file=sys.stderr)
    if "WORKBENCH_API_KEY" in env or "WORKBENCH_CLIENT_ID" in env:
        print(f"workbench lab: notebooks connect to {url} (credential from the environment or "
              f"the demo {args.role!r} account).")
    else:
        print(f"workbench lab: no credential found in {args.data_dir}; seed it with "
              "`workbench seed` or set WORKBENCH_API_KEY.", file=sys.stderr)
    argv = [sys.executable, "-m", "jupyterlab", "--no-browser",
            f"--ServerApp.ip={args.host}", f"--ServerApp.port={args.port}",
            f"--ServerApp.root_dir={args.notebook_dir}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # containers often run as root
        argv.append("--allow-root")
    if args.token is not None:
        argv.append(f"--IdentityProvider.token={args.token}")
    sys.stdout.flush()
    os.execve(sys.executable, argv, env)
    return 0  # pragma: no cover - execve does not return
