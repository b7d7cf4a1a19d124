"""``connect()`` and the :class:`Exchange` (sync) / :class:`AsyncExchange` (async) handles.

Both share every operation (see :mod:`._http`): the sync class drives them with an
``httpx.Client`` and a thread pool, the async class with an ``httpx.AsyncClient``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import httpx
import pandas as pd

from . import _catalog
from ._auth import Credentials
from ._cache import FrameCache, cache_key, default_cache_dir
from ._config import resolve_settings
from ._errors import (
    CatalogUnavailableError,
    NotFoundError,
    ServerError,
    WorkbenchConnectionError,
    WorkbenchError,
)
from ._gcpause import gc_paused
from ._history import history_op, history_params, history_path
from ._http import AsyncSession, Operation, RetryPolicy, SyncSession, run_async
from ._http import run_sync as _run_sync
from ._provenance import ProductRef, provenance
from ._publish import publish_op
from ._query import AsyncQuery, Query, QuerySpec, build_params, frame_op


def _ref_from_product(body: dict[str, Any], servicepath: str | None) -> ProductRef:
    terms = body.get("terms") or {}
    return ProductRef(
        service=body.get("service"),
        servicepath=servicepath,
        product=body.get("id"),
        title=body.get("title"),
        licence=body.get("licence"),
        attribution=body.get("attribution"),
        terms_version=None if terms.get("version") is None else str(terms["version"]),
    )


class _ExchangeBase:
    """State and operations shared by :class:`Exchange` and :class:`AsyncExchange`."""

    def __init__(
        self,
        *,
        url: str,
        credentials: Credentials,
        service: str | None,
        servicepath: str | None,
        cache: bool | str | os.PathLike[str] | FrameCache,
        progress: bool,
    ) -> None:
        self.url = url.rstrip("/")
        self.service = service
        self.servicepath = servicepath
        self.progress = progress
        self._credentials = credentials
        self._refs: dict[str, ProductRef] = {}
        self._has_catalog: bool | None = None
        if cache is True:
            self.cache: FrameCache | None = FrameCache(default_cache_dir())
        elif cache is False or cache is None:
            self.cache = None
        elif isinstance(cache, FrameCache):
            self.cache = cache
        else:
            self.cache = FrameCache(cache)

    def __repr__(self) -> str:
        auth = (
            "oauth"
            if self._credentials.uses_oauth
            else "api_key"
            if self._credentials.api_key
            else "anonymous"
        )
        return f"<{type(self).__name__} {self.url} auth={auth} service={self.service!r}>"

    # ---------------------------------------------------------------- resolution

    def _resolve_op(self, target: str | None) -> Operation[ProductRef]:
        """Product id or Fiware-Service name -> :class:`ProductRef` (catalog looked up once)."""
        target = target or self.service
        if not target:
            raise ValueError(
                "which product? pass a product id or Fiware-Service name, e.g. "
                "ex.entities('sapporo-wards'), or connect(service=...)"
            )
        if target in self._refs:
            return self._refs[target]
        ref = ProductRef(service=target, servicepath=self.servicepath)
        if self._has_catalog is not False:
            try:
                body = yield from _catalog.api_op(self.url, "GET", _catalog.product_path(target))
                ref = _ref_from_product(body, self.servicepath)
                self._has_catalog = True
            except CatalogUnavailableError:
                self._has_catalog = False
            except (WorkbenchConnectionError, ServerError):
                raise
            except WorkbenchError:
                ref = yield from self._ref_by_service_op(target, ref)
        self._refs[target] = ref
        return ref

    def _ref_by_service_op(self, service: str, default: ProductRef) -> Operation[ProductRef]:
        try:
            body = yield from _catalog.api_op(self.url, "GET", "/api/products")
        except (WorkbenchConnectionError, ServerError):
            raise
        except WorkbenchError:
            return default
        self._has_catalog = True
        for product in _catalog._items(body):
            if product.get("service") == service:
                return _ref_from_product(product, self.servicepath)
        return default

    def _query_spec(self, target: str | None, **kwargs: Any) -> QuerySpec:
        limit = kwargs.pop("limit")
        metadata = kwargs.pop("metadata")
        flatten = kwargs.pop("flatten")
        if limit is not None and limit < 0:
            raise ValueError("limit must be >= 0")
        return QuerySpec(
            target=target or self.service,
            params=build_params(**kwargs),
            limit=limit,
            metadata=metadata,
            flatten=flatten,
        )

    def _frame_key(self, spec: QuerySpec, kind: str) -> str:
        return cache_key(
            url=self.url,
            target=spec.target,
            servicepath=self.servicepath,
            kind=kind,
            query=spec.key(),
        )

    def _history_setup(
        self, entity_id: str | None, type: str | None, attr: str | None, params: dict[str, str]
    ) -> str:
        history_path(entity_id=entity_id, type=type, attr=attr)  # validates the arguments
        return cache_key(
            url=self.url,
            servicepath=self.servicepath,
            kind="history",
            query={"entity_id": entity_id, "type": type, "attr": attr, "params": params},
        )

    def _history_op(
        self,
        product: str | None,
        entity_id: str | None,
        type: str | None,
        attr: str | None,
        params: dict[str, str],
    ) -> Operation[pd.DataFrame]:
        ref = yield from self._resolve_op(product)
        frame = yield from history_op(
            ref, entity_id=entity_id, type=type, attr=attr, params=params, progress=self.progress
        )
        path = history_path(entity_id=entity_id, type=type, attr=attr)
        frame.attrs.update(
            provenance(url=self.url, ref=ref, endpoint=path, params=params, count=len(frame))
        )
        return frame

    def _publish_op(
        self, frame: pd.DataFrame, product: str | None, *, progress: bool | None, **kwargs: Any
    ) -> Operation:
        ref = yield from self._resolve_op(product)
        if self._has_catalog and ref.product is None:
            self._refs.pop(product or self.service or "", None)  # it may be created next
            raise NotFoundError(
                f"the exchange has no product {ref.service!r} to publish into: create it "
                f"first with ex.create_product({ref.service!r}, title=..., licence=..., "
                "attribution=..., plans=[...], terms={...}), with `workbench products create`, "
                "or in the portal (Provider > New product)",
                status=404,
            )
        progress = self.progress if progress is None else progress
        return (yield from publish_op(ref, frame, progress=progress, **kwargs))

    def clear_cache(self) -> int:
        """Delete every cached frame; return how many were deleted."""
        return 0 if self.cache is None else self.cache.clear()


_ENTITIES_DOC = """A lazy query over a product's entities (nothing is fetched yet).

        Parameters
        ----------
        product_or_service : str, optional
            A product id of the catalog, or a ``Fiware-Service`` name (plain brokers);
            defaults to ``connect(service=...)``.
        type, id, id_pattern, q, mq, attrs, order_by
            NGSI v2 filters (``type``, ``id``, ``idPattern``, ``q``, ``mq``, ``attrs``,
            ``orderBy``); lists are joined for you.
        georel, geometry, coords
            Geo-query. ``geometry`` may be a shapely geometry in longitude/latitude: it is
            converted to NGSI's latitude-first ``coords``; ``georel`` then defaults to
            ``"intersects"``. E.g. ``georel="near;maxDistance:500", geometry=Point(lon, lat)``.
        limit : int, optional
            At most this many entities (default: all).
        metadata : bool
            Add ``<attr>.metadata.<name>`` columns.
        flatten : bool
            Expand StructuredValue dicts into dotted columns.
