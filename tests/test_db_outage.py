"""The LRS when its database fails under it, against real PostgreSQL: the
group-commit writer when a transaction's connection dies, and the bounds on
waiting when the database stops answering without closing anything (a frozen
server, as in a network partition). The suite's fault scenarios
(conformance/test_faults.py) stop the database outright; these are the cases
they cannot set up from outside."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import time
import uuid

import asyncpg
import httpx
import psutil
import pytest

from lrs.app import create_app
from lrs.store.statement_insert import WRITE_LOCK_SPACE
from tests import live
from tests.conftest import server_with
from tests.fault_harness import Harness

V2 = {"X-Experience-API-Version": "2.0.0"}
STATE = {"activityId": "http://example.org/course", "stateId": "bookmark",
         "agent": json.dumps({"mbox": "mailto:learner@example.org"})}


def _statement() -> dict:
    return {"id": str(uuid.uuid4()), "actor": {"mbox": "mailto:learner@example.org"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
            "object": {"id": "http://example.org/course"}}


async def _until(check, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while not (found := await check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)
    return found


def test_a_group_whose_connection_dies_is_answered_503_and_the_writer_goes_on(
        settings, database_url, tenant):
    # The tenant's write lock, held from outside, keeps the writer's
    # transactions waiting; killing the waiting backend is a connection lost
    # in the middle of a group commit.
    app = create_app(settings)
    a, b, c, d = (_statement() for _ in range(4))

    async def scenario() -> tuple[list[httpx.Response], httpx.Response, list[int]]:
        holder = await asyncpg.connect(database_url)
        tenant_id = await holder.fetchval("SELECT id FROM tenants WHERE name = $1", tenant.name)

        killed: list[int] = []

        async def waiter() -> int | None:
            return await holder.fetchval(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                " AND classid = $1 AND objid = $2 AND pid <> ALL($3::int[])",
                WRITE_LOCK_SPACE, tenant_id, killed)

        async def kill_waiter() -> None:
            killed.append(await _until(waiter, 10, "the writer to wait for the lock"))
            await holder.execute("SELECT pg_terminate_backend($1)", killed[-1])

        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://lrs",
                auth=(tenant.key, tenant.secret), headers=V2, timeout=30) as client:
            writer = app.state.runtime.services["writer"]
            lock = holder.transaction()
            await lock.start()
            await holder.execute("SELECT pg_advisory_xact_lock($1, $2)", WRITE_LOCK_SPACE, tenant_id)
            sent = [asyncio.create_task(client.post("/xapi/statements", json=a))]
            await _until(waiter, 10, "a's transaction to wait for the lock")
            sent += [asyncio.create_task(client.post("/xapi/statements", json=s)) for s in (b, c)]

            async def queued() -> bool:
                return writer.queued() == 2

            await _until(queued, 10, "b and c to queue behind a")
            # A group's connection that dies while its call waits for the
            # lock is a 503 for the group's requests: a's, then b and c's.
            for _ in range(2):
                await kill_waiter()
            answers = await asyncio.wait_for(asyncio.gather(*sent), 10)
            await lock.rollback()
            after = await client.post("/xapi/statements", json=d)
            found = [(await client.get("/xapi/statements", params={"statementId": s["id"]})).status_code
                     for s in (a, b, c, d)]
        await holder.close()
        return answers, after, found

    answers, after, found = asyncio.run(scenario())
    for response in answers:
        assert response.status_code == 503, response.text
        assert response.json()["error"]["code"] == "service_unavailable"
        assert response.headers["Retry-After"]
    assert after.status_code == 200, after.text
    assert found == [404, 404, 404, 200]


def _signal_postgres(harness: Harness, sig: signal.Signals) -> None:
    postmaster = psutil.Process(int((harness.pgdata / "postmaster.pid").read_text().split()[0]))
    for process in (postmaster, *postmaster.children()):
        process.send_signal(sig)


@pytest.mark.timeout(120)
class _Lines(logging.Handler):
    """The messages logged to it."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_a_frozen_database_is_a_bounded_503_and_service_resumes_on_its_own(settings):
    with Harness.temporary() as harness:
        state = harness.setup()
        bounds = settings.replace(database_url=state["database_url"], pool_min=2, pool_max=4,
                                  db_timeout=1.0, db_command_timeout=2.0)
        app = create_app(bounds)
        # After create_app, which sets the root logger's handlers.
        warned = _Lines()
        logging.getLogger("lrs.db").addHandler(warned)

        async def timed(request) -> tuple[float, httpx.Response]:
            started = time.monotonic()
            response = await request
            return time.monotonic() - started, response

        async def scenario() -> tuple[list[tuple[float, httpx.Response]], float]:
            async with app.router.lifespan_context(app), httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app), base_url="http://lrs",
                    auth=(state["key"], state["secret"]), headers=V2, timeout=30) as client:
                assert (await client.post("/xapi/statements", json=_statement())).status_code == 200
                _signal_postgres(harness, signal.SIGSTOP)
                try:
                    # More requests than connections: some wait for one, the
                    # others wait on a server that does not answer.
                    answers = await asyncio.gather(*(timed(r) for r in (
                        client.post("/xapi/statements", json=_statement()),
                        client.put("/xapi/activities/state", params=STATE, json={"page": 3}),
                        client.get("/xapi/activities/state", params=STATE),
                        client.get("/ready"),
                        *(client.get("/xapi/statements", params={"limit": 1}) for _ in range(4)))))
                finally:
                    _signal_postgres(harness, signal.SIGCONT)
                thawed = time.monotonic()
                statement = _statement()

                async def written() -> bool:
                    put = await client.put("/xapi/statements", params={"statementId": statement["id"]},
                                           json=statement)
                    return put.status_code == 204 and (await client.get(
                        "/xapi/statements", params={"statementId": statement["id"]})).status_code == 200

                await _until(written, 10, "a write to succeed after the thaw")
                return answers, time.monotonic() - thawed

        try:
            answers, recovery = asyncio.run(scenario())
        finally:
            logging.getLogger("lrs.db").removeHandler(warned)
    # The outage is in the log, with its cause, once a second at most
    # rather than once an answer (lrs.http.errors.database_unavailable).
    unavailable = [line for line in warned.lines if line.startswith("answered 503")]
    assert 1 <= len(unavailable) <= 4, warned.lines
    assert "cause: " in unavailable[0], unavailable[0]
    for elapsed, response in answers:
        assert response.status_code == 503, response.text
        # LRS_DB_TIMEOUT for a connection, then LRS_DB_COMMAND_TIMEOUT for
        # the command that hangs, plus a margin.
        assert elapsed < 1.0 + 2.0 + 1.0, f"{response.request.url} took {elapsed:.2f} s"
    assert recovery < 2.0, f"writes worked again {recovery:.2f} s after the database did"
    print(f"frozen database: worst answer {max(e for e, _ in answers):.2f} s (bounds 1 s + 2 s), "
          f"writes again {recovery:.2f} s after the thaw")


