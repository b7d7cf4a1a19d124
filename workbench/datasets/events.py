"""Dated events with known effects, shared by the synthetic ridership and pedestrian products.

Each event multiplies the expected count by ``1 + effect`` on the days it is active, at the
stations or sensors it names (``"*"``: all). These are the true effects that analyses of the
synthetic products should recover; they are written into each product's documentation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class PolicyEvent:
    """An event with a known multiplicative effect on ridership and pedestrian counts.

    Parameters
    ----------
    key, title
        Identifier and human title.
    periods
        ``(start, end)`` date pairs (inclusive); ``end=None`` means permanent from ``start``.
    ridership_effect, pedestrian_effect
        Station code (or sensor id) -> relative effect (``0.05`` is +5%); key ``"*"`` applies
        to every station (sensor) not named.
    """

    key: str
    title: str
    periods: tuple[tuple[str, str | None], ...]
    ridership_effect: Mapping[str, float] = field(default_factory=dict)
    pedestrian_effect: Mapping[str, float] = field(default_factory=dict)
    description: str = ""

    def active(self, timestamps: pd.DatetimeIndex | pd.Series) -> np.ndarray:
        """Return a boolean mask of the timestamps on which the event is active."""
        days = pd.DatetimeIndex(timestamps).normalize()
        mask = np.zeros(len(days), dtype=bool)
        for start, end in self.periods:
            hit = days >= pd.Timestamp(start)
            if end is not None:
                hit &= days <= pd.Timestamp(end)
            mask |= np.asarray(hit)
        return mask

    def effect_for(self, unit: str, *, kind: str) -> float:
        """Return the effect at a station (``kind="ridership"``) or sensor (``"pedestrian"``)."""
        effects = self.ridership_effect if kind == "ridership" else self.pedestrian_effect
        return float(effects.get(unit, effects.get("*", 0.0)))


CITY_CENTRE_STATIONS = ("N06", "H07", "N07", "T09", "H08", "N08", "H09")

DEFAULT_EVENTS: tuple[PolicyEvent, ...] = (
    PolicyEvent(
        key="ekimae_pedestrian_space",
        title="Opening of a new pedestrian space on Ekimae-dori (fictional, permanent)",
        periods=(("2024-06-01", None),),
        ridership_effect={"N06": 0.06, "H07": 0.06, "N07": 0.05, "T09": 0.05, "H08": 0.05},
        pedestrian_effect={
            "*": 0.04,
            "ekimae-ground-kita2": 0.20,
            "ekimae-ground-kita1": 0.20,
            "chikaho-kita2": 0.08,
            "chikaho-kita1": 0.08,
        },
        description="A car-free plaza on Ekimae-dori between Kita 1-jo and Kita 3-jo.",
    ),
    PolicyEvent(
        key="walking_points_campaign",
        title="Autumn health-point walking campaign (double points, temporary)",
        periods=(("2024-10-01", "2024-11-30"),),
        ridership_effect={"*": 0.02},
        pedestrian_effect={"*": 0.07},
        description="Double health points for walking; people walk to farther stations.",
    ),
    PolicyEvent(
        key="snow_festival",
        title="Sapporo Snow Festival (recurring, early February)",
        periods=(
            ("2023-02-04", "2023-02-11"),
            ("2024-02-04", "2024-02-11"),
            ("2025-02-04", "2025-02-11"),
        ),
        ridership_effect={
            "N07": 0.25,
            "T09": 0.25,
            "H08": 0.25,
            "N08": 0.20,
            "H09": 0.20,
            "N06": 0.10,
            "H07": 0.10,
        },
        pedestrian_effect={"*": 0.30},
        description="Odori Park and Susukino sites of the Snow Festival.",
    ),
)


def multiplier(
    timestamps: pd.DatetimeIndex, unit: str, events: Iterable[PolicyEvent], *, kind: str
) -> np.ndarray:
    """Return the product of ``1 + effect`` of every active event, per timestamp."""
    out = np.ones(len(timestamps))
    for event in events:
        effect = event.effect_for(unit, kind=kind)
        if effect:
            out *= np.where(event.active(timestamps), 1.0 + effect, 1.0)
    return out


def truth_table(events: Iterable[PolicyEvent], units: Iterable[str], *, kind: str) -> pd.DataFrame:
    """Return the true effects: one row per event, period and affected unit."""
    rows = []
    for event in events:
        for unit in units:
            effect = event.effect_for(unit, kind=kind)
            if not effect:
                continue
            for start, end in event.periods:
                rows.append(
                    {
                        "event": event.key,
                        "title": event.title,
                        "unit": unit,
                        "start": pd.Timestamp(start),
                        "end": pd.Timestamp(end) if end else pd.NaT,
                        "relative_effect": effect,
                    }
                )
    return pd.DataFrame(rows, columns=["event", "title", "unit", "start", "end", "relative_effect"])


def truth_markdown(events: Iterable[PolicyEvent], *, kind: str) -> str:
    """Return the true effects as a Markdown list, for product documentation."""
    lines = []
    for event in events:
        effects = event.ridership_effect if kind == "ridership" else event.pedestrian_effect
        if not effects:
            continue
        periods = ", ".join(f"{s} to {e or 'onwards (permanent)'}" for s, e in event.periods)
        named = ", ".join(
            f"{'all others' if u == '*' else u}: {v:+.0%}" for u, v in effects.items()
        )
        lines.append(
            f"- **{event.title}** (`{event.key}`), {periods}: {named}. {event.description}"
        )
    return "\n".join(lines)
