"""Synthetic hourly pedestrian counts in Sapporo's city centre (Chi-Ka-Ho style sensors).

Eight fictional sensors along the Sapporo Ekimae-dori axis: four in the underground walkway
(Chi-Ka-Ho, opened March 2011), three on the street above and one in Pole Town. Model::

    count = daily[sensor] * daytype * season[sensor] * hour_profile[daytype][hour]
            * prod(1 + event effect) * lognormal noise

Levels are calibrated to the published figure of about 85,000 people a weekday between 9:00
and 20:00 on Ekimae-dori (ground plus underground). In winter people move underground:
underground sensors gain up to ``winter_shift``, street sensors lose twice as much.

:func:`daily_pedestrian_counts` sums the hourly counts to days (Japan time): the open
aggregate product ``city-centre-pedestrians-daily``, whose figures agree with the hourly
commercial product by construction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from workbench.datasets import _calendar
from workbench.datasets.events import DEFAULT_EVENTS, PolicyEvent, multiplier, truth_markdown
from workbench.datasets.events import truth_table as _truth_table
from workbench.datasets.sources import stamp_synthetic

#: sensor id -> (name, level "underground"/"ground", lon, lat, weekday daily count)
SENSORS: dict[str, tuple[str, str, float, float, int]] = {
    "chikaho-kita3": ("Chi-Ka-Ho Kita 3-jo", "underground", 141.35103, 43.06584, 75_000),
    "chikaho-kita2": ("Chi-Ka-Ho Kita 2-jo", "underground", 141.35115, 43.06448, 85_000),
    "chikaho-kita1": ("Chi-Ka-Ho Kita 1-jo", "underground", 141.35128, 43.06300, 88_000),
    "chikaho-odori": ("Chi-Ka-Ho Odori end", "underground", 141.35140, 43.06130, 92_000),
    "ekimae-ground-kita2": ("Ekimae-dori ground Kita 2-jo", "ground", 141.35135, 43.06450, 34_000),
    "ekimae-ground-kita1": ("Ekimae-dori ground Kita 1-jo", "ground", 141.35150, 43.06302, 36_000),
    "odori-ground-nishi3": ("Odori Nishi 3-chome ground", "ground", 141.35283, 43.06060, 40_000),
    "poletown-4chome": ("Pole Town Minami 1-jo", "underground", 141.35300, 43.05915, 60_000),
}
DAYTYPE_FACTOR = {"weekday": 1.0, "saturday": 0.85, "holiday": 0.70}

_WEEKDAY_PROFILE = np.array(
    [
        0.2,
        0.1,
        0.05,
        0.05,
        0.1,
        0.4,
        1.5,
        5.0,
        9.0,
        6.0,
        4.5,
        5.0,
        7.0,
        6.5,
        5.0,
        5.0,
        5.5,
        7.5,
        8.5,
        6.0,
        4.0,
        3.0,
        2.0,
        1.0,
    ]
)
_WEEKEND_PROFILE = np.array(
    [
        0.4,
        0.2,
        0.1,
        0.05,
        0.05,
        0.2,
        0.6,
        1.5,
        3.0,
        4.5,
        6.0,
        7.5,
        8.5,
        9.0,
        9.0,
        8.5,
        8.0,
        7.0,
        6.0,
        4.5,
        3.5,
        2.5,
        1.5,
        0.8,
    ]
)


@dataclass
class SyntheticPedestrianCounts:
    """The generated product: sensors, the hourly series and the true effects."""

    sensors: gpd.GeoDataFrame
    hourly: pd.DataFrame
    truth: pd.DataFrame
    parameters: dict
    events: tuple[PolicyEvent, ...] = DEFAULT_EVENTS

    def documentation(self) -> str:
        """Markdown documentation with the true effect sizes."""
        return _documentation(self)

    def daily(self) -> pd.DataFrame:
        """The hourly counts summed to days; see :func:`daily_pedestrian_counts`."""
        return daily_pedestrian_counts(self)

    def daily_documentation(self) -> str:
        """Markdown documentation of the daily aggregate, with the true effect sizes."""
        return _daily_documentation(self)


def load_sensors() -> gpd.GeoDataFrame:
    """Return the eight fictional counting sensors as points (EPSG:4326)."""
    rows = [
        {"sensor_id": k, "name": n, "level": lv, "weekday_daily_count": c}
        for k, (n, lv, _, _, c) in SENSORS.items()
    ]
    geometry = gpd.points_from_xy(
        [v[2] for v in SENSORS.values()], [v[3] for v in SENSORS.values()]
    )
    frame = gpd.GeoDataFrame(rows, geometry=geometry, crs=4326)
    for col in ("sensor_id", "name", "level"):
        frame[col] = frame[col].astype("string")
    return frame


def generate_pedestrian_counts(
    *,
    start: str = "2023-04-01",
    end: str = "2025-03-31",
    seed: int = 20261126,
    events: Iterable[PolicyEvent] = DEFAULT_EVENTS,
    winter_shift: float = 0.15,
    noise_sd: float = 0.08,
) -> SyntheticPedestrianCounts:
    """Generate SYNTHETIC hourly pedestrian counts for the eight city-centre sensors.

    Parameters
    ----------
    start, end
        Inclusive date range (whole days, local time Asia/Tokyo, hours 0–23).
    seed
        Random seed: the same seed and parameters give the same frame.
    events
        Dated events with known effects (default
        :data:`~workbench.datasets.events.DEFAULT_EVENTS`; pass ``()`` for none).
    winter_shift
        Relative gain of underground sensors at the height of winter (street sensors lose
        twice as much).
    noise_sd
        Hourly lognormal noise (sd of the log).

    Returns
    -------
    SyntheticPedestrianCounts
        ``hourly`` has ``sensor_id``, ``time`` (tz-aware, Asia/Tokyo, start of the hour),
        ``count`` (int64), ``day_type``.
    """
    events = tuple(events)
    rng = np.random.default_rng(seed)
    days = pd.date_range(start, end, freq="D")
    if len(days) == 0:
        raise ValueError(f"empty date range: start={start!r} is after end={end!r}")
    hours = pd.date_range(days[0], days[-1] + pd.Timedelta(hours=23), freq="h", tz="Asia/Tokyo")
    hour_days = hours.tz_localize(None).normalize()
    types = _calendar.day_type(days)
    type_of_hour = np.repeat(types, 24)
    weekday = type_of_hour == "weekday"
    profile = np.where(
        weekday,
        np.tile(_WEEKDAY_PROFILE / _WEEKDAY_PROFILE.sum(), len(days)),
        np.tile(_WEEKEND_PROFILE / _WEEKEND_PROFILE.sum(), len(days)),
    )
    daytype = np.array([DAYTYPE_FACTOR[t] for t in type_of_hour])
    snow = np.repeat(_calendar.snow_season_weight(days), 24)

    frames = []
    for sensor_id, (_, level, _, _, daily) in SENSORS.items():
        season = 1.0 + (winter_shift if level == "underground" else -2 * winter_shift) * snow
        effect = multiplier(hour_days, sensor_id, events, kind="pedestrian")
        expected = daily * daytype * season * profile * effect
        noisy = expected * rng.lognormal(-(noise_sd**2) / 2, noise_sd, len(hours))
        frames.append(
            pd.DataFrame(
                {
                    "sensor_id": sensor_id,
                    "time": hours,
                    "count": np.round(noisy).astype("int64"),
                    "day_type": type_of_hour,
                }
            )
        )
    hourly = pd.concat(frames, ignore_index=True)
    hourly["sensor_id"] = hourly["sensor_id"].astype("string")
    hourly["day_type"] = hourly["day_type"].astype("string")
    stamp_synthetic(hourly, title="Hourly city-centre pedestrian counts (SYNTHETIC)")
    truth = _truth_table(events, SENSORS, kind="pedestrian")
    parameters = dict(
        start=start,
        end=end,
        seed=seed,
        winter_shift=winter_shift,
        noise_sd=noise_sd,
        events=[e.key for e in events],
    )
    return SyntheticPedestrianCounts(load_sensors(), hourly, truth, parameters, events)


def daily_pedestrian_counts(counts: SyntheticPedestrianCounts) -> pd.DataFrame:
    """Sum SYNTHETIC hourly pedestrian counts to daily totals per sensor (Japan time).

    The counts are of passers-by at a sensor, not of people in a register, so no cell is
    about a person and nothing needs suppressing.

    Parameters
    ----------
    counts
        The result of :func:`generate_pedestrian_counts`.

    Returns
    -------
    pandas.DataFrame
        One row per sensor and day, sorted by sensor and date: ``sensor_id`` (string),
        ``date`` (datetime64, the local calendar day, no time zone), ``count`` (int64, the
        sum of the day's 24 hourly counts), ``day_type`` (string: weekday, saturday,
        holiday). ``attrs`` carry the synthetic title, licence and attribution.

    Examples
    --------
    >>> counts = generate_pedestrian_counts(start="2024-06-01", end="2024-06-07")
    >>> daily = daily_pedestrian_counts(counts)
    >>> len(daily) == 7 * len(SENSORS)
    True
    """
    hourly = counts.hourly
    date = hourly["time"].dt.tz_localize(None).dt.normalize().rename("date")
    daily = (
        hourly.groupby([hourly["sensor_id"], date], sort=True)
        .agg(count=("count", "sum"), day_type=("day_type", "first"))
        .reset_index()
    )
    daily["sensor_id"] = daily["sensor_id"].astype("string")
    daily["date"] = daily["date"].astype("datetime64[ns]")
    daily["count"] = daily["count"].astype("int64")
    daily["day_type"] = daily["day_type"].astype("string")
    stamp_synthetic(daily, title="Daily city-centre pedestrian counts per sensor (SYNTHETIC)")
    return daily


def _documentation(result: SyntheticPedestrianCounts) -> str:
    p = result.parameters
    sensors = "\n".join(
        f"- `{k}`: {v[0]} ({v[1]}), about {v[4]:,} a weekday" for k, v in SENSORS.items()
    )
    return f"""# Hourly city-centre pedestrian counts — SYNTHETIC

