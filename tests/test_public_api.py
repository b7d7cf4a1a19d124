import re
from pathlib import Path

import workbench


def test_all_is_sorted_and_every_name_resolves():
    assert list(workbench.__all__) == sorted(workbench.__all__)
    for name in workbench.__all__:
        assert getattr(workbench, name) is not None, name


def test_every_public_name_is_exported():
    public = {n for n in dir(workbench) if not n.startswith("_")}
    modules = {n for n in public if type(getattr(workbench, n)).__name__ == "module"}
    helpers = {"annotations", "importlib", "TYPE_CHECKING"}
    assert public - modules - helpers == set(workbench.__all__)


def test_client_side_never_imports_the_server():
    root = Path(workbench.__file__).parent
    imports_server = re.compile(r"^\s*(from|import)\s+workbench\.server", re.MULTILINE)
    for part in ("client", "ngsi", "analysis"):
        for path in (root / part).rglob("*.py"):
            assert not imports_server.search(path.read_text(encoding="utf-8")), path


def test_lazy_analysis_names_are_all_exported():
    assert set(workbench._LAZY) <= set(workbench.__all__)
