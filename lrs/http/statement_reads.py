"""GET and HEAD /xapi/statements: one statement, or a page of them.

Statements are stored as the JSON bytes we return, so `format=exact` pages
are assembled from stored bytes without parsing them; `ids` and `canonical`
parse and reshape each statement."""

from __future__ import annotations

import datetime as dt
import email.utils
import time
from collections.abc import Callable

import orjson
from starlette.responses import Response

from lrs import metrics
from lrs.auth import cursors
from lrs.auth.principal import Principal
from lrs.errors import BadRequest, NotFound
from lrs.http import consistency
from lrs.http.auth import current_signing_key
from lrs.http.xrequest import XRequest
from lrs.runtime import Runtime
from lrs.store import statement_reader as reader
from lrs.store.statement_reader import Row, StatementFilter
from lrs.xapi import jsonparse, multipart, statement_query
from lrs.xapi.attachments import iter_attachments
from lrs.xapi.formats import format_statement
from lrs.xapi.indexing import statement_activities
from lrs.xapi.languages import parse_accept_language
from lrs.xapi.statement_query import Listing, Single

MORE_PATH = "/xapi/statements"
# In format=canonical, each mention of an Activity carries its canonical
# definition (at most 64 KiB: lrs/store/statement_insert.py), so a small
# statement mentioning one many times reads back huge (fuzz round 4: 2.5 KB
# as 233 MB). Past this many bytes of them in one statement, further
# mentions keep the definition they were stored with.
CANONICAL_BYTES_A_STATEMENT = 1024 * 1024


async def get(xreq: XRequest, principal: Principal, version: str) -> Response:
    principal.require("statements/read", "statements/read/mine")
    # statements/read/mine: only what this credential stored.
    mine = None if principal.can("statements/read") else principal.credential
    runtime: Runtime = xreq.runtime
    if "more" in xreq.params:
        xreq.allow_params(("more",))
        query, after = _resume(await current_signing_key(runtime), principal, xreq.params["more"])
    else:
        xreq.allow_params(statement_query.ALL_PARAMS)
        query = statement_query.parse(xreq.params, version, page_limit=runtime.settings.page_limit)
        after = None
    if isinstance(query, Single):
        return await _single(xreq, principal, version, query, mine)
    return await _listing(xreq, principal, version, query, after, mine)


async def _single(xreq: XRequest, principal: Principal, version: str, query: Single,
                  mine: str | None) -> Response:
    runtime: Runtime = xreq.runtime
    for asked_again in (False, True):
        async with runtime.db.connection() as conn:
            await consistency.before_reading(xreq.request, conn, principal.tenant_id)
            row = await reader.single(conn, principal.tenant_id, query.statement_id,
                                      voided=query.voided, credential=mine)
            if row is not None:
                return await _one(conn, xreq, principal, version, query, row)
        # Not found. If its write is in flight here, ask again once that is
        # settled (the connection given back meanwhile: that write may need one).
        if asked_again or not await runtime.services["writer"].settled(
                principal.tenant_id, query.statement_id):
            break
    what = "voided statement" if query.voided else "statement"
    raise NotFound(f"no {what} with id {query.statement_id}",
                   field="voidedStatementId" if query.voided else "statementId")


async def _one(conn, xreq: XRequest, principal: Principal, version: str, query: Single,
               row: Row) -> Response:
    render = await _renderer(conn, xreq, principal, version, query.format, [row])
    body = render(row)
    parts = await _attachments(conn, principal, [row]) if query.attachments else None
    _shown(xreq, row)
    return _respond(body, parts, last_modified=row)


