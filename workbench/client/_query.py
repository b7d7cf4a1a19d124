"""Lazy entity queries: parameters, paging, and conversion to (Geo)DataFrames.

Nothing is fetched until ``.count()``, ``.pages()``, iteration, ``.to_pandas()`` or
``.to_geopandas()``. The first page is requested with ``options=count``; once
``Fiware-Total-Count`` is known the remaining pages of 1000 are fetched concurrently (a
bounded pool, 4 by default) and reassembled in order.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import orjson
import pandas as pd

from ..ngsi import entities_to_frame, query_geometry, to_geodataframe
from ..ngsi._frames import FrameBuilder
from ..ngsi._geometry import is_geometry
from ..ngsi._types import common_type
from ._check import check_query_op
from ._http import Batch, Operation, Request, Response, one
from ._progress import progress_bar
from ._provenance import ProductRef, provenance

if TYPE_CHECKING:
    import geopandas as gpd

    from ._exchange import AsyncExchange, Exchange

PAGE_SIZE = 1000  # NGSI v2 maximum


def _join(value: str | Sequence[str] | None, sep: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return sep.join(value)


def build_params(
    *,
    type: str | Sequence[str] | None = None,
    id: str | Sequence[str] | None = None,
    id_pattern: str | None = None,
    q: str | Sequence[str] | None = None,
    mq: str | Sequence[str] | None = None,
    georel: str | None = None,
    geometry: Any = None,
    coords: str | None = None,
    attrs: Sequence[str] | str | None = None,
    order_by: str | None = None,
) -> dict[str, str]:
    """NGSI v2 ``GET /v2/entities`` parameters from the client's keyword arguments.

    ``geometry`` may be a shapely geometry in longitude/latitude (converted to NGSI's
    latitude-first ``coords``), or an NGSI geometry name with ``coords`` given. A shapely
    geometry without ``georel`` means ``georel="intersects"``.
    """
    if id is not None and id_pattern is not None:
        raise ValueError("give either id= or id_pattern=, not both")
    params: dict[str, str | None] = {
        "type": _join(type, ","),
        "id": _join(id, ","),
        "idPattern": id_pattern,
        "q": _join(q, ";"),
        "mq": _join(mq, ";"),
        "attrs": _join(attrs, ","),
        "orderBy": order_by,
    }
    if geometry is not None:
        if is_geometry(geometry):
            if coords is not None:
                raise ValueError("coords= is computed from a shapely geometry; do not pass both")
            geometry, coords = query_geometry(geometry)
            georel = georel or "intersects"
        elif coords is None:
            raise ValueError("geometry given as a string needs coords='lat,lon;...' as well")
        if georel is None:
            raise ValueError("a geo-query needs georel= (e.g. 'near;maxDistance:500', 'coveredBy')")
        params.update(georel=georel, geometry=str(geometry), coords=coords)
    elif georel is not None or coords is not None:
        raise ValueError("georel= and coords= need geometry= as well")
    return {k: v for k, v in params.items() if v is not None}


@dataclass(frozen=True)
class QuerySpec:
    """Everything that defines a query's result (also the cache key)."""

    target: str | None
    params: dict[str, str] = field(default_factory=dict)
    limit: int | None = None
    metadata: bool = False
    flatten: bool = False

    def options(self) -> dict[str, Any]:
        return {"limit": self.limit, "metadata": self.metadata, "flatten": self.flatten}

    def key(self) -> dict[str, Any]:
        return {"params": dict(sorted(self.params.items())), **self.options()}


def _page_request(
    ref: ProductRef,
    params: dict[str, str],
    *,
    offset: int,
    limit: int,
    count: bool,
    key_values: bool = False,
) -> Request:
    query = [*params.items(), ("limit", str(limit)), ("offset", str(offset))]
    options = [o for o, on in (("count", count), ("keyValues", key_values)) if on]
    if options:
        query.append(("options", ",".join(options)))
    return Request("GET", "/v2/entities", params=query, headers=ref.headers())


def _total(response: Response) -> int | None:
    value = response.headers.get("fiware-total-count")
    return int(value) if value is not None else None


