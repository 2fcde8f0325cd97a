"""The pool's warm-up (lrs.store.db._warm_up), against real PostgreSQL: a new
connection has asyncpg's codecs for the group commit's types before any
request uses it, so its first group commit does not wait for asyncpg's type
look-up (15-20 ms a connection; bench/first_write.py). Behind a pooler
(LRS_DB_STATEMENT_CACHE=0) nothing is prepared on connecting."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from lrs.store.db import Database
from lrs.store.statement_insert import WRITE

# What asyncpg sends to learn the types it has no codec for (its
# introspection query reads pg_catalog.pg_type).
LOOK_UP = "pg_type"


async def _queries_of_first_write(db: Database) -> list[str]:
    """The queries a pooled connection runs for its first group commit's
    statement (for a tenant that does not exist: the call is refused after
    it is prepared, and nothing is written)."""
    sent: list[str] = []
    async with db.connection() as conn:
        conn.add_query_logger(lambda record: sent.append(record.query))
        with pytest.raises(asyncpg.ForeignKeyViolationError):
            await conn.fetchrow(WRITE.sql, -1, "", b"", "[]", "key", "[]", "[]", [], [], [], [],
                                "[]", None)
    return sent


@pytest.mark.parametrize(("warm", "statement_cache"), [(True, 100), (False, 100), (True, 0)])
def test_a_new_connection_knows_the_group_commits_types_before_its_first_write(
        database_url, warm, statement_cache):
    async def scenario() -> list[str]:
        db = await Database.connect(database_url, min_size=1, max_size=1,
                                    statement_cache=statement_cache,
                                    warm=(WRITE,) if warm else ())
        try:
            return await _queries_of_first_write(db)
        finally:
            await db.close()

    sent = asyncio.run(scenario())
    looked_up = [sql for sql in sent if LOOK_UP in sql]
    if warm and statement_cache:
        assert looked_up == [], sent
    else:
        # Without the warm-up, or behind a pooler (where a statement
        # prepared on connecting could be left on a server connection that
        # another client then meets), the request's own write looks them up.
        assert looked_up, sent
