"""Benchmark: 100,000 entities (point location + 10 mixed attributes) into a GeoDataFrame.

Compares, each in a fresh subprocess (time and peak RSS measured inside it):

(a) ours:   ``wb.connect(...).entities(product, type=...).to_geopandas()``
(b) filip:  ``ContextBrokerClient.get_entity_list`` then building the same GeoDataFrame
            (filip runs in its own venv, see ``tests/filip_env.py``; keyValues, see below)
(c) floor:  httpx pages of 1000 + ``orjson.loads``, no conversion: keyValues pages (what our
            client fetches when the attribute types are unambiguous) sequential and with the
            same 4-way concurrency as ours, and normalized pages

against a local exchange (``workbench serve``, through the gateway with an API key) or, with
``--broker``, a bare ``workbench broker``. ``--repeat N`` runs every variant N times,
interleaved, and keeps each one's best time (the machine is shared and noisy).

    .venv/bin/python benchmarks/bench_client.py [--n 100000] [--broker] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from filip_env import filip_python  # noqa: E402
from servers import ServerProcess  # noqa: E402

SERVICE = "benchstops"
PRODUCT = "bench-stops"
TYPE = "BusStop"

# Imports happen before the clock starts (``# -- start --`` in each body). Peak memory is the
# process's VmHWM (ru_maxrss would include the parent's peak, inherited across fork/exec).
_MEASURE = """
import json, re, sys, time
{body}
elapsed = time.perf_counter() - t0
hwm_kb = int(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1))
print(json.dumps({{"seconds": elapsed, "peak_rss_mb": hwm_kb / 1024, "rows": rows}}))
"""

OURS = """
import geopandas, pandas, shapely  # noqa: F401
from workbench.client import connect
url, key, target, etype = sys.argv[1:5]
t0 = time.perf_counter()
ex = connect(url, api_key=key or None, progress=False)
gdf = ex.entities(target, type=etype).to_geopandas()
assert gdf.crs.to_epsg() == 4326
rows = len(gdf)
"""

FILIP = """
import geopandas as gpd, pandas as pd, requests, shapely
from filip.clients.ngsi_v2 import ContextBrokerClient
from filip.models.base import FiwareHeader
url, key, service, etype = sys.argv[1:5]
t0 = time.perf_counter()
session = requests.Session()
if key:
    session.headers["X-API-Key"] = key
client = ContextBrokerClient(url=url, session=session, fiware_header=FiwareHeader(service=service))
# filip 0.8.1 rejects geo:json attributes in the normalized format (pydantic pattern on the
# attribute type), so a filip user reads keyValues and applies the known types.
entities = client.get_entity_list(entity_types=[etype], response_format="keyValues")
rows_ = [e.model_dump() for e in entities]
df = pd.DataFrame(rows_)
df["updated"] = pd.to_datetime(df["updated"], utc=True, format="ISO8601")
df["open"] = df["open"].astype("boolean")
df["accessible"] = df["accessible"].astype("boolean")
df["riders"] = df["riders"].astype("Int64")
df["capacity"] = df["capacity"].astype("Int64")
for col in ("name", "ward", "operator"):
    df[col] = df[col].astype("string")
geometry = [shapely.geometry.shape(v) if v is not None else None for v in df.pop("location")]
gdf = gpd.GeoDataFrame(df, geometry=geometry, crs="EPSG:4326")
rows = len(gdf)
"""

FLOOR = """
import httpx, orjson
from concurrent.futures import ThreadPoolExecutor
url, key, service, etype, workers, options = sys.argv[1:7]
t0 = time.perf_counter()
headers = {"Fiware-Service": service}
if key:
    headers["X-API-Key"] = key
client = httpx.Client(base_url=url, headers=headers, timeout=120)
def page(offset, count=False):
    params = {"type": etype, "limit": 1000, "offset": offset}
    opts = [o for o in (options, "count" if count else "") if o and o != "normalized"]
    if opts:
        params["options"] = ",".join(opts)
    r = client.get("/v2/entities", params=params)
    r.raise_for_status()
    return r, orjson.loads(r.content)
r, first = page(0, count=True)
total = int(r.headers["fiware-total-count"])
offsets = range(1000, total, 1000)
if int(workers) > 1:
    with ThreadPoolExecutor(int(workers)) as pool:
        pages = [first] + [p for _, p in pool.map(page, offsets)]
else:
    pages = [first] + [page(o)[1] for o in offsets]
