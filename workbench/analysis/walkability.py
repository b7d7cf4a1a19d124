"""Walking networks, network accessibility and walkability indices.

Build a walking graph from road centre lines (:func:`walk_graph`), snap points to it
(:func:`nearest_nodes`), compute minutes to the nearest amenity of each category and the
number reachable within a walking time from every origin with multi-source shortest paths
(:func:`accessibility`), and turn those into a Walk-Score-style score (:func:`walk_score`) and
a Frank-style walkability index per small area (:func:`frank_index`).

What the Sapporo network lacks
------------------------------
The roads product is the city-managed roads (市道) only, geometry only. It has no national or
prefectural arterials (their crossings look like dead ends, so intersection counts are low
along them and some walks detour), no footpaths, park paths or pedestrian bridges, no
underground walkways (Chi-Ka-Ho, Pole Town, Aurora Town), no one-way, crossing or
sidewalk attributes, and no slopes or winter conditions (snow makes real walks slower:
lower ``speed_m_per_min`` to model them). :func:`sapporo_underground_walkways` adds the three
main underground walkways by hand so the city centre is not cut off in winter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import scipy.sparse
import scipy.sparse.csgraph
import shapely
from scipy.spatial import cKDTree

__all__ = [
    "DEFAULT_CRS",
    "STATION_ACCESS_RADIUS_M",
    "AreaWalkability",
    "access_points",
    "accessibility",
    "area_walkability",
    "drop_islands",
    "walk_destinations",
    "frank_index",
    "intersection_nodes",
    "nearest_nodes",
    "sapporo_underground_walkways",
    "walk_graph",
    "walk_score",
]

#: JGD2011 / Japan Plane Rectangular CS XII (Hokkaido west, includes Sapporo): metres.
DEFAULT_CRS = "EPSG:6680"

#: Metres around a station's footprint (its MLIT N02 platform line, or its point) within
#: which every network node counts as one of its entrances. Subway stations have exits on
#: the streets along and beyond their platforms; JR stations open on both sides of the
#: tracks and onto station squares whose streets (often national or prefectural roads)
#: the city roads lack; tram stops are in the street.
STATION_ACCESS_RADIUS_M: dict[str, float] = {"subway": 100.0, "jr": 150.0, "tram": 25.0}


# --------------------------------------------------------------------------- graph


def walk_graph(
    roads: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    speed_m_per_min: float = 80.0,
    snap_tolerance_m: float = 1.0,
    crs: str = DEFAULT_CRS,
    extra_links: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    link_search_m: float = 200.0,
    bridge_gaps_m: float = 50.0,
    node_crossings: bool = False,
) -> nx.Graph:
    """Build an undirected walking graph from road centre lines.

    The lines need not be noded at intersections (the Sapporo roads are not: most segment
    ends touch another road at one of its interior vertices). Vertices closer than
    ``snap_tolerance_m`` are merged; a node is made wherever a line ends or two lines share a
    vertex, and lines are split there. Lines that cross without a shared vertex (bridges,
    underpasses) are not connected unless ``node_crossings=True``.

    Parameters
    ----------
    roads : geopandas.GeoDataFrame or GeoSeries
        (Multi)LineString geometries with a CRS. Other columns are ignored.
    speed_m_per_min : float, default 80
        Walking speed; 80 m/min (4.8 km/h) is the Japanese real-estate convention.
    snap_tolerance_m : float, default 1.0
        Vertices closer than this are one node.
    crs : str, default "EPSG:6680"
        A metric CRS to measure lengths in; the graph's node ``x``/``y`` are in it.
    extra_links : GeoDataFrame or GeoSeries, optional
        Walkable lines missing from ``roads`` (underground walkways, footpaths), for example
        :func:`sapporo_underground_walkways`. Each line becomes one edge, and each end is
        joined by a straight connector to the nearest road node within ``link_search_m``.
    link_search_m : float, default 200
        Search radius for the ends of ``extra_links``.
    bridge_gaps_m : float, default 50
        Join every piece of network that is cut off from the largest one by a straight edge
        to its nearest node there, if that is at most this far (repeated until nothing
        changes). City roads that end at a missing national or prefectural road are cut off
        from each other by its width; this stands in for those arterials and their
        crossings. ``0`` keeps the pieces apart.
    node_crossings : bool, default False
        Also make a junction wherever two lines cross without a shared vertex. The roads
        have no levels: about 10% of the crossings of Sapporo's city roads (1,674 of
        16,678) have no shared vertex; some are bridges or underpasses, others probably
        at-grade junctions digitised without a vertex. ``True`` joins them all (it takes
        about 1.5 s more for the whole city).

    Returns
    -------
    networkx.Graph
        Nodes ``0..n-1`` with ``x``, ``y`` (metres, in ``crs``); edges with ``length_m``,
        ``minutes`` and ``kind`` (``"road"``, ``"link"`` for ``extra_links`` and their
        connectors, ``"gap"`` for bridged gaps). ``graph.graph`` holds ``crs`` and
        ``speed_m_per_min``.

    Raises
    ------
    ValueError
        If the roads have no CRS, no line geometries, or a non-positive speed.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import LineString
    >>> roads = gpd.GeoSeries([LineString([(0, 0), (100, 0), (200, 0)]),
    ...                        LineString([(100, 0), (100, 100)])], crs="EPSG:6680")
    >>> graph = walk_graph(roads)
    >>> sorted(d for _, d in graph.degree())
    [1, 1, 1, 3]
    """
    if speed_m_per_min <= 0:
        raise ValueError(f"speed_m_per_min must be positive, got {speed_m_per_min}")
    lines = _metric_lines(roads, crs, "roads")
    if node_crossings:
        lines = np.asarray(shapely.get_parts(shapely.node(shapely.MultiLineString(list(lines)))))
    u, v, length, node_xy = _split_at_shared_vertices(lines, snap_tolerance_m)
    kind = np.full(len(u), "road", dtype=object)
    if extra_links is not None:
        n_road = len(u)
        u, v, length, node_xy = _add_extra_links(
            u, v, length, node_xy, _metric_lines(extra_links, crs, "extra_links"), link_search_m
        )
        kind = np.r_[kind, np.full(len(u) - n_road, "link", dtype=object)]
    if bridge_gaps_m > 0:
        gap_u, gap_v, gap_length = _gap_edges(u, v, node_xy, bridge_gaps_m)
        u, v, length = np.r_[u, gap_u], np.r_[v, gap_v], np.r_[length, gap_length]
        kind = np.r_[kind, np.full(len(gap_u), "gap", dtype=object)]
    graph = nx.Graph(crs=crs, speed_m_per_min=float(speed_m_per_min))
    graph.add_nodes_from((i, {"x": float(x), "y": float(y)}) for i, (x, y) in enumerate(node_xy))
    _add_edges(graph, u, v, length, kind)
    return graph


def _add_edges(
    graph: nx.Graph, u: np.ndarray, v: np.ndarray, length: np.ndarray, kind: np.ndarray
) -> None:
    speed = graph.graph["speed_m_per_min"]
    # Keep the shortest of parallel edges: add longest first so shorter ones overwrite.
    order = np.argsort(-np.asarray(length), kind="stable")
    graph.add_edges_from(
        (
            int(u[i]),
            int(v[i]),
            {"length_m": float(length[i]), "minutes": float(length[i] / speed), "kind": kind[i]},
        )
        for i in order
    )


def _gap_edges(
    u: np.ndarray, v: np.ndarray, node_xy: np.ndarray, max_gap_m: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Straight edges joining each piece cut off from the largest to its nearest node there.

    Repeated until nothing changes (a piece joined in one round may bring others in reach).
    """
    n = len(node_xy)
    all_u, all_v = np.asarray(u, dtype=np.int64), np.asarray(v, dtype=np.int64)
    new_u: list[np.ndarray] = []
    new_v: list[np.ndarray] = []
    new_length: list[np.ndarray] = []
    while True:
        link = scipy.sparse.coo_matrix((np.ones(len(all_u)), (all_u, all_v)), shape=(n, n))
        count, label = scipy.sparse.csgraph.connected_components(link, directed=False)
        if count < 2:
            break
        main_label = np.argmax(np.bincount(label))
        main = np.flatnonzero(label == main_label)
        others = np.flatnonzero(label != main_label)
        distance, nearest = cKDTree(node_xy[main]).query(
            node_xy[others], distance_upper_bound=max_gap_m
        )
        # the closest member of each piece (first by distance, then node order)
        order = np.lexsort((others, distance, label[others]))
        first = order[np.r_[True, np.diff(label[others][order]) != 0]]
        first = first[np.isfinite(distance[first])]
        if len(first) == 0:
            break
        gu, gv = others[first], main[nearest[first]]
        gl = np.maximum(distance[first], 0.01)
        new_u.append(gu)
        new_v.append(gv)
        new_length.append(gl)
        all_u, all_v = np.r_[all_u, gu], np.r_[all_v, gv]
    if not new_u:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0)
    return np.concatenate(new_u), np.concatenate(new_v), np.concatenate(new_length)


