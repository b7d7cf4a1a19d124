# %% [markdown]
# # 03 · Query entities into frames, and map them
#
# An NGSI v2 API returns *entities*: JSON objects with an `id`, a `type` and typed
# attributes. The workbench turns them straight into pandas and GeoPandas frames, with
# proper dtypes (numbers, dates, booleans, text) and shapely geometries in EPSG:4326.
#
# A query is **lazy**: `ex.entities(...)` only describes what you want. Nothing is fetched
# until you ask for `.count()`, `.to_pandas()` or `.to_geopandas()`; then pages of up to 1,000
# entities are fetched concurrently, with a progress bar.
#
# In this notebook you will filter entities by attribute (`q`), by place (`georel` +
# `geometry`, given as a shapely object — the workbench handles the latitude/longitude order
# NGSI expects), and draw them on a map that works offline (ward boundaries as the base layer,
# Leaflet served locally).

# %% tags=["parameters", "setup"]
exchange_url = None  # None: read WORKBENCH_URL / WORKBENCH_API_KEY
stations_product = "sapporo-rail"
facilities_product = "sapporo-facilities"
wards_product = "sapporo-wards"
near_m = 800  # walking catchment of a station, metres

# %% tags=["setup"]
import geopandas as gpd

import workbench as wb
from workbench import maps

ex = wb.connect(exchange_url)

# %% [markdown]
# ## 1. A first query
#
# Count first, then fetch. `.to_geopandas()` gives a GeoDataFrame; `.attrs` carries the
# provenance: where the data came from, under which licence, with which query and when.

# %%
stations = ex.entities(stations_product, type="PublicTransportStop")
print(stations.count(), "stations and stops")
stations = stations.to_geopandas()
stations.head()

# %%
stations.dtypes

# %%
{k: stations.attrs.get(k) for k in ("product", "licence", "attribution", "retrieved_at")}

# %% [markdown]
# ## 2. Filtering on the server with `q`
#
# `q` is NGSI's simple query language: `attr==value`, `attr>number`, `;` for *and*. The
# filter runs on the server, so only the matching entities travel.

# %%
facilities = ex.entities(facilities_product, q="facilityKind==hospital").to_geopandas()
print(len(facilities), "hospitals")
facilities[["name", "wardId", facilities.geometry.name]].head()

# %% [markdown]
# ## 3. Filtering by place
#
# `georel="near;maxDistance:800"` with a shapely point keeps the entities within 800 m of it
# (straight-line distance, not walking distance — the walkability notebook does that).
# Here: nurseries near 大通 (Odori) station.

# %%
odori = stations.loc[stations["name"].str.contains("大通")].geometry.iloc[0]
nurseries_near = ex.entities(
    facilities_product,
    q="facilityKind==nursery",
    georel=f"near;maxDistance:{near_m}",
    geometry=odori,
).to_geopandas()
print(len(nurseries_near), f"nurseries within {near_m} m of Odori")

# %% [markdown]
# ## 4. A map that works offline
#
# `workbench.maps` builds a folium map with no tile server: the ten wards are the base layer.

# %%
wards = ex.entities(wards_product, type="AdministrativeArea", q="areaCode!='01100'").to_geopandas()
m = maps.base_map(wards=wards, attribution=stations.attrs.get("attribution"))
maps.add_points(stations, m=m, tooltip="name", color="#0070C0", name="stations")
maps.add_points(nurseries_near, m=m, tooltip="name", color="#d62728", name="nurseries near Odori")
m

# %% [markdown]
# **Caveats.** Facility lists are dated (hospitals 2015, schools about 2014, nurseries 2017);
# `near` uses straight-line distance; a point on a map is where the geocoder put it.
#
# ## Exercise
#
# How many nurseries lie within `near_m` metres of **any** subway station? (Hint: query the
# subway stations with `type="PublicTransportStop", q="mode==subway"`, then either one `near` query per station, or one
# query for all nurseries and a GeoPandas `sjoin_nearest`/`buffer` in a metric CRS such as
# EPSG:6680.) Put them on a map.
#
# The solution is in `solutions/03-query-and-map.ipynb`.

# %%
# your code here

# %% [solution]
subway = ex.entities(stations_product, type="PublicTransportStop", q="mode==subway").to_geopandas()
nurseries = ex.entities(facilities_product, q="facilityKind==nursery").to_geopandas()
catchment = subway.to_crs(6680).buffer(near_m).union_all()
close = nurseries[nurseries.to_crs(6680).within(catchment)]
print(f"{len(close)} of {len(nurseries)} nurseries are within {near_m} m of a subway station")
wards = ex.entities(wards_product, type="AdministrativeArea", q="areaCode!='01100'").to_geopandas()
m = maps.base_map(wards=wards)
maps.add_points(close, m=m, tooltip="name", color="#d62728", name="nurseries")
maps.add_points(subway, m=m, tooltip="name", color="#008800", name="subway")
m

# %% [markdown]
# ---
# *Data attribution: 「国土数値情報（鉄道データ）」（国土交通省）を加工して作成; 「道内医療機関の名簿」
# 北海道保健福祉部（CC BY 2.1 JP）、加工：三好邦彦; Code for Sapporo「さっぽろパパママMAP」; 出典：政府統計の
# 総合窓口(e-Stat)「令和2年国勢調査 小地域（町丁・字等別）境界データ」を加工して作成. Each frame's
# `.attrs["attribution"]` carries the attribution of its product.*
