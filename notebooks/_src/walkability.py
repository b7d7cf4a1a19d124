# %% [markdown]
# # Walkability of Sapporo's 町丁目: 15-minute reach, a Walk-Score-style score and a Frank-style index
#
# Walking is one of Sapporo's smart-city KPIs (with healthy life expectancy and city-centre
# foot traffic). Where can people reach everyday destinations on foot? This notebook builds a
# walking network from the city's road product, and for **every 町丁目 (census small area)**
# computes
#
# 1. the walking time to the nearest subway station, JR station, tram stop, school, nursery,
#    hospital and evacuation site, and how many of each lie within **15 minutes**;
# 2. a **Walk-Score-style** score (0–100): full credit for a destination within 5 minutes,
#    decaying to none at 30 minutes, averaged over the categories;
# 3. a **Frank-style walkability index**: $2z(\text{intersection density}) +
#    z(\text{residential density}) + z(\text{land-use mix})$ (Frank et al. 2010);
#
# then maps and ranks them, and asks how walkability relates to the steps walked in the
# health-point programme.
#
# **Method.** Network distances, not straight lines: the roads become a graph, every small
# area is snapped to its nearest node, every destination is reached at its access points (a
# station at every node near its platforms, on both sides of its tracks), and walking times
# come from multi-source shortest paths in `scipy.sparse.csgraph` — one search for the
# nearest of every category, distance-limited searches from the destinations for the counts —
# never one search per origin, so the whole city takes seconds. All of it is one function,
# `workbench.analysis.walkability.area_walkability`, which the public walkability dashboard
# calls too: an area has the same minutes and the same score in both.

# %% tags=["parameters"]
exchange_url = None  # None: read WORKBENCH_URL / WORKBENCH_API_KEY
roads_product = "sapporo-roads"
small_areas_product = "sapporo-small-areas"
stations_product = "sapporo-rail"
facilities_product = "sapporo-facilities"
wards_product = "sapporo-wards"
health_product = "health-points-aggregate"
speed_m_per_min = 80.0  # walking speed: 80 m/min is the Japanese real-estate convention
minutes = 15  # the reach threshold
amenity_categories = ["subway", "jr", "tram", "elementary_school", "junior_high_school",
                      "nursery", "hospital", "evacuation_site"]  # destinations to measure
category_weights = {}  # Walk-Score-style weights by category; empty: equal weights
full_credit_minutes = 5.0  # Walk-Score-style decay: full credit up to here ...
zero_credit_minutes = 30.0  # ... and none from here
add_underground_walkways = True  # add Chi-Ka-Ho, Pole Town and Aurora Town by hand
station_access_radius_m = None  # metres around a station's platforms whose nodes are its
# entrances, per mode; None: wk.STATION_ACCESS_RADIUS_M, as on the public dashboard
min_population = 50  # small areas with fewer residents are left out of rankings
top_n = 15  # rows in the ranked tables
results_path = None  # where to write summary figures as JSON

# %%
import json
import time

import geopandas as gpd
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from workbench import maps
from workbench.analysis import walkability as wk
import workbench as wb

ex = wb.connect(exchange_url)

# %% [markdown]
# ## 1. Data from the exchange
#
# All open products: the city roads (市道, 2021), the 2020 census small areas with population,
# rail stations (MLIT N02, 2020), and facilities — schools (about 2014), nurseries (2017),
# hospitals (2015) and designated evacuation sites (2025).

# %%
started = time.perf_counter()
roads = ex.entities(roads_product).to_geopandas()
areas = ex.entities(small_areas_product).to_geopandas()
stations = ex.entities(stations_product, type="PublicTransportStop").to_geopandas()  # + footprint
facilities = ex.entities(facilities_product).to_geopandas()
wards = ex.entities(wards_product, type="AdministrativeArea", q="areaCode!='01100'").to_geopandas()
fetch_s = time.perf_counter() - started
print(f"{len(roads):,} road segments, {len(areas):,} small areas, {len(stations)} stations, "
      f"{len(facilities):,} facilities ({fetch_s:.1f} s)")
attributions = {frame.attrs.get("attribution") for frame in (roads, areas, stations, facilities)}
print("Attribution:", " ／ ".join(a for a in attributions if a))

# %% [markdown]
# Destinations get one category each: stations by mode, facilities by kind. A transfer
# station counts once, and a station is placed on its *footprint* (the platforms, from MLIT
# N02), not on one point: JR Sapporo's point lies on the tracks, and its nearest street is
# north of them, while the city centre is south.

