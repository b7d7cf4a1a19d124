import subprocess
import sys


def test_workbench_help_lists_every_subcommand():
    out = subprocess.run(
        [sys.executable, "-m", "workbench", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for command in ("broker", "serve", "seed", "up"):
        assert command in out
