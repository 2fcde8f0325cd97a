"""The statement write path: group commit of validated, prepared batches.

Every write request hands its batch to the process's StatementWriter and
waits. The writer takes whatever batches are waiting, writes them in one
transaction (lrs.store.statement_insert) and answers each request after the
commit: one WAL flush for many requests. Batches wait in one queue per
tenant. A tenant's transactions run one after another anyway (they hold its
write lock), so a tenant being written is passed over until its transaction
ends. A group is what the tenant waiting longest has waiting, up to
`max_group` statements, and, while that is small, what other tenants have
waiting, up to `SHARED_GROUP` statements in all: one call for several
agencies' single statements costs PostgreSQL little more than one agency's
(migrations/0017), whereas a large group goes alone, so that no tenant's few
statements wait for another's thousand. A transaction waits only for the
write lock of the tenant waiting longest: a batch of another tenant whose
lock another worker holds goes back to its queue (TenantBusy). Up to
`max_transactions` transactions run at once. With `patience`, a
transaction starts beside others only once the one started last has run
that long (_Slots): fewer, larger commits while they are quick, and no
tenant held back longer than that behind a slow one. Each request's batch
stays all-or-nothing: conflicts are decided per batch before anything is
inserted, under the tenants' write locks, so a 409 for one request does not
touch the others in its group.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque

import asyncpg

from lrs import metrics
from lrs.errors import LRSError, ServiceUnavailable
from lrs.store.db import RETRY_AFTER, UNAVAILABLE, Database
from lrs.store.statement_insert import TenantBusy, WriteBatch, write_group

log = logging.getLogger("lrs.writer")

_RETRYABLE = (asyncpg.SerializationError, asyncpg.DeadlockDetectedError)
# Seconds a group commit runs before another may start beside it (_Slots),
# with several workers on a host. The load benchmark's single statements
# with 2 workers on 2 cores shared with PostgreSQL (docs/benchmarks.md,
# "Session 23"): 2,671-2,914 a second at p99 41-47 ms, against 2,214-2,443
# at 57-64 ms without; PostgreSQL's CPU a statement 122-138 us against
# 215-241. 0.005 s left the p99 over 50 ms; 0.015 s served about as many,
# and made an agency beside one flooding the LRS wait longer.
PATIENCE = 0.010
# Most statements a group of several tenants holds: other tenants join the
# group of the one waiting longest only while it stays this small.
SHARED_GROUP = 100


class StatementWriter:
    def __init__(self, db: Database, *, max_group: int = 1000, max_transactions: int = 4,
                 patience: float = 0.0) -> None:
        self._db = db
        self._max_group = max_group  # statements per transaction, at most
        self._shared_group = min(max_group, SHARED_GROUP)
        self._slots = _Slots(max_transactions, patience)
        # Tenant -> its waiting batches; a tenant's place is where its queue
        # was made, so the one waiting longest comes first.
        self._queues: dict[int, deque[WriteBatch]] = {}
        self._writing: set[int] = set()  # tenants in a transaction now
        self._tasks: set[asyncio.Task] = set()
        self._starter_waiting = False  # a task waits for a slot to start a group
        self._running = False
        # Tenant -> its batches not settled yet (queued or being written),
        # by id(batch): what a read of one of their statements may wait for.
        self._unsettled: dict[int, dict[int, WriteBatch]] = {}

    async def start(self) -> None:
        self._running = True

    async def stop(self) -> None:
        """Write what is queued, then stop (graceful shutdown)."""
        self._running = False
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def queued(self) -> int:
        """Batches waiting for a transaction (not those being written)."""
        return sum(len(queue) for queue in self._queues.values())

    async def write(self, batch: WriteBatch) -> int:
        """Store the batch; return how many statements were new. Raises
        Conflict when an id exists with different content."""
        if not self._running:
            raise LRSError("the statement writer is not running")
        batch.future = asyncio.get_running_loop().create_future()
        batch.queued_at = time.perf_counter()
        unsettled = self._unsettled.setdefault(batch.tenant_id, {})
        unsettled[id(batch)] = batch
        batch.future.add_done_callback(lambda _: self._forget(batch))
        self._queues.setdefault(batch.tenant_id, deque()).append(batch)
        self._start_when_ready()
        # The writer owns the outcome: if the client goes away, the batch
        # is still committed or not as a whole.
        return await asyncio.shield(batch.future)

    def _forget(self, batch: WriteBatch) -> None:
        unsettled = self._unsettled.get(batch.tenant_id, {})
        unsettled.pop(id(batch), None)
        if not unsettled:
            self._unsettled.pop(batch.tenant_id, None)

    async def settled(self, tenant_id: int, statement_id: str) -> bool:
        """Wait until no batch of this worker that holds `statement_id` is
        still queued or being written; whether there was one. A client that
        reads a statement while its write is still in flight (ADL's suite
        does, conformance/README.md) then finds it, if the write succeeds."""
        waiting = [batch.future for batch in self._unsettled.get(tenant_id, {}).values()
                   if batch.future is not None
                   and any(p.id == statement_id for p in batch.statements)]
        if waiting:
            await asyncio.wait(waiting)
        return bool(waiting)

    def _start_when_ready(self) -> None:
        """Have one task wait for a slot while some tenant not being written
        has batches waiting: when it gets one, it takes what they have."""
        if self._starter_waiting or not any(
                tenant not in self._writing for tenant in self._queues):
            return
        self._starter_waiting = True
        task = asyncio.create_task(self._write_next_group(), name="statement-writer")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _write_next_group(self) -> None:
        group: list[WriteBatch] = []
        waiting = True
        try:
            async with self._slots:
                # Taken once a slot is free: what arrived meanwhile joins.
                self._starter_waiting = waiting = False
                group = self._take()
                self._start_when_ready()  # for those that did not fit
                if group:
                    await self._commit(group)
        except BaseException as exc:
            # A bug or a cancellation: no request may wait forever.
            failure = exc if isinstance(exc, Exception) else LRSError("the statement writer stopped")
            for batch in group:
                _settle(batch, failure)
            if not isinstance(exc, Exception):
                raise
            log.exception("statement writer failed")
        finally:
            if waiting:  # cancelled while waiting for a slot
                self._starter_waiting = False
            self._writing.difference_update(batch.tenant_id for batch in group)
            self._start_when_ready()

    def _take(self) -> list[WriteBatch]:
        """A group, in arrival order per tenant: what the tenant waiting
        longest has waiting, up to max_group statements (a larger batch still
        goes, alone), then while the group stays within shared_group, what
        other tenants have waiting. Its tenants are marked as being written."""
        group: list[WriteBatch] = []
        size = 0
        for tenant, queue in self._queues.items():
            if tenant in self._writing:
                continue
            limit = self._shared_group if group else self._max_group
            if group and size + len(queue[0].statements) > limit:
                continue
            while queue and (not group or size + len(queue[0].statements) <= limit):
                group.append(queue.popleft())
                size += len(group[-1].statements)
            self._writing.add(tenant)
            if size >= self._shared_group:
                break
        for tenant in {batch.tenant_id for batch in group}:
            if not self._queues[tenant]:
                del self._queues[tenant]
        return group

    async def _commit(self, group: list[WriteBatch]) -> None:
        started = time.perf_counter()
        for batch in group:
            metrics.GROUP_COMMIT_WAIT.observe(started - batch.queued_at)
        outcomes = await self._transaction(group)
        if outcomes is None and len(group) > 1:
            # Something unexpected failed the group: give each batch its own
            # transaction, so one bad batch cannot fail its neighbours.
            for batch in group:
                await self._commit([batch])
            return
        size, busy = sum(len(batch.statements) for batch in group), []
        for batch, outcome in zip(group, outcomes or [], strict=False):
            if isinstance(outcome, TenantBusy):
                busy.append(batch)
                size -= len(batch.statements)
            else:
                _settle(batch, outcome)
        metrics.GROUP_COMMIT_SIZE.observe(size)
        # Another transaction was writing their tenants (another worker's):
        # back to the head of their queues, for a later group.
        metrics.GROUP_COMMIT_BUSY.inc(len(busy))
        for batch in reversed(busy):
            self._queues.setdefault(batch.tenant_id, deque()).appendleft(batch)

    async def _transaction(self, group: list[WriteBatch]) -> list[Exception | None] | None:
        for attempt in range(3):
            try:
                async with self._db.connection() as conn:
                    return await write_group(conn, group)
            except _RETRYABLE:
                await asyncio.sleep(0.01 * (attempt + 1))
            except (ServiceUnavailable, *UNAVAILABLE) as exc:
                # The database is down or stopped answering: each batch on its
                # own would fail alike, the last one after len(group) timeouts.
                # Answer them all now; the next group tries again.
                log.warning("statement group not written, database unavailable: %s",
                            type(exc).__name__)
                _unavailable(group, f"database unavailable: {type(exc).__name__}")
                return []
            except Exception as exc:
                if len(group) == 1:
                    if not isinstance(exc, LRSError):
                        log.exception("statement batch failed")
                    _settle(group[0], exc)
                    return []
                return None
        _unavailable(group, "the database kept refusing the write; retry")
        return []


class _Slots:
    """When a group commit may start: at once when none is in flight; else
    once the one started last has run `patience` seconds, up to `limit` in
    flight (each holds a pooled connection). Waiting groups start in the
    order they came.

    One transaction at a time lets the next tenant's group grow while it
    runs: fewer, larger commits, each with its fixed cost (a call, a WAL
    flush). A slow one (a tenant's 1,000-statement batches) still holds no
    other tenant back for longer than `patience`."""

    def __init__(self, limit: int, patience: float) -> None:
        self._limit, self._patience = limit, patience
        self._in_flight = 0
        self._newest = 0.0  # when the last one started (the loop's clock)
        self._waiting: deque[asyncio.Future] = deque()
        self._timer: asyncio.TimerHandle | None = None

    async def __aenter__(self) -> None:
        if not self._waiting and self._may_start():
            self._start()
            return
        turn = asyncio.get_running_loop().create_future()
        self._waiting.append(turn)
        self._let_in()
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                await self.__aexit__()  # let in, then cancelled: give it back
            elif turn in self._waiting:  # (_let_in may have passed over it)
                self._waiting.remove(turn)
            raise

    async def __aexit__(self, *exc: object) -> None:
        self._in_flight -= 1
        self._let_in()

    def _may_start(self) -> bool:
        return self._in_flight == 0 or (
            self._in_flight < self._limit
            and asyncio.get_running_loop().time() - self._newest >= self._patience)

    def _start(self) -> None:
        self._in_flight += 1
        self._newest = asyncio.get_running_loop().time()

    def _let_in(self) -> None:
        while self._waiting and self._may_start():
            turn = self._waiting.popleft()
            if not turn.done():
                self._start()
                turn.set_result(None)
        if self._waiting and self._in_flight < self._limit and self._timer is None:
            # The next may start when the newest has run `patience`.
            self._timer = asyncio.get_running_loop().call_at(
                self._newest + self._patience, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._let_in()


def _unavailable(group: list[WriteBatch], message: str) -> None:
    """Answer 503: retry later. Never 200 unless committed; a connection lost
    during COMMIT may still have committed, and a retry with the same ids is
    then accepted as an equal duplicate."""
    for batch in group:
        _settle(batch, ServiceUnavailable(message, headers=dict(RETRY_AFTER)))


def _settle(batch: WriteBatch, outcome: BaseException | None) -> None:
    assert batch.future is not None
    if batch.future.done():
        return
    if outcome is None:
        batch.future.set_result(batch.stored_new)
    else:
        batch.future.set_exception(outcome)
