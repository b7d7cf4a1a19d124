"""Every read has a time budget; reads run in parallel on their own connections."""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import httpx
import pytest

from workbench.server.broker import Broker, NgsiError, create_broker_app, open_store
from workbench.server.broker.store import QUERY_STARTED

BUDGET_S = 0.3
COSTLY_Q = ";".join(f"note~={w}" for w in ("lorem", "ipsum", "dolor", "sit", "amet") * 12)


def _entities(n: int, start: int = 0) -> list[dict]:
    return [{"id": f"p{i}", "type": "Probe", "n": {"value": i},
             "note": {"value": "lorem ipsum dolor sit amet " * 6}} for i in range(start, n)]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    s = open_store(tmp_path_factory.mktemp("budget") / "broker.db", query_budget_s=BUDGET_S)
    broker = Broker(s)
    for i in range(0, 20000, 2000):
        broker.batch_update("t", "/", "append", _entities(i + 2000, i))
    yield s
    s.close()


def test_over_budget_query_is_stopped_with_a_400(store):
    t0 = time.monotonic()
    with pytest.raises(NgsiError) as exc:
        Broker(store).query_entities("t", None, {"q": COSTLY_Q, "options": "count"})
    assert time.monotonic() - t0 < BUDGET_S + 0.3
    assert exc.value.status == 400 and exc.value.error == "BadRequest"
    assert "time budget of 0.3 s" in exc.value.description
    # the connection is usable afterwards, for a cheap query
    found, total = Broker(store).query_entities("t", None, {"limit": "1", "options": "count"})
    assert found[0]["id"] == "p0" and total == 20000


def test_budget_counts_from_the_request_arrival(store):
    token = QUERY_STARTED.set(time.monotonic() - BUDGET_S - 0.01)  # queued for too long
    try:
        with pytest.raises(NgsiError, match="time budget"):
            Broker(store).get_entity("t", None, "p1")
    finally:
        QUERY_STARTED.reset(token)
    assert Broker(store).get_entity("t", None, "p1")["n"]["value"] == 1


def test_app_answers_over_budget_without_logging_a_traceback(store, caplog):
    app = create_broker_app(Broker(store))

    async def get() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://b") as client:
            return await client.get("/v2/entities", params={"q": COSTLY_Q},
                                    headers={"Fiware-Service": "t"})

    with caplog.at_level(logging.INFO):
        r = asyncio.run(get())
    assert r.status_code == 400
    assert r.json()["error"] == "BadRequest" and "time budget" in r.json()["description"]
    assert not [rec for rec in caplog.records if rec.levelno >= logging.WARNING or rec.exc_info]


def test_readers_see_every_committed_write_while_others_read(tmp_path):
    store = open_store(tmp_path / "broker.db")
    broker = Broker(store)
    broker.batch_update("t", "/", "append", _entities(100))
    stop = threading.Event()
    errors: list[BaseException] = []

    def reader() -> None:  # keeps the count and page caches busy
        try:
            while not stop.is_set():
                broker.query_entities("t", None, {"limit": "10", "offset": "50",
                                                  "options": "count"})
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    readers = [threading.Thread(target=reader) for _ in range(4)]
    for t in readers:
        t.start()
    try:
        for k in range(1, 21):  # each write is seen by the next read, in any thread
            broker.batch_update("t", "/", "append", _entities(100 + 10 * k, 100 + 10 * (k - 1)))
            _, total = broker.query_entities("t", None, {"limit": "1", "options": "count"})
            assert total == 100 + 10 * k
            page, _ = broker.query_entities("t", None, {"limit": "5", "offset": str(95 + 10 * k)})
            assert [e["id"] for e in page] == [f"p{i}" for i in range(95 + 10 * k, 100 + 10 * k)]
    finally:
        stop.set()
        for t in readers:
            t.join(10)
        store.close()
    assert not errors, errors[:3]
