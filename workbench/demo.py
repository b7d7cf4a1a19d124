"""The demo credentials that ``workbench seed`` writes under the data directory.

``demo-credentials.json`` holds ``{"accounts": [{"role": ..., "api_key": ..., ...}]}``, one
entry per demo account (planner, researcher, trainer, provider, public, admin, ...). The
launchers read it to hand the right credential to JupyterLab and to the dashboards, so that no
secret is ever typed into a notebook.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CREDENTIALS_FILE = "demo-credentials.json"


def demo_accounts(data_dir: str | Path) -> list[dict[str, Any]]:
    """Return the demo accounts of a seeded data directory.

    Parameters
    ----------
    data_dir
        The exchange's data directory (``.workbench`` by default).

    Returns
    -------
    list of dict
        One mapping per account, with at least ``role`` and ``api_key``; an empty list when
        the directory has not been seeded.
    """
    path = Path(data_dir) / CREDENTIALS_FILE
    if not path.exists():
        return []
    accounts = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(accounts, dict):
        accounts = accounts.get("accounts", [])
    return [a for a in accounts if isinstance(a, dict)]


def demo_api_key(data_dir: str | Path, role: str) -> str | None:
    """Return the API key of the demo account ``role`` (e.g. ``"planner"``), or None."""
    for account in demo_accounts(data_dir):
        if account.get("role") == role:
            return account.get("api_key")
    return None
