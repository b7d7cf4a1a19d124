"""Health-point programme analyses: participation, step trajectories, programme effects.

Works on the person-level records of the (synthetic) health-point product, with the column
names of :mod:`workbench.datasets.health_points` by default (``person_id``, ``group``
(``participant`` / ``comparison``), ``age_band``, ``sex``, ``ward_code``, ``enrolled_on``,
``month``, ``steps_mean``, ...); every name is a parameter.

Privacy: every table these functions return is an aggregate that has passed through
:func:`workbench.analysis.privacy.suppress_small_cells` (cells under ``threshold`` people
hidden, with complementary suppression). Effect estimates are single numbers over large
groups; they refuse groups smaller than ``threshold``. Person-level frames go in, never out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.stats

from workbench.analysis.effects import (
    EffectEstimate,
    compare_groups,
    event_study,
    match_on_pre_period,
    staggered_difference_in_differences,
)
from workbench.analysis.privacy import suppress_small_cells

__all__ = [
    "MatchedPairDiD",
    "matched_pair_did",
    "naive_comparison",
    "participation",
    "programme_effect",
    "programme_event_study",
    "programme_panel",
    "step_trajectories",
    "steps_by_area_score",
    "steps_by_month",
]


def participation(
    people: pd.DataFrame,
    *,
    by: Sequence[str] = ("ward_code", "age_band"),
    group_column: str = "group",
    participant_value: str = "participant",
    population: pd.DataFrame | None = None,
    population_column: str = "population",
    levels: dict | None = None,
    threshold: int = 10,
) -> pd.DataFrame:
    """Participants by ward and age band (or any ``by``), suppressed, with rates.

    Parameters
    ----------
    people : pandas.DataFrame
        One row per person.
    by : sequence of str, default ("ward_code", "age_band")
        Dimensions of the table; totals (``"All"``) are added along each.
    group_column, participant_value : str
        Which people are participants.
    population : pandas.DataFrame, optional
        Residents per cell (public statistics) with the ``by`` columns and
        ``population_column``; adds ``participants_per_1000`` (hidden where the count is).
    levels : dict, optional
        Full category lists per dimension (e.g. all ten wards), see
        :func:`~workbench.analysis.privacy.suppress_small_cells`.
    threshold : int, default 10

    Returns
    -------
    pandas.DataFrame
        The ``by`` columns, ``participants`` (``Int64``, ``<NA>`` where suppressed),
        ``participants_per_1000`` (with ``population``), ``suppressed``, ``suppression``.
    """
    by = list(by)
    _require(people, [*by, group_column], "people")
    is_participant = people[group_column] == participant_value
    cells = (
        people[is_participant]
        .groupby(by, observed=True)
        .size()
        .rename("participants")
        .reset_index()
    )
    table = suppress_small_cells(
        cells,
        count_column="participants",
        dimensions=by,
        threshold=threshold,
        levels=_levels(people, by, levels),
    )
    if population is not None:
        _require(population, [*by, population_column], "population")
        totals = _population_with_margins(population, by, population_column)
        keys = table[by].astype(str)
        table = table.join(keys.merge(totals, on=by, how="left")[[population_column]])
        rate = table["participants"].astype("Float64") * 1000 / table[population_column]
        table["participants_per_1000"] = rate
    return table


def steps_by_month(
    person_months: pd.DataFrame,
    *,
    by: Sequence[str] = ("group",),
    month_column: str = "month",
    steps_column: str = "steps_mean",
    unit_column: str = "person_id",
    levels: dict | None = None,
    threshold: int = 10,
) -> pd.DataFrame:
    """Mean daily steps by calendar month and ``by`` (group, ward, age band), suppressed.

    Each cell counts the people with steps that month (``persons``) and averages their
    monthly means. Months have no total (a sum over months counts person-months), so each
    month is protected as its own table.

    Parameters
    ----------
    person_months : pandas.DataFrame
        One row per person and month (e.g. ``health_points.person_months(result)``).
    by : sequence of str, default ("group",)
        Other dimensions, each with totals.
    month_column, steps_column, unit_column : str
    levels : dict, optional
    threshold : int, default 10

    Returns
    -------
    pandas.DataFrame
        ``month``, the ``by`` columns, ``persons``, ``steps_mean``, ``suppressed``,
        ``suppression``.
    """
    by = list(by)
    _require(person_months, [month_column, steps_column, unit_column, *by], "person_months")
    rows = person_months.dropna(subset=[steps_column])
    cells = _person_cells(rows, [month_column, *by], steps_column, unit_column)
    return suppress_small_cells(
        cells,
        count_column="persons",
        dimensions=[month_column, *by],
        threshold=threshold,
        value_columns={"steps_mean": "mean"},
        levels=_levels(rows, by, levels),
        no_total=[month_column],
    )


def step_trajectories(
    person_months: pd.DataFrame,
    *,
    enrolled_on_column: str = "enrolled_on",
    month_column: str = "month",
    steps_column: str = "steps_mean",
    unit_column: str = "person_id",
    by: Sequence[str] = (),
    window: tuple[int, int] = (-12, 12),
    levels: dict | None = None,
    threshold: int = 10,
) -> pd.DataFrame:
    """Participants' mean daily steps by month relative to enrolment, suppressed.

    Month 0 is the month of enrolment, -1 the month before. Only people with an enrolment
    date count. A rise at 0 that stays is the programme's signature, but it is not an
    effect: seasons and trends move too (compare :func:`programme_event_study`).

    Returns
    -------
    pandas.DataFrame
        ``months_since_enrolment``, the ``by`` columns, ``persons``, ``steps_mean``,
        ``suppressed``, ``suppression``.
    """
    by = list(by)
    needed = [enrolled_on_column, month_column, steps_column, unit_column, *by]
    _require(person_months, needed, "person_months")
    rows = person_months.dropna(subset=[steps_column, enrolled_on_column]).copy()
    rows["months_since_enrolment"] = _months_between(rows[enrolled_on_column], rows[month_column])
    low, high = window
    rows = rows[rows["months_since_enrolment"].between(low, high)]
    cells = _person_cells(rows, ["months_since_enrolment", *by], steps_column, unit_column)
    return suppress_small_cells(
        cells,
        count_column="persons",
        dimensions=["months_since_enrolment", *by],
        threshold=threshold,
        value_columns={"steps_mean": "mean"},
        levels={"months_since_enrolment": list(range(low, high + 1)), **_levels(rows, by, levels)},
        no_total=["months_since_enrolment"],
    )


def steps_by_area_score(
    people: pd.DataFrame,
    scores: pd.Series,
    *,
    steps_column: str,
    area_column: str = "home_area_key",
    by: Sequence[str] = ("group",),
    n_bins: int = 5,
    threshold: int = 10,
) -> pd.DataFrame:
    """Mean steps of people by a score of their home area (walkability quintile), suppressed.

    How walkability relates to walking: people are binned by the score of their home small
    area (e.g. :func:`~workbench.analysis.walkability.walk_score` per area) into ``n_bins``
    equal-count bins of *areas*, and each bin x ``by`` cell reports the number of people and
    their mean steps. An association, not an effect: people choose where to live.

    Parameters
    ----------
    people : pandas.DataFrame
        One row per person, with their home area and a steps value (e.g. their mean daily
        steps before the programme).
    scores : pandas.Series
        Score per area, indexed by the same keys as ``people[area_column]``.
    steps_column, area_column : str
    by : sequence of str, default ("group",)
        Further dimensions (with totals).
    n_bins : int, default 5
    threshold : int, default 10

    Returns
    -------
    pandas.DataFrame
        ``score_bin`` (``"Q1 (lowest)"`` ... ), the ``by`` columns, ``persons``,
        ``steps_mean``, ``score_low``, ``score_high`` (bin edges), ``suppressed``,
        ``suppression``. People whose area has no score are left out.
    """
    by = list(by)
    _require(people, [steps_column, area_column, *by], "people")
    if scores.index.has_duplicates:
        raise ValueError("scores has duplicate area keys; aggregate to one score per area")
    finite = scores.astype(float).replace([float("inf"), float("-inf")], float("nan")).dropna()
    codes, edges = pd.qcut(finite, n_bins, labels=False, retbins=True, duplicates="drop")
    labels = [f"Q{k + 1}" for k in range(len(edges) - 1)]
    labels[0] += " (lowest)"
    labels[-1] += " (highest)"
    bin_of_area = pd.Series(pd.Categorical.from_codes(codes, labels), index=finite.index)
    rows = people.dropna(subset=[steps_column]).copy()
    rows["score_bin"] = rows[area_column].map(bin_of_area)
    rows = rows.dropna(subset=["score_bin"])
    rows["score_bin"] = rows["score_bin"].astype(str)
    cells = (
        rows.groupby(["score_bin", *by], observed=True)
        .agg(persons=(steps_column, "size"), steps_mean=(steps_column, "mean"))
        .reset_index()
    )
    table = suppress_small_cells(
        cells,
        count_column="persons",
        dimensions=["score_bin", *by],
        threshold=threshold,
        value_columns={"steps_mean": "mean"},
        levels={"score_bin": labels, **_levels(rows, by, None)},
    )
    low = dict(zip(labels, edges[:-1], strict=True))
    high = dict(zip(labels, edges[1:], strict=True))
    table["score_low"] = table["score_bin"].map(low)
    table["score_high"] = table["score_bin"].map(high)
    return table


def naive_comparison(
    person_months: pd.DataFrame,
    *,
    after: str | pd.Timestamp,
    group_column: str = "group",
    participant_value: str = "participant",
    month_column: str = "month",
    steps_column: str = "steps_mean",
    unit_column: str = "person_id",
    threshold: int = 10,
) -> EffectEstimate:
    """Participants' minus non-participants' mean daily steps from ``after`` on.

    The headline comparison, and biased: people who already walk more join. Shown beside
    :func:`programme_effect` to make the point.

    Parameters
    ----------
    after : str or Timestamp
        First month compared (once everyone has enrolled).

    Raises
    ------
    ValueError
        If either group has fewer than ``threshold`` people.
    """
    needed = [group_column, month_column, steps_column, unit_column]
    _require(person_months, needed, "person_months")
    rows = person_months[pd.to_datetime(person_months[month_column]) >= pd.Timestamp(after)]
    per_person = rows.groupby(unit_column).agg(
        steps=(steps_column, "mean"), group=(group_column, "first")
    )
    sizes = per_person["group"].eq(participant_value).value_counts()
    if sizes.reindex([True, False]).fillna(0).min() < threshold:
        raise ValueError(
            f"each group needs at least {threshold} people to publish a comparison; "
            f"got {sizes.to_dict()}"
        )
    return compare_groups(
        per_person, outcome="steps", group="group", treated_value=participant_value
    )


def programme_panel(
    person_months: pd.DataFrame,
    *,
    group_column: str = "group",
    participant_value: str = "participant",
    enrolled_on_column: str = "enrolled_on",
    month_column: str = "month",
    steps_column: str = "steps_mean",
    unit_column: str = "person_id",
    pre_end: str | pd.Timestamp | None = None,
    exclude_periods: Sequence[tuple[str | pd.Timestamp, str | pd.Timestamp]] = (),
) -> pd.DataFrame:
    """Add the columns a DiD / event study of the programme needs.

    Adds ``participant`` (bool), ``post`` (the person had enrolled by the start of the
    month), ``months_since_enrolment`` (missing for non-participants), ``pre`` (the month
    is before ``pre_end``, default the first enrolment: the common window used for
    matching), ``period`` (integer month index) and ``first_treated`` (the ``period`` of
    the enrolment month; missing for non-participants). Rows without steps are dropped, and so
    are months inside ``exclude_periods`` (inclusive ``(start, end)`` pairs): leave out
    temporary campaigns (e.g. the autumn 2024 double-points campaign) so that they do not
    mix into the programme's average effect.

    Returns
    -------
    pandas.DataFrame
        A person-level frame (not for publication).
    """
    needed = [group_column, enrolled_on_column, month_column, steps_column, unit_column]
    _require(person_months, needed, "person_months")
    panel = person_months.dropna(subset=[steps_column]).copy()
    month = pd.to_datetime(panel[month_column])
    for start, end in exclude_periods:
        inside = (month >= pd.Timestamp(start)) & (month <= pd.Timestamp(end))
        panel, month = panel[~inside], month[~inside]
    enrolled_on = pd.to_datetime(panel[enrolled_on_column])
    panel["participant"] = (panel[group_column] == participant_value).to_numpy(dtype=bool)
    since = _months_between(enrolled_on, month)
    panel["months_since_enrolment"] = since.where(panel["participant"])
    panel["post"] = (panel["months_since_enrolment"] >= 0).fillna(False).astype(bool)
    cutoff = pd.Timestamp(pre_end) if pre_end is not None else enrolled_on.min()
    if pd.isna(cutoff):
        raise ValueError("no enrolment dates: nobody took part")
    panel["pre"] = (month < cutoff).to_numpy()
    panel["period"] = month.dt.year * 12 + month.dt.month
    panel["first_treated"] = (enrolled_on.dt.year * 12 + enrolled_on.dt.month).where(
        panel["participant"]
    )
    return panel


def programme_effect(
    panel: pd.DataFrame,
    *,
    matching: str | None = "ipw",
    outcome: str = "steps_mean",
    unit_column: str = "person_id",
    covariates: Sequence[str] = (),
    threshold: int = 10,
    confidence: float = 0.95,
) -> EffectEstimate:
    """The programme's mean effect on daily steps over enrolled participant-months.

    A staggered difference-in-differences (Callaway-Sant'Anna, see
    :func:`~workbench.analysis.effects.staggered_difference_in_differences`): each
    enrolment wave is compared, month by month, with people not yet enrolled (later waves
    and non-participants), from the month before it enrolled. Effects may build up or fade
    and differ between waves; two-way fixed effects would then weigh already-enrolled
    people as controls and miss. Everyone's change is adjusted for their pre-period mean
    steps (and ``covariates``) by outcome regression, because winter lowers walking in
    proportion to how much people walk, so the already active (who join) dip more.

    Parameters
    ----------
    panel : pandas.DataFrame
        From :func:`programme_panel` (months left out there are left out of the average).
    matching : {"ipw", "nearest", None}, default "ipw"
        Also weight non-participants to look like participants on pre-period steps (and
        ``covariates``) with :func:`~workbench.analysis.effects.match_on_pre_period`;
        ``None``: outcome regression only.

    Returns
    -------
    EffectEstimate
        Steps a day; standard errors from influence functions, clustered by person.
    """
    _check_groups(panel, unit_column, threshold)
    weights = None
    if matching is not None:
        weights = match_on_pre_period(
            panel,
            outcome=outcome,
            unit=unit_column,
            treated="participant",
            pre="pre",
            covariates=covariates,
            method=matching,
        )["weight"]
    pre_mean = panel[panel["pre"]].groupby(unit_column)[outcome].mean().rename("_pre_mean")
    frame = panel.join(pre_mean, on=unit_column).dropna(subset=["_pre_mean"])
    return staggered_difference_in_differences(
        frame,
        outcome=outcome,
        unit=unit_column,
        time="period",
        first_treated="first_treated",
        baseline=["_pre_mean", *covariates],
        weights=weights,
        confidence=confidence,
    )


def programme_event_study(
    panel: pd.DataFrame,
    *,
    matching: str | None = "ipw",
    outcome: str = "steps_mean",
    unit_column: str = "person_id",
    window: tuple[int, int] = (-6, 12),
    threshold: int = 10,
) -> pd.DataFrame:
    """Effect by month since enrolment (event study), optionally matched on the pre-period.

    Returns
    -------
    pandas.DataFrame
        One row per month since enrolment (see :func:`~workbench.analysis.effects.event_study`);
        months with fewer than ``threshold`` participants are dropped.
    """
    _check_groups(panel, unit_column, threshold)
    weights = None
    if matching is not None:
        weights = match_on_pre_period(
            panel,
            outcome=outcome,
            unit=unit_column,
            treated="participant",
            pre="pre",
            method=matching,
        )["weight"]
    study = event_study(
        panel,
        outcome=outcome,
        unit=unit_column,
        time="period",
        event_time="months_since_enrolment",
        window=window,
        weights=weights,
    )
    return study[study["n"] >= threshold].reset_index(drop=True)


# --------------------------------------------------------------------------- helpers


def _require(frame: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{name} lacks columns {missing} (it has {list(frame.columns)}); pass the matching "
            "*_column= names"
        )


def _levels(frame: pd.DataFrame, by: Sequence[str], given: dict | None) -> dict:
    out = {}
    for column in by:
        if given and column in given:
            out[column] = list(given[column])
        elif isinstance(frame[column].dtype, pd.CategoricalDtype):
            out[column] = list(frame[column].cat.categories)
    return out


def _person_cells(
    rows: pd.DataFrame, dims: list[str], steps_column: str, unit_column: str
) -> pd.DataFrame:
    return (
        rows.groupby(dims, observed=True)
        .agg(persons=(unit_column, "nunique"), steps_mean=(steps_column, "mean"))
        .reset_index()
    )


def _months_between(start: pd.Series, end: pd.Series) -> pd.Series:
    start, end = pd.to_datetime(start), pd.to_datetime(end)
    months = (end.dt.year - start.dt.year) * 12 + (end.dt.month - start.dt.month)
    return months.astype("Float64").astype(float)


def _population_with_margins(population: pd.DataFrame, by: list[str], column: str) -> pd.DataFrame:
    """Population per cell plus every total, labelled "All" like the suppressed table."""
    parts = []
    for keep in _subsets(by):
        if keep:
            grouped = population.groupby(list(keep), observed=True)[column].sum().reset_index()
        else:
            grouped = pd.DataFrame({column: [population[column].sum()]})
        for d in by:
            if d not in keep:
                grouped[d] = "All"
        parts.append(grouped)
    out = pd.concat(parts, ignore_index=True)
    for d in by:
        out[d] = out[d].astype(str)
    return out[[*by, column]]


def _subsets(items: list[str]) -> list[tuple[str, ...]]:
    from itertools import combinations

    return [c for k in range(len(items), -1, -1) for c in combinations(items, k)]


def _check_groups(panel: pd.DataFrame, unit_column: str, threshold: int) -> None:
    for column in ("participant", "post", "pre", "period"):
        if column not in panel.columns:
            raise ValueError(f"panel lacks {column!r}: build it with programme_panel()")
    people = panel.groupby(unit_column)["participant"].first()
    counts = people.value_counts()
    if counts.reindex([True, False]).fillna(0).min() < threshold:
        raise ValueError(
            f"each group needs at least {threshold} people for a publishable estimate; "
            f"got {counts.to_dict()}"
        )


@dataclass(frozen=True)
class MatchedPairDiD:
    """Result of :func:`matched_pair_did`.

    Attributes
    ----------
    effect : EffectEstimate
        Mean effect over enrolled participant-months (steps a day), SE clustered by the
        matched non-participant.
    pairs : pandas.Series
        Matched non-participant per participant (index ``person_id``).
    event_study : pandas.DataFrame
        Per month since enrolment ``k``: ``mean`` and ``se`` of the pair gap relative to
        the pair's baseline gap, and ``count`` (pairs).
    people : pandas.DataFrame
        Per ``person_id``: ``group``, ``age_band``, ``enrolled_on`` and ``pre_steps`` (mean
        steps over the matching months), for balance tables.
    """

    effect: EffectEstimate
    pairs: pd.Series
    event_study: pd.DataFrame
    people: pd.DataFrame


def matched_pair_did(
    records: pd.DataFrame,
    *,
    pre_end: str,
    exclude_periods: Sequence[tuple[str, str]] = (),
    confidence: float = 0.95,
    holdout: bool = True,
) -> MatchedPairDiD:
    """Matched-pair difference-in-differences on individual health-point records.

    Each participant is matched, with replacement, to the non-participant of the same age
    band whose mean steps over the *matching months* are closest. Each pair's gap
    (participant minus match) after enrolment minus its gap over the *baseline months*
    is the pair's effect; pairs are averaged with weights = their months after enrolment
    (outside ``exclude_periods``), which is the mean effect over enrolled
    participant-months even when the effect builds up.

    With ``holdout=True`` (default) the pre-programme months are split alternately: every
    other month is used for matching, and the baseline gap is taken over the remaining
    months before enrolment. Matching on the same months as the baseline regresses to the
    mean: participants walk more than non-participants, so a participant and a match with
    equal *noisy* pre-period means differ in their true level, the baseline gap is ~0 by
    construction and that level difference shows up after enrolment as an effect (+7 to +12
    steps at zero, ADR 0135). Independent baseline months remove it.

    Parameters
    ----------
    records : pandas.DataFrame
        Person-months with ``person_id``, ``month``, ``steps_mean``, ``group``
        (``participant``/``comparison``), ``age_band`` and ``enrolled_on``.
    pre_end : str
        First month of the programme; months before it are the pre-programme period.
    exclude_periods : sequence of (start, end)
        Inclusive periods left out of the after-enrolment average (e.g. a campaign).
    confidence : float, default 0.95
        Level of the normal-approximation interval.
    holdout : bool, default True
        Match and take the baseline on disjoint pre-programme months (see above).

    Returns
    -------
    MatchedPairDiD
    """
    needed = ["person_id", "month", "steps_mean", "group", "age_band", "enrolled_on"]
    missing = [c for c in needed if c not in records.columns]
    if missing:
        raise ValueError(
            f"records lack columns {missing}; pass person-months from "
            "workbench.datasets.health_points.person_months or the research plan"
        )
    z = float(scipy.stats.norm.ppf(0.5 + confidence / 2))
    rec = records.dropna(subset=["steps_mean"])
    pre_months = np.sort(rec.loc[rec["month"] < pd.Timestamp(pre_end), "month"].unique())
    matching_months = pre_months[::2] if holdout else pre_months
    in_matching = rec["month"].isin(matching_months)
    pre_steps = rec[in_matching].groupby("person_id")["steps_mean"].mean().rename("pre_steps")
    people = (rec.drop_duplicates("person_id").set_index("person_id")
              [["group", "age_band", "enrolled_on"]].join(pre_steps)
              .dropna(subset=["pre_steps"]))  # fmt: skip
    treated = people[people["group"] == "participant"]
    pool = people[people["group"] == "comparison"]
    matches: dict = {}
    for band, members in treated.groupby("age_band"):
        candidates = pool[pool["age_band"] == band].sort_values("pre_steps")
        if candidates.empty:
            continue
        values = candidates["pre_steps"].to_numpy()
        wanted = members["pre_steps"].to_numpy()
        right = np.clip(np.searchsorted(values, wanted), 0, len(values) - 1)
        left = np.clip(right - 1, 0, len(values) - 1)
        pick = np.where(np.abs(wanted - values[left]) <= np.abs(wanted - values[right]),
                        left, right)  # fmt: skip
        matches.update(dict(zip(members.index, candidates.index[pick], strict=True)))
    if not matches:
        raise ValueError("no participant has a non-participant of the same age band to match")
    pairs = pd.Series(matches, name="match")
    pairs.index.name = "person_id"
    steps = rec.pivot_table(index="person_id", columns="month", values="steps_mean")
    gap = pd.DataFrame(steps.loc[pairs.index].to_numpy() - steps.loc[pairs.to_numpy()].to_numpy(),
                       index=pairs.index, columns=steps.columns)  # fmt: skip
    long = gap.stack().rename("gap").reset_index()
    enrolled_on = pd.to_datetime(long["person_id"].map(people["enrolled_on"]))
    long["k"] = ((long["month"].dt.year - enrolled_on.dt.year) * 12
                 + long["month"].dt.month - enrolled_on.dt.month)  # fmt: skip
    baseline_rows = (long["k"] < 0) & ~(long["month"].isin(matching_months) & holdout)
    base_gap = long[baseline_rows].groupby("person_id")["gap"].mean()
    long["gap_rel"] = long["gap"] - long["person_id"].map(base_gap)
    long["match"] = long["person_id"].map(pairs)
    excluded = pd.Series(False, index=long.index)
    for start, end in exclude_periods:
        excluded |= long["month"].between(pd.Timestamp(start), pd.Timestamp(end))
    after = long[(long["k"] >= 0) & ~excluded].dropna(subset=["gap_rel"])
    per_pair = pd.DataFrame({"effect": after.groupby("person_id")["gap_rel"].mean(),
                             "months": after.groupby("person_id").size()}).dropna()  # fmt: skip
    per_pair["match"] = per_pair.index.map(pairs)
    tau, se = _clustered_mean(per_pair, "effect", "months")
    study = {k: (*_clustered_mean(part, "gap_rel"), len(part))
             for k, part in long.dropna(subset=["gap_rel"]).groupby("k")}  # fmt: skip
    event = pd.DataFrame(study, index=["mean", "se", "count"]).T.rename_axis("k")
    uses = pairs.value_counts()
    split = ("matching on every other pre-programme month, baseline gap over the other "
             "months before enrolment" if holdout else
             "matching and baseline gap on the same pre-programme months")  # fmt: skip
    effect = EffectEstimate(
        estimate=tau, std_error=se, ci_low=tau - z * se, ci_high=tau + z * se,
        n=len(per_pair), confidence=confidence,
        method=(f"matched-pair DiD: nearest non-participant of the same age band on "
                f"pre-programme steps, with replacement ({len(uses)} distinct controls, one "
                f"used up to {int(uses.max())} times); {split}; pairs weighted by months "
                f"after enrolment; SE clustered by the matched non-participant"),
    )  # fmt: skip
    return MatchedPairDiD(effect=effect, pairs=pairs, event_study=event, people=people)


def _clustered_mean(frame: pd.DataFrame, value: str, weight: str | None = None) -> tuple:
    """Weighted mean of ``value`` with its SE clustered by ``frame["match"]``."""
    w = np.ones(len(frame)) if weight is None else frame[weight].to_numpy(float)
    mean = float((w * frame[value]).sum() / w.sum())
    psi = pd.Series(w * (frame[value].to_numpy() - mean) / w.sum(), index=frame.index)
    clusters = psi.groupby(frame["match"]).sum()
    g = len(clusters)
    return mean, float(np.sqrt((clusters**2).sum() * g / max(g - 1, 1)))
