"""The 10 wards of Sapporo (区), dissolved from the 2020 census small areas."""

from __future__ import annotations

import os

import geopandas as gpd

from workbench.datasets._paths import sample_file
from workbench.datasets.sources import stamp

WARD_FILE = "wards/sapporo_wards_dissolved_from_census2020_chocho.geojson"

#: ward code -> (Japanese name, English name); 01100 is the whole city.
WARDS: dict[str, tuple[str, str]] = {
    "01101": ("中央区", "Chuo"),
    "01102": ("北区", "Kita"),
    "01103": ("東区", "Higashi"),
    "01104": ("白石区", "Shiroishi"),
    "01105": ("豊平区", "Toyohira"),
    "01106": ("南区", "Minami"),
    "01107": ("西区", "Nishi"),
    "01108": ("厚別区", "Atsubetsu"),
    "01109": ("手稲区", "Teine"),
    "01110": ("清田区", "Kiyota"),
}
CITY_CODE = "01100"


def load_wards(*, sample_data: str | os.PathLike[str] | None = None) -> gpd.GeoDataFrame:
    """Return the 10 ward polygons (EPSG:4326) with their 2020 census population.

    Columns: ``ward_code`` (``"01101"`` ...), ``ward_name_ja``, ``ward_name_en``,
    ``pop_census2020``, ``households_census2020``, ``area_km2``, ``geometry``.
    ``attrs`` carries ``licence`` and ``attribution`` (e-Stat census boundaries).
    """
    frame = gpd.read_file(sample_file(WARD_FILE, sample_data=sample_data))
    frame = frame.to_crs(4326)
    frame["ward_code"] = frame["ward_code"].astype(str).str.zfill(5)
    for col in ("pop_census2020", "households_census2020"):
        frame[col] = frame[col].astype("int64")
    frame["area_km2"] = frame["area_km2"].astype("float64")
    frame = frame.sort_values("ward_code", ignore_index=True)
    cols = [
        "ward_code",
        "ward_name_ja",
        "ward_name_en",
        "pop_census2020",
        "households_census2020",
        "area_km2",
        "geometry",
    ]
    return stamp(frame[cols], "census_small_areas", title="Sapporo wards (2020 census)")
