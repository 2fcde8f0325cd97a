"""The write backlog: how much write traffic (statements, documents) a worker
takes on at once.

Without a bound, a burst is read, parsed and queued whole. Measured on this
project's 2-core machine (docs/benchmarks.md, "A flood from one agency"): one
agency posting 1,000-statement batches from 128 connections took the worker
to 1 GB of memory, its own rate fell to less than half of what 16 connections
got, and another agency's single statements waited up to 5 s.

So a write is admitted before its body is read, by the body's declared size,
against a per-worker budget of bytes admitted and not yet answered. Past the
budget a request waits, its body left unread (the server stops reading a
connection whose body nobody consumes), and gives up after `wait_seconds` with
429 and Retry-After: xAPI's code for a request refused because too many came
from a client or set of clients in a given time (1.0.3 Communication 3.2, 2.0
LRS 4.1.5; its list of codes has no 503).

Waiting requests are let in one tenant at a time in turn, each tenant's in
arrival order: an agency's flood queues behind itself, not in front of the
others. And no tenant holds more than half the budget, so another agency's
request finds room at once unless several agencies are flooding together. A
body larger than a tenant's half counts as half, let in when its tenant holds
nothing else: one large upload, however slowly it arrives, never holds the
whole worker. (So the bytes in memory may pass the budget by what such bodies
hold beyond their half: two of them at most.) A body without Content-Length
is admitted as the largest allowed and, once read, holds its own size
(Hold.shrink). How long a body may take to arrive is bounded elsewhere
(lrs.http.xrequest.read_body: 408).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections import OrderedDict, deque
from collections.abc import AsyncIterator

from lrs import metrics
from lrs.errors import TooManyRequests

RETRY_AFTER_SECONDS = 1
# The party of alternate-syntax forms, read before their sender is known
# (lrs.http.xrequest): not a tenant's name, so no tenant shares its half.
BEFORE_AUTHENTICATION = None


@dataclasses.dataclass(slots=True)
class _Waiter:
    size: int
    admitted: asyncio.Future


class Hold:
    """One admitted request's bytes in the backlog."""

    __slots__ = ("_backlog", "tenant", "size")

    def __init__(self, backlog: WriteBacklog, tenant: str | None, size: int) -> None:
        self._backlog = backlog
        self.tenant = tenant
        self.size = size

    def shrink(self, size: int) -> None:
        """The body turned out to be `size` bytes: hold no more than that. A
        body without Content-Length is admitted as the largest allowed; once
        read, it holds what it is while it is parsed and written."""
        self._backlog._shrink(self, size)


class WriteBacklog:
    def __init__(self, limit_bytes: int, wait_seconds: float) -> None:
        self._limit = limit_bytes
        self._tenant_limit = max(1, limit_bytes // 2)
        self._wait_seconds = wait_seconds
        self._used = 0
        self._tenant_used: dict[str | None, int] = {}
        self._waiters = 0
        # Tenants with requests waiting, in the order they get their next turn.
        self._waiting: OrderedDict[str | None, deque[_Waiter]] = OrderedDict()

    @property
    def used(self) -> int:
        """Bytes admitted and not yet released."""
        return self._used

    @property
    def waiting(self) -> int:
        """Requests waiting for room."""
        return self._waiters

    def _count_waiter(self, change: int) -> None:
        self._waiters += change
        metrics.WRITE_BACKLOG_WAITING.set(self._waiters)

    @contextlib.asynccontextmanager
    async def admitted(self, tenant: str | None, size: int) -> AsyncIterator[Hold]:
        """Hold `size` bytes of the budget for the block; wait for room in
        turn, or raise TooManyRequests after the wait allowed."""
        size = min(size, self._tenant_limit)
        if (tenant not in self._waiting and self._fits(tenant, size)
                and not self._worker_full_for_others()):
            self._take(tenant, size)
        else:
            await self._wait_turn(tenant, size)
        hold = Hold(self, tenant, size)
        try:
            yield hold
        finally:
            self._take(tenant, -hold.size)
            self._let_in()

    def _shrink(self, hold: Hold, size: int) -> None:
        if size < hold.size:
            self._take(hold.tenant, size - hold.size)
            hold.size = size
            self._let_in()

    def _worker_fits(self, size: int) -> bool:
        return self._used == 0 or self._used + size <= self._limit

    def _tenant_fits(self, tenant: str | None, size: int) -> bool:
        held = self._tenant_used.get(tenant, 0)
        return held == 0 or held + size <= self._tenant_limit

    def _fits(self, tenant: str | None, size: int) -> bool:
        return self._worker_fits(size) and self._tenant_fits(tenant, size)

    def _worker_full_for_others(self) -> bool:
        """A waiting tenant under its share waits for the worker: it goes first."""
        return any(self._tenant_fits(t, q[0].size) for t, q in self._waiting.items())

    def _take(self, tenant: str | None, size: int) -> None:
        self._used += size
        held = self._tenant_used.get(tenant, 0) + size
        if held:
            self._tenant_used[tenant] = held
        else:
            self._tenant_used.pop(tenant, None)
        metrics.WRITE_BACKLOG_BYTES.set(self._used)

    async def _wait_turn(self, tenant: str | None, size: int) -> None:
        waiter = _Waiter(size, asyncio.get_running_loop().create_future())
        self._waiting.setdefault(tenant, deque()).append(waiter)
        self._count_waiter(1)
        try:
            await asyncio.wait_for(asyncio.shield(waiter.admitted), self._wait_seconds)
            return
        except TimeoutError:
            if waiter.admitted.done():
                return  # let in just as the wait ran out
            self._give_up(tenant, waiter)
        except asyncio.CancelledError:
            if waiter.admitted.done():
                self._take(tenant, -size)  # let in, but the request is gone
                self._let_in()
            else:
                self._give_up(tenant, waiter)
            raise
        metrics.WRITES_REFUSED_BUSY.labels(
            tenant="(before authentication)" if tenant is None else tenant).inc()
        raise TooManyRequests(
            f"the LRS is taking in as many statements as it can ({self._used} bytes of "
            f"requests in progress on this worker) and this request waited "
            f"{self._wait_seconds:g} s for room; retry later",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)})

    def _give_up(self, tenant: str | None, waiter: _Waiter) -> None:
        waiter.admitted.cancel()
        self._count_waiter(-1)
        queue = self._waiting.get(tenant)
        if queue is not None:
            with contextlib.suppress(ValueError):
                queue.remove(waiter)
            if not queue:
                del self._waiting[tenant]
        self._let_in()  # it may have been the one the others waited behind

    def _let_in(self) -> None:
        """Admit waiting requests while they fit: one per tenant per turn,
        tenants in rotation. A tenant at its share passes its turn; a turn
        that waits for room in the worker blocks the turns after it, so a
        large body is not passed over for ever."""
        admitted = True
        while admitted and self._waiting:
            admitted = False
            for tenant in list(self._waiting):
                queue = self._waiting[tenant]
                waiter = queue[0]
                if not self._tenant_fits(tenant, waiter.size):
                    continue
                if not self._worker_fits(waiter.size):
                    return
                queue.popleft()
                del self._waiting[tenant]
                if queue:
                    self._waiting[tenant] = queue  # to the back of the rotation
                self._take(tenant, waiter.size)
                self._count_waiter(-1)
                waiter.admitted.set_result(None)
                admitted = True
