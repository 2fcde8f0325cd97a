"""`stored` is when a statement's request arrived, if its group commit came
within lrs_stored_lead() (50 ms) of that, and Consistent-Through stays
truthful all the same (migrations/0018, lrs/store/consistency.py). Against
the real server and PostgreSQL; the tenant's write lock is held from
outside to make a write wait, as another worker's group commit would."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

import httpx
import orjson

from lrs.http import consistency
from tests.conftest import holding_write_lock, run
from tests.statements_support import CONSISTENT, new_id, statement

XAPI = {"X-Experience-API-Version": "2.0.0"}
LEAD = dt.timedelta(milliseconds=50)  # lrs_stored_lead()


def _instant(seconds: float) -> dt.datetime:
    """A client clock reading, cut to the millisecond as `stored` is."""
    moment = dt.datetime.fromtimestamp(seconds, dt.UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _stored(client: httpx.Client, statement_id: str) -> dt.datetime:
    r = client.get("/xapi/statements", params={"statementId": statement_id})
    assert r.status_code == 200, r.text
    return dt.datetime.fromisoformat(r.json()["stored"])


def _stored_after_waiting(server, database_url: str, tenant, hold: float
                          ) -> tuple[float, dt.datetime, float]:
    """POST a statement while the tenant's write lock is held, and release
    the lock `hold` seconds after the write is seen waiting for it: the
    client's clock before the POST, the statement's `stored`, and the
    client's clock just before the release."""
    async def scenario() -> tuple[float, float]:
        async with holding_write_lock(database_url, tenant) as lock, httpx.AsyncClient(
                base_url=server.url, auth=(tenant.key, tenant.secret), headers=XAPI,
                timeout=30) as client:
            before = time.time()
            posted = asyncio.create_task(client.post("/xapi/statements", json=body))
            await lock.writer_arrived()
            await asyncio.sleep(hold)
            released = time.time()
            await lock.release()
            response = await posted
            assert response.status_code == 200, response.text
            return before, released

    body = statement(id=new_id())
    before, released = run(scenario())
    with httpx.Client(base_url=server.url, auth=(tenant.key, tenant.secret), headers=XAPI) as c:
        return before, _stored(c, body["id"]), released


def test_a_statement_is_stored_as_of_its_arrival_when_its_turn_comes_soon(
        server, database_url, tenant):
    before, stored, released = _stored_after_waiting(server, database_url, tenant, hold=0.01)
    # Drawn from the clock under the lock, it would be after the release.
    assert _instant(before) <= stored < _instant(released), (before, stored, released)


def test_a_statement_is_stored_no_earlier_than_the_lead_before_its_turn(
        server, database_url, tenant):
    before, stored, released = _stored_after_waiting(server, database_url, tenant, hold=0.3)
    # Arrived over 300 ms before its turn: stored 50 ms before the lock came
    # (after the release), not when it arrived.
    assert _instant(released) - LEAD - dt.timedelta(milliseconds=1) <= stored
    assert stored >= _instant(before) + dt.timedelta(milliseconds=200), (before, stored)


def test_consistent_through_never_passes_a_write_that_arrived_but_is_not_stored_yet(
        server, tenant):
    """A write whose body is still coming in holds no lock, so a reader
    meanwhile finds its tenant idle. Were Consistent-Through the clock then,
    the write, stored as of its earlier arrival, would land before it."""
    body = orjson.dumps([statement(id=new_id())])
    got_in = asyncio.Event()
    finish = asyncio.Event()

    async def slow_body():
        yield body[:20]
        got_in.set()
        await finish.wait()
        yield body[20:]

    async def scenario() -> tuple[httpx.Response, httpx.Response]:
        async with httpx.AsyncClient(base_url=server.url, auth=(tenant.key, tenant.secret),
                                     headers=XAPI, timeout=30) as writer, httpx.AsyncClient(
                base_url=server.url, auth=(tenant.key, tenant.secret), headers=XAPI,
                timeout=30) as reader:
            posted = asyncio.create_task(writer.post(
                "/xapi/statements", content=slow_body(),
                headers={"Content-Type": "application/json"}))
            await got_in.wait()
            await asyncio.sleep(0.03)  # the request is in, its body not yet
            read = await reader.get("/xapi/statements", params={"limit": 1})
            finish.set()
            return await posted, read

    posted, read = run(scenario())
    assert posted.status_code == 200, posted.text
    assert read.status_code == 200, read.text
    through = dt.datetime.fromisoformat(read.headers[CONSISTENT])
    with httpx.Client(base_url=server.url, auth=(tenant.key, tenant.secret), headers=XAPI) as c:
        stored = _stored(c, posted.json()[0])
    assert stored > through, (stored, through)