**This product is synthetic.** Real Chi-Ka-Ho counts are not published as open data; these
hourly counts are generated by
`workbench.datasets.pedestrians.generate_pedestrian_counts(seed={p["seed"]})` for eight
fictional sensors. Do not use them as facts about Sapporo.

Period {p["start"]} to {p["end"]}, one value an hour (Asia/Tokyo) per sensor. Entities: one
`CrowdFlowObserved` per sensor; the hourly series is its history of `peopleCount` (time index
`dateObserved` = start of the hour).

## Sensors
{sensors}

## Model
Weekday 1.0, Saturday 0.85, Sunday and holidays 0.70, commuter peaks on weekdays and a
midday hump at weekends; in winter underground sensors gain up to {p["winter_shift"]:+.0%}
and street sensors lose {2 * p["winter_shift"]:.0%}; hourly lognormal noise (sd
{p["noise_sd"]}). Calibrated to about 85,000 people a weekday 9:00–20:00 on Ekimae-dori
(ground plus underground).

## True effects (multiplicative on the expected count)
{truth_markdown(result.events, kind="pedestrian")}
"""


def _daily_documentation(result: SyntheticPedestrianCounts) -> str:
    p = result.parameters
    sensors = "\n".join(
        f"- `{k}`: {v[0]} ({v[1]}), about {v[4]:,} a weekday" for k, v in SENSORS.items()
    )
    return f"""# Daily city-centre pedestrian counts per sensor — SYNTHETIC, open aggregate

