"""Benchmark: first meaningful render and control updates of the Voilà dashboards (Chromium).

Starts ``workbench serve`` on a seeded data directory and the dashboards server
(``workbench.dashboards.serve_dashboards``, preheated kernels), waits for the kernels to be
ready, then for each dashboard measures in headless Chromium (Playwright):

- *first meaningful render*: from navigation until the controls, the chart image and the
  map's polygons are on screen;
- *control update*: from changing a dropdown until the chart image (and, on the walkability
  dashboard, the map state) has changed, for several controls.

Targets (issue 7): first render under 5 s, each update under 1 s.

Run::

    .venv/bin/workbench seed --data-dir /tmp/wb-bench        # once (about 90 s)
    .venv/bin/python benchmarks/bench_dashboards.py --data-dir /tmp/wb-bench [--pool-size 1]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

from workbench.dashboards import serve_dashboards

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: per dashboard: the map polygons expected at first render, and the changes
#: (select index, label[, chart images that must change; default: the only image, or for the
#: policy page's station control the ridership chart])
SCENARIOS = {
    "health_points.ipynb": (
        20,
        [(0, "Chuo"), (1, "70-79"), (0, "Kiyota"), (1, "80+"), (0, "Nishi"), (1, "All ages")],
    ),
    "policy_effects.ipynb": (
        60,
        [
            (0, "Sapporo Snow Festival", (0, 1)),  # the event redraws both charts
            (2, "N07"),  # stations: the ridership chart (image 1)
            (1, "Ekimae-dori ground Kita 2-jo", (0,)),  # sensors: the foot-traffic chart
            (0, "Autumn", (0, 1)),
            (2, "City-centre"),
            (1, "All sensors", (0,)),
            (0, "Opening", (0, 1)),
            (2, "H07"),
        ],
    ),  # fmt: skip
    "walkability.ipynb": (
        5000,
        [
            (0, "Hospitals"),
            (0, "Nurseries"),
            (0, "Walk score"),
            (0, "Elementary"),
            (0, "Evacuation"),
            (0, "Subway"),
        ],
    ),  # fmt: skip
}


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(url: str, proc: subprocess.Popen, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited early: {proc.args}")
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise SystemExit(f"{url} did not answer in {timeout_s} s")


def _public_key(data_dir: Path) -> str:
    accounts = json.loads((data_dir / "demo-credentials.json").read_text())["accounts"]
    return next(a["api_key"] for a in accounts if a["kind"] == "public")


def measure(page, url: str, paths: int, changes: list[tuple[int, str]]) -> dict:
    started = time.monotonic()
    page.goto(url, timeout=180_000)
    page.wait_for_selector("img.widget-image", timeout=180_000)
    frame = page.frame_locator("iframe.workbench-map").first
    frame.locator(".leaflet-overlay-pane path").nth(paths - 1).wait_for(timeout=60_000)
    first = time.monotonic() - started
    updates = []
    images = page.locator("img.widget-image").count()
    for index, prefix, *which in changes:
        charts = list(which[0]) if which else [images - 1]
        select = page.locator(".widget-dropdown select").nth(index)
        labels = select.evaluate("s => [...s.options].map(o => o.text)")
        label = next(x for x in labels if x.replace("\xa0", " ").startswith(prefix))
        before = page.evaluate("() => [...document.querySelectorAll('img.widget-image')]"
                               ".map(i => i.src)")
        t0 = time.monotonic()
        select.select_option(label=label)
        page.wait_for_function(
            "([b, which]) => { const now = document.querySelectorAll('img.widget-image');"
            " return which.every(i => now[i].src !== b[i]); }",
            arg=[before, charts], timeout=30_000,
        )  # fmt: skip
        updates.append(time.monotonic() - t0)
    return {"first_render_s": first, "updates_s": updates}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="a seeded data directory")
    parser.add_argument("--pool-size", type=int, default=1, help="preheated kernels (0: none)")
    parser.add_argument("--settle-s", type=float, default=120, help="wait for preheating")
    parser.add_argument("--log", default=os.devnull, help="Voilà's log file")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    exchange_port, voila_port = _free_port(), _free_port()
    exchange = subprocess.Popen(
        [sys.executable, "-m", "workbench", "serve", "--port", str(exchange_port),
         "--data-dir", str(args.data_dir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    procs = [exchange]
    try:
        exchange_url = f"http://127.0.0.1:{exchange_port}"
        _wait(exchange_url + "/version", exchange)
        env = {**os.environ, "WORKBENCH_URL": exchange_url,
               "WORKBENCH_API_KEY": _public_key(args.data_dir)}  # fmt: skip
        voila = serve_dashboards(
            port=voila_port, env=env, pool_size=args.pool_size, log_path=args.log
        )
        procs.append(voila)
        voila_url = f"http://127.0.0.1:{voila_port}"
        _wait(voila_url + "/", voila)
        if args.pool_size:
            time.sleep(args.settle_s)  # let every dashboard's kernel finish its preheated run
        results = {}
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            for name, (paths, changes) in SCENARIOS.items():
                page = browser.new_page(viewport={"width": 1280, "height": 1000})
                try:
                    results[name] = measure(
                        page, f"{voila_url}/voila/render/{name}", paths, changes
                    )
                except Exception as exc:  # report which dashboard failed, and go on
                    print(f"{name}: {type(exc).__name__}: {str(exc)[:200]}", file=sys.stderr)
                    print(page.inner_text("body")[-1500:], file=sys.stderr)
                page.close()
            browser.close()
    finally:
        for proc in reversed(procs):
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
    print(f"pool size {args.pool_size}; load average {os.getloadavg()[0]:.1f}")
    print("| dashboard | first meaningful render (s) | control update median (s) | max (s) |")
    print("|---|---|---|---|")
    for name, r in results.items():
        u = r["updates_s"]
        print(f"| {name} | {r['first_render_s']:.2f} | {statistics.median(u):.2f} | {max(u):.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
