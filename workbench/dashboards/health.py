"""The health-point dashboard's views: selections from ONE suppressed aggregate table.

The open health-point product is a table month × ward × age band × status with totals
(``All``) over wards, age bands and statuses, protected as one release by
:func:`workbench.analysis.privacy.suppress_linked_cells` (counts of 1-9 people suppressed, with
complements, consistently across months; LP-audited, ADR 0120). A dashboard must never
re-aggregate or re-suppress it: any sum of published cells could be differenced against
another. Every function here only *selects*
rows and columns of that table, and :func:`check_publishable` refuses a table in which a
visible cell counts fewer than ``threshold`` people.
"""

from __future__ import annotations

import re

import matplotlib.pyplot as plt
import pandas as pd

from workbench.dashboards._kit import figure_png

__all__ = [
    "STATUS_LABELS",
    "UnsafeTableError",
    "age_band_table",
    "check_publishable",
    "normalise_health_table",
    "headline",
    "load_health_table",
    "map_class_edges",
    "participants_by_month",
    "plot_ward_panel",
    "ward_states",
    "steps_by_month",
    "ward_values",
]

TOTAL = "All"
STATUS_LABELS = {
    "enrolled": "participants (enrolled)",
    "not_yet_enrolled": "participants before enrolment",
    "comparison": "non-participants",
    TOTAL: "everyone",
}
SUPPRESSED_TEXT = "suppressed"

_ALIASES = {
    "personcount": "persons",
    "persons": "persons",
    "dailystepsmean": "steps_mean",
    "stepsmean": "steps_mean",
    "pointsmean": "points_mean",
    "wardcode": "ward_code",
    "wardid": "ward_code",
    "agegroup": "age_band",
    "ageband": "age_band",
    "status": "status",
    "month": "month",
    "suppressed": "suppressed",
    "suppression": "suppression",
}


class UnsafeTableError(ValueError):
    """A table would show a cell of fewer people than the suppression threshold."""


def _key(column: str) -> str:
    return re.sub(r"[^a-z]", "", column.lower())


