"""The statement read path: one SQL query per page.

The filters of GET /statements compile into one query over the narrow index
tables, ordered by `seq` (store order; see migrations/0002) with keyset
pagination: a page continues strictly after the last seq of the previous
one, so pages stay stable while statements are being written.

xAPI 1.0.3 Communication 2.1.3 / 2.0 LRS 4.1.6.1, the StatementRef rule
(STGET-30): for every filter but since/until/limit, a statement whose object
is a StatementRef also matches when its target matches. The query is the
union of the statements matching directly and the referrers whose target
matches; referrers are few (voids, mostly) and have indexes of their own, on
seq and on ref_target (see compile_page for which is used when).

Every scan starts from an index that leads with the tenant and ends with
seq, so that a page reads about `limit` index entries, not every match:
bench/ measures it (bench/README.md, docs/benchmarks.md).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import NamedTuple

import asyncpg

from lrs.store.db import Query, fetch, fetchrow
from lrs.xapi.indexing import key_hash

# How far the query counts StatementRef referrers and targets to choose
# how to find the referrers of a page (see compile_page).
REFERRER_COUNT = 1000
# How far the query counts the rows of an agent (or activity), and then of
# its other filters (activity, verb, registration), to choose which to walk
# (see _choice): the agent's rows when there are fewer than DRIVER_COUNT;
# else the other filter's of fewest rows when it has fewer than half as
# many, the others' counted up to DRIVER_COMPARE (index-only, ~0.15 us a row
# warm).
DRIVER_COUNT = 1000
DRIVER_COMPARE = 5_000

SINGLE = Query("statements.get", """
SELECT payload, attachment_sha2, stored FROM statements
WHERE tenant_id = $1 AND id = $2 AND voided = $3 AND ($4::text IS NULL OR credential = $4)""")
ATTACHMENTS = Query("attachments.get", """
SELECT sha2, content_type, content FROM attachments WHERE tenant_id = $1 AND sha2 = ANY($2)""")
ATTACHMENT_SIZES = Query("attachments.sizes", """
SELECT sha2, octet_length(content) AS size FROM attachments
WHERE tenant_id = $1 AND sha2 = ANY($2)""")
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


class Row(NamedTuple):
    """A stored statement as a page holds it: the columns of `compile_page`'s
    rows, in their order. A tuple, not a frozen dataclass: a page makes up
    to ~500 of them, at 0.26 against 0.79 us each (timeit)."""
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


def _match(alias: str, f: StatementFilter, p: _Params, probe=None) -> list[str]:
    """Conditions for statement `alias` to match the content filters (the
    referrers' side of the StatementRef rule: `alias` is the target); the
    index tables are checked with `probe` (default `_probe`)."""
    probe = probe or _probe
    conditions = []
    if f.verb is not None:
        conditions.append(f"{alias}.verb_id = {p.add(f.verb)}")
    if f.registration is not None:
        conditions.append(f"{alias}.registration = {p.add(f.registration)}::uuid")
    if f.agent is not None:
        conditions.append(probe("statement_agents", "agent_hash", f.agent, f.related_agents,
                                f"{alias}.seq", p))
    if f.activity is not None:
        conditions.append(probe("statement_activities", "activity_hash", f.activity,
                                f.related_activities, f"{alias}.seq", p))
    return conditions


def _probe(table: str, column: str, value: str, related: bool, seq: str, p: _Params) -> str:
    """`seq` has a row for `value` in an index table: one primary-key probe."""
    return f"EXISTS (SELECT 1 FROM {_index_row(table, column, value, related, seq, p)})"


def _index_row(table: str, column: str, value: str, related: bool, seq: str, p: _Params) -> str:
    """FROM and WHERE of `seq`'s row for `value` in an index table: a probe
    of its primary key (tenant_id, key, direct, seq), or of both values of
    `direct` when related rows match too."""
    direct = "x.direct IN (true, false)" if related else "x.direct"
    return (f"{table} x WHERE x.tenant_id = $1 AND x.{column} = {p.add(key_hash(value))} "
            f"AND {direct} AND x.seq = {seq}")


def _seq_bounds(seq: str, f: StatementFilter, after: int | None, p: _Params,
                cache: dict[str, str]) -> list[str]:
    """since/until (on `stored`, which never decreases as seq grows: the
    last seq stored at or before the time, one row a group commit in
    statement_groups, migrations/0014) and the page cursor, as conditions on
    the column `seq`: conditions a (tenant_id, ..., seq) index can start and
    stop its scan on."""
    conditions = []
    for name, op, value in (("since", ">", f.since), ("until", "<=", f.until)):
        if value is not None:
            if name not in cache:
                cache[name] = p.add(value)
            conditions.append(
                f"{seq} {op} coalesce((SELECT g.last_seq FROM statement_groups g "
                f"WHERE g.tenant_id = $1 AND g.stored <= {cache[name]} "
                f"ORDER BY g.stored DESC LIMIT 1), 0)")
    if after is not None:
        if "after" not in cache:
            cache["after"] = p.add(after)
        conditions.append(f"{seq} {'>' if f.ascending else '<'} {cache['after']}")
    return conditions


def _driver(alias: str, f: StatementFilter, p: _Params) -> tuple[str, list[str]]:
    """FROM and conditions of the one index that drives `_matching`, alone:
    what it yields is a superset of the matches."""
    if f.agent is not None or f.activity is not None:
        table, column, value, related = _index_table(f)
        conditions = [f"{alias}.tenant_id = $1", f"{alias}.{column} = {p.add(key_hash(value))}"]
        if not related:
            return f"{table} {alias}", [*conditions, f"{alias}.direct"]
        # The direct rows and the others: two ranges of the primary key
        # (tenant_id, key, direct, seq), merged in page order. Each ordered
        # on its own, so that the planner merges them (Merge Append) and
        # reads about a page of each; as plain SELECTs it read and sorted
        # all of a course's rows (a median 5.6-7.2 ms a page over 340,000
        # statements, against 1.4). The conditions on `alias` reach into
        # both.
        order = "ASC" if f.ascending else "DESC"
        rows = " UNION ALL ".join(f"(SELECT tenant_id, {column}, seq FROM {table} "
                                  f"WHERE {direct} ORDER BY seq {order})"
                                  for direct in ("direct", "NOT direct"))
        return f"({rows}) {alias}", conditions
    return f"statements {alias}", [f"{alias}.tenant_id = $1", *_match(alias, f, p)]


def _index_table(f: StatementFilter) -> tuple[str, str, str, bool]:
    """The index table of the agent filter if any, else of the activity's."""
    if f.agent is not None:
        return "statement_agents", "agent_hash", f.agent, f.related_agents
    return "statement_activities", "activity_hash", f.activity, f.related_activities


def _matching(alias: str, f: StatementFilter, p: _Params) -> tuple[str, str, list[str]]:
    """FROM, seq column and conditions of the statements `alias` that match
    the content filters.

    With an agent (or activity) filter the rows come from that index table's
    primary key (tenant_id, agent_hash, direct, seq), which yields them in
    seq order (see _driver), each statement found by one probe and the other
    filters checked on it.
    Otherwise from an index of `statements` (tenant_id, verb_id |
    registration | credential, seq) or the store order, as planned."""
    if f.agent is None and f.activity is None:
        return f"statements {alias}", f"{alias}.seq", [f"{alias}.tenant_id = $1",
                                                       *_match(alias, f, p)]
    x = f"{alias}x"
    rows, conditions = _driver(x, f, p)
    if f.agent is not None and f.activity is not None:
        # On the agent's row, before its statement is read: the planner
        # may merge the two index tables' rows by seq, index-only.
        conditions.append(_probe("statement_activities", "activity_hash", f.activity,
                                 f.related_activities, f"{x}.seq", p))
    # The statement by a probe of seq, LIMIT 1 keeping it one. As a plain
    # join, without statistics, the planner could instead scan a verb's
    # index from its newest entry for every row walked: 45 ms for an agent +
    # verb page 5,000 rows deep, 245 ms 20,000 deep (1 ms as a probe).
    on_statement = dataclasses.replace(f, agent=None, activity=None)
    probe = " AND ".join([f"{alias}.tenant_id = $1", f"{alias}.seq = {x}.seq",
                          *_match(alias, on_statement, p)])
    source = (f"{rows} CROSS JOIN LATERAL "
              f"(SELECT * FROM statements {alias} WHERE {probe} LIMIT 1) {alias}")
    return source, f"{x}.seq", conditions


def _by_statements(alias: str, f: StatementFilter, p: _Params) -> tuple[str, str, list[str]]:
    """As `_matching`, but the rows come from the verb or registration index
    of `statements`, each probed in the index tables for the agent and
    activity (`_row_probe`)."""
    return (f"statements {alias}", f"{alias}.seq",
            [f"{alias}.tenant_id = $1", *_match(alias, f, p, probe=_row_probe)])


def _row_probe(table: str, column: str, value: str, related: bool, seq: str, p: _Params) -> str:
    """As `_probe`, but a scalar subquery, so that it stays a per-row
    primary-key probe: an EXISTS may be planned as a join over all of the
    value's rows, which is what walking another index avoids."""
    return (f"coalesce((SELECT true FROM {_index_row(table, column, value, related, seq, p)} "
            f"LIMIT 1), false)")


def _ways(f: StatementFilter) -> list[str]:
    """The ways to walk the statements that match the content filters
    directly (see _walk): always `_matching`'s, the agent's rows (or the
    activity's), else an index of `statements`; with an agent (or activity)
    and other filters, the others too: the activity's rows when there are an
    agent and an activity, and the verb's or registration's rows when there
    is either, the rest probed on each. `_choice` chooses one."""
    ways = ["matching"]
    if f.agent is not None and f.activity is not None:
        ways.append("activity")
    if ((f.agent is not None or f.activity is not None)
            and (f.verb is not None or f.registration is not None)):
        ways.append("statements")
    return ways


def _walk(way: str, alias: str, f: StatementFilter, p: _Params) -> tuple[str, str, list[str]]:
    """FROM, seq column and conditions of the statements `alias` that match
    the content filters, by `way` (see _ways)."""
    if way == "matching":
        return _matching(alias, f, p)
    if way == "statements":
        return _by_statements(alias, f, p)
    source, seq, conditions = _matching(alias, dataclasses.replace(f, agent=None), p)
    conditions.append(_row_probe("statement_agents", "agent_hash", f.agent, f.related_agents,
                                 seq, p))
    return source, seq, conditions


def _walked(way: str, f: StatementFilter, p: _Params) -> tuple[str, list[str]]:
    """FROM and conditions of the rows `way` walks (see _ways), to count
    them: the index that drives it, alone; for the verb's or registration's,
    the registration's when both (it is the rarer)."""
    if way == "matching":
        return _driver("k", f, p)
    if way == "activity":
        return _driver("k", dataclasses.replace(f, agent=None), p)
    column, value, cast = (("registration", f.registration, "::uuid")
                           if f.registration is not None else ("verb_id", f.verb, ""))
    return "statements k", ["k.tenant_id = $1", f"k.{column} = {p.add(value)}{cast}"]


def _count(source: str, conditions: list[str], cap: str) -> str:
    """How many rows `source` has under `conditions`, up to `cap`: read
    index-only, a bound on how many rows walking that index can cost."""
    return (f"(SELECT count(*) FROM (SELECT 1 FROM {source} WHERE {' AND '.join(conditions)} "
            f"LIMIT {cap}) c)")


def compile_page(tenant_id: int, f: StatementFilter, *, after: int | None,
                 limit: int) -> tuple[str, list[object]]:
    """The SQL of one page (limit + 1 rows: the extra one says there is more).

    Without content filters: one scan of the best index, payload included.

    With them, `d`, the statements that match directly, in page order and
    stopped at the limit; and the StatementRef rule: the referrers whose
    target matches. Only referrers in the page's stretch of store order can
    be on the page: up to the last of `d` when `d` fills a page, else the
    whole since/until/cursor range. The query picks one of two ways to find
    them, by a one-time filter (the other branch is never run), whichever
    reads fewer rows, by counting (index-only, up to REFERRER_COUNT):

    - the referrers in the stretch (partial index on seq), in page order,
      each target checked by primary-key probes. A filter that matches often
      has a short stretch with next to no referrers: the common case;
    - every target that matches (by the same walk as `d`), each probed for
      referrers (index on ref_target): for a rare filter, whose stretch is
      long.

    An agent (or activity) filter with others has several walks (`_ways`);
    the query chooses one, once, for both `d` and the targets (`_choice`)."""
    p = _Params(tenant_id)
    cache: dict[str, str] = {}
    order = "ASC" if f.ascending else "DESC"
    row = "s.seq, s.payload, s.attachment_sha2, s.stored"  # Row's fields, in order
    n = p.add(limit + 1)

    def page_of(source: str, seq: str, conditions: list[str], columns: str) -> str:
        conditions = [*conditions, "NOT s.voided", *_seq_bounds(seq, f, after, p, cache)]
        if seq != "s.seq":
            # Walking an index table: voided statements left out on the index
            # row, by a probe of the index of voided ones (migrations/0020),
            # before their statement is read from the heap (a walk past a
            # stretch of voided matches read each of them, every page). The
            # probe reads no heap once vacuum has marked their pages visible.
            conditions.append(f"NOT coalesce((SELECT true FROM statements v WHERE "
                              f"v.tenant_id = $1 AND v.seq = {seq} AND v.voided LIMIT 1), false)")
        if f.credential is not None:
            if "credential" not in cache:
                cache["credential"] = p.add(f.credential)
            conditions.append(f"s.credential = {cache['credential']}")
        return (f"SELECT {columns} FROM {source} WHERE {' AND '.join(conditions)} "
                f"ORDER BY {seq} {order} LIMIT {n}")

    if not f.matches_content:
        return page_of(*_matching("s", f, p), row), p.values
    ways = _ways(f)
    choice = _choice(ways, f, p) if len(ways) > 1 else None
    direct = _chosen([page_of(*_walk(way, "s", f, p), "s.seq") for way in ways])

    beyond, edge, none = (("<", "max", "9223372036854775807") if f.ascending
                          else (">", "min", "0"))
    # Referrers in the page's stretch: the conditions a (tenant_id, seq)
    # index answers, then the rest.
    page_edge = f"(SELECT CASE WHEN count(*) >= {n} THEN {edge}(seq) ELSE {none} END FROM d)"
    stretch = ["r.tenant_id = $1", "r.ref_target IS NOT NULL", f"r.seq {beyond} {page_edge}",
               *_seq_bounds("r.seq", f, after, p, cache)]
    referrer = [*stretch, "NOT r.voided"]
    if f.credential is not None:
        referrer.append(f"r.credential = {p.add(f.credential)}")
    # Which way reads fewer rows: the referrers in the stretch, or every
    # target (counted on the index that drives the walk `d` took, alone, so
    # at most an upper bound); both counted index-only, up to REFERRER_COUNT.
    cap = p.add(REFERRER_COUNT)
    targets = _chosen([_count(*_walked(way, f, p), cap) for way in ways], scalar=True)
    by_stretch_first = f"{_count('statements r', stretch, cap)} <= {targets}"
    # A scalar subquery is run per referrer, in index order (an EXISTS
    # would be planned as a join over all of them).
    # The rule applies recursively (1.0.3 Communication 2.1.3: "a is a match
    # when a targets b which targets c" and c matches): a referrer matches
    # when any statement down its chain of StatementRefs does, however long.
    # Chains are short, usually one step (a void), so the target is checked
    # first by one probe of its id, and only a target that is a StatementRef
    # itself leads on down the chain: the recursive walk cost ~9 us a
    # referrer even for one step (197 ms a page past 20,000 voids).
    # UNION, not UNION ALL: an id met again adds no row, so a cycle of
    # references ends the walk.
    chain = ("WITH RECURSIVE chain(id) AS (SELECT t1.ref_target UNION "
             "SELECT c.ref_target FROM statements c JOIN chain "
             "ON c.tenant_id = $1 AND c.id = chain.id WHERE c.ref_target IS NOT NULL) "
             "SELECT id FROM chain")
    # Each statement down the chain is found by its id, then checked
    # against the filters, the index tables by per-row probes (LIMIT 1 and
    # _row_probe keep it so: without statistics, on a young tenant, the
    # planner otherwise scanned every statement of the filter's activity, or
    # joined all of a learner's 23,000 rows, for each referrer: 24 ms and
    # 1 s a page).
    matches = " AND ".join(["t.tenant_id = $1", "t.id = ch.id",
                            *_match("t", f, p, probe=_row_probe)])
    deeper = (f"SELECT true FROM ({chain} OFFSET 0) ch CROSS JOIN LATERAL "
              f"(SELECT 1 FROM statements t WHERE {matches} LIMIT 1) m LIMIT 1")
    target_matches = " AND ".join(_match("t1", f, p, probe=_row_probe))
    target = (f"SELECT CASE WHEN {target_matches} THEN true "
              f"WHEN t1.ref_target IS NULL THEN false ELSE coalesce(({deeper}), false) END "
              f"FROM statements t1 WHERE t1.tenant_id = $1 AND t1.id = r.ref_target LIMIT 1")
    by_stretch = (f"SELECT r.seq FROM statements r WHERE {' AND '.join(referrer)} "
                  f"AND coalesce(({target}), false) "
                  f"ORDER BY r.seq {order} LIMIT {n}")
    # Each target's referrers, and theirs, by the ref_target index (OFFSET 0
    # keeps the planner from merging all referrers with all targets instead).
    upward = (f"WITH RECURSIVE up(seq, id) AS (SELECT u.seq, u.id FROM statements u "
              f"WHERE u.tenant_id = $1 AND u.ref_target = t.id UNION "
              f"SELECT u.seq, u.id FROM statements u JOIN up "
              f"ON u.tenant_id = $1 AND u.ref_target = up.id) "
              f"SELECT r.seq FROM up JOIN statements r ON r.tenant_id = $1 AND r.seq = up.seq "
              f"WHERE {' AND '.join(referrer)} OFFSET 0")
    by_target = _chosen([f"SELECT r.seq FROM {source} CROSS JOIN LATERAL ({upward}) r "
                         f"WHERE {' AND '.join(conditions)} ORDER BY r.seq {order} LIMIT {n}"
                         for source, _, conditions in (_walk(way, "t", f, p) for way in ways)])
    # Each row of the page by one probe of (tenant_id, seq). As a plain join
    # the planner, misled by the branches' estimates, could sort the whole
    # tenant for a merge join (seen on a fresh 40,000-statement tenant: 80 ms
    # instead of 2); LIMIT 1 keeps the lateral subquery a per-row probe.
    fetch_row = f"SELECT {row} FROM statements s WHERE s.tenant_id = $1 AND s.seq = u.seq LIMIT 1"
    # LIMIT keeps each branch a subquery under its one-time filter, so that
    # the branch not taken is not even started (nor its parallel workers).
    chosen = "" if choice is None else f"choice AS MATERIALIZED (SELECT {choice} AS way), "
    sql = (f"WITH {chosen}d AS MATERIALIZED ({direct}), "
           f"referrers AS MATERIALIZED (SELECT {by_stretch_first} AS stretch) "
           f"SELECT {row} FROM (SELECT seq FROM d "
           f"UNION SELECT seq FROM ({by_stretch}) a WHERE (SELECT stretch FROM referrers) "
           f"UNION SELECT seq FROM ({by_target}) b WHERE NOT (SELECT stretch FROM referrers)"
           f") u CROSS JOIN LATERAL ({fetch_row}) s ORDER BY s.seq {order} LIMIT {n}")
    return sql, p.values


def _choice(ways: list[str], f: StatementFilter, p: _Params) -> str:
    """Which of `ways` (see _ways) to walk, an SQL expression of its index.

    Which is cheaper depends on the values, and plans are generic (made once
    for average values), so the query chooses, by one-time filters, counting
    rows index-only: the agent's rows (way 0) when there are fewer than
    DRIVER_COUNT; else the way of fewest rows, counted up to DRIVER_COMPARE,
    when they are fewer than half the agent's (counted up to twice that). A
    page needs ~50 matches, as dense in either walk as the two share rows,
    so the walk of fewer rows reads fewer; a row of another way costs about
    twice as much (a heap fetch for `voided`, then a probe of the agent).
    Measured over 1,000,000 statements: the busiest learner (168,546 of
    them) asking for the 2,676 'failed', 27 ms a page walking the learner's
    rows, 5 ms walking the verb's; the counting costs the pages that keep
    their walk 0.3-1 ms (docs/benchmarks.md). With an agent and a course in
    all of 200,000 statements and a verb in none, only the verb's walk ends
    at once: 15 ms a page over HTTP, against 1.07 s walking the agent's.
    """
    cap, wide = p.add(DRIVER_COUNT), p.add(DRIVER_COMPARE)
    driver = _walked(ways[0], f, p)
    # Each count runs only when its CASE branch is taken: the other ways'
    # only when the agent has DRIVER_COUNT rows, the agent's again only when
    # the fewest of the others' stopped short of DRIVER_COMPARE.
    counts = ", ".join(f"({i}, {_count(*_walked(way, f, p), wide)})"
                       for i, way in enumerate(ways[1:], 1))
    fewest = f"(SELECT w.way, w.n FROM (VALUES {counts}) w(way, n) ORDER BY w.n, w.way LIMIT 1)"
    return (f"CASE WHEN {_count(*driver, cap)} < {cap} THEN 0 "
            f"ELSE (SELECT CASE WHEN o.n >= {wide} THEN 0 "
            f"WHEN {_count(*driver, '2 * o.n + 1')} <= 2 * o.n THEN 0 ELSE o.way END "
            f"FROM {fewest} o) END")


def _chosen(queries: list[str], scalar: bool = False) -> str:
    """Of `queries`, one for each way (of seqs, or `scalar` expressions),
    the one of the way the CTE `choice` chose: a one-time filter each, so
    that the others are never started."""
    if len(queries) == 1:
        return queries[0]
    if scalar:
        branches = " ".join(f"WHEN {i} THEN {q}" for i, q in enumerate(queries))
        return f"(CASE (SELECT way FROM choice) {branches} END)"
    return " UNION ALL ".join(f"SELECT seq FROM ({q}) w{i} WHERE (SELECT way FROM choice) = {i}"
                              for i, q in enumerate(queries))


async def page(conn: asyncpg.Connection, tenant_id: int, f: StatementFilter, *,
               after: int | None, limit: int) -> tuple[list[Row], bool]:
    """Up to `limit` statements after the cursor, and whether more follow."""
    sql, args = compile_page(tenant_id, f, after=after, limit=limit)
    rows = await fetch(conn, Query("statements.page", sql), *args)
    found = [Row(*r) for r in rows]  # each selects `row` (compile_page): Row's columns
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


async def attachment_sizes(conn: asyncpg.Connection, tenant_id: int,
                           sha2s: list[str]) -> dict[str, int]:
    rows = await fetch(conn, ATTACHMENT_SIZES, tenant_id, sha2s)
    return {r["sha2"]: r["size"] for r in rows}


async def definitions(conn: asyncpg.Connection, tenant_id: int,
                      activity_ids: list[str]) -> dict[str, str]:
    """Canonical definitions as JSON text, by activity id."""
    rows = await fetch(conn, DEFINITIONS, tenant_id, activity_ids)
    return {r["activity_id"]: r["definition"] for r in rows}
