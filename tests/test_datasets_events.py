"""Dated events with known effects."""

from __future__ import annotations

import pandas as pd

from workbench.datasets.events import DEFAULT_EVENTS, PolicyEvent, multiplier, truth_markdown

EVENT = PolicyEvent("e", "Test event", (("2024-06-01", "2024-06-03"), ("2024-07-01", None)),
                    ridership_effect={"N06": 0.10, "*": 0.02})


def test_event_is_active_on_its_periods_only():
    days = pd.DatetimeIndex(["2024-05-31", "2024-06-01", "2024-06-03", "2024-06-04",
                             "2024-07-01", "2030-01-01"])
    assert EVENT.active(days).tolist() == [False, True, True, False, True, True]


def test_named_unit_overrides_the_wildcard_and_effects_multiply():
    days = pd.DatetimeIndex(["2024-05-31", "2024-06-02"])
    assert multiplier(days, "N06", [EVENT], kind="ridership").tolist() == [1.0, 1.1]
    assert multiplier(days, "T01", [EVENT, EVENT], kind="ridership")[1] == 1.02**2
    assert multiplier(days, "x", [EVENT], kind="pedestrian").tolist() == [1.0, 1.0]


def test_truth_markdown_lists_every_effect():
    text = truth_markdown(DEFAULT_EVENTS, kind="ridership")
    assert "N06: +6%" in text and "2024-06-01" in text and "all others: +2%" in text
