"""Progress bars (``tqdm.auto``: a widget in notebooks, text in terminals)."""

from __future__ import annotations

from typing import Any

from tqdm.auto import tqdm


def progress_bar(*, total: int, enabled: bool, unit: str, desc: str | None = None) -> Any:
    """A ``tqdm.auto`` bar, or a disabled one (``enabled=False``), usable as a context manager."""
    return tqdm(total=total, disable=not enabled, unit=unit, desc=desc, leave=False)
