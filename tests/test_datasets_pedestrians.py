"""Synthetic hourly pedestrian counts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.datasets.pedestrians import (
    SENSORS,
    daily_pedestrian_counts,
    generate_pedestrian_counts,
)


@pytest.fixture(scope="module")
def counts():
    return generate_pedestrian_counts()


def test_one_row_per_sensor_and_hour_in_tokyo_time(counts):
    hourly = counts.hourly
    assert len(hourly) == len(SENSORS) * 24 * len(pd.date_range("2023-04-01", "2025-03-31"))
    assert str(hourly["time"].dt.tz) == "Asia/Tokyo"
    assert hourly["count"].dtype == "int64" and (hourly["count"] >= 0).all()
    assert counts.sensors.crs.to_epsg() == 4326 and len(counts.sensors) == len(SENSORS)
    assert hourly.attrs["synthetic"] is True


def test_deterministic_per_seed():
    a = generate_pedestrian_counts(start="2024-01-01", end="2024-01-07", seed=3).hourly
    b = generate_pedestrian_counts(start="2024-01-01", end="2024-01-07", seed=3).hourly
    c = generate_pedestrian_counts(start="2024-01-01", end="2024-01-07", seed=4).hourly
    pd.testing.assert_frame_equal(a, b)
    assert not a["count"].equals(c["count"])


def test_weekday_ekimae_dori_volume_matches_the_published_85000(counts):
    h = counts.hourly
    local = h["time"].dt.tz_localize(None)
    autumn = (local >= "2023-09-01") & (local < "2023-11-01") & (h["day_type"] == "weekday")
    daytime = (local.dt.hour >= 9) & (local.dt.hour < 20)
    kita2 = h["sensor_id"].isin(["chikaho-kita2", "ekimae-ground-kita2"])
    per_day = h[autumn & daytime & kita2].groupby(local.dt.date)["count"].sum()
    assert 75_000 < per_day.mean() < 95_000


def test_morning_and_evening_peaks_on_weekdays(counts):
    h = counts.hourly[counts.hourly["day_type"] == "weekday"]
    by_hour = h.groupby(h["time"].dt.hour)["count"].mean()
    assert by_hour.idxmax() in (8, 18)
    assert by_hour[3] < by_hour[8] / 20


def test_people_go_underground_in_winter(counts):
    h = counts.hourly
    month = h["time"].dt.month
    level = h["sensor_id"].map({k: v[1] for k, v in SENSORS.items()})
    share = (h[level == "underground"].groupby(month[level == "underground"])["count"].sum()
             / h.groupby(month)["count"].sum())
    assert share[1] > share[8] + 0.03


def test_difference_in_differences_recovers_the_pedestrian_space_effect(counts):
    h = counts.hourly
    day = h["time"].dt.tz_localize(None).dt.normalize()
    daily = h.groupby(["sensor_id", day])["count"].sum().rename("count").reset_index()
    daily["log"] = np.log(daily["count"])
    t = daily["time"]
    pre = (t >= "2023-06-01") & (t <= "2023-09-30")
    post = (t >= "2024-06-01") & (t <= "2024-09-30")

    def change(sensor):
        d = daily[daily["sensor_id"] == sensor]
        return d[post.loc[d.index]]["log"].mean() - d[pre.loc[d.index]]["log"].mean()

    estimate = change("ekimae-ground-kita2") - change("odori-ground-nishi3")
    truth = counts.truth.set_index(["event", "unit"])["relative_effect"]
    expected = (np.log1p(truth["ekimae_pedestrian_space", "ekimae-ground-kita2"])
                - np.log1p(truth["ekimae_pedestrian_space", "odori-ground-nishi3"]))
    assert estimate == pytest.approx(expected, abs=0.02)
    assert "+20%" in counts.documentation() and "SYNTHETIC" in counts.documentation()


def test_daily_totals_equal_the_hourly_counts_summed_by_japanese_day(counts):
    daily = daily_pedestrian_counts(counts)
    assert daily.dtypes.astype(str).to_dict() == {
        "sensor_id": "string", "date": "datetime64[ns]", "count": "int64", "day_type": "string"}
    days = pd.date_range("2023-04-01", "2025-03-31")
    assert len(daily) == len(SENSORS) * len(days)
    assert not daily.duplicated(["sensor_id", "date"]).any()
    h = counts.hourly
    by_day = h.groupby([h["sensor_id"], h["time"].dt.tz_localize(None).dt.normalize()])["count"]
    expected = by_day.sum().to_numpy()
    assert (daily["count"].to_numpy() == expected).all()
    assert daily["count"].sum() == h["count"].sum()
    assert set(daily["day_type"]) == {"weekday", "saturday", "holiday"}
    assert daily.attrs["synthetic"] is True and "SYNTHETIC" in daily.attrs["title"]


def test_daily_documentation_says_synthetic_and_lists_the_true_effects(counts):
    text = counts.daily_documentation()
    assert "SYNTHETIC" in text and "open aggregate" in text
    assert "ekimae-ground-kita2: +20%" in text and "city-centre-pedestrians" in text
