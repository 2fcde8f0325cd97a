"""A page of GET /statements reads about a page of index entries, even on a
tenant PostgreSQL has no statistics for yet.

Right after a bulk load, before autovacuum's first ANALYZE, the planner
guesses that any value is rare, and left to itself reads every match of a
common verb and sorts them (a bitmap scan: 49,000 index entries a page here,
against 1,200), or joins a learner's rows to a verb's in the costliest way.
The pool's connections turn bitmap scans off (lrs.store.db.SERVER_SETTINGS)
and the reader probes each statement by seq. Observed from PostgreSQL's own counters,
through the LRS's pool and reader, with autovacuum off for the tables so
that no statistics appear meanwhile. Fewer statements than these did not
mislead the planner."""

from __future__ import annotations

import asyncpg
import orjson
import pytest

from lrs.store import migrate, statement_reader
from lrs.store.db import Database
from lrs.store.statement_insert import write_group
from lrs.xapi.agents import agent_key
from tests.conftest import new_empty_database, run
from tests.statements_support import write_batch

COMMON = "http://example.com/verbs/common-here"
CITED = "http://example.com/verbs/cited"
BUSY = {"objectType": "Agent", "mbox": "mailto:busy@example.com"}
OTHER = {"objectType": "Agent", "mbox": "mailto:other@example.com"}
STATEMENTS = 30_000
REFERRERS = 20

INDEX_ENTRIES_READ = """
SELECT coalesce(sum(idx_tup_read), 0) FROM pg_stat_user_indexes
WHERE relname IN ('statements', 'statement_agents', 'statement_activities')"""


async def _load(url: str) -> int:
    """STATEMENTS by BUSY with the verb COMMON, then REFERRERS StatementRefs
    to the first of them by OTHER; no statistics. The tenant's id."""
    conn = await asyncpg.connect(url)
    try:
        await migrate.apply(conn)
        for table in ("statements", "statement_agents", "statement_activities"):
            await conn.execute(f"ALTER TABLE {table} SET (autovacuum_enabled = false)")
        tenant_id = await conn.fetchval("INSERT INTO tenants (name) VALUES ('plans') RETURNING id")
        first = None
        for start in range(0, STATEMENTS, 1000):
            batch = write_batch(tenant_id, [
                {"actor": BUSY, "verb": {"id": COMMON},
                 "object": {"id": f"http://example.com/course/{i % 40}"}}
                for i in range(1000)])
            first = first or batch.statements[0].id
            assert await write_group(conn, [batch]) == [None]
        refs = write_batch(tenant_id, [
            {"actor": OTHER, "verb": {"id": CITED},
             "object": {"objectType": "StatementRef", "id": first}}] * REFERRERS)
        assert await write_group(conn, [refs]) == [None]
        assert await conn.fetchval(
            "SELECT count(*) FROM pg_stats WHERE tablename = 'statements'") == 0
        return tenant_id
    finally:
        await conn.close()


async def _read(url: str, tenant_id: int, f: statement_reader.StatementFilter,
                pages: int, deep: int = 0, more: bool = True) -> tuple[list[str], int]:
    """The verbs of a page of 50, newest first, read `pages` times (from the
    sixth, with the generic plan), and the index entries PostgreSQL read for
    them all. The page is the first, or the one after the cursor `deep`
    statements below the newest; `more`: whether it has a next one."""
    db = await Database.connect(url, min_size=1, max_size=1)
    try:
        async with db.connection() as conn:
            after = None
            if deep:
                after = await conn.fetchval("SELECT max(seq) FROM statements") - deep
            await conn.execute("SELECT pg_stat_force_next_flush()")
            before = await conn.fetchval(INDEX_ENTRIES_READ)
            for _ in range(pages):
                rows, more_pages = await statement_reader.page(conn, tenant_id, f, after=after,
                                                               limit=50)
                assert more_pages == more
            await conn.execute("SELECT pg_stat_force_next_flush()")
            await conn.execute("SELECT pg_stat_clear_snapshot()")
            read = await conn.fetchval(INDEX_ENTRIES_READ) - before
    finally:
        await db.close()
    assert [r.seq for r in rows] == sorted((r.seq for r in rows), reverse=True)
    return [orjson.loads(r.payload)["verb"]["id"] for r in rows], read


