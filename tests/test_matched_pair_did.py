"""The health notebook's matched-pair DiD (``workbench.analysis.health.matched_pair_did``)."""

from __future__ import annotations

import pandas as pd
import pytest

from workbench.analysis.health import matched_pair_did
from workbench.datasets.health_points import generate_health_points, person_months

CAMPAIGN = ("2024-10-01", "2024-11-30")
START = "2023-04-01"


def _truth(programme) -> float:
    effects = programme.true_effects.dropna(subset=["effect_steps"])
    outside = ~effects["month"].between(*pd.to_datetime(CAMPAIGN))
    return float(
        effects.loc[(effects["months_since_enrolment"] >= 0) & outside, "effect_steps"].mean()
    )


@pytest.fixture(scope="module")
def noisy_null():
    # noisy days and similar people: a year's mean says little about how much someone walks,
    # and participants walk 600 more, so pairs equal on that mean are not equal in truth
    programme = generate_health_points(
        seed=8_800_101,
        n_participants=500,
        n_comparison=500,
        effect_steps=0.0,
        person_sd=300.0,
        daily_sd=6000.0,
    )
    return programme, person_months(programme)


def test_regression_to_the_mean_is_not_reported_as_an_effect(noisy_null):
    programme, records = noisy_null
    truth = _truth(programme)
    assert truth == 0.0
    fit = matched_pair_did(records, pre_end=START, exclude_periods=[CAMPAIGN]).effect
    assert fit.covers(truth), fit
    assert abs(fit.estimate) < 2.5 * fit.std_error
    # matching and taking the baseline on the same months (the notebook before) finds an
    # effect of a few hundred steps that is only regression to the mean
    same = matched_pair_did(
        records, pre_end=START, exclude_periods=[CAMPAIGN], holdout=False
    ).effect
    assert same.excludes_zero and same.estimate > 100, same


def test_recovers_the_documented_effect_with_pairs_and_event_study():
    programme = generate_health_points(
        seed=8_800_102, n_participants=400, n_comparison=400, effect_steps=1500.0
    )
    result = matched_pair_did(person_months(programme), pre_end=START, exclude_periods=[CAMPAIGN])
    truth = _truth(programme)
    assert result.effect.covers(truth), (result.effect, truth)
    participants = programme.people.loc[programme.people["group"] == "participant", "person_id"]
    assert set(result.pairs.index) <= set(participants)
    assert result.people.loc[result.pairs.to_numpy(), "group"].eq("comparison").all()
    before = result.event_study.loc[result.event_study.index < 0, "mean"]
    after = result.event_study.loc[result.event_study.index >= 0, "mean"]
    assert before.abs().mean() < 200 < 1000 < after.mean()
    assert "clustered by the matched non-participant" in result.effect.method


def test_records_without_the_needed_columns_are_refused():
    with pytest.raises(ValueError, match="enrolled_on"):
        matched_pair_did(
            pd.DataFrame({"person_id": [], "month": [], "steps_mean": []}), pre_end=START
        )
