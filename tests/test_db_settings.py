"""LRS_DB_STATEMENT_CACHE, against real PostgreSQL: behind a pooler in
transaction mode that cannot carry prepared statements (PgBouncer before
1.21, docs/operations.md "Behind PgBouncer"), no statement may stay prepared
on a connection, since the next transaction may run on another server
connection. The LRS must still serve every path: writes, reads with each
kind of filter and paging, documents."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from lrs.app import create_app
from tests.statements_support import EXPERIENCED, activity, agent, new_id, statement

V2 = {"X-Experience-API-Version": "2.0.0"}
COURSE = activity()["id"]


@pytest.mark.parametrize("cache", [100, 0])
def test_a_statement_cache_of_zero_serves_everything_and_leaves_nothing_prepared(
        settings, tenant, cache):
    # One connection, so the one looked at is the one that served.
    app = create_app(settings.replace(db_statement_cache=cache, pool_min=1, pool_max=1))
    statements = [statement(id=new_id(), actor=agent(f"learner{i % 3}")) for i in range(30)]
    learner = json.dumps(agent("learner1"))

    async def scenario() -> tuple[list[dict], list[str], list[str]]:
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://lrs",
                auth=(tenant.key, tenant.secret), headers=V2, timeout=30) as client:
            stored = await client.post("/xapi/statements", json=statements)
            assert stored.status_code == 200, stored.text
            pages = []
            # More than five runs of each read: a prepared statement's plan
            # turns generic after five, a path the cache-less reads never take.
            for _ in range(6):
                for params in ({"verb": EXPERIENCED, "limit": 4}, {"agent": learner},
                               {"activity": COURSE, "related_activities": "true"},
                               {"agent": learner, "verb": EXPERIENCED}):
                    page = await client.get("/xapi/statements", params=params)
                    assert page.status_code == 200, page.text
                    pages.append(page.json())
            followed = await client.get(pages[0]["more"])
            assert followed.status_code == 200, followed.text
            pages.append(followed.json())
            state = {"activityId": COURSE, "stateId": "bookmark", "agent": learner}
            put = await client.put("/xapi/activities/state", params=state, json={"page": 3})
            assert put.status_code == 204, put.text
            got = await client.get("/xapi/activities/state", params=state)
            assert got.json() == {"page": 3}
            async with app.state.runtime.db.connection() as conn:
                prepared = [r["statement"] for r in
                            await conn.fetch("SELECT statement FROM pg_prepared_statements")]
        return pages, prepared, [s["id"] for s in statements]

    pages, prepared, ids = asyncio.run(scenario())
    newest_first = ids[::-1]
    learner1 = ids[1::3][::-1]
    verb_page, agent_page, course_page, agent_verb_page = pages[:4]
    assert [s["id"] for s in verb_page["statements"]] == newest_first[:4]
    assert [s["id"] for s in agent_page["statements"]] == learner1
    assert [s["id"] for s in course_page["statements"]] == newest_first
    assert [s["id"] for s in agent_verb_page["statements"]] == learner1
    # The sixth run of each read answers as the first did. (Not the `more`
    # cursors themselves: each carries the second it was issued in.)
    assert [p["statements"] for p in pages[-5:-1]] == [p["statements"] for p in pages[:4]]
    assert [bool(p["more"]) for p in pages[-5:-1]] == [True, False, False, False]
    assert [s["id"] for s in pages[-1]["statements"]] == newest_first[4:8]
    if cache:
        # The default keeps them: the LRS's own queries among them.
        assert any("statements" in sql for sql in prepared), prepared
    else:
        assert prepared == []
