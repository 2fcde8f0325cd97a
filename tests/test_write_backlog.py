"""The write backlog (lrs/backlog.py): a worker takes on a bounded amount of
statement traffic, lets waiting tenants in by turns, and answers 429 with
Retry-After to a request that waited too long, storing nothing of it."""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import orjson
import pytest

from lrs.backlog import WriteBacklog
from lrs.errors import TooManyRequests
from tests.conftest import run, server_with
from tests.statements_support import statement

XAPI = {"X-Experience-API-Version": "2.0.0"}


# -- the gate itself, on one event loop ------------------------------------------------

async def _hold(backlog: WriteBacklog, tenant: str, size: int, log: list, release: asyncio.Event):
    async with backlog.admitted(tenant, size):
        log.append(tenant)
        await release.wait()


async def _started(backlog: WriteBacklog, tenant: str, size: int, log: list
                   ) -> tuple[asyncio.Task, asyncio.Event]:
    """A request of `tenant` for `size` bytes, given a moment to get in or
    queue; it holds its bytes until its event is set."""
    release = asyncio.Event()
    task = asyncio.create_task(_hold(backlog, tenant, size, log, release))
    await asyncio.sleep(0.01)
    return task, release


def test_requests_within_the_budget_go_straight_in():
    async def go():
        backlog, log, release = WriteBacklog(100, 5), [], asyncio.Event()
        tasks = [asyncio.create_task(_hold(backlog, tenant, 25, log, release))
                 for tenant in ("a", "a", "b", "b")]
        await asyncio.sleep(0.01)
        assert log == ["a", "a", "b", "b"] and backlog.used == 100
        release.set()
        await asyncio.gather(*tasks)
        assert backlog.used == 0
    run(go())


def test_an_empty_body_holds_nothing():
    async def go():
        backlog = WriteBacklog(100, 5)
        async with backlog.admitted("a", 0):
            assert backlog.used == 0
        assert backlog.used == 0
    run(go())


def test_a_tenant_holds_at_most_half_and_others_still_get_in():
    async def go():
        backlog, log, release = WriteBacklog(100, 5), [], asyncio.Event()
        flood = [asyncio.create_task(_hold(backlog, "a", 25, log, release)) for _ in range(4)]
        await asyncio.sleep(0.01)
        assert log == ["a", "a"] and backlog.used == 50  # a's other two wait
        other = asyncio.create_task(_hold(backlog, "b", 25, log, release))
        await asyncio.sleep(0.01)
        assert log == ["a", "a", "b"]  # straight in, past a's waiting ones
        release.set()
        await asyncio.gather(*flood, other)
        assert log == ["a", "a", "b", "a", "a"] and backlog.used == 0
    run(go())


def test_waiting_tenants_are_let_in_by_turns():
    async def go():
        backlog, log = WriteBacklog(100, 5), []
        releases = {}

        async def request(name: str, tenant: str) -> None:
            releases[name] = asyncio.Event()
            async with backlog.admitted(tenant, 100):
                log.append(name)
                await releases[name].wait()

        tasks = []
        # a1 holds the budget; a2, a3, then b1 and c1 wait.
        for name in ("a1", "a2", "a3", "b1", "c1"):
            tasks.append(asyncio.create_task(request(name, name[0])))
            await asyncio.sleep(0.01)
        assert log == ["a1"] and backlog.waiting == 4
        for name in ("a1", "a2", "b1", "c1"):
            releases[name].set()
            await asyncio.sleep(0.01)
        # Agency a's flood does not keep b and c out: one turn each.
        assert log == ["a1", "a2", "b1", "c1", "a3"]
        releases["a3"].set()
        await asyncio.gather(*tasks)
        assert backlog.used == 0 and backlog.waiting == 0
    run(go())


def test_a_body_larger_than_the_budget_is_let_in_alone():
    async def go():
        backlog, log = WriteBacklog(100, 5), []
        small, release = await _started(backlog, "a", 10, log)
        big, big_release = await _started(backlog, "b", 10_000, log)
        assert log == ["a"]  # waits for the small one to finish
        release.set()
        await small
        await asyncio.sleep(0.01)
        assert log == ["a", "b"] and backlog.used == 100
        big_release.set()
        await big
        assert backlog.used == 0
    run(go())


def test_a_request_that_waits_too_long_gets_429_and_holds_nothing():
    async def go():
        backlog, log = WriteBacklog(100, 0.2), []
        holder, release = await _started(backlog, "a", 100, log)
        with pytest.raises(TooManyRequests) as refused:
            async with backlog.admitted("b", 10):
                pytest.fail("admitted past the budget")
        assert refused.value.headers["Retry-After"] == "1"
        assert "waited 0.2 s" in refused.value.message
        assert backlog.used == 100 and backlog.waiting == 0  # only the holder's bytes
        release.set()
        await holder
        assert backlog.used == 0
        async with backlog.admitted("b", 10):  # and the gate still works
            assert backlog.used == 10
    run(go())


