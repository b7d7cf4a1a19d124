"""Synthetic health-point programme (健幸ポイント): participants, steps, points, aggregates.

People are drawn from Sapporo's real population: age band in proportion to the city's 2020
population (participants lean older), then a home small area in proportion to that age
band's population there (City of Sapporo, 条丁目 by 5-year age band, 2020). Each person walks
a personal mean number of steps a day; the daily series is::

    steps[i, t] = mu[i] * (1 - winter_dip * snow[t]) * weekend[t]
                  + effect[i] * enrolled[i, t] + campaign_steps * enrolled[i, t] * campaign[t]
                  + noise[i, t]

- participants' pre-enrolment mean (averaged over a year) is ``baseline_steps`` (about
  6,700, Sapporo's published level); the comparison group (non-participants) walks
  ``selection_steps`` less: the already-active self-select into the programme, so a naive
  participant–non-participant comparison overstates the effect by about ``selection_steps``;
- ``effect[i]`` has mean ``effect_steps`` (default +1,800; 0 and negative values are
  allowed) and is added from the person's enrolment date (enrolment waves), unaffected by
  season; with ``effect_ramp_months=R`` it builds up, reaching ``(k + 1) / R`` of the full
  effect in the ``k``-th month since enrolment (month 0 = the enrolment month) and the
  full effect from month ``R - 1`` on (dynamic effects; ``truth["effect_by_month"]``);
- winter (snow season) lowers everyone's walking by up to ``winter_dip``;
- about 5% of person-days are missing (device not worn).

Points (participants, after enrolment): one per 1,000 steps, at most 10 a day; doubled
during the walking-points campaign.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from workbench.datasets import _calendar
from workbench.datasets.events import DEFAULT_EVENTS
from workbench.datasets.population import AGE5_COLUMNS, load_small_area_population
from workbench.datasets.sources import stamp_synthetic

AGE_BANDS: tuple[str, ...] = ("20-29", "30-39", "40-49", "50-59", "60-69", "70-79", "80+")
#: relative walking of each age band (the 40s and 50s = 1)
_AGE_WALKING = np.array([1.06, 1.04, 1.0, 1.0, 0.97, 0.86, 0.62])
#: how much more likely each age band is to join the programme
_AGE_PROPENSITY = np.array([0.45, 0.6, 0.8, 1.0, 1.45, 1.35, 0.5])
DEFAULT_WAVES: tuple[tuple[str, float], ...] = (
    ("2023-04-01", 0.5),
    ("2023-10-01", 0.3),
    ("2024-04-01", 0.2),
)
STATUSES = ("enrolled", "not_yet_enrolled", "comparison")


def _band_of_age5(column: str) -> str | None:
    low = int(column.split("_")[1])
    if low < 20:
        return None
    return "80+" if low >= 80 else f"{low // 10 * 10}-{low // 10 * 10 + 9}"


@dataclass
class SyntheticHealthPoints:
    """The generated programme: people, monthly (and optionally daily) records, the truth.

    Attributes
    ----------
    people
        One row per person: ``person_id`` (pseudonym), ``group`` (``participant`` /
        ``comparison``), ``age_band``, ``sex``, ``ward_code``, ``home_area_key``,
        ``enrolment_wave`` (0 for comparison), ``enrolled_on`` (NaT for comparison).
    monthly
        One row per person and month: ``person_id``, ``month`` (first day), ``enrolled``
        (bool, enrolled for the whole month), ``steps_mean`` (mean daily steps over the days
        observed), ``days_observed``, ``points``.
    daily
        One row per person-day (``person_id``, ``date``, ``steps`` (``Float64``, missing
        when the device was not worn), ``points``), only with ``include_daily=True``.
    truth
        The true parameters and the realised mean effect on participants.
    """

    people: pd.DataFrame
    monthly: pd.DataFrame
    truth: dict
    daily: pd.DataFrame | None = None
    parameters: dict = field(default_factory=dict)
    true_effects: pd.DataFrame | None = None

    def true_effect(self, cells: pd.DataFrame | None = None) -> float:
        """The programme's mean effect on *recorded* steps over participant-months.

        The generator records every person twice, with and without the programme (same
        people, same noise, same missing days), so this is exact: recorded steps are floored
        at zero, and with dynamic effects the mean depends on which months are averaged.

        Parameters
        ----------
        cells : pandas.DataFrame, optional
            ``person_id`` and ``month`` of the participant-months to average over (what an
            estimator aggregates); default every month a participant was enrolled for the
            whole month and observed.
        """
        effects = self.true_effects.dropna(subset=["effect_steps"])
        if cells is None:
            return float(effects.loc[effects["enrolled"], "effect_steps"].mean())
        keys = cells[["person_id", "month"]].astype({"person_id": "string"})
        keys["month"] = pd.to_datetime(keys["month"])
        merged = effects.merge(keys, on=["person_id", "month"], how="inner")
        return float(merged["effect_steps"].mean())

    def documentation(self) -> str:
        """Markdown documentation with the true effect sizes."""
        return _documentation(self)


def _age_band_populations(sample_data) -> tuple[pd.DataFrame, np.ndarray]:
    """Return small areas (ward_code, area_key) and their 2020 population per age band."""
    pop = load_small_area_population(years=[2020], sample_data=sample_data)
    columns = {band: [c for c in AGE5_COLUMNS if _band_of_age5(c) == band] for band in AGE_BANDS}
    matrix = np.column_stack(
        [pop[cols].fillna(0).astype("int64").sum(axis=1).to_numpy() for cols in columns.values()]
    ).astype(float)
    return pop[["ward_code", "area_key"]].reset_index(drop=True), matrix


def _draw_people(
    rng, n: int, group: str, areas, matrix, sex_female: float, propensity: np.ndarray, waves
) -> pd.DataFrame:
    band_weights = matrix.sum(axis=0) * propensity
    bands = rng.choice(len(AGE_BANDS), size=n, p=band_weights / band_weights.sum())
    area_idx = np.empty(n, dtype=np.int64)
    for b in range(len(AGE_BANDS)):
        who = np.flatnonzero(bands == b)
        weights = matrix[:, b] / matrix[:, b].sum()
        area_idx[who] = rng.choice(len(areas), size=len(who), p=weights)
    sex = np.where(rng.random(n) < sex_female, "F", "M")
    frame = pd.DataFrame(
        {
            "group": group,
            "age_band": np.array(AGE_BANDS)[bands],
            "sex": sex,
            "ward_code": areas["ward_code"].to_numpy()[area_idx],
            "home_area_key": areas["area_key"].to_numpy()[area_idx],
            "_band": bands,
        }
    )
    if group == "participant":
        dates = np.array([pd.Timestamp(d) for d, _ in waves])
        weights = np.array([w for _, w in waves], dtype=float)
        wave = rng.choice(len(waves), size=n, p=weights / weights.sum())
        frame["enrolment_wave"] = wave + 1
        frame["enrolled_on"] = pd.to_datetime(dates[wave])
    else:
        frame["enrolment_wave"] = 0
        frame["enrolled_on"] = pd.NaT
    return frame


def generate_health_points(
    *,
    n_participants: int = 2000,
    n_comparison: int = 2000,
    seed: int = 20261126,
    start: str = "2022-04-01",
    end: str = "2025-03-31",
    baseline_steps: float = 6700.0,
    effect_steps: float = 1800.0,
    selection_steps: float = 600.0,
    winter_dip: float = 0.20,
    campaign_steps: float = 300.0,
    effect_ramp_months: int = 0,
    waves: Sequence[tuple[str, float]] = DEFAULT_WAVES,
    person_sd: float = 1800.0,
    daily_sd: float = 2200.0,
    missing_share: float = 0.05,
    include_daily: bool = False,
    sample_data: str | os.PathLike[str] | None = None,
) -> SyntheticHealthPoints:
    """Generate a SYNTHETIC health-point programme with known effects.

    Parameters
    ----------
    n_participants, n_comparison
        Number of participants and of non-participants (comparison group).
    seed
        Random seed: the same seed and parameters give the same frames.
    start, end
        Inclusive period of daily steps (several years; enrolment waves fall inside).
    baseline_steps
        Participants' mean daily steps before enrolment (outside winter weighting).
    effect_steps
        Mean programme effect in steps a day after enrolment (0 for a null programme,
        negative for a harmful one).
    selection_steps
        How many more steps participants already walked than non-participants.
    winter_dip
        Relative fall in walking at the height of Sapporo's winter.
    campaign_steps
        Extra steps a day of enrolled participants during the walking-points campaign.
    effect_ramp_months
        0: the effect is there in full from enrolment. ``R > 0``: it builds up linearly,
        ``(k + 1) / R`` of ``effect_steps`` in the ``k``-th month since enrolment, in full
        from month ``R - 1``.
    waves
        ``(enrolment date, share of participants)`` pairs.
    person_sd, daily_sd, missing_share
        Between-person sd of mean steps, day-to-day sd, share of missing person-days.
    include_daily
        Also return the person-day frame (large: people × days rows).

    Returns
    -------
    SyntheticHealthPoints
    """
    if n_participants < 1 or n_comparison < 0:
        raise ValueError("n_participants must be at least 1 and n_comparison at least 0")
    if effect_ramp_months < 0:
        raise ValueError(f"effect_ramp_months must be 0 or more, got {effect_ramp_months}")
    rng = np.random.default_rng(seed)
    areas, matrix = _age_band_populations(sample_data)
    people = pd.concat(
        [
            _draw_people(
                rng, n_participants, "participant", areas, matrix, 0.60, _AGE_PROPENSITY, waves
            ),
            _draw_people(
                rng, n_comparison, "comparison", areas, matrix, 0.53, np.ones(len(AGE_BANDS)), waves
            ),
        ],
        ignore_index=True,
    )
    n = len(people)
    order = rng.permutation(n)  # pseudonyms do not reveal the group
    people["person_id"] = [f"HP{k:06d}" for k in order + 1]

    is_participant = (people["group"] == "participant").to_numpy()
    age_walk = _AGE_WALKING[people["_band"].to_numpy()]
    mu = np.empty(n)
    for mask, target in (
        (is_participant, baseline_steps),
        (~is_participant, baseline_steps - selection_steps),
    ):
        dev = (age_walk[mask] - age_walk[mask].mean()) * baseline_steps
        mu[mask] = target + dev + rng.normal(0, person_sd, mask.sum())
    mu = np.clip(mu, 1500, None)
    effect_sd = 0.2 * abs(effect_steps)
    effect = np.where(is_participant, rng.normal(effect_steps, effect_sd, n), 0.0)

    days = pd.date_range(start, end, freq="D")
    if len(days) == 0:
        raise ValueError(f"empty date range: start={start!r} is after end={end!r}")
    season = 1.0 - winter_dip * _calendar.snow_season_weight(days)
    weekend = np.where(_calendar.day_type(days) == "weekday", 1.0, 0.9)
    year = pd.date_range("2023-01-01", "2023-12-31", freq="D")  # mu is the yearly average
    season = season / np.mean(
        (1.0 - winter_dip * _calendar.snow_season_weight(year))
        * np.where(_calendar.day_type(year) == "weekday", 1.0, 0.9)
    )
    campaign = next((e for e in DEFAULT_EVENTS if e.key == "walking_points_campaign"), None)
    in_campaign = campaign.active(days) if campaign else np.zeros(len(days), bool)
    day_ns = days.to_numpy().astype("datetime64[D]")
    enrolled_on = people["enrolled_on"].to_numpy().astype("datetime64[D]")

    monthly, daily_parts, effects = [], [], []
    month_index = days.to_period("M")
    month_codes, months = pd.factorize(month_index)
    n_months = len(months)
    enrol_month = pd.DatetimeIndex(people["enrolled_on"]).to_period("M")
    enrol_code = np.where(
        enrol_month.isna(),
        -(10**6),
        (enrol_month.year - months[0].year) * 12 + enrol_month.month - months[0].month,
    ).astype(np.int64)
    for lo in range(0, n, 1000):
        hi = min(n, lo + 1000)
        m = hi - lo
        enrolled = (~np.isnat(enrolled_on[lo:hi]))[:, None] & (
            day_ns[None, :] >= enrolled_on[lo:hi, None]
        )
        since = month_codes[None, :] - enrol_code[lo:hi, None]
        ramp = (
            np.clip((since + 1) / effect_ramp_months, 0.0, 1.0) if effect_ramp_months else 1.0
        )
        without = (
            mu[lo:hi, None] * (season * weekend)[None, :]
            + campaign_steps * (enrolled & in_campaign[None, :])
            + rng.normal(0, daily_sd, (m, len(days)))
        )
        steps = np.clip(np.round(without + effect[lo:hi, None] * ramp * enrolled), 0, None)
        without = np.clip(np.round(without), 0, None)
        steps[rng.random((m, len(days))) < missing_share] = np.nan
        without[np.isnan(steps)] = np.nan
        points = np.where(
            enrolled & ~np.isnan(steps), np.minimum(np.nan_to_num(steps) // 1000, 10), 0
        )
        points = points * np.where(in_campaign, 2, 1)[None, :]
        # monthly aggregation by summing over the day axis per month
        observed = ~np.isnan(steps)
        onehot = np.zeros((len(days), n_months))
        onehot[np.arange(len(days)), month_codes] = 1.0
        steps_sum = np.nan_to_num(steps) @ onehot
        days_obs = observed.astype(float) @ onehot
        points_sum = points @ onehot
        enrolled_days = enrolled.astype(float) @ onehot
        month_days = onehot.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(days_obs > 0, steps_sum / days_obs, np.nan)
            mean_without = np.where(days_obs > 0, np.nan_to_num(without) @ onehot / days_obs,
                                    np.nan)  # fmt: skip
        whole = enrolled_days == month_days[None, :]
        effects.append(
            pd.DataFrame(
                {
                    "person_id": np.repeat(people["person_id"].to_numpy()[lo:hi], n_months),
                    "month": np.tile(months.to_timestamp().to_numpy(), m),
                    "months_since_enrolment": (
                        np.arange(n_months)[None, :] - enrol_code[lo:hi, None]
                    ).reshape(-1),
                    "enrolled": whole.reshape(-1),
                    "effect_steps": (mean - mean_without).reshape(-1),
                }
            )
        )
        monthly.append(
            pd.DataFrame(
                {
                    "person_id": np.repeat(people["person_id"].to_numpy()[lo:hi], n_months),
                    "month": np.tile(months.to_timestamp().to_numpy(), m),
                    "enrolled": (enrolled_days == month_days[None, :]).reshape(-1),
                    "steps_mean": mean.reshape(-1),
                    "days_observed": days_obs.reshape(-1).astype("int64"),
                    "points": points_sum.reshape(-1).astype("int64"),
                }
            )
        )
        if include_daily:
            daily_parts.append(
                pd.DataFrame(
                    {
                        "person_id": np.repeat(people["person_id"].to_numpy()[lo:hi], len(days)),
                        "date": np.tile(days.to_numpy(), m),
                        "steps": pd.array(steps.reshape(-1), dtype="Float64"),
                        "points": points.reshape(-1).astype("int64"),
                    }
                )
            )
    people = people.drop(columns="_band")
    people = people[
        [
            "person_id",
            "group",
            "age_band",
            "sex",
            "ward_code",
            "home_area_key",
            "enrolment_wave",
            "enrolled_on",
        ]
    ]
    for col in ("person_id", "group", "age_band", "sex", "ward_code", "home_area_key"):
        people[col] = people[col].astype("string")
    monthly_frame = pd.concat(monthly, ignore_index=True)
    monthly_frame["person_id"] = monthly_frame["person_id"].astype("string")
    monthly_frame["steps_mean"] = monthly_frame["steps_mean"].round(1)
    daily = pd.concat(daily_parts, ignore_index=True) if include_daily else None
    true_effects = pd.concat(effects, ignore_index=True)
    true_effects = true_effects[true_effects["person_id"].isin(
        people.loc[is_participant, "person_id"])].reset_index(drop=True)  # fmt: skip
    true_effects["person_id"] = true_effects["person_id"].astype("string")

    truth = {
        "baseline_steps": baseline_steps,
        "effect_steps": effect_steps,
        "effect_ramp_months": effect_ramp_months,
        "effect_by_month": [
            effect_steps * min(1.0, (k + 1) / effect_ramp_months)
            for k in range(effect_ramp_months)
        ]
        or [effect_steps],
        "realised_mean_effect_steps": float(effect[is_participant].mean()),
        "selection_steps": selection_steps,
        "winter_dip": winter_dip,
        "campaign_steps": campaign_steps,
        "campaign_period": [str(p) for p in (campaign.periods[0] if campaign else ())],
        "waves": [{"date": d, "share": w} for d, w in waves],
    }
    parameters = dict(
        n_participants=n_participants,
        n_comparison=n_comparison,
        seed=seed,
        start=start,
        end=end,
        person_sd=person_sd,
        daily_sd=daily_sd,
        missing_share=missing_share,
        **truth,
    )
    title = "Health-point programme, individual records (SYNTHETIC)"
    for frame in (people, monthly_frame, *([daily] if daily is not None else [])):
        stamp_synthetic(frame, title=title, based_on=("population_age5",))
    return SyntheticHealthPoints(people, monthly_frame, truth, daily, parameters, true_effects)


def person_months(result: SyntheticHealthPoints) -> pd.DataFrame:
    """Return the monthly records joined with each person's attributes and status.

    ``status`` is ``enrolled`` (participant enrolled for the whole month),
    ``not_yet_enrolled`` (participant before enrolment) or ``comparison``.
    """
    frame = result.monthly.merge(result.people, on="person_id", how="left")
    status = np.where(
        frame["group"] == "comparison",
        "comparison",
        np.where(frame["enrolled"], "enrolled", "not_yet_enrolled"),
    )
    # the enrolment month itself counts as enrolled only when enrolled for the whole month
    frame["status"] = pd.array(status, dtype="string")
    return frame


def aggregate_health_points(
    result: SyntheticHealthPoints, *, threshold: int = 10, protection: int | None = None
) -> pd.DataFrame:
    """Return the open aggregate: ward × age band × status × month, small counts protected.

    Cells count distinct people with at least one observed day in the month
    (``persons``), with their ``steps_mean`` (mean of personal monthly means) and
    ``points_mean``; totals over wards, age bands and statuses are included (label
    ``"All"``), totals over months are not (they would count person-months).

    The same people are counted in every month, so the months are protected *together*
    by :func:`workbench.analysis.privacy.suppress_linked_cells`: each cell is a sum of panel
    groups (people of one ward and age band whose status follows the same path through the
    months), a number that appears in several months is hidden in all of them or in none,
    and every count of 1 to ``threshold - 1`` people, and every such group, keeps a range
    of at least ``protection`` people either way (down to 0) given everything published,
    all months together (ADR 0120).

    Parameters
    ----------
    result : SyntheticHealthPoints
    threshold : int, default 10
    protection : int, optional
        Protection level in people; default
        :data:`workbench.analysis.privacy.PROTECTION_LEVEL`.
    """
    from workbench.analysis.privacy import (
        PROTECTION_LEVEL,
        suppress_linked_cells,
        suppress_small_cells,
    )

    protection = PROTECTION_LEVEL if protection is None else protection
    frame = person_months(result)
    frame = frame[frame["days_observed"] > 0]
    month_labels = frame["month"].dt.strftime("%Y-%m")
    frame = frame.assign(month=month_labels)
    cells = (
        frame.groupby(["month", "ward_code", "age_band", "status"], observed=True)
        .agg(
            persons=("person_id", "size"),
            steps_mean=("steps_mean", "mean"),
            points_mean=("points", "mean"),
        )
        .reset_index()
    )
    for col in ("month", "ward_code", "age_band", "status"):
        cells[col] = cells[col].astype(str)
    # every cell with its margins and count-weighted means, nothing hidden yet
    table = suppress_small_cells(
        cells,
        count_column="persons",
        dimensions=["month", "ward_code", "age_band", "status"],
        threshold=1,
        value_columns={"steps_mean": "mean", "points_mean": "mean"},
        levels={
            "age_band": list(AGE_BANDS),
            "status": list(STATUSES),
            "ward_code": sorted(frame["ward_code"].astype(str).unique()),
            "month": sorted(month_labels.unique()),
        },
        no_total=["month"],  # a sum over months would count person-months
    )
    groups, matrix = _panel_groups(frame, table)
    if not np.array_equal(matrix @ groups["persons"].to_numpy(), table["persons"].to_numpy(int)):
        raise AssertionError("panel groups do not add up to the cells")  # pragma: no cover
    protected = suppress_linked_cells(
        matrix, groups["persons"].to_numpy(), threshold=threshold, protection=protection
    )
    hidden = protected.hidden
    table.loc[hidden, ["persons", "steps_mean", "points_mean"]] = pd.NA
    table["suppressed"] = hidden
    reason = np.where(protected.primary, "primary", "complementary")
    table["suppression"] = pd.array(np.where(hidden, reason, None), dtype="string")
    table["steps_mean"] = table["steps_mean"].round(1)
    table["points_mean"] = table["points_mean"].round(2)
    stamp_synthetic(
        table,
        title="Health-point programme, ward × age band × month aggregates (SYNTHETIC)",
        based_on=("population_age5",),
    )
    table.attrs["suppression_threshold"] = threshold
    table.attrs["protection_level"] = protection
    return table


def _panel_groups(frame: pd.DataFrame, table: pd.DataFrame) -> tuple[pd.DataFrame, object]:
    """Panel groups (ward, age band, status path) and the 0/1 matrix cells x groups."""
    import scipy.sparse

    months = sorted(frame["month"].unique())
    path = (
        frame.pivot(index="person_id", columns="month", values="status")
        .reindex(columns=months)
        .astype(object)
        .fillna("-")
    )
    people = frame.drop_duplicates("person_id").set_index("person_id")[
        ["ward_code", "age_band"]
    ].astype(str)
    people = people.join(path.agg("|".join, axis=1).rename("path"))
    groups = (
        people.groupby(["ward_code", "age_band", "path"]).size().rename("persons").reset_index()
    )
    status_at = np.array([p.split("|") for p in groups["path"]], dtype=object)  # groups x months
    month_index = pd.Index(months).get_indexer(table["month"])
    group_status = status_at.T[month_index]  # cells x groups

    def matches(column: str, values: pd.Series) -> np.ndarray:
        wanted = table[column].to_numpy(dtype=object)[:, None]
        return (wanted == "All") | (wanted == values.to_numpy(dtype=object)[None, :])

    wanted_status = table["status"].to_numpy(dtype=object)[:, None]
    status_match = np.where(wanted_status == "All", group_status != "-",
                            group_status == wanted_status)  # fmt: skip
    dense = matches("ward_code", groups["ward_code"]) & matches("age_band", groups["age_band"])
    dense &= status_match
    return groups, scipy.sparse.csr_matrix(dense.astype(np.int8))


def _documentation(result: SyntheticHealthPoints, *, aggregate: bool = False) -> str:
    t, p = result.truth, result.parameters
    waves = ", ".join(f"{w['date']} ({w['share']:.0%})" for w in t["waves"])
    return f"""# Health-point programme (健幸ポイント) — SYNTHETIC

