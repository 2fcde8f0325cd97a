"""Every Statements-resource response, errors included, carries
X-Experience-API-Consistent-Through (STGET-26).

The value is a lower bound ("everything stored before it is retrievable"),
so an older value stays true. Reads reuse their tenant's value for up to
READ_REUSE_SECONDS, which saves a round trip per page while a reporting tool
pages through results, but never one older than the newest `stored` the
answer shows: clients (ADL's suite, XAPI-00152, among them) expect every
statement they are given to be stored before the header's instant. A write
that was committed answers with the `stored` of its own group
(StatementWriter: everything stored up to then is committed), which covers
what it stored, and reads may reuse that too; other writes ask afresh."""

from __future__ import annotations

import datetime as dt
import functools
import time
from collections.abc import Awaitable, Callable

import asyncpg
from starlette.requests import Request
from starlette.responses import Response

from lrs.errors import LRSError
from lrs.runtime import Runtime
from lrs.store.consistency import consistent_through
from lrs.store.db import UNAVAILABLE
from lrs.xapi.timestamps import iso

HEADER = "X-Experience-API-Consistent-Through"
READ_REUSE_SECONDS = 0.1

# tenant id -> (value, monotonic time it was computed), per process.
_recent: dict[int, tuple[dt.datetime, float]] = {}


def with_consistent_through(handler: Callable[[Request], Awaitable[Response]]
                            ) -> Callable[[Request], Awaitable[Response]]:
    @functools.wraps(handler)
    async def wrapped(request: Request) -> Response:
        try:
            response = await handler(request)
        except LRSError as exc:
            exc.headers[HEADER] = await _value(request)
            raise
        response.headers[HEADER] = await _value(request)
        return response

    return wrapped


async def _value(request: Request) -> str:
    principal = request.scope["state"].get("principal")
    if principal is None:
        # No tenant, so nothing is retrievable by this caller: any instant
        # is truthful, and the current one is the useful one.
        return iso(dt.datetime.now(dt.UTC))
    written = request.scope["state"].get("consistent_through")
    if written is not None:
        # True for later answers too: the tenant's next page may reuse it.
        cached = _recent.get(principal.tenant_id)
        if cached is None or cached[0] < written:
            _recent[principal.tenant_id] = (written, time.monotonic())
        return iso(written)
    if request.method in ("GET", "HEAD"):
        cached = _recent.get(principal.tenant_id)
        shown = request.scope["state"].get("newest_shown")
        if (cached is not None and time.monotonic() - cached[1] < READ_REUSE_SECONDS
                and (shown is None or cached[0] >= shown)):
            return iso(cached[0])
    runtime: Runtime = request.app.state.runtime
    try:
        async with runtime.db.connection() as conn:
            # Asked after the page was read, so it is at least the newest
            # `stored` shown (statements' `stored` grows with their seq).
            value = await consistent_through(conn, principal.tenant_id)
        _recent[principal.tenant_id] = (value, time.monotonic())
        return iso(value)
    except (LRSError, asyncpg.PostgresError, *UNAVAILABLE):
        # The header must not turn an answered request (a stored statement,
        # or the error being reported) into a 500: the epoch is always true.
        return iso(dt.datetime(1970, 1, 1, tzinfo=dt.UTC))
