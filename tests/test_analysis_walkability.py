"""Tests for workbench.analysis.walkability: walking graph, accessibility, indices."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely

from workbench.analysis.walkability import (
    access_points,
    accessibility,
    area_walkability,
    frank_index,
    intersection_nodes,
    nearest_nodes,
    sapporo_underground_walkways,
    walk_destinations,
    walk_graph,
    walk_score,
)

CRS = "EPSG:6680"
SPACING = 100.0
DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "sapporo"


def _grid_roads(n: int = 5) -> gpd.GeoDataFrame:
    """A 100 m grid drawn as long lines that share vertices but are not split at them."""
    ticks = [i * SPACING for i in range(n)]
    lines = [shapely.LineString([(x, y) for x in ticks]) for y in ticks]
    lines += [shapely.LineString([(x, y) for y in ticks]) for x in ticks]
    return gpd.GeoDataFrame(geometry=lines, crs=CRS)


def _points(xy, **columns) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(columns, geometry=shapely.points(np.asarray(xy, float)), crs=CRS)


def test_unsplit_lines_are_noded_at_shared_vertices():
    graph = walk_graph(_grid_roads())
    assert graph.number_of_nodes() == 25
    assert graph.number_of_edges() == 40
    degrees = sorted(dict(graph.degree()).values())
    assert degrees.count(4) == 9 and degrees.count(3) == 12 and degrees.count(2) == 4
    assert all(d["length_m"] == pytest.approx(SPACING) for *_, d in graph.edges(data=True))
    assert all(d["minutes"] == pytest.approx(SPACING / 80) for *_, d in graph.edges(data=True))
    assert len(intersection_nodes(graph)) == 21


def test_lines_crossing_without_a_shared_vertex_stay_apart():
    bridge = gpd.GeoSeries(
        [shapely.LineString([(0, 0), (200, 0)]), shapely.LineString([(100, -100), (100, 100)])],
        crs=CRS,
    )
    graph = walk_graph(bridge, bridge_gaps_m=0)
    assert nx.number_connected_components(graph) == 2
    at_grade = walk_graph(bridge, bridge_gaps_m=0, node_crossings=True)
    assert nx.number_connected_components(at_grade) == 1
    assert sorted(d for _, d in at_grade.degree()) == [1, 1, 1, 1, 4]


def test_snap_tolerance_merges_near_endpoints_and_gaps_are_bridged():
    roads = gpd.GeoSeries(
        [
            shapely.LineString([(0, 0), (100, 0)]),
            shapely.LineString([(100.4, 0), (200, 0)]),  # digitising error: 0.4 m apart
            shapely.LineString([(230, 0), (300, 0)]),  # across a 30 m arterial we lack
        ],
        crs=CRS,
    )
    assert nx.number_connected_components(walk_graph(roads, bridge_gaps_m=0)) == 2
    graph = walk_graph(roads)
    assert nx.number_connected_components(graph) == 1
    assert {d["kind"] for *_, d in graph.edges(data=True)} == {"road", "gap"}


def test_accessibility_matches_networkx_shortest_paths():
    graph = walk_graph(_grid_roads(6))
    rng = np.random.default_rng(3)
    origins = _points(rng.uniform(0, 500, size=(30, 2)))
    amenities = _points(rng.uniform(0, 500, size=(8, 2)), category=["school"] * 4 + ["station"] * 4)
    access = accessibility(graph, origins, amenities, minutes=[3, 6])

    o = nearest_nodes(graph, origins)
    a = nearest_nodes(graph, amenities)
    lengths = dict(nx.all_pairs_dijkstra_path_length(graph, weight="length_m"))
    for category in ["school", "station"]:
        members = np.flatnonzero(amenities["category"] == category)
        for i in range(len(origins)):
            walks = np.array(
                [
                    o["distance_m"].iloc[i]
                    + lengths[o["node"].iloc[i]][a["node"].iloc[j]]
                    + a["distance_m"].iloc[j]
                    for j in members
                ]
            )
            assert access[f"minutes_to_{category}"].iloc[i] == pytest.approx(walks.min() / 80)
            assert access[f"{category}_within_3_min"].iloc[i] == (walks <= 240).sum()
            assert access[f"{category}_within_6_min"].iloc[i] == (walks <= 480).sum()


def test_accessibility_corner_to_corner_and_speed():
    graph = walk_graph(_grid_roads(5), speed_m_per_min=50)
    origins = _points([(0, 0), (400, 400)])
    amenities = _points([(400, 400)], category=["hospital"])
    access = accessibility(graph, origins, amenities, minutes=15)
    assert access["minutes_to_hospital"].tolist() == pytest.approx([800 / 50, 0.0])
    assert access["hospital_within_15_min"].tolist() == [0, 1]
    faster = accessibility(graph, origins, amenities, speed_m_per_min=80)
    assert faster["minutes_to_hospital"].iloc[0] == pytest.approx(10.0)


def test_unreachable_origins_get_infinite_minutes_and_zero_counts():
    graph = walk_graph(_grid_roads(3))
    origins = _points([(0, 0), (50_000, 0)])
    amenities = _points([(100, 100)], category=["school"])
    access = accessibility(graph, origins, amenities, max_snap_m=500)
    assert np.isinf(access["minutes_to_school"].iloc[1])
    assert access["school_within_15_min"].iloc[1] == 0
    assert walk_score(access).iloc[1] == 0.0


def test_underground_walkways_connect_an_island():
    # Two road pieces 1 km apart; a walkway joins them.
    roads = gpd.GeoSeries(
        [shapely.LineString([(0, 0), (100, 0)]), shapely.LineString([(1100, 0), (1200, 0)])],
        crs=CRS,
    )
    link = gpd.GeoSeries([shapely.LineString([(100, 5), (1100, 5)])], crs=CRS)
    graph = walk_graph(roads, extra_links=link, bridge_gaps_m=0)
    assert nx.number_connected_components(graph) == 1
    length = nx.shortest_path_length(graph, 0, 3, weight="length_m")
    assert length == pytest.approx(100 + 5 + 1000 + 5 + 100)
    walkways = sapporo_underground_walkways()
    lengths = walkways.to_crs(CRS).length.to_numpy()
    assert walkways["name"].tolist() == ["Chi-Ka-Ho", "Pole Town", "Aurora Town"]
    assert np.all((lengths > 400) & (lengths < 900))


def test_walk_score_decays_from_full_to_zero_credit():
    access = pd.DataFrame(
        {
            "minutes_to_school": [0.0, 5.0, 10.0, 17.5, 25.0, 30.0, np.inf],
            "minutes_to_station": [0.0] * 7,
        }
    )
    only_school = walk_score(access, weights={"school": 1.0})
    assert only_school.iloc[0] == only_school.iloc[1] == 100.0
    assert only_school.iloc[3] == pytest.approx(50.0)
    assert np.all(np.diff(only_school.to_numpy()) <= 0)
    assert only_school.iloc[-2:].tolist() == [0.0, 0.0]
    both = walk_score(access, weights={"school": 1.0, "station": 3.0})
    assert both.iloc[-1] == pytest.approx(75.0)
    with pytest.raises(ValueError, match="no minutes_to_ column"):
        walk_score(access, weights={"park": 1.0})


def test_frank_index_ranks_the_dense_connected_mixed_area_first():
    graph = walk_graph(_grid_roads(5))
    boxes = [shapely.box(-50, -50, 150, 450), shapely.box(150, -50, 450, 450)]
    areas = gpd.GeoDataFrame({"population": [100, 5000]}, geometry=boxes, crs=CRS)
    # More intersections on the right (3 columns x 5 vs 2 x 5), and a mix of amenities.
    amenities = _points([(300, 200), (310, 200), (320, 200)], category=["a", "b", "c"])
    index = frank_index(
        areas, graph, population_column="population", amenities=amenities, radius_m=None
    )
    assert index["intersections"].sum() == len(intersection_nodes(graph))
    assert index["land_use_mix"].tolist() == pytest.approx([0.0, 1.0])
    assert index["frank_index"].idxmax() == 1
    assert index["residential_density_per_km2"].iloc[1] == pytest.approx(5000 / 0.15)


def test_frank_index_in_neighbourhood_circles():
    graph = walk_graph(_grid_roads(9))  # 800 m square, 100 m blocks
    boxes = [shapely.box(0, 0, 100, 100), shapely.box(350, 350, 450, 450)]
    areas = gpd.GeoDataFrame({"population": [1000, 3000]}, geometry=boxes, crs=CRS)
    index = frank_index(areas, graph, population_column="population", radius_m=160)
    # Within 160 m of (400, 400): the 3x3 junctions around it (the next ring is 200 m
    # away). Of the 8 nodes within 160 m of (50, 50), the grid corner is a bend, not a
    # junction.
    assert index["intersections"].tolist() == [7, 9]
    circle_km2 = np.pi * 0.16**2
    assert index["residential_density_per_km2"].tolist() == pytest.approx(
        [1000 / circle_km2, 3000 / circle_km2]
    )
    assert index["frank_index"].idxmax() == 1


def test_city_centre_subset_of_real_roads_gives_plausible_walks():
    centre = shapely.box(141.335, 43.050, 141.370, 43.072)
    roads = gpd.read_file(
        DATA / "streets" / "sapporo_authorized_city_roads_2021-11_geometry_only.geojson",
        bbox=centre.bounds,
    )
    graph = walk_graph(roads, extra_links=sapporo_underground_walkways())
    largest = max(nx.connected_components(graph), key=len)
    assert len(largest) > 0.9 * graph.number_of_nodes()
    stations = pd.read_csv(DATA / "transit" / "sapporo_rail_stations_n02_2020_points.csv")
    stations = gpd.GeoDataFrame(
        stations, geometry=gpd.points_from_xy(stations.lon, stations.lat), crs="EPSG:4326"
    )
    stations = stations[stations.within(centre)].assign(category=lambda f: f["mode"])
    sapporo_station = stations[stations["station_code"] == "N06"]
    odori = stations[stations["station_code"].isin(["N07"])].assign(category="odori")
    access = accessibility(graph, sapporo_station, odori)
    straight = sapporo_station.to_crs(CRS).distance(odori.to_crs(CRS).geometry.iloc[0]).iloc[0]
    walk_m = access["minutes_to_odori"].iloc[0] * 80
    assert straight <= walk_m <= 1.4 * straight  # the Chi-Ka-Ho keeps it nearly straight
    # Every city-centre origin reaches a subway station within 15 minutes.
    grid = _points(
        shapely.get_coordinates(
            gpd.GeoSeries(
                shapely.points(np.c_[[141.345, 141.355], [43.055, 43.065]]), crs="EPSG:4326"
            )
            .to_crs(CRS)
            .values
        )
    )
    reach = accessibility(graph, grid, stations)
    assert (reach["minutes_to_subway"] < 15).all()
    assert (reach["subway_within_15_min"] >= 1).all()


def _tracks_roads() -> gpd.GeoDataFrame:
    """Two streets 200 m apart (y=0 and y=200), joined only 1 km east: a railway between.

    A side street leaves each at x=1000, away from the tracks.
    """
    return gpd.GeoDataFrame(
        geometry=[
            shapely.LineString([(0, 0), (1000, 0), (2000, 0)]),
            shapely.LineString([(0, 200), (1000, 200), (2000, 200)]),
            shapely.LineString([(2000, 0), (2000, 200)]),
            shapely.LineString([(1000, 0), (1000, -100)]),
            shapely.LineString([(1000, 200), (1000, 300)]),
        ],
        crs=CRS,
    )


def test_a_station_is_reached_from_both_sides_of_its_tracks():
    roads = _tracks_roads()
    graph = walk_graph(roads)
    # the platform runs along the tracks, 80 m from the north street, 120 m from the south
    platform = gpd.GeoDataFrame(
        {"category": ["jr"]}, geometry=[shapely.LineString([(800, 120), (1200, 120)])], crs=CRS
    )
    south = _points([(1000, 0)])
    one_point = accessibility(graph, south, platform)  # nearest node only: the north street
    assert one_point["minutes_to_jr"].iloc[0] == pytest.approx((1000 + 200 + 1000 + 80) / 80)
    both_sides = accessibility(
        graph, south, platform, minutes=5, access_radius_m={"jr": 150.0}
    )
    assert both_sides["minutes_to_jr"].iloc[0] == pytest.approx(120 / 80)
    assert both_sides["jr_within_5_min"].iloc[0] == 1  # one station, however many entrances
    points = access_points(graph, platform, radius_m={"jr": 150.0})
    xy = sorted((graph.nodes[n]["x"], graph.nodes[n]["y"]) for n in points["node"])
    assert xy == [(1000.0, 0.0), (1000.0, 200.0)]  # entrances on both streets
    assert sorted(points["distance_m"]) == pytest.approx([80.0, 120.0])


def test_access_points_need_a_category_column_for_per_category_radii():
    graph = walk_graph(_grid_roads(3))
    with pytest.raises(ValueError, match="category"):
        access_points(graph, _points([(50, 50)]).geometry, radius_m={"jr": 100.0})
    with pytest.raises(ValueError, match="negative"):
        access_points(graph, _points([(50, 50)], category=["jr"]), radius_m=-1.0)


def test_area_walkability_snaps_nobody_onto_an_island():
    grid = _grid_roads(5)  # 400 m square
    island = gpd.GeoDataFrame(  # 300 m beyond the grid: gaps up to 50 m are bridged, not this
        geometry=[shapely.LineString([(700, 0), (760, 0)])], crs=CRS
    )
    roads = pd.concat([grid, island], ignore_index=True)
    amenities = _points([(0, 0), (400, 400)], category=["school", "subway"])
    areas = _points([(740, 0), (200, 200), (5000, 5000)])  # by the island; inside; far off
    result = area_walkability(roads, areas, amenities, underground_walkways=False)
    assert result.islands == 1 and result.island_nodes == 2
    assert np.isfinite(result.access.iloc[0]).all()  # walks via the grid, not stranded
    assert result.access["minutes_to_school"].iloc[0] == pytest.approx((340 + 400) / 80)
    assert result.score.iloc[0] > 0 and result.score.iloc[1] > result.score.iloc[0]
    assert np.isnan(result.score.iloc[2]) and not result.reachable.iloc[2]  # unknown, not 0


def test_walk_destinations_counts_a_transfer_station_once_on_its_footprints():
    stations = gpd.GeoDataFrame(
        {
            "mode": ["subway", "subway", "jr"],
            "name": ["さっぽろ", "さっぽろ", "札幌"],
            "footprint": gpd.GeoSeries(
                [
                    shapely.LineString([(141.3508, 43.0653), (141.3505, 43.0665)]),
                    shapely.LineString([(141.3541, 43.0656), (141.3537, 43.0669)]),
                    None,
                ],
                crs=4326,
            ),
        },
        geometry=shapely.points([(141.3507, 43.0659), (141.3539, 43.0662), (141.35, 43.068)]),
        crs=4326,
    )
    facilities = gpd.GeoDataFrame(
        {"facilityKind": ["hospital"], "name": ["A"]},
        geometry=shapely.points([(141.35, 43.06)]),
        crs=4326,
    )
    destinations = walk_destinations(stations, facilities)
    assert destinations["category"].tolist() == ["subway", "jr", "hospital"]
    assert destinations.geometry.iloc[0].geom_type == "MultiLineString"  # both platforms
    assert destinations.geometry.iloc[1].geom_type == "Point"  # no footprint: the point
    with pytest.raises(ValueError, match="facilityKind"):
        walk_destinations(stations, facilities.rename(columns={"facilityKind": "kind"}))


# --------------------------------------------------------------------------- Sapporo


@pytest.fixture(scope="module")
def sapporo():
    """The whole city, computed once: areas, their walkability and the distance to Ōdōri."""
    from workbench.datasets.facilities import load_facilities
    from workbench.datasets.roads import load_roads
    from workbench.datasets.small_areas import load_small_areas
    from workbench.datasets.transit import load_stations

    areas = load_small_areas(sample_data=DATA.parent)
    stations = load_stations(sample_data=DATA.parent).rename(columns={"station": "name"})
    facilities = load_facilities(sample_data=DATA.parent)
    amenities = walk_destinations(stations, facilities, kind_column="kind")
    result = area_walkability(load_roads(sample_data=DATA.parent), areas, amenities)
    odori = stations.loc[stations["station_id"] == "N07"].to_crs(CRS).geometry.iloc[0]
    from_odori_m = areas.to_crs(CRS).centroid.distance(odori)
    return areas, result, from_odori_m


def test_sapporo_station_block_ranks_with_the_city_centre(sapporo):
    areas, result, from_odori_m = sapporo
    percentile = result.score.rank(pct=True)
    block = areas.index[areas["name"] == "北五条西三丁目"][0]  # the JR Sapporo Station block
    assert percentile[block] >= 0.9
    assert result.access.loc[block, "minutes_to_jr"] < 8  # it is next to the station
    assert result.score[block] > result.score.median() + 15
    # every block within 400 m of Ōdōri station is in the city's top decile
    odori_blocks = from_odori_m < 400
    assert odori_blocks.sum() >= 15
    assert (percentile[odori_blocks] >= 0.9).all(), areas.loc[
        odori_blocks & (percentile < 0.9), "name"
    ].tolist()


def test_no_populated_area_near_the_centre_scores_zero_for_an_island(sapporo):
    areas, result, from_odori_m = sapporo
    populated = areas["population"] > 0
    near = populated & (from_odori_m < 3000)
    assert near.sum() > 500
    assert result.reachable[near].all()
    assert (result.score[near] > 20).all(), areas.loc[near & (result.score <= 20), "name"].tolist()
    nine_south = areas.index[areas["name"] == "南九条西一丁目"][0]  # on an island before
    assert np.isfinite(result.access.loc[nine_south]).all()
    # a score of 0 means nothing within 30 minutes on a connected network, never an island
    zero = populated & (result.score == 0)
    minutes = result.access[[f"minutes_to_{c}" for c in result.categories]]
    assert (minutes[zero] >= 30).all().all() and np.isfinite(minutes[zero]).any(axis=1).all()
    assert (from_odori_m[zero] > 8000).all()
    assert (~result.reachable & populated).sum() < 40
