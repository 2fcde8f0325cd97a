"""A statement always belongs to a tenant that exists (migration 0013).

statements.tenant_id has no foreign key: lrs_write_statements checks the
tenant once per group commit and holds it (FOR KEY SHARE) until the commit,
and a trigger on tenants refuses to delete one, or change its id, while it
has statements. These tests hold each of those three ends."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from lrs.store import migrate
from lrs.store.statement_insert import write_group
from tests.conftest import run
from tests.statements_support import write_batch


def _batch(tenant_id: int):
    statement = {"actor": {"mbox": "mailto:learner@example.com"},
                 "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
                 "object": {"id": "http://example.com/course/1"}}
    return write_batch(tenant_id, [statement], tenant="t")


async def _connect(url: str) -> tuple[asyncpg.Connection, int]:
    conn = await asyncpg.connect(url)
    await migrate.apply(conn)
    tenant_id = await conn.fetchval("INSERT INTO tenants (name) VALUES ('t') RETURNING id")
    return conn, tenant_id


def test_a_write_for_a_tenant_that_does_not_exist_stores_nothing(empty_database):
    async def scenario() -> int:
        conn, tenant_id = await _connect(empty_database)
        try:
            with pytest.raises(asyncpg.ForeignKeyViolationError, match="does not exist"):
                await write_group(conn, [_batch(tenant_id + 1)])
            return await conn.fetchval("SELECT count(*) FROM statements")
        finally:
            await conn.close()

    assert run(scenario()) == 0


def test_a_tenant_with_statements_keeps_its_row_and_id(empty_database):
    async def scenario() -> tuple[int, int]:
        conn, tenant_id = await _connect(empty_database)
        try:
            assert await write_group(conn, [_batch(tenant_id)]) == [None]
            with pytest.raises(asyncpg.ForeignKeyViolationError, match="still has statements"):
                await conn.execute("DELETE FROM tenants WHERE id = $1", tenant_id)
            with pytest.raises(asyncpg.ForeignKeyViolationError, match="still has statements"):
                # (An identity column: DEFAULT is the only new value it takes.)
                await conn.execute("UPDATE tenants SET id = DEFAULT WHERE id = $1", tenant_id)
            # Other changes to it, and a tenant without statements, go through.
            await conn.execute("UPDATE tenants SET name = 'renamed' WHERE id = $1", tenant_id)
            empty = await conn.fetchval("INSERT INTO tenants (name) VALUES ('e') RETURNING id")
            await conn.execute("DELETE FROM tenants WHERE id = $1", empty)
            return (await conn.fetchval("SELECT count(*) FROM tenants"),
                    await conn.fetchval("SELECT count(*) FROM statements WHERE tenant_id = $1",
                                        tenant_id))
        finally:
            await conn.close()

    assert run(scenario()) == (1, 1)


def test_a_delete_racing_a_write_waits_for_it_and_is_refused(empty_database):
    """The write has checked its tenant but not committed; a DELETE of the
    tenant cannot see the statements yet, so it must wait for the write's
    lock and look again once it commits."""
    async def scenario() -> tuple[bool, BaseException | None, int]:
        writer, tenant_id = await _connect(empty_database)
        deleter = await asyncpg.connect(empty_database)
        try:
            transaction = writer.transaction()
            await transaction.start()
            assert await write_group(writer, [_batch(tenant_id)]) == [None]
            delete = asyncio.ensure_future(
                deleter.execute("DELETE FROM tenants WHERE id = $1", tenant_id))
            await asyncio.sleep(0.5)
            waited = not delete.done()
            await transaction.commit()
            failure = None
            try:
                await delete
            except asyncpg.ForeignKeyViolationError as exc:
                failure = exc
            return waited, failure, await writer.fetchval(
                "SELECT count(*) FROM tenants WHERE id = $1", tenant_id)
        finally:
            await deleter.close()
            await writer.close()

    waited, failure, tenants = run(scenario())
    assert waited, "the DELETE did not wait for the uncommitted write"
    assert failure is not None and "still has statements" in str(failure)
    assert tenants == 1
