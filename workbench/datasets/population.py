"""Population of Sapporo by ward or small area and 5-year age band (City of Sapporo)."""

from __future__ import annotations

import os
from collections.abc import Iterable

import pandas as pd

from workbench.datasets._paths import sample_file
from workbench.datasets.sources import stamp

WARD_FILE = "population/sapporo_ward_age5_population_1998-2025.csv"
SMALL_AREA_FILE = "population/sapporo_jochome_age5_population_2000-2025_every5y.csv"
HOUSEHOLDS_FILE = "population/sapporo_jochome_households_population_2021-04-01.csv"

#: The 21 five-year age bands, as columns ``age_0_4`` ... ``age_100_plus``.
AGE5_COLUMNS: tuple[str, ...] = tuple(
    [f"age_{a}_{a + 4}" for a in range(0, 100, 5)] + ["age_100_plus"]
)
BROAD_COLUMNS: tuple[str, ...] = ("pop_0_14", "pop_15_64", "pop_65_plus")


def _read_age_table(path, years: Iterable[int] | None) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype={"ward_code": str, "area_key": str})
    frame["ward_code"] = frame["ward_code"].str.zfill(5)
    frame["as_of"] = pd.to_datetime(frame["as_of"])
    frame["year"] = frame["year"].astype("int64")
    for col in ("total", *BROAD_COLUMNS, *AGE5_COLUMNS):
        frame[col] = frame[col].astype("Int64")
    if years is not None:
        wanted = set(years)
        frame = frame[frame["year"].isin(wanted)]
    return frame.reset_index(drop=True)


def load_ward_population(
    *,
    years: Iterable[int] | None = None,
    include_city: bool = False,
    sample_data: str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """Return population by ward and 5-year age band, 1 October of each year 1998–2025.

    Parameters
    ----------
    years
        Keep only these years (default: all 28).
    include_city
        Also keep the whole-city rows (``ward_code == "01100"``).

    Returns
    -------
    pandas.DataFrame
        ``year``, ``as_of``, ``ward_code``, ``ward_name``, ``total``, ``pop_0_14``,
        ``pop_15_64``, ``pop_65_plus`` and ``age_0_4`` ... ``age_100_plus`` (``Int64``).
        In every year the age bands sum to ``total``.
    """
    frame = _read_age_table(sample_file(WARD_FILE, sample_data=sample_data), years)
    if not include_city:
        frame = frame[frame["ward_code"] != "01100"].reset_index(drop=True)
    return stamp(frame, "population_age5", title="Sapporo population by ward and age band")


def load_small_area_population(
    *,
    years: Iterable[int] | None = None,
    sample_data: str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """Return population by 条丁目 small area and 5-year age band, every 5 years 2000–2025.

    Small cells were suppressed by the city: those age bands are ``<NA>``. ``area_key``
    matches ``name_key`` of :func:`workbench.datasets.small_areas.load_small_areas` for about
    99% of areas.
    """
    frame = _read_age_table(sample_file(SMALL_AREA_FILE, sample_data=sample_data), years)
    return stamp(frame, "population_age5", title="Sapporo population by small area and age band")


def load_small_area_households(
    *, sample_data: str | os.PathLike[str] | None = None
) -> pd.DataFrame:
    """Return households and population (male/female) by small area on 2021-04-01.

    Only the ``leaf`` rows (small areas, not town or ward subtotals) are returned.
    """
    frame = pd.read_csv(
        sample_file(HOUSEHOLDS_FILE, sample_data=sample_data),
        dtype={"ward_code": str, "area_key": str},
    )
    frame = frame[frame["row_type"] == "leaf"].drop(columns="row_type").reset_index(drop=True)
    frame["ward_code"] = frame["ward_code"].str.zfill(5)
    frame["as_of"] = pd.to_datetime(frame["as_of"])
    for col in ("households", "pop_total", "male", "female"):
        frame[col] = frame[col].astype("Int64")
    return stamp(frame, "households_2021", title="Sapporo households by small area (2021)")