async def _listing(xreq: XRequest, principal: Principal, version: str, query: Listing,
                   after: int | None, mine: str | None) -> Response:
    runtime: Runtime = xreq.runtime
    statement_filter = StatementFilter(**query.filters, credential=mine)
    async with runtime.db.connection() as conn:
        await consistency.before_reading(xreq.request, conn, principal.tenant_id)
        started = time.perf_counter()
        rows, more = await reader.page(conn, principal.tenant_id, statement_filter,
                                       after=after, limit=query.limit)
        metrics.series(metrics.STATEMENT_QUERY_DURATION, _filter_kind(query.filters)).observe(
            time.perf_counter() - started)
        kept = await _within_page_bytes(conn, principal, rows, query.attachments,
                                        runtime.settings.page_bytes)
        render = await _renderer(conn, xreq, principal, version, query.format, kept)
        rendered = _rendered_within(render, kept, runtime.settings.page_bytes)
        more, rows = more or len(rendered) < len(rows), kept[:len(rendered)]
        parts = await _attachments(conn, principal, rows) if query.attachments else None
    more_url = ""
    if more:
        state = {"q": _query_state(query), "after": rows[-1].seq}
        cursor = cursors.encode(await current_signing_key(runtime), principal.tenant_id, state)
        more_url = f"{MORE_PATH}?more={cursor}"
    body = (b'{"statements":[' + b",".join(rendered) + b'],"more":'
            + orjson.dumps(more_url) + b"}")
    newest = max(rows, key=lambda r: r.stored) if rows else None
    _shown(xreq, newest)
    return _respond(body, parts, last_modified=newest)


def _shown(xreq: XRequest, newest: Row | None) -> None:
    """The newest `stored` this answer shows: its Consistent-Through must
    not be older (lrs/http/consistency.py)."""
    if newest is not None:
        xreq.request.scope["state"]["newest_shown"] = newest.stored


def _filter_kind(filters: dict) -> str:
    """A bounded label: which content filters a query used, and whether it
    had a time bound (32 values at most; each a histogram of 17 series).
    With every filter named apart, related_* and since/until too, one
    reading client could make 256 of them, over 4,000 series."""
    used = [name for name in ("agent", "verb", "activity", "registration") if filters.get(name)]
    if filters.get("since") or filters.get("until"):
        used.append("time")
    return "+".join(used) or "none"


def _query_state(query: Listing) -> dict:
    filters = {k: (v.isoformat() if hasattr(v, "isoformat") else v)
               for k, v in query.filters.items()}
    return {"f": filters, "l": query.limit, "fmt": query.format, "att": query.attachments}


def _resume(key: bytes, principal: Principal, token: str) -> tuple[Listing, int]:
    state = cursors.decode(key, principal.tenant_id, token)
    try:
        q = state["q"]
        filters = dict(q["f"])
        for name in ("since", "until"):
            if filters.get(name) is not None:
                filters[name] = dt.datetime.fromisoformat(filters[name])
        return Listing(filters, int(q["l"]), q["fmt"], bool(q["att"])), int(state["after"])
    except (KeyError, TypeError, ValueError):
        raise BadRequest("the 'more' cursor is invalid", field="more") from None


async def _renderer(conn, xreq: XRequest, principal: Principal, version: str, fmt: str,
                    rows: list[Row]) -> Callable[[Row], bytes]:
    """How each stored statement becomes response bytes in `fmt`."""
    if fmt == "exact":
        # 1.0.x readers get statements unchanged too (formats.downgrade_for_v1).
        return lambda row: row.payload
    languages = parse_accept_language(xreq.headers.get("accept-language"))
    # Each stored statement is parsed once, for the definitions look-up and
    # for rendering both.
    parsed = {r.seq: jsonparse.loads(r.payload) for r in rows}
    if fmt != "canonical":
        return lambda row: jsonparse.dumps(format_statement(parsed[row.seq], fmt,
                                                            languages=languages, version=version))
    ids = {a["id"] for s in parsed.values() for a in statement_activities(s)}
    found = await reader.definitions(conn, principal.tenant_id, sorted(ids))
    canonical = {k: (jsonparse.loads(v), len(v)) for k, v in found.items()}

    def render(row: Row) -> bytes:
        left = CANONICAL_BYTES_A_STATEMENT

        def definition(activity_id: str) -> dict | None:
            """Its canonical definition, while the statement's mentions
            have taken fewer than CANONICAL_BYTES_A_STATEMENT of them."""
            nonlocal left
            held, size = canonical.get(activity_id, (None, 0))
            left -= size
            return held if left >= 0 else None
        return jsonparse.dumps(format_statement(parsed[row.seq], fmt, languages=languages,
                                                canonical=definition, version=version))
    return render


