"""The 町丁・字 small areas of the 2020 census: boundaries, population and households."""

from __future__ import annotations

import os

import geopandas as gpd

from workbench.datasets._paths import sample_file
from workbench.datasets.sources import stamp

SMALL_AREA_FILE = "smallarea/sapporo_chocho_boundaries_census2020.geojson"


def load_small_areas(
    *, dissolve: bool = True, sample_data: str | os.PathLike[str] | None = None
) -> gpd.GeoDataFrame:
    """Return the census small areas (EPSG:4326) with population and households.

    The boundary file has 5,796 polygons; 13 areas are split into several parts (the
    population is on one part). By default the parts are dissolved into one (Multi)Polygon
    per area: 5,781 areas with a unique ``key_code``. ``dissolve=False`` returns the raw
    polygons.

    Columns: ``key_code`` (9-digit census key), ``ward_code``, ``name`` (S_NAME),
    ``name_key`` (matches ``area_key`` of the city's population tables for ~99% of areas),
    ``population`` (JINKO, sums to 1,973,395), ``households`` (SETAI), ``area_m2``,
    ``geometry``.
    """
    raw = gpd.read_file(sample_file(SMALL_AREA_FILE, sample_data=sample_data)).to_crs(4326)
    frame = gpd.GeoDataFrame(
        {
            "key_code": raw["KEY_CODE"].astype(str),
            "ward_code": "01" + raw["CITY"].astype(str).str.zfill(3),
            "name": raw["S_NAME"].astype(str),
            "name_key": raw["S_NAME_key"].astype(str),
            "population": raw["JINKO"].astype("int64"),
            "households": raw["SETAI"].astype("int64"),
            "area_m2": raw["AREA"].astype("float64"),
        },
        geometry=raw.geometry.values,
        crs=4326,
    )
    if dissolve:
        frame = frame.dissolve(
            by="key_code", as_index=False,
            aggfunc={"ward_code": "first", "name": "first", "name_key": "first",
                     "population": "sum", "households": "sum", "area_m2": "sum"},
        )[frame.columns]
    frame = frame.sort_values("key_code", ignore_index=True)
    return stamp(frame, "census_small_areas", title="Sapporo census small areas (2020)")
