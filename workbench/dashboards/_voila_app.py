"""Voilà with kernel limits: the dashboards' server process (``python -m`` this module).

A Voilà page costs a kernel (250-450 MB) for as long as it is open. This app is Voilà with a
guard in front of ``/voila/render/...`` (docs/adr/0117-voila-kernel-limits.md):

- a request without the ``workbench_browser`` cookie gets a small page whose script sets the
  cookie and reloads, so crawlers, link previews and scripts that run no JavaScript never
  start a kernel;
- a visitor's kernel is attributed to the client address; at most ``max_kernels`` visitor
  kernels run in total and ``max_kernels_per_client`` per client (preheated kernels, one per
  dashboard, come on top); a request over a cap gets ``503`` with ``Retry-After`` and a page
  that says so, Japanese first;
- a visitor kernel whose page never opened its websocket within ``connect_timeout_s`` is
  shut down (a client that fetched the page without running it).

Kernels whose page is open are never culled (``cull_connected=False`` on the command line);
a closed page shuts its kernel down (Voilà's ``beforeunload`` call, which needs the
``_xsrf`` cookie this handler sets: stock Voilà never set it, so that call failed with 403),
and disconnected idle kernels are culled after ``cull_idle_timeout``.
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass, field

from pathlib import Path

from jupyter_core.utils import ensure_async
from jupyter_server.utils import url_path_join
from tornado.ioloop import PeriodicCallback
from tornado.web import RequestHandler
from traitlets import Float, Int
from voila.app import Voila
from voila.tornado.handler import TornadoVoilaHandler

BROWSER_COOKIE = "workbench_browser"

_SHELL = """<!doctype html>
<html lang="ja"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ダッシュボードを開いています / Opening the dashboard</title>
<script>
(function () {
  var tried = sessionStorage.getItem("workbench_browser_tried");
  if (navigator.cookieEnabled && !tried) {
    sessionStorage.setItem("workbench_browser_tried", "1");
    document.cookie = "COOKIE=1; path=/; SameSite=Lax";
    window.addEventListener("load", function () { location.reload(); });
  } else {
    document.addEventListener("DOMContentLoaded", function () {
      document.getElementById("wb-cookies").hidden = false;
    });
  }
})();
</script></head>
<body style="font: 16px/1.5 sans-serif; margin: 2em">
<p>ダッシュボードを開いています… / Opening the dashboard…</p>
<p id="wb-cookies" hidden>このページを表示するには Cookie を有効にしてください。
/ Please allow cookies for this site to open the dashboard.</p>
<noscript><p>このダッシュボードには JavaScript が必要です。
/ This dashboard needs JavaScript.</p></noscript>
</body></html>
""".replace("COOKIE", BROWSER_COOKIE)

_BUSY = """<!doctype html>
<html lang="ja"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>混み合っています / Busy</title></head>
<body style="font: 16px/1.5 sans-serif; margin: 2em">
<h1 style="font-size: 1.3em">ただいま混み合っています / The dashboards are busy</h1>
<p>WHY_JA しばらくしてから再読み込みしてください。</p>
<p>WHY_EN Please reload in a minute.</p>
<p><button id="wb-reload" onclick="location.reload()">再読み込み / Reload</button>
<a href="BASE">ダッシュボード一覧 / All dashboards</a></p>
</body></html>
"""


@dataclass
class _VisitorKernel:
    client: str
    since: float
    connected: bool = False


@dataclass
class KernelGuard:
    """Who holds which visitor kernel, and whether a new one may start.

    All methods run on the server's event loop (no locks needed: no ``await`` inside).
    """

    max_kernels: int
    max_kernels_per_client: int
    connect_timeout_s: float
    kernels: dict[str, _VisitorKernel] = field(default_factory=dict)
    starting: dict[str, int] = field(default_factory=dict)

    def held(self, client: str | None = None) -> int:
        """Visitor kernels alive or starting, in total or for one ``client``."""
        if client is None:
            return len(self.kernels) + sum(self.starting.values())
        own = sum(1 for k in self.kernels.values() if k.client == client)
        return own + self.starting.get(client, 0)

    def reserve(self, client: str) -> str | None:
        """Reserve a kernel for ``client``; return ``"total"``/``"client"`` when refused."""
        if self.held() >= self.max_kernels:
            return "total"
        if self.held(client) >= self.max_kernels_per_client:
            return "client"
        self.starting[client] = self.starting.get(client, 0) + 1
        return None

    def settle(self, client: str, kernel_ids: list[str], alive: set[str]) -> None:
        """End a reservation; the kernels the request got now count as ``client``'s."""
        self.starting[client] -= 1
        if not self.starting[client]:
            del self.starting[client]
        for kernel_id in kernel_ids:
            if kernel_id in alive:
                self.kernels[kernel_id] = _VisitorKernel(client, time.monotonic())

    def unconnected(self, kernel_manager) -> list[str]:
        """Forget dead kernels; return those whose page never connected in time."""
        alive = set(kernel_manager.list_kernel_ids())
        now = time.monotonic()
        out = []
        for kernel_id, kernel in list(self.kernels.items()):
            if kernel_id not in alive:
                del self.kernels[kernel_id]
                continue
            if not kernel.connected:
                model = kernel_manager.kernel_model(kernel_id)
                kernel.connected = model.get("connections", 0) > 0
            if not kernel.connected and now - kernel.since > self.connect_timeout_s:
                del self.kernels[kernel_id]
                out.append(kernel_id)
        return out


