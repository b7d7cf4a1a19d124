"""Build the curated notebooks from their percent-format sources, outputs stripped.

The reviewable source of every notebook is a plain Python file under ``notebooks/_src/`` in
the "percent" format that Jupytext, VS Code and Spyder understand:

- ``# %%`` starts a code cell;
- ``# %% [markdown]`` starts a markdown cell whose lines are written as ``# text``;
- ``# %% tags=["parameters"]`` starts the papermill parameters cell (exactly one per notebook);
- ``# %% [solution]`` (workshop only) starts a code cell that goes to the separate solutions
  notebook instead of the exercise notebook; cells tagged ``setup`` go to both.

``python notebooks/_build.py`` writes every ``.ipynb`` (no outputs, ``execution_count``
null); ``python notebooks/_build.py --check`` exits non-zero if a committed notebook differs
from its source (the test suite runs it). ``python notebooks/_build.py --strip FILE...``
strips the outputs of notebooks edited in Jupyter, in place, like ``nbstripout``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "_src"
_MARKER = re.compile(r"^# %%(?P<rest>.*)$")
_KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


@dataclass
class Cell:
    kind: str  # "code" | "markdown"
    lines: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    solution: bool = False

    @property
    def source(self) -> str:
        lines = list(self.lines)
        while lines and not lines[-1].strip():
            lines.pop()
        while lines and not lines[0].strip():
            lines.pop(0)
        if self.kind == "markdown":
            lines = [_uncomment(line) for line in lines]
        return "\n".join(lines)


def _uncomment(line: str) -> str:
    if line.startswith("# "):
        return line[2:]
    if line.strip() == "#":
        return ""
    raise ValueError(f"markdown lines must start with '# ': {line!r}")


def _parse_marker(rest: str) -> Cell:
    rest = rest.strip()
    if rest == "":
        return Cell("code")
    if rest == "[markdown]":
        return Cell("markdown")
    if rest == "[solution]":
        return Cell("code", solution=True)
    match = re.fullmatch(r"tags=(\[.*\])", rest)
    if match:
        return Cell("code", tags=json.loads(match.group(1)))
    raise ValueError(f"unknown cell marker '# %% {rest}'")


def parse(text: str) -> list[Cell]:
    """Split a percent-format source into cells (text before the first marker is dropped)."""
    cells: list[Cell] = []
    for line in text.splitlines():
        match = _MARKER.match(line)
        if match:
            cells.append(_parse_marker(match.group("rest")))
        elif cells:
            cells[-1].lines.append(line)
    return [c for c in cells if c.source]


def _notebook(cells: list[Cell]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": dict(_KERNELSPEC),
        "language_info": {"name": "python"},
    }
    for i, cell in enumerate(cells):
        if cell.kind == "markdown":
            new = nbformat.v4.new_markdown_cell(cell.source)
        else:
            new = nbformat.v4.new_code_cell(cell.source)
            new.execution_count = None
            new.outputs = []
        new.id = f"cell-{i:02d}"
        new.metadata = {"tags": list(cell.tags)} if cell.tags else {}
        nb.cells.append(new)
    nbformat.validate(nb)
    return nb


def _solution_cells(name: str, cells: list[Cell]) -> list[Cell]:
    title = Cell("markdown", [f"# Solutions: {name}", "#",
                              f"# The exercises of `../{name}.ipynb`, solved. Try them first."])
    keep = [c for c in cells if c.solution or "parameters" in c.tags or "setup" in c.tags]
    out = [title]
    for cell in keep:
        out.append(Cell(cell.kind, cell.lines, [t for t in cell.tags if t != "setup"]))
    return out


def build_all() -> dict[Path, str]:
    """Return ``{notebook path: JSON text}`` for every source under ``_src``."""
    built: dict[Path, str] = {}
    for src in sorted(SOURCES.rglob("*.py")):
        rel = src.relative_to(SOURCES).with_suffix(".ipynb")
        cells = parse(src.read_text(encoding="utf-8"))
        n_params = sum("parameters" in c.tags for c in cells)
        if n_params != 1:
            raise ValueError(f"{src}: expected exactly one 'parameters' cell, found {n_params}")
        main = [
            Cell(c.kind, c.lines, [t for t in c.tags if t != "setup"])
            for c in cells
            if not c.solution
        ]
        built[HERE / rel] = _dumps(_notebook(main))
        if any(c.solution for c in cells):
            sol = HERE / rel.parent / "solutions" / rel.name
            built[sol] = _dumps(_notebook(_solution_cells(rel.stem, cells)))
    return built


def _dumps(nb: nbformat.NotebookNode) -> str:
    return nbformat.writes(nb) + "\n"


def strip(path: Path) -> None:
    """Remove outputs and execution counts from a notebook in place."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)
        cell.metadata.pop("papermill", None)
    nb.metadata.pop("papermill", None)
    nbformat.write(nb, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a notebook is stale")
    parser.add_argument("--strip", nargs="+", metavar="FILE", help="strip outputs in place")
    args = parser.parse_args(argv)
    if args.strip:
        for name in args.strip:
            strip(Path(name))
        return 0
    built = build_all()
    stale = [p for p, text in built.items() if not p.exists() or p.read_text("utf-8") != text]
    if args.check:
        for path in stale:
            print(f"stale: {path.relative_to(HERE)} (run python notebooks/_build.py)")
        return 1 if stale else 0
    for path in stale:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(built[path], encoding="utf-8")
        print(f"wrote {path.relative_to(HERE)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
