"""Serve the public dashboards (``dashboards/*.ipynb``) with Voilà, offline, behind a landing page.

One Voilà server (:mod:`workbench.dashboards._voila_app`, Voilà with kernel limits) renders
every notebook in the dashboards directory:

- sources stripped (the public sees outputs and widgets, never code);
- one preheated kernel per dashboard (the notebook is executed before anyone asks, so the
  first page is served at once); a new one is started when it is taken;
- kernels only for browsers that run the page (a request without JavaScript gets a small
  page, no kernel), at most ``max_kernels`` visitor kernels in total and
  ``max_kernels_per_client`` per client address, and a kernel whose page never connects is
  shut down after ``connect_timeout_s`` (docs/adr/0117-voila-kernel-limits.md);
- a kernel whose page is open is never culled; closed pages shut their kernel down, and
  disconnected idle kernels are culled after ``cull_idle_timeout_s``; if a page's kernel is
  gone anyway, the page says so and reloads on one click (docs/adr/0118);
- the ``workbench`` Voilà template: Voilà's lab template without its CDN links (Font Awesome
  is bundled in voila.js anyway), a link back to the landing page, and a landing page at
  ``/`` that lists each dashboard with a description and the data attribution.

The exchange URL and the public read-only credential reach the dashboard kernels through
the environment (``WORKBENCH_URL``, ``WORKBENCH_API_KEY``), never through the notebooks.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

__all__ = ["serve_dashboards", "voila_command", "voila_environment"]

TEMPLATE_NAME = "workbench"
_JUPYTER_DATA = Path(__file__).resolve().parents[1] / "static" / "jupyter"
DEFAULT_DASHBOARDS_DIR = Path(__file__).resolve().parents[2] / "dashboards"


def voila_command(
    *,
    dashboards_dir: str | os.PathLike[str],
    port: int,
    host: str = "127.0.0.1",
    base_url: str = "/",
    pool_size: int = 1,
    max_kernels: int = 12,
    max_kernels_per_client: int = 3,
    connect_timeout_s: float = 60,
    cull_idle_timeout_s: int = 600,
    cull_interval_s: int = 60,
    theme: str = "light",
) -> list[str]:
    """Return the ``voila`` command line that serves every notebook in ``dashboards_dir``.

    Parameters
    ----------
    dashboards_dir : path
        Directory holding the dashboard notebooks (``*.ipynb``, outputs stripped).
    port, host : int, str
        Where Voilà listens.
    base_url : str
        URL prefix when served behind a proxy (``"/"`` by default).
    pool_size : int
        Preheated kernels kept ready per dashboard; 0 disables preheating.
    max_kernels, max_kernels_per_client : int
        Visitor kernels allowed at once in total and per client address; a visit over a
        cap gets 503 and a page that says so. Preheated kernels come on top. The defaults
        (12 + one per dashboard, 250-450 MB each) keep the dashboards under ~7 GB of a
        24 GB machine; raise ``max_kernels_per_client`` for a workshop behind one NAT.
    connect_timeout_s : float
        Shut down a visitor kernel whose page has not opened its websocket by then.
    cull_idle_timeout_s, cull_interval_s : int
        Shut down a kernel idle for this many seconds once no page is connected to it;
        check this often. A kernel whose page is open is never culled.
    theme : str
        ``"light"`` or ``"dark"``.
    """
    directory = Path(dashboards_dir)
    if not directory.is_dir():
        raise FileNotFoundError(
            f"dashboards directory not found: {directory}. Pass the folder that holds the "
            "dashboard notebooks (the repository's dashboards/)."
        )
    return [
        sys.executable,
        "-m",
        "workbench.dashboards._voila_app",
        str(directory.resolve()),
        "--no-browser",
        f"--port={int(port)}",
        f"--Voila.ip={host}",
        f"--Voila.base_url={base_url}",
        f"--template={TEMPLATE_NAME}",
        f"--theme={theme}",
        "--classic-tree",
        "--strip_sources=True",
        "--show_tracebacks=False",
        f"--preheat_kernel={pool_size > 0}",
        f"--pool_size={max(int(pool_size), 0)}",
        f"--MappingKernelManager.cull_idle_timeout={int(cull_idle_timeout_s)}",
        f"--MappingKernelManager.cull_interval={int(cull_interval_s)}",
        "--MappingKernelManager.cull_connected=False",
        f"--WorkbenchVoila.max_kernels={int(max_kernels)}",
        f"--WorkbenchVoila.max_kernels_per_client={int(max_kernels_per_client)}",
        f"--WorkbenchVoila.connect_timeout_s={float(connect_timeout_s)}",
    ]


def voila_environment(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return the environment for the Voilà server (and so for its kernels).

    Starts from ``env`` (default: ``os.environ``) and puts the package's Jupyter data
    directory (the ``workbench`` Voilà template) first on ``JUPYTER_PATH``.
    """
    out = dict(os.environ if env is None else env)
    paths = [str(_JUPYTER_DATA), *filter(None, out.get("JUPYTER_PATH", "").split(os.pathsep))]
    out["JUPYTER_PATH"] = os.pathsep.join(dict.fromkeys(paths))
    out.setdefault("PYTHONUNBUFFERED", "1")
    return out


def serve_dashboards(
    *,
    dashboards_dir: str | os.PathLike[str] = DEFAULT_DASHBOARDS_DIR,
    port: int,
    host: str = "127.0.0.1",
    env: Mapping[str, str] | None = None,
    log_path: str | os.PathLike[str] | None = None,
    **options,
) -> subprocess.Popen:
    """Start the Voilà dashboards server and return its process (the caller stops it).

    Parameters
    ----------
    dashboards_dir : path
        Directory of dashboard notebooks (default: the repository's ``dashboards/``).
    port, host : int, str
        Where to listen; the landing page is ``http://{host}:{port}/``.
    env : mapping, optional
        The server's environment (default ``os.environ``). Set ``WORKBENCH_URL`` (the
        exchange) and ``WORKBENCH_API_KEY`` (the public read-only credential) here; the
        kernels inherit them.
    log_path : path, optional
        Write the server's output to this file instead of the parent's stdout/stderr.
    **options
        Passed to :func:`voila_command` (``pool_size``, ``max_kernels``,
        ``max_kernels_per_client``, ``connect_timeout_s``, ``cull_idle_timeout_s`` ...).

    Returns
    -------
    subprocess.Popen
        Stop it with ``proc.terminate()`` then ``proc.wait()``; Voilà shuts its kernels down
        on SIGTERM.
    """
    command = voila_command(dashboards_dir=dashboards_dir, port=port, host=host, **options)
    environment = voila_environment(env)
    if "WORKBENCH_URL" not in environment:
        raise ValueError(
            "WORKBENCH_URL is not set: the dashboards need the exchange's URL (and "
            "WORKBENCH_API_KEY, the public read-only credential) in env."
        )
    if log_path is None:
        return subprocess.Popen(command, env=environment, cwd=Path(dashboards_dir))
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            command,
            env=environment,
            cwd=Path(dashboards_dir),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
