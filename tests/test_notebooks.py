"""The curated notebooks: built from their sources, outputs stripped, and run top to bottom.

Every notebook under ``notebooks/`` is executed with papermill (kernel ``python3``) against a
live local exchange (the session ``seeded_exchange``), with the credential passed through
the kernel's environment (``WORKBENCH_URL`` / ``WORKBENCH_API_KEY``), never as a parameter.
The analysis notebooks write their estimates to a JSON file (``results_path``), which the
tests read back to check them against the synthetic generator's true effects.
"""

from __future__ import annotations

import ast
import csv
import io
import json
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
WORKSHOP = sorted((NOTEBOOKS / "workshop").glob("[0-9]*.ipynb"))
SOLUTIONS = sorted((NOTEBOOKS / "workshop" / "solutions").glob("[0-9]*.ipynb"))
ANALYSES = [NOTEBOOKS / n for n in ("walkability.ipynb", "health-points.ipynb",
                                    "policy-effects.ipynb")]
ALL = WORKSHOP + SOLUTIONS + ANALYSES
TIME_LIMIT_S = 60.0



def _ids(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(NOTEBOOKS)) for p in paths]


def _api_key(credentials, role: str) -> str:
    """The demo API key of ``role`` from ``demo-credentials.json`` (list or mapping form)."""
    accounts = credentials
    if isinstance(accounts, dict):
        accounts = accounts.get("accounts", accounts)
    if isinstance(accounts, dict):
        accounts = [{"role": k, **v} if isinstance(v, dict) else {"role": k, "api_key": v}
                    for k, v in accounts.items()]
    for account in accounts:
        if account.get("role") == role or account.get("username") == role:
            return account["api_key"]
    raise LookupError(f"no demo account with role {role!r} in {credentials!r}")


def _parameters(path: Path) -> dict[str, object]:
    nb = nbformat.read(path, as_version=4)
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, f"{path.name}: expected one parameters cell, found {len(cells)}"
    values = {}
    for node in ast.parse(cells[0].source).body:
        assert isinstance(node, ast.Assign), f"{path.name}: only assignments in parameters"
        values[node.targets[0].id] = ast.literal_eval(node.value)
    return values


def run_notebook(path: Path, tmp_path: Path, **parameters) -> tuple[nbformat.NotebookNode, dict]:
    """Execute ``path`` with papermill; return the executed notebook and its results JSON."""
    import papermill

    results = tmp_path / f"{path.stem}.json"
    if "results_path" in _parameters(path):
        parameters["results_path"] = str(results)
    started = time.monotonic()
    nb = papermill.execute_notebook(
        str(path),
        str(tmp_path / path.name),
        parameters=parameters,
        kernel_name="python3",
        cwd=str(path.parent),
        progress_bar=False,
        execution_timeout=int(TIME_LIMIT_S * 2),
    )
    elapsed = time.monotonic() - started
    assert elapsed < TIME_LIMIT_S, f"{path.name} took {elapsed:.0f} s (limit {TIME_LIMIT_S:.0f})"
    data = json.loads(results.read_text()) if results.exists() else {}
    return nb, data


def _stdout(nb: nbformat.NotebookNode) -> str:
    return "".join(
        o.get("text", "")
        for c in nb.cells if c.cell_type == "code"
        for o in c.get("outputs", []) if o.get("output_type") == "stream"
    )


# --- static checks: fast, no server ------------------------------------------------------


