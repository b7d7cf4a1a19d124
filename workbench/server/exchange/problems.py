"""RFC 9457 ``application/problem+json`` responses for everything outside the NGSI paths."""

from __future__ import annotations

import logging
from http import HTTPStatus

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from .errors import ExchangeError

_log = logging.getLogger("workbench.exchange")
PROBLEM_TYPE = "https://workbench.sapporo.example/problems/"


def problem(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: object,
) -> Response:
    """Return an RFC 9457 problem response."""
    title = title or HTTPStatus(status).phrase
    body = {
        "type": PROBLEM_TYPE + title.lower().replace(" ", "-"),
        "title": title,
        "status": status,
        "detail": detail,
        **({"instance": instance} if instance else {}),
        **extra,
    }
    return Response(
        orjson.dumps(body, default=str),
        status_code=status,
        media_type="application/problem+json",
        headers=headers,
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Make every error of ``app`` an RFC 9457 problem (including validation errors)."""

    @app.exception_handler(ExchangeError)
    async def _exchange_error(request: Request, exc: ExchangeError) -> Response:
        headers = {"WWW-Authenticate": 'Bearer realm="workbench"'} if exc.status == 401 else None
        headers = getattr(exc, "headers", None) or headers
        return problem(
            exc.status,
            exc.detail,
            title=exc.title,
            instance=request.url.path,
            headers=headers,
            **getattr(exc, "extra", {}),
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        errors = [
            {
                "loc": [str(p) for p in e.get("loc", ())],
                "msg": str(e.get("msg", "")),
                "type": str(e.get("type", "")),
            }
            for e in exc.errors()
        ]
        where = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors[:5])
        return problem(
            422,
            f"The request is not valid: {where}",
            title="Invalid input",
            instance=request.url.path,
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        return problem(
            exc.status_code,
            str(exc.detail),
            instance=request.url.path,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        _log.error(
            "unexpected error on %s %s: %s", request.method, request.url.path, type(exc).__name__
        )
        return problem(
            500, "Unexpected server error; see the server log.", instance=request.url.path
        )
