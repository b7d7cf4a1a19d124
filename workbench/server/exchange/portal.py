"""The web portal (server-rendered HTML)."""

from __future__ import annotations

from fastapi import FastAPI


def install(app: FastAPI) -> None:
    """Add the portal's pages and static files to ``app``."""
