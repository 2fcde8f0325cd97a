"""The one JSON error body, for every error the server answers.

    {"error": {"status": 400, "code": "bad_request",
               "message": "statement[3].context.registration: must be a UUID",
               "field": "statement[3].context.registration"}}

Typed LRSErrors carry their status; anything unexpected is a 500 whose body
names no internals (lrs.http.middleware logs the traceback, once).

The format follows the request's Accept (1.0.3 Communication 3.2 and 2.0
LRS 4.1.5 SHOULD, ERR-03): JSON, plain text or HTML, whichever the client
ranks highest (RFC 9110 12.5.1: the most specific media range gives each
its quality). JSON unless another is strictly preferred: without Accept,
with */*, or with nothing acceptable, since an error is never answered 406.
The answers the connection layer writes before any request is parsed
(lrs.http.connections) are always JSON."""

from __future__ import annotations

import html
import http
import logging
import math
import time

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from lrs.errors import LRSError, ServiceUnavailable, describe
from lrs.store.db import RETRY_AFTER, UNAVAILABLE

log = logging.getLogger("lrs.db")

_CODES = {404: "not_found", 405: "method_not_allowed", 400: "bad_request"}


def error_body(status: int, code: str, message: str, field: str | None = None) -> bytes:
    body: dict = {"status": status, "code": code, "message": message}
    if field:
        body["field"] = field
    return orjson.dumps({"error": body})


def error_response(status: int, code: str, message: str, field: str | None = None,
                   headers: dict[str, str] | None = None, accept: str | None = None) -> Response:
    chosen = error_format(accept)
    if chosen == _JSON:
        return Response(error_body(status, code, message, field), status_code=status,
                        media_type=_JSON, headers=headers)
    title = f"{status} {http.HTTPStatus(status).phrase}"
    if chosen == _TEXT:
        body = f"{title}: {message}\n"
    else:
        body = (f"<!DOCTYPE html>\n<html><head><title>{title}</title></head><body>"
                f"<h1>{title}</h1><p>{html.escape(message)}</p></body></html>\n")
    return Response(body, status_code=status, media_type=f"{chosen}; charset=utf-8",
                    headers=headers)


_JSON, _TEXT, _HTML = "application/json", "text/plain", "text/html"
_OFFERED = (_JSON, _TEXT, _HTML)  # in this order on equal quality


def error_format(accept: str | None) -> str:
    """The media type of an error body for this Accept header."""
    if not accept:
        return _JSON
    qualities = {offer: (-1, 0.0) for offer in _OFFERED}  # (specificity, quality)
    for item in accept.split(","):
        media_range, *params = (part.strip() for part in item.split(";"))
        media_range = media_range.lower()
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    quality = 0.0
        for offer in _OFFERED:
            specificity = (2 if media_range == offer else
                           1 if media_range == offer.split("/")[0] + "/*" else
                           0 if media_range == "*/*" else -1)
            if specificity > qualities[offer][0]:
                qualities[offer] = (specificity, quality)
    best = max(_OFFERED, key=lambda offer: qualities[offer][1])  # first of equals
    return best if qualities[best][1] > qualities[_JSON][1] else _JSON


async def lrs_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LRSError)
    if isinstance(exc, ServiceUnavailable) and isinstance(exc.__cause__, UNAVAILABLE):
        _log_unavailable(exc.__cause__)  # no pooled connection to be had
    return error_response(exc.status, exc.code, exc.message, exc.field, exc.headers,
                          accept=request.headers.get("accept"))


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = exc.detail if isinstance(exc.detail, str) else "error"
    if exc.status_code == 404:
        message = f"no resource at {request.url.path}"
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}"
    return error_response(exc.status_code, _CODES.get(exc.status_code, "error"), message,
                          headers=dict(exc.headers or {}), accept=request.headers.get("accept"))


# One line a second at most (an outage answers every request 503), naming
# the cause: asyncpg's InterfaceError is also what a query of ours with the
# wrong arguments raises, which must not pass for an outage unseen.
UNAVAILABLE_LOG_SECONDS = 1.0
_unavailable = {"logged": -math.inf, "answers": 0}


async def database_unavailable(request: Request, exc: Exception) -> Response:
    _log_unavailable(exc)
    return error_response(503, "service_unavailable",
                          "the database is unavailable; retry later", headers=dict(RETRY_AFTER),
                          accept=request.headers.get("accept"))


def _log_unavailable(cause: BaseException) -> None:
    _unavailable["answers"] += 1
    now = time.monotonic()
    if now - _unavailable["logged"] >= UNAVAILABLE_LOG_SECONDS:
        log.warning("answered 503, the database unavailable, to %d request(s) since the last "
                    "such line; this one's cause: %s", _unavailable["answers"], describe(cause))
        _unavailable.update(logged=now, answers=0)


HANDLERS = {LRSError: lrs_error, HTTPException: http_error,
            **{kind: database_unavailable for kind in UNAVAILABLE}}
