"""The one HTTP layer of the client: a sans-IO core with sync and async httpx drivers.

Every client operation (a query, a publish, a catalog call) is written once as a generator
that *yields* :class:`Batch` es of :class:`Request` s and receives the list of
:class:`Response` s back. :func:`run_sync` drives such an operation with an ``httpx.Client``
(a bounded thread pool for concurrent batches); :func:`run_async` drives the same generator
with an ``httpx.AsyncClient`` (a semaphore-bounded ``asyncio.gather``). Credentials, retries
with exponential backoff (honouring ``Retry-After``) and the mapping of error responses to
typed exceptions live here and nowhere else.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import orjson

from ._auth import Credentials
from ._errors import (
    AuthenticationError,
    NgsiError,
    PermissionDeniedError,
    ProblemError,
    RateLimitedError,
    WorkbenchConnectionError,
    WorkbenchError,
    error_class,
)

T = TypeVar("T")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Request:
    """One HTTP request, relative to the exchange's base URL.

    ``idempotent`` requests are retried after connection errors; others only after 429/503
    (which the server sends before doing any work).
    """

    method: str
    path: str
    params: Sequence[tuple[str, str]] = ()
    headers: dict[str, str] = field(default_factory=dict)
    json: Any = None
    data: dict[str, str] | None = None
    basic_auth: tuple[str, str] | None = None
    authenticated: bool = True
    idempotent: bool = True


@dataclass
class Response:
    """A received response; ``content`` is the raw body."""

    request: Request
    status: int
    headers: httpx.Headers
    content: bytes
    url: str

    def json(self) -> Any:
        return orjson.loads(self.content) if self.content else None


@dataclass
class Batch:
    """Requests to send, concurrently when ``concurrent`` (order of results is preserved).

    ``on_response`` is called once per completed response (progress bars).
    """

    requests: list[Request]
    concurrent: bool = True
    on_response: Callable[[Response], None] | None = None


Operation = Generator[Batch, list[Response], T]


def one(request: Request) -> Batch:
    """A batch of a single request."""
    return Batch([request], concurrent=False)


@dataclass
class RetryPolicy:
    """When and how long to wait before retrying.

    Connection errors (idempotent requests only), 429 and 5xx are retried up to
    ``max_retries`` times, waiting ``backoff_s * 2**attempt`` (with jitter, capped at
    ``max_backoff_s``), or the server's ``Retry-After`` when it gives one (capped at
    ``max_retry_after_s``).
    """

    max_retries: int = 5
    backoff_s: float = 0.25
    max_backoff_s: float = 8.0
    max_retry_after_s: float = 60.0

    def backoff(self, attempt: int) -> float:
        base = min(self.max_backoff_s, self.backoff_s * 2**attempt)
        return base * (0.5 + random.random() / 2)

    def delay_after_response(self, attempt: int, response: Response) -> float | None:
        """Seconds to wait before retrying ``response``, or ``None`` to not retry."""
        if response.status not in RETRY_STATUSES or attempt >= self.max_retries:
            return None
        if response.status not in (429, 503) and not response.request.idempotent:
            return None
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        if retry_after is not None:
            return min(retry_after, self.max_retry_after_s)
        return self.backoff(attempt)

    def delay_after_error(self, attempt: int, request: Request) -> float | None:
        """Seconds to wait before retrying after a connection error, or ``None``."""
        if attempt >= self.max_retries or not request.idempotent:
            return None
        return self.backoff(attempt)


def parse_retry_after(value: str | None) -> float | None:
    """Parse a ``Retry-After`` header (delay in seconds or an HTTP date) into seconds."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


# --------------------------------------------------------------------------- errors

_HINTS: dict[type, str] = {
    AuthenticationError: (
        "Check the credential: pass api_key= or client_id=/client_secret= to connect(), or set "
        "WORKBENCH_API_KEY / WORKBENCH_CLIENT_ID and WORKBENCH_CLIENT_SECRET."
    ),
    PermissionDeniedError: (
        "Your credential is not entitled to this product: subscribe with ex.subscribe(product, "
        "plan=..., purpose=..., accept_terms=...) and wait for approval if it is restricted."
    ),
    RateLimitedError: (
        "The rate limit persisted after retries; wait and retry, or upgrade the plan."
    ),
}


