"""The health-point dashboard's views: selections from ONE suppressed aggregate table.

The open health-point product is a table month × ward × age band × status with totals
(``All``) over wards, age bands and statuses, produced by
:func:`workbench.analysis.privacy.suppress_small_cells` (cells under 10 people suppressed, with
complementary suppression). A dashboard must never re-aggregate or re-suppress it: any sum of
published cells could be differenced against another. Every function here only *selects*
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
    "plot_steps",
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


def plot_steps(
    series: pd.DataFrame, *, month: str, title: str, width_in: float = 7.5
) -> bytes:
    """Line chart of mean daily steps by month and status, the chosen month marked; PNG."""
    fig, ax = plt.subplots(figsize=(width_in, 3.2))
    x = pd.PeriodIndex(series.index, freq="M").to_timestamp()
    colours = {"enrolled": "#1b7837", "not_yet_enrolled": "#7fbf7b", "comparison": "#762a83"}
    for status in series.columns:
        ax.plot(x, series[status].to_numpy(), marker=".", lw=1.5, label=STATUS_LABELS[status],
                color=colours.get(status))  # fmt: skip
    if month in series.index:
        ax.axvline(pd.Period(month, freq="M").to_timestamp(), color="#999", ls="--", lw=1)
    ax.set_ylabel("mean daily steps")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    if series.isna().to_numpy().any():
        ax.text(0.99, 0.02, "gaps: suppressed (fewer than 10 people)", ha="right",
                va="bottom", transform=ax.transAxes, fontsize=7, color="#666")  # fmt: skip
    return figure_png(fig)


def table_html(frame: pd.DataFrame) -> str:
    """HTML of a display table (escaped, compact)."""
    return frame.to_html(classes="workbench-table", border=0, escape=True, na_rep="–").replace(
        "<table", '<table style="border-collapse:collapse;font-size:12px"'
    )
