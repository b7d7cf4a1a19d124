"""Stations and subway lines."""

from __future__ import annotations

import pytest

from workbench.datasets.transit import load_stations, load_subway_lines


def test_subway_has_49_station_codes_at_46_stations():
    subway = load_stations(modes=["subway"])
    assert len(subway) == 49
    assert subway["station"].nunique() == 46
    assert subway["station_id"].is_unique
    assert {c[0] for c in subway["station_code"]} == {"N", "T", "H"}
    assert subway.crs.to_epsg() == 4326


def test_every_station_has_a_stable_id_and_mode():
    stations = load_stations()
    assert len(stations) == 106
    assert stations["station_id"].is_unique
    assert set(stations["mode"]) == {"subway", "tram", "jr"}
    assert "国土数値情報" in stations.attrs["attribution"]


def test_every_station_has_its_n02_footprint_along_the_tracks():
    stations = load_stations()
    footprint = stations["footprint"]
    assert footprint.crs.to_epsg() == 4326
    assert footprint.geom_type.isin(["LineString", "MultiLineString"]).all()
    sapporo = stations[(stations["mode"] == "jr") & (stations["station"] == "札幌")].iloc[0]
    length_m = footprint.to_crs(6680)[sapporo.name].length
    assert 200 < length_m < 600  # the platforms, east to west, not one point
    assert footprint[sapporo.name].distance(sapporo.geometry) < 0.001  # around the point


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="bus"):
        load_stations(modes=["bus"])


def test_subway_lines_are_osm_with_odbl_attribution():
    lines = load_subway_lines()
    assert len(lines) == 6
    assert set(lines["ref"]) == {"N", "T", "H"}
    assert lines["colour"].str.startswith("#").all()
    assert "OpenStreetMap" in lines.attrs["attribution"] and "ODbL" in lines.attrs["licence"]
