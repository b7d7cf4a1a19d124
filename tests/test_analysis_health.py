"""Tests for workbench.analysis.health on the synthetic health-point generator."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.analysis.health import (
    naive_comparison,
    participation,
    programme_effect,
    programme_event_study,
    programme_panel,
    step_trajectories,
    steps_by_area_score,
    steps_by_month,
)
from workbench.analysis.privacy import find_recoverable_cells
from workbench.datasets import health_points


def _programme(seed: int, effect: float, n: int = 500):
    result = health_points.generate_health_points(
        n_participants=n,
        n_comparison=n,
        seed=seed,
        effect_steps=effect,
        campaign_steps=0.0,
    )
    return result, health_points.person_months(result)


@pytest.fixture(scope="module")
def programme():
    return _programme(5, 1_800.0)


def _assert_safe(table: pd.DataFrame, count: str, dims: list[str], no_total=()):
    published = table[count].dropna()
    assert not ((published > 0) & (published < 10)).any()
    assert find_recoverable_cells(
        table, count_column=count, dimensions=dims, no_total=list(no_total)
    ).empty


def test_participation_by_ward_and_age_is_suppressed_and_totals_are_true(programme):
    result, _ = programme
    table = participation(result.people)
    assert table["suppressed"].any()  # small wards x age bands exist at this size
    _assert_safe(table, "participants", ["ward_code", "age_band"])
    grand = table[(table["ward_code"] == "All") & (table["age_band"] == "All")]
    assert grand["participants"].iloc[0] == (result.people["group"] == "participant").sum()
    true = result.people[result.people["group"] == "participant"].groupby("ward_code").size()
    wards = table[(table["age_band"] == "All") & (table["ward_code"] != "All")]
    for _, row in wards.dropna(subset=["participants"]).iterrows():
        assert row["participants"] == true[row["ward_code"]]


def test_participation_rates_use_public_population_and_hide_with_counts(programme):
    result, _ = programme
    population = (
        result.people.groupby("ward_code").size().mul(100).rename("population").reset_index()
    )
    table = participation(result.people, by=["ward_code"], population=population)
    shown = table.dropna(subset=["participants"])
    expected = shown["participants"].astype(float) * 1000 / shown["population"]
    assert np.allclose(shown["participants_per_1000"].astype(float), expected)
    assert table.loc[table["participants"].isna(), "participants_per_1000"].isna().all()
    total = table[table["ward_code"] == "All"]
    assert total["population"].iloc[0] == population["population"].sum()


def test_steps_by_month_and_ward_protects_each_month(programme):
    _, person_months = programme
    first_months = person_months[person_months["month"] < "2022-10-01"]
    table = steps_by_month(first_months, by=["group", "ward_code", "age_band"])
    assert "All" not in set(table["month"].astype(str))
    assert table["suppressed"].any()
    assert table.loc[table["suppressed"], "steps_mean"].isna().all()
    for _, month in table.groupby("month"):
        dims = ["group", "ward_code", "age_band"]
        _assert_safe(month.drop(columns="month"), "persons", dims)


def test_step_trajectories_show_the_rise_at_enrolment(programme):
    result, person_months = programme
    table = step_trajectories(person_months, window=(-12, 11)).set_index("months_since_enrolment")
    assert list(table.index) == list(range(-12, 12))
    before = table.loc[-12:-1, "steps_mean"].astype(float).mean()
    after = table.loc[0:11, "steps_mean"].astype(float).mean()
    assert after - before == pytest.approx(1_800, abs=300)  # same calendar months
    by_age = step_trajectories(person_months, by=["age_band"], window=(-3, 3))
    for _, month in by_age.groupby("months_since_enrolment"):
        _assert_safe(month.drop(columns="months_since_enrolment"), "persons", ["age_band"])


@pytest.mark.parametrize("effect", [0.0, 1_800.0])
@pytest.mark.parametrize("seed", [1, 2])
def test_naive_comparison_is_biased_and_matched_did_recovers_the_generators_effect(seed, effect):
    result, person_months = _programme(seed, effect, n=400)
    truth = result.truth["realised_mean_effect_steps"]
    naive = naive_comparison(person_months, after="2024-04-01")
    assert not naive.covers(truth)  # participants already walked ~600 more
    panel = programme_panel(person_months)
    # 99% intervals: a fixed-seed test of a 95% interval would fail one run in twenty.
    fit = programme_effect(panel, matching="ipw", confidence=0.99)
    assert fit.covers(truth), (fit, truth)
    assert fit.excludes_zero == (effect != 0)
    study = programme_event_study(panel, window=(-3, 6))
    after = study[study["relative_time"] >= 0]
    assert ((after["estimate"] - truth).abs() < 4 * after["std_error"]).all()


def test_estimates_refuse_groups_below_the_threshold(programme):
    _, person_months = programme
    few = person_months[
        (person_months["group"] == "comparison")
        | person_months["person_id"].isin(
            person_months.loc[person_months["group"] == "participant", "person_id"].unique()[:5]
        )
    ]
    with pytest.raises(ValueError, match="at least 10 people"):
        naive_comparison(few, after="2024-04-01")
    with pytest.raises(ValueError, match="at least 10 people"):
        programme_effect(programme_panel(few))


def test_steps_by_area_score_bins_areas_and_shows_the_gradient():
    rng = np.random.default_rng(8)
    areas = [f"area{k:03d}" for k in range(200)]
    scores = pd.Series(rng.uniform(0, 100, len(areas)), index=areas)
    people = pd.DataFrame(
        {
            "home_area_key": rng.choice(areas, 3_000),
            "group": rng.choice(["participant", "comparison"], 3_000),
        }
    )
    people["steps"] = 5_000 + 30 * people["home_area_key"].map(scores) + rng.normal(0, 500, 3_000)
    people.loc[:3, "home_area_key"] = "unknown-area"  # no score: left out
    table = steps_by_area_score(people, scores, steps_column="steps", by=["group"])
    assert table["score_bin"].unique().tolist() == [
        "Q1 (lowest)",
        "Q2",
        "Q3",
        "Q4",
        "Q5 (highest)",
        "All",
    ]
    totals = table[(table["group"] == "All") & (table["score_bin"] != "All")]
    assert totals["steps_mean"].is_monotonic_increasing
    assert table.loc[table["score_bin"] == "Q1 (lowest)", "score_low"].iloc[0] == scores.min()
    grand = table[(table["group"] == "All") & (table["score_bin"] == "All")]
    assert grand["persons"].iloc[0] == 3_000 - 4
    _assert_safe(table, "persons", ["score_bin", "group"])


def test_doctests_and_layering():
    import doctest
    import subprocess
    import sys

    from workbench.analysis import effects, privacy, walkability

    for module in (privacy, walkability, effects):
        assert doctest.testmod(module).failed == 0, module.__name__
    code = (
        "import sys, workbench.analysis as a\n"
        "for name in a.__all__: getattr(a, name)\n"
        "bad = [m for m in sys.modules if m.startswith(('workbench.server', 'workbench.client'))]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_excluding_the_campaign_months_keeps_the_programme_effect_clean():
    result = health_points.generate_health_points(
        n_participants=400, n_comparison=400, seed=3, campaign_steps=600.0
    )
    person_months = health_points.person_months(result)
    campaign = tuple(result.truth["campaign_period"])
    panel = programme_panel(person_months, exclude_periods=[campaign])
    assert not panel["month"].between(*campaign).any()
    fit = programme_effect(panel, confidence=0.99)
    assert fit.covers(result.truth["realised_mean_effect_steps"]), fit
