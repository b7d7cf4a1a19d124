"""The broker's HTTP layer: an ASGI (Starlette) app speaking Orion's NGSI v2 and QL history.

Only translation happens here: headers, URL parameters and bodies in; status codes,
``Fiware-Total-Count`` / ``Location`` headers and JSON out. Everything NGSI lives in
:class:`~workbench.server.broker.Broker`. Every failure is answered as
``{"error", "description"}`` (never an exception escaping the app), so the app also works
in-process behind ``httpx.ASGITransport``.

No store work runs on the event loop: each request's broker call (and the JSON it
renders) runs on a worker thread of the app's pool, and the store stops a read that runs
out of its time budget, counted from the request's arrival
(docs/adr/0105-broker-queries-off-the-event-loop.md). A slow query therefore delays only
itself: ``/version`` and other requests are served meanwhile.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from functools import wraps
from typing import Any, TypeVar

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import history
from .errors import NgsiError, bad_request, parse_error
from .service import Broker
from .store import QUERY_STARTED
from .tenancy import query_scopes, tenant_name

MAX_BODY = 1024 * 1024
# Worker threads for store calls. SQLite releases the GIL while it runs, and a thread busy
# with an expensive query (until its budget stops it) must not leave cheap requests
# queueing behind it, so the pool is wider than the 2 cores: the OS shares them out.
WORKERS = 32
_log = logging.getLogger(__name__)
_JSON = "application/json"
Handler = Callable[[Request], Awaitable[Response]]
T = TypeVar("T")


RESULT_COUNT = "Workbench-Result-Count"  # items in a JSON array body (metered by the gateway)


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    if isinstance(body, list):  # the gateway meters a page by this, without parsing it
        headers = {**(headers or {}), RESULT_COUNT: str(len(body))}
    return Response(orjson.dumps(body), status, headers=headers, media_type=_JSON)


def _error(status: int, error: str, description: str,
           headers: dict[str, str] | None = None) -> Response:
    return _json({"error": error, "description": description}, status, headers)


def _ngsi(handler: Handler) -> Handler:
    """Turn NgsiError (and anything unexpected) into Orion-style error responses."""

    @wraps(handler)
    async def endpoint(request: Request) -> Response:
        try:
            for key, value in request.query_params.multi_items():
                if value == "":
                    raise bad_request(f"Empty right-hand-side for URI param /{key[:40]}/")
            return await handler(request)
        except NgsiError as exc:
            return _error(exc.status, exc.error, exc.description)
        except Exception:  # a bug: answer 500 in Orion's shape and log it
            _log.exception("broker: unexpected error on %s %s", request.method, request.url.path)
            return _error(500, "InternalServerError", "unexpected error; see the broker log")

    return endpoint


async def _body(request: Request, *, text_ok: bool = False) -> Any:
    """Read and parse a request body with Orion's checks (411, 413, 415, ParseError)."""
    length = request.headers.get("content-length")
    if not length or not length.isdigit() or int(length) == 0:
        raise NgsiError(411, "LengthRequired", "Zero/No Content-Length in PUT/POST/PATCH request")
    if int(length) > MAX_BODY:
        raise NgsiError(413, "RequestEntityTooLarge",
                        f"payload size: {length}, max size supported: {MAX_BODY}")
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype not in (_JSON, "text/plain") or (ctype == "text/plain" and not text_ok):
        raise NgsiError(415, "UnsupportedMediaType", f"not supported content type: {ctype[:60]}")
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise NgsiError(413, "RequestEntityTooLarge", f"max size supported: {MAX_BODY}")
    if ctype == "text/plain":
        text = raw.decode("utf-8", errors="replace").strip()
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            return text
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise parse_error() from None


def _scope(request: Request) -> tuple[str | None, str | None]:
    h = request.headers
    return h.get("fiware-service"), h.get("fiware-servicepath")


def _count_header(total: int | None) -> dict[str, str] | None:
    return {"Fiware-Total-Count": str(total)} if total is not None else None


