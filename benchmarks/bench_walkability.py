"""Benchmark: whole-city walkability for Sapporo (5,781 small areas x 8 amenity categories).

Reads the sample data with the dataset loaders and runs the one definition the notebook and
the dashboard use, :func:`workbench.analysis.walkability.area_walkability`: the walking graph
from the 22,212 city road lines (junctions where lines cross, the hand-made underground
walkways, islands dropped), stations reached at every node near their N02 footprints,
network accessibility (minutes to the nearest amenity and counts within the dashboard's 5,
10, 15, 20 and 30 minutes) and the Walk-Score-style score; then the Frank-style index. It
times each and prints the checks the city centre must pass. Target: the whole city in under
30 s.

Run::

    .venv/bin/python benchmarks/bench_walkability.py [--data ../shared/data] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from workbench.analysis.walkability import (
    DEFAULT_CRS,
    area_walkability,
    frank_index,
    walk_destinations,
)
from workbench.datasets.facilities import load_facilities
from workbench.datasets.roads import load_roads
from workbench.datasets.small_areas import load_small_areas
from workbench.datasets.transit import load_stations

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
MINUTES = [5, 10, 15, 20, 30]  # the dashboard's walking times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--no-node-crossings", action="store_true", help="area_walkability(node_crossings=False)"
    )
    args = parser.parse_args()

    t0 = time.perf_counter()
    roads = load_roads(sample_data=args.data)
    areas = load_small_areas(sample_data=args.data)
    stations = load_stations(sample_data=args.data).rename(columns={"station": "name"})
    amenities = walk_destinations(
        stations, load_facilities(sample_data=args.data), kind_column="kind"
    )
    load_s = time.perf_counter() - t0

    timings: dict[str, list[float]] = {"area_walkability": [], "frank_index": [], "total": []}
    for _ in range(args.repeat):
        start = time.perf_counter()
        result = area_walkability(
            roads, areas, amenities, minutes=MINUTES, node_crossings=not args.no_node_crossings
        )
        t_walk = time.perf_counter()
        frank = frank_index(areas, result.graph, population_column="population",
                            amenities=amenities)  # fmt: skip
        t_frank = time.perf_counter()
        timings["area_walkability"].append(t_walk - start)
        timings["frank_index"].append(t_frank - t_walk)
        timings["total"].append(t_frank - start)

    access, score = result.access, result.score
    print(
        f"data: {len(roads):,} road lines, {len(areas):,} small areas, {len(amenities):,} "
        f"destinations in {len(result.categories)} categories ({', '.join(result.categories)})"
    )
    print(
        f"main network: {result.graph.number_of_nodes():,} nodes, "
        f"{result.graph.number_of_edges():,} edges; {result.islands} islands "
        f"({result.island_nodes} nodes) dropped"
    )
    print(f"loading files: {load_s:.2f} s (not counted below)")
    print(f"{'step':<18}{'best s':>9}{'median s':>10}")
    for step, values in timings.items():
        print(f"{step:<18}{min(values):>9.2f}{np.median(values):>10.2f}")
    populated = areas["population"] > 0
    print(
        f"areas off the network (no score): {(~result.reachable).sum()} "
        f"({areas.loc[~result.reachable, 'population'].sum():,} residents)"
    )
    print(
        f"median minutes to a subway station: {access['minutes_to_subway'].median():.1f}; "
        f"share within 15 min: {(access['minutes_to_subway'] <= 15).mean():.1%}"
    )
    print(
        f"walk score: median {score.median():.0f}, IQR {score.quantile(0.25):.0f}-"
        f"{score.quantile(0.75):.0f}; Frank index sd {frank['frank_index'].std():.2f}"
    )
    odori = stations.loc[stations["station_id"] == "N07"].to_crs(DEFAULT_CRS).geometry.iloc[0]
    near = populated & (areas.to_crs(DEFAULT_CRS).centroid.distance(odori) < 3000)
    print(f"populated areas within 3 km of Ōdōri scoring 0 or no score: "
          f"{(~(score[near] > 0)).sum()} of {near.sum()}")  # fmt: skip
    percentile = score.rank(pct=True)
    for name in ("北五条西三丁目", "南九条西一丁目", "大通西四丁目"):
        i = areas.index[areas["name"] == name][0]
        print(
            f"{name}: walk score {score[i]:.0f} (percentile {percentile[i]:.0%}), "
            f"{access.loc[i, 'minutes_to_jr']:.1f} min to a JR station, "
            f"{access.loc[i, 'minutes_to_subway']:.1f} min to a subway station"
        )


if __name__ == "__main__":
    main()
