"""The Statements resource: /xapi/statements (xAPI 1.0.3 Communication 2.1,
2.0 LRS 4.1.6.1). Thin: parse, call the domain and the store, respond."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import orjson
from starlette.requests import Request
from starlette.responses import Response

from lrs import ingest, metrics
from lrs.errors import BadRequest, LRSError, MethodNotAllowed
from lrs.http import statement_reads
from lrs.http.consistency import with_consistent_through
from lrs.http.xrequest import XRequest, begin
from lrs.runtime import Runtime
from lrs.store.statement_insert import WriteBatch
from lrs.xapi.formats_check import is_uuid

_WRITE_SCOPES = ("statements/write",)
# Bodies larger than this are checked in a thread (_store), of a pool of their
# own: in the default executor they would queue ahead of other work (jwks.py's
# downloads, under a deadline). Two, as the GIL runs one at a time anyway.
IN_THREAD_BYTES = 256 * 1024
_CHECKERS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="lrs-body-check")


@with_consistent_through
async def statements(request: Request) -> Response:
    # A plain POST stores; a POST with ?method= is any request in 1.0.3's
    # alternate syntax, counted as a write only if it turns out to be one.
    writing = request.method == "PUT" or (
        request.method == "POST" and "method" not in request.query_params)
    try:
        # A method the resource never takes is refused before the caller is
        # known, as Starlette refuses it on the other resources (ADL's suite
        # sends DELETE without credentials and expects 405).
        _allowed(request.method)
        xreq, principal, version = await begin(request)
        if xreq.method in ("GET", "HEAD"):
            return await statement_reads.get(xreq, principal, version)
        _allowed(xreq.method)  # a method the 1.0.3 alternate syntax tunnelled
        writing = True
        principal.require(*_WRITE_SCOPES)
        if xreq.method == "POST" and set(xreq.params) - {"method"}:
            # A POST with query parameters is a GET in alternate syntax only.
            xreq.allow_params(())
        return await (_put(xreq, principal, version) if xreq.method == "PUT"
                      else _post(xreq, principal, version))
    except LRSError as exc:
        if writing:
            metrics.STATEMENTS_REJECTED.labels(reason=_reason(exc)).inc()
        raise


async def _put(xreq: XRequest, principal, version: str) -> Response:
    xreq.allow_params(("statementId",), required=("statementId",))
    statement_id = xreq.params["statementId"]
    if not is_uuid(statement_id):
        raise BadRequest("parameter 'statementId' must be a UUID", field="statementId")
    await _store(xreq, principal, version, statement_id)
    return Response(status_code=204)


async def _post(xreq: XRequest, principal, version: str) -> Response:
    ids = await _store(xreq, principal, version, None)
    return Response(orjson.dumps(ids), media_type="application/json")


async def _store(xreq: XRequest, principal, version: str, statement_id: str | None) -> list[str]:
    runtime: Runtime = xreq.runtime
    settings = runtime.settings
    async with xreq.admitted(principal, settings.max_body_bytes):
        body = await xreq.body(settings.max_body_bytes)
        args = (body, xreq.headers.get("content-type", ""), version, principal,
                settings.max_statements_per_request, statement_id)
        # A large body is milliseconds of parsing and validation: in a thread, the
        # event loop goes on serving this worker's other requests (Python hands the
        # GIL over every 5 ms). A small one is not worth the hop.
        batch = (await asyncio.get_running_loop().run_in_executor(_CHECKERS, _prepare, *args)
                 if len(body) > IN_THREAD_BYTES else _prepare(*args))
        batch.arrived = xreq.request.scope["state"].get("arrived", 0.0)
        xreq.request.scope["state"]["statements"] = len(batch.statements)
        await runtime.services["writer"].write(batch)
    xreq.request.scope["state"]["consistent_through"] = batch.consistent_through
    metrics.STATEMENT_BATCH_SIZE.observe(len(batch.statements))
    return [p.statement["id"] for p in batch.statements]


def _prepare(body: bytes, content_type: str, version: str, principal, max_statements: int,
             statement_id: str | None) -> WriteBatch:
    received = ingest.receive(body, content_type, version, max_statements=max_statements,
                              statement_id=statement_id)
    return ingest.batch(received, version=version, principal=principal)


def _allowed(method: str) -> None:
    if method not in ("GET", "HEAD", "PUT", "POST"):
        raise MethodNotAllowed(f"{method} is not allowed on /xapi/statements",
                               headers={"Allow": "GET, HEAD, PUT, POST"})


def _reason(exc: LRSError) -> str:
    return {400: "validation", 401: "auth", 403: "auth", 408: "timeout", 409: "conflict",
            413: "size", 415: "validation", 429: "rate",
            503: "unavailable"}.get(exc.status, "other")