# %%
amenities = wk.walk_destinations(stations, facilities)
amenities = amenities[amenities["category"].isin(amenity_categories)]
amenities["category"].value_counts().to_frame("destinations")

# %% [markdown]
# ## 2. The walking network, and what it lacks
#
# Segments are split wherever they share a vertex or cross, and merged where ends lie within a
# metre; each edge carries its length and the time to walk it at `speed_m_per_min`. Network,
# access points, accessibility and the Walk-Score-style score (section 4) come from one call.
#
# **What this network lacks — read before trusting any number below.** It holds the
# *city-managed* roads only (市道), geometry only:
#
# - no national or prefectural roads (国道・道道): where a city road meets one, the crossing is
#   missing, so some walks detour and intersection counts along arterials are too low;
# - no footpaths, park paths, pedestrian bridges or station concourses;
# - no underground walkways (Chi-Ka-Ho, Pole Town, Aurora Town) — with
#   `add_underground_walkways` the three main ones are added by hand as straight links;
# - no crossings, signals, sidewalks, slopes or one-way information, and nothing about snow:
#   in winter people walk slower and avoid some routes (lower `speed_m_per_min` to see the
#   effect);
# - destinations are points where their data put them, and dated (see above).

# %%
started = time.perf_counter()
result = wk.area_walkability(
    roads, areas, amenities, minutes=minutes, speed_m_per_min=speed_m_per_min,
    underground_walkways=add_underground_walkways, access_radius_m=station_access_radius_m,
    weights=category_weights or None, full_credit_minutes=full_credit_minutes,
    zero_credit_minutes=zero_credit_minutes)
access_s = time.perf_counter() - started
graph, access = result.graph, result.access
degree = pd.Series(dict(graph.degree()))
print(f"{graph.number_of_nodes():,} nodes, {graph.number_of_edges():,} edges; "
      f"{(degree >= 3).sum():,} intersections (3 or more ways)")
# Small pieces of road that touch the rest only through a missing national or prefectural
# road are islands in this graph: they are dropped, so that nobody is snapped onto one.
print(f"dropped {result.islands} islands ({result.island_nodes:,} nodes) cut off from the "
      "main network")

# %% [markdown]
# ## 3. Network accessibility from every 町丁目
#
# Origins are the small areas' centroids (a population-weighted centre would be better, but
# there is nothing finer than the small area). An area or destination farther than 500 m from
# the main network is *unreachable* (`inf`): mostly mountain and forest areas with no city
# road, but also a few built-up areas served only by national or prefectural roads.

# %%
categories = sorted(c.removeprefix("minutes_to_") for c in access if c.startswith("minutes_to_"))
reach = pd.DataFrame({
    "median minutes to nearest": [access[f"minutes_to_{c}"].median() for c in categories],
    f"share of residents within {minutes} min": [
        np.average(access[f"minutes_to_{c}"] <= minutes, weights=areas["population"])
        for c in categories],
}, index=categories)
print(f"network and accessibility for {len(areas):,} areas × {len(categories)} categories "
      f"in {access_s:.1f} s")
reach.style.format({"median minutes to nearest": "{:.1f}",
                    f"share of residents within {minutes} min": "{:.0%}"})

# %% [markdown]
# ## 4. A Walk-Score-style score and a Frank-style index
#
# **Walk-Score-style score.** Per category, credit 1 within `full_credit_minutes`, falling
# smoothly to 0 at `zero_credit_minutes`, averaged with equal weights and scaled to 0–100.
# The real Walk Score uses proprietary weights and counts shops and restaurants, which our
# data does not have; this one measures access to *public* destinations.
#
# **Frank-style index.** Intersection density (nodes with three or more ways per km²),
# residential density (census population per km² of the whole area — gross, not net, as
# there is no land-use map) and a land-use mix (entropy of destination categories within
# 800 m — a *facility-mix proxy*: there is no land-use or floor-area data, so Frank's retail
# floor-area ratio is left out).
#
# The two need not agree: the score rewards destinations close by, the index dense street
# grids and many residents. The city centre has everything within a few minutes but fewer
# residents per km² than the inner suburbs, so it ranks higher on the first than the second.

# %%
started = time.perf_counter()
areas["walk_score"] = result.score  # NaN: the area is farther than 500 m from the network
frank = wk.frank_index(areas, graph, population_column="population", amenities=amenities)
areas = areas.join(frank[["intersection_density_per_km2", "residential_density_per_km2",
                          "land_use_mix", "frank_index"]])