"""


class Exchange(_ExchangeBase):
    """A connection to a data exchange (or a plain NGSI v2 broker); see :func:`connect`."""

    def __init__(
        self,
        *,
        url: str,
        credentials: Credentials,
        service: str | None = None,
        servicepath: str | None = None,
        cache: bool | str | os.PathLike[str] | FrameCache = False,
        progress: bool = True,
        max_concurrency: int = 4,
        timeout_s: float = 60.0,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(
            url=url,
            credentials=credentials,
            service=service,
            servicepath=servicepath,
            cache=cache,
            progress=progress,
        )
        self._session = SyncSession(
            self.url,
            credentials,
            retry=retry,
            timeout_s=timeout_s,
            max_concurrency=max_concurrency,
            transport=transport,
        )

    def _run(self, operation: Operation[Any]) -> Any:
        return _run_sync(operation, self._session)

    def close(self) -> None:
        """Close the connection pool."""
        self._session.close()

    def __enter__(self) -> Exchange:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- catalog

    def products(self, q: str | None = None) -> pd.DataFrame:
        """The catalog as a DataFrame (one row per product); ``q`` searches it."""
        return self._run(_catalog.products_op(self.url, q))

    def product(self, product_id: str) -> _catalog.Product:
        """A product's detail: terms, licence, quality, plans and a preview frame."""
        return self._run(_catalog.product_op(self.url, product_id))

    def plans(self, product: str) -> pd.DataFrame:
        """The plans of ``product`` as a DataFrame."""
        return self._run(_catalog.plans_op(self.url, product))

    def subscribe(
        self, product: str, *, plan: str, purpose: str, accept_terms: str | int
    ) -> dict[str, Any]:
        """Subscribe to ``product``: ``plan`` (id or name), a declared ``purpose``, and the
        version of the terms you accept (see ``ex.product(id).terms``).

        Returns the subscription; its ``status`` is ``active``, or ``pending`` for restricted
        products until the provider approves it.
        """
        op = _catalog.subscribe_op(
            self.url, product, plan=plan, purpose=purpose, accept_terms=str(accept_terms)
        )
        return self._run(op)

    def issue_api_key(
        self, label: str = "", *, scopes: Sequence[str] | None = None
    ) -> dict[str, Any]:
        """Issue a new API key for your account; the key is in ``["api_key"]``, shown once.

        Parameters
        ----------
        label
            A name to recognise it by (e.g. ``"ward notebook"``).
        scopes
            What the key may do: ``data:read``, ``data:write``, ``account:read``,
            ``account:manage``. Default: the scopes of the credential you connected with.
            A read-only key to share with a notebook or a dashboard: ``["data:read"]``.

        Raises
        ------
        PermissionDeniedError
            Your credential lacks ``account:manage``, or asks for scopes beyond its own.
        ProblemError
            An unknown scope.

        Examples
        --------
        >>> key = ex.issue_api_key("dashboard", scopes=["data:read"])["api_key"]  # doctest: +SKIP
        """
        return self._run(_catalog.issue_api_key_op(self.url, label=label, scopes=scopes))

    def subscriptions(self) -> pd.DataFrame:
        """Your subscriptions."""
        return self._run(_catalog.list_op(self.url, "/api/subscriptions"))

    def usage(self, month: str | None = None) -> pd.DataFrame:
        """Your metered calls (``month`` as ``YYYY-MM``, default the current month)."""
        params = {"month": month} if month else None
        return self._run(_catalog.list_op(self.url, "/api/usage", params))

    def bills(self) -> pd.DataFrame:
        """Your bills."""
        return self._run(_catalog.list_op(self.url, "/api/bills"))

    def account(self) -> dict[str, Any]:
        """Your account: ``id``, ``email``, ``name``, ``role``, ``organization_id``,
        ``verified``."""
        return self._run(_catalog.account_op(self.url))

    def create_product(
        self,
        product_id: str,
        *,
        title: str,
        licence: str,
        attribution: str,
        terms: dict[str, Any],
        plans: list[dict[str, Any]] | None = None,
        service: str | None = None,
        entity_types: list[str] | None = None,
        description: str = "",
        update_frequency: str = "",
        restricted: bool = False,
        synthetic: bool = False,
        upstream_url: str | None = None,
    ) -> _catalog.Product:
        """Create a product you provide, with its plans and terms, in one call.

        The exchange lists it at once when your provider account is verified; otherwise an
        admin reviews it first (you can publish into it meanwhile).

        Parameters
        ----------
        product_id : str
            Short stable id (letters, digits, ``_.-``), used in URLs.
        title, licence, attribution : str
            Shown in the catalog; the attribution travels with every frame.
        plans : list of dict, optional
            Each ``{"id", "kind": "free"|"metered"|"monthly", "price_per_1000_calls",
            "monthly_fee", "monthly_quota", "rate_limit_per_s", "trial_days",
            "requires_approval"}``; default one free plan ``"open"``.
        terms : dict
            ``{"version", "text", "permitted_purposes": [...], "prohibitions": [...]}``.
        service : str, optional
            The NGSI ``Fiware-Service`` (default: from the id, e.g. ``my_product``).
        entity_types, description, update_frequency, restricted, synthetic, upstream_url
            More catalog fields; ``upstream_url`` is your own NGSI v2 broker, if any.

        Returns
        -------
        Product

        Raises
        ------
        ValueError
            A required field is missing or malformed (checked before anything is sent).
        ProblemError
            The exchange refused it (e.g. 409: the id or service is taken; 403: not a
            provider account); ``detail`` says why.
        """
        body = _catalog.offer_body(
            product_id,
            title=title,
            licence=licence,
            attribution=attribution,
            plans=plans,
            terms=terms,
            service=service,
            entity_types=entity_types,
            description=description,
            update_frequency=update_frequency,
            restricted=restricted,
            synthetic=synthetic,
            upstream_url=upstream_url,
        )
        return self._run(_catalog.create_product_op(self.url, body))

    # ---------------------------------------------------------------- data

    def entities(
        self,
        product_or_service: str | None = None,
        *,
        type: str | list[str] | None = None,
        id: str | list[str] | None = None,
        id_pattern: str | None = None,
        q: str | list[str] | None = None,
        mq: str | list[str] | None = None,
        georel: str | None = None,
        geometry: Any = None,
        coords: str | None = None,
        attrs: list[str] | str | None = None,
        order_by: str | None = None,
        limit: int | None = None,
        metadata: bool = False,
        flatten: bool = False,
    ) -> Query:
        spec = self._query_spec(
            product_or_service, type=type, id=id, id_pattern=id_pattern, q=q, mq=mq,
            georel=georel, geometry=geometry, coords=coords, attrs=attrs, order_by=order_by,
            limit=limit, metadata=metadata, flatten=flatten,
        )  # fmt: skip
        return Query(self, spec)

    entities.__doc__ = _ENTITIES_DOC

    def _cached_frame(self, spec: QuerySpec, *, geo: bool, refresh: bool) -> pd.DataFrame:
        key = self._frame_key(spec, "geopandas" if geo else "pandas")
        if self.cache is not None and not refresh:
            hit = self.cache.load(key)
            if hit is not None:
                return hit
        with gc_paused():
            frame = self._run(frame_op(self, spec, geo=geo, progress=self.progress))
        if self.cache is not None:
            self.cache.save(key, frame)
        return frame

    def history(
        self,
        product: str | None = None,
        entity_id: str | None = None,
        *,
        type: str | None = None,
        attr: str | None = None,
        from_date: Any = None,
        to_date: Any = None,
        last_n: int | None = None,
        refresh: bool = False,
    ) -> pd.DataFrame:
        """The history of an attribute (or all attributes) as a time-indexed frame.

        One entity (``entity_id``, optionally ``attr``), or one attribute of every entity of
        a ``type`` (``type`` + ``attr``), or all attributes of every entity of a ``type``.
        ``from_date``/``to_date`` accept ISO strings, datetimes or Timestamps (naive = UTC).

        Returns
        -------
        pandas.DataFrame
            Index ``time`` (``datetime64[ns, UTC]``); columns ``entity_id``,
            ``entity_type`` and one per attribute; sorted by time, then entity id.
        """
        params = history_params(type=type, from_date=from_date, to_date=to_date, last_n=last_n)
        key = self._history_setup(entity_id, type, attr, params) + str(product)
        if self.cache is not None and not refresh:
            hit = self.cache.load(key)
            if hit is not None:
                return hit
        with gc_paused():
            frame = self._run(self._history_op(product, entity_id, type, attr, params))
        if self.cache is not None:
            self.cache.save(key, frame)
        return frame

    def publish(
        self,
        frame: pd.DataFrame,
        product: str | None = None,
        *,
        type: str | None,
        id_column: str = "id",
        chunk_size: int = 1000,
        progress: bool | None = None,
    ) -> dict[str, Any]:
        """Write ``frame`` as entities of ``type`` (``POST /v2/op/update``, append).

        Each row becomes an entity with id ``frame[id_column]``; every other column an
        attribute typed from its dtype (geometries as ``geo:json``). Chunks of
        ``chunk_size`` are sent concurrently with a progress bar. Naive datetimes are read
        as Japan time (Asia/Tokyo); give aware ones to mean another zone. The product must
        exist: create it with :meth:`create_product` (else :class:`NotFoundError`).

        Returns
        -------
        dict
            ``{"entities": n, "requests": k}``.
        """
        op = self._publish_op(
            frame,
            product,
            type=type,
            id_column=id_column,
            chunk_size=chunk_size,
            progress=progress,
        )
        return self._run(op)


