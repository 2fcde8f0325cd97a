"""The one JSON error body, for every error the server answers.

    {"error": {"status": 400, "code": "bad_request",
               "message": "statement[3].context.registration: must be a UUID",
               "field": "statement[3].context.registration"}}

Typed LRSErrors carry their status; anything unexpected is a 500 whose body
names no internals (lrs.http.middleware logs the traceback, once)."""

from __future__ import annotations

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from lrs.errors import LRSError
from lrs.store.db import RETRY_AFTER, UNAVAILABLE

_CODES = {404: "not_found", 405: "method_not_allowed", 400: "bad_request"}


def error_body(status: int, code: str, message: str, field: str | None = None) -> bytes:
    body: dict = {"status": status, "code": code, "message": message}
    if field:
        body["field"] = field
    return orjson.dumps({"error": body})


def error_response(status: int, code: str, message: str, field: str | None = None,
                   headers: dict[str, str] | None = None) -> Response:
    return Response(error_body(status, code, message, field), status_code=status,
                    media_type="application/json", headers=headers)


async def lrs_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LRSError)
    return error_response(exc.status, exc.code, exc.message, exc.field, exc.headers)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = exc.detail if isinstance(exc.detail, str) else "error"
    if exc.status_code == 404:
        message = f"no resource at {request.url.path}"
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}"
    return error_response(exc.status_code, _CODES.get(exc.status_code, "error"), message,
                          headers=dict(exc.headers or {}))


async def database_unavailable(request: Request, exc: Exception) -> Response:
    return error_response(503, "service_unavailable",
                          "the database is unavailable; retry later", headers=dict(RETRY_AFTER))


HANDLERS = {LRSError: lrs_error, HTTPException: http_error,
            **{kind: database_unavailable for kind in UNAVAILABLE}}
