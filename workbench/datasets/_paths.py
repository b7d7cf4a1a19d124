"""Where the Sapporo sample data lives: ``WORKBENCH_SAMPLE_DATA`` or ``../shared/data``."""

from __future__ import annotations

import os
from pathlib import Path

import workbench

ENV_VAR = "WORKBENCH_SAMPLE_DATA"


def default_sample_data_dir() -> Path:
    """Return ``../shared/data`` relative to the repository root (the default location)."""
    return Path(workbench.__file__).resolve().parents[1].parent / "shared" / "data"


def sample_data_dir(sample_data: str | os.PathLike[str] | None = None) -> Path:
    """Return the directory that holds ``sapporo/`` (the Sapporo sample data).

    Parameters
    ----------
    sample_data
        An explicit directory; when omitted, the ``WORKBENCH_SAMPLE_DATA`` environment variable,
        else ``../shared/data`` relative to the repository root.

    Raises
    ------
    FileNotFoundError
        When the directory (or its ``sapporo/`` folder) does not exist; the message names the
        directory tried and the ``WORKBENCH_SAMPLE_DATA`` variable that selects another one.
    """
    if sample_data is not None:
        root, how = Path(sample_data), "the sample_data argument"
    elif os.environ.get(ENV_VAR):
        root, how = Path(os.environ[ENV_VAR]), f"the {ENV_VAR} environment variable"
    else:
        root, how = default_sample_data_dir(), f"the default (set {ENV_VAR} to change it)"
    root = root.expanduser().resolve()
    if not (root / "sapporo").is_dir():
        raise FileNotFoundError(
            f"Sapporo sample data not found: {root / 'sapporo'} does not exist (directory from "
            f"{how}). Point {ENV_VAR} at the folder that contains 'sapporo/' "
            "(shared/data beside the repository), e.g. "
            f"`export {ENV_VAR}=/path/to/shared/data`."
        )
    return root


def sample_file(relative: str, *, sample_data: str | os.PathLike[str] | None = None) -> Path:
    """Return the path of one file under ``sapporo/``, with a clear error if it is missing."""
    path = sample_data_dir(sample_data) / "sapporo" / relative
    if not path.exists():
        raise FileNotFoundError(
            f"Sapporo sample file missing: {path}. The sample data folder is incomplete; "
            f"restore it or point {ENV_VAR} at a complete copy."
        )
    return path
