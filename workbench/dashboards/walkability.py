"""The walkability dashboard's data and views: who can walk to what, by 町丁目.

The heavy step (walking graph from the city roads, multi-source network accessibility from
every census small area to every amenity category for every walking time offered) runs once
per kernel in :func:`compute_walkability`; every control then only selects columns of its
result, so an update is a table, a small chart and a map *state* switch. The network, the
stations' access points and the walk score are those of
:func:`workbench.analysis.walkability.area_walkability`, the same as in the notebook.
"""

from __future__ import annotations

import html as html_lib
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from workbench.analysis.walkability import area_walkability, walk_destinations
from workbench.dashboards._kit import figure_png

__all__ = [
    "CATEGORIES",
    "MINUTES",
    "RANKING_MIN_RESIDENTS",
    "SCORE",
    "WalkabilityData",
    "compute_walkability",
    "load_inputs",
    "map_states",
    "populated_bounds",
    "ranking",
    "ranking_html",
    "ward_summary",
]

CATEGORIES = {
    "subway": "subway station",
    "tram": "tram stop",
    "jr": "JR station",
    "elementary_school": "elementary school",
    "junior_high_school": "junior high school",
    "nursery": "nursery or kindergarten",
    "hospital": "hospital",
    "evacuation_site": "designated evacuation site",
}
PLURALS = {
    "subway": "Subway stations",
    "tram": "Tram stops",
    "jr": "JR stations",
    "elementary_school": "Elementary schools",
    "junior_high_school": "Junior high schools",
    "nursery": "Nurseries and kindergartens",
    "hospital": "Hospitals",
    "evacuation_site": "Evacuation sites",
}
SCORE = "walk_score"
MINUTES = (5, 10, 15, 20, 30)
#: classes of "how many within reach" on the map
COUNT_EDGES = [0.0, 0.5, 1.5, 2.5, 4.5, 9.5, 1e9]
COUNT_LABELS = ["none", "1", "2", "3–4", "5–9", "10 or more"]
SCORE_EDGES = [0.0, 20.0, 40.0, 60.0, 80.0, 100.0001]
SCORE_LABELS = ["0–20", "20–40", "40–60", "60–80", "80–100"]
#: small areas with fewer residents are left out of the ranking (as in the notebook)
RANKING_MIN_RESIDENTS = 50


@dataclass
class WalkabilityData:
    """Per small area: identity, population, access to every category, the walk score."""

    areas: gpd.GeoDataFrame  # area_code, name, ward_code, population, geometry (display)
    access: pd.DataFrame  # minutes_to_<c>, <c>_within_<m>_min
    score: pd.Series  # NaN where the area is too far from the walking network
    categories: tuple[str, ...]
    speed_m_per_min: float