**This product is synthetic.** Real Chi-Ka-Ho counts are not published as open data; these
counts are generated by
`workbench.datasets.pedestrians.generate_pedestrian_counts(seed={p["seed"]})` for eight
fictional sensors. Do not use them as facts about Sapporo.

The open aggregate of the commercial product `city-centre-pedestrians` (hourly counts): each
value is the sum of one sensor's 24 hourly counts of one calendar day in Japan time
(`workbench.datasets.pedestrians.daily_pedestrian_counts`), so it equals the hourly product
summed by day. Counts are of passers-by at a sensor — no personal data, nothing suppressed.
Period {p["start"]} to {p["end"]}. Entities: one `CrowdFlowObserved` per sensor; the daily
series is its history of `peopleCount` (time index `dateObserved` = the date, midnight UTC).

## Sensors
{sensors}

## Model
Weekday 1.0, Saturday 0.85, Sunday and holidays 0.70; in winter underground sensors gain up
to {p["winter_shift"]:+.0%} and street sensors lose {2 * p["winter_shift"]:.0%}; hourly
lognormal noise (sd {p["noise_sd"]}). Calibrated to about 85,000 people a weekday
9:00–20:00 on Ekimae-dori (ground plus underground).

## True effects (multiplicative on the expected count)
{truth_markdown(result.events, kind="pedestrian")}
"""
