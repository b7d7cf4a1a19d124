"""OAuth 2.0 on a real server: client credentials (RFC 6749 §4.4), introspection (RFC 7662),
revocation (RFC 7009)."""

from __future__ import annotations

import httpx
import pytest
from exchange_fixtures import ExchangeServer, build_exchange, new_buyer


@pytest.fixture(scope="module")
def exchange(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("oauth")
    build_exchange(data_dir)
    with ExchangeServer(data_dir) as server:
        yield server


@pytest.fixture(scope="module")
def client_pair(exchange):
    buyer = new_buyer(exchange.url, "oauth@example.org")
    buyer.subscribe("wards", "free")
    yield buyer.oauth_client()
    buyer.close()


def _token(url: str, client_id: str, secret: str) -> httpx.Response:
    return httpx.post(
        url + "/oauth2/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )


def test_client_credentials_grant_with_basic_or_form_auth(exchange, client_pair):
    client_id, secret = client_pair
    r = _token(exchange.url, client_id, secret)
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    body = r.json()
    assert body["token_type"] == "Bearer" and 0 < body["expires_in"] <= 3600
    r = httpx.post(
        exchange.url + "/oauth2/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    assert r.status_code == 200 and r.json()["access_token"] != body["access_token"]
    headers = {"Fiware-Service": "wards", "X-Auth-Token": body["access_token"]}
    assert httpx.get(exchange.url + "/v2/entities", headers=headers).status_code == 200


@pytest.mark.parametrize(
    "data,auth,status,error",
    [
        ({"grant_type": "client_credentials"}, ("wbc_nobody", "x"), 401, "invalid_client"),
        ({"grant_type": "client_credentials"}, None, 401, "invalid_client"),
        (
            {"grant_type": "password", "username": "a", "password": "b"},
            None,
            400,
            "unsupported_grant_type",
        ),
        ({}, None, 400, "invalid_request"),
    ],
    ids=["wrong-client", "no-client", "password-grant", "no-grant"],
)
def test_token_errors_follow_rfc6749(exchange, data, auth, status, error):
    r = httpx.post(exchange.url + "/oauth2/token", data=data, auth=auth)
    assert r.status_code == status
    assert r.json()["error"] == error


def test_wrong_secret_is_invalid_client(exchange, client_pair):
    r = _token(exchange.url, client_pair[0], "wbs_guess")
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    assert r.headers["WWW-Authenticate"].startswith("Basic")


def test_introspection_and_revocation(exchange, client_pair):
    client_id, secret = client_pair
    token = _token(exchange.url, client_id, secret).json()["access_token"]
    url = exchange.url + "/oauth2/introspect"
    assert httpx.post(url, data={"token": token}).status_code == 401  # caller must authenticate
    info = httpx.post(url, data={"token": token}, auth=(client_id, secret)).json()
    assert info["active"] is True and info["client_id"] == client_id and info["exp"] > info["iat"]
    # another buyer learns nothing about this token
    other = new_buyer(exchange.url, "nosy@example.org")
    assert other.http.post(url, data={"token": token}).json() == {"active": False}
    # a stranger cannot revoke it; its owner can
    assert (
        other.http.post(exchange.url + "/oauth2/revoke", data={"token": token}).status_code == 200
    )
    assert httpx.post(url, data={"token": token}, auth=(client_id, secret)).json()["active"]
    r = httpx.post(exchange.url + "/oauth2/revoke", data={"token": token}, auth=(client_id, secret))
    assert r.status_code == 200
    assert httpx.post(url, data={"token": token}, auth=(client_id, secret)).json() == {
        "active": False
    }
    headers = {"Fiware-Service": "wards", "Authorization": f"Bearer {token}"}
    assert httpx.get(exchange.url + "/v2/entities", headers=headers).status_code == 401
    # revoking an unknown token is not an error (RFC 7009 §2.2)
    r = httpx.post(
        exchange.url + "/oauth2/revoke", data={"token": "nope"}, auth=(client_id, secret)
    )
    assert r.status_code == 200
