"""Canonical activity definitions written by two LRS processes at once.

Each process merges a definition into the canonical one it was handed and
writes it only if that is still the stored one (lrs_write_statements), so
two processes adding names in different languages to one activity at the
same time must each retry rather than overwrite the other: every name
sent ends up in the canonical definition, and every write is answered 200."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import httpx
import orjson

from lrs.app import create_app
from lrs.store import statement_insert
from lrs.store.statement_insert import WriteBatch
from tests.conftest import on_connection
from tests.statements_support import write_batch

ACTIVITY = "http://example.org/courses/shared-induction"
V2 = {"X-Experience-API-Version": "2.0.0"}


def _statement(language: str) -> dict:
    return {"id": str(uuid.uuid4()), "actor": {"mbox": f"mailto:{language}@example.org"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/attempted"},
            "object": {"id": ACTIVITY,
                       "definition": {"name": {language: f"Induction ({language})"}}}}


def test_two_processes_adding_languages_at_once_lose_none(settings, new_tenant):
    tenant = new_tenant()
    languages = [f"x-l{i:03d}" for i in range(120)]
    apps = [create_app(settings), create_app(settings)]

    async def scenario() -> tuple[list[int], dict]:
        async with apps[0].router.lifespan_context(apps[0]), \
                apps[1].router.lifespan_context(apps[1]):
            clients = [httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                         base_url="http://lrs", headers=V2, timeout=30,
                                         auth=(tenant.key, tenant.secret)) for app in apps]
            try:
                gate = asyncio.Semaphore(32)

                async def post(n: int, language: str) -> int:
                    async with gate:
                        response = await clients[n % 2].post("/xapi/statements",
                                                              json=_statement(language))
                        return response.status_code

                statuses = await asyncio.gather(*(post(n, lang)
                                                  for n, lang in enumerate(languages)))
                activity = (await clients[0].get("/xapi/activities",
                                                 params={"activityId": ACTIVITY})).json()
            finally:
                for client in clients:
                    await client.aclose()
        return statuses, activity

    statuses, activity = asyncio.run(scenario())
    assert statuses == [200] * len(languages)
    assert activity["definition"]["name"] == {
        language: f"Induction ({language})" for language in languages}


def test_a_group_whose_definitions_keep_changing_is_written_under_the_lock(
        database_url, tenant, monkeypatch):
    # With several workers, another one may change an activity's canonical
    # definition between every two calls of a group (found with two workers
    # and 24 clients defining one activity): the group gave up after five
    # calls and answered 503. Here a competing write lands before each call
    # the group makes; from its second call on, the group holds the tenant's
    # write lock, so the competitor waits and the group is written.
    tenant_id = on_connection(database_url, lambda conn: conn.fetchval(
        "SELECT id FROM tenants WHERE name = $1", tenant.name))

    def group(language: str) -> list[WriteBatch]:
        return [write_batch(tenant_id, [_statement(language)], define=True, tenant=tenant.name)]

    async def scenario() -> dict:
        mine, theirs = await asyncpg.connect(database_url), await asyncpg.connect(database_url)
        try:
            assert await statement_insert.write_group(mine, group("x-first")) == [None]
            competitors: list[asyncio.Task] = []
            real_fetchrow = statement_insert.fetchrow

            async def contended(conn, query, *args):
                if conn is not mine or query is not statement_insert.WRITE:
                    return await real_fetchrow(conn, query, *args)
                competitor = asyncio.create_task(statement_insert.write_group(
                    theirs, group(f"x-c{len(competitors)}")))
                competitors.append(competitor)
                if len(competitors) == 1:  # no lock held yet: it lands first
                    assert await competitor == [None]
                else:  # it waits for the lock this group holds
                    await asyncio.sleep(0.2)
                    assert not competitor.done(), "another writer changed the group's definitions"
                return await real_fetchrow(conn, query, *args)

            monkeypatch.setattr(statement_insert, "fetchrow", contended)
            assert await statement_insert.write_group(mine, group("x-mine")) == [None]
            monkeypatch.undo()
            assert [await c for c in competitors] == [[None]] * len(competitors)
            held = await mine.fetchval(
                "SELECT definition FROM activities WHERE tenant_id = $1 AND activity_id = $2",
                tenant_id, ACTIVITY)
            return orjson.loads(held)
        finally:
            await mine.close()
            await theirs.close()

    names = asyncio.run(scenario())["name"]
    assert {"x-first", "x-mine", "x-c0", "x-c1"} <= set(names), names
