"""What a credential may do: its scopes (docs/adr/0110-credential-scopes.md).

Every API key, OAuth client, access token and log-in token carries a set of scopes:

==================  ==============================================================
``data:read``       read entities and history through the gateway (GET, HEAD,
                    ``POST /v2/op/query``)
``data:write``      write entities to one's own products through the gateway
``account:read``    read one's account, subscriptions, credentials, usage, bills
``account:manage``  subscribe, cancel, issue and revoke credentials, publish
                    products, plans and terms, approve and verify
==================  ==============================================================

A credential never holds more than its account's role allows (:data:`ROLE_SCOPES`): the
``public`` role (the dashboards' account) is capped at ``data:read``. Rows stored before
scopes existed have none recorded (NULL) and get the role's scopes.
"""

from __future__ import annotations

from collections.abc import Iterable

from .errors import Forbidden, InvalidInput

DATA_READ = "data:read"
DATA_WRITE = "data:write"
ACCOUNT_READ = "account:read"
ACCOUNT_MANAGE = "account:manage"
ALL_SCOPES: tuple[str, ...] = (DATA_READ, DATA_WRITE, ACCOUNT_READ, ACCOUNT_MANAGE)

ROLE_SCOPES: dict[str, frozenset[str]] = {
    "buyer": frozenset({DATA_READ, ACCOUNT_READ, ACCOUNT_MANAGE}),
    "provider": frozenset(ALL_SCOPES),
    "admin": frozenset(ALL_SCOPES),
    "public": frozenset({DATA_READ}),
}


def parse_scopes(value: str | Iterable[str] | None) -> frozenset[str] | None:
    """Return the scopes in ``value`` (space-separated as in RFC 6749 §3.3, or a list).

    ``None`` stays ``None`` ("the role's scopes").

    Raises
    ------
    InvalidInput
        An unknown scope (the message lists the known ones).
    """
    if value is None:
        return None
    items = value.split() if isinstance(value, str) else [str(v).strip() for v in value]
    wanted = frozenset(s for s in items if s)
    unknown = sorted(wanted - set(ALL_SCOPES))
    if unknown:
        raise InvalidInput(
            f"Unknown scope(s) {', '.join(unknown)}; choose from {', '.join(ALL_SCOPES)}."
        )
    return wanted


def format_scopes(scopes: Iterable[str]) -> str:
    """Return ``scopes`` as one space-separated string in a fixed order."""
    present = set(scopes)
    return " ".join(s for s in ALL_SCOPES if s in present)


def role_scopes(role: str) -> frozenset[str]:
    """Return the most a credential of an account with ``role`` may hold."""
    return ROLE_SCOPES.get(role, frozenset())


def effective_scopes(role: str, stored: str | None) -> frozenset[str]:
    """Return the scopes a stored credential grants now: what it was issued with (all the
    role's when nothing was recorded), never more than the role allows."""
    allowed = role_scopes(role)
    granted = parse_scopes(stored)
    return allowed if granted is None else granted & allowed


def grant_scopes(role: str, requested: str | Iterable[str] | None) -> frozenset[str]:
    """Return the scopes to issue a new credential with: ``requested`` (default: all the
    role allows), checked against the role.

    Raises
    ------
    InvalidInput
        An unknown scope, an empty set, or a scope the role may not hold.
    """
    allowed = role_scopes(role)
    wanted = parse_scopes(requested)
    if wanted is None:
        return allowed
    if not wanted:
        raise InvalidInput(f"Ask for at least one scope: {', '.join(ALL_SCOPES)}.")
    beyond = wanted - allowed
    if beyond:
        raise InvalidInput(
            f"A {role} account cannot grant {format_scopes(beyond)}; it may grant "
            f"{format_scopes(allowed) or 'nothing'}."
        )
    return wanted


class InsufficientScope(Forbidden):
    """The credential is valid but lacks the scope a route needs (RFC 6750 §3.1)."""

    title = "Insufficient scope"

    def __init__(self, needed: str, held: Iterable[str]) -> None:
        held_text = format_scopes(held) or "none"
        super().__init__(
            f"This needs the scope {needed!r}; the credential you sent has {held_text}. "
            "Use a credential issued with that scope (POST /api/credentials with "
            f'"scopes": ["{needed}"]) or log in as the account itself.'
        )
        self.needed = needed
        self.headers = {
            "WWW-Authenticate": (
                f'Bearer realm="workbench", error="insufficient_scope", scope="{needed}"'
            )
        }
        self.extra = {"error": "insufficient_scope", "required_scope": needed}