class AsyncExchange(_ExchangeBase):
    """The async twin of :class:`Exchange`; see :func:`connect_async`."""

    def __init__(
        self,
        *,
        url: str,
        credentials: Credentials,
        service: str | None = None,
        servicepath: str | None = None,
        cache: bool | str | os.PathLike[str] | FrameCache = False,
        progress: bool = True,
        max_concurrency: int = 4,
        timeout_s: float = 60.0,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(
            url=url,
            credentials=credentials,
            service=service,
            servicepath=servicepath,
            cache=cache,
            progress=progress,
        )
        self._session = AsyncSession(
            self.url,
            credentials,
            retry=retry,
            timeout_s=timeout_s,
            max_concurrency=max_concurrency,
            transport=transport,
        )

    async def _run(self, operation: Operation[Any]) -> Any:
        return await run_async(operation, self._session)

    async def aclose(self) -> None:
        await self._session.aclose()

    async def __aenter__(self) -> AsyncExchange:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def products(self, q: str | None = None) -> pd.DataFrame:
        return await self._run(_catalog.products_op(self.url, q))

    async def product(self, product_id: str) -> _catalog.Product:
        return await self._run(_catalog.product_op(self.url, product_id))

    async def plans(self, product: str) -> pd.DataFrame:
        return await self._run(_catalog.plans_op(self.url, product))

    async def subscribe(
        self, product: str, *, plan: str, purpose: str, accept_terms: str | int
    ) -> dict[str, Any]:
        op = _catalog.subscribe_op(
            self.url, product, plan=plan, purpose=purpose, accept_terms=str(accept_terms)
        )
        return await self._run(op)

    async def issue_api_key(
        self, label: str = "", *, scopes: Sequence[str] | None = None
    ) -> dict[str, Any]:
        return await self._run(_catalog.issue_api_key_op(self.url, label=label, scopes=scopes))

    async def subscriptions(self) -> pd.DataFrame:
        return await self._run(_catalog.list_op(self.url, "/api/subscriptions"))

    async def usage(self, month: str | None = None) -> pd.DataFrame:
        params = {"month": month} if month else None
        return await self._run(_catalog.list_op(self.url, "/api/usage", params))

    async def bills(self) -> pd.DataFrame:
        return await self._run(_catalog.list_op(self.url, "/api/bills"))

    async def account(self) -> dict[str, Any]:
        """Your account (see :meth:`Exchange.account`)."""
        return await self._run(_catalog.account_op(self.url))

    async def create_product(self, product_id: str, **fields: Any) -> _catalog.Product:
        """Create a product with its plans and terms (see :meth:`Exchange.create_product`)."""
        body = _catalog.offer_body(
            product_id,
            title=fields.pop("title", ""),
            licence=fields.pop("licence", ""),
            attribution=fields.pop("attribution", ""),
            plans=fields.pop("plans", None),
            terms=fields.pop("terms", None),
            **fields,
        )
        return await self._run(_catalog.create_product_op(self.url, body))

    def entities(
        self,
        product_or_service: str | None = None,
        *,
        type: str | list[str] | None = None,
        id: str | list[str] | None = None,
        id_pattern: str | None = None,
        q: str | list[str] | None = None,
        mq: str | list[str] | None = None,
        georel: str | None = None,
        geometry: Any = None,
        coords: str | None = None,
        attrs: list[str] | str | None = None,
        order_by: str | None = None,
        limit: int | None = None,
        metadata: bool = False,
        flatten: bool = False,
    ) -> AsyncQuery:
        spec = self._query_spec(
            product_or_service, type=type, id=id, id_pattern=id_pattern, q=q, mq=mq,
            georel=georel, geometry=geometry, coords=coords, attrs=attrs, order_by=order_by,
            limit=limit, metadata=metadata, flatten=flatten,
        )  # fmt: skip
        return AsyncQuery(self, spec)

    entities.__doc__ = _ENTITIES_DOC

    async def _cached_frame(self, spec: QuerySpec, *, geo: bool, refresh: bool) -> pd.DataFrame:
        key = self._frame_key(spec, "geopandas" if geo else "pandas")
        if self.cache is not None and not refresh:
            hit = self.cache.load(key)
            if hit is not None:
                return hit
        with gc_paused():
            frame = await self._run(frame_op(self, spec, geo=geo, progress=self.progress))
        if self.cache is not None:
            self.cache.save(key, frame)
        return frame

    async def history(
        self,
        product: str | None = None,
        entity_id: str | None = None,
        *,
        type: str | None = None,
        attr: str | None = None,
        from_date: Any = None,
        to_date: Any = None,
        last_n: int | None = None,
        refresh: bool = False,
    ) -> pd.DataFrame:
        params = history_params(type=type, from_date=from_date, to_date=to_date, last_n=last_n)
        key = self._history_setup(entity_id, type, attr, params) + str(product)
        if self.cache is not None and not refresh:
            hit = self.cache.load(key)
            if hit is not None:
                return hit
        with gc_paused():
            frame = await self._run(self._history_op(product, entity_id, type, attr, params))
        if self.cache is not None:
            self.cache.save(key, frame)
        return frame

    async def publish(
        self,
        frame: pd.DataFrame,
        product: str | None = None,
        *,
        type: str | None,
        id_column: str = "id",
        chunk_size: int = 1000,
        progress: bool | None = None,
    ) -> dict[str, Any]:
        op = self._publish_op(
            frame,
            product,
            type=type,
            id_column=id_column,
            chunk_size=chunk_size,
            progress=progress,
        )
        return await self._run(op)


def _settings_kwargs(
    url: str | None,
    api_key: str | None,
    client_id: str | None,
    client_secret: str | None,
    service: str | None,
    servicepath: str | None,
    profile: str | None,
    access_token: str | None,
) -> dict[str, Any]:
    settings = resolve_settings(
        profile,
        url=url,
        api_key=api_key,
        client_id=client_id,
        client_secret=client_secret,
        service=service,
        servicepath=servicepath,
    )
    credentials = Credentials(
        api_key=settings.api_key,
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        access_token=access_token,
    )
    return {
        "url": settings.url,
        "credentials": credentials,
        "service": settings.service,
        "servicepath": settings.servicepath,
    }


def connect(
    url: str | None = None,
    *,
    api_key: str | None = None,
    client_id: str | None = None,
    client_secret: str | None = None,
    service: str | None = None,
    servicepath: str | None = None,
    profile: str | None = None,
    access_token: str | None = None,
    cache: bool | str | os.PathLike[str] = False,
    progress: bool = True,
    max_concurrency: int = 4,
    timeout_s: float = 60.0,
    max_retries: int = 5,
    transport: httpx.BaseTransport | None = None,
) -> Exchange:
    """Connect to a data exchange, or to any Orion-compatible NGSI v2 broker.

    Nothing is sent until the first call. Settings not given come from the environment
    (``WORKBENCH_URL``, ``WORKBENCH_API_KEY``, ``WORKBENCH_CLIENT_ID`` /
    ``WORKBENCH_CLIENT_SECRET``, ``WORKBENCH_SERVICE``) or a profile of
    ``~/.config/workbench/config.toml`` (``WORKBENCH_CONFIG`` overrides the path), so no
    secret needs to be written in a notebook.

    Parameters
    ----------
    url : str, optional
        The exchange (or broker) base URL, e.g. ``"http://localhost:8000"``.
    api_key : str, optional
        Sent as ``X-API-Key``.
    client_id, client_secret : str, optional
        OAuth 2.0 client credentials; access tokens are fetched from ``/oauth2/token`` and
        refreshed before they expire (and once after a 401).
    service, servicepath : str, optional
        Default ``Fiware-Service`` / ``Fiware-ServicePath`` for plain brokers.
    profile : str, optional
        A profile of the profile file (wins over the environment).
    access_token : str, optional
        A bearer token you already have (e.g. from ``/api/login``).
    cache : bool or path
        Cache query results on disk (``True``: ``~/.cache/workbench``); a cached query is
        answered without the server.
    progress : bool
        Show ``tqdm`` progress bars for multi-page transfers.
    max_concurrency : int
        Pages fetched in parallel once the total is known.
    max_retries : int
        Retries after connection errors, 429 and 5xx (exponential backoff, ``Retry-After``).

    Returns
    -------
    Exchange

    Examples
    --------
    >>> import workbench as wb
    >>> ex = wb.connect("http://localhost:1026", service="sapporo")  # a plain broker
    >>> gdf = ex.entities(type="BusStop").to_geopandas()  # doctest: +SKIP
    """
    kwargs = _settings_kwargs(
        url, api_key, client_id, client_secret, service, servicepath, profile, access_token
    )
    return Exchange(
        **kwargs,
        cache=cache,
        progress=progress,
        max_concurrency=max_concurrency,
        timeout_s=timeout_s,
        retry=RetryPolicy(max_retries=max_retries),
        transport=transport,
    )


def connect_async(
    url: str | None = None,
    *,
    api_key: str | None = None,
    client_id: str | None = None,
    client_secret: str | None = None,
    service: str | None = None,
    servicepath: str | None = None,
    profile: str | None = None,
    access_token: str | None = None,
    cache: bool | str | os.PathLike[str] = False,
    progress: bool = True,
    max_concurrency: int = 4,
    timeout_s: float = 60.0,
    max_retries: int = 5,
    transport: httpx.AsyncBaseTransport | None = None,
) -> AsyncExchange:
    """Like :func:`connect`, returning an :class:`AsyncExchange` whose calls are awaited.

    Examples
    --------
    >>> async with wb.connect_async("http://localhost:8000") as ex:  # doctest: +SKIP
    ...     df = await ex.entities("sapporo-wards").to_pandas()
    """
    kwargs = _settings_kwargs(
        url, api_key, client_id, client_secret, service, servicepath, profile, access_token
    )
    return AsyncExchange(
        **kwargs,
        cache=cache,
        progress=progress,
        max_concurrency=max_concurrency,
        timeout_s=timeout_s,
        retry=RetryPolicy(max_retries=max_retries),
        transport=transport,
    )
