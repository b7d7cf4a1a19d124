"""A separate virtual environment for FIWARE's ``filip``.

filip pins pandas < 2.4 and pydantic < 2.14, so it cannot share our environment. Tests run
small filip scripts with this interpreter in a subprocess. The environment is created once
(``.venv-filip/`` in the repository, reused while it is intact).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FILIP_VENV = REPO / ".venv-filip"
# geopandas: benchmarks/bench_client.py builds the same GeoDataFrame with filip's entities
FILIP_SPEC = ("filip>=0.6", "httpx", "geopandas")


def filip_python() -> Path:
    """Return the path of a Python interpreter with filip installed, creating it if needed.

    The environment is (re)installed when its stamp does not list the current ``FILIP_SPEC``.
    """
    python = FILIP_VENV / "bin" / "python"
    stamp = FILIP_VENV / ".installed"
    wanted = " ".join(FILIP_SPEC)
    if not stamp.exists() or stamp.read_text() != wanted:
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", "--clear", str(FILIP_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *FILIP_SPEC], check=True)
        stamp.write_text(wanted)
    return python


def run_filip_script(script: str, *args: str, timeout_s: float = 300) -> str:
    """Run ``script`` (Python source) with the filip interpreter; return its stdout.

    Raises ``AssertionError`` with the script's stderr when it exits non-zero.
    """
    proc = subprocess.run(
        [str(filip_python()), "-c", script, *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
    assert proc.returncode == 0, f"filip script failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout
