import workbench


def test_all_is_sorted_and_complete():
    public = sorted(n for n in dir(workbench) if not n.startswith("_") or n == "__version__")
    exported = set(workbench.__all__)
    assert list(workbench.__all__) == sorted(workbench.__all__)
    modules = {n for n in public if type(getattr(workbench, n)).__name__ == "module"}
    assert set(public) - modules - {"annotations"} <= exported | {"__version__"}