def test_a_cancelled_wait_gives_its_turn_to_the_next():
    async def go():
        backlog, log = WriteBacklog(100, 5), []
        holder, release = await _started(backlog, "a", 100, log)
        gone, _ = await _started(backlog, "b", 100, log)
        after, after_release = await _started(backlog, "c", 100, log)
        assert backlog.waiting == 2
        gone.cancel()
        await asyncio.sleep(0.01)
        assert backlog.waiting == 1
        release.set()
        await holder
        await asyncio.sleep(0.01)
        assert log == ["a", "c"]
        after_release.set()
        await after
        assert backlog.used == 0
    run(go())


# -- over HTTP, against a real server --------------------------------------------------

def _batch(registration: str, count: int) -> bytes:
    return orjson.dumps([statement(context={"registration": registration})
                         for _ in range(count)])


def _stored(client: httpx.Client, registration: str) -> int:
    r = client.get("/xapi/statements", params={"registration": registration, "limit": 0})
    assert r.status_code == 200, r.text
    return len(r.json()["statements"])


def test_a_write_that_cannot_get_in_is_refused_with_429_and_nothing_is_stored(
        settings, tenant, new_tenant):
    other = new_tenant()
    with server_with(settings.replace(write_backlog_bytes=10_000,
                                      write_backlog_wait_seconds=1.0)) as server:
        slow_body = _batch("5e1c0000-0000-4000-8000-000000000001", 50)
        # Agency A's upload trickles in: admitted, it holds the whole budget
        # for about 3 s while its body arrives.
        def trickle():
            for at in range(0, len(slow_body), len(slow_body) // 6 + 1):
                yield slow_body[at:at + len(slow_body) // 6 + 1]
                time.sleep(0.5)

        outcome = {}

        def upload():
            with httpx.Client(base_url=server.url, auth=(tenant.key, tenant.secret),
                              headers=XAPI, timeout=30) as a:
                outcome["slow"] = a.post("/xapi/statements", content=trickle(), headers={
                    "Content-Type": "application/json",
                    "Content-Length": str(len(slow_body))})

        uploading = threading.Thread(target=upload)
        uploading.start()
        time.sleep(0.5)
        with httpx.Client(base_url=server.url, auth=(other.key, other.secret),
                          headers=XAPI, timeout=30) as b:
            registration = "5e1c0000-0000-4000-8000-000000000002"
            started = time.monotonic()
            refused = b.post("/xapi/statements", content=_batch(registration, 5),
                             headers={"Content-Type": "application/json"})
            waited = time.monotonic() - started
            uploading.join(timeout=30)
            assert refused.status_code == 429, refused.text
            assert refused.headers["Retry-After"] == "1"
            error = refused.json()["error"]
            assert error["status"] == 429 and "waited 1 s for room" in error["message"]
            assert 0.9 <= waited < 2.5
            assert _stored(b, registration) == 0
            # The upload that held the budget was stored whole; the retry gets in.
            assert outcome["slow"].status_code == 200, outcome["slow"].text
            assert len(outcome["slow"].json()) == 50
            again = b.post("/xapi/statements", content=_batch(registration, 5),
                           headers={"Content-Type": "application/json"})
            assert again.status_code == 200, again.text
            assert _stored(b, registration) == 5
        metrics = httpx.get(f"{server.url}/metrics").text
        assert f'lrs_writes_refused_busy_total{{tenant="{other.name}"}} 1.0' in metrics
        assert "lrs_write_backlog_bytes 0.0" in metrics
        assert "lrs_write_backlog_waiting 0.0" in metrics


def test_a_body_without_content_length_is_taken_in_alone_and_stored(settings, tenant):
    # Chunked: its size is unknown until read, so it counts as the largest
    # allowed and goes in when the worker holds nothing else.
    with server_with(settings.replace(write_backlog_bytes=10_000,
                                      write_backlog_wait_seconds=5.0)) as server:
        registration = "5e1c0000-0000-4000-8000-000000000003"
        body = _batch(registration, 30)

        def chunks():
            for at in range(0, len(body), 1000):
                yield body[at:at + 1000]

        with httpx.Client(base_url=server.url, auth=(tenant.key, tenant.secret),
                          headers=XAPI, timeout=30) as c:
            r = c.post("/xapi/statements", content=chunks(),
                       headers={"Content-Type": "application/json"})
            assert r.request.headers.get("Transfer-Encoding") == "chunked"
            assert r.status_code == 200, r.text
            assert _stored(c, registration) == 30