def raise_for_response(response: Response) -> Response:
    """Return ``response`` if it is a success; raise the matching typed error otherwise."""
    if response.status < 400:
        return response
    try:
        body: Any = response.json()
    except orjson.JSONDecodeError:
        body = response.content.decode("utf-8", "replace")[:2000]
    ctype = response.headers.get("content-type", "")
    error = description = None
    kind: type[WorkbenchError] = WorkbenchError
    if isinstance(body, dict) and ("problem+json" in ctype or "title" in body or "detail" in body):
        kind = ProblemError
        error, description = body.get("title"), body.get("detail")
    elif isinstance(body, dict) and "error" in body:
        kind = NgsiError
        error, description = body.get("error"), body.get("description")
    elif isinstance(body, dict) and "error_description" in body:  # OAuth (RFC 6749 §5.2)
        error, description = body.get("error"), body.get("error_description")
    else:
        description = body if isinstance(body, str) and body else None
    cls = error_class(response.status, kind)
    req = response.request
    message = f"{req.method} {response.url} -> {response.status}"
    if error:
        message += f" {error}"
    if description:
        message += f": {str(description).rstrip('.')}"
    for base, hint in _HINTS.items():
        if issubclass(cls, base):
            message += f". {hint}"
    raise cls(
        message,
        status=response.status,
        error=error,
        description=description,
        method=req.method,
        url=response.url,
        body=body,
        headers=dict(response.headers),
    )


def _connection_error(request: Request, url: str, exc: Exception) -> WorkbenchConnectionError:
    return WorkbenchConnectionError(
        f"{request.method} {url} failed: {type(exc).__name__}: {exc}. Is the server running "
        "and the URL right? (connect(url=...) or WORKBENCH_URL)",
        method=request.method,
        url=url,
    )


def _httpx_kwargs(request: Request, credentials: Credentials) -> dict[str, Any]:
    headers = dict(request.headers)
    if request.authenticated:
        headers.update(credentials.headers())
    kwargs: dict[str, Any] = {"params": list(request.params), "headers": headers}
    if request.json is not None:
        kwargs["content"] = orjson.dumps(request.json, option=orjson.OPT_SERIALIZE_NUMPY)
        headers["Content-Type"] = "application/json"
    if request.data is not None:
        kwargs["data"] = request.data
    if request.basic_auth is not None:
        kwargs["auth"] = httpx.BasicAuth(*request.basic_auth)
    return kwargs


# --------------------------------------------------------------------------- sync driver


class SyncSession:
    """Sends requests with an ``httpx.Client``; retries, refreshes tokens, maps errors."""

    def __init__(
        self,
        base_url: str,
        credentials: Credentials,
        *,
        retry: RetryPolicy | None = None,
        timeout_s: float = 60.0,
        max_concurrency: int = 4,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.credentials = credentials
        self.retry = retry or RetryPolicy()
        self.max_concurrency = max_concurrency
        self._client = httpx.Client(
            base_url=self.base_url,
            timeout=timeout_s,
            transport=transport,
            limits=httpx.Limits(max_connections=max_concurrency + 2),
        )
        self._pool: ThreadPoolExecutor | None = None

    def close(self) -> None:
        self._client.close()
        if self._pool is not None:
            self._pool.shutdown(wait=False)

    def _ensure_token(self) -> None:
        with self.credentials.lock:
            if self.credentials.needs_token():
                response = self.send(self.credentials.token_request())
                self.credentials.accept_token(response)

    def send(self, request: Request) -> Response:
        """Send ``request`` with retries; return the success response or raise."""
        refreshed = False
        attempt = 0
        url = self.base_url + request.path
        while True:
            if request.authenticated:
                self._ensure_token()
            try:
                r = self._client.request(
                    request.method, request.path, **_httpx_kwargs(request, self.credentials)
                )
            except httpx.TransportError as exc:
                delay = self.retry.delay_after_error(attempt, request)
                if delay is None:
                    raise _connection_error(request, url, exc) from exc
                attempt += 1
                time.sleep(delay)
                continue
            response = Response(request, r.status_code, r.headers, r.content, str(r.url))
            if (
                response.status == 401
                and request.authenticated
                and self.credentials.uses_oauth
                and not refreshed
            ):
                self.credentials.invalidate()
                refreshed = True
                continue
            delay = self.retry.delay_after_response(attempt, response)
            if delay is None:
                return raise_for_response(response)
            attempt += 1
            time.sleep(delay)

    def run_batch(self, batch: Batch) -> list[Response]:
        def send(request: Request) -> Response:
            response = self.send(request)
            if batch.on_response is not None:
                batch.on_response(response)
            return response

        if not batch.concurrent or len(batch.requests) <= 1 or self.max_concurrency <= 1:
            return [send(r) for r in batch.requests]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.max_concurrency, thread_name_prefix="workbench")
        return list(self._pool.map(send, batch.requests))


