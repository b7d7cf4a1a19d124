"""Serve the public dashboards (``dashboards/*.ipynb``) with Voilà, offline, behind a landing page.

One Voilà server renders every notebook in the dashboards directory:

- sources stripped (the public sees outputs and widgets, never code);
- one preheated kernel per dashboard (the notebook is executed before anyone asks, so the
  first page is served at once); a new one is started when it is taken;
- idle kernels culled (``cull_idle_timeout_s``), including kernels whose browser tab is still
  open: a public server must not accumulate kernels from forgotten tabs;
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
    cull_idle_timeout_s, cull_interval_s : int
        Shut down a kernel idle for this many seconds; check this often.
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
        "voila",
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
        "--MappingKernelManager.cull_connected=True",
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
        Passed to :func:`voila_command` (``pool_size``, ``cull_idle_timeout_s``, ``theme`` ...).

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
