"""Shared fixtures: real servers on free ports, started once per session and always stopped."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from servers import ServerProcess  # noqa: E402


@pytest.fixture(scope="session")
def broker(tmp_path_factory):
    """A bare ``workbench broker`` on a free port with its own database file."""
    db = tmp_path_factory.mktemp("broker") / "broker.db"
    with ServerProcess(["broker", "--db", str(db)]) as server:
        yield server