def fetch_pages_op(
    ref: ProductRef,
    spec: QuerySpec,
    *,
    progress: bool,
    on_page: Callable[[list[dict[str, Any]]], None],
    key_values: bool = False,
) -> Operation[int]:
    """Fetch every entity of ``spec`` (up to ``spec.limit``); hand each page to ``on_page``
    in order, as soon as it is decoded. Return the number of entities."""
    first_size = min(PAGE_SIZE, spec.limit) if spec.limit is not None else PAGE_SIZE
    (first,) = yield one(
        _page_request(
            ref, spec.params, offset=0, limit=first_size, count=True, key_values=key_values
        )
    )
    page = orjson.loads(first.content)
    got = len(page)
    on_page(page)
    total = _total(first)
    if total is None:  # a broker that ignores options=count: page until a short page
        while got and got % PAGE_SIZE == 0 and (spec.limit is None or got < spec.limit):
            size = PAGE_SIZE if spec.limit is None else min(PAGE_SIZE, spec.limit - got)
            req = _page_request(
                ref, spec.params, offset=got, limit=size, count=False, key_values=key_values
            )
            (response,) = yield one(req)
            page = orjson.loads(response.content)
            if not page:
                break
            got += len(page)
            on_page(page)
        return got
    wanted = total if spec.limit is None else min(total, spec.limit)
    offsets = list(range(got, wanted, PAGE_SIZE)) if got == first_size else []
    if not offsets:
        return got
    requests = [
        _page_request(
            ref,
            spec.params,
            offset=o,
            limit=min(PAGE_SIZE, wanted - o),
            count=False,
            key_values=key_values,
        )
        for o in offsets
    ]
    index = {id(r): i for i, r in enumerate(requests)}
    in_order = _InOrder(on_page)

    def decode(response: Response) -> None:
        # Runs in the worker that fetched the page, so decoding overlaps the other downloads.
        page = orjson.loads(response.content)
        response.content = b""
        bar.update(len(page))
        in_order.put(index[id(response.request)], page)

    with progress_bar(total=wanted, enabled=progress, unit="entities") as bar:
        bar.update(got)
        yield Batch(requests, on_response=decode)
    in_order.drain()
    return got + in_order.count


class _InOrder:
    """Feeds pages that complete in any order to ``sink`` in request order (thread-safe)."""

    def __init__(self, sink: Callable[[list[dict[str, Any]]], None]) -> None:
        self.sink = sink
        self.next = 0
        self.count = 0
        self.pending: dict[int, list[dict[str, Any]]] = {}
        self.lock = threading.Lock()
        self.draining = threading.Lock()

    def put(self, i: int, page: list[dict[str, Any]]) -> None:
        with self.lock:
            self.pending[i] = page
        self.drain(blocking=False)

    def drain(self, *, blocking: bool = True) -> None:
        while self.draining.acquire(blocking=blocking):
            try:
                while True:
                    with self.lock:
                        page = self.pending.pop(self.next, None)
                        if page is None:
                            break
                        self.next += 1
                    self.sink(page)
                    self.count += len(page)
            finally:
                self.draining.release()
            with self.lock:
                if self.next not in self.pending:
                    return


def fetch_entities_op(
    ref: ProductRef, spec: QuerySpec, *, progress: bool
) -> Operation[list[dict[str, Any]]]:
    """Fetch every entity of ``spec`` (up to ``spec.limit``) as decoded dicts, in order."""
    entities: list[dict[str, Any]] = []
    yield from fetch_pages_op(ref, spec, progress=progress, on_page=entities.extend)
    return entities


def count_op(ref: ProductRef, spec: QuerySpec) -> Operation[int]:
    (response,) = yield one(_page_request(ref, spec.params, offset=0, limit=1, count=True))
    total = _total(response)
    if total is None:
        raise ValueError("the server did not return Fiware-Total-Count for options=count")
    return total if spec.limit is None else min(total, spec.limit)


def attr_types_op(ref: ProductRef, spec: QuerySpec) -> Operation[dict[str, set[str]]]:
    """NGSI types of each attribute of the queried entity type (``GET /v2/types/{type}``).

    Empty when the query is not for exactly one type or the broker cannot say.
    """
    etype = spec.params.get("type")
    if not etype or "," in etype:
        return {}
    from ._errors import WorkbenchConnectionError, WorkbenchError

    try:
        (response,) = yield one(Request("GET", f"/v2/types/{etype}", headers=ref.headers()))
    except WorkbenchConnectionError:
        raise
    except WorkbenchError:
        return {}
    attrs = (response.json() or {}).get("attrs", {})
    types = {name: set(info.get("types") or []) for name, info in attrs.items()}
    wanted = spec.params.get("attrs")
    if wanted:
        types = {n: types.get(n, set()) for n in wanted.split(",") if n not in ("id", "type")}
    return types


def _key_values_types(types: dict[str, set[str]]) -> dict[str, str] | None:
    """A ``{attribute: type}`` map if every attribute has one unambiguous type, else None."""
    if not types:
        return None
    single = {name: common_type(ts) for name, ts in types.items()}
    if any(t is None for t in single.values()):
        return None
    return single  # type: ignore[return-value]


def frame_op(
    exchange: Exchange | AsyncExchange, spec: QuerySpec, *, geo: bool, progress: bool
) -> Operation[pd.DataFrame]:
    """Resolve the product, fetch all pages and build the frame with provenance."""
    ref = yield from exchange._resolve_op(spec.target)
    yield from check_query_op(exchange, ref, spec.params)
    # With the attribute types known up front (one small request), pages can be fetched as
    # keyValues: about half the bytes to render, send and parse.
    types = {} if spec.metadata else (yield from attr_types_op(ref, spec))
    kv_types = _key_values_types(types)
    builder = FrameBuilder(metadata=spec.metadata, key_values_types=kv_types)
    n = yield from fetch_pages_op(
        ref, spec, progress=progress, on_page=builder.add, key_values=kv_types is not None
    )
    if not n and not types and not spec.metadata:
        types = yield from attr_types_op(ref, spec)
    attr_types = {k: common_type(v) for k, v in types.items()} if not n else None
    frame = builder.frame(flatten=spec.flatten, attr_types=attr_types)
    frame.attrs.update(
        provenance(
            url=exchange.url,
            ref=ref,
            endpoint="/v2/entities",
            params=dict(spec.params),
            options=spec.options(),
            count=len(frame),
        )
    )
    if geo:
        frame = to_geodataframe(frame)
    return frame


