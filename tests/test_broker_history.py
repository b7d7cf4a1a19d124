"""QuantumLeap-style history: time index rules, windows, paging."""

from __future__ import annotations

import pytest

from workbench.server.broker import Broker, NgsiError, open_store


@pytest.fixture
def broker():
    return Broker(open_store(":memory:"), clock=lambda: 1_800_000_000.0)


def test_time_index_rules(broker):
    broker.batch_update("t", "/", "append", [
        # attribute TimeInstant metadata wins
        {"id": "a", "type": "S", "v": {"value": 1, "metadata": {"TimeInstant": {
            "type": "DateTime", "value": "2026-01-01T05:00:00+09:00"}}},
         "dateObserved": {"type": "DateTime", "value": "2026-02-01"}},
        # else the entity's TimeInstant, then dateObserved (also as plain text)
        {"id": "b", "type": "S", "v": {"value": 2},
         "TimeInstant": {"type": "DateTime", "value": "2026-03-01T00:00:00Z"},
         "dateObserved": {"value": "2026-04-01"}},
        {"id": "c", "type": "S", "v": {"value": 3}, "dateObserved": {"value": "2026-04-01"}},
        # else the write time
        {"id": "d", "type": "S", "v": {"value": 4}},
    ])
    index = {e: broker.history_attr("t", None, e, "v")[0]["index"] for e in "abcd"}
    assert index == {"a": ["2025-12-31T20:00:00.000Z"], "b": ["2026-03-01T00:00:00.000Z"],
                     "c": ["2026-04-01T00:00:00.000Z"], "d": ["2027-01-15T08:00:00.000Z"]}


def test_windows_last_n_paging_and_type_queries(broker):
    broker.batch_update("t", "/", "append", [
        {"id": f"m{i % 3}", "type": "Meter", "kwh": {"value": i},
         "dateObserved": {"type": "DateTime", "value": f"2026-05-{i + 1:02d}"}}
        for i in range(12)])
    body, total = broker.history_attr("t", None, "m0", "kwh", {
        "fromDate": "2026-05-02", "toDate": "2026-05-10", "options": "count"})
    assert body["values"] == [3, 6, 9] and total == 3  # both ends included
    body, _ = broker.history_attr("t", None, "m1", "kwh", {"lastN": "2"})
    assert body["values"] == [7, 10]
    body, total = broker.history_type_attr("t", None, "Meter", "kwh", {
        "limit": "4", "offset": "2", "options": "count"})
    assert total == 12
    assert {e["entityId"]: e["values"] for e in body["entities"]} == {
        "m2": [2, 5], "m0": [3], "m1": [4]}
    body, _ = broker.history_entity("t", None, "m2", {"attrs": "kwh", "limit": "2"})
    assert body["attributes"] == [{"attrName": "kwh", "values": [2, 5]}]


def test_unknown_history_is_404_and_bad_params_400(broker):
    with pytest.raises(NgsiError) as err:
        broker.history_attr("t", None, "nope", "v")
    assert err.value.status == 404
    broker.batch_update("t", "/", "append", [{"id": "a", "type": "S", "v": {"value": 1}}])
    for params in ({"lastN": "-1"}, {"fromDate": "yesterday"}, {"limit": "10001"}):
        with pytest.raises(NgsiError) as err:
            broker.history_attr("t", None, "a", "v", params)
        assert err.value.status == 400


def test_type_history_has_every_attribute_per_entity_and_pages_over_points(broker):
    import httpx

    from workbench.server.broker import create_broker_app

    broker.batch_update("t", "/", "append", [
        {"id": f"m{i % 3}", "type": "Meter", "kwh": {"value": i},
         **({"volts": {"value": 100 + i}} if i % 2 else {}),
         "dateObserved": {"type": "DateTime", "value": f"2026-05-{i + 1:02d}"}}
        for i in range(12)])
    app = create_broker_app(broker)

    async def get(params: dict) -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://b") as http:
            return await http.get("/ql/v2/types/Meter", params=params,
                                  headers={"Fiware-Service": "t"})

    import asyncio

    r = asyncio.run(get({"limit": "4", "offset": "2", "options": "count", "attrs": "kwh,volts"}))
    assert r.status_code == 200 and r.headers["Fiware-Total-Count"] == "12"
    body = r.json()
    assert body["entityType"] == "Meter"
    m2 = body["entities"][0]
    assert m2["entityId"] == "m2" and m2["index"] == ["2026-05-03T00:00:00.000Z",
                                                       "2026-05-06T00:00:00.000Z"]
    assert m2["attributes"] == [{"attrName": "kwh", "values": [2, 5]},
                                {"attrName": "volts", "values": [None, 105]}]
    assert [e["entityId"] for e in body["entities"]] == ["m2", "m0", "m1"]
    full = asyncio.run(get({"fromDate": "2026-05-11"})).json()
    names = {a["attrName"] for e in full["entities"] for a in e["attributes"]}
    assert names == {"kwh", "volts", "dateObserved"}
    assert asyncio.run(get({"type": "x", "fromDate": "2027-01-01"})).status_code == 404
    assert asyncio.run(get({"lastN": "-1"})).status_code == 400
