"""Connection settings from arguments, environment variables and the profile file."""

from __future__ import annotations

import pytest

import workbench.client as wbc
from workbench.client._config import resolve_settings

_ENV = [
    "WORKBENCH_URL", "WORKBENCH_API_KEY", "WORKBENCH_CLIENT_ID", "WORKBENCH_CLIENT_SECRET",
    "WORKBENCH_SERVICE", "WORKBENCH_SERVICEPATH", "WORKBENCH_PROFILE", "WORKBENCH_CONFIG",
]  # fmt: skip


@pytest.fixture
def env(monkeypatch, tmp_path):
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "config.toml"
    config.write_text(
        '[default]\nurl = "http://default.example"\napi_key = "k-default"\n\n'
        '[research]\nurl = "http://research.example"\nclient_id = "cid"\n'
        'client_secret = "sec"\nservice = "health"\n'
    )
    monkeypatch.setenv("WORKBENCH_CONFIG", str(config))
    return monkeypatch


def test_default_profile_is_used_when_nothing_else_is_set(env):
    s = resolve_settings()
    assert (s.url, s.api_key) == ("http://default.example", "k-default")


def test_environment_overrides_the_default_profile(env):
    env.setenv("WORKBENCH_URL", "http://env.example")
    env.setenv("WORKBENCH_CLIENT_ID", "env-id")
    env.setenv("WORKBENCH_CLIENT_SECRET", "env-secret")
    s = resolve_settings()
    assert s.url == "http://env.example"
    assert (s.client_id, s.api_key) == ("env-id", None)  # one credential kind, not both


def test_named_profile_wins_over_the_environment(env):
    env.setenv("WORKBENCH_URL", "http://env.example")
    s = resolve_settings("research")
    assert (s.url, s.client_id, s.service) == ("http://research.example", "cid", "health")
    env.setenv("WORKBENCH_PROFILE", "research")
    assert resolve_settings().client_secret == "sec"


def test_arguments_win_over_everything(env):
    ex = wbc.connect("http://arg.example", api_key="k-arg", profile="research")
    assert ex.url == "http://arg.example" and ex.service == "health"
    assert ex._credentials.api_key == "k-arg" and not ex._credentials.uses_oauth
    assert "k-arg" not in repr(ex)


def test_missing_url_and_unknown_profile_say_what_to_do(env, tmp_path):
    env.setenv("WORKBENCH_CONFIG", str(tmp_path / "absent.toml"))
    with pytest.raises(wbc.ConfigurationError, match="WORKBENCH_URL"):
        wbc.connect()
    with pytest.raises(wbc.ConfigurationError, match="does not exist"):
        wbc.connect(profile="research")


def test_half_an_oauth_client_is_rejected(env):
    with pytest.raises(wbc.ConfigurationError, match="both client_id and client_secret"):
        wbc.connect("http://x.example", client_id="only-id")