rows = sum(len(p) for p in pages)
"""


def sample_frame(n: int, seed: int = 0):
    import geopandas as gpd
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    wards = np.array(["Chuo", "Kita", "Higashi", "Shiroishi", "Toyohira", "Minami"])
    return gpd.GeoDataFrame(
        {
            "id": [f"urn:ngsi-ld:BusStop:{i:06d}" for i in range(n)],
            "riders": pd.array(rng.integers(0, 5000, n), dtype="Int64"),
            "capacity": pd.array(rng.integers(1, 40, n), dtype="Int64"),
            "share": rng.random(n),
            "temperature": rng.normal(5, 8, n).round(2),
            "open": pd.array(rng.random(n) > 0.2, dtype="boolean"),
            "accessible": pd.array(rng.random(n) > 0.5, dtype="boolean"),
            "name": pd.array([f"Stop {i}" for i in range(n)], dtype="string"),
            "ward": pd.array(wards[rng.integers(0, len(wards), n)], dtype="string"),
            "operator": pd.array(["Jotetsu"] * n, dtype="string"),
            "updated": (
                pd.Timestamp("2026-01-01", tz="UTC")
                + pd.to_timedelta(rng.integers(0, 3 * 10**7, n), unit="s")
            ).astype("datetime64[ns, UTC]"),
        },
        geometry=gpd.points_from_xy(141.2 + rng.random(n) * 0.3, 42.9 + rng.random(n) * 0.3),
        crs="EPSG:4326",
    ).rename_geometry("location")


def _setup_exchange(data_dir: Path) -> dict[str, str]:
    from workbench.server.exchange.service import ExchangeService

    svc = ExchangeService.open(data_dir)
    org = svc.create_organization("Bench City")
    provider = svc.create_account(
        "p@bench.example", "bench-pass-123", name="P", role="provider", organization_id=org
    )
    svc.create_product(
        id=PRODUCT, organization_id=org, title="Bench stops", description="Synthetic stops",
        service=SERVICE, entity_types=[TYPE], licence="CC0", attribution="bench",
        update_frequency="never", synthetic=True,
    )  # fmt: skip
    svc.create_plan(PRODUCT, id="free", name="Free", kind="free")
    svc.publish_terms(
        PRODUCT, version="1", text="-", permitted_purposes=["research"], prohibitions=[]
    )
    svc.subscribe(provider, PRODUCT, "free", purpose="benchmark", terms_version="1")
    key = svc.issue_api_key(provider, label="bench")[1]
    svc.close()
    return {"key": key}


def _run(python: Path | str, body: str, *args: str) -> dict:
    script = _MEASURE.format(body=body)
    out = subprocess.run(
        [str(python), "-c", script, *args], capture_output=True, text=True, cwd=REPO, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(f"variant failed:\n{out.stdout}\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--broker", action="store_true", help="bare broker instead of exchange")
    parser.add_argument("--skip-filip", action="store_true")
    parser.add_argument(
        "--repeat", type=int, default=1, help="rounds of every variant (interleaved); best kept"
    )
    args = parser.parse_args()

    from workbench.client import connect

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        if args.broker:
            server_args = ["broker", "--db", str(tmp_path / "broker.db")]
            key, target = "", SERVICE
        else:
            key = _setup_exchange(tmp_path)["key"]
            server_args = ["serve", "--data-dir", str(tmp_path)]
            target = PRODUCT
        with ServerProcess(server_args, timeout_s=120) as server:
            ex = connect(server.url, api_key=key or None, service=SERVICE, progress=False)
            t = time.perf_counter()
            ex.publish(sample_frame(args.n), target, type=TYPE, id_column="id")
            print(f"loaded {args.n} entities in {time.perf_counter() - t:.1f} s", flush=True)
            runs: dict[str, list[dict]] = {}
            for _ in range(args.repeat):  # interleaved, so load changes hit every variant
                runs.setdefault("ours", []).append(
                    _run(sys.executable, OURS, server.url, key, target, TYPE)
                )
                for options, workers in (
                    ("keyValues", "4"),
                    ("keyValues", "1"),
                    ("normalized", "4"),
                ):
                    mode = "4 concurrent" if workers == "4" else "sequential"
                    floor_args = (server.url, key, SERVICE, TYPE, workers, options)
                    runs.setdefault(f"floor ({options}, {mode})", []).append(
                        _run(sys.executable, FLOOR, *floor_args)
                    )
                if not args.skip_filip:
                    try:
                        runs.setdefault("filip", []).append(
                            _run(filip_python(), FILIP, server.url, key, SERVICE, TYPE)
                        )
                    except RuntimeError as exc:  # reported, not fatal: the other figures stand
                        print(f"filip failed: {str(exc)[-600:]}", flush=True)
    results = {name: min(rs, key=lambda r: r["seconds"]) for name, rs in runs.items() if rs}
    where = "bare broker" if args.broker else "exchange (gateway, API key)"
    print(f"\n{args.n} entities from the {where}\n")
    print("| variant | best time (s) | all runs (s) | peak RSS (MB) | rows |")
    print("|---|---|---|---|---|")
    for name, r in sorted(results.items()):
        every = ", ".join(f"{x['seconds']:.2f}" for x in runs[name])
        print(f"| {name} | {r['seconds']:.2f} | {every} | {r['peak_rss_mb']:.0f} | {r['rows']} |")
    ours = results["ours"]["seconds"]
    floor = min(r["seconds"] for name, r in results.items() if name.startswith("floor"))
    print(f"\nours / fastest floor = {ours / floor:.2f}x")
    if "filip" in results:
        print(f"filip / ours = {results['filip']['seconds'] / ours:.1f}x")


if __name__ == "__main__":
    main()
