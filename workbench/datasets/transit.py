"""Rail stations (subway, tram, JR) and subway lines of Sapporo."""

from __future__ import annotations

import os
from collections.abc import Iterable

import geopandas as gpd
import pandas as pd

from workbench.datasets._paths import sample_file
from workbench.datasets.sources import stamp

STATIONS_FILE = "transit/sapporo_rail_stations_n02_2020_points.csv"
FOOTPRINTS_FILE = "transit/sapporo_rail_stations_n02_2020.geojson"
ROUTES_FILE = "transit/sapporo_subway_routes_osm.geojson"

#: subway line (Japanese) -> (station code prefix, English name, colour)
SUBWAY_LINES: dict[str, tuple[str, str, str]] = {
    "南北線": ("N", "Namboku Line", "#008800"),
    "東西線": ("T", "Tozai Line", "#FF8C00"),
    "東豊線": ("H", "Toho Line", "#0070C0"),
}
MODES = ("subway", "tram", "jr")


def load_stations(
    *,
    modes: Iterable[str] | None = None,
    sample_data: str | os.PathLike[str] | None = None,
) -> gpd.GeoDataFrame:
    """Return station-line records as points (EPSG:4326), MLIT N02 (2020).

    Parameters
    ----------
    modes
        Any of ``"subway"`` (49 records: N01–N16, T01–T19, H01–H14 at 46 stations),
        ``"tram"``, ``"jr"``; default all.

    Returns
    -------
    geopandas.GeoDataFrame
        ``station_id`` (stable: the subway station code, else ``tram-NN`` / ``jr-NN``),
        ``mode``, ``station_code``, ``operator``, ``line``, ``station``, ``ward_code``,
        ``geometry`` (the point) and ``footprint``: the station's extent along its track
        (N02's own geometry, a MultiLineString over the platforms), which walking analyses
        use to reach a station from every side of its tracks.
    """
    raw = pd.read_csv(sample_file(STATIONS_FILE, sample_data=sample_data), dtype=str)
    wanted = list(MODES if modes is None else modes)
    unknown = set(wanted) - set(MODES)
    if unknown:
        raise ValueError(f"unknown station modes {sorted(unknown)}; choose from {MODES}")
    raw["ward_code"] = raw["ward_code"].str.zfill(5)
    raw["_n"] = raw.groupby("mode").cumcount() + 1
    raw["station_id"] = raw["station_code"].where(
        raw["station_code"].notna(), raw["mode"] + "-" + raw["_n"].map("{:02d}".format)
    )
    raw = raw[raw["mode"].isin(wanted)]
    frame = gpd.GeoDataFrame(
        raw[["station_id", "mode", "station_code", "operator", "line", "station", "ward_code"]],
        geometry=gpd.points_from_xy(raw["lon"].astype(float), raw["lat"].astype(float)),
        crs=4326,
    ).reset_index(drop=True)
    frame["footprint"] = _footprints(frame, sample_data)
    return stamp(frame, "n02_rail", title="Sapporo rail stations (MLIT N02 2020)")


def _footprints(
    stations: gpd.GeoDataFrame, sample_data: str | os.PathLike[str] | None
) -> gpd.GeoSeries:
    """N02's line geometry of each station, matched on mode, line and name (point if none)."""
    raw = gpd.read_file(sample_file(FOOTPRINTS_FILE, sample_data=sample_data)).to_crs(4326)
    raw["_key"] = list(zip(raw["mode"], raw["N02_003"], raw["N02_005"], strict=True))
    # a stop named twice on one line (狸小路 on the 都心線 loop): its footprints together
    merged = raw.dissolve(by="_key").geometry
    keys = list(zip(stations["mode"], stations["line"], stations["station"], strict=True))
    found = [merged.get(key) for key in keys]
    shapes = [f if f is not None else p for f, p in zip(found, stations.geometry, strict=True)]
    return gpd.GeoSeries(shapes, index=stations.index, crs=4326)


def load_subway_lines(*, sample_data: str | os.PathLike[str] | None = None) -> gpd.GeoDataFrame:
    """Return the three subway lines, one LineString per line and direction (OpenStreetMap).

    Columns: ``line_id`` (``N-1`` ...), ``ref`` (``N``/``T``/``H``), ``name`` (Japanese),
    ``name_en``, ``colour``, ``geometry``. Licensed ODbL: © OpenStreetMap contributors.
    """
    raw = gpd.read_file(sample_file(ROUTES_FILE, sample_data=sample_data)).to_crs(4326)
    raw = raw.sort_values(["ref", "id"]).reset_index(drop=True)
    raw["direction"] = raw.groupby("ref").cumcount() + 1
    colours = {ref: colour for _, (ref, _, colour) in SUBWAY_LINES.items()}
    frame = gpd.GeoDataFrame(
        {
            "line_id": raw["ref"] + "-" + raw["direction"].astype(str),
            "ref": raw["ref"].astype(str),
            "name": raw["name"].astype(str),
            "name_en": raw["name:en"].astype(str),
            "colour": raw["ref"].map(colours),
        },
        geometry=raw.geometry.values,
        crs=4326,
    )
    return stamp(frame, "osm_subway_routes", title="Sapporo subway lines (OpenStreetMap)")