def test_consistent_through_of_an_idle_tenant_is_its_newest_statement_or_the_lead_ago(
        server, tenant):
    with httpx.Client(base_url=server.url, auth=(tenant.key, tenant.secret), headers=XAPI) as c:
        r = c.post("/xapi/statements", json=statement())
        assert r.status_code == 200, r.text
        stored = _stored(c, r.json()[0])
        time.sleep(0.15)  # past the reads' reuse of a value (0.1 s)
        asked = time.time()
        read = c.get("/xapi/statements", params={"limit": 1})
    through = dt.datetime.fromisoformat(read.headers[CONSISTENT])
    # XAPI-00152: never before a statement it returns.
    assert through >= stored
    assert _instant(asked) - LEAD - dt.timedelta(milliseconds=2) <= through <= _instant(asked)


def test_a_reused_consistent_through_is_never_older_than_a_statement_shown(
        server, tenant, monkeypatch):
    """Reads reuse a tenant's value for a moment (lrs/http/consistency.py);
    here for a minute, and each write is made to leave the value from before
    it, as a write through another worker does: the page after it would get
    that value, were the newest `stored` shown not checked (XAPI-00152)."""
    monkeypatch.setattr(consistency, "READ_REUSE_SECONDS", 60.0)
    with httpx.Client(base_url=server.url, auth=(tenant.key, tenant.secret), headers=XAPI) as c:
        primed = c.get("/xapi/statements", params={"limit": 1})
        before_writes = dict(consistency._recent)
        empty = c.get("/xapi/statements", params={"verb": "http://example.com/none"})
        assert primed.status_code == empty.status_code == 200
        # Reused while nothing newer is shown.
        assert empty.headers[CONSISTENT] == primed.headers[CONSISTENT]
        first, second = (statement(id=new_id()), statement(id=new_id()))
        assert c.post("/xapi/statements", json=first).status_code == 200
        consistency._recent.update(before_writes)
        single = c.get("/xapi/statements", params={"statementId": first["id"]})
        assert c.post("/xapi/statements", json=second).status_code == 200
        consistency._recent.update(before_writes)
        listed = c.get("/xapi/statements", params={"limit": 1})
    assert listed.json()["statements"][0]["id"] == second["id"]
    for answer, shown in ((single, single.json()), (listed, listed.json()["statements"][0])):
        through = dt.datetime.fromisoformat(answer.headers[CONSISTENT])
        assert through >= dt.datetime.fromisoformat(shown["stored"]), (through, shown)


def test_a_read_after_a_write_reuses_the_writes_consistent_through(
        server, tenant, monkeypatch):
    monkeypatch.setattr(consistency, "READ_REUSE_SECONDS", 60.0)
    with httpx.Client(base_url=server.url, auth=(tenant.key, tenant.secret), headers=XAPI) as c:
        body = statement(id=new_id())
        posted = c.post("/xapi/statements", json=body)
        assert posted.status_code == 200
        time.sleep(0.1)  # past the lead: a value asked afresh would be later
        single = c.get("/xapi/statements", params={"statementId": body["id"]})
    # The write's own value (its group's `stored`, which is the statement's).
    assert single.headers[CONSISTENT] == posted.headers[CONSISTENT]
    assert single.json()["stored"] == posted.headers[CONSISTENT]
