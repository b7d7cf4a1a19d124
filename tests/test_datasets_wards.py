"""The 10 wards."""

from __future__ import annotations

from workbench.datasets.wards import WARDS, load_wards


def test_ten_wards_with_the_official_2020_population():
    wards = load_wards()
    assert len(wards) == 10
    assert wards.crs.to_epsg() == 4326
    assert wards["ward_code"].tolist() == sorted(WARDS)
    assert wards["pop_census2020"].sum() == 1_973_395
    assert wards["pop_census2020"].dtype == "int64"
    assert (wards.geometry.is_valid).all()
    assert wards.total_bounds[0] > 140.9 and wards.total_bounds[2] < 141.6


def test_wards_carry_licence_and_attribution():
    attrs = load_wards().attrs
    assert "e-Stat" in attrs["attribution"] and "CC BY 4.0" in attrs["licence"]
    assert attrs["synthetic"] is False
