"""Credentials: an API key (``X-API-Key``) or OAuth 2.0 client credentials.

OAuth access tokens come from ``POST /oauth2/token`` (``grant_type=client_credentials``,
client authenticated with HTTP Basic, RFC 6749 §4.4) and are sent as
``Authorization: Bearer``. The sessions in :mod:`._http` fetch a token before the first
call, refresh it 30 s before it expires, and once more after a 401.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._http import Request, Response


def clean_secret(value: str | None, name: str) -> str | None:
    """Strip surrounding whitespace from a credential and check it can be sent in a header.

    A key cut from a CSV with Windows line endings ends in ``\\r``; one pasted from a
    document may carry a non-breaking space or a smart quote. httpx would refuse such a
    header with "Illegal header value", which looks like a dead server; this names the real
    problem instead.

    Raises
    ------
    ConfigurationError
        The credential is empty after stripping or holds a character headers cannot carry.
    """
    from ._errors import ConfigurationError

    if value is None:
        return None
    cleaned = value.strip()
    if not cleaned:
        raise ConfigurationError(
            f"the {name} is empty (only spaces or line breaks): copy it again from where "
            "your trainer or the portal gave it to you"
        )
    bad = sorted({ch for ch in cleaned if not (0x21 <= ord(ch) <= 0x7E)})
    if bad:
        shown = ", ".join(repr(ch) for ch in bad)
        raise ConfigurationError(
            f"the {name} contains {shown}, which cannot be sent in an HTTP header: it was "
            "probably copied with extra characters (a line break, a space, a quote). Copy "
            "exactly the key (it starts with 'wbk_' for an API key) and set it again, e.g. "
            "WORKBENCH_API_KEY"
        )
    return cleaned


class Credentials:
    """API key or OAuth client credentials, and the current access token (thread-safe)."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        access_token: str | None = None,
    ) -> None:
        self.api_key = clean_secret(api_key, "API key")
        self.client_id = clean_secret(client_id, "OAuth client id")
        self.client_secret = clean_secret(client_secret, "OAuth client secret")
        access_token = clean_secret(access_token, "access token")
        self._token = access_token
        self._expires_at = float("inf") if access_token else 0.0
        self.lock = threading.Lock()

    @property
    def uses_oauth(self) -> bool:
        return bool(self.client_id and self.client_secret)

    def needs_token(self) -> bool:
        return self.uses_oauth and (self._token is None or time.time() > self._expires_at - 30)

    def invalidate(self) -> None:
        self._expires_at = 0.0
        self._token = None

    def token_request(self) -> Request:
        from ._http import Request

        return Request(
            "POST",
            "/oauth2/token",
            data={"grant_type": "client_credentials"},
            basic_auth=(self.client_id or "", self.client_secret or ""),
            authenticated=False,
        )

    def accept_token(self, response: Response) -> None:
        body = response.json()
        self._token = body["access_token"]
        self._expires_at = time.time() + float(body.get("expires_in") or 3600)

    def headers(self) -> dict[str, str]:
        if self._token:
            return {"Authorization": f"Bearer {self._token}"}
        if self.api_key:
            return {"X-API-Key": self.api_key}
        return {}
