"""What the workshop series needs from an account, read from the notebooks themselves.

The trainer's ``workbench users create-workshop`` / ``check-workshop`` and the environment
check (workshop 00) both ask the same question: *which products does each notebook query,
which does it subscribe to itself, and does it publish?* The answer is derived from the
notebooks' code (ADR 0140) — calls such as ``ex.entities("sapporo-rail", ...)``,
``ex.history(product_id, ...)``, ``ex.subscribe(...)``, ``ex.publish(frame, ...)`` with their
product argument resolved through the notebook's literal assignments (the parameters cell)
— so a new notebook or a changed parameter cannot drift from a hand-kept list.

Only the standard library is used: the server's CLI and the client's notebooks share it.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["NotebookNeeds", "notebook_needs", "workshop_dir", "workshop_needs"]

_QUERY_CALLS = {"entities": 0, "history": 0}
_SUBSCRIBE_CALLS = {"subscribe": 0}
_PUBLISH_CALLS = {"publish": 1, "create_product": 0}


@dataclass
class NotebookNeeds:
    """What one notebook needs.

    Attributes
    ----------
    name
        The notebook's file stem, e.g. ``"03-query-and-map"``.
    queries
        Products whose entities or history it reads (it needs an active subscription).
    subscribes
        Products it subscribes to itself (the participant does it in the notebook).
    publishes
        Whether it creates or publishes a product (it needs a provider account).
    """

    name: str
    queries: set[str] = field(default_factory=set)
    subscribes: set[str] = field(default_factory=set)
    publishes: bool = False

    @property
    def needs(self) -> set[str]:
        """Products the account must be subscribed to before the notebook runs."""
        return self.queries - self.subscribes


def workshop_dir() -> Path | None:
    """The ``notebooks/workshop`` folder of a source checkout (or of the current
    directory), or None when it cannot be found."""
    candidates = [
        Path.cwd(),
        Path.cwd() / "notebooks" / "workshop",
        Path(__file__).resolve().parents[1] / "notebooks" / "workshop",
    ]
    for path in candidates:
        if sorted(path.glob("0[0-9]-*.ipynb")) or sorted(path.glob("0[0-9]-*.py")):
            return path
    return None


def _code_cells(path: Path) -> list[str]:
    if path.suffix == ".ipynb":
        nb = json.loads(path.read_text(encoding="utf-8"))
        cells = []
        for cell in nb.get("cells", []):
            if cell.get("cell_type") == "code":
                source = cell.get("source", "")
                cells.append("".join(source) if isinstance(source, list) else source)
        return cells
    text = path.read_text(encoding="utf-8")  # percent-format source
    return [text]


def _parse(source: str) -> ast.Module | None:
    lines = [ln for ln in source.splitlines() if not ln.lstrip().startswith(("%", "!"))]
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError:
        return None


def notebook_needs(path: str | Path) -> NotebookNeeds:
    """Read one notebook (``.ipynb`` or percent ``.py``) and return what it needs.

    A call's product argument counts when it is a string literal, or a name bound to a
    string literal anywhere in the notebook (typically in the parameters cell).
    """
    path = Path(path)
    trees = [t for t in (_parse(c) for c in _code_cells(path)) if t is not None]
    names: dict[str, str] = {}
    for tree in trees:
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Assign)
                and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)
            ):
                names.setdefault(node.targets[0].id, node.value.value)
    out = NotebookNeeds(path.stem)

    def product_of(call: ast.Call, position: int) -> str | None:
        arg: ast.expr | None = call.args[position] if len(call.args) > position else None
        for kw in call.keywords:
            if kw.arg in ("product", "product_id", "product_or_service"):
                arg = kw.value
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            return arg.value
        if isinstance(arg, ast.Name):
            return names.get(arg.id)
        return None

    for tree in trees:
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            method = node.func.attr
            if method in _QUERY_CALLS:
                product = product_of(node, _QUERY_CALLS[method])
                if product:
                    out.queries.add(product)
            elif method in _SUBSCRIBE_CALLS:
                product = product_of(node, _SUBSCRIBE_CALLS[method])
                if product:
                    out.subscribes.add(product)
            elif method in _PUBLISH_CALLS:
                out.publishes = True
    out.queries -= {p for p in out.queries if p in _published_names(trees, names)}
    return out


def _published_names(trees: list[ast.Module], names: dict[str, str]) -> set[str]:
    """Products the notebook publishes into (its own product, not a subscription)."""
    published = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                position = _PUBLISH_CALLS.get(node.func.attr)
                if position is None or len(node.args) <= position:
                    continue
                arg = node.args[position]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    published.add(arg.value)
                elif isinstance(arg, ast.Name) and arg.id in names:
                    published.add(names[arg.id])
    return published


def workshop_needs(folder: str | Path | None = None) -> dict[str, NotebookNeeds]:
    """What every notebook of the workshop series needs, keyed by notebook stem.

    Parameters
    ----------
    folder
        The workshop folder (default: :func:`workshop_dir`). Its numbered notebooks and
        those in ``solutions/`` are read; a notebook and its solution count as one.

    Raises
    ------
    FileNotFoundError
        No workshop notebooks in ``folder``.
    """
    folder = Path(folder) if folder is not None else workshop_dir()
    if folder is None:
        raise FileNotFoundError(
            "cannot find the workshop notebooks (notebooks/workshop); pass their folder"
        )
    paths = sorted(folder.glob("0[0-9]-*.ipynb")) or sorted(folder.glob("0[0-9]-*.py"))
    if not paths:
        raise FileNotFoundError(f"no numbered workshop notebooks in {folder}")
    paths += sorted((folder / "solutions").glob("0[0-9]-*.ipynb"))
    merged: dict[str, NotebookNeeds] = {}
    for path in paths:
        needs = notebook_needs(path)
        into = merged.setdefault(needs.name, NotebookNeeds(needs.name))
        into.queries |= needs.queries
        into.subscribes |= needs.subscribes
        into.publishes = into.publishes or needs.publishes
    return merged
