"""How often do the analysis notebooks' confidence intervals cover the true effect?

Runs ``policy-effects.ipynb`` and ``health-points.ipynb`` with papermill in generated mode
(``synthetic_seed`` / ``synthetic_effect``: no exchange needed) for many seeds and reports,
per estimate, the share of runs whose interval covers the generator's truth, and the mean
error. A 95% interval should cover about 95% of the time.

    .venv/bin/python notebooks/_coverage.py --seeds 20
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import papermill

HERE = Path(__file__).resolve().parent
CASES = {
    "policy-effects": {"synthetic_effect": 0.10},
    "health-points": {"synthetic_effect": 1500.0, "research_plan": True},
}


def run(notebook: str, seed: int, parameters: dict, workdir: Path) -> dict:
    results = workdir / f"{notebook}-{seed}.json"
    papermill.execute_notebook(
        str(HERE / f"{notebook}.ipynb"),
        str(workdir / f"{notebook}-{seed}.ipynb"),
        parameters={**parameters, "synthetic_seed": seed, "results_path": str(results)},
        kernel_name="python3",
        cwd=str(HERE),
        progress_bar=False,
    )
    return json.loads(results.read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20, help="number of seeds (from 1000)")
    parser.add_argument("--notebook", choices=sorted(CASES), action="append")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        for notebook in args.notebook or sorted(CASES):
            covered, errors = defaultdict(list), defaultdict(list)
            for seed in range(1000, 1000 + args.seeds):
                out = run(notebook, seed, CASES[notebook], Path(tmp))
                for e in out["estimates"] + out.get("other_events", []):
                    if e.get("ci_low") is None:
                        continue
                    covered[e["name"]].append(bool(e["ci_covers_truth"]))
                    errors[e["name"]].append(e.get("effect", e.get("estimate")) -
                                             e["true_effect"])
            print(f"{notebook}: {args.seeds} seeds, {CASES[notebook]}")
            for name, hits in covered.items():
                mean_error = sum(errors[name]) / len(errors[name])
                print(f"  {name:<48} covered {sum(hits):>3}/{len(hits)}  "
                      f"mean error {mean_error:+.4g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
