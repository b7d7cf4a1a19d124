"""Time `workbench up` (what `make run` runs): a first start on an empty data directory
(seeding included) and a second start on the seeded one, until the exchange portal and the
dashboards' landing page both answer 200.

    .venv/bin/python benchmarks/bench_up.py [--repeat N] [--data-dir DIR]

Each start runs the real command on free ports and is stopped with SIGINT, as Ctrl-C does.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def time_up(data_dir: Path, *, timeout_s: float = 300.0) -> float:
    """Start `workbench up`, return the seconds until portal and dashboards answer, stop it."""
    port, dash = _free_port(), _free_port()
    cmd = [sys.executable, "-m", "workbench", "up", "--port", str(port),
           "--dashboards-port", str(dash), "--data-dir", str(data_dir)]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        urls = [f"http://127.0.0.1:{port}/", f"http://127.0.0.1:{dash}/"]
        while not all(_answers(u) for u in urls):
            if proc.poll() is not None or time.perf_counter() - started > timeout_s:
                raise SystemExit(f"workbench up did not come up: {cmd}")
            time.sleep(0.1)
        return time.perf_counter() - started
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3, help="second starts to time")
    parser.add_argument("--data-dir", help="use (and keep) this data directory")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(args.data_dir or tmp) / "wb"
        first = time_up(data_dir)
        second = [time_up(data_dir) for _ in range(args.repeat)]
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    print("| start | seconds until portal and dashboards answer |")
    print("|---|---|")
    print(f"| first (empty data directory, seeds everything) | {first:.1f} |")
    print(f"| second (seeded), median of {len(second)} | {statistics.median(second):.1f} |")


if __name__ == "__main__":
    main()
