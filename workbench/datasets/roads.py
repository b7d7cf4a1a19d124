"""The city road network of Sapporo (市道, November 2021), geometry only."""

from __future__ import annotations

import os

import geopandas as gpd

from workbench.datasets._paths import sample_file
from workbench.datasets.sources import stamp

ROADS_FILE = "streets/sapporo_authorized_city_roads_2021-11_geometry_only.geojson"


def load_roads(*, sample_data: str | os.PathLike[str] | None = None) -> gpd.GeoDataFrame:
    """Return the 22,212 city road segments as LineStrings (EPSG:4326).

    Columns: ``segment_id`` (``seg_index``), ``length_m``, ``ward_code``, ``geometry``.
    City roads only: national and prefectural arterials, footpaths and the underground
    walkways (Chi-Ka-Ho, Pole Town) are missing, and there are no road attributes.
    """
    raw = gpd.read_file(sample_file(ROADS_FILE, sample_data=sample_data)).to_crs(4326)
    frame = gpd.GeoDataFrame(
        {
            "segment_id": raw["seg_index"].astype("int64"),
            "length_m": raw["length_m"].astype("float64"),
            "ward_code": raw["ward_code"].astype(str).str.zfill(5),
        },
        geometry=raw.geometry.values,
        crs=4326,
    )
    return stamp(frame, "city_roads", title="Sapporo city roads (2021-11)")
