# %% [markdown]
# # 05 · Publish data back, as a provider
#
# The exchange is two-sided: providers keep their data in their own NGSI broker and offer it
# as a product. With the workbench, a provider publishes a (Geo)DataFrame as entities with
# `ex.publish(frame, product, type=..., id_column=...)`: each row becomes an entity, each
# column a typed attribute (numbers, dates, booleans, text, and the geometry as `geo:json`),
# written in chunks through the standard `/v2/op/update` batch operation.
#
# This notebook runs with a **provider** credential: a workshop account made by the trainer
# (each participant has a sandbox organisation of their own, whose products are never listed
# in the public catalog) or the `WORKBENCH_API_KEY` of a provider account. You will register
# a small product of your own, publish a survey of bench locations along 札幌駅前通, read it
# back, and check the round trip. The survey is **synthetic** — invented for the exercise.

# %% tags=["parameters", "setup"]
exchange_url = None  # None: read WORKBENCH_URL / WORKBENCH_API_KEY (a provider's key)
product_id = None  # None: "benches-<your account>", so every participant has their own
entity_type = "PointOfInterest"  # FIWARE Smart Data Models type
n_benches = 12
seed = 2026

# %% tags=["setup"]
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import Point

import workbench as wb

ex = wb.connect(exchange_url)
me = ex.account()
if product_id is None:
    handle = re.sub(r"[^a-z0-9]+", "-", me["email"].split("@")[0].lower()).strip("-")
    product_id = f"benches-{handle}"
print(f"publishing as {me['email']} ({me['role']}) into {product_id!r}")

# %% [markdown]
# ## 1. A product to publish into
#
# A provider registers each product once: its catalog entry (title, licence, attribution,
# entity types), at least one plan (here one free plan) and the terms buyers accept (permitted
# purposes and prohibitions). `ex.create_product` does it in one call and the exchange checks
# every field. A verified provider's product is listed at once; an unverified provider's waits
# for an admin's review; a workshop sandbox's is never listed. If the product exists already,
# nothing happens.

# %% tags=["setup"]
try:
    product = ex.product(product_id)
except wb.NotFoundError:
    product = ex.create_product(
        product_id,
        title=f"Benches on Ekimae-dori (workshop, SYNTHETIC, {me['name']})",
        licence="CC BY 4.0",
        attribution="Workshop exercise data (synthetic)",
        entity_types=[entity_type],
        synthetic=True,
        description="A made-up bench survey published in workshop 05.",
        plans=[{"id": "open", "name": "Open (free)", "kind": "free"}],
        terms={"version": "1.0", "text": "Workshop data: any purpose, with attribution.",
               "permitted_purposes": ["any", "education"],
               "prohibitions": ["removing_attribution"]},
    )
print(product)

# %% [markdown]
# ## 2. A frame to publish
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
# ## 3. Publish

# %%
result = ex.publish(benches, product_id, type=entity_type, id_column="bench_id")
result

# %% [markdown]
# ## 4. Read it back
#
# Query the product for the type we wrote and compare. Numbers, booleans, dates and the
# geometry come back with the same dtypes.

# %%
back = ex.entities(product_id, type=entity_type, q="seats>0").to_geopandas()
back = back.set_index("id").loc[benches["bench_id"]]
assert len(back) == n_benches
assert (back["seats"].to_numpy() == benches["seats"].to_numpy()).all()
assert shapely.equals_exact(back.geometry.values, benches.geometry.values, tolerance=1e-7).all()
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
# change (hint: publish again with the same ids — that updates the entities; mark the removed
# bench with a `status` attribute, as Smart Data Models do, rather than deleting history) and
# query how many covered benches are still in place.
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
benches["status"] = np.where(benches.index == 3, "removed", "inService")
ex.publish(benches, product_id, type=entity_type, id_column="bench_id")
covered = ex.entities(product_id, type=entity_type, q="covered==true;status==inService").count()
print(covered, "covered benches in service")

# %% [markdown]
# ---
# *Data attribution: the bench survey is **synthetic**, made up for this exercise. Street
# coordinates are approximate positions along 札幌駅前通.*
