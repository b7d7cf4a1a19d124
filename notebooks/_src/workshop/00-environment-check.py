# %% [markdown]
# # 00 · Environment check
#
# **Sapporo Data Commons Workbench — workshop series for trainers and participants.**
#
# Run this notebook first (Kernel ▸ Restart & Run All). It checks, one by one, that:
#
# 1. Python is recent enough and the scientific libraries import;
# 2. the `workbench` package is installed, with the locally served Leaflet used for maps
#    (no CDN: the workshop room may have no internet);
# 3. the exchange answers at the URL you were given, and your credential is accepted;
# 4. your account can use every product notebooks 01–05 use (read from the notebooks), and
#    can publish a product of its own for notebook 05.
#
# When everything is in place the last cell prints **All good**. If a check fails, the
# message says what is wrong and what to do; show it to the trainer.
#
# **Where your credential comes from.** Nothing secret is written in these notebooks. The
# workbench reads the exchange URL and your API key from the environment variables
# `WORKBENCH_URL` and `WORKBENCH_API_KEY` (or a profile in `~/.config/workbench/config.toml`),
# which the trainer sets up for you. `exchange_url` below may be set to override the URL.

# %% tags=["parameters", "setup"]
exchange_url = None  # None: read WORKBENCH_URL (default credential: WORKBENCH_API_KEY)
min_python = (3, 11)
workshop_folder = None  # None: the folder of this notebook (notebooks/workshop)

# %% [markdown]
# ## 1. Python and the scientific stack

# %%
import importlib
import platform
import sys

problems = []
if sys.version_info[:2] < tuple(min_python):
    problems.append(f"Python {platform.python_version()} is too old: need {min_python[0]}.{min_python[1]}+")

versions = {}
for name in ["numpy", "pandas", "geopandas", "shapely", "pyproj", "scipy", "networkx",
             "statsmodels", "matplotlib", "folium", "httpx", "workbench"]:
    try:
        versions[name] = importlib.import_module(name).__version__
    except Exception as exc:  # report every missing library at once
        problems.append(f"cannot import {name}: {exc} — run `make run` or `pip install -e '.[all]'`")
print(f"Python {platform.python_version()}")
for name, version in versions.items():
    print(f"  {name:<12} {version}")

# %% [markdown]
# ## 2. Maps without the internet
#
# The workbench serves Leaflet (the JavaScript map library folium uses) from the package
# itself, and draws the ward boundaries as a base layer, so maps work with no tile server.

# %%
from pathlib import Path

import workbench

leaflet = Path(workbench.__file__).parent / "static" / "leaflet" / "leaflet.js"
if not leaflet.exists():
    problems.append(f"the local Leaflet copy is missing at {leaflet}: reinstall the workbench")
try:
    from workbench import maps  # noqa: F401
except Exception as exc:
    problems.append(f"cannot import workbench.maps: {exc}")
print("Leaflet:", leaflet)

# %% [markdown]
# ## 3. The exchange and your credential
#
# `wb.connect()` with no arguments reads `WORKBENCH_URL` and `WORKBENCH_API_KEY`. We ask the
# broker who it is (the Orion-compatible `/version`), then list your subscriptions — which
# only works if the exchange accepts your credential.

# %% tags=["setup"]
import workbench as wb

ex = wb.connect(exchange_url)
ex

# %%
import httpx

try:
    print("exchange:", ex.url)
    print("broker:", httpx.get(ex.url + "/version", timeout=10).json())
    subscriptions = ex.subscriptions()
    active = subscriptions[subscriptions["status"] == "active"] if len(subscriptions) else []
    print(f"credential accepted: {len(active)} active subscription(s)")
except Exception as exc:
    problems.append(f"the exchange did not accept the connection: {exc}. "
                    "Check WORKBENCH_URL and WORKBENCH_API_KEY with your trainer.")

# %% [markdown]
# ## 4. Access to every product the workshop uses
#
# The next notebooks query products of the exchange: your account needs an active
# subscription to each (the trainer's `workbench users create-workshop` makes them), except
# those a notebook subscribes to itself (02). Notebook 05 publishes a product of your own, so
# your account must be a provider (each participant gets a sandbox organisation). The list
# below is read from the notebooks themselves, and each product is tried with one call.

# %%
from workbench.workshop import workshop_needs

needs = workshop_needs(workshop_folder)
uses = {}  # product -> the notebooks that query it
for name, nb in sorted(needs.items()):
    for product_id in sorted(nb.needs):
        uses.setdefault(product_id, []).append(name[:2])
for product_id, notebooks in sorted(uses.items()):
    try:
        ex.entities(product_id, limit=1).to_pandas()
        print(f"  {product_id:<28} ok (notebooks {', '.join(notebooks)})")
    except wb.WorkbenchError as exc:
        free = [p for _, p in ex.plans(product_id).iterrows()
                if p["kind"] == "free" and not p["requires_approval"]]
        plan = free[0]["id"] if free else "<plan>"
        problems.append(
            f"notebook(s) {', '.join(notebooks)} need {product_id!r}, but your account cannot "
            f"read it ({exc.description or exc}). Ask your trainer to run "
            "`workbench users check-workshop --fix`, or subscribe yourself: "
            f"ex.subscribe({product_id!r}, plan={plan!r}, purpose='education', "
            f"accept_terms=ex.product({product_id!r}).terms_version)")
        print(f"  {product_id:<28} MISSING (notebooks {', '.join(notebooks)})")
publishing = [name[:2] for name, nb in sorted(needs.items()) if nb.publishes]
if publishing:
    me = ex.account()
    if me["role"] != "provider" or not me["organization_id"]:
        problems.append(
            f"notebook(s) {', '.join(publishing)} create and publish a product, which needs a "
            f"provider account; {me['email']} is a {me['role']}. Ask your trainer for a "
            "workshop account (`workbench users create-workshop` gives each participant a "
            "sandbox organisation).")
    else:
        print(f"  publishing (notebooks {', '.join(publishing)}): ok, as a provider")

# %% [markdown]
# ## Result

# %%
if problems:
    print("Some checks failed:")
    for p in problems:
        print(" -", p)
    raise RuntimeError(f"{len(problems)} environment check(s) failed (see above)")
print("All good")

# %% [markdown]
# ## Exercise
#
# How many data products does the catalog list, and how many of them are labelled
# **synthetic**? (Hint: `ex.products()` returns a DataFrame.) The solution is in
# `solutions/00-environment-check.ipynb`.

# %%
# your code here

# %% [solution]
products = ex.products()
print(f"{len(products)} products, of which {int(products['synthetic'].sum())} are synthetic")
products[["id", "title", "synthetic"]]

# %% [markdown]
# ---
# *Data attribution: the sample products come from the City of Sapporo, e-Stat, MLIT 国土数値情報,
# GSI, Hokkaido and Code for Sapporo open data, each under its own licence, shown with each
# product in the catalog (`ex.product(id)["attribution"]`). Products marked synthetic are
# generated by the workbench and are not real observations.*
