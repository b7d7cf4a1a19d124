"""Durability: every write the broker acknowledged survives ``kill -9`` of the process."""

from __future__ import annotations

import threading
import time

import httpx
from servers import ServerProcess

H = {"Fiware-Service": "crash"}


def _stream_writes(url: str, acked: list[str], stop: threading.Event) -> None:
    """Create entities one by one and in small batches until the server dies."""
    with httpx.Client(base_url=url, timeout=5) as client:
        i = 0
        while not stop.is_set():
            try:
                if i % 2:
                    r = client.post("/v2/entities", headers=H,
                                    json={"id": f"e{i}", "type": "T", "n": {"value": i}})
                    ok, ids = r.status_code == 201, [f"e{i}"]
                else:
                    batch = [{"id": f"e{i}-{k}", "type": "T", "n": {"value": k}}
                             for k in range(20)]
                    r = client.post("/v2/op/update", headers=H,
                                    json={"actionType": "append", "entities": batch})
                    ok, ids = r.status_code == 204, [e["id"] for e in batch]
            except httpx.HTTPError:
                return  # the server is gone; this write was never acknowledged
            if ok:
                acked.extend(ids)
            i += 1


def test_acknowledged_writes_survive_kill_9(tmp_path):
    db = tmp_path / "crash.db"
    acked: list[str] = []
    stop = threading.Event()
    server = ServerProcess(["broker", "--db", str(db)]).start()
    try:
        writer = threading.Thread(target=_stream_writes, args=(server.url, acked, stop))
        writer.start()
        deadline = time.monotonic() + 20
        while len(acked) < 2000 and time.monotonic() < deadline:
            time.sleep(0.05)
        server.kill9()  # in the middle of the stream
        stop.set()
        writer.join(10)
    finally:
        server.stop()
    assert len(acked) >= 2000
    with ServerProcess(["broker", "--db", str(db)]) as restarted:
        r = httpx.get(restarted.url + "/v2/entities", headers=H,
                      params={"limit": 1, "options": "count"})
        assert int(r.headers["fiware-total-count"]) >= len(acked)
        found: set[str] = set()
        with httpx.Client(base_url=restarted.url, timeout=30) as client:
            offset = 0
            while True:
                page = client.get("/v2/entities", headers=H, params={
                    "limit": 1000, "offset": offset, "attrs": "n", "options": "keyValues"}).json()
                found.update(e["id"] for e in page)
                if len(page) < 1000:
                    break
                offset += 1000
        missing = [i for i in acked if i not in found]
        assert not missing, f"{len(missing)} acknowledged writes lost, e.g. {missing[:5]}"
