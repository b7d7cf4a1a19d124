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
        self.api_key = api_key
        self.client_id = client_id
        self.client_secret = client_secret
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
