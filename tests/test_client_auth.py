"""Credentials as users paste them: a key cut from a CRLF file, or with a stray character."""

from __future__ import annotations

import pytest
from exchange_fixtures import ExchangeServer, build_exchange, new_buyer

import workbench as wb


@pytest.fixture(scope="module")
def exchange(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("auth")
    build_exchange(data_dir)
    with ExchangeServer(data_dir) as server:
        yield server


def test_a_key_cut_from_a_crlf_line_still_works(exchange, monkeypatch):
    buyer = new_buyer(exchange.url, "crlf@example.org")
    buyer.subscribe("wards", "free")
    line = f"crlf@example.org,pw,acc,{buyer.api_key()}\r\n"
    key = line.rstrip("\n").split(",")[-1]  # what `cut -d, -f4` or a spreadsheet gives
    assert key.endswith("\r")
    monkeypatch.setenv("WORKBENCH_URL", exchange.url)
    monkeypatch.setenv("WORKBENCH_API_KEY", key)
    assert wb.connect(progress=False).entities("wards").count() == 10


@pytest.mark.parametrize(
    ("key", "shown"),
    [("wbk_abc\u00a0def", "'\\xa0'"), ("“wbk_abcdef”", "'“', '”'"), ("wbk_ab\ncd", "'\\n'")],
)
def test_a_key_with_a_character_headers_cannot_carry_names_the_problem(exchange, key, shown):
    with pytest.raises(wb.ConfigurationError) as err:
        wb.connect(exchange.url, api_key=key)
    message = str(err.value)
    assert shown in message and "cannot be sent in an HTTP header" in message
    assert "Is the server running" not in message


def test_an_empty_key_says_so(exchange):
    with pytest.raises(wb.ConfigurationError, match="API key is empty"):
        wb.connect(exchange.url, api_key=" \r\n")