def load_inputs(exchange: Any) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Roads, small areas and amenity points (``category`` column) from the open products."""
    roads = exchange.entities("sapporo-roads", type="RoadSegment", attrs=["location"])
    roads = roads.to_geopandas()
    areas = exchange.entities("sapporo-small-areas", type="AdministrativeArea").to_geopandas()
    facilities = exchange.entities(
        "sapporo-facilities", type="PointOfInterest", attrs=["facilityKind", "location"]
    ).to_geopandas()
    stops = exchange.entities(
        "sapporo-rail",
        type="PublicTransportStop",
        attrs=["mode", "name", "footprint", "location"],
    ).to_geopandas()
    amenities = walk_destinations(stops, facilities)
    return roads, areas, amenities[amenities["category"].isin(CATEGORIES)]


def compute_walkability(
    roads: gpd.GeoDataFrame,
    areas: gpd.GeoDataFrame,
    amenities: gpd.GeoDataFrame,
    *,
    minutes: tuple[int, ...] = MINUTES,
    speed_m_per_min: float = 80.0,
    display_simplify_deg: float = 0.0002,
) -> WalkabilityData:
    """Build the walking graph once and compute access for every category and time."""
    result = area_walkability(
        roads, areas, amenities, minutes=list(minutes), speed_m_per_min=speed_m_per_min
    )
    access = result.access
    categories = tuple(c for c in CATEGORIES if f"minutes_to_{c}" in access.columns)
    score = result.score
    display = gpd.GeoDataFrame(
        {
            "area_code": areas["areaCode"].astype(str).to_numpy(),
            "name": areas["name"].astype(str).to_numpy(),
            "ward_code": areas["wardId"].astype(str).to_numpy(),
            "population": pd.to_numeric(areas["population"], errors="coerce")
            .fillna(0)
            .astype(int)
            .to_numpy(),
        },
        geometry=areas.geometry.simplify(display_simplify_deg).to_numpy(),
        crs=areas.crs or "EPSG:4326",
        index=areas.index,
    )
    return WalkabilityData(display, access, score, categories, speed_m_per_min)


def state(category: str, minutes: int) -> str:
    """The map state of a selection (the walk score does not depend on the time)."""
    return SCORE if category == SCORE else f"{category}|{minutes}"


def map_states(data: WalkabilityData, *, minutes: tuple[int, ...] = MINUTES) -> pd.DataFrame:
    """Every map state: amenities within reach per category and time, and the walk score."""
    columns = {
        state(c, m): data.access[f"{c}_within_{m}_min"].astype(float)
        for c in data.categories
        for m in minutes
    }
    return pd.DataFrame(columns, index=data.areas.index)


def _reach(data: WalkabilityData, category: str, minutes: int) -> pd.Series:
    return data.access[f"{category}_within_{minutes}_min"]


def ranking(
    data: WalkabilityData,
    category: str,
    minutes: int,
    *,
    ward_names: dict[str, str],
    n: int = 15,
    min_residents: int = RANKING_MIN_RESIDENTS,
) -> pd.DataFrame:
    """The best-served small areas with at least ``min_residents`` residents, for display.

    Areas the walking network does not reach (no score) are left out.
    """
    frame = data.areas[["name", "ward_code", "population"]].assign(
        ward=lambda f: f["ward_code"].map(ward_names).fillna(f["ward_code"])
    )
    frame = frame[(frame["population"] >= min_residents) & data.score.notna()]
    if category == SCORE:
        frame = frame.assign(score=data.score.round(0))
        ranked = frame.sort_values(
            ["score", "population"], ascending=[False, False]
        )
        columns = {"name": "町丁目", "ward": "ward", "population": "residents (2020)",
                   "score": "walk score (0-100)"}  # fmt: skip
    else:
        nearest = data.access[f"minutes_to_{category}"]
        frame = frame.assign(reach=_reach(data, category, minutes), nearest=nearest.round(1))
        ranked = frame.sort_values(["reach", "nearest"], ascending=[False, True])
        columns = {"name": "町丁目", "ward": "ward", "population": "residents (2020)",
                   "reach": f"within {minutes} min",
                   "nearest": "minutes to the nearest"}  # fmt: skip
    out = ranked.head(n)[list(columns)].rename(columns=columns)
    out.index = pd.RangeIndex(1, len(out) + 1, name="rank")
    return out


def ward_summary(
    data: WalkabilityData, category: str, minutes: int, *, ward_names: dict[str, str]
) -> pd.DataFrame:
    """Per ward: residents, and the share living within reach (or the mean walk score)."""
    population = data.areas["population"].astype(float)
    if category == SCORE:
        scored = population.where(data.score.notna(), 0.0)
        weighted = (data.score.fillna(0) * scored).groupby(data.areas["ward_code"]).sum()
        share = weighted / scored.groupby(data.areas["ward_code"]).sum()
        label = "mean walk score (resident-weighted)"
    else:
        reached = (_reach(data, category, minutes) > 0).astype(float)
        within = (reached * population).groupby(data.areas["ward_code"]).sum()
        share = 100 * within / population.groupby(data.areas["ward_code"]).sum()
        label = f"% of residents within {minutes} min"
    out = pd.DataFrame(
        {"ward": [ward_names.get(c, c) for c in share.index], label: share.round(1).to_numpy(),
         "residents": population.groupby(data.areas["ward_code"]).sum().astype(int).to_numpy()},
        index=share.index,
    )  # fmt: skip
    return out


def city_share(data: WalkabilityData, category: str, minutes: int) -> float:
    """Share of all residents within reach (percent), or the resident-weighted walk score."""
    population = data.areas["population"].astype(float)
    if category == SCORE:
        scored = population.where(data.score.notna(), 0.0)
        return float((data.score.fillna(0) * scored).sum() / scored.sum())
    reached = (_reach(data, category, minutes) > 0).astype(float)
    return float(100 * (reached * population).sum() / population.sum())


def populated_bounds(
    areas: gpd.GeoDataFrame, *, share: float = 0.99, margin_deg: float = 0.005
) -> list[list[float]]:
    """``[[south, west], [north, east]]`` around where ``share`` of the residents live.

    The city's wards reach far into the mountains (Minami ward is mostly forest), so their
    bounds make the built-up city small on the map; the residents' bounds do not. Centroids
    are cut at the population-weighted ``(1 - share) / 2`` and ``(1 + share) / 2``
    quantiles of longitude and latitude.
    """
    population = pd.to_numeric(areas["population"], errors="coerce").fillna(0).to_numpy(float)
    if population.sum() <= 0:
        raise ValueError("areas have no residents: no populated bounds")
    centres = areas.to_crs(4326).geometry.representative_point()
    low, high = (1 - share) / 2, (1 + share) / 2
    bounds = []
    for values in (centres.y.to_numpy(), centres.x.to_numpy()):
        order = np.argsort(values)
        cumulative = np.cumsum(population[order]) / population.sum()
        bounds.append(
            (
                float(values[order][np.searchsorted(cumulative, low)]) - margin_deg,
                float(values[order][np.searchsorted(cumulative, high)]) + margin_deg,
            )
        )
    (south, north), (west, east) = bounds
    return [[south, west], [north, east]]


#: the ranking table's look: scoped to the table, readable at phone width
TABLE_STYLE = """<style>
table.workbench-table{border-collapse:collapse;font-size:13px;width:100%;max-width:100%}
table.workbench-table th,table.workbench-table td{padding:4px 8px;
  border-bottom:1px solid #ddd;text-align:left;vertical-align:top}
table.workbench-table thead th{border-bottom:2px solid #888;background:#f4f6f8}
table.workbench-table td.num,table.workbench-table th.num{text-align:right;
  font-variant-numeric:tabular-nums;white-space:nowrap}
table.workbench-table tbody tr:nth-child(even){background:#fafafa}
table.workbench-table caption{caption-side:bottom;text-align:left;color:#555;
  font-size:12px;padding-top:4px}
.workbench-table-wrap{overflow-x:auto;max-width:100%}
</style>"""


def ranking_html(table: pd.DataFrame, *, title: str, note: str = "") -> str:
    """The ranking as a styled HTML table (numbers right-aligned, padded cells)."""
    numeric = {c for c in table.columns if pd.api.types.is_numeric_dtype(table[c])}
    head = '<th scope="col" class="num">' + html_lib.escape(table.index.name or "") + "</th>"
    head += "".join(
        ('<th scope="col" class="num">' if c in numeric else '<th scope="col">')
        + html_lib.escape(str(c))
        + "</th>"
        for c in table.columns
    )
    rows = []
    for rank, row in table.iterrows():
        cells = [f'<td class="num">{rank}</td>']
        for c in table.columns:
            value = row[c]
            if c in numeric:
                text = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
                cells.append(f'<td class="num">{text}</td>')
            else:
                cells.append(f"<td>{html_lib.escape(str(value))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    caption = f"<caption>{html_lib.escape(note)}</caption>" if note else ""
    return (
        f"{TABLE_STYLE}<h4>{html_lib.escape(title)}</h4>"
        '<div class="workbench-table-wrap"><table class="workbench-table">'
        f"{caption}<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def plot_wards(summary: pd.DataFrame, *, title: str, english: dict[str, str]) -> bytes:
    """Horizontal bars of the ward summary's first measure; PNG."""
    measure = summary.columns[1]
    frame = summary.assign(label=[english.get(c, c) for c in summary.index]).sort_values(measure)
    fig, ax = plt.subplots(figsize=(5.0, 3.6), layout="constrained")
    ax.barh(frame["label"], frame[measure].to_numpy(), color="#2b8cbe")
    for y, v in enumerate(frame[measure].to_numpy()):
        ax.text(v, y, f" {v:.0f}", va="center", fontsize=8)
    ax.set_xlabel(measure)
    ax.set_xlim(0, max(100.0, float(np.nanmax(frame[measure].to_numpy())) * 1.1))
    ax.set_title(title, fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    return figure_png(fig)
