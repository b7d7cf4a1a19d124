"""The SQLite store: persistence, geo indexes against brute force, schema checks."""

from __future__ import annotations

import math
import random

import pytest
import shapely

from workbench.server.broker import Broker, EntityStore, open_store
from workbench.server.broker.geo import haversine_m


def _points(n: int, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    return [{"id": f"p{i:04d}", "type": "P", "location": {"type": "geo:json", "value": {
        "type": "Point", "coordinates": [rng.uniform(141.2, 141.5), rng.uniform(42.95, 43.15)]}}}
        for i in range(n)]


def _ids(broker: Broker, **params) -> list[str]:
    out, total = [], None
    offset = 0
    while True:
        page, total = broker.query_entities("t", None, {**params, "limit": "1000",
                                                        "offset": str(offset),
                                                        "options": "count"})
        out += [e["id"] for e in page]
        offset += 1000
        if offset >= total:
            return out


def test_open_store_is_an_entity_store(tmp_path):
    store = open_store(tmp_path / "a.db")
    assert isinstance(store, EntityStore)
    store.close()


def test_entities_and_history_persist_across_reopen(tmp_path):
    path = tmp_path / "b.db"
    broker = Broker(open_store(path))
    broker.batch_update("t", "/", "append", _points(10))
    broker.store.close()
    again = Broker(open_store(path))
    assert len(_ids(again)) == 10
    assert again.history_entity("t", None, "p0003", {})[0]["entityId"] == "p0003"
    again.store.close()


def test_near_matches_brute_force_haversine():
    data = _points(3000)
    broker = Broker(open_store(":memory:"))
    broker.batch_update("t", "/", "append", data)
    lat, lon = 43.06, 141.35
    for max_d in (300, 800, 5000):
        got = _ids(broker, georel=f"near;maxDistance:{max_d}", geometry="point",
                   coords=f"{lat},{lon}")
        want = sorted(
            (haversine_m(lon, lat, *e["location"]["value"]["coordinates"]), e["id"])
            for e in data)
        assert got == [i for d, i in want if d <= max_d]
    got = _ids(broker, georel="near;minDistance:20000", geometry="point", coords=f"{lat},{lon}")
    assert set(got) == {e["id"] for e in data if haversine_m(
        lon, lat, *e["location"]["value"]["coordinates"]) >= 20000}


def test_polygon_queries_match_shapely():
    data = _points(2000)
    broker = Broker(open_store(":memory:"))
    broker.batch_update("t", "/", "append", data)
    ring = [(43.0, 141.3), (43.0, 141.4), (43.1, 141.38), (43.0, 141.3)]
    coords = ";".join(f"{a},{b}" for a, b in ring)
    poly = shapely.Polygon([(b, a) for a, b in ring])
    inside = {e["id"] for e in data
              if poly.covers(shapely.Point(e["location"]["value"]["coordinates"]))}
    assert set(_ids(broker, georel="coveredBy", geometry="polygon", coords=coords)) == inside
    assert set(_ids(broker, georel="disjoint", geometry="polygon", coords=coords)) == (
        {e["id"] for e in data} - inside)
    # a huge box takes the scanning path and still answers exactly
    assert len(_ids(broker, georel="coveredBy", geometry="box", coords="-80,-170;80,170")) == 2000


def test_moving_and_deleting_entities_updates_the_geo_index():
    broker = Broker(open_store(":memory:"))
    broker.batch_update("t", "/", "append", [
        {"id": "a", "type": "P", "l": {"type": "geo:point", "value": "43.0, 141.0"}},
        {"id": "s", "type": "P", "l": {"type": "geo:json", "value": {
            "type": "LineString", "coordinates": [[141.0, 43.0], [141.001, 43.0]]}}}])
    near = {"georel": "near;maxDistance:100", "geometry": "point", "coords": "43.0,141.0"}
    assert _ids(broker, **near) == ["a", "s"]
    broker.update_attrs("t", None, "a", {"l": {"type": "geo:point", "value": "44.0, 142.0"}})
    broker.replace_attrs("t", None, "s", {"name": {"value": "no place"}})
    assert _ids(broker, **near) == []
    far = {"georel": "near;maxDistance:100", "geometry": "point", "coords": "44.0,142.0"}
    assert _ids(broker, **far) == ["a"]
    broker.delete_entity("t", None, "a")
    assert _ids(broker, **far) == []


def test_geo_answers_are_the_same_before_and_after_fresh_points_merge(monkeypatch):
    from workbench.server.broker import sqlite_store

    monkeypatch.setattr(sqlite_store, "FRESH_MAX", 700)
    data = _points(2000)
    broker = Broker(open_store(":memory:"))
    # 2000 points in batches of 500: merges after 1000 and 2000 points, moves in between
    for i in range(0, 2000, 500):
        broker.batch_update("t", "/", "append", data[i:i + 500])
        if i == 500:  # move points that sit in geo_points (merged) and in geo_fresh
            for e in data[0:2000:97]:
                lon, lat = e["location"]["value"]["coordinates"]
                e["location"]["value"]["coordinates"] = [lon + 0.01, lat - 0.01]
            broker.batch_update("t", "/", "update", [e for e in data[0:1000:97]])
    broker.batch_update("t", "/", "update", [e for e in data[1000:2000:97]])
    broker.batch_update("t", "/", "delete", [{"id": e["id"]} for e in data[5:2000:101]])
    live = [e for i, e in enumerate(data) if i % 101 != 5]
    store = broker.store
    fresh = store._db.execute("SELECT count(*) FROM geo_fresh").fetchone()[0]
    merged = store._db.execute("SELECT count(*) FROM geo_points").fetchone()[0]
    assert fresh > 0 and merged > 0 and fresh + merged == len(live)
    lat, lon = 43.06, 141.35

    def answers() -> list:
        near = [_ids(broker, georel=f"near;maxDistance:{d}", geometry="point",
                     coords=f"{lat},{lon}") for d in (800, 5000, 30000)]
        box = set(_ids(broker, georel="coveredBy", geometry="box", coords="43.0,141.3;43.1,141.4"))
        return [near, box]

    before = answers()
    want = sorted((haversine_m(lon, lat, *e["location"]["value"]["coordinates"]), e["id"])
                  for e in live)
    assert before[0][1] == [i for d, i in want if d <= 5000]
    store.merge_fresh_points("t")
    assert store._db.execute("SELECT count(*) FROM geo_fresh").fetchone()[0] == 0
    assert answers() == before


def test_cached_counts_and_page_ends_follow_writes_from_any_connection(tmp_path):
    path = tmp_path / "c.db"
    broker = Broker(open_store(path))
    broker.batch_update("t", "/", "append", _points(30))
    assert _ids(broker, type="P")[:3] == ["p0000", "p0001", "p0002"]
    page = {"type": "P", "limit": "10", "options": "count"}
    assert broker.query_entities("t", None, {**page, "offset": "10"})[1] == 30
    # our own write: a new first entity would shift every page
    broker.delete_entity("t", None, "p0000")
    found, total = broker.query_entities("t", None, {**page, "offset": "10"})
    assert (found[0]["id"], total) == ("p0011", 29)
    # another process's write (a second connection to the same file)
    other = Broker(open_store(path))
    other.delete_entity("t", None, "p0001")
    found, total = broker.query_entities("t", None, {**page, "offset": "10"})
    assert (found[0]["id"], total) == ("p0012", 28)
    assert _ids(broker, type="P") == [f"p{i:04d}" for i in range(2, 30)]
    other.store.close()
    broker.store.close()


def test_types_listing_counts_per_type():
    broker = Broker(open_store(":memory:"))
    broker.batch_update("t", "/", "append", _points(5) + [{"id": "x", "type": "Q",
                                                             "n": {"value": 1}}])
    types, total = broker.list_types("t", None, {"options": "count"})
    assert total == 2
    assert [(t["type"], t["count"]) for t in types] == [("P", 5), ("Q", 1)]
    assert types[0]["attrs"] == {"location": {"types": ["geo:json"]}}


def test_schema_2_database_is_upgraded_in_place(tmp_path):
    import sqlite3

    path = tmp_path / "v2.db"
    broker = Broker(open_store(path))
    broker.batch_update("t", "/", "append", _points(50))
    broker.store.merge_fresh_points("t")
    broker.store.close()
    db = sqlite3.connect(path)  # what a schema-2 broker left: no geo_fresh table
    db.execute("DROP TABLE geo_fresh")
    db.execute("PRAGMA user_version = 2")
    db.commit()
    db.close()
    again = Broker(open_store(path))
    again.batch_update("t", "/", "append", _points(60)[50:])
    box = {"georel": "coveredBy", "geometry": "box", "coords": "42.9,141.1;43.2,141.6"}
    assert len(_ids(again, **box)) == 60
    again.store.close()


def test_older_schema_is_refused_with_advice(tmp_path):
    import sqlite3

    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE entities (pk INTEGER PRIMARY KEY)")
    db.commit()
    db.close()
    with pytest.raises(RuntimeError, match="delete it"):
        open_store(path)


def test_haversine_is_metres():
    # one degree of latitude is about 111.2 km
    assert math.isclose(haversine_m(141.0, 43.0, 141.0, 44.0), 111_195, rel_tol=1e-3)
