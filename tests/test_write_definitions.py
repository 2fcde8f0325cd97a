"""One group commit that names held and new activities at once: the new ones
get their canonical definitions, a held one that a definition changes is
updated, and a held one that nothing changes is left as it was.

lrs_write_statements (migration 0010) takes an incoming definition equal to
the held one as held without judging it further: a test that let anything
but equality through would lose the change to course 2."""

from __future__ import annotations

import asyncpg
import orjson

from lrs.store import migrate
from lrs.store.statement_insert import write_group
from tests.conftest import run
from tests.statements_support import write_batch

COURSE = "http://example.com/course/"


def _group(tenant_id: int, names: list[tuple[int, dict]]):
    statements = [{
        "actor": {"mbox": "mailto:learner@example.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
        "object": {"id": f"{COURSE}{course}", "definition": {"name": name}},
    } for course, name in names]
    return write_batch(tenant_id, statements, define=True, tenant="defs")


def test_a_group_of_held_and_new_activities(empty_database):
    async def scenario() -> tuple[dict, dict, dict]:
        conn = await asyncpg.connect(empty_database)
        try:
            await migrate.apply(conn)
            tenant_id = await conn.fetchval("INSERT INTO tenants (name) VALUES ('defs') RETURNING id")
            read = ("SELECT activity_id, definition::text, updated FROM activities "
                    "WHERE tenant_id = $1")
            assert await write_group(conn, [_group(tenant_id, [
                (1, {"en": "One"}), (2, {"en": "Two"})])]) == [None]
            before = {r[0]: (r[1], r[2]) for r in await conn.fetch(read, tenant_id)}
            # New ones around held ones, in the group's order: 3 new, 1 held
            # and unchanged, 4 new, 2 held and given a second language.
            assert await write_group(conn, [_group(tenant_id, [
                (3, {"en": "Three"}), (1, {"en": "One"}), (4, {"en": "Four"}),
                (2, {"fr": "Deux"})])]) == [None]
            after = {r[0]: (r[1], r[2]) for r in await conn.fetch(read, tenant_id)}
            return before, after
        finally:
            await conn.close()

    before, after = run(scenario())
    names = {activity[len(COURSE):]: orjson.loads(text)["name"]
             for activity, (text, _) in after.items()}
    assert names == {"1": {"en": "One"}, "2": {"en": "Two", "fr": "Deux"},
                     "3": {"en": "Three"}, "4": {"en": "Four"}}
    assert after[f"{COURSE}1"] == before[f"{COURSE}1"]  # not written again
    assert after[f"{COURSE}2"][1] > before[f"{COURSE}2"][1]  # updated
