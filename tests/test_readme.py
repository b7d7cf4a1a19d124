"""Every command the README documents is run by a test, as written.

``readme_commands()`` extracts the shell commands of README.md (``sh`` blocks and inline
code that starts with ``make``, ``.venv/bin/``, ``workbench`` or an environment variable);
``DOCUMENTED`` says which test runs each one. A command added to the README without a test
fails ``test_every_readme_command_is_run_by_a_test``. The commands run here are executed
verbatim by the shell in a scratch directory whose ``.venv`` is this interpreter's
environment and whose ``.workbench`` is the seeded test exchange; a placeholder such as
``<researcher key>`` is filled in, and a fixed port is swapped for a free one.
"""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import httpx
import pytest
from servers import free_port
from shapely.geometry import Point

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
_COMMAND = re.compile(r"^(make |\.venv/bin/|workbench |[A-Z_]+=\S+ )")

# command as written in README.md -> the test (in this module or another) that runs it
DOCUMENTED = {
    "make run": "test_up.py (workbench up: seed if empty, exchange and dashboards)",
    "make test": "this test suite itself (ruff and pytest)",
    "make lab": "test_lab.py (lab serves notebooks)",
    ".venv/bin/workbench lab --role planner": "test_lab.py (--role planner)",
    "workbench broker": "test_broker_command_runs_as_written",
    "workbench serve": "every server fixture (tests/servers.py runs workbench serve)",
    "workbench seed": "conftest.py::seeded_exchange (workbench seed)",
    "WORKBENCH_API_KEY=<researcher key> .venv/bin/papermill notebooks/policy-effects.ipynb "
    "out.ipynb -p synthetic_seed 7": "test_researcher_papermill_command_runs_as_written",
    ".venv/bin/workbench users verification-requests": "test_exchange_trust.py (verification)",
    ".venv/bin/workbench users create-workshop --count 30 --prefix ws --subscribe "
    "sapporo-wards:open": "test_trainer_commands_run_as_written",
    ".venv/bin/workbench users check-workshop --prefix ws": "test_trainer_commands_run_as_written",
    ".venv/bin/workbench products create --help": "test_products_create_help_runs_as_written",
    ".venv/bin/workbench products review": "test_exchange_trust.py (listing review)",
    ".venv/bin/workbench broker --port 1026 --db broker.db": "test_broker_command_runs_as_written",
    "workbench serve --port 8000 --data-dir .workbench": "every server fixture (tests/servers.py)",
    "workbench serve --allow-upstream HOST": "test_upstream.py::listed_exchange (--allow-upstream)",
    "workbench seed [--force] [--products ...] [--seed N] [--effect-steps N]": "test_seed.py",
    "workbench users ...": "test_trainer_commands_run_as_written",
    "workbench products ...": "test_products_create_help_runs_as_written",
    ".venv/bin/python notebooks/_build.py": "test_build_commands_run_as_written",
    ".venv/bin/python dashboards/_build.py": "test_build_commands_run_as_written",
}


def readme_commands(text: str | None = None) -> list[str]:
    """The shell commands README.md documents, whitespace-normalised, in order."""
    text = README.read_text(encoding="utf-8") if text is None else text
    found = []
    for lang, body in re.findall(r"```(\w*)\n(.*?)```", text, re.S):
        if lang in ("sh", "bash", "console"):
            for line in body.splitlines():
                command = line.split("  #")[0].strip()
                if command:
                    found.append(command)
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    for span in re.findall(r"`([^`]+)`", prose):
        command = " ".join(span.split())
        if _COMMAND.match(command):
            found.append(command)
    return list(dict.fromkeys(found))


def readme_python_blocks() -> list[str]:
    """The README's Python examples (fenced ``python`` blocks), dedented."""
    import textwrap

    text = README.read_text(encoding="utf-8")
    return [textwrap.dedent(b) for b in re.findall(r"```python\n(.*?)```", text, re.S)]


def test_every_readme_command_is_run_by_a_test():
    commands = readme_commands()
    assert set(commands) == set(DOCUMENTED), (
        "README.md commands and tests/test_readme.py DOCUMENTED differ: "
        f"undocumented here {sorted(set(commands) - set(DOCUMENTED))}, "
        f"gone from the README {sorted(set(DOCUMENTED) - set(commands))}"
    )
    here = globals()
    for command, test in DOCUMENTED.items():
        if test.startswith("test_") and ".py" not in test:
            assert test in here, f"{command!r} names a test that does not exist: {test}"


@pytest.fixture
def readme_dir(tmp_path, seeded_exchange):
    """A scratch working directory: ``.venv`` is ours, ``.workbench`` the seeded exchange,
    and ``notebooks/`` and ``dashboards/`` are the repository's."""
    (tmp_path / ".venv").symlink_to(Path(sys.executable).parents[1])
    (tmp_path / ".workbench").symlink_to(seeded_exchange.data_dir)
    (tmp_path / "notebooks").symlink_to(REPO / "notebooks")
    (tmp_path / "dashboards").symlink_to(REPO / "dashboards")
    return tmp_path


