"""Publishing frames as entities (``POST /v2/op/update``, ``actionType=append``) in chunks."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..ngsi import frame_to_entities
from ._http import Batch, Operation, Request
from ._progress import progress_bar
from ._provenance import ProductRef


def publish_op(
    ref: ProductRef,
    frame: pd.DataFrame,
    *,
    type: str | None,
    id_column: str,
    chunk_size: int,
    progress: bool,
) -> Operation[dict[str, Any]]:
    """Write every row of ``frame`` as an entity; return ``{"entities", "requests"}``.

    ``append`` creates missing entities and adds or replaces the given attributes of
    existing ones, so publishing the same frame twice is harmless (and retries are safe).
    """
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    entities = frame_to_entities(frame, type=type, id_column=id_column)
    requests = [
        Request(
            "POST",
            "/v2/op/update",
            headers=ref.headers(),
            json={"actionType": "append", "entities": entities[i : i + chunk_size]},
        )
        for i in range(0, len(entities), chunk_size)
    ]
    sizes = {id(r): len(r.json["entities"]) for r in requests}
    with progress_bar(total=len(entities), enabled=progress, unit="entities") as bar:
        if requests:
            yield Batch(requests, on_response=lambda r: bar.update(sizes[id(r.request)]))
    return {"entities": len(entities), "requests": len(requests)}
