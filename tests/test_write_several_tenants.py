"""Several tenants' batches in one group commit (migrations/0017): each
tenant's statements, ids, conflicts, voiding and definitions stay its own;
the statement writer puts small groups of several tenants into one
transaction, and a large group goes alone; a call waits for its first
tenant's write lock only, and leaves out a tenant another transaction is
writing, for a later group."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
from prometheus_client import REGISTRY

from lrs.errors import Conflict
from lrs.store import migrate
from lrs.store.db import Database
from lrs.store.statement_insert import WRITE_LOCK_SPACE, TenantBusy, write_group
from lrs.store.statement_writer import SHARED_GROUP, StatementWriter
from tests.conftest import run
from tests.statements_support import statement, voiding, write_batch

COURSE = "http://example.com/course/shared-id"


async def _tenants(conn: asyncpg.Connection, *names: str) -> list[int]:
    await migrate.apply(conn)
    return [await conn.fetchval("INSERT INTO tenants (name) VALUES ($1) RETURNING id", name)
            for name in names]


def _course(name: str) -> dict:
    return {"id": COURSE, "definition": {"name": {"en-GB": name}}}


def test_one_call_keeps_each_tenants_ids_and_definitions_its_own(empty_database):
    same_id = str(uuid.uuid4())

    async def scenario():
        conn = await asyncpg.connect(empty_database)
        try:
            a, b = await _tenants(conn, "a", "b")
            # One id and one activity id in both tenants, with other contents.
            group = [write_batch(a, [statement(id=same_id, object=_course("A's course"))],
                                 define=True, tenant="a"),
                     write_batch(b, [statement(id=same_id, object=_course("B's course")),
                                     statement()], define=True, tenant="b")]
            outcomes = await write_group(conn, group)
            stored = await conn.fetch(
                "SELECT tenant_id, convert_from(payload, 'UTF8')::jsonb"
                " #>> '{object,definition,name,en-GB}' AS name"
                " FROM statements WHERE id = $1 ORDER BY tenant_id", uuid.UUID(same_id))
            canonical = await conn.fetch(
                "SELECT tenant_id, definition #>> '{name,en-GB}' AS name FROM activities "
                "WHERE activity_id = $1 ORDER BY tenant_id", COURSE)
            groups = await conn.fetch("SELECT tenant_id, stored, last_seq, "
                                      "(SELECT max(seq) FROM statements s "
                                      " WHERE s.tenant_id = g.tenant_id) AS greatest "
                                      "FROM statement_groups g ORDER BY tenant_id")
            return a, b, outcomes, group, stored, canonical, groups
        finally:
            await conn.close()

    a, b, outcomes, group, stored, canonical, groups = run(scenario())
    assert outcomes == [None, None]
    assert [tuple(r) for r in stored] == [(a, "A's course"), (b, "B's course")]
    assert [tuple(r) for r in canonical] == [(a, "A's course"), (b, "B's course")]
    # One `stored` for the call, each tenant's greatest seq as its bound.
    assert [r["tenant_id"] for r in groups] == [a, b]
    assert groups[0]["stored"] == groups[1]["stored"]
    assert all(r["last_seq"] == r["greatest"] for r in groups)
    assert [batch.consistent_through for batch in group] == [groups[0]["stored"]] * 2
    assert [batch.stored_new for batch in group] == [1, 2]


def test_a_conflict_or_a_duplicate_is_decided_within_its_own_tenant(empty_database):
    taken = str(uuid.uuid4())

    async def scenario():
        conn = await asyncpg.connect(empty_database)
        try:
            a, b = await _tenants(conn, "a", "b")
            first = statement(id=taken)
            assert await write_group(conn, [write_batch(a, [first], tenant="a")]) == [None]
            group = [
                # Another content under a's stored id: 409 for this batch only.
                write_batch(a, [statement(id=taken, verb={"id": "http://example.com/other"})],
                            tenant="a"),
                # The same id is new to b.
                write_batch(b, [statement(id=taken, verb={"id": "http://example.com/other"})],
                            tenant="b"),
                # The same content again in a: accepted, nothing new.
                write_batch(a, [first, statement()], tenant="a"),
            ]
            outcomes = await write_group(conn, group)
            counts = await conn.fetch("SELECT tenant_id, count(*) FROM statements "
                                      "GROUP BY tenant_id ORDER BY tenant_id")
            return a, b, outcomes, [batch.stored_new for batch in group], counts
        finally:
            await conn.close()

    a, b, outcomes, new, counts = run(scenario())
    assert isinstance(outcomes[0], Conflict) and outcomes[1:] == [None, None]
    assert new == [0, 1, 1]
    assert [tuple(r) for r in counts] == [(a, 2), (b, 1)]


def test_a_voiding_statement_voids_only_its_own_tenants_statement(empty_database):
    target = str(uuid.uuid4())

    async def scenario():
        conn = await asyncpg.connect(empty_database)
        try:
            a, b = await _tenants(conn, "a", "b")
            both = [write_batch(t, [statement(id=target)], tenant=n) for t, n in ((a, "a"),
                                                                                 (b, "b"))]
            assert await write_group(conn, both) == [None, None]
            # b voids its stored statement, and a voids a statement that
            # arrives in the same call only for b.
            later = str(uuid.uuid4())
            group = [write_batch(b, [voiding(target), statement(id=later)], tenant="b"),
                     write_batch(a, [voiding(later)], tenant="a")]
            assert await write_group(conn, group) == [None, None]
            return a, b, later, await conn.fetch(
                "SELECT tenant_id, id::text FROM statements WHERE voided "
                "ORDER BY tenant_id, id")
        finally:
            await conn.close()

    a, b, later, voided = run(scenario())
    assert [tuple(r) for r in voided] == [(b, target)]


def _one_statement(tenant_id: int, name: str):
    return write_batch(tenant_id, [statement()], tenant=name)


def test_the_writer_writes_small_groups_of_several_tenants_in_one_transaction(empty_database):
    """While one transaction runs (held on a tenant's write lock), three
    tenants queue a statement each and a fourth a batch too large to share:
    the three go in one transaction, the fourth in its own."""
    async def scenario():
        conn = await asyncpg.connect(empty_database)
        db = await Database.connect(empty_database, min_size=1, max_size=4)
        writer = StatementWriter(db, max_transactions=1)
        await writer.start()
        try:
            busy, a, b, c, large = await _tenants(conn, "busy", "a", "b", "c", "large")
            holder = await asyncpg.connect(empty_database)
            transaction = holder.transaction()
            await transaction.start()
            await holder.execute("SELECT pg_advisory_xact_lock($1, $2)", WRITE_LOCK_SPACE, busy)
            first = asyncio.ensure_future(writer.write(_one_statement(busy, "busy")))
            while not await conn.fetchval(  # its transaction waits for the lock
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"):
                await asyncio.sleep(0.01)
            big = write_batch(large, [statement() for _ in range(SHARED_GROUP)], tenant="large")
            waiting = [asyncio.ensure_future(writer.write(batch)) for batch in (
                _one_statement(a, "a"), big, _one_statement(b, "b"), _one_statement(c, "c"))]
            while writer.queued() < 4:
                await asyncio.sleep(0.01)
            await transaction.rollback()
            await holder.close()
            assert await asyncio.gather(first, *waiting) == [1, 1, SHARED_GROUP, 1, 1]
            # Rows written by one transaction share its id (xmin).
            return busy, a, b, c, large, await conn.fetch(
                "SELECT tenant_id, xmin::text::bigint AS transaction FROM statements "
                "GROUP BY tenant_id, xmin ORDER BY tenant_id")
        finally:
            await writer.stop()
            await db.close()
            await conn.close()

    busy, a, b, c, large, rows = run(scenario())
    transaction = {r["tenant_id"]: r["transaction"] for r in rows}
    assert len(rows) == len(transaction) == 5  # one transaction per tenant
    assert transaction[a] == transaction[b] == transaction[c]
    assert len({transaction[busy], transaction[a], transaction[large]}) == 3


def test_a_tenant_gone_fails_only_its_own_batch(empty_database):
    async def scenario():
        conn = await asyncpg.connect(empty_database)
        try:
            a, gone, b = await _tenants(conn, "a", "gone", "b")
            await conn.execute("DELETE FROM tenants WHERE id = $1", gone)
            db = await Database.connect(empty_database, min_size=1, max_size=2)
            writer = StatementWriter(db)
            await writer.start()
            try:
                outcomes = await asyncio.gather(
                    *(writer.write(_one_statement(t, n))
                      for t, n in ((a, "a"), (gone, "gone"), (b, "b"))),
                    return_exceptions=True)
            finally:
                await writer.stop()
                await db.close()
            return outcomes, await conn.fetchval("SELECT count(*) FROM statements")
        finally:
            await conn.close()

    outcomes, stored = run(scenario())
    assert outcomes[0] == outcomes[2] == 1
    assert isinstance(outcomes[1], asyncpg.ForeignKeyViolationError)
    assert stored == 2


async def _holding_lock(url: str, tenant_id: int) -> tuple[asyncpg.Connection, object]:
    """Another transaction holding `tenant_id`'s write lock (as another
    worker's group commit does)."""
    holder = await asyncpg.connect(url)
    transaction = holder.transaction()
    await transaction.start()
    await holder.execute("SELECT pg_advisory_xact_lock($1, $2)", WRITE_LOCK_SPACE, tenant_id)
    return holder, transaction


def test_a_call_leaves_out_a_tenant_another_transaction_is_writing(empty_database):
    async def scenario():
        conn = await asyncpg.connect(empty_database)
        try:
            a, b, c = await _tenants(conn, "a", "b", "c")
            holder, _ = await _holding_lock(empty_database, b)
            try:
                outcomes = await asyncio.wait_for(write_group(conn, [
                    _one_statement(a, "a"), _one_statement(b, "b"), _one_statement(c, "c")]), 10)
            finally:
                await holder.close()
            return a, c, outcomes, await conn.fetch(
                "SELECT tenant_id FROM statements ORDER BY tenant_id")
        finally:
            await conn.close()

    a, c, outcomes, stored = run(scenario())
    assert outcomes[0] is None and outcomes[2] is None
    assert isinstance(outcomes[1], TenantBusy)
    assert [r["tenant_id"] for r in stored] == [a, c]


def test_the_writer_answers_the_others_while_a_tenant_is_written_elsewhere(empty_database):
    """b's lock is held elsewhere: a is stored and answered at once, b waits
    in its queue and is stored once the lock is free."""
    async def scenario():
        conn = await asyncpg.connect(empty_database)
        db = await Database.connect(empty_database, min_size=1, max_size=4)
        writer = StatementWriter(db)
        await writer.start()
        try:
            a, b = await _tenants(conn, "a", "b")
            holder, transaction = await _holding_lock(empty_database, b)
            busy_before = REGISTRY.get_sample_value("lrs_group_commit_busy_total") or 0.0
            # a waits longest, so the group's call waits only for a's lock.
            for_a = asyncio.ensure_future(writer.write(_one_statement(a, "a")))
            for_b = asyncio.ensure_future(writer.write(_one_statement(b, "b")))
            a_answered = await asyncio.wait_for(for_a, 10)
            b_waited = not for_b.done()
            left = REGISTRY.get_sample_value("lrs_group_commit_busy_total") - busy_before
            await transaction.rollback()
            await holder.close()
            b_answered = await asyncio.wait_for(for_b, 10)
            return a_answered, b_waited, left, b_answered, await conn.fetchval(
                "SELECT count(*) FROM statements")
        finally:
            await writer.stop()
            await db.close()
            await conn.close()

    assert run(scenario()) == (1, True, 1.0, 1, 2)
