"""A GET of one statement whose write is still in flight in the same worker
waits for that write instead of answering 404 (StatementWriter.settled).
ADL's suite sends such GETs before its writes are answered
(conformance/README.md). Against the real server and PostgreSQL; the
tenant's write lock is held from outside to keep the write in flight."""

from __future__ import annotations

import asyncio

import httpx

from tests.conftest import holding_write_lock, run
from tests.statements_support import new_id, statement

XAPI = {"X-Experience-API-Version": "1.0.3"}


async def _read_while_writing(server, database_url: str, tenant, statement_id: str,
                              body: dict) -> tuple[httpx.Response, httpx.Response, bool]:
    """PUT `body` while the tenant's lock is held, GET `statement_id` once
    the write waits for the lock, release the lock 0.2 s later: the two
    answers, and whether the GET had answered before the release."""
    async with holding_write_lock(database_url, tenant) as lock, httpx.AsyncClient(
            base_url=server.url, auth=(tenant.key, tenant.secret), headers=XAPI,
            timeout=30) as client:
        put = asyncio.create_task(client.put(
            "/xapi/statements", params={"statementId": body["id"]}, json=body))
        await lock.writer_arrived()
        get = asyncio.create_task(client.get("/xapi/statements",
                                              params={"statementId": statement_id}))
        await asyncio.sleep(0.2)
        answered_early = get.done()
        await lock.release()
        return await put, await get, answered_early


def test_a_get_of_a_statement_being_written_waits_for_the_write(server, database_url, tenant):
    body = statement(id=new_id())
    put, get, answered_early = run(_read_while_writing(server, database_url, tenant,
                                                       body["id"], body))
    assert put.status_code == 204, put.text
    assert not answered_early
    assert get.status_code == 200, get.text
    assert get.json()["id"] == body["id"]


def test_a_get_of_another_statement_does_not_wait(server, database_url, tenant):
    body = statement(id=new_id())
    put, get, answered_early = run(_read_while_writing(server, database_url, tenant,
                                                       new_id(), body))
    assert put.status_code == 204, put.text
    assert answered_early and get.status_code == 404, get.text
