"""Data files are private: directories 0700, databases and their WAL/SHM files 0600."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import httpx
from exchange_fixtures import PROVIDER_EMAIL, Client, ExchangeServer, build_exchange
from servers import ServerProcess

from workbench.server._files import private_dir, private_file


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _modes(data_dir: Path) -> dict[str, int]:
    return {p.name: _mode(p) for p in sorted(data_dir.iterdir())}


def test_an_existing_world_readable_exchange_is_made_private_on_start(tmp_path):
    data_dir = tmp_path / "exchange"
    old = os.umask(0o022)
    try:
        build_exchange(data_dir)
    finally:
        os.umask(old)
    data_dir.chmod(0o755)  # as an install from before this fix left it
    for path in data_dir.iterdir():
        path.chmod(0o644)
    with ExchangeServer(data_dir) as server:
        provider = Client(server.url).log_in(PROVIDER_EMAIL)  # writes exchange.db
        key = provider.api_key()
        r = httpx.post(  # writes broker.db
            server.url + "/v2/entities",
            json={"id": "New", "type": "Thing"},
            headers={"Fiware-Service": "wards", "X-API-Key": key},
        )
        assert r.status_code == 201, r.text
        modes = _modes(data_dir)
        assert _mode(data_dir) == 0o700
    names = set(modes)
    assert {"exchange.db", "broker.db", "secret.key", "broker.db-wal", "broker.db-shm"} <= names
    assert modes == dict.fromkeys(names, 0o600)


def test_a_new_standalone_broker_creates_private_files(tmp_path):
    db = tmp_path / "new" / "broker.db"
    with ServerProcess(["broker", "--db", str(db)]) as server:
        r = httpx.post(
            server.url + "/v2/entities",
            json={"id": "E", "type": "T"},
            headers={"Fiware-Service": "t"},
        )
        assert r.status_code == 201
        modes = _modes(db.parent)
    assert _mode(db.parent) == 0o700
    assert {"broker.db", "broker.db-wal", "broker.db-shm"} <= set(modes)
    assert set(modes.values()) == {0o600}


def test_private_helpers_fix_modes_whatever_the_umask(tmp_path):
    old = os.umask(0o000)
    try:
        data_dir = private_dir(tmp_path / "d")
        db = private_file(data_dir / "x.db")
        (data_dir / "x.db-wal").write_text("")
        (data_dir / "sub").mkdir()
        private_file(db)
        private_dir(data_dir)
    finally:
        os.umask(old)
    assert _mode(data_dir) == 0o700 and _mode(data_dir / "sub") == 0o700
    assert _mode(db) == 0o600 and _mode(data_dir / "x.db-wal") == 0o600
