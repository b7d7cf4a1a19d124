"""Connection settings: explicit arguments, environment variables, or a profile file.

Precedence, highest first:

1. arguments to :func:`workbench.connect`;
2. the profile named by ``profile=`` (when given explicitly);
3. environment variables ``WORKBENCH_URL``, ``WORKBENCH_API_KEY``, ``WORKBENCH_CLIENT_ID``,
   ``WORKBENCH_CLIENT_SECRET``, ``WORKBENCH_SERVICE``, ``WORKBENCH_SERVICEPATH``;
4. the profile ``WORKBENCH_PROFILE`` (default ``default``) of the profile file.

The profile file is ``~/.config/workbench/config.toml`` (``$XDG_CONFIG_HOME`` respected), or
the file named by ``WORKBENCH_CONFIG``. Each top-level table is a profile::

    [default]
    url = "http://localhost:8000"
    api_key = "wb_..."

    [research]
    url = "https://exchange.example.org"
    client_id = "..."
    client_secret = "..."
    service = "health_points"

so no secret needs to be written in a notebook.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

from ._errors import ConfigurationError

_ENV = {
    "url": "WORKBENCH_URL",
    "api_key": "WORKBENCH_API_KEY",
    "client_id": "WORKBENCH_CLIENT_ID",
    "client_secret": "WORKBENCH_CLIENT_SECRET",
    "service": "WORKBENCH_SERVICE",
    "servicepath": "WORKBENCH_SERVICEPATH",
}


@dataclass(frozen=True)
class Settings:
    """Resolved connection settings."""

    url: str
    api_key: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    service: str | None = None
    servicepath: str | None = None

    def __repr__(self) -> str:  # never print secrets
        return (
            f"Settings(url={self.url!r}, api_key={'***' if self.api_key else None}, "
            f"client_id={self.client_id!r}, service={self.service!r})"
        )


def config_path() -> Path:
    """The profile file in use (``WORKBENCH_CONFIG`` or ``~/.config/workbench/config.toml``)."""
    if os.environ.get("WORKBENCH_CONFIG"):
        return Path(os.environ["WORKBENCH_CONFIG"]).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "workbench" / "config.toml"


def read_profile(name: str, *, required: bool) -> dict[str, str]:
    """Return profile ``name`` from the profile file (empty if absent and not ``required``)."""
    path = config_path()
    if not path.exists():
        if required:
            raise ConfigurationError(
                f"profile {name!r} was requested but the profile file {path} does not exist; "
                "create it with a [<name>] table holding url and api_key (or client_id and "
                "client_secret), or set WORKBENCH_CONFIG to its path"
            )
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"the profile file {path} is not valid TOML: {exc}") from exc
    profile = data.get(name)
    if profile is None:
        if required:
            raise ConfigurationError(
                f"no profile [{name}] in {path}; the profiles there are {sorted(data)}"
            )
        return {}
    known = {f.name for f in fields(Settings)}
    unknown = set(profile) - known
    if unknown:
        raise ConfigurationError(
            f"unknown keys {sorted(unknown)} in profile [{name}] of {path}; "
            f"the keys are {sorted(known)}"
        )
    return {k: str(v) for k, v in profile.items()}


def resolve_settings(profile: str | None = None, **explicit: str | None) -> Settings:
    """Merge explicit arguments, the named profile, the environment and the default profile."""
    layers: list[dict[str, str]] = [{k: v for k, v in explicit.items() if v is not None}]
    if profile is not None:
        layers.append(read_profile(profile, required=True))
    layers.append({k: os.environ[env] for k, env in _ENV.items() if os.environ.get(env)})
    if profile is None:
        layers.append(read_profile(os.environ.get("WORKBENCH_PROFILE", "default"), required=False))
    merged: dict[str, str] = {}
    for layer in reversed(layers):
        merged.update(layer)
    # The credential of the highest layer that sets one wins whole: an API key given as an
    # argument is not mixed with OAuth client credentials from the environment, and vice versa.
    for layer in layers:
        if layer.get("api_key") or layer.get("client_id"):
            if not layer.get("api_key"):
                merged.pop("api_key", None)
            if not layer.get("client_id"):
                merged.pop("client_id", None)
                merged.pop("client_secret", None)
            break
    if not merged.get("url"):
        raise ConfigurationError(
            'no exchange URL: pass connect(url=...), set WORKBENCH_URL, or add url = "..." to '
            f"a profile in {config_path()}"
        )
    if bool(merged.get("client_id")) != bool(merged.get("client_secret")):
        raise ConfigurationError(
            "OAuth needs both client_id and client_secret (WORKBENCH_CLIENT_ID and "
            "WORKBENCH_CLIENT_SECRET); only one was given"
        )
    return Settings(**merged)
