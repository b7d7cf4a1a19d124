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