def create_broker_app(broker: Broker, *, workers: int = WORKERS) -> Starlette:
    """Return the ASGI app serving ``/version``, ``/v2/...`` and ``/ql/v2/...`` for ``broker``.

    The store is already open, so the app needs no lifespan events: it can be served by
    uvicorn or mounted in-process with ``httpx.ASGITransport(app)``.

    Parameters
    ----------
    broker
        The broker to serve.
    workers
        Threads that run store calls off the event loop (at most this many at once).
    """
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="broker-store")

    async def run(call: Callable[[], T]) -> T:
        """Run ``call`` on the pool; its reads' time budget starts now."""
        started = time.monotonic()

        def timed() -> T:
            QUERY_STARTED.set(started)
            return call()

        context = contextvars.copy_context()
        return await asyncio.get_running_loop().run_in_executor(pool, context.run, timed)

    @_ngsi
    async def version(request: Request) -> Response:
        return _json(broker.version())

    @_ngsi
    async def entry_points(request: Request) -> Response:
        return _json({"entities_url": "/v2/entities", "types_url": "/v2/types",
                      "subscriptions_url": "/v2/subscriptions",
                      "registrations_url": "/v2/registrations"})

    @_ngsi
    async def entities(request: Request) -> Response:
        t, sp = _scope(request)
        params = request.query_params
        if request.method == "POST":
            body = await _body(request)
            created, eid, etype = await run(lambda: broker.create_entity(t, sp, body, params))
            if not created:
                return Response(status_code=204)
            location = f"/v2/entities/{eid}?type={etype}"
            return Response(status_code=201, headers={"Location": location})

        def page() -> Response:
            body, total = broker.query_entities_json(t, sp, params)
            headers = {**(_count_header(total) or {}),
                       RESULT_COUNT: str(len(orjson.loads(body)))}
            return Response(body, headers=headers, media_type=_JSON)

        return await run(page)

    @_ngsi
    async def entity(request: Request) -> Response:
        t, sp = _scope(request)
        eid = request.path_params["entity_id"]
        params = request.query_params
        if request.method == "DELETE":
            await run(lambda: broker.delete_entity(t, sp, eid, params))
            return Response(status_code=204)
        return await run(lambda: _json(broker.get_entity(t, sp, eid, params)))

    @_ngsi
    async def attrs(request: Request) -> Response:
        t, sp = _scope(request)
        eid = request.path_params["entity_id"]
        params = request.query_params
        if request.method == "GET":
            return await run(lambda: _json(broker.get_entity(t, sp, eid, params, with_id=False)))
        body = await _body(request)
        write = {"POST": broker.append_attrs, "PATCH": broker.update_attrs,
                 "PUT": broker.replace_attrs}[request.method]
        await run(lambda: write(t, sp, eid, body, params))
        return Response(status_code=204)

    @_ngsi
    async def attr(request: Request) -> Response:
        t, sp = _scope(request)
        eid, name = request.path_params["entity_id"], request.path_params["attr"]
        params = request.query_params
        if request.method == "GET":
            return await run(lambda: _json(broker.get_attr(t, sp, eid, name, params)))
        if request.method == "DELETE":
            await run(lambda: broker.delete_attr(t, sp, eid, name, params))
            return Response(status_code=204)
        body = await _body(request)
        await run(lambda: broker.update_attr(t, sp, eid, name, body, params))
        return Response(status_code=204)

    @_ngsi
    async def attr_value(request: Request) -> Response:
        t, sp = _scope(request)
        eid, name = request.path_params["entity_id"], request.path_params["attr"]
        params = request.query_params
        if request.method == "PUT":
            value = await _body(request, text_ok=True)
            await run(lambda: broker.set_attr_value(t, sp, eid, name, value, params))
            return Response(status_code=204)
        value = await run(lambda: broker.get_attr_value(t, sp, eid, name, params))
        accept = request.headers.get("accept", "*/*")
        if isinstance(value, dict | list) or (_JSON in accept and "text/plain" not in accept):
            return _json(value)
        return Response(orjson.dumps(value), media_type="text/plain")

    @_ngsi
    async def types(request: Request) -> Response:
        t, sp = _scope(request)
        params = request.query_params

        def listing() -> Response:
            found, total = broker.list_types(t, sp, params)
            return _json(found, headers=_count_header(total))

        return await run(listing)

    @_ngsi
    async def entity_type(request: Request) -> Response:
        t, sp = _scope(request)
        entity_type = request.path_params["entity_type"]
        return await run(lambda: _json(broker.get_type(t, sp, entity_type)))

    @_ngsi
    async def op_update(request: Request) -> Response:
        t, sp = _scope(request)
        body = await _body(request)
        options = request.query_params.get("options", "")
        if not isinstance(body, dict):
            raise parse_error("the payload must be a JSON object with actionType and entities")
        unknown = set(body) - {"actionType", "entities"}
        if unknown:
            raise bad_request(f"Invalid JSON field for update: {sorted(unknown)[0]}")
        if "actionType" not in body or "entities" not in body:
            raise bad_request("actionType and entities are both needed")
        await run(lambda: broker.batch_update(t, sp, body["actionType"], body["entities"],
                                              key_values="keyValues" in options.split(",")))
        return Response(status_code=204)

    @_ngsi
    async def op_query(request: Request) -> Response:
        t, sp = _scope(request)
        body = await _body(request)
        params = request.query_params

        def query() -> Response:
            found, total = broker.batch_query(t, sp, body, params)
            return _json(found, headers=_count_header(total))

        return await run(query)

    @_ngsi
    async def ql_entity(request: Request) -> Response:
        t, sp = _scope(request)
        eid, params = request.path_params["entity_id"], request.query_params

        def points() -> Response:
            body, total = broker.history_entity(t, sp, eid, params)
            return _json(body, headers=_count_header(total))

        return await run(points)

    @_ngsi
    async def ql_entity_attr(request: Request) -> Response:
        t, sp = _scope(request)
        p, params = request.path_params, request.query_params

        def points() -> Response:
            body, total = broker.history_attr(t, sp, p["entity_id"], p["attr"], params)
            return _json(body, headers=_count_header(total))

        return await run(points)

    @_ngsi
    async def ql_type_attr(request: Request) -> Response:
        t, sp = _scope(request)
        p, params = request.path_params, request.query_params

        def points() -> Response:
            body, total = broker.history_type_attr(t, sp, p["entity_type"], p["attr"], params)
            return _json(body, headers=_count_header(total))

        return await run(points)

    @_ngsi
    async def ql_type(request: Request) -> Response:
        t, sp = _scope(request)
        etype, params = request.path_params["entity_type"], request.query_params

        def points() -> Response:
            body, total = history.type_entities(broker.store, tenant_name(t), query_scopes(sp),
                                                etype, params)
            return _json(body, headers=_count_header(total))

        return await run(points)

    routes = [
        Route("/version", version, methods=["GET"]),
        Route("/v2", entry_points, methods=["GET"]),
        Route("/v2/entities", entities, methods=["GET", "POST"]),
        Route("/v2/entities/{entity_id}", entity, methods=["GET", "DELETE"]),
        Route("/v2/entities/{entity_id}/attrs", attrs, methods=["GET", "POST", "PATCH", "PUT"]),
        Route("/v2/entities/{entity_id}/attrs/{attr}", attr, methods=["GET", "PUT", "DELETE"]),
        Route("/v2/entities/{entity_id}/attrs/{attr}/value", attr_value, methods=["GET", "PUT"]),
        Route("/v2/types", types, methods=["GET"]),
        Route("/v2/types/{entity_type}", entity_type, methods=["GET"]),
        Route("/v2/op/update", op_update, methods=["POST"]),
        Route("/v2/op/query", op_query, methods=["POST"]),
        Route("/ql/v2/entities/{entity_id}", ql_entity, methods=["GET"]),
        Route("/ql/v2/entities/{entity_id}/attrs/{attr}", ql_entity_attr, methods=["GET"]),
        Route("/ql/v2/types/{entity_type}/attrs/{attr}", ql_type_attr, methods=["GET"]),
        Route("/ql/v2/types/{entity_type}", ql_type, methods=["GET"]),
    ]

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 405:
            return _error(405, "MethodNotAllowed",
                          f"method {request.method} not allowed on {request.url.path[:100]}",
                          headers=dict(exc.headers or {}))
        if exc.status_code == 404:
            return _error(400, "BadRequest", f"service '{request.url.path[:100]}' not found")
        return _error(exc.status_code, "BadRequest", str(exc.detail))

    app = Starlette(routes=routes, exception_handlers={HTTPException: http_error})
    app.state.broker = broker
    app.state.pool = pool
    return app
