"""The write path's queries stay index look-ups as the tables grow.

lrs_write_statements keeps its plans for the life of a connection
(migration 0007: generic plans, planned once), so a plan made while the
tables were empty, when a sequential scan was cheapest, would otherwise be
kept and scan a whole tenant on every write later. Observed from
PostgreSQL's own counters: the write path never scans `statements` or
`activities`."""

from __future__ import annotations

import asyncpg

from lrs.store import migrate
from lrs.store.statement_insert import write_group
from tests.conftest import run
from tests.statements_support import write_batch

SEQ_SCANS = """
SELECT coalesce(sum(seq_scan), 0) FROM pg_stat_user_tables
WHERE relname IN ('statements', 'activities')"""


def _batch(tenant_id: int, n: int, start: int, version: str = "2.0.0"):
    statements = [{
        "actor": {"mbox": f"mailto:learner{(start + i) % 7}@example.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
        "object": {"id": f"http://example.com/course/{(start + i) % 5}",
                   "definition": {"name": {"en-GB": f"Course {(start + i) % 5}"}}},
        "context": {"registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7"},
    } for i in range(n)]
    return write_batch(tenant_id, statements, define=True, version=version, tenant="plans")


def test_writes_never_scan_the_statements_or_activities(empty_database):
    async def scenario() -> tuple[int, int, int]:
        conn = await asyncpg.connect(empty_database)
        try:
            await migrate.apply(conn)
            tenant_id = await conn.fetchval(
                "INSERT INTO tenants (name) VALUES ('plans') RETURNING id")
            await conn.execute("SELECT pg_stat_force_next_flush()")
            before = await conn.fetchval(SEQ_SCANS)
            # The first group plans every query on empty tables; the rest
            # run those plans on tables that grow.
            written, batches = 0, []
            for n in (1, 50, 200, 200, 200):
                batches.append(_batch(tenant_id, n, written))
                assert await write_group(conn, [batches[-1]]) == [None]
                written += n
            # A group with a duplicate: the call hands it back, and a second
            # call writes the rest.
            again = _batch(tenant_id, 2, written)
            again.statements[0] = batches[0].statements[0]
            assert await write_group(conn, [again]) == [None]
            await conn.execute("SELECT pg_stat_force_next_flush()")
            await conn.execute("SELECT pg_stat_clear_snapshot()")
            after = await conn.fetchval(SEQ_SCANS)
            stored = await conn.fetchval("SELECT count(*) FROM statements")
            return before, after, stored
        finally:
            await conn.close()

    before, after, stored = run(scenario())
    assert stored == 652
    assert after == before