def run_sync(operation: Operation[T], session: SyncSession) -> T:
    """Drive ``operation`` to completion with ``session``; return its result.

    Errors of a batch are thrown into the operation, which may handle them.
    """
    try:
        batch = next(operation)
        while True:
            try:
                responses = session.run_batch(batch)
            except WorkbenchError as exc:
                batch = operation.throw(exc)
            else:
                batch = operation.send(responses)
    except StopIteration as stop:
        return stop.value


# --------------------------------------------------------------------------- async driver


class AsyncSession:
    """Sends requests with an ``httpx.AsyncClient``; the same policy as :class:`SyncSession`."""

    def __init__(
        self,
        base_url: str,
        credentials: Credentials,
        *,
        retry: RetryPolicy | None = None,
        timeout_s: float = 60.0,
        max_concurrency: int = 4,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.credentials = credentials
        self.retry = retry or RetryPolicy()
        self.max_concurrency = max_concurrency
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=timeout_s,
            transport=transport,
            limits=httpx.Limits(max_connections=max_concurrency + 2),
        )
        self._token_lock: asyncio.Lock | None = None

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _ensure_token(self) -> None:
        if self._token_lock is None:
            self._token_lock = asyncio.Lock()
        async with self._token_lock:
            if self.credentials.needs_token():
                response = await self.send(self.credentials.token_request())
                self.credentials.accept_token(response)

    async def send(self, request: Request) -> Response:
        refreshed = False
        attempt = 0
        url = self.base_url + request.path
        while True:
            if request.authenticated:
                await self._ensure_token()
            try:
                r = await self._client.request(
                    request.method, request.path, **_httpx_kwargs(request, self.credentials)
                )
            except httpx.TransportError as exc:
                delay = self.retry.delay_after_error(attempt, request)
                if delay is None:
                    raise _connection_error(request, url, exc) from exc
                attempt += 1
                await asyncio.sleep(delay)
                continue
            response = Response(request, r.status_code, r.headers, r.content, str(r.url))
            if (
                response.status == 401
                and request.authenticated
                and self.credentials.uses_oauth
                and not refreshed
            ):
                self.credentials.invalidate()
                refreshed = True
                continue
            delay = self.retry.delay_after_response(attempt, response)
            if delay is None:
                return raise_for_response(response)
            attempt += 1
            await asyncio.sleep(delay)

    async def run_batch(self, batch: Batch) -> list[Response]:
        semaphore = asyncio.Semaphore(self.max_concurrency if batch.concurrent else 1)

        async def send(request: Request) -> Response:
            async with semaphore:
                response = await self.send(request)
            if batch.on_response is not None:
                batch.on_response(response)
            return response

        return list(await asyncio.gather(*(send(r) for r in batch.requests)))


async def run_async(operation: Operation[T], session: AsyncSession) -> T:
    """Drive ``operation`` to completion with ``session`` (async); return its result."""
    try:
        batch = next(operation)
        while True:
            try:
                responses = await session.run_batch(batch)
            except WorkbenchError as exc:
                batch = operation.throw(exc)
            else:
                batch = operation.send(responses)
    except StopIteration as stop:
        return stop.value
