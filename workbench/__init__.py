"""Sapporo Data Commons Workbench.

``import workbench as wb`` gives the whole public API: connect to an exchange (or any
Orion-compatible NGSI v2 broker), browse its catalog, query entities into pandas / GeoPandas
frames, and publish frames back.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
