"""Voilà with kernel limits: caps, browsers only, open pages never culled, lost kernels said.

A real dashboards server (``serve_dashboards``) on a free port serves one small widget
notebook with short timeouts (connect 20 s, idle cull 25 s); kernels are counted as the
server's ``ipykernel`` child processes. Two client addresses are 127.0.0.1 and 127.0.0.2.
"""

from __future__ import annotations

import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import nbformat
import psutil
import pytest
from servers import free_port

from workbench.dashboards import serve_dashboards
from workbench.dashboards._voila_app import BROWSER_COOKIE

NOTEBOOK = "tiny.ipynb"
MAX_KERNELS, PER_CLIENT, POOL = 3, 2, 0  # no preheated kernel: every visit starts one
CONNECT_TIMEOUT_S, CULL_IDLE_S = 20, 25

SOURCE = """\
import ipywidgets as widgets
from IPython.display import display

choice = widgets.Dropdown(options=["one", "two", "three"], value="one", description="n")
label = widgets.Label(value="chosen: one")
choice.observe(lambda change: setattr(label, "value", f"chosen: {change['new']}"), "value")
display(widgets.VBox([choice, label]))
"""


def _write_notebook(directory) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(SOURCE)]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, directory / NOTEBOOK)


def _kernels(proc: subprocess.Popen) -> int:
    """Kernel processes the dashboards server is running now."""
    try:
        children = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return 0
    count = 0
    for child in children:
        try:
            if any("ipykernel" in part for part in child.cmdline()):
                count += 1
        except psutil.NoSuchProcess:
            pass
    return count


def _wait_kernels(proc: subprocess.Popen, expected: int, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while _kernels(proc) != expected:
        assert time.monotonic() < deadline, f"{_kernels(proc)} kernels, expected {expected}"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def voila(tmp_path_factory):
    """The dashboards server over one widget notebook; yields (url, process); always stopped."""
    directory = tmp_path_factory.mktemp("dashboards")
    _write_notebook(directory)
    port = free_port()
    log = directory / "voila.log"
    env = {**os.environ, "WORKBENCH_URL": "http://127.0.0.1:9"}  # the notebook needs none
    proc = serve_dashboards(
        dashboards_dir=directory,
        port=port,
        env=env,
        log_path=log,
        pool_size=POOL,
        max_kernels=MAX_KERNELS,
        max_kernels_per_client=PER_CLIENT,
        connect_timeout_s=CONNECT_TIMEOUT_S,
        cull_idle_timeout_s=CULL_IDLE_S,
        cull_interval_s=1,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180  # the shared machine can be very busy
        while True:
            assert proc.poll() is None, log.read_text()[-3000:]
            try:
                if httpx.get(url + "/", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.3)
        _wait_kernels(proc, POOL)  # the preheated kernel
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def _browser_like(address: str) -> httpx.Client:
    """A client from ``address`` that claims to run JavaScript (it sends the cookie)."""
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(transport=transport, cookies={BROWSER_COOKIE: "1"}, timeout=180)


def test_plain_gets_start_no_kernel_and_browser_visits_stop_at_the_caps(voila):
    url, proc = voila
    page = f"{url}/voila/render/{NOTEBOOK}"
    for _ in range(10):  # crawlers, link previews, curl: no JavaScript, no kernel
        r = httpx.get(page, timeout=60)
        assert r.status_code == 200 and "ダッシュボードを開いています" in r.text
    time.sleep(2)
    assert _kernels(proc) == POOL

    # browser-like visits, all at once: 4 from address a, 2 from b (2 per client, 3 in all)
    def visit(address: str) -> int:
        with _browser_like(address) as client:
            r = client.get(page)
        if r.status_code == 503:
            assert r.headers["retry-after"] == "30"
            assert r.text.index("混み合っています") < r.text.index("busy")
        return r.status_code

    addresses = ["127.0.0.1"] * (PER_CLIENT + 2) + ["127.0.0.2"] * 2
    with ThreadPoolExecutor(len(addresses)) as pool:
        running = [pool.submit(visit, address) for address in addresses]
        while not all(f.done() for f in running):
            assert _kernels(proc) <= MAX_KERNELS + POOL
            time.sleep(0.1)
    answered = [(address, f.result()) for address, f in zip(addresses, running, strict=True)]
    assert [s for _, s in answered].count(200) == MAX_KERNELS
    assert [s for _, s in answered].count(503) == len(addresses) - MAX_KERNELS
    for address in set(addresses):
        assert [s for a, s in answered if a == address].count(200) <= PER_CLIENT

    # none of these pages ran, so their kernels are shut down after the connect timeout
    _wait_kernels(proc, POOL, timeout_s=CULL_IDLE_S - CONNECT_TIMEOUT_S + 60)
    with _browser_like("127.0.0.2") as b:
        assert b.get(page).status_code == 200


SHUT_DOWN = """async (kernelId) => {
  const form = new FormData();
  const xsrf = document.cookie.match(/(?:^|; )_xsrf=([^;]*)/);
  form.append("_xsrf", (xsrf && xsrf[1]) || "");
  const r = await fetch("/voila/api/shutdown/" + kernelId, {method: "POST", body: form});
  return r.status;
}"""


def _open(context, url: str):
    page = context.new_page()
    page.goto(f"{url}/voila/render/{NOTEBOOK}", timeout=120_000)
    page.wait_for_selector(".widget-dropdown select", timeout=120_000)
    return page


def _choose(page, value: str) -> None:
    page.locator(".widget-dropdown select").select_option(value)


def _label(page, text: str) -> None:
    page.get_by_text(text, exact=True).wait_for(timeout=30_000)


def test_an_open_page_is_never_culled_and_a_lost_kernel_says_so_and_reloads(voila, browser):
    url, proc = voila
    context = browser.new_context()
    try:
        page = _open(context, url)
        _choose(page, "two")
        _label(page, "chosen: two")

        time.sleep(CULL_IDLE_S + 5)  # idle past the cull timeout
        _choose(page, "three")
        _label(page, "chosen: three")

        # the kernel is gone (shut down on the server): the page says so, Japanese first
        kernel_id = page.evaluate(
            "JSON.parse(document.getElementById('jupyter-config-data').textContent).kernelId"
        )
        status = page.evaluate(SHUT_DOWN, kernel_id)  # as Voilà does when a page closes
        assert status == 204
        _choose(page, "one")
        alert = page.locator("#workbench-lost")
        alert.wait_for(state="visible", timeout=30_000)
        text = alert.inner_text()
        assert "接続が切れました" in text and "Connection lost" in text
        assert text.index("接続が切れました") < text.index("Connection lost")

        # one click brings back a page whose controls work
        with page.expect_navigation(timeout=120_000):
            page.locator("#workbench-reload").click()
        page.wait_for_selector(".widget-dropdown select", timeout=120_000)
        assert page.locator("#workbench-lost").is_hidden()
        _choose(page, "two")
        _label(page, "chosen: two")
    finally:
        context.close()
