"""``workbench broker``: serves on the given port and stops cleanly on SIGTERM/SIGINT."""

from __future__ import annotations

import signal

import httpx
import pytest
from servers import ServerProcess


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_broker_command_serves_and_stops_cleanly(tmp_path, sig):
    server = ServerProcess(["broker", "--db", str(tmp_path / "cli.db")]).start()
    try:
        assert httpx.get(server.url + "/version").json()["orion"]["version"]
        r = httpx.post(server.url + "/v2/entities", json={"id": "a", "type": "T"})
        assert r.status_code == 201
        server.proc.send_signal(sig)
        assert server.proc.wait(15) == 0
    finally:
        server.stop()
    assert (tmp_path / "cli.db").exists()