def _run(
    command: str,
    cwd: Path,
    *,
    env: dict[str, str] | None = None,
    timeout: float = 600,
    fill: dict[str, str] | None = None,
):
    """Run a README command verbatim (placeholders in ``fill`` replaced) in ``cwd``."""
    assert command in DOCUMENTED, f"not a README command: {command}"
    for placeholder, value in (fill or {}).items():
        command = command.replace(placeholder, value)
    return subprocess.run(
        command,
        shell=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _demo_key(seeded_exchange, role: str) -> str:
    accounts = seeded_exchange.credentials
    accounts = accounts.get("accounts", accounts) if isinstance(accounts, dict) else accounts
    return next(a["api_key"] for a in accounts if a.get("role") == role or a.get("kind") == role)


@pytest.mark.timeout(1200)
def test_trainer_commands_run_as_written(readme_dir, seeded_exchange):
    create = next(c for c in DOCUMENTED if "create-workshop" in c)
    made = _run(create, readme_dir, timeout=1100)
    assert made.returncode == 0, made.stderr
    assert "\r" not in made.stdout
    rows = list(csv.DictReader(io.StringIO(made.stdout)))
    assert len(rows) == 30 and rows[0]["email"] == "ws01@workshop.example"
    checked = _run(".venv/bin/workbench users check-workshop --prefix ws", readme_dir)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "30 of 30 participant(s) ready" in checked.stdout
    key = rows[-1]["api_key"]
    for product in ("sapporo-rail", "sapporo-facilities", "subway-ridership", "sapporo-wards"):
        service = httpx.get(f"{seeded_exchange.url}/api/products/{product}").json()["service"]
        r = httpx.get(
            f"{seeded_exchange.url}/v2/entities",
            params={"limit": 1},
            headers={"X-API-Key": key, "Fiware-Service": service},
            timeout=30,
        )
        assert r.status_code == 200, (product, r.text)


@pytest.mark.timeout(600)
def test_researcher_papermill_command_runs_as_written(readme_dir, seeded_exchange):
    command = next(c for c in DOCUMENTED if "papermill" in c)
    key = _demo_key(seeded_exchange, "researcher")
    ran = _run(
        command,
        readme_dir,
        fill={"<researcher key>": key},
        env={"WORKBENCH_URL": seeded_exchange.url},
        timeout=550,
    )
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert "unknown parameter" not in ran.stderr.lower()
    out = (readme_dir / "out.ipynb").read_text(encoding="utf-8")
    assert "regenerated synthetic data: seed 7" in out


def test_provider_python_example_runs_as_written(seeded_exchange):
    (block,) = [b for b in readme_python_blocks() if "create_product" in b]
    import workbench as wb

    key = _demo_key(seeded_exchange, "provider-city")
    ex = wb.connect(seeded_exchange.url, api_key=key, progress=False)
    frame = gpd.GeoDataFrame(
        {"id": ["sensor-1", "sensor-2"], "temperature": [1.5, 2.5]},
        geometry=[Point(141.35, 43.06), Point(141.36, 43.07)],
        crs=4326,
    )
    exec(block, {"ex": ex, "frame": frame})  # noqa: S102 - the README's own example
    back = ex.entities("my-product", type="Sensor").to_pandas()
    assert sorted(back["id"]) == ["sensor-1", "sensor-2"]


def test_planner_python_example_runs_as_written(seeded_exchange, monkeypatch):
    (block,) = [b for b in readme_python_blocks() if "ex.history(" in b]
    monkeypatch.setenv("WORKBENCH_URL", seeded_exchange.url)
    monkeypatch.setenv("WORKBENCH_API_KEY", _demo_key(seeded_exchange, "planner"))
    scope: dict = {}
    exec(block, scope)  # noqa: S102 - the README's own example
    assert len(scope["stations"]) > 100 and len(scope["near"]) > 0
    assert len(scope["rides"]) > 1000


def test_products_create_help_runs_as_written(readme_dir):
    ran = _run(".venv/bin/workbench products create --help", readme_dir)
    assert ran.returncode == 0
    for option in ("--plan", "--terms-text", "--purpose", "--prohibit", "--upstream-url"):
        assert option in ran.stdout


def test_broker_command_runs_as_written(tmp_path):
    command = ".venv/bin/workbench broker --port 1026 --db broker.db"
    assert command in DOCUMENTED
    (tmp_path / ".venv").symlink_to(Path(sys.executable).parents[1])
    port = free_port()  # 1026 may be taken on a shared machine
    proc = subprocess.Popen(
        command.replace("1026", str(port)),
        shell=True,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                version = httpx.get(f"http://127.0.0.1:{port}/version", timeout=1).json()
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline and proc.poll() is None
                time.sleep(0.2)
        assert "orion" in version
        assert (tmp_path / "broker.db").exists()
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(20)


def test_build_commands_run_as_written(readme_dir):
    for folder in ("notebooks", "dashboards"):
        command = f".venv/bin/python {folder}/_build.py"
        assert command in DOCUMENTED
        # as written it rewrites the committed files; --check proves that is a no-op
        ran = subprocess.run(
            f"{command} --check", shell=True, cwd=readme_dir, capture_output=True, text=True
        )
        assert ran.returncode == 0, ran.stdout + ran.stderr
