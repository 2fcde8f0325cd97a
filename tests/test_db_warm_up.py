"""The pool's warm-up (lrs.store.statement_insert.warm_up, run by
lrs.store.db on each new connection), against real PostgreSQL: a new
connection runs one group commit, rolled back, before any request uses it,
so that the first writes it serves are no slower than the others
(bench/first_write.py measures by how much). Checked here: the first write
sends no type look-up of asyncpg's, connections opening together all warm
up, nothing of the warm-up stays in the database, and a warm-up that fails
leaves the connection serving."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg
import pytest

from lrs.store import migrate
from lrs.store.db import Database
from lrs.store.statement_insert import WRITE, warm_up
from tests.conftest import new_empty_database, on_connection

# What asyncpg sends to learn the types it has no codec for (its
# introspection query reads pg_catalog.pg_type).
LOOK_UP = "pg_type"
# Everything a group commit writes.
TABLES = ("tenants", "statements", "statement_groups", "statement_agents",
          "statement_activities", "activities", "definition_epochs")


async def _first_write_queries(conn: asyncpg.Connection) -> list[str]:
    """The queries a connection runs for its first group commit's statement
    (for a tenant that does not exist: the call is refused once prepared,
    and writes nothing)."""
    sent: list[str] = []
    conn.add_query_logger(lambda record: sent.append(record.query))
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await conn.fetchrow(WRITE.sql, [-1], "", b"", "[]", "key", [], "[]", "[]", [], [],
                            [], [], [], [], "[]", [None], None)
    return sent


def _look_ups_of_first_writes(url: str, *, connections: int, statement_cache: int = 100,
                              warmed: bool = True) -> list[list[str]]:
    """The type look-ups each connection of a new pool sends for its first
    write (all of them held at once, so that each is another)."""
    async def scenario() -> list[list[str]]:
        db = await Database.connect(url, min_size=connections, max_size=connections,
                                    statement_cache=statement_cache,
                                    warm_up=warm_up if warmed else None)
        try:
            async with contextlib.AsyncExitStack() as stack:
                held = [await stack.enter_async_context(db.connection())
                        for _ in range(connections)]
                return [[sql for sql in await _first_write_queries(conn) if LOOK_UP in sql]
                        for conn in held]
        finally:
            await db.close()

    return asyncio.run(scenario())


@pytest.mark.parametrize(("warmed", "statement_cache"), [(True, 100), (True, 0), (False, 100)])
def test_a_new_connections_first_write_looks_up_no_types(database_url, warmed,
                                                          statement_cache):
    (looked_up,) = _look_ups_of_first_writes(database_url, connections=1, warmed=warmed,
                                             statement_cache=statement_cache)
    if warmed:
        assert looked_up == []
    else:
        assert looked_up  # what the warm-up spares a request


def test_connections_opening_together_all_warm_up(database_url):
    assert _look_ups_of_first_writes(database_url, connections=4) == [[]] * 4


def _counts(url: str) -> dict[str, int]:
    async def count(conn: asyncpg.Connection) -> dict[str, int]:
        return {table: await conn.fetchval(f"SELECT count(*) FROM {table}") for table in TABLES}

    return on_connection(url, count)


def test_the_warm_up_leaves_nothing_in_the_database(database_url, tenant):
    before = _counts(database_url)
    _look_ups_of_first_writes(database_url, connections=2)
    assert _counts(database_url) == before


def test_a_database_without_tenants_warms_up_too(postgres_url):
    url = new_empty_database(postgres_url)
    on_connection(url, migrate.apply)
    assert _look_ups_of_first_writes(url, connections=1) == [[]]
    assert _counts(url)["tenants"] == 0


def test_a_warm_up_that_fails_leaves_the_connection_serving(database_url, caplog):
    async def failing(conn: asyncpg.Connection) -> None:
        await conn.execute("SELECT no_such_function()")

    async def scenario() -> int:
        db = await Database.connect(database_url, min_size=1, max_size=1, warm_up=failing)
        try:
            async with db.connection() as conn:
                return await conn.fetchval("SELECT 1")
        finally:
            await db.close()

    with caplog.at_level(logging.WARNING, logger="lrs.db"):
        assert asyncio.run(scenario()) == 1
    assert "not warmed up: UndefinedFunctionError" in caplog.text