def test_notebooks_are_built_from_their_sources_with_outputs_stripped():
    result = subprocess.run(
        [sys.executable, str(NOTEBOOKS / "_build.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for path in ALL:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, path.name


@pytest.mark.parametrize("path", ALL, ids=_ids(ALL))
def test_notebook_has_one_literal_parameters_cell_and_no_secret(path):
    params = _parameters(path)
    assert params.get("exchange_url", None) is None  # the client reads WORKBENCH_URL
    text = path.read_text(encoding="utf-8")
    for word in ("api_key=\"", "client_secret=\"", "password"):
        assert word not in text, f"{path.name} looks like it holds a secret ({word})"


@pytest.mark.parametrize("path", WORKSHOP + ANALYSES, ids=_ids(WORKSHOP + ANALYSES))
def test_notebook_shows_attribution_and_labels_synthetic_data(path):
    text = nbformat.read(path, as_version=4)
    markdown = "\n".join(c.source for c in text.cells if c.cell_type == "markdown")
    assert "attribution" in markdown.lower()
    if path.stem in ("health-points", "policy-effects", "04-time-series"):
        assert "synthetic" in markdown.lower()


def test_every_workshop_notebook_ends_with_an_exercise_and_has_solutions():
    assert [p.name for p in WORKSHOP] == [p.name for p in SOLUTIONS]
    assert len(WORKSHOP) == 6
    for path in WORKSHOP:
        nb = nbformat.read(path, as_version=4)
        headings = [c.source for c in nb.cells if c.cell_type == "markdown"]
        assert any("## Exercise" in h for h in headings[-3:]), path.name


# --- running the notebooks against the live exchange ------------------------------------


@pytest.fixture
def exchange_env(seeded_exchange, monkeypatch):
    """Point the kernel (which inherits os.environ) at the seeded exchange."""
    monkeypatch.setenv("WORKBENCH_URL", seeded_exchange.url)
    monkeypatch.delenv("WORKBENCH_CLIENT_ID", raising=False)
    monkeypatch.delenv("WORKBENCH_CLIENT_SECRET", raising=False)

    def use(role: str) -> None:
        monkeypatch.setenv("WORKBENCH_API_KEY", _api_key(seeded_exchange.credentials, role))

    use("planner")
    monkeypatch.setenv(
        "WORKBENCH_RESEARCHER_API_KEY", _api_key(seeded_exchange.credentials, "researcher")
    )
    return use


WORKSHOP_RUNS = WORKSHOP + SOLUTIONS


@pytest.fixture(scope="module")
def workshop_class(seeded_exchange) -> list[dict[str, str]]:
    """Participants made as the README tells the trainer (``users create-workshop``)."""
    made = subprocess.run(
        [sys.executable, "-m", "workbench", "users", "create-workshop", "--count", "2",
         "--prefix", "nbclass", "--subscribe", "sapporo-wards:open",
         "--data-dir", str(seeded_exchange.data_dir)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert "\r" not in made.stdout  # LF: a key cut from a line carries no carriage return
    return list(csv.DictReader(io.StringIO(made.stdout)))


def _texts(nb: nbformat.NotebookNode) -> str:
    """Every text a reader of the saved notebook sees: streams, plain-text displays, errors."""
    out = []
    for cell in nb.cells:
        for o in cell.get("outputs", []) if cell.cell_type == "code" else []:
            out.append(o.get("text", ""))
            out.append(o.get("data", {}).get("text/plain", ""))
            out.append(o.get("evalue", ""))
    return "\n".join(out)


@pytest.mark.parametrize("path", WORKSHOP_RUNS, ids=_ids(WORKSHOP_RUNS))
def test_workshop_notebook_runs_top_to_bottom_as_a_new_participant(
    path, exchange_env, workshop_class, monkeypatch, tmp_path
):
    monkeypatch.setenv("WORKBENCH_API_KEY", workshop_class[0]["api_key"])
    nb, _ = run_notebook(path, tmp_path)
    text = _texts(nb)
    if path.stem.startswith("00-") and path.parent.name == "workshop":
        assert "All good" in _stdout(nb)
        for product in ("sapporo-rail", "sapporo-facilities", "subway-ridership"):
            assert f"{product}" in _stdout(nb)
    assert "0%|" not in text  # progress is saved as its summary line (test_client_progress)


def test_environment_check_names_what_is_missing_and_the_fix(seeded_exchange, exchange_env,
                                                              monkeypatch, tmp_path):
    import httpx
    import papermill

    http = httpx.Client(base_url=seeded_exchange.url, timeout=30)
    email, password = "self-signed@example.org", "a long password"
    http.post("/api/accounts", json={"email": email, "password": password, "name": "Self"})
    token = http.post("/api/login", json={"email": email, "password": password}).json()
    key = http.post("/api/credentials", json={"kind": "api_key"},
                    headers={"Authorization": f"Bearer {token['access_token']}"}).json()
    monkeypatch.setenv("WORKBENCH_API_KEY", key["api_key"])
    path = NOTEBOOKS / "workshop" / "00-environment-check.ipynb"
    with pytest.raises(papermill.PapermillExecutionError):
        run_notebook(path, tmp_path)
    text = _texts(nbformat.read(tmp_path / path.name, as_version=4))
    assert "All good" not in text
    assert "notebook(s) 03 need 'sapporo-rail'" in text
    assert "notebook(s) 04 need 'subway-ridership'" in text
    assert "check-workshop --fix" in text and "plan='open'" in text
    assert "05 create and publish a product, which needs a provider account" in text


def _covered(results: dict) -> dict[str, bool]:
    return {e["name"]: e["ci_covers_truth"] for e in results["estimates"]
            if e.get("ci_low") is not None}


def test_walkability_reaches_every_small_area_category_in_time(exchange_env, tmp_path):
    exchange_env("planner")
    _, results = run_notebook(NOTEBOOKS / "walkability.ipynb", tmp_path)
    assert results["areas"] > 5000
    assert results["seconds"]["compute_total"] < 30  # the whole city
    shares = results["share_within_minutes"]
    assert set(shares) == {"subway", "jr", "tram", "elementary_school", "junior_high_school",
                           "nursery", "hospital", "evacuation_site"}  # the dashboard's categories
    assert all(0 < s <= 1 for s in shares.values())
    assert shares["nursery"] > shares["subway"]  # nurseries are everywhere, stations not
    block = results["sapporo_station_block"]  # the centre ranks as the centre
    assert block["percentile"] >= 0.9 and block["minutes_to_jr"] < 8
    assert results["unscored_areas"] < 40  # mountains and forest, never an island
    assert results["spearman_walk_score_steps"] is not None  # the health aggregate was joined


def test_policy_effects_recover_the_documented_effects(exchange_env, tmp_path):
    exchange_env("trainer")  # open products only: the daily pedestrian totals are open
    _, results = run_notebook(NOTEBOOKS / "policy-effects.ipynb", tmp_path)
    assert results["mode"] == "exchange"
    covered = _covered(results)
    assert set(covered) == {"ridership ITS", "ridership DiD", "pedestrians ITS",
                            "pedestrians DiD"}
    assert all(covered.values()), results


@pytest.mark.parametrize(("seed", "effect"), [(11, 0.0), (12, 0.08)])
def test_policy_effects_recover_other_seeds_and_effect_sizes(exchange_env, tmp_path, seed,
                                                             effect):
    nb, results = run_notebook(NOTEBOOKS / "policy-effects.ipynb", tmp_path,
                               synthetic_seed=seed, synthetic_effect=effect)
    assert results["mode"] == "generated"
    for estimate in results["estimates"]:
        assert estimate["true_effect"] == pytest.approx(effect)
        verdict = "covers" if estimate["ci_covers_truth"] else "does NOT cover"
        assert f"the interval {verdict} the true" in _sentence_for(nb, estimate["name"])
    assert all(_covered(results).values()), results


def test_health_points_shows_only_suppressed_aggregates_by_default(exchange_env, tmp_path):
    exchange_env("planner")
    nb, results = run_notebook(NOTEBOOKS / "health-points.ipynb", tmp_path)
    assert "skipping the matched event study" in _stdout(nb)
    covered = _covered(results)
    assert list(covered) == ["DiD on aggregates (pre-period weighted)"]
    assert all(covered.values()), results
    naive = next(e for e in results["estimates"] if e["name"].startswith("naive"))
    assert naive["estimate"] - results["true_effect"] > 300  # self-selection bias shows


def test_health_points_with_the_research_plan_recovers_the_effect(exchange_env, tmp_path):
    exchange_env("researcher")
    _, results = run_notebook(NOTEBOOKS / "health-points.ipynb", tmp_path, research_plan=True)
    covered = _covered(results)
    assert {"matched event-study DiD (individual)",
            "staggered DiD, IPW + outcome regression (individual)"} <= set(covered)
    assert all(covered.values()), results


@pytest.mark.parametrize(("seed", "effect"), [(21, 0.0), (22, 1200.0)])
def test_health_points_recover_other_seeds_and_effect_sizes(exchange_env, tmp_path, seed,
                                                            effect):
    _, results = run_notebook(NOTEBOOKS / "health-points.ipynb", tmp_path, research_plan=True,
                              synthetic_seed=seed, synthetic_effect=effect)
    assert results["true_effect"] == pytest.approx(effect, abs=max(0.05 * effect, 1.0))
    covered = _covered(results)
    assert len(covered) == 3 and all(covered.values()), results


def _sentence_for(nb: nbformat.NotebookNode, name: str) -> str:
    lines = [line for line in _stdout(nb).splitlines() if line.startswith(f"- {name}: ")]
    assert len(lines) == 1, f"no printed sentence for {name!r}"
    return lines[0]


def test_health_points_recover_a_negative_effect_that_builds_up_and_say_so_from_results(
    exchange_env, tmp_path
):
    nb, results = run_notebook(NOTEBOOKS / "health-points.ipynb", tmp_path, research_plan=True,
                               synthetic_seed=23, synthetic_effect=-800.0,
                               synthetic_ramp_months=12)  # fmt: skip
    # the mean over enrolled months of an effect that reaches -800 after a year
    assert -800 < results["true_effect"] < -400
    covered = _covered(results)
    assert len(covered) == 3 and all(covered.values()), results
    for estimate in results["estimates"]:
        if estimate.get("ci_low") is None:
            continue
        verdict = "covers" if estimate["ci_covers_truth"] else "does NOT cover"
        assert f"the interval {verdict} the true effect" in _sentence_for(nb, estimate["name"])
