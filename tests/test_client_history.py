"""Attribute history from ``/ql/v2`` as time-indexed frames."""

from __future__ import annotations

import uuid

import pandas as pd
import pytest

import workbench.client as wbc


@pytest.fixture(scope="module")
def walkers(broker):
    ex = wbc.connect(broker.url, service="h" + uuid.uuid4().hex[:10], progress=False)
    for day in range(1, 6):
        ex.publish(
            pd.DataFrame(
                {
                    "id": ["w1", "w2"],
                    "steps": [1000 * day, 1500 * day],
                    "km": [0.5 * day, 0.75 * day],
                    "dateObserved": pd.to_datetime([f"2024-06-0{day}T00:00:00Z"] * 2, utc=True),
                }
            ),
            type="Walker",
        )
    return ex


def test_one_attribute_of_one_entity(walkers):
    h = walkers.history(entity_id="w1", attr="steps")
    assert str(h.index.dtype) == "datetime64[ns, UTC]" and h.index.name == "time"
    assert h["steps"].tolist() == [1000, 2000, 3000, 4000, 5000]
    assert h["steps"].dtype == "Int64" and set(h["entity_id"]) == {"w1"}
    assert h.attrs["query"]["endpoint"] == "/ql/v2/entities/w1/attrs/steps"


def test_all_attributes_of_one_entity_with_date_range(walkers):
    h = walkers.history(
        entity_id="w2", from_date="2024-06-02T00:00:00Z", to_date=pd.Timestamp("2024-06-04")
    )
    assert h.index.min() == pd.Timestamp("2024-06-02", tz="UTC")
    assert h.index.max() == pd.Timestamp("2024-06-04", tz="UTC")
    assert h["km"].dtype == "float64" and {"steps", "km"} <= set(h.columns)


def test_one_attribute_of_every_entity_of_a_type_sorted_by_time_then_id(walkers):
    h = walkers.history(type="Walker", attr="steps")
    assert len(h) == 10
    assert h["entity_id"].tolist()[:4] == ["w1", "w2", "w1", "w2"]
    assert h.index.is_monotonic_increasing


def test_all_attributes_of_a_type(walkers):
    h = walkers.history(type="Walker")
    assert len(h) == 10 and {"steps", "km"} <= set(h.columns)


def test_last_n(walkers):
    h = walkers.history(entity_id="w1", attr="steps", last_n=2)
    assert h["steps"].tolist() == [4000, 5000]


def test_history_needs_an_entity_or_a_type(walkers):
    with pytest.raises(ValueError, match="entity_id"):
        walkers.history(attr="steps")


def _per_entity(ex, ids: list[str], **kwargs) -> pd.DataFrame:
    frame = pd.concat([ex.history(entity_id=e, **kwargs) for e in ids])
    order = frame.reset_index()[["time", "entity_id"]]
    return frame.iloc[order.sort_values(["time", "entity_id"], kind="stable").index]


def test_all_attributes_of_a_type_in_pages_equal_the_per_entity_histories(walkers, monkeypatch):
    from workbench.client import _history

    monkeypatch.setattr(_history, "PAGE_SIZE", 3)  # 10 points: 4 pages, 3 fetched at once
    h = walkers.history(type="Walker")
    assert h.attrs["query"]["endpoint"] == "/ql/v2/types/Walker"
    expected = _per_entity(walkers, ["w1", "w2"])
    pd.testing.assert_frame_equal(h, expected[h.columns])
    assert h["steps"].dtype == "Int64" and h["km"].dtype == "float64"


def test_all_attributes_of_a_type_from_a_server_without_the_type_route(walkers, monkeypatch):
    from workbench.client import _history

    monkeypatch.setattr(_history, "PAGE_SIZE", 3)
    real = _history.history_path

    def old_server(*, entity_id, type, attr):  # as if /ql/v2/types/{type} were unknown
        if entity_id is None and attr is None:
            return f"/ql/v2/no-such-route/{type}"
        return real(entity_id=entity_id, type=type, attr=attr)

    monkeypatch.setattr(_history, "history_path", old_server)
    h = walkers.history(type="Walker")
    pd.testing.assert_frame_equal(h, _per_entity(walkers, ["w1", "w2"])[h.columns])


def test_last_n_of_a_type_is_per_entity(walkers):
    h = walkers.history(type="Walker", last_n=2)
    assert h["entity_id"].value_counts().to_dict() == {"w1": 2, "w2": 2}
    assert h.loc[h["entity_id"] == "w2", "steps"].tolist() == [6000, 7500]


def test_a_type_without_history_is_an_empty_frame(walkers):
    assert walkers.history(type="Nobody").empty


@pytest.fixture(scope="module")
def ridership(tmp_path_factory):
    """``subway-ridership`` seeded into a fresh exchange, served, as the demo planner."""
    import json
    import subprocess
    import sys

    from servers import ServerProcess

    data_dir = tmp_path_factory.mktemp("ridership")
    cmd = [sys.executable, "-m", "workbench", "seed", "--data-dir", str(data_dir)]
    subprocess.run([*cmd, "--products", "subway-ridership"], check=True, capture_output=True)
    creds = json.loads((data_dir / "demo-credentials.json").read_text())
    key = next(a["api_key"] for a in creds["accounts"] if a["kind"] == "planner")
    with ServerProcess(["serve", "--data-dir", str(data_dir)]) as server:
        with wbc.connect(server.url, api_key=key, progress=False) as ex:
            yield ex


def test_a_seeded_type_history_through_the_gateway_equals_the_per_entity_path(
    ridership, monkeypatch
):
    from workbench.client import _history

    monkeypatch.setattr(_history, "PAGE_SIZE", 5000)  # ~54,000 points: 11 pages
    h = ridership.history("subway-ridership", type="RidershipObserved")
    assert len(h) > 5 * 5000 and h.index.is_monotonic_increasing
    ref = ridership._run(ridership._resolve_op("subway-ridership"))
    ids = sorted(set(h["entity_id"]))
    params = {"type": "RidershipObserved"}
    per_entity = ridership._run(_history._per_entity_op(ref, ids, params=params, progress=False))
    pd.testing.assert_frame_equal(h, per_entity[h.columns])