areas = areas.join(access)
score_s = time.perf_counter() - started
total_s = access_s + score_s
print(f"scores in {score_s:.1f} s; network, accessibility and scores for the whole city in "
      f"{total_s:.1f} s")
rho_scores = areas["walk_score"].corr(areas["frank_index"], method="spearman")
print(f"Spearman correlation of the two measures over the small areas: {rho_scores:+.2f}")
areas[["walk_score", "frank_index"]].describe().round(2)

# %% [markdown]
# ## 5. Maps
#
# Walk-Score-style score per small area, on the ward boundaries (no map tiles needed), with
# the subway stations on top. Hover over an area for its name and numbers.

# %%
m = maps.base_map(wards=wards, attribution=" ／ ".join(a for a in attributions if a))
maps.choropleth(areas, "walk_score", m=m, legend_name="walk score (0-100)", bins=[0, 20, 40, 50,
                60, 70, 80, 100], tooltip=["name", "population", "walk_score", "frank_index"],
                value_format="{:,.0f}")
maps.add_points(stations[stations["mode"] == "subway"], m=m, name="subway stations",
                color="#0070C0", radius=3, tooltip="name")
m

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 6))
shown = areas.to_crs(wk.DEFAULT_CRS)
first = "subway" if "subway" in categories else categories[0]
shown[f"minutes_to_{first}"] = shown[f"minutes_to_{first}"].replace(np.inf, np.nan)
shown.plot(column=f"minutes_to_{first}", ax=axes[0], cmap="magma_r", vmax=45,
           legend=True, legend_kwds={"shrink": 0.6, "label": "minutes"},
           missing_kwds={"color": "0.85", "label": "unreachable on this network"})
axes[0].set_title(f"Walk to the nearest {first.replace('_', ' ')} (grey: unreachable)")
low, high = shown["frank_index"].quantile([0.05, 0.95])
shown.plot(column="frank_index", ax=axes[1], cmap="viridis", vmin=low, vmax=high,
           legend=True, legend_kwds={"shrink": 0.6, "label": "index (z units)"})
axes[1].set_title("Frank-style walkability index")
for ax in axes:
    wards.to_crs(wk.DEFAULT_CRS).boundary.plot(ax=ax, color="0.3", lw=0.5)
    ax.set_axis_off()
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 6. Ranked tables
#
# Small areas with at least `min_population` residents that the network reaches. Read the
# tables with the map: where are the most and the least walkable areas, and which
# destinations make the difference?

# %%
reachable = result.reachable
print(f"{(~reachable).sum()} small areas ({areas.loc[~reachable, 'population'].sum():,} "
      "residents) are unreachable on this network and left out of the rankings")
ranked = areas[(areas["population"] >= min_population) & reachable].copy()
ward_name = {"01101": "Chuo", "01102": "Kita", "01103": "Higashi", "01104": "Shiroishi",
             "01105": "Toyohira", "01106": "Minami", "01107": "Nishi", "01108": "Atsubetsu",
             "01109": "Teine", "01110": "Kiyota"}
ranked["ward"] = ranked["wardId"].map(ward_name)
columns = ["name", "ward", "population", "walk_score", "frank_index",
           *[f"minutes_to_{c}" for c in ("subway", "jr", "elementary_school", "hospital")
             if c in categories]]
top = ranked.nlargest(top_n, "walk_score")[columns]
bottom = ranked.nsmallest(top_n, "walk_score")[columns]
fmt = {"walk_score": "{:.0f}", "frank_index": "{:+.1f}", "population": "{:,.0f}",
       **{c: "{:.0f}" for c in columns if c.startswith("minutes_to")}}
display(top.style.format(fmt).set_caption(f"Most walkable {top_n} small areas"))
display(bottom.style.format(fmt).set_caption(f"Least walkable {top_n} small areas"))

# %%
station_columns = [f"minutes_to_{c}" for c in ("subway", "jr", "tram") if c in categories]
by_ward = ranked.groupby("ward").apply(
    lambda g: pd.Series({"population": g["population"].sum(),
                         "walk_score": np.average(g["walk_score"], weights=g["population"]),
                         "frank_index": np.average(g["frank_index"], weights=g["population"]),
                         f"share within {minutes} min of a station": np.average(
                             g[station_columns].min(axis=1) <= minutes,
                             weights=g["population"]) if station_columns else np.nan}),
    include_groups=False).sort_values("walk_score", ascending=False)
