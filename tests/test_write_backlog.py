"""The write backlog (lrs/backlog.py): a worker takes on a bounded amount of
statement traffic, lets waiting tenants in by turns, and answers 429 with
Retry-After to a request that waited too long, storing nothing of it."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import threading
import time
import urllib.parse

import httpx
import orjson
import pytest

from lrs.backlog import WriteBacklog
from lrs.errors import TooManyRequests
from tests.conftest import holding_write_lock, run, server_with
from tests.statements_support import new_id, statement

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


async def _filled(backlog: WriteBacklog, log: list) -> tuple[list[asyncio.Task], asyncio.Event]:
    """Tenants a and x holding half the budget each (a body larger than half
    counts as half), the worker full until the event is set."""
    release = asyncio.Event()
    holders = [asyncio.create_task(_hold(backlog, tenant, 10**9, log, release))
               for tenant in ("a", "x")]
    await asyncio.sleep(0.01)
    return holders, release


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

        async def request(name: str) -> None:
            releases[name] = asyncio.Event()
            async with backlog.admitted(name[0], 50):
                log.append(name)
                await releases[name].wait()

        tasks = []
        # x and y fill the worker; a1, a2, a3, then b1 and c1 wait.
        for name in ("x", "y", "a1", "a2", "a3", "b1", "c1"):
            tasks.append(asyncio.create_task(request(name)))
            await asyncio.sleep(0.01)
        assert log == ["x", "y"] and backlog.waiting == 5
        for name in ("x", "y", "a1", "b1", "c1", "a2"):
            releases[name].set()
            await asyncio.sleep(0.01)
        # Agency a's flood does not keep b and c out: one turn each.
        assert log == ["x", "y", "a1", "b1", "c1", "a2", "a3"]
        releases["a3"].set()
        await asyncio.gather(*tasks)
        assert backlog.used == 0 and backlog.waiting == 0
    run(go())


def test_a_large_body_counts_as_half_and_never_holds_the_whole_worker():
    async def go():
        backlog, log = WriteBacklog(100, 5), []
        big, big_release = await _started(backlog, "a", 10_000, log)
        assert log == ["a"] and backlog.used == 50
        again, again_release = await _started(backlog, "a", 10_000, log)
        small, small_release = await _started(backlog, "b", 25, log)
        other_big, other_big_release = await _started(backlog, "c", 10_000, log)
        # a's second waits for a's first; b gets in; c's waits for room.
        assert log == ["a", "b"] and backlog.used == 75 and backlog.waiting == 2
        small_release.set()
        await small
        await asyncio.sleep(0.01)
        assert log == ["a", "b", "c"] and backlog.used == 100
        for release in (big_release, other_big_release, again_release):
            release.set()
        await asyncio.gather(big, other_big, again)
        assert log == ["a", "b", "c", "a"] and backlog.used == 0
    run(go())


def test_a_body_of_unknown_size_holds_its_own_size_once_read():
    async def go():
        # Admitted as the largest allowed (counted as half), then read: 5 bytes.
        backlog, log = WriteBacklog(100, 5), []
        async with backlog.admitted("a", 10**9) as unknown:
            assert backlog.used == 50
            waiting, waiting_release = await _started(backlog, "a", 40, log)
            assert log == [] and backlog.waiting == 1
            unknown.shrink(5)
            await asyncio.sleep(0.01)
            assert log == ["a"] and backlog.used == 45  # its turn came at once
            unknown.shrink(80)  # never grows
            assert backlog.used == 45
            waiting_release.set()
            await waiting
        assert backlog.used == 0
    run(go())


def test_a_request_that_waits_too_long_gets_429_and_holds_nothing():
    async def go():
        backlog, log = WriteBacklog(100, 0.2), []
        holders, release = await _filled(backlog, log)
        with pytest.raises(TooManyRequests) as refused:
            async with backlog.admitted("b", 10):
                pytest.fail("admitted past the budget")
        assert refused.value.headers["Retry-After"] == "1"
        assert "waited 0.2 s" in refused.value.message
        assert backlog.used == 100 and backlog.waiting == 0  # only the holders' bytes
        release.set()
        await asyncio.gather(*holders)
        assert backlog.used == 0
        async with backlog.admitted("b", 10):  # and the gate still works
            assert backlog.used == 10
    run(go())


def test_a_cancelled_wait_gives_its_turn_to_the_next():
    async def go():
        backlog, log = WriteBacklog(100, 5), []
        holders, release = await _filled(backlog, log)
        gone, _ = await _started(backlog, "b", 50, log)
        after, after_release = await _started(backlog, "c", 50, log)
        assert backlog.waiting == 2
        gone.cancel()
        await asyncio.sleep(0.01)
        assert backlog.waiting == 1
        release.set()
        await asyncio.gather(*holders)
        await asyncio.sleep(0.01)
        assert log == ["a", "x", "c"]
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


@contextlib.contextmanager
def _small_backlog(settings, tenant):
    """A server whose worker takes on 10,000 bytes of writes and lets a
    request wait 1 s for room, and a client of `tenant`."""
    with server_with(settings.replace(write_backlog_bytes=10_000,
                                      write_backlog_wait_seconds=1.0)) as server, httpx.Client(
            base_url=server.url, auth=(tenant.key, tenant.secret), headers=XAPI,
            timeout=30) as client:
        yield server, client


def _slowly(body: bytes):
    """`body` in 6 pieces 0.5 s apart: about 3 s to send."""
    step = len(body) // 6 + 1
    for at in range(0, len(body), step):
        yield body[at:at + step]
        time.sleep(0.5)


def _slow_upload(server, tenant, body: bytes, outcome: dict) -> threading.Thread:
    """Start posting `body` slowly (_slowly), with its Content-Length; the
    answer lands in outcome[tenant.name]."""
    def upload():
        with httpx.Client(base_url=server.url, auth=(tenant.key, tenant.secret),
                          headers=XAPI, timeout=30) as client:
            outcome[tenant.name] = client.post("/xapi/statements", content=_slowly(body), headers={
                "Content-Type": "application/json", "Content-Length": str(len(body))})

    thread = threading.Thread(target=upload)
    thread.start()
    return thread


def _post_timed(client: httpx.Client, body: bytes) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = client.post("/xapi/statements", content=body,
                           headers={"Content-Type": "application/json"})
    return response, time.monotonic() - started


def test_a_write_that_cannot_get_in_is_refused_with_429_and_nothing_is_stored(
        settings, tenant, new_tenant):
    second, other = new_tenant(), new_tenant()
    with _small_backlog(settings, other) as (server, client):
        outcome: dict = {}
        # Two agencies' large uploads trickle in, over ~3 s each. One alone
        # holds half the budget (it counts as half however large): the other
        # agency still gets in at once.
        uploads = [_slow_upload(server, tenant, _batch(new_id(), 50), outcome)]
        time.sleep(0.5)
        registration = new_id()
        passed, waited = _post_timed(client, _batch(registration, 5))
        assert passed.status_code == 200 and waited < 0.9, (passed.text, waited)
        # Both together fill the worker: the other agency waits 1 s, then 429.
        uploads.append(_slow_upload(server, second, _batch(new_id(), 50), outcome))
        time.sleep(0.5)
        refused_batch = new_id()
        refused, waited = _post_timed(client, _batch(refused_batch, 5))
        for upload in uploads:
            upload.join(timeout=30)
        assert refused.status_code == 429, refused.text
        assert refused.headers["Retry-After"] == "1"
        error = refused.json()["error"]
        assert error["status"] == 429 and "waited 1 s for room" in error["message"]
        assert 0.9 <= waited < 2.5
        assert _stored(client, refused_batch) == 0
        # The uploads were stored whole; the retry gets in.
        assert [len(outcome[t.name].json()) for t in (tenant, second)] == [50, 50], outcome
        again, _ = _post_timed(client, _batch(refused_batch, 5))
        assert again.status_code == 200, again.text
        assert _stored(client, refused_batch) == 5
        assert _stored(client, registration) == 5
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


def test_a_body_without_content_length_holds_only_its_size_once_read(
        settings, database_url, tenant):
    # The tenant's write lock, held from outside, keeps a small chunked
    # write waiting in the writer after its body was read. Counted as the
    # largest allowed (the tenant's whole half), it would keep the tenant's
    # next write waiting until 429; holding its own size, it does not.
    async def scenario() -> tuple[httpx.Response, httpx.Response, int]:
        async def one_chunk():
            yield _batch(registration, 1)

        async with holding_write_lock(database_url, tenant) as lock, httpx.AsyncClient(
                base_url=server.url, auth=(tenant.key, tenant.secret), headers=XAPI,
                timeout=30) as client:
            chunked = asyncio.create_task(client.post(
                "/xapi/statements", content=one_chunk(),
                headers={"Content-Type": "application/json"}))
            await lock.writer_arrived()
            sized = asyncio.create_task(client.post(
                "/xapi/statements", content=_batch(registration, 5),
                headers={"Content-Type": "application/json"}))
            await asyncio.sleep(1.5)  # past the backlog's 1 s wait
            await lock.release()
            return await asyncio.gather(chunked, sized)

    registration = new_id()
    with _small_backlog(settings, tenant) as (server, client):
        chunked, sized = run(scenario())
        assert chunked.request.headers.get("Transfer-Encoding") == "chunked"
        assert chunked.status_code == 200, chunked.text
        assert sized.status_code == 200, sized.text
        assert _stored(client, registration) == 6


def test_forms_read_before_authentication_take_one_party_s_half(settings, tenant):
    # An alternate-syntax form carries its credentials, so it is read before
    # its sender is known: all such forms together hold at most half the
    # budget, and a flood of them keeps no agency's writes out.
    def form(size: int) -> bytes:
        return urllib.parse.urlencode({
            "Authorization": "Basic " + base64.b64encode(b"nobody:wrong").decode(),
            "X-Experience-API-Version": "1.0.3", "Content-Type": "application/json",
            "content": "[" + ",".join(['{"a":1}'] * (size // 8)) + "]"}).encode()

    def post_form(body: bytes, slowly: bool) -> httpx.Response:
        with httpx.Client(base_url=server.url, timeout=30) as anonymous:
            return anonymous.post("/xapi/statements", params={"method": "POST"},
                                  content=_slowly(body) if slowly else body, headers={
                                      "Content-Type": "application/x-www-form-urlencoded",
                                      "Content-Length": str(len(body))})

    with _small_backlog(settings, tenant) as (server, client):
        outcome = {}
        slow = threading.Thread(target=lambda: outcome.update(slow=post_form(form(15_000), True)))
        slow.start()
        time.sleep(0.5)
        refused = post_form(form(1_000), False)
        registration = new_id()
        passed, waited = _post_timed(client, _batch(registration, 5))
        slow.join(timeout=30)
        assert refused.status_code == 429, refused.text
        assert passed.status_code == 200 and waited < 0.9, (passed.text, waited)
        assert outcome["slow"].status_code == 401, outcome["slow"].text
        metrics = httpx.get(f"{server.url}/metrics").text
        assert 'lrs_writes_refused_busy_total{tenant="(before authentication)"} 1.0' in metrics


def test_a_document_write_waits_in_the_same_backlog(settings, tenant, new_tenant):
    second, other = new_tenant(), new_tenant()
    with _small_backlog(settings, other) as (server, client):
        outcome: dict = {}
        uploads = [_slow_upload(server, t, _batch(new_id(), 50), outcome)
                   for t in (tenant, second)]
        time.sleep(0.5)
        params = {"activityId": "http://example.com/course", "stateId": "bookmark",
                  "agent": '{"mbox":"mailto:learner@example.com"}'}
        refused = client.put("/xapi/activities/state", params=params, content=b'{"page":3}',
                             headers={"Content-Type": "application/json"})
        for upload in uploads:
            upload.join(timeout=30)
        assert refused.status_code == 429, refused.text
        assert client.get("/xapi/activities/state", params=params).status_code == 404
        again = client.put("/xapi/activities/state", params=params, content=b'{"page":3}',
                           headers={"Content-Type": "application/json"})
        assert again.status_code == 204, again.text
        assert client.get("/xapi/activities/state", params=params).json() == {"page": 3}
