"""Synthetic daily subway ridership per station (Sapporo's real 49 station codes).

Model (all multiplicative on a station's base level of weekday boardings)::

    boardings = base[station] * daytype * (1 + winter * snow_weight) * trend(year)
                * storm(day) * prod(1 + event effect) * lognormal noise

- ``base``: lognormal around 12,000 a day, with the city-centre hubs (Sapporo, Odori,
  Susukino ...) and the line ends set higher, so the city total is about 650,000 a weekday
  (the real all-day average is roughly 600,000);
- ``daytype``: weekday 1.0, Saturday 0.72, Sunday/holiday 0.58;
- winter: Sapporo's snow moves people from cars and bicycles to the subway (+``winter_uplift``
  at the height of winter); a few snowstorm days a winter cut ridership by 12–25%;
- ``trend``: ``annual_growth`` a year from the start date;
- events: :data:`workbench.datasets.events.DEFAULT_EVENTS` (true effects in ``truth``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from workbench.datasets import _calendar
from workbench.datasets.events import DEFAULT_EVENTS, PolicyEvent, multiplier, truth_markdown
from workbench.datasets.events import truth_table as _truth_table
from workbench.datasets.sources import stamp_synthetic
from workbench.datasets.transit import load_stations

DAYTYPE_FACTOR = {"weekday": 1.0, "saturday": 0.72, "holiday": 0.58}
#: Weekday boardings of the busiest stations (rough public orders of magnitude).
HUB_BASE = {
    "N07": 52_000,
    "T09": 38_000,
    "H08": 22_000,  # Odori
    "N06": 48_000,
    "H07": 20_000,  # Sapporo
    "N08": 30_000,
    "H09": 12_000,  # Susukino, Hosui-susukino
    "T19": 26_000,
    "N16": 18_000,
    "N01": 24_000,  # line ends with bus terminals
    "H14": 20_000,
    "T01": 16_000,
    "T10": 12_000,
    "T03": 20_000,
}


@dataclass
class SyntheticRidership:
    """The generated product: stations, the daily series and the true effects."""

    stations: gpd.GeoDataFrame
    daily: pd.DataFrame
    truth: pd.DataFrame
    parameters: dict
    events: tuple[PolicyEvent, ...] = DEFAULT_EVENTS

    def documentation(self) -> str:
        """Markdown documentation with the true effect sizes."""
        return _documentation(self)


def generate_ridership(
    *,
    start: str = "2022-04-01",
    end: str = "2025-03-31",
    seed: int = 20261126,
    events: Iterable[PolicyEvent] = DEFAULT_EVENTS,
    winter_uplift: float = 0.08,
    annual_growth: float = 0.03,
    noise_sd: float = 0.04,
    storms_per_winter: int = 4,
    sample_data: str | os.PathLike[str] | None = None,
) -> SyntheticRidership:
    """Generate SYNTHETIC daily boardings for every subway station code.

    Parameters
    ----------
    start, end
        Inclusive date range.
    seed
        Random seed: the same seed and parameters give the same frame.
    events
        Dated events with known effects (default :data:`~workbench.datasets.events.DEFAULT_EVENTS`;
        pass ``()`` for none).
    winter_uplift, annual_growth, noise_sd, storms_per_winter
        Seasonal uplift at the height of winter, yearly trend, daily lognormal noise (sd of the
        log), and the number of snowstorm days per winter.

    Returns
    -------
    SyntheticRidership
        ``daily`` has ``station_code``, ``date`` (datetime64), ``boardings`` (int64),
        ``day_type``; ``truth`` lists each event's relative effect per station.
    """
    events = tuple(events)
    rng = np.random.default_rng(seed)
    stations = load_stations(modes=["subway"], sample_data=sample_data)
    stations = stations.sort_values("station_code", ignore_index=True)
    codes = stations["station_code"].to_list()
    base = rng.lognormal(np.log(7_000), 0.35, len(codes))
    base = np.array([HUB_BASE.get(c, b) for c, b in zip(codes, base, strict=True)])

    days = pd.date_range(start, end, freq="D")
    if len(days) == 0:
        raise ValueError(f"empty date range: start={start!r} is after end={end!r}")
    types = _calendar.day_type(days)
    common = np.array([DAYTYPE_FACTOR[t] for t in types])
    common *= 1.0 + winter_uplift * _calendar.snow_season_weight(days)
    common *= (1.0 + annual_growth) ** ((days - days[0]).days.to_numpy() / 365.25)
    winter_days = np.flatnonzero(_calendar.snow_season_weight(days) > 0.6)
    n_storms = min(len(winter_days), storms_per_winter * max(1, round(len(days) / 365.25)))
    storms = rng.choice(winter_days, size=n_storms, replace=False) if n_storms else []
    common[storms] *= rng.uniform(0.75, 0.88, len(storms))

    frames = []
    for code, level in zip(codes, base, strict=True):
        expected = level * common * multiplier(days, code, events, kind="ridership")
        noisy = expected * rng.lognormal(-(noise_sd**2) / 2, noise_sd, len(days))
        frames.append(
            pd.DataFrame(
                {
                    "station_code": code,
                    "date": days,
                    "boardings": np.round(noisy).astype("int64"),
                    "day_type": types,
                }
            )
        )
    daily = pd.concat(frames, ignore_index=True)
    daily["day_type"] = daily["day_type"].astype("string")
    daily["station_code"] = daily["station_code"].astype("string")
    title = "Daily subway ridership per station (SYNTHETIC)"
    stamp_synthetic(daily, title=title, based_on=("n02_rail",))
    truth = _truth_table(events, codes, kind="ridership")
    parameters = dict(
        start=start,
        end=end,
        seed=seed,
        winter_uplift=winter_uplift,
        annual_growth=annual_growth,
        noise_sd=noise_sd,
        storms_per_winter=storms_per_winter,
        events=[e.key for e in events],
    )
    return SyntheticRidership(stations, daily, truth, parameters, events)


def _documentation(result: SyntheticRidership) -> str:
    p = result.parameters
    events = result.events
    return f"""# Daily subway ridership per station — SYNTHETIC

**This product is synthetic.** No real per-station ridership was available; these counts are
generated by `workbench.datasets.ridership.generate_ridership(seed={p["seed"]})` for the
real subway station list (MLIT N02 2020). Do not use them as facts about Sapporo.

Period {p["start"]} to {p["end"]}, one value a day per station code (N01–N16, T01–T19,
H01–H14): `peopleCount` = boardings. Entities: one `RidershipObserved` per station code; the
daily series is its history (`/ql/v2/entities/{{id}}/attrs/peopleCount`, time index
`dateObserved`).

## Model
- weekday 1.0, Saturday 0.72, Sunday and holidays 0.58 (Golden Week, Obon, New Year breaks);
- winter uplift up to {p["winter_uplift"]:+.0%} at the height of winter (snow moves people onto
  the subway); {p["storms_per_winter"]} snowstorm days a winter with −12% to −25%;
- trend {p["annual_growth"]:+.0%} a year; daily lognormal noise (sd {p["noise_sd"]}).

## True effects (multiplicative on the expected count)
{truth_markdown(events, kind="ridership")}
"""
