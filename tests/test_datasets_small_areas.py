"""The census small areas."""

from __future__ import annotations

from workbench.datasets.small_areas import load_small_areas


def test_small_areas_sum_to_the_official_population():
    areas = load_small_areas()
    assert len(areas) == 5781  # 5,796 polygons, 13 areas in several parts
    assert areas.crs.to_epsg() == 4326
    assert areas["population"].sum() == 1_973_395
    assert areas["population"].dtype == "int64" and areas["households"].dtype == "int64"
    assert areas["ward_code"].nunique() == 10
    assert areas["key_code"].is_unique
    assert "e-Stat" in areas.attrs["attribution"]


def test_raw_polygons_are_available_undissolved():
    raw = load_small_areas(dissolve=False)
    assert len(raw) == 5796
    assert raw["population"].sum() == 1_973_395
