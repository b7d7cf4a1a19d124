"""``Fiware-Service`` and ``Fiware-ServicePath`` validated as Orion does."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import bad_request

_TENANT = re.compile(r"^[A-Za-z0-9_]{0,50}$")
_COMPONENT = re.compile(r"^[A-Za-z0-9_]+$")
MAX_PATHS = 10
MAX_LEVELS = 10
MAX_COMPONENT = 50


@dataclass(frozen=True, slots=True)
class PathScope:
    """One service path of a query; ``recursive`` for ``/a/#`` (the path and its children)."""

    path: str
    recursive: bool


def tenant_name(header: str | None) -> str:
    """Return the tenant of a ``Fiware-Service`` header (lower-cased; ``""`` is the default).

    Raises
    ------
    NgsiError
        400 when the name is longer than 50 characters or has characters other than
        letters, digits and ``_``.
    """
    if not header:
        return ""
    if not _TENANT.match(header):
        raise bad_request(
            "bad character in tenant name: use at most 50 letters, digits or underscores"
        )
    return header.lower()


def _check_path(path: str, *, allow_hash: bool) -> PathScope:
    path = path.strip()
    recursive = False
    if allow_hash and path.endswith("/#"):
        recursive = True
        path = path[:-2] or "/"
    if not path.startswith("/"):
        raise bad_request(
            "Only /absolute/ Service Paths allowed [a service path must begin with /]"
        )
    if path == "/":
        return PathScope("/", recursive)
    components = path[1:].split("/")
    if len(components) > MAX_LEVELS:
        raise bad_request("too many components in ServicePath (at most 10)")
    for component in components:
        if len(component) > MAX_COMPONENT:
            raise bad_request("component-name too long in ServicePath (at most 50 characters)")
        if not _COMPONENT.match(component):
            raise bad_request(
                "a component of ServicePath contains an illegal character "
                "(letters, digits and _ only)"
            )
    return PathScope(path, recursive)


def query_scopes(header: str | None) -> list[PathScope]:
    """Service paths a read may see: up to 10 comma-separated paths, ``/#`` suffix allowed.

    No header means every path (``/#``).
    """
    if header is None or not header.strip():
        return [PathScope("/", True)]
    parts = header.split(",")
    if len(parts) > MAX_PATHS:
        raise bad_request("too many service paths - a maximum of ten service paths is allowed")
    return [_check_path(p, allow_hash=True) for p in parts]


def write_path(header: str | None) -> str:
    """The single service path a write goes to (default ``/``); no lists, no ``#``."""
    if header is None or not header.strip():
        return "/"
    if "," in header:
        raise bad_request("more than one service path in context update request")
    if "#" in header:
        raise bad_request("service path with '#' is not allowed in a context update request")
    return _check_path(header, allow_hash=False).path
