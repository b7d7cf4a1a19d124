"""Passwords, secrets and their hashes.

Passwords are low-entropy and chosen by people: they are hashed with argon2id. API keys,
OAuth client secrets and access tokens are 256-bit random strings generated here: they are
stored as a keyed SHA-256 (HMAC with a per-installation pepper) so that the gateway can look
them up in microseconds (see docs/adr/0012-hash-high-entropy-secrets-with-hmac.md).
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import hmac
import secrets
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024
_MIN_DISTINCT_CHARACTERS = 5
_COMMON_PASSWORDS = Path(__file__).with_name("common-passwords.txt.gz")


@functools.cache
def common_passwords() -> frozenset[str]:
    """Return the 20,000 most common passwords, lower-cased (``common-passwords.txt.gz``:
    Royce Williams's list as shipped by Django, BSD licence; see ``NOTICE-passwords.md``)."""
    with gzip.open(_COMMON_PASSWORDS, "rt", encoding="utf-8") as f:
        return frozenset(line.strip() for line in f if line.strip())


def password_problem(password: str, *, email: str = "", name: str = "") -> str | None:
    """Return why ``password`` may not be used, or None when it may (NIST SP 800-63B §5.1.1.2:
    a minimum length, a blocklist of common passwords and context-specific words).

    Rejected: fewer than :data:`MIN_PASSWORD_LENGTH` characters; a common password, also
    with digits or symbols added at its end (``password2026!``); fewer than five distinct
    characters (``aaaaaaaaaa``, ``1212121212``); mostly the e-mail address or the name.

    Examples
    --------
    >>> password_problem("sapporo-demo-2026") is None
    True
    >>> password_problem("password123456")
    'This password is on the list of the 20,000 most common passwords; choose another.'
    """
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        return f"The password must have at least {MIN_PASSWORD_LENGTH} characters."
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"The password must have at most {MAX_PASSWORD_LENGTH} characters."
    lowered = password.lower()
    stem = lowered.rstrip("0123456789!@#$%^&*()-_=+.,;:?/ ")
    common = common_passwords()
    if lowered in common or lowered.strip() in common or (len(stem) >= 4 and stem in common):
        return "This password is on the list of the 20,000 most common passwords; choose another."
    if len(set(password)) < _MIN_DISTINCT_CHARACTERS:
        return "The password repeats too few characters; use a few unrelated words."
    local = (email or "").strip().lower().partition("@")[0]
    for part in (local, (name or "").strip().lower(), (email or "").strip().lower()):
        if len(part) >= 4 and part in lowered and 2 * len(part) >= len(lowered):
            return "The password is mostly your e-mail address or name; choose another."
    return None


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
