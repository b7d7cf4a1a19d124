"""Ward polygons and names from the open wards product, shared by the dashboards."""

from __future__ import annotations

from typing import Any

import geopandas as gpd


def load_wards(exchange: Any, product: str = "sapporo-wards") -> gpd.GeoDataFrame:
    """The 10 wards (no city row): ``ward_code``, ``name_ja``, ``name_en``, ``label``, geometry."""
    frame = exchange.entities(product, type="AdministrativeArea").to_geopandas()
    frame = frame[frame["administrativeLevel"] == "ward"]
    wards = gpd.GeoDataFrame(
        {
            "ward_code": frame["areaCode"].astype(str).to_numpy(),
            "name_ja": frame["name"].astype(str).to_numpy(),
            "name_en": frame["alternateName"].astype(str).to_numpy(),
        },
        geometry=frame.geometry.to_numpy(),
        crs=frame.crs or "EPSG:4326",
    )
    wards["label"] = wards["name_en"] + " " + wards["name_ja"]
    return wards.sort_values("ward_code", ignore_index=True)