**This product is synthetic.** Health-point records are personal and not published; these
records are generated by
`workbench.datasets.health_points.generate_health_points(seed={p["seed"]},
n_participants={p["n_participants"]}, n_comparison={p["n_comparison"]})`.
People's age band and home small area are drawn from the real 2020 population by age
(City of Sapporo), nothing else is real.

Period {p["start"]} to {p["end"]}. Enrolment waves: {waves}. Daily steps are generated for
every person, and published **aggregated by month** (mean daily steps over the days observed,
days observed, points earned) to keep the product small.

## True effects (check your analysis against these)
- participants' baseline: **{t["baseline_steps"]:,.0f} steps a day** before enrolment;
- programme effect: **{t["effect_steps"]:+,.0f} steps a day** from the enrolment date on
  (realised mean over these participants: {t["realised_mean_effect_steps"]:+,.1f}),
  additive and the same in every season{_ramp_text(t)};
- self-selection: participants already walked **{t["selection_steps"]:,.0f} more steps** a day
  than non-participants before the programme, so a naive post-enrolment comparison of
  participants and non-participants overstates the effect by about that much
  (difference-in-differences recovers it);
- winter dip: walking falls by up to **{t["winter_dip"]:.0%}** at the height of winter
  (everyone), plus 10% less at weekends;
