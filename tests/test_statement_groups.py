"""since/until find their bounds in statement_groups (migration 0014): per
tenant and `stored`, the last seq stored then. The rows for statements
stored before the migration are made from them; each group commit after it
adds its own."""

from __future__ import annotations

import datetime as dt

import asyncpg

from lrs.store import migrate
from lrs.store.statement_insert import write_group
from tests.conftest import run
from tests.statements_support import write_batch

T1 = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.timezone.utc)
T2 = T1 + dt.timedelta(seconds=1)

# Statements as an LRS before 0014 held them: (tenant, seq, stored).
EARLIER = [("a", 1, T1), ("a", 2, T1), ("b", 3, T1), ("a", 4, T2)]


def test_groups_are_made_from_the_statements_stored_before_and_by_each_write(empty_database):
    async def scenario():
        conn = await asyncpg.connect(empty_database)
        try:
            migrations = migrate.discover()
            before = [m for m in migrations if m.version < 14]
            await migrate.apply(conn, before)
            tenants = {name: await conn.fetchval(
                "INSERT INTO tenants (name) VALUES ($1) RETURNING id", name) for name in "ab"}
            for name, seq, stored in EARLIER:
                await conn.execute(
                    "INSERT INTO statements (tenant_id, id, seq, stored, verb_id, is_voiding, "
                    "credential, payload) VALUES ($1, gen_random_uuid(), $2, $3, 'v', false, "
                    "'c', '{}')", tenants[name], seq, stored)
            await conn.execute("SELECT setval('statements_seq', 4)")
            await migrate.apply(conn, migrations)
            made = await conn.fetch("SELECT tenant_id, stored, last_seq FROM statement_groups "
                                    "ORDER BY tenant_id, stored")
            statement = {"actor": {"mbox": "mailto:learner@example.com"},
                         "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
                         "object": {"id": "http://example.com/course/1"}}
            assert await write_group(conn, [write_batch(tenants["a"], [statement] * 3,
                                                        tenant="a")]) == [None]
            written = await conn.fetch(
                "SELECT stored, max(seq) AS last_seq FROM statements WHERE tenant_id = $1 "
                "AND stored > $2 GROUP BY stored", tenants["a"], T2)
            added = await conn.fetch("SELECT stored, last_seq FROM statement_groups "
                                     "WHERE tenant_id = $1 AND stored > $2", tenants["a"], T2)
            return tenants, made, written, added
        finally:
            await conn.close()

    tenants, made, written, added = run(scenario())
    assert [tuple(r) for r in made] == [(tenants["a"], T1, 2), (tenants["a"], T2, 4),
                                        (tenants["b"], T1, 3)]
    assert len(written) == 1 and written[0]["last_seq"] == 7  # one group of three
    assert [tuple(r) for r in added] == [tuple(r) for r in written]
