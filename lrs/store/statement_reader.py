"""The statement read path: one SQL query per page.

The filters of GET /statements compile into one query over the narrow index
tables, ordered by `seq` (store order; see migrations/0002) with keyset
pagination: a page continues strictly after the last seq of the previous
one, so pages stay stable while statements are being written.

xAPI 1.0.3 Communication 2.1.3 / 2.0 LRS 4.1.6.1, the StatementRef rule
(STGET-30): for every filter but since/until/limit, a statement whose object
is a StatementRef also matches when its target matches. The query is the
union of the statements matching directly and the referrers whose target
matches; referrers are few (voids, mostly) and have an index of their own.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import asyncpg

from lrs.store.db import Query, fetch, fetchrow

SINGLE = Query("statements.get", """
SELECT payload, attachment_sha2, stored FROM statements
WHERE tenant_id = $1 AND id = $2 AND voided = $3 AND ($4::text IS NULL OR credential = $4)""")
ATTACHMENTS = Query("attachments.get", """
SELECT sha2, content_type, content FROM attachments WHERE tenant_id = $1 AND sha2 = ANY($2)""")
DEFINITIONS = Query("activities.canonical", """
SELECT activity_id, definition::text FROM activities
WHERE tenant_id = $1 AND activity_id = ANY($2::text[])""")


@dataclasses.dataclass(frozen=True)
class StatementFilter:
    agent: str | None = None  # an agent key (lrs.xapi.agents.agent_key)
    verb: str | None = None
    activity: str | None = None
    registration: str | None = None
    related_activities: bool = False
    related_agents: bool = False
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    ascending: bool = False
    credential: str | None = None  # statements/read/mine

    @property
    def matches_content(self) -> bool:
        """Whether any filter is one the StatementRef rule applies to."""
        return any(v is not None for v in (self.agent, self.verb, self.activity, self.registration))


@dataclasses.dataclass(frozen=True)
class Row:
    seq: int
    payload: bytes
    attachment_sha2: list[str] | None
    stored: dt.datetime


class _Params:
    """Numbered SQL parameters, so that values are always bound."""

    def __init__(self, *initial: object) -> None:
        self.values: list[object] = list(initial)

    def add(self, value: object) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


def _match(alias: str, f: StatementFilter, p: _Params) -> list[str]:
    """Conditions for statement `alias` to match the content filters."""
    conditions = []
    if f.verb is not None:
        conditions.append(f"{alias}.verb_id = {p.add(f.verb)}")
    if f.registration is not None:
        conditions.append(f"{alias}.registration = {p.add(f.registration)}::uuid")
    if f.agent is not None:
        direct = "" if f.related_agents else " AND a.direct"
        conditions.append(
            f"EXISTS (SELECT 1 FROM statement_agents a WHERE a.tenant_id = $1 "
            f"AND a.agent_key = {p.add(f.agent)} AND a.seq = {alias}.seq{direct})")
    if f.activity is not None:
        direct = "" if f.related_activities else " AND c.direct"
        conditions.append(
            f"EXISTS (SELECT 1 FROM statement_activities c WHERE c.tenant_id = $1 "
            f"AND c.activity_id = {p.add(f.activity)} AND c.seq = {alias}.seq{direct})")
    return conditions


def _bounds(f: StatementFilter, after: int | None, p: _Params) -> list[str]:
    """since/until (on `stored`, which grows with seq) and the page cursor,
    as conditions on s.seq."""
    conditions = []
    if f.since is not None:
        conditions.append(
            "s.seq > coalesce((SELECT b.seq FROM statements b WHERE b.tenant_id = $1 AND "
            f"b.stored <= {p.add(f.since)} ORDER BY b.stored DESC, b.seq DESC LIMIT 1), 0)")
    if f.until is not None:
        conditions.append(
            "s.seq <= coalesce((SELECT b.seq FROM statements b WHERE b.tenant_id = $1 AND "
            f"b.stored <= {p.add(f.until)} ORDER BY b.stored DESC, b.seq DESC LIMIT 1), 0)")
    if after is not None:
        conditions.append(f"s.seq {'>' if f.ascending else '<'} {p.add(after)}")
    if f.credential is not None:
        conditions.append(f"s.credential = {p.add(f.credential)}")
    return conditions


def compile_page(tenant_id: int, f: StatementFilter, *, after: int | None,
                 limit: int) -> tuple[str, list[object]]:
    """The SQL of one page (limit + 1 rows: the extra one says there is more)."""
    p = _Params(tenant_id)
    order = "ASC" if f.ascending else "DESC"
    common = ["s.tenant_id = $1", "NOT s.voided", *_bounds(f, after, p)]
    limit_param = p.add(limit + 1)
    direct = " AND ".join(common + _match("s", f, p))
    branches = [f"(SELECT s.seq FROM statements s WHERE {direct} "
                f"ORDER BY s.seq {order} LIMIT {limit_param})"]
    if f.matches_content:
        via_ref = " AND ".join(common + ["s.ref_target IS NOT NULL"] + _match("t", f, p))
        branches.append(
            f"(SELECT s.seq FROM statements s JOIN statements t ON t.tenant_id = s.tenant_id "
            f"AND t.id = s.ref_target WHERE {via_ref} ORDER BY s.seq {order} LIMIT {limit_param})")
    sql = (f"WITH page AS (SELECT u.seq FROM ({' UNION '.join(branches)}) u "
           f"ORDER BY u.seq {order} LIMIT {limit_param}) "
           "SELECT s.seq, s.payload, s.attachment_sha2, s.stored FROM page "
           f"JOIN statements s ON s.tenant_id = $1 AND s.seq = page.seq ORDER BY s.seq {order}")
    return sql, p.values


async def page(conn: asyncpg.Connection, tenant_id: int, f: StatementFilter, *,
               after: int | None, limit: int) -> tuple[list[Row], bool]:
    """Up to `limit` statements after the cursor, and whether more follow."""
    sql, args = compile_page(tenant_id, f, after=after, limit=limit)
    rows = await fetch(conn, Query("statements.page", sql), *args)
    found = [Row(r["seq"], r["payload"], r["attachment_sha2"], r["stored"]) for r in rows]
    return found[:limit], len(found) > limit


async def single(conn: asyncpg.Connection, tenant_id: int, statement_id: str, *,
                 voided: bool, credential: str | None) -> Row | None:
    row = await fetchrow(conn, SINGLE, tenant_id, statement_id, voided, credential)
    if row is None:
        return None
    return Row(0, row["payload"], row["attachment_sha2"], row["stored"])


async def attachments(conn: asyncpg.Connection, tenant_id: int,
                      sha2s: list[str]) -> list[tuple[str, str, bytes]]:
    rows = await fetch(conn, ATTACHMENTS, tenant_id, sha2s)
    return [(r["sha2"], r["content_type"], bytes(r["content"])) for r in rows]


async def definitions(conn: asyncpg.Connection, tenant_id: int,
                      activity_ids: list[str]) -> dict[str, str]:
    """Canonical definitions as JSON text, by activity id."""
    rows = await fetch(conn, DEFINITIONS, tenant_id, activity_ids)
    return {r["activity_id"]: r["definition"] for r in rows}
