# %% [markdown]
# # 05 · Publish data back, as a provider
#
# The exchange is two-sided: providers keep their data in their own NGSI broker and offer it
# as a product. With the workbench, a provider publishes a (Geo)DataFrame as entities with
# `ex.publish(frame, product, type=..., id_column=...)`: each row becomes an entity, each
# column a typed attribute (numbers, dates, booleans, text, and the geometry as `geo:json`),
# written in chunks through the standard `/v2/op/update` batch operation.
#
# This notebook runs with a **provider** credential (`WORKBENCH_API_KEY` of the demo provider
# account). You will publish a small survey of bench locations along 札幌駅前通, read it back,
# and check the round trip. The survey is **synthetic** — invented for the exercise.

# %% tags=["parameters", "setup"]
exchange_url = None  # None: read WORKBENCH_URL / WORKBENCH_API_KEY (a provider's key)
product_id = "provider-sandbox"  # a product the provider account owns
entity_type = "PointOfInterest"  # FIWARE Smart Data Models type
n_benches = 12
seed = 2026

# %% tags=["setup"]
import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import Point

from workbench.client import connect

ex = connect(exchange_url)

# %% [markdown]
# ## 1. A frame to publish
#
# One row per bench: a stable id, a few typed attributes and a point geometry. The id column
# becomes the NGSI entity id, so publishing again *updates* the same entities instead of
# creating duplicates.

# %%
rng = np.random.default_rng(seed)
lat = np.linspace(43.0686, 43.0550, n_benches)  # 札幌駅 → 大通 → すすきの, roughly
lon = 141.3508 + rng.normal(0, 0.0003, n_benches)
benches = gpd.GeoDataFrame(
    {
        "bench_id": [f"urn:ngsi-ld:PointOfInterest:bench-{i:03d}" for i in range(n_benches)],
        "name": [f"Ekimae-dori bench {i}" for i in range(n_benches)],
        "seats": rng.integers(2, 6, n_benches),
        "covered": rng.random(n_benches) < 0.3,
        "dateObserved": pd.Timestamp("2026-06-01", tz="UTC"),
    },
    geometry=[Point(x, y) for x, y in zip(lon, lat)],
    crs=4326,
)
benches.head()

# %% [markdown]
# ## 2. Publish

# %%
result = ex.publish(benches, product_id, type=entity_type, id_column="bench_id")
result

# %% [markdown]
# ## 3. Read it back
#
# Query the product for the type we wrote and compare. Numbers, booleans, dates and the
# geometry come back with the same dtypes.

# %%
back = ex.entities(product_id, type=entity_type, q="seats>0").to_geopandas()
back = back.set_index("id").loc[benches["bench_id"]]
assert len(back) == n_benches
assert (back["seats"].to_numpy() == benches["seats"].to_numpy()).all()
assert back.geometry.geom_equals_exact(benches.geometry.values, tolerance=1e-7).all()
back[["name", "seats", "covered", "geometry"]].head()

# %% [markdown]
# **Caveats.** Publishing is a write to the provider's own product: the exchange checks that
# the credential belongs to the product's provider. Put the licence and attribution of the
# data in the product's catalog entry, and never publish personal data in an open product —
# aggregate it first with the one suppression function, `workbench.analysis.privacy.suppress_small_cells`.
#
# ## Exercise
#
# The survey team found that bench 3 was removed and bench 5 now has a roof. Publish the
# change (hint: update the frame and publish again with the same ids; to remove an entity,
# see `ex.delete` / the NGSI `delete` action) and query how many covered benches there are.
#
# The solution is in `solutions/05-publish.ipynb`.

# %%
# your code here

# %% [solution]
rng = np.random.default_rng(seed)
lat = np.linspace(43.0686, 43.0550, n_benches)
lon = 141.3508 + rng.normal(0, 0.0003, n_benches)
benches = gpd.GeoDataFrame(
    {
        "bench_id": [f"urn:ngsi-ld:PointOfInterest:bench-{i:03d}" for i in range(n_benches)],
        "name": [f"Ekimae-dori bench {i}" for i in range(n_benches)],
        "seats": rng.integers(2, 6, n_benches),
        "covered": rng.random(n_benches) < 0.3,
    },
    geometry=[Point(x, y) for x, y in zip(lon, lat)],
    crs=4326,
)
benches.loc[5, "covered"] = True
ex.publish(benches.drop(index=3), product_id, type=entity_type, id_column="bench_id")
ex.delete(product_id, [benches.loc[3, "bench_id"]])
covered = ex.entities(product_id, type=entity_type, q="covered==true").count()
print(covered, "covered benches")

# %% [markdown]
# ---
# *Data attribution: the bench survey is **synthetic**, made up for this exercise. Street
# coordinates are approximate positions along 札幌駅前通.*
