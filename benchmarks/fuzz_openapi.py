"""Schema-driven fuzzing of the exchange's REST API: no input may produce a 5xx.

Builds the small test exchange (``tests/exchange_fixtures.py``) in a temporary directory,
starts ``workbench serve`` on a free port, and runs Schemathesis against its
``/openapi.json`` twice — anonymously and with a buyer's bearer token (so the checks reach
past the 401s) — with the ``not_a_server_error`` check, each run bounded by
``--max-time``. Fails (exit 1) on any 5xx, and on any traceback in the server's log.

Usage::

    .venv/bin/python benchmarks/fuzz_openapi.py [--seconds 25] [--workers 2]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from exchange_fixtures import ExchangeServer, build_exchange, new_buyer  # noqa: E402


def _schemathesis(url: str, *, seconds: int, workers: int, headers: list[str], cwd: Path) -> int:
    exe = shutil.which("schemathesis", path=str(Path(sys.executable).parent)) or "schemathesis"
    cmd = [
        exe,
        "run",
        f"{url}/openapi.json",
        "--checks",
        "not_a_server_error",
        "--max-time",
        str(seconds),
        "--workers",
        str(workers),
        "--request-timeout",
        "30",
        "--suppress-health-check",
        "all",
        "--warnings",
        "off",
        "--no-color",
    ]
    for header in headers:
        cmd += ["-H", header]
    return subprocess.run(cmd, check=False, cwd=cwd).returncode  # its cache stays in cwd


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=25, help="time budget of each run")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fuzz-exchange-") as tmp:
        data_dir = Path(tmp) / "exchange"
        build_exchange(data_dir)
        with ExchangeServer(data_dir) as server:
            buyer = new_buyer(server.url, "fuzz@fuzz.example")
            buyer.subscribe("wards", "free")
            codes = [
                _schemathesis(
                    server.url, seconds=args.seconds, workers=args.workers, headers=[], cwd=tmp
                ),
                _schemathesis(
                    server.url,
                    seconds=args.seconds,
                    workers=args.workers,
                    headers=[f"Authorization: Bearer {buyer.token}"],
                    cwd=tmp,
                ),
            ]
            log = server.log_path.read_text(errors="replace")
    tracebacks = log.count("Traceback")
    print(
        f"fuzz_openapi: schemathesis exit codes {codes}, {tracebacks} tracebacks in the "
        f"server log, {time.monotonic() - started:.0f} s"
    )
    if tracebacks:
        print(log[log.index("Traceback") - 200 :][:4000])
    return 0 if codes == [0, 0] and not tracebacks else 1


if __name__ == "__main__":
    raise SystemExit(main())
