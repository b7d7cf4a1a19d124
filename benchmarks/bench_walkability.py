"""Benchmark: whole-city walkability for Sapporo (5,796 small areas x 8 amenity categories).

Reads the sample data directly with geopandas, builds the walking graph from the 22,212 city
road lines (plus the hand-made underground walkways), and times each step: graph, network
accessibility (minutes to the nearest amenity and counts within 10 and 15 minutes), the
Walk-Score-style score and the Frank-style index. Target: the whole city in under 30 s.

Run::

    .venv/bin/python benchmarks/bench_walkability.py [--data ../shared/data] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from workbench.analysis.walkability import (
    accessibility,
    frank_index,
    sapporo_underground_walkways,
    walk_graph,
    walk_score,
)

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def load_amenities(sapporo: Path) -> gpd.GeoDataFrame:
    """All amenity points with a ``category`` column, EPSG:4326."""
    stations = pd.read_csv(sapporo / "transit" / "sapporo_rail_stations_n02_2020_points.csv")
    hospitals = pd.read_csv(sapporo / "poi" / "sapporo_hospitals_2015.csv")
    frames = [
        gpd.GeoDataFrame(
            {"category": stations["mode"]},
            geometry=gpd.points_from_xy(stations.lon, stations.lat),
            crs="EPSG:4326",
        ),
        gpd.GeoDataFrame(
            {"category": "hospital"},
            geometry=gpd.points_from_xy(hospitals.longitude, hospitals.latitude),
            crs="EPSG:4326",
            index=hospitals.index,
        ),
    ]
    for name, category in [
        ("sapporo_elementary_schools_papamama.geojson", "elementary_school"),
        ("sapporo_junior_high_schools_papamama.geojson", "junior_high_school"),
        ("sapporo_nursery_facilities_2017_papamama.geojson", "nursery"),
        ("sapporo_emergency_evacuation_sites_gsi_2025.geojson", "evacuation_site"),
    ]:
        points = gpd.read_file(sapporo / "poi" / name)
        frames.append(points[["geometry"]].assign(category=category).to_crs("EPSG:4326"))
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs="EPSG:4326")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--node-crossings", action="store_true", help="walk_graph(node_crossings=True)"
    )
    args = parser.parse_args()
    sapporo = args.data / "sapporo"

    t0 = time.perf_counter()
    roads = gpd.read_file(
        sapporo / "streets" / "sapporo_authorized_city_roads_2021-11_geometry_only.geojson"
    )
    areas = gpd.read_file(sapporo / "smallarea" / "sapporo_chocho_boundaries_census2020.geojson")
    amenities = load_amenities(sapporo)
    load_s = time.perf_counter() - t0

    timings: dict[str, list[float]] = {
        "graph": [],
        "accessibility": [],
        "walk_score": [],
        "frank_index": [],
        "total": [],
    }
    for _ in range(args.repeat):
        start = time.perf_counter()
        graph = walk_graph(
            roads, extra_links=sapporo_underground_walkways(), node_crossings=args.node_crossings
        )
        t_graph = time.perf_counter()
        access = accessibility(graph, areas, amenities, minutes=[10, 15])
        t_access = time.perf_counter()
        score = walk_score(access)
        t_score = time.perf_counter()
        frank = frank_index(areas, graph, population_column="JINKO", amenities=amenities)
        t_frank = time.perf_counter()
        timings["graph"].append(t_graph - start)
        timings["accessibility"].append(t_access - t_graph)
        timings["walk_score"].append(t_score - t_access)
        timings["frank_index"].append(t_frank - t_score)
        timings["total"].append(t_frank - start)

    categories = sorted(amenities["category"].unique())
    print(
        f"data: {len(roads):,} road lines, {len(areas):,} small areas, "
        f"{len(amenities):,} amenities in {len(categories)} categories ({', '.join(categories)})"
    )
    print(
        f"graph (node_crossings={args.node_crossings}): {graph.number_of_nodes():,} nodes, "
        f"{graph.number_of_edges():,} edges"
    )
    print(f"loading files: {load_s:.2f} s (not counted below)")
    print(f"{'step':<15}{'best s':>9}{'median s':>10}")
    for step, values in timings.items():
        print(f"{step:<15}{min(values):>9.2f}{np.median(values):>10.2f}")
    reachable = np.isfinite(access["minutes_to_subway"]).mean()
    print(f"origins connected to the network: {reachable:.1%}")
    print(
        f"median minutes to a subway station: {access['minutes_to_subway'].median():.1f}; "
        f"share within 15 min: {(access['minutes_to_subway'] <= 15).mean():.1%}"
    )
    print(
        f"walk score: median {score.median():.0f}, IQR {score.quantile(0.25):.0f}-"
        f"{score.quantile(0.75):.0f}; Frank index sd {frank['frank_index'].std():.2f}"
    )


if __name__ == "__main__":
    main()