@pytest.fixture(scope="module")
def loaded(postgres_url: str) -> tuple[str, int]:
    url = new_empty_database(postgres_url)
    return url, run(_load(url))


def test_a_verbs_pages_walk_its_index_without_statistics(loaded):
    url, tenant_id = loaded
    pages = 8
    # A verb all 30,000 statements of BUSY have: each page walks 51 of their
    # entries, and counts up to 1,000 to choose how to find the
    # StatementRefs (statement_reader.REFERRER_COUNT). Measured: 1,182 a
    # page; 49,306 with bitmap scans. The 20 StatementRefs to one of them
    # match too (STGET-30), and are the newest.
    by_verb = statement_reader.StatementFilter(verb=COMMON)
    verbs, read = run(_read(url, tenant_id, by_verb, pages))
    assert verbs == [CITED] * REFERRERS + [COMMON] * (50 - REFERRERS)
    assert read < pages * 1500, read


@pytest.mark.parametrize("deep", [0, 20_000], ids=["first page", "20,000 down"])
def test_an_agent_and_verbs_pages_walk_their_indexes_without_statistics(loaded, deep):
    url, tenant_id = loaded
    pages = 8
    # BUSY and COMMON. The first page: BUSY's 51 newest, the counts that
    # choose the walk (statement_reader._choice: BUSY's up to 1,000, COMMON's
    # up to 5,000) and the StatementRefs' way (two up to 1,000), and the 20
    # StatementRefs stored after them, each checked against the filter by
    # its target. Measured: 7,253 entries a page (3,253 when COMMON was
    # counted up to 1,000 only); 22,703 with bitmap scans. The page after a
    # cursor 20,000 statements down: each of BUSY's rows walked finds its
    # statement by one probe of seq (statement_reader._matching). Measured:
    # 7,153; 1,023,459 as a join, which scanned COMMON's index from its
    # newest entry for each row.
    busy_common = statement_reader.StatementFilter(agent=agent_key(BUSY), verb=COMMON)
    verbs, read = run(_read(url, tenant_id, busy_common, pages, deep=deep))
    assert verbs == ([COMMON] * 50 if deep else
                     [CITED] * REFERRERS + [COMMON] * (50 - REFERRERS))
    assert read < pages * 10_000, read


def test_a_related_agents_pages_merge_the_two_ranges_of_its_key(loaded):
    url, tenant_id = loaded
    pages = 8
    # The platform is the authority of all 30,020 statements: related rows,
    # none direct. A related_agents page merges the key's direct and other
    # ranges in seq order (statement_reader._driver), reading about a page
    # of them, plus the counts that choose how to find StatementRefs (up to
    # 1,000 each). Measured: 1,233 entries a page; 61,171 when the two
    # ranges were read whole and sorted (the arms without ORDER BY).
    platform = {"objectType": "Agent", "mbox": "mailto:platform@example.com"}
    related = statement_reader.StatementFilter(agent=agent_key(platform), related_agents=True)
    verbs, read = run(_read(url, tenant_id, related, pages))
    assert verbs == [CITED] * REFERRERS + [COMMON] * (50 - REFERRERS)
    assert read < pages * 5000, read


RARE = "http://example.com/verbs/rare-for-busy"
BUSY_COMMON, OTHERS_RARE, BUSY_RARE = 30_000, 1_500, 60