class _AttributingKernelManager:
    """The kernel manager as seen by one render request: notes the kernels it hands out."""

    def __init__(self, kernel_manager, got: list[str]) -> None:
        self._km = kernel_manager
        self._got = got

    def __getattr__(self, name: str):
        return getattr(self._km, name)

    async def start_kernel(self, *args, **kwargs) -> str:
        kernel_id = await ensure_async(self._km.start_kernel(*args, **kwargs))
        self._got.append(kernel_id)
        return kernel_id

    async def get_rendered_notebook(self, *args, **kwargs):
        result = await self._km.get_rendered_notebook(*args, **kwargs)
        self._got.append(result[2])  # (render task, rendered cells, kernel id)
        return result


class GuardedVoilaHandler(TornadoVoilaHandler):
    """``/voila/render/...``: only browsers, and only within the kernel caps."""

    def initialize(self, **kwargs) -> None:
        self.guard: KernelGuard = kwargs.pop("guard")
        self._got: list[str] = []
        super().initialize(**kwargs)

    @property
    def kernel_manager(self):
        return _AttributingKernelManager(self.settings["kernel_manager"], self._got)

    async def get(self, path: str | None = None) -> None:
        if not (path or "").lower().endswith(".ipynb"):
            return await super().get(path=path)  # Voilà redirects other files: no kernel
        self.set_header("Cache-Control", "no-store")
        if self.get_cookie(BROWSER_COOKIE) != "1":
            self.set_header("Content-Type", "text/html; charset=utf-8")
            self.finish(_SHELL)
            return
        client = self.request.remote_ip or "?"
        refused = self.guard.reserve(client)
        if refused is not None:
            self.log.warning("kernel cap (%s) reached: refused %s for %s", refused, path, client)
            if refused == "total":
                why = (
                    "同時に開けるダッシュボードの数が上限に達しました。",
                    "Every dashboard kernel is in use.",
                )
            else:
                why = (
                    "この端末から開いているダッシュボードが多すぎます。使わないタブを閉じて、",
                    "Too many dashboards are open from your address; close unused tabs.",
                )
            page = _BUSY.replace("WHY_JA", why[0]).replace("WHY_EN", why[1])
            self.set_status(503)
            self.set_header("Retry-After", "30")
            self.set_header("Content-Type", "text/html; charset=utf-8")
            self.finish(page.replace("BASE", self.base_url))
            return
        _ = self.xsrf_token  # sets the _xsrf cookie that Voilà's beforeunload call needs
        try:
            await super().get(path=path)
        finally:
            alive = set(self.settings["kernel_manager"].list_kernel_ids())
            self.guard.settle(client, self._got, alive)
            self.log.info(
                "visitor kernels: %s for %s; %d held in total",
                ",".join(self._got) or "none",
                client,
                self.guard.held(),
            )


def pool_status(kernel_manager) -> dict:
    """Warm (fully executed) and total preheated kernels per dashboard notebook.

    A pool entry is warm when its kernel has started *and* its notebook has run to the end,
    so a visitor who takes it gets working controls at once.
    """
    out = {}
    for notebook, pool in dict(getattr(kernel_manager, "_pools", {})).items():
        warm = 0
        for item in list(pool):
            if not item.done() or item.cancelled() or item.exception() is not None:
                continue
            render = item.result().get("task")
            if render is not None and render.done():
                warm += 1
        out[notebook.rsplit("/", 1)[-1]] = {"warm": warm, "pool": len(pool)}
    return out


class ReadyHandler(RequestHandler):
    """``/workbench/ready``: whether every dashboard has a warm kernel waiting (JSON).

    ``workbench up`` waits for it before saying the dashboards are up, and the landing page
    polls it to say "warming up" until then (docs/adr/0153-dashboards-ready-when-warm.md).
    """

    def initialize(self, expected: int) -> None:
        self.expected = expected

    def get(self) -> None:
        pools = pool_status(self.settings["kernel_manager"])
        ready = len(pools) >= self.expected and all(p["warm"] > 0 for p in pools.values())
        self.set_header("Cache-Control", "no-store")
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"ready": ready, "dashboards": pools}))


class WorkbenchVoila(Voila):
    """Voilà with per-client and total caps on visitor kernels (see the module docstring)."""

    name = "workbench-voila"

    max_kernels = Int(12, help="Visitor kernels running at once (preheated ones come on top).").tag(
        config=True
    )
    max_kernels_per_client = Int(
        3, help="Visitor kernels one client address may hold at once."
    ).tag(config=True)
    connect_timeout_s = Float(
        60.0, help="Shut down a visitor kernel whose page has not connected within this time."
    ).tag(config=True)

    def init_handlers(self) -> list:
        self.guard = KernelGuard(
            max_kernels=self.max_kernels,
            max_kernels_per_client=self.max_kernels_per_client,
            connect_timeout_s=self.connect_timeout_s,
        )
        handlers = []
        for handler in super().init_handlers():
            if len(handler) == 3 and handler[1] is TornadoVoilaHandler:
                handler = (handler[0], GuardedVoilaHandler, {**handler[2], "guard": self.guard})
            handlers.append(handler)
        expected = 0
        if self.voila_configuration.preheat_kernel:
            expected = len(list(Path(self.root_dir).glob("*.ipynb")))
        ready_url = url_path_join(self.server_url, "workbench/ready")
        handlers.insert(0, (ready_url, ReadyHandler, {"expected": expected}))
        every_ms = max(250.0, min(5000.0, self.connect_timeout_s * 250))
        self._reaper = PeriodicCallback(self._shut_down_unconnected, every_ms)
        self._reaper.start()
        return handlers

    async def _shut_down_unconnected(self) -> None:
        for kernel_id in self.guard.unconnected(self.kernel_manager):
            self.log.warning("shutting down kernel %s: its page never connected", kernel_id)
            with contextlib.suppress(Exception):
                await ensure_async(self.kernel_manager.shutdown_kernel(kernel_id))


main = WorkbenchVoila.launch_instance

if __name__ == "__main__":
    main()
