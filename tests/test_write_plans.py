"""The write path's queries stay index look-ups as the tables grow.

lrs_write_statements keeps its plans for the life of a connection
(migration 0007: generic plans, planned once), so a plan made while the
tables were empty, when a sequential scan was cheapest, would otherwise be
kept and scan a whole tenant on every write later. Observed from
PostgreSQL's own counters: the write path never scans `statements` or
`activities`, nor fetches statements by index beyond those it looks for."""

from __future__ import annotations

import uuid

import asyncpg

from lrs.store import migrate
from lrs.store.statement_insert import write_group
from tests.conftest import run
from tests.statements_support import voiding, write_batch

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


INDEX_FETCHES = "SELECT idx_tup_fetch FROM pg_stat_user_tables WHERE relname = 'statements'"


def test_a_group_of_several_tenants_fetches_only_the_statements_it_looks_for(empty_database):
    # Plans made by the first call, on empty tables, are kept: a look-up by
    # tenant and id that became a scan of the tenant's statements (an index
    # scan, not counted above) would fetch hundreds of rows for every call.
    async def scenario() -> tuple[int, list, list]:
        conn = await asyncpg.connect(empty_database)
        try:
            await migrate.apply(conn)
            a, b = [await conn.fetchval("INSERT INTO tenants (name) VALUES ($1) RETURNING id",
                                        name) for name in ("plans-a", "plans-b")]
            # The first call also voids (a statement not stored), so that it
            # plans the voiding too.
            firsts = [_batch(a, 1, 0), _batch(b, 1, 0),
                      write_batch(b, [voiding(str(uuid.uuid4()))], tenant="plans-b")]
            assert await write_group(conn, firsts) == [None, None, None]
            for start in (1, 201, 401):
                assert await write_group(conn, [_batch(a, 200, start),
                                                 _batch(b, 200, start)]) == [None, None]
            # One tenant sends a statement again, the other voids one.
            again = _batch(a, 2, 601)
            again.statements[0] = firsts[0].statements[0]
            target = firsts[1].statements[0].id
            voids = write_batch(b, [voiding(target)], tenant="plans-b")
            await conn.execute("SELECT pg_stat_force_next_flush()")
            before = await conn.fetchval(INDEX_FETCHES)
            assert await write_group(conn, [again, voids]) == [None, None]
            await conn.execute("SELECT pg_stat_force_next_flush()")
            await conn.execute("SELECT pg_stat_clear_snapshot()")
            fetched = await conn.fetchval(INDEX_FETCHES) - before
            voided = await conn.fetch("SELECT tenant_id, id::text FROM statements WHERE voided")
            return fetched, [tuple(r) for r in voided], [(b, target)]
        finally:
            await conn.close()

    fetched, voided, expected = run(scenario())
    assert voided == expected
    assert fetched < 20, f"{fetched} statements fetched by index for a group of 3"
