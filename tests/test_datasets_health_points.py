"""Synthetic health-point programme: people, steps, effects and the open aggregate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.analysis.privacy import find_recoverable_cells
from workbench.datasets.health_points import (
    AGE_BANDS,
    aggregate_documentation,
    aggregate_health_points,
    generate_health_points,
    person_months,
)
from workbench.datasets.population import load_small_area_population


@pytest.fixture(scope="module")
def programme():
    return generate_health_points(n_participants=1500, n_comparison=1500)


def did_estimate(result) -> float:
    """Difference in differences on person-months, campaign months left out."""
    pm = person_months(result)
    pm = pm[(pm["days_observed"] > 0) & ~pm["month"].between("2024-10-01", "2024-11-30")]
    comparison = pm[pm["group"] == "comparison"].groupby("month")["steps_mean"].mean()
    pm = pm.assign(adjusted=pm["steps_mean"] - pm["month"].map(comparison))
    part = pm[pm["group"] == "participant"]
    per_person = part.groupby(["person_id", "enrolled"])["adjusted"].mean().unstack()
    return float((per_person[True] - per_person[False]).mean())


def test_people_and_months(programme):
    people, monthly = programme.people, programme.monthly
    assert len(people) == 3000 and people["person_id"].is_unique
    assert set(people["group"]) == {"participant", "comparison"}
    assert set(people["age_band"]) <= set(AGE_BANDS)
    assert len(monthly) == 3000 * 36
    assert monthly["days_observed"].between(0, 31).all()
    assert people.attrs["synthetic"] is True and "SYNTHETIC" in monthly.attrs["title"]
    enrolled = people[people["group"] == "participant"]["enrolled_on"]
    assert set(enrolled.dt.strftime("%Y-%m-%d")) == {"2023-04-01", "2023-10-01", "2024-04-01"}


def test_home_areas_are_real_small_areas_of_the_right_ward(programme):
    areas = load_small_area_population(years=[2020])[["ward_code", "area_key"]]
    known = set(zip(areas["ward_code"], areas["area_key"], strict=True))
    people = programme.people
    assert set(zip(people["ward_code"], people["home_area_key"], strict=True)) <= known
    assert people["ward_code"].nunique() == 10


def test_same_seed_same_people_and_steps():
    a = generate_health_points(n_participants=50, n_comparison=50, seed=5)
    b = generate_health_points(n_participants=50, n_comparison=50, seed=5)
    c = generate_health_points(n_participants=50, n_comparison=50, seed=6)
    pd.testing.assert_frame_equal(a.monthly, b.monthly)
    pd.testing.assert_frame_equal(a.people, b.people)
    assert not a.monthly["steps_mean"].equals(c.monthly["steps_mean"])


def test_baseline_selection_and_winter_dip(programme):
    pm = person_months(programme)
    pre = pm[~pm["enrolled"] & (pm["group"] == "participant")]
    before = pre[pre["month"] < "2023-04-01"]
    assert before["steps_mean"].mean() == pytest.approx(6700, abs=250)
    comparison = pm[(pm["group"] == "comparison") & (pm["month"] < "2023-04-01")]
    gap = before["steps_mean"].mean() - comparison["steps_mean"].mean()
    assert gap == pytest.approx(programme.truth["selection_steps"], abs=200)
    by_month = pm[pm["group"] == "comparison"].groupby(pm["month"].dt.month)["steps_mean"].mean()
    assert by_month[1] < 0.9 * by_month[8]


def test_difference_in_differences_recovers_the_effect_and_a_naive_comparison_does_not(
    programme,
):
    truth = programme.truth["realised_mean_effect_steps"]
    assert did_estimate(programme) == pytest.approx(truth, abs=120)
    pm = person_months(programme)
    after = pm[pm["month"].between("2024-06-01", "2024-09-30")]
    naive = (after[after["group"] == "participant"]["steps_mean"].mean()
             - after[after["group"] == "comparison"]["steps_mean"].mean())
    assert naive > truth + 0.5 * programme.truth["selection_steps"]


def test_a_null_programme_has_no_effect():
    null = generate_health_points(n_participants=800, n_comparison=800, effect_steps=0,
                                  campaign_steps=0, seed=11)
    assert null.truth["realised_mean_effect_steps"] == 0
    assert did_estimate(null) == pytest.approx(0, abs=120)


def test_daily_records_on_request_and_points_after_enrolment_only():
    result = generate_health_points(n_participants=20, n_comparison=20, include_daily=True,
                                    start="2023-03-01", end="2023-05-31")
    daily = result.daily.merge(result.people, on="person_id")
    assert len(daily) == 40 * 92
    assert daily["steps"].isna().mean() == pytest.approx(0.05, abs=0.03)
    before = daily["date"] < daily["enrolled_on"].fillna(pd.Timestamp("2100-01-01"))
    assert (daily.loc[before, "points"] == 0).all()
    assert daily.loc[~before, "points"].between(0, 10).all()


def test_invalid_parameters_are_refused():
    with pytest.raises(ValueError, match="effect_ramp_months"):
        generate_health_points(n_participants=5, effect_ramp_months=-1)


def test_aggregate_suppresses_every_small_cell_unrecoverably():
    programme = generate_health_points(start="2023-01-01", end="2023-12-31")
    table = aggregate_health_points(programme)
    dims = ["month", "ward_code", "age_band", "status"]
    published = table["persons"].dropna()
    assert ((published == 0) | (published >= 10)).all()
    assert table["suppressed"].any() and (table["suppression"] == "complementary").any()
    assert table.loc[table["suppressed"], "steps_mean"].isna().all()
    assert table.attrs["synthetic"] is True and "SYNTHETIC" in table.attrs["title"]
    one_month = table[table["month"] == "2023-06"]
    with_totals = pd.concat([one_month, one_month.assign(month="All")])
    assert find_recoverable_cells(with_totals, count_column="persons",
                                  dimensions=dims).empty
    documentation = aggregate_documentation(programme)
    assert "every count of 1 to 9 people is suppressed" in documentation
    assert "less than 5 people either side" in documentation
    assert np.isclose(
        table[(table["ward_code"] == "All") & (table["age_band"] == "All")
              & (table["status"] == "All")]["persons"].astype(float).max(), 4000, atol=150)


def test_effects_can_build_up_or_be_negative_and_the_truth_is_exact():
    result = generate_health_points(n_participants=300, n_comparison=100, seed=5,
                                    effect_steps=-900.0, effect_ramp_months=12)  # fmt: skip
    assert result.truth["effect_by_month"][:3] == [-75.0, -150.0, -225.0]
    assert result.truth["effect_by_month"][-1] == -900.0
    effects = result.true_effects
    enrolled = effects[effects["enrolled"]]
    by_month = enrolled.groupby("months_since_enrolment")["effect_steps"].mean()
    assert by_month[0] == pytest.approx(-75.0, abs=15)
    assert by_month[11] == pytest.approx(-900.0, abs=40)
    assert (effects.loc[~effects["enrolled"], "effect_steps"] == 0).all()
    # the truth is the effect on recorded steps: the same people without the programme
    without = generate_health_points(n_participants=300, n_comparison=100, seed=5,
                                     effect_steps=0.0)  # fmt: skip
    merged = result.monthly.merge(without.monthly, on=["person_id", "month"])
    exact = (merged["steps_mean_x"] - merged["steps_mean_y"])[merged["enrolled_x"]]
    assert result.true_effect() == pytest.approx(float(exact.mean()), abs=0.2)
    text = result.documentation()
    assert "builds up over the first 12 months" in text and "-900 steps a day" in text
