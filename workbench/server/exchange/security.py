"""Passwords, secrets and their hashes.

Passwords are low-entropy and chosen by people: they are hashed with argon2id. API keys,
OAuth client secrets and access tokens are 256-bit random strings generated here: they are
stored as a keyed SHA-256 (HMAC with a per-installation pepper) so that the gateway can look
them up in microseconds (see docs/adr/0012-hash-high-entropy-secrets-with-hmac.md).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()

MIN_PASSWORD_LENGTH = 8


def hash_password(password: str) -> str:
    """Return the argon2id hash of ``password``."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Return whether ``password`` matches ``password_hash`` (never raises)."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError, ValueError):
        return False


def new_secret(prefix: str) -> str:
    """Return a new random secret such as ``wbk_<43 url-safe characters>``."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def new_id(prefix: str) -> str:
    """Return a short random identifier such as ``sub_3f9a1c2b7d4e``."""
    return f"{prefix}_{secrets.token_hex(8)}"


class SecretHasher:
    """HMAC-SHA256 of high-entropy secrets with a per-installation pepper.

    The pepper lives in ``DATA_DIR/secret.key`` (created with mode 0600 on first use), so a
    copy of the database alone does not let anyone test candidate keys.
    """

    def __init__(self, key: bytes) -> None:
        self._key = key

    @classmethod
    def from_data_dir(cls, data_dir: Path) -> SecretHasher:
        path = Path(data_dir) / "secret.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(secrets.token_bytes(32))
            path.chmod(0o600)
        return cls(path.read_bytes())

    def __call__(self, secret: str) -> str:
        return hmac.new(
            self._key, secret.encode("utf-8", "surrogatepass"), hashlib.sha256
        ).hexdigest()