def _rendered_within(render: Callable[[Row], bytes], rows: list[Row], budget: int) -> list[bytes]:
    """The first rows rendered, while they fit in `budget` bytes (the first
    always). A canonical statement can be far larger than stored: every
    mention of an Activity carries its canonical definition."""
    rendered: list[bytes] = []
    total = 0
    for row in rows:
        body = render(row)
        total += len(body)
        if rendered and total > budget:
            break
        rendered.append(body)
    return rendered


async def _within_page_bytes(conn, principal: Principal, rows: list[Row], attachments: bool,
                             budget: int) -> list[Row]:
    """The first rows that fit in `budget` bytes (the first row always): the
    statements as stored and, with `attachments`, their attachments, each
    counted once. A page of large statements or attachments ends early and
    `more` leads on, instead of one response holding them all in memory.
    xAPI's `limit` is a maximum (1.0.3 Communication 2.1.3; 2.0 LRS 4.1.6.1)."""
    sizes: dict[str, int] = {}
    wanted = _attachment_hashes(rows) if attachments else []
    if wanted:
        sizes = await reader.attachment_sizes(conn, principal.tenant_id, wanted)
    counted: set[str] = set()
    total = 0
    for at, row in enumerate(rows):
        total += len(row.payload)
        if sizes and row.attachment_sha2:
            new = {h for h in row.attachment_sha2 if h in sizes and h not in counted}
            total += sum(sizes[h] for h in new)
            counted |= new
        if at and total > budget:
            return rows[:at]
    return rows


def _attachment_hashes(rows: list[Row]) -> list[str]:
    return sorted({h for r in rows for h in (r.attachment_sha2 or ())})


async def _attachments(conn, principal: Principal, rows: list[Row]) -> list[tuple[str, str, bytes]]:
    """The parts of an answer: each attachment's data once, its headers as
    the first attachment object in the answer that names it declares them
    (1.0.3 Communication 1.5.2, 2.0 LRS 4.1.3: a part's Content-Type and
    hash "MUST match" the object's contentType and sha2). The data is kept
    once a tenant, with the Content-Type of its first upload: another
    statement may declare the same bytes otherwise, or write the hash in
    capitals (fuzz round 8)."""
    wanted = _attachment_hashes(rows)
    found = await reader.attachments(conn, principal.tenant_id, wanted) if wanted else []
    declared = _declared_attachments(rows) if found else {}
    parts = []
    for sha2, stored_type, data in found:
        written, content_type = declared.get(sha2, (sha2, stored_type))
        # A content type that cannot be a header (stored before ingest
        # refused those) must not make every page that holds it fail.
        if not (content_type.isascii() and content_type.isprintable()):
            content_type = "application/octet-stream"
        parts.append((written, content_type, data))
    return parts


def _declared_attachments(rows: list[Row]) -> dict[str, tuple[str, str]]:
    """By lower-case hash: the sha2 and contentType of the first attachment
    object of `rows`, in their order, with each hash."""
    declared: dict[str, tuple[str, str]] = {}
    statements = [orjson.loads(row.payload) for row in rows if row.attachment_sha2]
    for _, attachment in iter_attachments(statements):
        sha2, content_type = attachment.get("sha2"), attachment.get("contentType")
        if isinstance(sha2, str) and isinstance(content_type, str):
            declared.setdefault(sha2.lower(), (sha2, content_type))
    return declared


def _respond(body: bytes, parts: list[tuple[str, str, bytes]] | None,
             last_modified: Row | None) -> Response:
    headers = {}
    if last_modified is not None:
        # STGET-28: the (latest) stored of what is returned.
        headers["Last-Modified"] = email.utils.format_datetime(last_modified.stored, usegmt=True)
    if parts is None:
        return Response(body, media_type="application/json", headers=headers)
    # STGET-24, ATT-08: multipart/mixed, the JSON first, each attachment once.
    content, content_type = multipart.build_multipart(body, parts)
    return Response(content, headers={**headers, "Content-Type": content_type})
