"""Analyses as functions over frames and graphs: privacy, walkability, effects, health.

One module per concern, imported lazily (``workbench.analysis.walkability`` pulls in
networkx and scipy, ``effects`` statsmodels):

- :mod:`~workbench.analysis.privacy`: :func:`suppress_small_cells` (one table) and
  :func:`suppress_linked_cells` (a release that counts the same people many times, e.g. a
  monthly panel), the suppression every public figure about people passes through;
- :mod:`~workbench.analysis.walkability`: walking graph, network accessibility, Walk-Score-
  style score and Frank-style index;
- :mod:`~workbench.analysis.effects`: interrupted time series, difference-in-differences,
  event study, pre-period matching;
- :mod:`~workbench.analysis.health`: health-point aggregates (always suppressed) and
  programme effects.

This package never imports :mod:`workbench.server` or :mod:`workbench.client`.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "EffectEstimate": "effects",
    "accessibility": "walkability",
    "compare_groups": "effects",
    "difference_in_differences": "effects",
    "event_study": "effects",
    "find_recoverable_cells": "privacy",
    "frank_index": "walkability",
    "interrupted_time_series": "effects",
    "intersection_nodes": "walkability",
    "linked_cell_ranges": "privacy",
    "match_on_pre_period": "effects",
    "naive_comparison": "health",
    "nearest_nodes": "walkability",
    "participation": "health",
    "programme_effect": "health",
    "programme_event_study": "health",
    "programme_panel": "health",
    "sapporo_underground_walkways": "walkability",
    "step_trajectories": "health",
    "steps_by_area_score": "health",
    "steps_by_month": "health",
    "suppress_linked_cells": "privacy",
    "suppress_small_cells": "privacy",
    "walk_graph": "walkability",
    "walk_score": "walkability",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        module = importlib.import_module(f"{__name__}.{_EXPORTS[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
