"""Shared fixtures: real servers on free ports, started once per session and always stopped."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from servers import ServerProcess  # noqa: E402

CHROMIUM = "/usr/bin/chromium"  # Debian's chromium; `.ci/run` installs it when missing
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium driven by Playwright's sync API, one per test module."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def broker(tmp_path_factory):
    """A bare ``workbench broker`` on a free port with its own database file."""
    db = tmp_path_factory.mktemp("broker") / "broker.db"
    with ServerProcess(["broker", "--db", str(db)]) as server:
        yield server


@pytest.fixture(scope="session")
def seeded_exchange(tmp_path_factory):
    """``workbench seed`` into a fresh data directory, then ``workbench serve`` on a free port.

    The yielded server has ``url``, ``data_dir`` and ``credentials`` (the parsed
    ``demo-credentials.json`` written by the seeder).
    """
    import json
    import subprocess

    data_dir = tmp_path_factory.mktemp("exchange")
    subprocess.run(
        [sys.executable, "-m", "workbench", "seed", "--data-dir", str(data_dir)], check=True
    )
    with ServerProcess(["serve", "--data-dir", str(data_dir)]) as server:
        server.data_dir = data_dir
        server.credentials = json.loads((data_dir / "demo-credentials.json").read_text())
        yield server