def _metric_lines(frame: gpd.GeoDataFrame | gpd.GeoSeries, crs: str, name: str) -> np.ndarray:
    geometry = frame.geometry if isinstance(frame, gpd.GeoDataFrame) else frame
    if geometry.crs is None:
        raise ValueError(f"{name} has no CRS; set it first, e.g. {name}.set_crs('EPSG:4326')")
    geometry = geometry.to_crs(crs)
    parts = shapely.get_parts(geometry.values[~geometry.is_empty & geometry.notna()])
    lines = parts[shapely.get_type_id(parts) == 1]
    if len(lines) == 0:
        raise ValueError(f"{name} holds no LineString geometries")
    return np.asarray(lines)


def _split_at_shared_vertices(
    lines: np.ndarray, snap_tolerance_m: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    coords, line_of = shapely.get_coordinates(lines, return_index=True)
    n_vertices = len(coords)
    counts = np.bincount(line_of, minlength=len(lines))
    first = np.r_[0, np.cumsum(counts)[:-1]]
    last = first + counts - 1
    is_end = np.zeros(n_vertices, dtype=bool)
    is_end[first] = True
    is_end[last] = True

    # Merge vertices within the tolerance (chains merge too).
    pairs = cKDTree(coords).query_pairs(snap_tolerance_m, output_type="ndarray")
    link = scipy.sparse.coo_matrix(
        (np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n_vertices, n_vertices)
    )
    _, cluster = scipy.sparse.csgraph.connected_components(link, directed=False)

    # A cluster is a node if a line ends there or if it occurs more than once (two lines,
    # or one line passing twice).
    occurrences = np.bincount(cluster)
    cluster_has_end = np.bincount(cluster, weights=is_end).astype(bool)
    is_node_cluster = cluster_has_end | (occurrences > 1)
    is_node = is_node_cluster[cluster]

    step = np.r_[0.0, np.hypot(*np.diff(coords, axis=0).T)]
    step[first] = 0.0
    along = np.cumsum(step)

    node_vertices = np.flatnonzero(is_node)
    same_line = line_of[node_vertices[1:]] == line_of[node_vertices[:-1]]
    a, b = node_vertices[:-1][same_line], node_vertices[1:][same_line]
    length = along[b] - along[a]
    u, v = cluster[a], cluster[b]
    keep = (u != v) & (length > 0)
    u, v, length = u[keep], v[keep], length[keep]

    # Renumber node clusters 0..n-1 and place each at the mean of its vertices.
    used = np.unique(np.r_[u, v])
    new_id = np.full(cluster.max() + 1, -1)
    new_id[used] = np.arange(len(used))
    in_used = new_id[cluster] >= 0
    sums = np.zeros((len(used), 2))
    np.add.at(sums, new_id[cluster[in_used]], coords[in_used])
    node_xy = sums / np.bincount(new_id[cluster[in_used]], minlength=len(used))[:, None]
    return new_id[u], new_id[v], length, node_xy


def _add_extra_links(
    u: np.ndarray,
    v: np.ndarray,
    length: np.ndarray,
    node_xy: np.ndarray,
    links: np.ndarray,
    link_search_m: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    tree = cKDTree(node_xy)
    new_u, new_v, new_length, new_xy = [], [], [], []
    next_id = len(node_xy)
    for line in links:
        xy = shapely.get_coordinates(line)
        ends = []
        for point in (xy[0], xy[-1]):
            ends.append(next_id)
            new_xy.append(point)
            distance, nearest = tree.query(point)
            if distance <= link_search_m:
                new_u.append(next_id)
                new_v.append(int(nearest))
                new_length.append(max(float(distance), 0.01))
            next_id += 1
        new_u.append(ends[0])
        new_v.append(ends[1])
        new_length.append(float(line.length))
    return (
        np.r_[u, new_u].astype(np.int64),
        np.r_[v, new_v].astype(np.int64),
        np.r_[length, new_length],
        np.vstack([node_xy, np.asarray(new_xy).reshape(-1, 2)]),
    )


def sapporo_underground_walkways() -> gpd.GeoDataFrame:
    """Return hand-made centre lines of Sapporo's three main underground walkways.

    The roads product has none of them. Each line joins the subway-station coordinates of
    MLIT N02 (2020) at its two ends, which is where the walkways run:

    * Chi-Ka-Ho (札幌駅前通地下歩行空間, opened March 2011): Sapporo (N06) to Odori (N07)
      under 駅前通, about 0.65 km;
    * Pole Town (ポールタウン): Odori (N07) to Susukino (N08), about 0.54 km;
    * Aurora Town (オーロラタウン): Odori (T09) to Bus Center-mae (T10) under Odori Park,
      about 0.8 km.

    Straight lines are a simplification (the real walkways follow the streets above them
    closely, so lengths are within a few per cent).

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``name``, ``name_ja`` and LineString ``geometry`` in EPSG:4326.
    """
    stations = {  # lon, lat from sapporo_rail_stations_n02_2020_points.csv
        "N06": (141.350665, 43.06586),
        "N07": (141.352143, 43.060006),
        "N08": (141.353365, 43.0553),
        "T09": (141.352315, 43.060092),
        "T10": (141.361925, 43.061525),
    }
    walkways = [
        ("Chi-Ka-Ho", "札幌駅前通地下歩行空間（チカホ）", "N06", "N07"),
        ("Pole Town", "ポールタウン", "N07", "N08"),
        ("Aurora Town", "オーロラタウン", "T09", "T10"),
    ]
    return gpd.GeoDataFrame(
        {
            "name": [w[0] for w in walkways],
            "name_ja": [w[1] for w in walkways],
        },
        geometry=[shapely.LineString([stations[w[2]], stations[w[3]]]) for w in walkways],
        crs="EPSG:4326",
    )


# --------------------------------------------------------------------------- snapping


def nearest_nodes(
    graph: nx.Graph,
    points: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    max_distance_m: float | None = None,
) -> pd.DataFrame:
    """Snap points to the nearest graph node.

    Polygons and lines are represented by their centroid (computed in the graph's metric
    CRS).

    Parameters
    ----------
    graph : networkx.Graph
        A graph from :func:`walk_graph` (nodes with ``x``, ``y``; ``graph.graph["crs"]``).
    points : GeoDataFrame or GeoSeries
        Locations with a CRS.
    max_distance_m : float, optional
        Points farther than this from every node get node ``-1`` (unreachable).

    Returns
    -------
    pandas.DataFrame
        Indexed like ``points``: ``node`` (int) and ``distance_m`` (straight line to it).
    """
    nodes, xy = _node_arrays(graph)
    locations = _metric_points(points, graph)
    distance, position = cKDTree(xy).query(locations)
    node = nodes[position].astype(np.int64)
    if max_distance_m is not None:
        node = np.where(distance <= max_distance_m, node, -1)
    index = points.index
    return pd.DataFrame({"node": node, "distance_m": distance}, index=index)


def _node_arrays(graph: nx.Graph) -> tuple[np.ndarray, np.ndarray]:
    if "crs" not in graph.graph:
        raise ValueError("graph has no 'crs' attribute; build it with walk_graph()")
    nodes = np.fromiter(graph.nodes, dtype=np.int64, count=graph.number_of_nodes())
    xy = np.array([(d["x"], d["y"]) for _, d in graph.nodes(data=True)], dtype=float)
    return nodes, xy


def _metric_points(points: gpd.GeoDataFrame | gpd.GeoSeries, graph: nx.Graph) -> np.ndarray:
    geometry = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
    if geometry.crs is None:
        raise ValueError("points have no CRS; set it first, e.g. points.set_crs('EPSG:4326')")
    geometry = geometry.to_crs(graph.graph["crs"])
    if not (geometry.geom_type == "Point").all():
        geometry = geometry.centroid
    return shapely.get_coordinates(geometry.values)


# --------------------------------------------------------------------------- accessibility


def access_points(
    graph: nx.Graph,
    amenities: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    category_column: str = "category",
    radius_m: float | Mapping[str, float] = 0.0,
    max_snap_m: float = 500.0,
) -> pd.DataFrame:
    """Where each amenity joins the walking network: every node within reach of its footprint.

    An amenity is reached at its nearest node and, when its category has a positive
    ``radius_m``, at every node within that distance of its geometry: a station's
    footprint (the platform line of MLIT N02) buffered by the radius stands in for its
    entrances on every side of the tracks. The walk from a node to the amenity is the straight
    line to the nearest point of its geometry.

    Parameters
    ----------
    graph : networkx.Graph
        From :func:`walk_graph` (nodes with ``x``, ``y``; ``graph.graph["crs"]``).
    amenities : GeoDataFrame or GeoSeries
        Points, lines or polygons with a CRS.
    category_column : str, default "category"
        Column naming the category; only read when ``radius_m`` is a mapping.
    radius_m : float or mapping of str to float, default 0
        Access radius around the geometry, for all amenities or per category (missing
        categories: 0, the nearest node only).
    max_snap_m : float, default 500
        An amenity whose nearest node is farther than this has no access point.

    Returns
    -------
    pandas.DataFrame
        One row per (amenity, node): ``amenity`` (row position in ``amenities``), ``node``
        and ``distance_m`` (straight line from the node to the geometry), sorted by amenity.

    Examples
    --------
    >>> points = access_points(graph, stations, radius_m={"jr": 150.0})  # doctest: +SKIP
    """
    nodes, xy = _node_arrays(graph)
    geometry = amenities.geometry if isinstance(amenities, gpd.GeoDataFrame) else amenities
    if geometry.crs is None:
        raise ValueError("amenities have no CRS; set it first, e.g. .set_crs('EPSG:4326')")
    shapes = np.asarray(geometry.to_crs(graph.graph["crs"]).values)
    if isinstance(radius_m, Mapping):
        if not isinstance(amenities, gpd.GeoDataFrame) or category_column not in amenities:
            raise ValueError(
                f"radius_m per category needs an amenities column {category_column!r}"
            )
        category = amenities[category_column].to_numpy()
        radius = np.array([float(radius_m.get(c, 0.0)) for c in category])
    else:
        radius = np.full(len(shapes), float(radius_m))
    if (radius < 0).any():
        raise ValueError("radius_m must not be negative")
    node_points = shapely.points(xy)
    tree = shapely.STRtree(node_points)
    valid = ~(shapely.is_missing(shapes) | shapely.is_empty(shapes))
    (amenity, position), distance = tree.query_nearest(
        shapes[valid], max_distance=max_snap_m, return_distance=True, all_matches=False
    )
    amenity = np.flatnonzero(valid)[amenity]
    parts = [pd.DataFrame({"amenity": amenity, "position": position, "distance_m": distance})]
    wide = np.flatnonzero(valid & (radius > 0))
    wide = wide[np.isin(wide, amenity)]  # amenities beyond max_snap_m stay unreachable
    if len(wide):
        hits = tree.query(shapes[wide], predicate="dwithin", distance=radius[wide])
        near, position = wide[hits[0]], hits[1]
        parts.append(
            pd.DataFrame(
                {
                    "amenity": near,
                    "position": position,
                    "distance_m": shapely.distance(shapes[near], node_points[position]),
                }
            )
        )
    out = pd.concat(parts, ignore_index=True)
    out = out.sort_values(["amenity", "distance_m"]).drop_duplicates(["amenity", "position"])
    out["node"] = nodes[out["position"].to_numpy()]
    return out[["amenity", "node", "distance_m"]].reset_index(drop=True)


def accessibility(
    graph: nx.Graph,
    origins: gpd.GeoDataFrame | gpd.GeoSeries,
    amenities: gpd.GeoDataFrame,
    *,
    category_column: str = "category",
    minutes: float | Sequence[float] = 15,
    speed_m_per_min: float | None = None,
    max_snap_m: float = 500.0,
    access_radius_m: float | Mapping[str, float] = 0.0,
) -> pd.DataFrame:
    """Network walking time to the nearest amenity of each category, and counts within reach.

    Walks are: straight line from the origin to its nearest node, along the network, then
    straight line from one of the amenity's access points (:func:`access_points`: its nearest
    node, or every node within ``access_radius_m`` of its footprint) to the amenity. Times
    come from one multi-source Dijkstra for all categories (a virtual source per category,
    joined to a virtual node per amenity, joined to its access points) and, for the counts,
    distance-limited Dijkstras from the amenities' virtual nodes in chunks
    (``scipy.sparse.csgraph.dijkstra`` with ``indices=`` and ``limit=``): never one Python
    search per origin.

    Parameters
    ----------
    graph : networkx.Graph
        From :func:`walk_graph`.
    origins : GeoDataFrame or GeoSeries
        Where people start (small-area centroids; polygons are reduced to centroids).
    amenities : GeoDataFrame
        Points (or footprints: lines, polygons) with a category column (``"subway"``, ...).
    category_column : str, default "category"
        Column of ``amenities`` naming the category.
    minutes : float or sequence of float, default 15
        Walking time(s) for the reachable counts.
    speed_m_per_min : float, optional
        Walking speed; defaults to the graph's (80 m/min from :func:`walk_graph`).
    max_snap_m : float, default 500
        Origins or amenities farther than this from the network are treated as unreachable.
    access_radius_m : float or mapping of str to float, default 0
        Access radius around each amenity's geometry, for all or per category (see
        :func:`access_points`); 0 reaches an amenity at its nearest node only.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``origins``; per category ``c``: ``minutes_to_{c}`` (float, ``inf`` when
        unreachable) and ``{c}_within_{m}_min`` (int) for each ``m`` in ``minutes``.

    Examples
    --------
    >>> access = accessibility(graph, small_areas, amenities, minutes=[10, 15])
    ... # doctest: +SKIP
    >>> access["minutes_to_subway"].describe()  # doctest: +SKIP
    """
    if category_column not in amenities.columns:
        raise ValueError(
            f"amenities has no column {category_column!r} (columns: {list(amenities.columns)}); "
            "pass category_column="
        )
    speed = float(speed_m_per_min or graph.graph.get("speed_m_per_min", 80.0))
    thresholds = [float(m) for m in np.atleast_1d(minutes)]
    matrix, position_of = _sparse_lengths(graph)
    n_nodes = matrix.shape[0]

    origin_snap = nearest_nodes(graph, origins, max_distance_m=max_snap_m)
    origin_pos = _positions(origin_snap["node"].to_numpy(), position_of)
    origin_offset = origin_snap["distance_m"].to_numpy()
    ok = origin_pos >= 0
    points = access_points(
        graph,
        amenities,
        category_column=category_column,
        radius_m=access_radius_m,
        max_snap_m=max_snap_m,
    )

    categories = [c for c in pd.unique(amenities[category_column]) if pd.notna(c)]
    code = {c: k for k, c in enumerate(categories)}
    category = amenities[category_column].to_numpy()
    n_categories, n_amenities = len(categories), len(amenities)
    # Virtual nodes after the road nodes: one per category, then one per amenity. Edges run
    # category -> each of its amenities -> the amenity's access points (weight: the straight
    # walk to the amenity); virtual nodes have no incoming road edges, so no walk passes
    # through one. Tiny weights stand in for zeros, which a sparse matrix would drop.
    tiny = 1e-6
    first_amenity = n_nodes + n_categories
    members = np.array([pd.notna(c) for c in category], dtype=bool)
    member_rows = np.flatnonzero(members)
    rows = [
        np.array([n_nodes + code[category[a]] for a in member_rows], dtype=np.int64),
        first_amenity + points["amenity"].to_numpy(),
    ]
    cols = [
        first_amenity + member_rows,
        _positions(points["node"].to_numpy(), position_of),
    ]
    weights = [np.full(len(member_rows), tiny), points["distance_m"].to_numpy() + tiny]
    extended = _with_virtual_sources(matrix, n_categories + n_amenities, rows, cols, weights)
    out = {}

    virtual = np.arange(n_nodes, n_nodes + n_categories)
    to_nearest = scipy.sparse.csgraph.dijkstra(extended, directed=True, indices=virtual)
    for k, c in enumerate(categories):
        metres = np.full(len(origin_pos), np.inf)
        metres[ok] = np.maximum(to_nearest[k, origin_pos[ok]] - 2 * tiny, 0.0) + origin_offset[ok]
        out[f"minutes_to_{c}"] = metres / speed

    # Counts within reach: distance-limited searches from every amenity in chunks.
    limit_m = max(thresholds) * speed
    reachable = np.zeros(n_amenities, dtype=bool)
    reachable[points["amenity"].to_numpy()] = True
    for c in categories:
        chosen = np.flatnonzero((category == c) & reachable)
        reached = np.zeros((len(thresholds), len(origin_pos)), dtype=np.int64)
        for chunk in np.array_split(chosen, max(1, int(np.ceil(len(chosen) / 128)))):
            if len(chunk) == 0:
                continue
            metres = scipy.sparse.csgraph.dijkstra(
                extended, directed=True, indices=first_amenity + chunk, limit=limit_m + 1.0
            )[:, origin_pos[ok]]
            metres = np.maximum(metres - tiny, 0.0) + origin_offset[ok][None, :]
            for t, threshold in enumerate(thresholds):
                reached[t, ok] += (metres <= threshold * speed).sum(axis=0)
        for t, threshold in enumerate(thresholds):
            out[f"{c}_within_{_format_minutes(threshold)}_min"] = reached[t]
    return pd.DataFrame(out, index=origins.index)


def _format_minutes(minutes: float) -> str:
    return str(int(minutes)) if float(minutes).is_integer() else str(minutes)


def _sparse_lengths(graph: nx.Graph) -> tuple[scipy.sparse.csr_matrix, dict]:
    nodes = list(graph.nodes)
    position_of = {node: i for i, node in enumerate(nodes)}
    edges = np.array(
        [(position_of[a], position_of[b], d) for a, b, d in graph.edges(data="length_m")],
        dtype=float,
    ).reshape(-1, 3)
    a, b, d = edges[:, 0].astype(np.int64), edges[:, 1].astype(np.int64), edges[:, 2]
    d = np.maximum(d, 1e-9)  # explicit zeros would read as "no edge"
    matrix = scipy.sparse.coo_matrix(
        (np.r_[d, d], (np.r_[a, b], np.r_[b, a])), shape=(len(nodes), len(nodes))
    ).tocsr()
    return matrix, position_of


def _positions(nodes: np.ndarray, position_of: dict) -> np.ndarray:
    return np.array([position_of.get(int(n), -1) if n >= 0 else -1 for n in nodes])


def _with_virtual_sources(
    matrix: scipy.sparse.csr_matrix, n_virtual: int, rows: list, cols: list, weights: list
) -> scipy.sparse.csr_matrix:
    n = matrix.shape[0]
    coo = matrix.tocoo()
    return scipy.sparse.coo_matrix(
        (
            np.r_[coo.data, *weights],
            (np.r_[coo.row, *rows].astype(np.int64), np.r_[coo.col, *cols].astype(np.int64)),
        ),
        shape=(n + n_virtual, n + n_virtual),
    ).tocsr()


# --------------------------------------------------------------------------- per area


def walk_destinations(
    stations: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    *,
    mode_column: str = "mode",
    name_column: str = "name",
    footprint_column: str = "footprint",
    kind_column: str = "facilityKind",
) -> gpd.GeoDataFrame:
    """Stations and facilities as one frame of destinations with a ``category`` column.

    The defaults read the ``sapporo-rail`` (``PublicTransportStop``) and
    ``sapporo-facilities`` (``PointOfInterest``) products. Categories are the station
    modes (``subway``, ``tram``, ``jr``) and the facility kinds. A station served by several
    lines (a transfer station) is one destination, placed on its footprint: the union of
    its lines' footprints when the stations have ``footprint_column``, else its points.

    Returns
    -------
    geopandas.GeoDataFrame
        ``category``, ``name`` and ``geometry`` (EPSG:4326): stations first, then
        facilities.
    """
    for frame, columns, what in (
        (stations, (mode_column, name_column), "stations"),
        (facilities, (kind_column,), "facilities"),
    ):
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise ValueError(
                f"{what} have no column(s) {missing} (columns: {list(frame.columns)}); "
                "pass the column names as keywords"
            )
    stations = stations.to_crs(4326)
    shapes = stations.geometry
    if footprint_column in stations.columns:
        footprint = gpd.GeoSeries(stations[footprint_column], crs=4326)
        shapes = footprint.where(footprint.notna() & ~footprint.is_empty, shapes)
    grouped = gpd.GeoDataFrame(
        {"category": stations[mode_column].astype(str), "name": stations[name_column]},
        geometry=shapes.to_numpy(),
        crs=4326,
    ).dissolve(by=["category", "name"], as_index=False, sort=False)
    facilities = facilities.to_crs(4326)
    names = facilities.get("name", pd.Series(None, index=facilities.index, dtype=object))
    points = gpd.GeoDataFrame(
        {"category": facilities[kind_column].astype(str).to_numpy(), "name": names.to_numpy()},
        geometry=facilities.geometry.to_numpy(),
        crs=4326,
    )
    return gpd.GeoDataFrame(
        pd.concat([grouped[["category", "name", "geometry"]], points], ignore_index=True),
        geometry="geometry",
        crs=4326,
    )


@dataclass(frozen=True)
class AreaWalkability:
    """The walkability of every area, as :func:`area_walkability` computes it.

    Attributes
    ----------
    graph : networkx.Graph
        The main walking network (islands dropped).
    access : pandas.DataFrame
        Indexed like the areas: ``minutes_to_{c}`` and ``{c}_within_{m}_min``.
    score : pandas.Series
        Walk-Score-style score (0-100); ``NaN`` where the area is unreachable.
    reachable : pandas.Series
        ``True`` where the area's centroid is within ``max_snap_m`` of the main network (it
        then reaches at least one destination).
    islands : int
        Pieces of network dropped because nothing joins them to the main one.
    island_nodes : int
        Nodes in those pieces.
    """

    graph: nx.Graph
    access: pd.DataFrame
    score: pd.Series
    reachable: pd.Series
    islands: int
    island_nodes: int

    @property
    def categories(self) -> list[str]:
        """Amenity categories, in the order of the ``minutes_to_`` columns."""
        return [c.removeprefix("minutes_to_") for c in self.access if c.startswith("minutes_to_")]


def drop_islands(graph: nx.Graph) -> tuple[int, int]:
    """Remove, in place, every piece of ``graph`` but the largest connected one.

    City roads that touch the rest only through a missing national or prefectural road are
    islands: an origin snapped onto one reaches nothing. Dropping them makes every origin
    snap onto the network that actually connects.

    Returns
    -------
    tuple of int
        ``(islands, island_nodes)``: how many pieces were removed and their nodes.
    """
    pieces = sorted(nx.connected_components(graph), key=len, reverse=True)
    dropped = [node for piece in pieces[1:] for node in piece]
    graph.remove_nodes_from(dropped)
    return max(len(pieces) - 1, 0), len(dropped)


def area_walkability(
    roads: gpd.GeoDataFrame | gpd.GeoSeries,
    areas: gpd.GeoDataFrame | gpd.GeoSeries,
    amenities: gpd.GeoDataFrame,
    *,
    category_column: str = "category",
    minutes: float | Sequence[float] = 15,
    speed_m_per_min: float = 80.0,
    underground_walkways: bool = True,
    node_crossings: bool = True,
    access_radius_m: float | Mapping[str, float] | None = None,
    weights: Mapping[str, float] | None = None,
    full_credit_minutes: float = 5.0,
    zero_credit_minutes: float = 30.0,
    max_snap_m: float = 500.0,
) -> AreaWalkability:
    """Walking network, station access points and walk score of every area: one definition.

    The notebook, the dashboard and the benchmark all call this, so an area has the same
    minutes and the same score everywhere. Steps:

    1. :func:`walk_graph` from the roads, with Sapporo's underground walkways and junctions
       where lines cross (``node_crossings``: in the city centre most at-grade junctions of
       the city roads have no shared vertex);
    2. :func:`drop_islands`: pieces joined to the rest only through a missing national or
       prefectural road are dropped, so no area is snapped onto an island where nothing is
       reachable;
    3. :func:`accessibility` from every area's centroid, reaching each amenity at its
       :func:`access_points` (stations: every node within ``access_radius_m`` of their
       footprint, so a station is reached from both sides of its tracks);
    4. :func:`walk_score`; areas farther than ``max_snap_m`` from the main network get
       ``NaN`` (unknown), not 0.

    Parameters
    ----------
    roads : GeoDataFrame or GeoSeries
        Road centre lines with a CRS.
    areas : GeoDataFrame or GeoSeries
        Area polygons (or points) with a CRS; walks start at their centroids.
    amenities : GeoDataFrame
        Destinations with ``category_column``; station rows may carry their footprint
        (lines or polygons) as geometry instead of a point.
    category_column : str, default "category"
    minutes : float or sequence of float, default 15
        Walking times for the ``{c}_within_{m}_min`` counts.
    speed_m_per_min : float, default 80
    underground_walkways : bool, default True
        Add :func:`sapporo_underground_walkways`.
    node_crossings : bool, default True
        See :func:`walk_graph`.
    access_radius_m : float or mapping, optional
        Per category (or for all); defaults to :data:`STATION_ACCESS_RADIUS_M`.
    weights, full_credit_minutes, zero_credit_minutes
        See :func:`walk_score`.
    max_snap_m : float, default 500
        Areas or amenities farther than this from the network are unreachable.

    Returns
    -------
    AreaWalkability

    Examples
    --------
    >>> result = area_walkability(roads, small_areas, amenities)  # doctest: +SKIP
    >>> result.score.median()  # doctest: +SKIP
    """
    extra = sapporo_underground_walkways() if underground_walkways else None
    graph = walk_graph(
        roads, speed_m_per_min=speed_m_per_min, extra_links=extra, node_crossings=node_crossings
    )
    islands, island_nodes = drop_islands(graph)
    radius = STATION_ACCESS_RADIUS_M if access_radius_m is None else access_radius_m
    access = accessibility(
        graph,
        areas,
        amenities,
        category_column=category_column,
        minutes=minutes,
        max_snap_m=max_snap_m,
        access_radius_m=radius,
    )
    minutes_to = access[[c for c in access.columns if c.startswith("minutes_to_")]]
    snapped = pd.Series(np.isfinite(minutes_to.to_numpy()).any(axis=1), index=access.index)
    score = walk_score(
        access,
        weights=weights,
        full_credit_minutes=full_credit_minutes,
        zero_credit_minutes=zero_credit_minutes,
    ).where(snapped)
    return AreaWalkability(
        graph, access, score, snapped.rename("reachable"), islands, island_nodes
    )


# --------------------------------------------------------------------------- scores


def walk_score(
    access: pd.DataFrame,
    *,
    weights: Mapping[str, float] | None = None,
    full_credit_minutes: float = 5.0,
    zero_credit_minutes: float = 30.0,
) -> pd.Series:
    """Walk-Score-style score (0-100) from minutes to the nearest amenity of each category.

    Each category earns full credit within ``full_credit_minutes`` (400 m at 80 m/min, Walk
    Score's quarter mile), decaying smoothly to zero at ``zero_credit_minutes`` (2.4 km, Walk
    Score's 1.5 miles); the score is the weighted mean credit times 100. Walk Score's own
    curve and amenity weights are proprietary and also count several shops and restaurants;
    this uses the nearest amenity per category only (our data has no shops or restaurants).

    Parameters
    ----------
    access : pandas.DataFrame
        Output of :func:`accessibility` (``minutes_to_{category}`` columns).
    weights : mapping of str to float, optional
        Category weights; defaults to equal weights over every category in ``access``.
    full_credit_minutes, zero_credit_minutes : float
        Where the decay starts and where credit reaches zero.

    Returns
    -------
    pandas.Series
        ``walk_score`` in [0, 100], indexed like ``access``.

    Examples
    --------
    >>> import pandas as pd
    >>> access = pd.DataFrame({"minutes_to_school": [3.0, 17.5, 40.0]})
    >>> walk_score(access).round(1).tolist()
    [100.0, 50.0, 0.0]
    """
    available = {c.removeprefix("minutes_to_") for c in access if c.startswith("minutes_to_")}
    if not available:
        raise ValueError("access has no minutes_to_<category> columns; pass accessibility()")
    weights = dict(weights) if weights is not None else dict.fromkeys(sorted(available), 1.0)
    unknown = sorted(set(weights) - available)
    if unknown:
        raise ValueError(
            f"no minutes_to_ column for categories {unknown}; have {sorted(available)}"
        )
    total = sum(weights.values())
    if total <= 0:
        raise ValueError("weights must sum to a positive number")
    score = np.zeros(len(access))
    for category, weight in weights.items():
        t = access[f"minutes_to_{category}"].to_numpy(dtype=float)
        score += weight * _decay(t, full_credit_minutes, zero_credit_minutes)
    return pd.Series(100.0 * score / total, index=access.index, name="walk_score")


def _decay(minutes: np.ndarray, full: float, zero: float) -> np.ndarray:
    """1 up to ``full``, a cosine ramp down to 0 at ``zero``, 0 beyond (and for inf)."""
    fraction = np.clip((minutes - full) / (zero - full), 0.0, 1.0)
    return np.where(np.isfinite(minutes), 0.5 * (1.0 + np.cos(np.pi * fraction)), 0.0)


def intersection_nodes(graph: nx.Graph, *, min_degree: int = 3) -> gpd.GeoDataFrame:
    """Return the nodes where at least ``min_degree`` edges meet, as points.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``node``, ``degree`` and point ``geometry`` in the graph's CRS.
    """
    rows = [(n, d) for n, d in graph.degree() if d >= min_degree]
    nodes = [n for n, _ in rows]
    xy = np.array([(graph.nodes[n]["x"], graph.nodes[n]["y"]) for n in nodes]).reshape(-1, 2)
    return gpd.GeoDataFrame(
        {"node": nodes, "degree": [d for _, d in rows]},
        geometry=shapely.points(xy),
        crs=graph.graph["crs"],
    )


def frank_index(
    areas: gpd.GeoDataFrame,
    graph: nx.Graph,
    *,
    population_column: str,
    amenities: gpd.GeoDataFrame | None = None,
    category_column: str = "category",
    radius_m: float | None = 800.0,
    weights: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Frank-style walkability index per area from z-scores of its components.

    ``index = 2 z(intersection density) + z(residential density) + z(land-use mix)``: the
    weights of Frank et al. (2010, Br J Sports Med 44:924) without their retail floor-area
    ratio, which no Sapporo data supports.

    Census small areas (町丁目) are small and uneven: one junction in a 1-hectare block is
    100 per km². So by default every component is measured in the *neighbourhood* of the
    area, a circle of ``radius_m`` (800 m, ten minutes' walk) around its centroid, as
    walkability studies do with buffers (ours are straight-line, not network, buffers, and
    circles at the city edge reach outside the data); ``radius_m=None`` uses the polygon.

    * intersection density: graph nodes with three or more edges per km². The network is
      city roads only, so crossings with national / prefectural roads are missing.
    * residential density: residents per km² (gross, not net residential area: there is no
      land-use map). In the circle, each area's residents are placed at its centroid.
    * land-use mix: normalised Shannon entropy of the amenity categories (0 = one kind or
      none, 1 = even mix). The points available (stations, schools, nurseries, hospitals,
      evacuation sites) are facilities, not land uses: there are no shops, offices or
      restaurants, so this is a facility-mix proxy. Without ``amenities`` it is left out.

    Parameters
    ----------
    areas : GeoDataFrame
        Small-area polygons with a CRS and a population column.
    graph : networkx.Graph
        From :func:`walk_graph`.
    population_column : str
        Column of ``areas`` with residents.
    amenities : GeoDataFrame, optional
        Points with ``category_column``.
    category_column : str, default "category"
    radius_m : float or None, default 800
        Neighbourhood radius around each area's centroid; ``None`` for the polygon itself.
    weights : mapping, optional
        Weights of ``"intersection_density"``, ``"residential_density"`` and
        ``"land_use_mix"``; defaults to 2, 1, 1.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``areas``: ``area_km2`` (of the polygon), ``intersections``,
        ``intersection_density_per_km2``, ``residential_density_per_km2``, ``land_use_mix``
        (with amenities), a ``z_`` column for each and ``frank_index``.
    """
    if population_column not in areas.columns:
        raise ValueError(f"areas has no column {population_column!r}")
    if amenities is not None and category_column not in amenities.columns:
        raise ValueError(f"amenities has no column {category_column!r}")
    crs = graph.graph["crs"]
    polygons = areas.geometry.to_crs(crs)
    area_km2 = polygons.area.to_numpy() / 1e6
    population = pd.to_numeric(areas[population_column]).fillna(0).to_numpy(dtype=float)
    junctions = shapely.get_coordinates(intersection_nodes(graph).geometry.values)
    if radius_m is None:
        members = _points_in_polygons(polygons, junctions)
        intersections = np.array([len(m) for m in members])
        denominator_km2 = area_km2
        residents = population
    else:
        centres = shapely.get_coordinates(polygons.centroid.values)
        intersections = np.array(
            [len(m) for m in cKDTree(junctions).query_ball_point(centres, r=radius_m)]
        )
        denominator_km2 = np.full(len(areas), np.pi * radius_m**2 / 1e6)
        near = cKDTree(centres).query_ball_point(centres, r=radius_m)
        residents = np.array([population[m].sum() for m in near])
    out = pd.DataFrame(
        {
            "area_km2": area_km2,
            "intersections": intersections,
            "intersection_density_per_km2": intersections / denominator_km2,
            "residential_density_per_km2": residents / denominator_km2,
        },
        index=areas.index,
    )
    components = ["intersection_density", "residential_density"]
    if amenities is not None:
        out["land_use_mix"] = _entropy_mix(polygons, amenities, category_column, radius_m)
        components.append("land_use_mix")
    weights = dict(
        weights or {"intersection_density": 2.0, "residential_density": 1.0, "land_use_mix": 1.0}
    )
    index = np.zeros(len(out))
    for name in components:
        column = name if name == "land_use_mix" else f"{name}_per_km2"
        values = out[column].to_numpy(dtype=float)
        std = values.std()
        z = (values - values.mean()) / std if std > 0 else np.zeros_like(values)
        out[f"z_{name}"] = z
        index += weights.get(name, 0.0) * z
    out["frank_index"] = index
    return out


def _points_in_polygons(polygons: gpd.GeoSeries, xy: np.ndarray) -> list[np.ndarray]:
    """Indices of the points inside each polygon (a point on a shared edge counts once)."""
    hits = polygons.sindex.query(shapely.points(xy), predicate="intersects")
    _, first = np.unique(hits[0], return_index=True)
    point, polygon = hits[0][first], hits[1][first]
    return [point[polygon == k] for k in range(len(polygons))]


def _entropy_mix(
    polygons: gpd.GeoSeries,
    amenities: gpd.GeoDataFrame,
    category_column: str,
    radius_m: float | None,
) -> np.ndarray:
    points = amenities.geometry.to_crs(polygons.crs)
    if not (points.geom_type == "Point").all():
        points = points.centroid
    codes, categories = pd.factorize(amenities[category_column])
    xy = shapely.get_coordinates(points.values)
    if radius_m is None:
        neighbours = _points_in_polygons(polygons, xy)
    else:
        centres = shapely.get_coordinates(polygons.centroid.values)
        neighbours = cKDTree(xy).query_ball_point(centres, r=radius_m)
    k = len(categories)
    mix = np.zeros(len(polygons))
    if k < 2:
        return mix
    for i, found in enumerate(neighbours):
        if len(found) == 0:
            continue
        share = np.bincount(codes[np.asarray(found, dtype=np.int64)], minlength=k) / len(found)
        share = share[share > 0]
        mix[i] = float(-(share * np.log(share)).sum() / np.log(k))
    return mix
