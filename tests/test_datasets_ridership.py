"""Synthetic daily subway ridership."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.datasets.ridership import generate_ridership


@pytest.fixture(scope="module")
def ridership():
    return generate_ridership()


def test_one_row_per_station_code_and_day(ridership):
    daily = ridership.daily
    days = pd.date_range("2022-04-01", "2025-03-31")
    assert len(daily) == 49 * len(days)
    assert daily["boardings"].dtype == "int64"
    assert str(daily["date"].dtype).startswith("datetime64")
    assert set(daily["station_code"]) == set(ridership.stations["station_code"])
    assert daily.attrs["synthetic"] is True and "SYNTHETIC" in daily.attrs["title"]


def test_same_seed_same_data_other_seed_other_data():
    a = generate_ridership(start="2024-01-01", end="2024-03-31", seed=7).daily
    b = generate_ridership(start="2024-01-01", end="2024-03-31", seed=7).daily
    c = generate_ridership(start="2024-01-01", end="2024-03-31", seed=8).daily
    pd.testing.assert_frame_equal(a, b)
    assert not a["boardings"].equals(c["boardings"])


def test_city_total_weekday_level_sundays_and_winter(ridership):
    daily = ridership.daily
    total = daily.groupby(["date", "day_type"])["boardings"].sum().reset_index()
    weekday = total[total["day_type"] == "weekday"]["boardings"].mean()
    holiday = total[total["day_type"] == "holiday"]["boardings"].mean()
    assert 500_000 < weekday < 800_000
    assert 0.5 < holiday / weekday < 0.7
    month = total[total["day_type"] == "weekday"].set_index("date")["boardings"]
    assert month[month.index.month == 1].mean() > month[month.index.month == 9].mean()


def test_difference_in_differences_recovers_the_pedestrian_space_effect(ridership):
    daily = ridership.daily.assign(log=lambda d: np.log(d["boardings"]))
    truth = ridership.truth
    effect = truth[(truth["event"] == "ekimae_pedestrian_space") & (truth["unit"] == "N06")]
    treated = set(truth[truth["event"] != "walking_points_campaign"]["unit"])
    controls = daily[~daily["station_code"].isin(treated)]
    pre = (daily["date"] >= "2023-06-01") & (daily["date"] <= "2024-01-31")
    post = (daily["date"] >= "2024-06-01") & (daily["date"] <= "2025-01-31")
    campaign = (daily["date"] >= "2024-10-01") & (daily["date"] <= "2024-11-30")

    def change(frame):
        f = frame[~campaign.loc[frame.index]]
        return f[post.loc[f.index]]["log"].mean() - f[pre.loc[f.index]]["log"].mean()

    estimate = change(daily[daily["station_code"] == "N06"]) - change(controls)
    assert estimate == pytest.approx(np.log1p(effect["relative_effect"].iloc[0]), abs=0.015)


def test_no_events_means_no_effect_and_documentation_states_the_truth(ridership):
    plain = generate_ridership(start="2024-05-01", end="2024-07-31", events=())
    assert plain.truth.empty
    doc = ridership.documentation()
    assert "SYNTHETIC" in doc and "N06: +6%" in doc and "2024-06-01" in doc


def test_empty_period_is_refused():
    with pytest.raises(ValueError, match="empty date range"):
        generate_ridership(start="2025-01-02", end="2025-01-01")