def normalise_health_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Return the aggregate with canonical columns, whatever the product's attribute names.

    Accepts the generator's frame (``persons``, ``steps_mean`` ...) or the NGSI product's
    (``personCount``, ``dailyStepsMean``, ``wardCode``, ``ageBand`` ...). Output columns:
    ``month`` (``"YYYY-MM"``), ``ward_code``, ``age_band``, ``status``, ``persons``
    (``Int64``, missing when suppressed), ``steps_mean``, ``points_mean`` (``Float64``),
    ``suppressed`` (bool).
    """
    renamed = {c: _ALIASES[_key(c)] for c in frame.columns if _key(c) in _ALIASES}
    table = frame.rename(columns=renamed)
    missing = {"month", "ward_code", "age_band", "status", "persons"} - set(table.columns)
    if missing:
        raise KeyError(
            f"the health aggregate lacks columns {sorted(missing)}; it has {list(frame.columns)}"
        )
    table = table.copy()
    month = table["month"]
    if pd.api.types.is_datetime64_any_dtype(month):
        table["month"] = month.dt.strftime("%Y-%m")
    else:
        table["month"] = month.astype(str).str.slice(0, 7)
    for column in ("ward_code", "age_band", "status"):
        table[column] = table[column].astype(str)
    table["persons"] = pd.to_numeric(table["persons"], errors="coerce").astype("Int64")
    for column in ("steps_mean", "points_mean"):
        if column not in table:
            table[column] = pd.NA
        table[column] = pd.to_numeric(table[column], errors="coerce").astype("Float64")
    if "suppressed" not in table:
        table["suppressed"] = table["persons"].isna()
    table["suppressed"] = table["suppressed"].fillna(True).astype(bool)
    # a suppressed cell shows nothing, whatever the product carried
    table.loc[table["suppressed"], ["persons", "steps_mean", "points_mean"]] = pd.NA
    columns = ["month", "ward_code", "age_band", "status", "persons", "steps_mean",
               "points_mean", "suppressed"]  # fmt: skip
    return table[columns].sort_values(columns[:4], ignore_index=True)


def check_publishable(table: pd.DataFrame, *, threshold: int = 10) -> pd.DataFrame:
    """Return ``table`` if no visible cell counts 1 to ``threshold - 1`` people; else raise.

    Zeros are published (nobody of that kind: not about a person), as
    :func:`~workbench.analysis.privacy.suppress_small_cells` does by default.

    Raises
    ------
    UnsafeTableError
        When a visible cell is small: the table did not come from the suppression function.
    """
    persons = table["persons"]
    small = (~table["suppressed"]) & persons.notna() & (persons > 0) & (persons < threshold)
    if bool(small.any()):
        raise UnsafeTableError(
            f"{int(small.sum())} visible cells count fewer than {threshold} people; the "
            "dashboard shows only tables produced by "
            "workbench.analysis.privacy.suppress_small_cells."
        )
    return table


def ward_values(
    table: pd.DataFrame, *, month: str, age_band: str = TOTAL, status: str = "enrolled"
) -> pd.DataFrame:
    """Per ward (no city total): ``persons``, ``steps_mean``, ``suppressed`` for one month."""
    rows = table[
        (table["month"] == month)
        & (table["age_band"] == age_band)
        & (table["status"] == status)
        & (table["ward_code"] != TOTAL)
    ]
    return rows[["ward_code", "persons", "steps_mean", "suppressed"]].reset_index(drop=True)


def steps_by_month(table: pd.DataFrame, *, ward_code: str, age_band: str) -> pd.DataFrame:
    """Mean daily steps, month × status (suppressed cells are missing)."""
    rows = table[(table["ward_code"] == ward_code) & (table["age_band"] == age_band)]
    wide = rows.pivot(index="month", columns="status", values="steps_mean")
    order = [s for s in STATUS_LABELS if s in wide.columns and s != TOTAL]
    return wide[order].astype("float64")


def age_band_table(table: pd.DataFrame, *, ward_code: str, month: str) -> pd.DataFrame:
    """People and mean daily steps by age band and status for one ward and month (display).

    Columns are (status, measure); suppressed cells read ``"suppressed"``, counts carry
    thousands separators.
    """
    rows = table[(table["ward_code"] == ward_code) & (table["month"] == month)]
    shown = rows.assign(
        people=_format(rows["persons"], "{:,.0f}", rows["suppressed"]),
        steps=_format(rows["steps_mean"], "{:,.0f}", rows["suppressed"]),
    )
    wide = shown.pivot(index="age_band", columns="status", values=["people", "steps"])
    statuses = [s for s in STATUS_LABELS if s in set(rows["status"])]
    bands = [b for b in _band_order(rows["age_band"]) if b in wide.index]
    wide = wide.swaplevel(axis=1).reindex(
        index=bands,
        columns=pd.MultiIndex.from_product([statuses, ["people", "steps"]]),
    )
    wide.columns = pd.MultiIndex.from_tuples(
        [(STATUS_LABELS[s], "people" if m == "people" else "mean daily steps")
         for s, m in wide.columns]
    )  # fmt: skip
    wide.index.name = "age band"
    return wide


def _format(values: pd.Series, fmt: str, suppressed: pd.Series) -> pd.Series:
    text = values.astype("Float64").map(lambda v: "–" if pd.isna(v) else fmt.format(float(v)))
    return text.where(~suppressed, SUPPRESSED_TEXT)


def _band_order(bands: pd.Series) -> list[str]:
    unique = sorted(set(bands) - {TOTAL})
    return [*unique, TOTAL] if TOTAL in set(bands) else unique


def participants_by_month(table: pd.DataFrame, *, ward_code: str, age_band: str) -> pd.Series:
    """Enrolled participants per month (missing where suppressed)."""
    rows = table[
        (table["ward_code"] == ward_code)
        & (table["age_band"] == age_band)
        & (table["status"] == "enrolled")
    ]
    return rows.set_index("month")["persons"].astype("Float64").astype("float64")


def plot_ward_panel(
    table: pd.DataFrame, *, ward_code: str, age_band: str, month: str, title: str
) -> bytes:
    """Two panels, PNG: enrolled participants by month (bars) and mean daily steps by status."""
    steps = steps_by_month(table, ward_code=ward_code, age_band=age_band)
    people = participants_by_month(table, ward_code=ward_code, age_band=age_band)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7.5, 4.6), sharex=True, height_ratios=[1, 1.6])
    x = pd.PeriodIndex(steps.index, freq="M").to_timestamp()
    px = pd.PeriodIndex(people.index, freq="M").to_timestamp()
    top.bar(px, people.to_numpy(), width=25, color="#1b7837")
    top.set_ylabel("participants")
    top.set_title(title, fontsize=10)
    colours = {"enrolled": "#1b7837", "not_yet_enrolled": "#7fbf7b", "comparison": "#762a83"}
    for status in steps.columns:
        bottom.plot(x, steps[status].to_numpy(), marker=".", lw=1.5,
                    label=STATUS_LABELS[status], color=colours.get(status))  # fmt: skip
    bottom.set_ylabel("mean daily steps")
    bottom.legend(fontsize=7, loc="lower left")
    for ax in (top, bottom):
        ax.grid(alpha=0.3)
        if month in steps.index:
            ax.axvline(pd.Period(month, freq="M").to_timestamp(), color="#999", ls="--", lw=1)
    if steps.isna().to_numpy().any() or people.isna().any():
        bottom.text(0.99, 0.02, "gaps: suppressed (under 10 people, or protecting one)", ha="right",
                    va="bottom", transform=bottom.transAxes, fontsize=7, color="#666")  # fmt: skip
    fig.autofmt_xdate()
    return figure_png(fig)


def ward_states(
    table: pd.DataFrame, ward_codes: list[str], *, status: str = "enrolled"
) -> pd.DataFrame:
    """Participants per ward (rows, in ``ward_codes`` order) for every ``month|age band``.

    The columns are the map states of the dashboard; suppressed cells are missing.
    """
    rows = table[(table["status"] == status) & (table["ward_code"] != TOTAL)]
    wide = rows.assign(state=rows["month"] + "|" + rows["age_band"]).pivot(
        index="ward_code", columns="state", values="persons"
    )
    return wide.reindex(ward_codes).astype("Float64").astype("float64")


def map_class_edges(states: pd.DataFrame, *, classes: int = 5) -> dict[str, list[float]]:
    """Class edges for each map state, from the values that state shows.

    One set of edges for every state put all wards of a small selection (one age band) in the
    lowest class and all wards of "all ages" in the highest: the map was one colour. Here each
    state gets quantile edges of its own non-zero values, rounded to two significant figures
    so the legend reads well, with 0 as the first edge (zeros are "nobody", not missing).

    Parameters
    ----------
    states : DataFrame
        One column per state (from :func:`ward_states`); suppressed cells are missing.
    classes : int
        Classes per state at most (fewer when the ward values are few or tied).

    Returns
    -------
    dict
        ``{state: ascending edges}`` for :func:`workbench.maps.linked_choropleth`'s ``bins``.
    """
    out: dict[str, list[float]] = {}
    for state in states.columns:
        shown = states[state].dropna()
        nonzero = shown[shown > 0]
        if nonzero.empty:
            out[str(state)] = [0.0, 1.0]
            continue
        inner = nonzero.quantile([i / classes for i in range(1, classes)]).tolist()
        top = float(nonzero.max()) + 1
        edges = {0.0, top, *(_round2(v) for v in inner)}
        out[str(state)] = sorted(e for e in edges if 0 <= e <= top)
    return out


def _round2(value: float) -> float:
    """Round to two significant figures (1234 -> 1200)."""
    if value <= 0:
        return 0.0
    digits = len(str(int(value))) - 2
    return float(round(value, -digits)) if digits > 0 else float(round(value))


def headline(table: pd.DataFrame, *, ward_code: str, age_band: str, month: str) -> dict:
    """The selection's numbers: participants, their and non-participants' mean steps."""
    rows = table[
        (table["ward_code"] == ward_code)
        & (table["age_band"] == age_band)
        & (table["month"] == month)
    ].set_index("status")

    def value(status: str, column: str) -> float | None:
        if status not in rows.index or bool(rows.at[status, "suppressed"]):
            return None
        v = rows.at[status, column]
        return None if pd.isna(v) else float(v)

    return {
        "participants": value("enrolled", "persons"),
        "participant_steps": value("enrolled", "steps_mean"),
        "comparison_steps": value("comparison", "steps_mean"),
        "everyone": value(TOTAL, "persons"),
    }


def load_health_table(exchange, product: str = "health-points-aggregate") -> pd.DataFrame:
    """Read the open aggregate product through the client and return it normalised.

    One entity per ward × age band × status (``wardId``, ``ageBand``, ``status``) with the
    monthly cells as history (``personCount``, ``dailyStepsMean``, ``pointsMean``,
    ``suppressed``); fetched one attribute at a time, which the history API pages fastest.
    """
    entity_type = "PhysicalActivityStatistics"
    cells = exchange.entities(product, type=entity_type).to_pandas()
    cells = cells[["id", "wardId", "ageBand", "status"]].rename(columns={"id": "entity_id"})
    merged = None
    for attr in ("personCount", "dailyStepsMean", "pointsMean", "suppressed"):
        part = exchange.history(product, type=entity_type, attr=attr).reset_index()
        part = part[["time", "entity_id", attr]]
        merged = part if merged is None else merged.merge(part, on=["time", "entity_id"])
    frame = merged.merge(cells, on="entity_id", how="inner")
    frame["month"] = frame["time"].dt.strftime("%Y-%m")
    return normalise_health_table(frame)


def table_html(frame: pd.DataFrame) -> str:
    """HTML of a display table (escaped, compact)."""
    return frame.to_html(classes="workbench-table", border=0, escape=True, na_rep="–").replace(
        "<table", '<table style="border-collapse:collapse;font-size:12px"'
    )
