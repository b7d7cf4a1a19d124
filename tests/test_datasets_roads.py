"""The city road network."""

from __future__ import annotations

from workbench.datasets.roads import load_roads


def test_roads_are_22212_segments_of_about_6374_km():
    roads = load_roads()
    assert len(roads) == 22212
    assert roads.crs.to_epsg() == 4326
    assert abs(roads["length_m"].sum() / 1000 - 6374) < 10
    assert set(roads.geom_type) == {"LineString"}
    assert "認定路線網図" in roads.attrs["attribution"]
