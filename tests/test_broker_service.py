"""The HTTP-free Broker service, as the exchange and its seeder use it in-process."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from workbench.server.broker import Broker, NgsiError, create_broker_app, open_store


@pytest.fixture
def broker():
    return Broker(open_store(":memory:"))


def test_batch_update_applies_repeated_ids_in_order_with_one_history_point_each(broker):
    days = [{"id": "walker1", "type": "DailySteps", "steps": {"value": 1000 * d},
             "dateObserved": {"type": "DateTime", "value": f"2026-10-{d:02d}"}}
            for d in range(1, 31)]
    broker.batch_update("health", "/", "append", days)
    now = broker.get_entity("health", None, "walker1", {"options": "keyValues"})
    assert now["steps"] == 30000
    body, total = broker.history_attr("health", None, "walker1", "steps", {"options": "count"})
    assert total == 30
    assert body["values"] == [1000 * d for d in range(1, 31)]
    assert body["index"][0] == "2026-10-01T00:00:00.000Z"


def test_errors_are_ngsi_errors_with_status(broker):
    with pytest.raises(NgsiError) as err:
        broker.get_entity("t", None, "missing")
    assert (err.value.status, err.value.error) == (404, "NotFound")
    with pytest.raises(NgsiError) as err:
        broker.batch_update("t", "/", "explode", [])
    assert err.value.status == 400
    with pytest.raises(NgsiError) as err:
        broker.batch_update("bad tenant!", "/", "append", [{"id": "a"}])
    assert err.value.status == 400


def test_invalid_entity_in_a_batch_applies_nothing(broker):
    with pytest.raises(NgsiError):
        broker.batch_update("t", "/", "append", [{"id": "ok", "type": "T"}, {"id": "bad id"}])
    assert broker.query_entities("t", None, {})[0] == []


def test_key_values_batch_and_service_paths(broker):
    broker.batch_update("t", "/city/chuo", "append", [{"id": "a", "type": "T", "n": 1}],
                        key_values=True)
    assert broker.query_entities("t", "/city/#", {"options": "keyValues"})[0] == [
        {"id": "a", "type": "T", "n": 1}]
    assert broker.query_entities("t", "/other", {})[0] == []


def test_app_works_in_process_through_asgi_transport(broker):
    app = create_broker_app(broker)

    async def run():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://broker") as c:
            r = await c.post("/v2/entities", json={"id": "x", "type": "T", "a": {"value": 1}},
                             headers={"Fiware-Service": "inproc"})
            assert r.status_code == 201
            r = await c.get("/v2/entities", params={"options": "count"},
                            headers={"Fiware-Service": "inproc"})
            assert r.headers["fiware-total-count"] == "1"
            r = await c.get("/v2/entities/nope", headers={"Fiware-Service": "inproc"})
            assert r.status_code == 404 and r.json()["error"] == "NotFound"
            r = await c.post("/v2/entities", content=b"{", headers={
                "Content-Type": "application/json"})
            assert r.status_code == 400

    asyncio.run(run())
