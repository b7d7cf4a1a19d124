"""Queries that NGSI answers with nothing, silently, warn in the client (real exchange)."""

from __future__ import annotations

import warnings

import pytest
from exchange_fixtures import ExchangeServer, build_exchange, new_buyer

import workbench as wb
from workbench.server.exchange.service import ExchangeService


@pytest.fixture(scope="module")
def exchange(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("query-warnings")
    build_exchange(data_dir)
    svc = ExchangeService.open(data_dir)
    codes = [
        {
            "id": f"urn:ngsi-ld:AdministrativeArea:{i:02d}",
            "type": "AdministrativeArea",
            "areaCode": {"type": "Text", "value": f"011{i:02d}"},
        }
        for i in range(1, 11)
    ]
    svc.broker.batch_update("wards", "/", "append", codes)
    svc.close()
    with ExchangeServer(data_dir) as server:
        yield server


@pytest.fixture(scope="module")
def ex(exchange):
    client = new_buyer(exchange.url, "warned@query.example")
    client.subscribe("wards", "free")
    key = client.api_key()
    client.close()
    with wb.connect(exchange.url, api_key=key, progress=False) as ex:
        yield ex


def _frame_and_warnings(query):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = query.to_pandas()
    return frame, [w for w in caught if issubclass(w.category, wb.QueryWarning)]


def test_unquoted_number_against_a_text_code_warns_and_says_how_to_quote(ex):
    frame, caught = _frame_and_warnings(
        ex.entities("wards", type="AdministrativeArea", q="areaCode==01101")
    )
    assert len(frame) == 0  # NGSI compares with the number 1101: nothing matches
    assert len(caught) == 1
    message = str(caught[0].message)
    assert "Text" in message and "areaCode=='01101'" in message
    assert issubclass(wb.QueryWarning, UserWarning)

    frame, caught = _frame_and_warnings(
        ex.entities("wards", type="AdministrativeArea", q="areaCode=='01101'")
    )
    assert list(frame["areaCode"]) == ["01101"]
    assert caught == []


def test_a_not_equal_on_an_unquoted_code_warns_too(ex):
    with pytest.warns(wb.QueryWarning, match="areaCode!='01100'"):
        n = ex.entities("wards", type="AdministrativeArea", q="areaCode!=01100").count()
    assert n == 10


def test_numbers_against_numeric_attributes_do_not_warn(ex):
    frame, caught = _frame_and_warnings(
        ex.entities("wards", type="AdministrativeArea", q="population>=100005")
    )
    assert len(frame) == 6 and caught == []


def test_unknown_type_warns_with_the_closest_names(ex):
    frame, caught = _frame_and_warnings(ex.entities("wards", type="AdministrativeAreas"))
    assert len(frame) == 0
    assert len(caught) == 1
    assert "'AdministrativeAreas' does not exist" in str(caught[0].message)
    assert "did you mean 'AdministrativeArea'" in str(caught[0].message)


def test_unknown_attribute_in_q_and_attrs_warns_with_the_closest_names(ex):
    frame, caught = _frame_and_warnings(
        ex.entities("wards", type="AdministrativeArea", q="populaton>5", attrs=["nmae"])
    )
    assert len(frame) == 0
    messages = " | ".join(str(w.message) for w in caught)
    assert "'populaton' (q=) does not exist" in messages and "'population'" in messages
    assert "'nmae' (attrs=) does not exist" in messages and "'name'" in messages


def test_the_product_types_are_fetched_once_per_product(ex):
    ex.entities("wards", type="AdministrativeArea", q="population>1").count()
    cached = ex._types_info
    assert "AdministrativeArea" in next(iter(cached.values()))
    sent = []
    hook = ex._session._client.event_hooks["request"]
    hook.append(lambda request: sent.append(request.url.path))
    try:
        ex.entities("wards", type="AdministrativeArea", q="name=='Ward 1'").count()
    finally:
        hook.pop()
    assert "/v2/types" not in sent and "/v2/entities" in sent


@pytest.fixture(scope="module")
def seeded_wards(tmp_path_factory):
    """``sapporo-wards`` seeded from the sample data, served, as the demo planner."""
    import json
    import subprocess
    import sys

    from servers import ServerProcess

    data_dir = tmp_path_factory.mktemp("seeded-wards")
    cmd = [sys.executable, "-m", "workbench", "seed", "--data-dir", str(data_dir)]
    subprocess.run([*cmd, "--products", "sapporo-wards"], check=True, capture_output=True)
    creds = json.loads((data_dir / "demo-credentials.json").read_text())
    key = next(a["api_key"] for a in creds["accounts"] if a["kind"] == "planner")
    with ServerProcess(["serve", "--data-dir", str(data_dir)]) as server:
        with wb.connect(server.url, api_key=key, progress=False) as ex:
            yield ex


def test_the_notebooks_query_excludes_the_city_and_the_unquoted_one_warns(seeded_wards):
    from pathlib import Path

    sources = Path(__file__).parents[1] / "notebooks" / "_src"
    text = "\n".join(p.read_text() for p in sources.rglob("*.py"))
    assert "q=\"areaCode!='01100'\"" in text and "areaCode!=01100" not in text
    query = dict(type="AdministrativeArea")
    with warnings.catch_warnings():
        warnings.simplefilter("error", wb.QueryWarning)
        wards = seeded_wards.entities("sapporo-wards", q="areaCode!='01100'", **query)
        codes = wards.to_pandas()["areaCode"]
    assert len(codes) == 10 and "01100" not in set(codes)
    with pytest.warns(wb.QueryWarning, match="quote it"):
        everything = seeded_wards.entities("sapporo-wards", q="areaCode!=01100", **query)
        assert everything.count() == 11  # what the notebooks used to get
