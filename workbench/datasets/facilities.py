"""Schools, nurseries, hospitals and evacuation sites of Sapporo, as one points frame."""

from __future__ import annotations

import os
from collections.abc import Iterable

import geopandas as gpd
import pandas as pd

from workbench.datasets._paths import sample_file
from workbench.datasets.sources import stamp

FILES = {
    "elementary_school": "poi/sapporo_elementary_schools_papamama.geojson",
    "junior_high_school": "poi/sapporo_junior_high_schools_papamama.geojson",
    "nursery": "poi/sapporo_nursery_facilities_2017_papamama.geojson",
    "hospital": "poi/sapporo_hospitals_2015.csv",
    "evacuation_site": "poi/sapporo_emergency_evacuation_sites_gsi_2025.geojson",
}
KINDS = tuple(FILES)
_SOURCE_OF = {
    "elementary_school": "papamama",
    "junior_high_school": "papamama",
    "nursery": "papamama",
    "hospital": "hokkaido_hospitals",
    "evacuation_site": "gsi_evacuation",
}
#: GSI hazard columns of the evacuation sites -> English hazard names.
HAZARDS = {
    "洪水": "flood",
    "崖崩れ、土石流及び地滑り": "landslide",
    "高潮": "stormSurge",
    "地震": "earthquake",
    "津波": "tsunami",
    "大規模な火事": "largeFire",
    "内水氾濫": "inlandFlooding",
    "火山現象": "volcano",
}
COLUMNS = [
    "facility_id",
    "kind",
    "name",
    "address",
    "ward_code",
    "capacity",
    "emergency",
    "category_detail",
    "hazards",
    "geometry",
]


def _frame(kind: str, raw: pd.DataFrame, geometry, **cols) -> gpd.GeoDataFrame:
    n = len(raw)
    data = {
        "facility_id": [f"{kind}-{i:04d}" for i in range(1, n + 1)],
        "kind": kind,
        "name": None,
        "address": None,
        "ward_code": raw["ward_code"].astype(str).str.zfill(5).to_numpy(),
        "capacity": pd.array([pd.NA] * n, dtype="Int64"),
        "emergency": pd.array([pd.NA] * n, dtype="boolean"),
        "category_detail": None,
        "hazards": [[] for _ in range(n)],
    }
    data.update({k: (v.to_numpy() if isinstance(v, pd.Series) else v) for k, v in cols.items()})
    return gpd.GeoDataFrame(data, geometry=geometry, crs=4326)


def _load_kind(kind: str, sample_data) -> gpd.GeoDataFrame:
    path = sample_file(FILES[kind], sample_data=sample_data)
    if kind == "hospital":
        raw = pd.read_csv(path, dtype={"ward_code": str})
        geometry = gpd.points_from_xy(raw["longitude"], raw["latitude"])
        return _frame(
            kind,
            raw,
            geometry,
            name=raw["hospital_name"],
            address=raw["address"],
            capacity=pd.array(pd.to_numeric(raw["sickbed_num"], errors="coerce"), dtype="Int64"),
            emergency=pd.array(raw["emergency"].eq("○").to_numpy(), dtype="boolean"),
            category_detail=raw["services"],
        )
    raw = gpd.read_file(path).to_crs(4326)
    geometry = raw.geometry.values
    if kind == "elementary_school":
        return _frame(kind, raw, geometry, name=raw["A27_007"], address=raw["A27_008"])
    if kind == "junior_high_school":
        return _frame(kind, raw, geometry, name=raw["A32_003"], address=raw["address"])
    if kind == "nursery":
        address = raw["Add1"].fillna("") + raw["Add2"].fillna("")
        return _frame(
            kind,
            raw,
            geometry,
            name=raw["Name"],
            address=address,
            capacity=pd.array(pd.to_numeric(raw["Full"], errors="coerce"), dtype="Int64"),
            category_detail=raw["Type"],
        )
    hazards = [
        [en for ja, en in HAZARDS.items() if str(row.get(ja) or "").strip() == "1"]
        for _, row in raw.iterrows()
    ]
    return _frame(
        kind, raw, geometry, name=raw["施設・場所名"], address=raw["住所"], hazards=hazards
    )


def load_facilities(
    *,
    kinds: Iterable[str] | None = None,
    sample_data: str | os.PathLike[str] | None = None,
) -> gpd.GeoDataFrame:
    """Return facilities as points (EPSG:4326), one row each.

    Parameters
    ----------
    kinds
        Any of ``"elementary_school"`` (202, about 2014), ``"junior_high_school"`` (97),
        ``"nursery"`` (528, 2017), ``"hospital"`` (209, 2015), ``"evacuation_site"``
        (348, 2025); default all.

    Returns
    -------
    geopandas.GeoDataFrame
        ``facility_id``, ``kind``, ``name``, ``address``, ``ward_code``, ``capacity``
        (nursery places or hospital beds, ``Int64``), ``emergency`` (hospital takes emergency
        cases, ``boolean``), ``category_detail`` (nursery type or hospital services),
        ``hazards`` (evacuation sites: list of hazards they are designated for), ``geometry``.
    """
    wanted = list(KINDS if kinds is None else kinds)
    unknown = set(wanted) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown facility kinds {sorted(unknown)}; choose from {KINDS}")
    parts = [_load_kind(kind, sample_data) for kind in wanted]
    frame = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=4326)[COLUMNS]
    for col in ("name", "address", "category_detail"):
        frame[col] = frame[col].astype("string")
    sources = tuple(dict.fromkeys(_SOURCE_OF[k] for k in wanted))
    return stamp(
        frame,
        *sources,
        title="Sapporo facilities (schools, nurseries, hospitals, evacuation sites)",
    )
