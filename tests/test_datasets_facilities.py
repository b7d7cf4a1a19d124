"""Schools, nurseries, hospitals and evacuation sites."""

from __future__ import annotations

import pytest

from workbench.datasets.facilities import load_facilities


def test_facility_counts_per_kind():
    facilities = load_facilities()
    counts = facilities["kind"].value_counts().to_dict()
    assert counts == {"nursery": 528, "evacuation_site": 348, "hospital": 209,
                      "elementary_school": 202, "junior_high_school": 97}
    assert facilities["facility_id"].is_unique
    assert facilities.crs.to_epsg() == 4326
    assert facilities["name"].notna().all()


def test_hospitals_have_beds_and_sites_have_hazards():
    hospitals = load_facilities(kinds=["hospital"])
    assert str(hospitals["capacity"].dtype) == "Int64"
    assert hospitals["capacity"].sum() > 20_000
    assert hospitals["emergency"].any()
    sites = load_facilities(kinds=["evacuation_site"])
    assert sites["hazards"].map(len).gt(0).mean() > 0.9
    assert "earthquake" in set(sites["hazards"].explode())


def test_attribution_names_each_source_of_the_selected_kinds():
    attribution = load_facilities(kinds=["hospital", "evacuation_site"]).attrs["attribution"]
    assert "医療機関" in attribution and "国土地理院" in attribution
    assert "パパママ" not in attribution


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="park"):
        load_facilities(kinds=["park"])
