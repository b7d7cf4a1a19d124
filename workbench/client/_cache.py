"""Optional on-disk cache of query results: Parquet, or GeoParquet for GeoDataFrames.

The key is a SHA-256 of (exchange URL, service, service path, endpoint, query parameters,
frame kind), so the same query against the same exchange hits the same file. A hit returns
an equal frame -- dtypes, geometries and ``.attrs`` provenance included -- without contacting
the server. Columns pandas cannot store in Parquet as-is are encoded: shapely objects as WKB,
dicts and lists (``StructuredValue``) as JSON text; a JSON sidecar records how to decode
them, and the frame's ``.attrs``.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import orjson
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry


def default_cache_dir() -> Path:
    """``$WORKBENCH_CACHE_DIR`` or ``~/.cache/workbench``."""
    if os.environ.get("WORKBENCH_CACHE_DIR"):
        return Path(os.environ["WORKBENCH_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "workbench"


def cache_key(**parts: Any) -> str:
    """A stable hex digest of ``parts`` (JSON with sorted keys)."""
    blob = orjson.dumps(parts, option=orjson.OPT_SORT_KEYS, default=str)
    return hashlib.sha256(blob).hexdigest()[:32]


class FrameCache:
    """A directory of cached frames: ``<key>.parquet`` plus ``<key>.json``."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory).expanduser()

    def __repr__(self) -> str:
        return f"FrameCache({str(self.directory)!r})"

    def _paths(self, key: str) -> tuple[Path, Path]:
        return self.directory / f"{key}.parquet", self.directory / f"{key}.json"

    def load(self, key: str) -> pd.DataFrame | None:
        """The cached frame for ``key``, or ``None``."""
        data_path, meta_path = self._paths(key)
        if not (data_path.exists() and meta_path.exists()):
            return None
        meta = orjson.loads(meta_path.read_bytes())
        if meta["kind"] == "geopandas":
            frame: pd.DataFrame = gpd.read_parquet(data_path)
        else:
            frame = pd.read_parquet(data_path)
        for col in meta["wkb"]:
            frame[col] = _from_wkb(frame[col])
        for col in meta["json"]:
            frame[col] = _from_json(frame[col])
        frame = frame[meta["columns"]]
        frame.attrs = meta["attrs"]
        return frame

    def save(self, key: str, frame: pd.DataFrame) -> None:
        """Store ``frame`` under ``key`` (written atomically)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        data_path, meta_path = self._paths(key)
        is_geo = isinstance(frame, gpd.GeoDataFrame)
        out = frame.copy()
        wkb, json_cols = [], []
        for col in out.columns:
            if out[col].dtype != object or (is_geo and col == frame.geometry.name):
                continue
            present = out[col].dropna()
            if len(present) and all(isinstance(v, BaseGeometry) for v in present):
                out[col] = shapely.to_wkb(np.asarray(out[col], dtype=object))
                wkb.append(col)
            elif len(present) and not all(isinstance(v, str) for v in present):
                out[col] = [None if v is None else orjson.dumps(v).decode() for v in out[col]]
                json_cols.append(col)
        out.attrs = {}
        tmp = data_path.with_suffix(".tmp")
        out.to_parquet(tmp)
        tmp.replace(data_path)
        meta = {
            "kind": "geopandas" if is_geo else "pandas",
            "columns": [str(c) for c in frame.columns],
            "wkb": wkb,
            "json": json_cols,
            "attrs": frame.attrs,
        }
        meta_path.write_bytes(orjson.dumps(meta, default=str))

    def clear(self) -> int:
        """Delete every cached frame; return how many were deleted."""
        n = 0
        for path in self.directory.glob("*.parquet"):
            path.unlink()
            path.with_suffix(".json").unlink(missing_ok=True)
            n += 1
        return n


def _from_wkb(series: pd.Series) -> Any:
    if isinstance(series, gpd.GeoSeries):
        return np.asarray(series, dtype=object)
    values = np.asarray(series, dtype=object)
    out = np.empty(len(values), dtype=object)
    present = np.array([v is not None for v in values], dtype=bool)
    if present.any():
        out[present] = shapely.from_wkb(values[present])
    return out


def _from_json(series: pd.Series) -> Any:
    out = np.empty(len(series), dtype=object)
    out[:] = [None if v is None else orjson.loads(v) for v in series.tolist()]
    return out
