"""Numeric URL parameters of ``workbench broker``: every bad value is a 400, never a 500.

Offsets and ``lastN`` beyond SQLite's 64-bit integers, digits that are not ASCII ('²'),
negative or garbled numbers and infinite distances used to escape as 500s with a logged
traceback. Every case runs against the real broker (the session ``broker`` fixture), whose
log must stay free of tracebacks.
"""

from __future__ import annotations

import httpx
import pytest

T = {"Fiware-Service": "params"}
BIG = str(2**63)
BAD_COUNTS = [BIG, str(2**64), "9" * 400, "-1", "abc", "1e3", "1.5", "²", " 1", "0x10"]
POINT = {"geometry": "point", "coords": "43.06,141.35"}


@pytest.fixture(scope="module")
def client(broker):
    with httpx.Client(base_url=broker.url, headers=T, timeout=30) as http:
        for value in (1, 2):  # two history points
            r = http.post(
                "/v2/entities",
                params={"options": "upsert"},
                json={"id": "E1", "type": "T", "v": {"type": "Number", "value": value}},
            )
            assert r.status_code in (201, 204), r.text
        yield http


def _assert_400(r: httpx.Response) -> None:
    assert r.status_code == 400, (r.request.url, r.text)
    body = r.json()
    assert body["error"] == "BadRequest" and body["description"]


@pytest.mark.parametrize("value", BAD_COUNTS)
@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/v2/entities", "offset"),
        ("/v2/entities", "limit"),
        ("/v2/types", "offset"),
        ("/ql/v2/entities/E1", "offset"),
        ("/ql/v2/entities/E1", "lastN"),
        ("/ql/v2/entities/E1/attrs/v", "lastN"),
        ("/ql/v2/types/T", "lastN"),
        ("/ql/v2/types/T/attrs/v", "offset"),
    ],
)
def test_bad_counts_are_400(client, path, name, value):
    _assert_400(client.get(path, params={name: value}))


@pytest.mark.parametrize(
    "georel",
    [
        "near;maxDistance:1e400",
        "near;maxDistance:inf",
        "near;maxDistance:nan",
        "near;minDistance:1e400",
        "near;minDistance:-1",
        "near;maxDistance:²",
    ],
)
def test_infinite_or_garbled_distances_are_400(client, georel):
    _assert_400(client.get("/v2/entities", params={"georel": georel, **POINT}))


@pytest.mark.parametrize(
    "coords", ["1e400,141.35", "nan,141.35", "43.06,inf", "43.06", "43.06,141.35;1,2"]
)
def test_bad_coordinates_are_400(client, coords):
    _assert_400(
        client.get(
            "/v2/entities", params={"georel": "near;maxDistance:10", **POINT, "coords": coords}
        )
    )


def test_the_largest_offset_and_lastn_are_answered(client):
    top = str(2**63 - 1)
    r = client.get("/v2/entities", params={"offset": top, "limit": 1000, "options": "count"})
    assert r.status_code == 200 and r.json() == []
    assert r.headers["Fiware-Total-Count"] == "1"
    r = client.get("/ql/v2/entities/E1/attrs/v", params={"lastN": top})
    assert r.status_code == 200 and r.json()["values"] == [1, 2]


def test_no_traceback_reached_the_log(client, broker):
    for value in BAD_COUNTS:
        client.get("/v2/entities", params={"offset": value})
    assert "Traceback" not in broker.log_path.read_text(errors="replace")
