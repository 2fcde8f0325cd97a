"""The index tables hold each agent key and activity id as a 128-bit hash
(migration 0009): the LRS's key_hash and SQL's lrs_key_hash agree, and
statements indexed before the migration, by their keys' text, are found by
the same filters after it."""

from __future__ import annotations

import uuid

import asyncpg

from lrs.store import migrate
from lrs.store.agents import statements_naming
from lrs.store.statement_reader import StatementFilter, compile_page
from lrs.xapi.indexing import index_key, key_hash
from tests.conftest import run

KEYS = [
    "mbox:mailto:learner@example.com",
    "account:https://sso.example.gov.uk|Zoë Ngā",  # beyond ASCII
    "https://example.com/course/" + "x" * 3000,  # stored as "#sha256:..." (index_key)
    "account:https://example.com|a\x00b",  # U+0000: stored as "#sha256:..." too
]


def test_the_lrs_and_sql_hash_keys_alike(database_url):
    async def hashed_in_sql() -> list[uuid.UUID]:
        conn = await asyncpg.connect(database_url)
        try:
            return [await conn.fetchval("SELECT lrs_key_hash($1)", index_key(k)) for k in KEYS]
        finally:
            await conn.close()

    assert run(hashed_in_sql()) == [uuid.UUID(key_hash(k)) for k in KEYS]
    assert len({key_hash(k) for k in KEYS}) == len(KEYS)


LEARNER = "mbox:mailto:learner@example.com"
AUTHORITY = "mbox:mailto:platform@example.com"
COURSE = "https://example.com/course/" + "é" * 400  # 800 bytes: held as text before 0009
LONG_COURSE = "https://example.com/course/" + "x" * 3000


def test_statements_indexed_before_the_migration_are_found_after_it(empty_database):
    """Rows as the LRS wrote them before migration 0009 (the keys' text,
    index_key), then the migration, then the read path's filters."""
    before, after = [m for m in migrate.discover() if m.version < 9], migrate.discover()
    assert [m.version for m in after if m.version >= 9][:1] == [9]

    async def scenario() -> dict[str, list[int]]:
        conn = await asyncpg.connect(empty_database)
        try:
            await migrate.apply(conn, before)
            tenant_id = await conn.fetchval("INSERT INTO tenants (name) VALUES ('old') "
                                            "RETURNING id")
            # seq 1: the learner did COURSE; seq 2: the learner did LONG_COURSE,
            # with COURSE as its parent.
            for seq, (agents, activities) in enumerate((
                    ([(LEARNER, True), (AUTHORITY, False)], [(COURSE, True)]),
                    ([(LEARNER, True), (AUTHORITY, False)],
                     [(LONG_COURSE, True), (COURSE, False)])), 1):
                await conn.execute(
                    "INSERT INTO statements (tenant_id, id, seq, stored, verb_id, is_voiding, "
                    "credential, payload) VALUES ($1, $2, $3, now(), 'http://v', false, 'k', $4)",
                    tenant_id, uuid.uuid4(), seq, b'{"n": %d}' % seq)
                await conn.executemany(
                    "INSERT INTO statement_agents VALUES ($1, $2, $3, $4)",
                    [(tenant_id, index_key(k), seq, d) for k, d in agents])
                await conn.executemany(
                    "INSERT INTO statement_activities VALUES ($1, $2, $3, $4)",
                    [(tenant_id, index_key(k), seq, d) for k, d in activities])
            await migrate.apply(conn, after)

            async def found(**filters) -> list[int]:
                sql, values = compile_page(tenant_id, StatementFilter(**filters), after=None,
                                           limit=10)
                return sorted(r["seq"] for r in await conn.fetch(sql, *values))

            return {
                "agent": await found(agent=LEARNER),
                "authority, direct": await found(agent=AUTHORITY),
                "authority, related": await found(agent=AUTHORITY, related_agents=True),
                "course": await found(activity=index_key(COURSE)),
                "course, related": await found(activity=index_key(COURSE),
                                               related_activities=True),
                "long course": await found(activity=index_key(LONG_COURSE)),
                "agent and course": await found(agent=LEARNER, activity=index_key(COURSE)),
                "agents resource": [len(await statements_naming(conn, tenant_id, LEARNER))],
            }
        finally:
            await conn.close()

    assert run(scenario()) == {
        "agent": [1, 2], "authority, direct": [], "authority, related": [1, 2],
        "course": [1], "course, related": [1, 2], "long course": [2],
        "agent and course": [1], "agents resource": [2],
    }