- walking-points campaign {" to ".join(t["campaign_period"])}: enrolled participants walk
  **{t["campaign_steps"]:+,.0f}** more steps a day, and points are doubled.

Points: one per 1,000 steps, at most 10 a day, after enrolment only.
"""


def _ramp_text(truth: dict) -> str:
    months = truth.get("effect_ramp_months", 0)
    if not months:
        return ""
    return (
        f"; it builds up over the first {months} months after enrolment: "
        f"(k + 1) / {months} of the full effect in month k (0 = the enrolment month), in "
        f"full from month {months - 1}"
    )


def aggregate_documentation(
    result: SyntheticHealthPoints, *, threshold: int = 10, protection: int | None = None
) -> str:
    """Markdown documentation of the open aggregate product."""
    from workbench.analysis.privacy import PROTECTION_LEVEL

    protection = PROTECTION_LEVEL if protection is None else protection
    return (
        _documentation(result)
        + f"""
## This aggregate
Cells: month × ward × age band ({", ".join(AGE_BANDS)}) × status (`enrolled`,
`not_yet_enrolled`, `comparison`), with totals (`All`) over wards, age bands and statuses.
`personCount` counts people with at least one observed day that month; `dailyStepsMean` is
the mean of their monthly mean daily steps; `pointsMean` their mean points.

**Disclosure control** (`workbench.analysis.privacy.suppress_linked_cells`, ADR 0120). The
same people are counted in every month, so all months, wards, age bands, statuses and totals
are protected together, as one release:
- every count of 1 to {threshold - 1} people is suppressed (values null, `suppressed` true,
  `suppression` "primary"); zeros are published;
- further cells are suppressed with them ("complementary"); a number that appears in several
  months (the same people) is suppressed in all of them or in none;
- the whole release is audited by linear programming, as an intruder would attack it, using
  every published count, the fact that the panel is fixed, and non-negativity: no suppressed
  count of 1 to {threshold - 1} people, and no group of 1 to {threshold - 1} people that a
  difference between months would isolate (for instance those of one ward and age band who
  enrolled in one wave), can be narrowed to less than {protection} people either side of its
  true value (down to 0). The audit is the linear-programming relaxation, as in τ-ARGUS; an
  intruder who also uses that counts are whole numbers may in rare cases get a slightly
  narrower range.

What this does not cover: mean steps and points are hidden where their count is hidden, but
are not perturbed; someone who knows some of the people from elsewhere knows more.
"""
    )
