"""``workbench users`` and ``workbench products`` on a data directory."""

from __future__ import annotations

import csv
import io
import subprocess
import sys

from exchange_fixtures import build_exchange


def _run(*args: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "workbench", *args], capture_output=True, text=True, check=True
    ).stdout


def test_users_and_products_commands(tmp_path):
    build_exchange(tmp_path)
    d = ["--data-dir", str(tmp_path)]
    created = list(
        csv.DictReader(
            io.StringIO(
                _run("users", "create", "--email", "trainer@example.org", "--name", "Trainer", *d)
            )
        )
    )
    assert created[0]["email"] == "trainer@example.org" and len(created[0]["password"]) >= 12
    assert _run("users", "verify", "trainer@example.org", *d).strip() == (
        "verified trainer@example.org"
    )
    users = list(csv.DictReader(io.StringIO(_run("users", "list", *d))))
    assert "trainer@example.org" in {u["email"] for u in users}
    assert all("password" not in k for k in users[0])
    products = list(csv.DictReader(io.StringIO(_run("products", "list", *d))))
    assert [p["id"] for p in products] == ["stations", "steps", "wards"]
    assert products[2]["plans"] == "free metered slow tiny"
    out = _run("products", "refresh-quality", "stations", *d)
    assert out.strip() == "stations: 1 entities, completeness 1.0"