async def _load_busy_and_rare(url: str) -> int:
    """A second tenant: BUSY_RARE statements by BUSY with the verb RARE,
    then OTHERS_RARE by other learners with RARE, then BUSY_COMMON by BUSY
    with COMMON. The tenant's id."""
    conn = await asyncpg.connect(url)
    try:
        tenant_id = await conn.fetchval("INSERT INTO tenants (name) VALUES ('rare') RETURNING id")
        writes = [[{"actor": BUSY, "verb": {"id": RARE},
                    "object": {"id": "http://example.com/course/1"}}] * BUSY_RARE,
                  [{"actor": {"mbox": f"mailto:learner{i % 100}@example.com"},
                    "verb": {"id": RARE}, "object": {"id": "http://example.com/course/1"}}
                   for i in range(OTHERS_RARE)]]
        busy_common = [{"actor": BUSY, "verb": {"id": COMMON},
                        "object": {"id": "http://example.com/course/2"}}] * 1000
        writes += [busy_common] * (BUSY_COMMON // 1000)
        for statements in writes:
            assert await write_group(conn, [write_batch(tenant_id, statements)]) == [None]
        return tenant_id
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def busy_and_rare(loaded) -> tuple[str, int]:
    url, _ = loaded
    return url, run(_load_busy_and_rare(url))


def test_an_agent_and_verb_walk_the_fewer_rows(busy_and_rare):
    url, tenant_id = busy_and_rare
    pages = 4
    # BUSY has 30,060 statements, RARE 1,560, and they share the 60 oldest
    # of BUSY's. Walking BUSY's rows reads the 30,000 with COMMON first, a
    # probe of seq each: 33,153 entries a page, measured, when the walk was
    # BUSY's whenever both had 1,000 rows or more. statement_reader._choice
    # now counts both and walks RARE's 1,550 newest, probing BUSY on each:
    # 11,454 a page, mostly the counting.
    busy_rare = statement_reader.StatementFilter(agent=agent_key(BUSY), verb=RARE)
    verbs, read = run(_read(url, tenant_id, busy_rare, pages))
    assert verbs == [RARE] * 50
    assert read < pages * 20_000, read


def _read_empty_pages(url: str, tenant_id: int, verb: str, pages: int) -> int:
    """BUSY on course/2 with `verb`, which none of their statements has:
    `pages` empty pages, and the index entries read for them."""
    never = statement_reader.StatementFilter(
        agent=agent_key(BUSY), activity="http://example.com/course/2", verb=verb)
    verbs, read = run(_read(url, tenant_id, never, pages, more=False))
    assert verbs == []
    return read


def test_an_agent_activity_and_verb_that_never_meet_walk_the_verbs_rows(busy_and_rare):
    url, tenant_id = busy_and_rare
    pages = 4
    # BUSY and course/2 share 30,000 statements, none with the verb CITED.
    # Walking BUSY's rows (or course/2's) read all 30,000, a probe of seq
    # each and a probe of course/2, to find that no page has a statement:
    # measured, 67,000 entries a page when statement_reader chose
    # only between those two. It now counts the verb's rows too (none) and
    # walks them: 6,001 a page, the counting.
    assert _read_empty_pages(url, tenant_id, CITED, pages) < pages * 12_000


REFERRED = 5_000


async def _load_referred(url: str) -> int:
    """A third tenant: REFERRED statements by BUSY with COMMON on course/2,
    then as many StatementRefs to them by OTHER. The tenant's id."""
    conn = await asyncpg.connect(url)
    try:
        tenant_id = await conn.fetchval("INSERT INTO tenants (name) VALUES ('refs') RETURNING id")
        batch = write_batch(tenant_id, [{"actor": BUSY, "verb": {"id": COMMON},
                                         "object": {"id": "http://example.com/course/2"}}]
                            * REFERRED)
        assert await write_group(conn, [batch]) == [None]
        refs = write_batch(tenant_id, [
            {"actor": OTHER, "verb": {"id": CITED},
             "object": {"objectType": "StatementRef", "id": statement.id}}
            for statement in batch.statements])
        assert await write_group(conn, [refs]) == [None]
        return tenant_id
    finally:
        await conn.close()


def test_the_statementref_rule_finds_targets_by_the_walk_of_fewer_rows(loaded):
    url, _ = loaded
    tenant_id = run(_load_referred(url))
    pages = 4
    # No statement has RARE, so no page has one, and the 5,000 referrers,
    # stored after everything they could match, are all in the stretch a
    # page's referrers are looked for in (statement_reader.compile_page).
    # Counting the targets by BUSY's rows alone (up to 1,000, as many as
    # the referrers counted) chose to walk the referrers, each target
    # checked: measured, 23,001 entries a page (28,000 when `d` too walked
    # BUSY's rows). The targets are now counted by the walk `d` chose,
    # RARE's rows (none): 7,001 a page, the counting.
    assert _read_empty_pages(url, tenant_id, RARE, pages) < pages * 12_000