class _QueryBase:
    def __init__(self, exchange: Any, spec: QuerySpec) -> None:
        self._exchange = exchange
        self.spec = spec

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.spec.params.items())
        target = self.spec.target or self._exchange.service
        return f"<{type(self).__name__} {target!r} {params}>"

    def _count_op(self) -> Operation[int]:
        ref = yield from self._exchange._resolve_op(self.spec.target)
        yield from check_query_op(self._exchange, ref, self.spec.params)
        return (yield from count_op(ref, self.spec))

    def limit(self, n: int) -> Any:
        """A copy of this query returning at most ``n`` entities."""
        return type(self)(self._exchange, replace(self.spec, limit=n))

    def _checked_ref_op(self) -> Operation[ProductRef]:
        ref = yield from self._exchange._resolve_op(self.spec.target)
        yield from check_query_op(self._exchange, ref, self.spec.params)
        return ref

    def _page_specs(self, ref: ProductRef) -> Iterator[tuple[Request, int]]:
        offset = 0
        while self.spec.limit is None or offset < self.spec.limit:
            size = (
                PAGE_SIZE if self.spec.limit is None else min(PAGE_SIZE, self.spec.limit - offset)
            )
            yield _page_request(ref, self.spec.params, offset=offset, limit=size, count=False), size
            offset += size

    def _page_frame(self, response: Response, ref: ProductRef, offset: int) -> pd.DataFrame:
        frame = entities_to_frame(
            response.json(), metadata=self.spec.metadata, flatten=self.spec.flatten
        )
        frame.index = pd.RangeIndex(offset, offset + len(frame))
        frame.attrs.update(
            provenance(
                url=self._exchange.url,
                ref=ref,
                endpoint="/v2/entities",
                params=dict(self.spec.params),
                options=self.spec.options(),
                count=len(frame),
            )
        )
        return frame


class Query(_QueryBase):
    """A lazy NGSI v2 entity query; create it with :meth:`Exchange.entities`.

    Examples
    --------
    >>> q = ex.entities("sapporo-bus-stops", type="BusStop", q="ward==Chuo")  # doctest: +SKIP
    >>> q.count()                                                           # doctest: +SKIP
    >>> gdf = q.to_geopandas()                                              # doctest: +SKIP
    """

    def count(self) -> int:
        """Number of matching entities (one request, ``options=count``)."""
        ex = self._exchange
        return ex._run(self._count_op())

    def pages(self) -> Iterator[pd.DataFrame]:
        """Fetch and yield one typed DataFrame per page of up to 1000 entities, in order."""
        ex = self._exchange
        ref = ex._run(self._checked_ref_op())
        offset = 0
        for request, size in self._page_specs(ref):
            response = ex._session.send(request)
            frame = self._page_frame(response, ref, offset)
            if len(frame):
                yield frame
            if len(frame) < size:
                return
            offset += size

    def __iter__(self) -> Iterator[pd.DataFrame]:
        return self.pages()

    def to_pandas(self, *, refresh: bool = False) -> pd.DataFrame:
        """All matching entities as a typed DataFrame (geometries as shapely objects).

        With the exchange's cache enabled, a previously fetched result is returned from disk
        without contacting the server, unless ``refresh=True``.
        """
        return self._exchange._cached_frame(self.spec, geo=False, refresh=refresh)

    def to_geopandas(self, *, refresh: bool = False) -> gpd.GeoDataFrame:
        """All matching entities as a GeoDataFrame in EPSG:4326.

        The active geometry is the ``location`` attribute if present, else the first
        ``geo:json`` / ``geo:point`` attribute.
        """
        return self._exchange._cached_frame(self.spec, geo=True, refresh=refresh)


class AsyncQuery(_QueryBase):
    """The async twin of :class:`Query` (from :meth:`AsyncExchange.entities`)."""

    async def count(self) -> int:
        return await self._exchange._run(self._count_op())

    async def pages(self) -> AsyncIterator[pd.DataFrame]:
        ex = self._exchange
        ref = await ex._run(self._checked_ref_op())
        offset = 0
        for request, size in self._page_specs(ref):
            response = await ex._session.send(request)
            frame = self._page_frame(response, ref, offset)
            if len(frame):
                yield frame
            if len(frame) < size:
                return
            offset += size

    def __aiter__(self) -> AsyncIterator[pd.DataFrame]:
        return self.pages()

    async def to_pandas(self, *, refresh: bool = False) -> pd.DataFrame:
        return await self._exchange._cached_frame(self.spec, geo=False, refresh=refresh)

    async def to_geopandas(self, *, refresh: bool = False) -> gpd.GeoDataFrame:
        return await self._exchange._cached_frame(self.spec, geo=True, refresh=refresh)
