"""Progress bars: text ``tqdm`` in terminals, an updating display in notebooks.

In a Jupyter kernel the bar is one display output (HTML for people, plain text for files)
updated in place through its display id, and finished with a summary line such as
``sapporo-rail: 1,234/1,234 entities in 0.8 s``. Because notebook runners (papermill,
nbclient) apply display updates to the saved output, an executed notebook keeps that
readable line rather than a widget's first frame ``0%|`` (ADR 0143).
"""

from __future__ import annotations

import html
import threading
import time
from typing import Any

from tqdm import tqdm

_MIN_INTERVAL_S = 0.2


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


class DisplayBar:
    """A progress bar shown as one updatable notebook output (thread-safe)."""

    def __init__(self, *, total: int, unit: str, desc: str | None = None) -> None:
        self.total = int(total)
        self.unit = unit
        self.desc = desc
        self.n = 0
        self._started = time.monotonic()
        self._shown = 0.0
        self._lock = threading.Lock()
        self._handle: Any = None

    def _bundle(self, *, done: bool) -> dict[str, str]:
        elapsed = time.monotonic() - self._started
        head = f"{self.desc}: " if self.desc else ""
        if done:
            text = f"{head}{self.n:,}/{self.total:,} {self.unit} in {elapsed:.1f} s"
        else:
            share = self.n / self.total if self.total else 1.0
            text = f"{head}{share:4.0%} {self.n:,}/{self.total:,} {self.unit} ({elapsed:.1f} s)"
        width = 0 if not self.total else min(100, round(100 * self.n / self.total))
        bar = (
            f'<progress value="{width}" max="100" style="width:16em"></progress> '
            if not done
            else ""
        )
        return {"text/plain": text, "text/html": f"<div>{bar}{html.escape(text)}</div>"}

    def _show(self, *, done: bool = False) -> None:
        from IPython.display import display

        bundle = self._bundle(done=done)
        if self._handle is None:
            self._handle = display(bundle, raw=True, display_id=True)
        else:
            self._handle.update(bundle, raw=True)
        self._shown = time.monotonic()

    def update(self, n: int = 1) -> None:
        with self._lock:
            self.n = min(self.total, self.n + int(n)) if self.total else self.n + int(n)
            if time.monotonic() - self._shown >= _MIN_INTERVAL_S:
                self._show()

    def close(self) -> None:
        with self._lock:
            self._show(done=True)

    def __enter__(self) -> DisplayBar:
        with self._lock:
            self._show()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def progress_bar(*, total: int, enabled: bool, unit: str, desc: str | None = None) -> Any:
    """A progress bar usable as a context manager: :class:`DisplayBar` in a notebook
    kernel, text ``tqdm`` elsewhere, or a disabled ``tqdm`` when ``enabled=False``."""
    if enabled and _in_kernel():
        return DisplayBar(total=total, unit=unit, desc=desc)
    return tqdm(total=total, disable=not enabled, unit=unit, desc=desc, leave=False)