by_ward.style.format({"population": "{:,.0f}", "walk_score": "{:.1f}", "frank_index": "{:+.2f}",
                      f"share within {minutes} min of a station": "{:.0%}"})

# %% [markdown]
# ## 7. Walkability and health-point steps
#
# Do people in more walkable wards walk more? The health-point aggregates (**synthetic**, and
# suppressed below 10 people) give the mean daily steps of non-participants per ward over the
# last twelve months; we set them against each ward's population-weighted walk score.
#
# **Caveat: this cannot show anything about walkability.** The synthetic steps were generated
# from age and self-selection only — the generator knows nothing about the street network —
# so any association here is by construction an artefact of age structure. With real data it
# would still be an *ecological* comparison of ten wards, open to confounding by age, income
# and car ownership; it would motivate an individual-level study, not replace one.

# %%
try:
    cells = ex.entities(health_product, type="PhysicalActivityStatistics",
                        q="ageBand==All;status==comparison").to_pandas()
    cells = cells[cells["wardId"] != "All"]
    history = ex.history(health_product, type="PhysicalActivityStatistics", attr="dailyStepsMean")
    history = history[history["entity_id"].isin(cells["id"])]
    history = history[history.index >= history.index.max() - pd.DateOffset(months=11)]
    ward_of = dict(zip(cells["id"], cells["wardId"].map(ward_name)))
    steps = pd.to_numeric(history["dailyStepsMean"]).groupby(
        history["entity_id"].map(ward_of)).mean()
    joined = by_ward.join(steps.rename("mean daily steps (synthetic)"), how="inner")
    ax = joined.plot.scatter(x="walk_score", y="mean daily steps (synthetic)", figsize=(6, 4))
    for ward, row in joined.iterrows():
        ax.annotate(ward, (row["walk_score"], row["mean daily steps (synthetic)"]), fontsize=8)
    ax.set_title("Ward walk score and non-participants' steps (synthetic)")
    plt.show()
    rho = joined["walk_score"].corr(joined["mean daily steps (synthetic)"], method="spearman")
    print(f"Spearman correlation over {len(joined)} wards: {rho:+.2f} (see the caveat above)")
except Exception as exc:  # the health aggregate is a separate product: say why it is missing
    rho = None
    print(f"health-point aggregates not available with this credential: {exc}")

# %%
block = areas.index[areas["name"] == "北五条西三丁目"]
station_block = block[0] if len(block) else None
if station_block is not None and "jr" in categories:
    print(f"JR Sapporo Station block (北五条西三丁目): walk score "
          f"{areas.loc[station_block, 'walk_score']:.0f}, percentile "
          f"{areas['walk_score'].rank(pct=True)[station_block]:.0%}, "
          f"{areas.loc[station_block, 'minutes_to_jr']:.1f} min to a JR station")
if results_path:
    summary = {
        "areas": int(len(areas)), "graph_nodes": graph.number_of_nodes(),
        "seconds": {"fetch": fetch_s, "network_and_accessibility": access_s,
                    "frank_index": score_s, "compute_total": total_s},
        "share_within_minutes": {c: float(v) for c, v in
                                 reach[f"share of residents within {minutes} min"].items()},
        "walk_score_median": float(areas["walk_score"].median()),
        "unscored_areas": int((~reachable).sum()),
        "sapporo_station_block": {  # 北五条西三丁目, the JR Sapporo Station block
            "walk_score": float(areas.loc[station_block, "walk_score"]),
            "percentile": float(areas["walk_score"].rank(pct=True)[station_block]),
            "minutes_to_jr": float(areas.loc[station_block, "minutes_to_jr"]),
        } if station_block is not None and "jr" in categories else None,
        "spearman_walk_score_steps": None if rho is None else float(rho),
    }
    with open(results_path, "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=2)

# %% [markdown]
# ---
# *Data attribution: 出典：札幌市「札幌市認定路線網図」（DATA-SMART CITY SAPPORO）を加工して作成;
# 出典：政府統計の総合窓口(e-Stat)「令和2年国勢調査 小地域（町丁・字等別）境界データ」を加工して作成;
# 「国土数値情報（鉄道データ）」（国土交通省）を加工して作成; 出典：国土地理院「指定緊急避難場所データ」を
# 加工して作成; 「道内医療機関の名簿」北海道保健福祉部（CC BY 2.1 JP）、加工：三好邦彦（CC BY 2.1 JP）;
# Code for Sapporo「さっぽろパパママMAP」. Health-point steps are **synthetic** (generated by the
# workbench). The underground walkways are drawn by hand from station positions.*
