"""The document resources: /xapi/activities/state, /xapi/activities/profile,
/xapi/agents/profile (xAPI 1.0.3 Communication 2.2-2.7, 3.1; 2.0 LRS 4.1.4,
4.1.6.2, 4.1.6.5, 4.1.6.6). The rules are in lrs.xapi.documents; this module
parses, calls the store, and answers.

Scopes (1.0.3 Communication 4.2): State needs `state`, the profiles need
`profile`; reads are also allowed by `all/read` (`all` holds every scope)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email.utils
import functools

from starlette.requests import Request
from starlette.responses import Response

from lrs import metrics
from lrs.auth.principal import Principal
from lrs.errors import MethodNotAllowed, NotFound
from lrs.http.xrequest import XRequest, begin, field
from lrs.runtime import Runtime
from lrs.store import documents as store
from lrs.xapi import documents as rules
from lrs.xapi.documents import ACTIVITY_PROFILE, AGENT_PROFILE, STATE, Document, Target

_SCOPE = {STATE: "state", ACTIVITY_PROFILE: "profile", AGENT_PROFILE: "profile"}


async def state(request: Request) -> Response:
    return await _handle(request, STATE)


async def activity_profile(request: Request) -> Response:
    return await _handle(request, ACTIVITY_PROFILE)


async def agent_profile(request: Request) -> Response:
    return await _handle(request, AGENT_PROFILE)


async def _handle(request: Request, kind: str) -> Response:
    xreq, principal, version = await begin(request)
    method = xreq.method
    if method not in rules.METHODS:
        raise MethodNotAllowed(f"{method} is not allowed on {request.url.path}",
                               headers={"Allow": ", ".join(rules.METHODS)})
    reading = method in rules.READS
    principal.require(_SCOPE[kind], *(("all/read",) if reading else ()))
    xreq.allow_params(*rules.params_for(kind, method))
    target = rules.parse_target(kind, xreq.params, version)
    if reading:
        if target.doc_id is None:
            return await _list(xreq, principal, target)
        return await _get(xreq, principal, target)
    if method == "DELETE" and target.doc_id is None:  # STATE-05
        pre = _preconditions(xreq)
        check = functools.partial(rules.plan_delete_all, pre=pre, kind=target.kind,
                                  version=version)
        await store.delete_all(xreq.runtime.db, principal.tenant_id, target, check)
        metrics.DOCUMENTS_WRITTEN.labels(kind=target.kind, method="DELETE").inc()
        return Response(status_code=204)
    return await _write(xreq, principal, version, target)


async def _get(xreq: XRequest, principal: Principal, target: Target) -> Response:
    async with xreq.runtime.db.connection() as conn:
        document = await store.get(conn, principal.tenant_id, target)
    if document is None:
        raise NotFound(f"no document with {_id_name(target)} {target.doc_id!r} here")
    return _read(xreq, document, headers={"Content-Type": document.content_type})


async def _list(xreq: XRequest, principal: Principal, target: Target) -> Response:
    async with xreq.runtime.db.connection() as conn:
        rows = await store.ids(conn, principal.tenant_id, target)
    # 1.0.3 3.1: every GET carries an ETag; 1.0.3 2.2 (DOC-16): Last-Modified
    # of the newest document listed.
    newest = max((updated for _, updated in rows), default=None)
    listed = dataclasses.replace(rules.id_list([doc_id for doc_id, _ in rows]), updated=newest)
    return _read(xreq, listed, headers={"Content-Type": "application/json"})


def _read(xreq: XRequest, document: Document, headers: dict[str, str]) -> Response:
    """A GET's answer: 412 when If-Match or If-Unmodified-Since fails, 304
    when If-None-Match or If-Modified-Since says the client has it (RFC 9110
    13.2.2), else the document. DOC-01: its bytes with its Content-Type, set
    as a header so that Starlette adds no charset to it."""
    pre = _preconditions(xreq)
    rules.check_unchanged(pre, document)
    if rules.not_modified(pre, document):
        return Response(status_code=304, headers=_validators(document))
    return Response(document.content, headers={**headers, **_validators(document)})


async def _write(xreq: XRequest, principal: Principal, version: str, target: Target) -> Response:
    runtime: Runtime = xreq.runtime
    pre = _preconditions(xreq)
    context = {"kind": target.kind, "version": version}
    if xreq.method == "DELETE":
        change = functools.partial(rules.plan_delete, pre=pre, **context)
        stored = await store.modify(runtime.db, principal.tenant_id, target, change)
    else:
        limit = runtime.settings.max_document_bytes
        async with xreq.admitted(principal, limit):  # as statements are; 413 past the limit
            body = await xreq.body(limit)
            sent = rules.new_document(xreq.headers.get("content-type"), body)
            if xreq.method == "PUT":
                change = functools.partial(
                    rules.plan_put, sent=sent, pre=pre, **context,
                    unconditional_create=runtime.settings.unconditional_profile_put)
            else:
                change = functools.partial(rules.plan_post, sent=sent, pre=pre, **context,
                                           max_bytes=limit)
            stored = await store.modify(runtime.db, principal.tenant_id, target, change)
    metrics.DOCUMENTS_WRITTEN.labels(kind=target.kind, method=xreq.method).inc()
    # RFC 9110 8.8.3: the ETag of what the write left, so a client can chain
    # conditional writes without a GET in between.
    return Response(status_code=204, headers=_validators(stored) if stored else None)


def _preconditions(xreq: XRequest) -> rules.Preconditions:
    return rules.parse_preconditions(*(field(xreq.headers, name) for name in (
        "if-match", "if-none-match", "if-unmodified-since", "if-modified-since")))


def _validators(document: Document) -> dict[str, str]:
    # DOC-03 ETag; DOC-15 Last-Modified (2.0 LRS 4.1.6.2 "shall", 1.0.3 SHOULD*).
    headers = {"ETag": rules.quoted(document.etag)}
    if document.updated is not None:
        headers["Last-Modified"] = _http_date(document.updated)
    return headers


def _http_date(when: dt.datetime) -> str:
    return email.utils.format_datetime(when, usegmt=True)


def _id_name(target: Target) -> str:
    return rules.KINDS[target.kind].id_param
