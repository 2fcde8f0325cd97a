"""Per-credential request rates (lrs.ratelimit): the bucket's arithmetic on a
clock the test moves, and one limit for workers that share the table's file,
as `lrs serve --workers N` makes it. tests/test_access.py checks the 429 over
HTTP, and test_a_credential_gets_its_rate_across_two_workers below against
`lrs serve --workers 2`."""

from __future__ import annotations

import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from lrs.auth.principal import Principal
from lrs.errors import TooManyRequests
from lrs.ratelimit import RateLimiter, make_table
from lrs.store import tenants
from tests import live
from tests.conftest import on_connection


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _principal(credential: str = "key", *, rate: float = 2.0, burst: int = 3,
               tenant: str = "agency") -> Principal:
    return Principal(tenant_id=1, tenant=tenant, credential=credential, scopes=frozenset(),
                     authority={}, rate_limit=(rate, burst))


def _let_in(limiter: RateLimiter, principal: Principal) -> bool:
    try:
        limiter.check(principal)
    except TooManyRequests:
        return False
    return True


def test_a_burst_then_the_rate_then_a_full_bucket_again():
    clock = Clock()
    limiter = RateLimiter(clock=clock)
    agent = _principal(rate=2.0, burst=3)
    assert [_let_in(limiter, agent) for _ in range(4)] == [True, True, True, False]
    clock.now += 0.5  # one request's worth at 2 a second
    assert [_let_in(limiter, agent) for _ in range(2)] == [True, False]
    clock.now += 60
    assert [_let_in(limiter, agent) for _ in range(4)] == [True, True, True, False]


def test_retry_after_is_the_whole_seconds_until_a_request_would_be_let_in():
    clock = Clock()
    limiter = RateLimiter(clock=clock)
    slow = _principal(rate=0.1, burst=1)
    limiter.check(slow)
    with pytest.raises(TooManyRequests) as refused:
        limiter.check(slow)
    assert refused.value.headers["Retry-After"] == "10"
    clock.now += 9.5
    with pytest.raises(TooManyRequests) as refused:
        limiter.check(slow)
    assert refused.value.headers["Retry-After"] == "1"  # never 0
    clock.now += 0.5
    limiter.check(slow)


def test_a_raised_rate_applies_at_once_to_a_bucket_emptied_at_the_old_one():
    clock = Clock()
    limiter = RateLimiter(clock=clock)
    assert [_let_in(limiter, _principal(rate=0.001, burst=2)) for _ in range(3)] == [
        True, True, False]  # the bucket's next request: 2,000 s away at this rate
    raised = _principal(rate=2.0, burst=3)
    with pytest.raises(TooManyRequests) as refused:
        limiter.check(raised)
    assert refused.value.headers["Retry-After"] == "1"  # an empty bucket at 2 a second
    clock.now += 0.5
    assert [_let_in(limiter, raised) for _ in range(2)] == [True, False]


def test_each_credential_and_tenant_has_its_own_bucket():
    limiter = RateLimiter(clock=Clock())
    first = _principal("key-1", burst=1)
    assert [_let_in(limiter, first) for _ in range(2)] == [True, False]
    assert _let_in(limiter, _principal("key-2", burst=1))
    assert _let_in(limiter, _principal("key-1", burst=1, tenant="other"))
    unlimited = Principal(tenant_id=1, tenant="agency", credential="key-1",
                          scopes=frozenset(), authority={})
    assert all(_let_in(limiter, unlimited) for _ in range(100))


def test_workers_sharing_the_table_share_the_limit(tmp_path):
    """Two limiters on one file, as two workers of `lrs serve`: a client
    whose requests alternate between them gets its burst once, not twice."""
    make_table(tmp_path / "buckets")
    clock = Clock()
    workers = [RateLimiter(tmp_path / "buckets", clock=clock) for _ in range(2)]
    agent = _principal(rate=1.0, burst=4)
    let_in = [_let_in(workers[i % 2], agent) for i in range(8)]
    assert let_in == [True] * 4 + [False] * 4
    clock.now += 1.0
    assert _let_in(workers[1], agent) and not _let_in(workers[0], agent)
    # A worker started later (a restarted one) sees the same buckets.
    late = RateLimiter(tmp_path / "buckets", clock=clock)
    assert not _let_in(late, agent)
    for limiter in (*workers, late):
        limiter.close()


def test_a_full_table_gives_up_the_bucket_that_fills_soonest(tmp_path):
    """With every slot a credential may take held by others, the one that
    fills soonest is given up: its credential starts afresh, with a burst."""
    make_table(tmp_path / "buckets", slots=8)  # the probe covers all 8
    clock = Clock()
    limiter = RateLimiter(tmp_path / "buckets", clock=clock)
    credentials = [_principal(f"key-{n}", rate=1.0, burst=1) for n in range(9)]
    for principal in credentials[:8]:
        assert _let_in(limiter, principal)
        clock.now += 0.01  # key-0's bucket fills first
    assert _let_in(limiter, credentials[8])  # takes key-0's slot
    assert _let_in(limiter, credentials[0])  # afresh: takes key-1's, the next to fill
    assert not any(_let_in(limiter, principal) for principal in credentials[2:])
    limiter.close()


def test_a_credential_gets_its_rate_across_two_workers(database_url, tenant):
    """`lrs serve --workers 2`: a client's connections land on both workers
    (the kernel spreads them), and still the credential gets one burst and
    its rate, not one per worker (each worker had its own buckets before)."""
    on_connection(database_url, lambda conn: tenants.set_rate_limit(conn, tenant.name, 1.0, 10))
    env = live.serve_env(database_url=database_url, log_level="warning")
    with live.served("--workers", "2", "--no-migrate", env=env,
                     stderr=subprocess.DEVNULL) as (url, _):

        def one_request(_: int) -> int:
            # A connection of its own each, so that both workers serve some.
            return httpx.get(f"{url}/xapi/statements", auth=(tenant.key, tenant.secret),
                             headers={"X-Experience-API-Version": "2.0.0"},
                             timeout=30).status_code

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=16) as pool:
            statuses = list(pool.map(one_request, range(60)))
        elapsed = time.monotonic() - started
    assert set(statuses) <= {200, 429}, statuses
    # The burst, plus what the rate refilled meanwhile (and one in flight).
    assert statuses.count(200) <= 10 + int(elapsed * 1.0) + 1, (statuses.count(200), elapsed)
    assert statuses.count(429) > 0