def test_a_worker_started_while_the_database_is_down_answers_503_then_serves(settings):
    """A worker that uvicorn starts in place of one that died must start
    even while the database is down (else uvicorn stops the whole server):
    it answers 503, logged with the cause as any outage's 503s are, and
    serves once the database is back, without a restart."""
    with Harness.temporary() as harness:
        state = harness.setup()
        harness.stop_db()
        app = create_app(settings.replace(database_url=state["database_url"], db_timeout=1.0))
        warned = _Lines()
        logging.getLogger("lrs.db").addHandler(warned)

        async def scenario() -> tuple[list[int], int]:
            async with app.router.lifespan_context(app), httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app), base_url="http://lrs",
                    auth=(state["key"], state["secret"]), headers=V2, timeout=30) as client:
                down = [(await client.post("/xapi/statements", json=_statement())).status_code
                        for _ in range(3)]
                await asyncio.to_thread(harness.start_db)

                async def stored() -> int:
                    status = (await client.post("/xapi/statements", json=_statement())).status_code
                    return status if status != 503 else 0

                return down, await _until(stored, 30, "a statement stored")

        try:
            down, after = asyncio.run(scenario())
        finally:
            logging.getLogger("lrs.db").removeHandler(warned)
    assert down == [503, 503, 503]
    assert after == 200
    unavailable = [line for line in warned.lines if line.startswith("answered 503")]
    assert unavailable and "cause: " in unavailable[0], warned.lines


def test_oauth_token_during_an_outage_is_503_not_a_bad_client(settings):
    """Found by a probe of the operations surface: /oauth/token answered
    401 invalid_client while the database was down, so OAuth clients took
    their credentials for wrong. It is a 503 with Retry-After, as on every
    other route; the wrong secret is still 401 once the database is back."""
    with Harness.temporary() as harness:
        state = harness.setup()
        url_settings = settings.replace(database_url=state["database_url"], db_timeout=1.0)
        with server_with(url_settings) as server:
            token = f"{server.url}/oauth/token"
            form = {"grant_type": "client_credentials"}
            harness.stop_db()
            down = httpx.post(token, data=form, auth=(state["key"], state["secret"]), timeout=30)
            harness.start_db()

            def answer(secret: str) -> httpx.Response | None:
                response = httpx.post(token, data=form, auth=(state["key"], secret), timeout=30)
                return response if response.status_code != 503 else None

            wrong = live.wait_until(lambda: answer("wrong"), 30, "the database to be back")
            right = answer(state["secret"])
    assert down.status_code == 503, down.text
    assert down.headers["Retry-After"]
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    assert right is not None and right.status_code == 200, right
