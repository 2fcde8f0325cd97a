"""The statement write path: group commit of validated, prepared batches.

Every write request hands its batch to the process's StatementWriter and
waits. Per tenant, the writer takes whatever batches of that tenant are
waiting, writes them in one transaction (lrs.store.statement_insert) and
answers each request after the commit: one WAL flush for many requests.
Tenants are written in parallel, up to `max_transactions` transactions at
once: their writes never wait for each other, whereas one tenant's
transactions run one after another anyway (they hold its write lock), so
one queue per tenant loses nothing. Each request's batch stays
all-or-nothing: conflicts are decided per batch before anything is
inserted, under the tenant's write lock, so a 409 for one request does not
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
from lrs.store.statement_insert import WriteBatch, write_group

log = logging.getLogger("lrs.writer")

_RETRYABLE = (asyncpg.SerializationError, asyncpg.DeadlockDetectedError)


class StatementWriter:
    def __init__(self, db: Database, *, max_group: int = 1000, max_transactions: int = 4) -> None:
        self._db = db
        self._max_group = max_group  # statements per transaction, at most
        # Transactions in flight at once (each holds a pooled connection).
        self._slots = asyncio.Semaphore(max_transactions)
        self._queues: dict[int, deque[WriteBatch]] = {}
        self._drainers: dict[int, asyncio.Task] = {}
        self._running = False

    async def start(self) -> None:
        self._running = True

    async def stop(self) -> None:
        """Write what is queued, then stop (graceful shutdown)."""
        self._running = False
        while self._drainers:
            await asyncio.gather(*self._drainers.values(), return_exceptions=True)

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
        tenant = batch.tenant_id
        self._queues.setdefault(tenant, deque()).append(batch)
        if tenant not in self._drainers:
            self._drainers[tenant] = asyncio.create_task(self._drain(tenant),
                                                         name=f"statement-writer-{tenant}")
        # The writer owns the outcome: if the client goes away, the batch
        # is still committed or not as a whole.
        return await asyncio.shield(batch.future)

    async def _drain(self, tenant: int) -> None:
        """Write one tenant's queue, group after group, until it is empty."""
        queue = self._queues[tenant]
        group: list[WriteBatch] = []
        try:
            while queue:
                async with self._slots:
                    # Taken once a slot is free: what arrived meanwhile joins.
                    group = self._take(queue)
                    await self._commit(group)
                    group = []
        except BaseException as exc:
            # A bug or a cancellation: no request may wait forever.
            failure = exc if isinstance(exc, Exception) else LRSError("the statement writer stopped")
            for batch in (*group, *queue):
                _settle(batch, failure)
            queue.clear()
            if not isinstance(exc, Exception):
                raise
            log.exception("statement writer failed")
        finally:
            # No await since `queue` was found empty: nothing was added since.
            del self._drainers[tenant]
            if not queue:
                del self._queues[tenant]

    def _take(self, queue: deque[WriteBatch]) -> list[WriteBatch]:
        """Whatever waits, in arrival order, up to max_group statements (a
        larger batch still goes, alone)."""
        group = [queue.popleft()]
        size = len(group[0].statements)
        while queue and size + len(queue[0].statements) <= self._max_group:
            group.append(queue.popleft())
            size += len(group[-1].statements)
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
        metrics.GROUP_COMMIT_SIZE.observe(sum(len(b.statements) for b in group))
        for batch, outcome in zip(group, outcomes or [], strict=False):
            _settle(batch, outcome)

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
