"""The statement write path: group commit of validated, prepared batches.

Every write request hands its batch to the process's one StatementWriter and
waits. The writer takes whatever batches are waiting, writes them in one
transaction (lrs.store.statement_insert) and answers each request after the
commit: one WAL flush for many requests. Each request's batch stays
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
    def __init__(self, db: Database, *, max_group: int = 5000) -> None:
        self._db = db
        self._max_group = max_group  # statements per transaction, at most
        self._pending: deque[WriteBatch] = deque()
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="statement-writer")

    async def stop(self) -> None:
        """Write what is queued, then stop (graceful shutdown)."""
        if self._task is not None:
            self._stopping = True
            self._wakeup.set()
            await self._task
            self._task = None

    async def write(self, batch: WriteBatch) -> int:
        """Store the batch; return how many statements were new. Raises
        Conflict when an id exists with different content."""
        if self._task is None or self._task.done() or self._stopping:
            raise LRSError("the statement writer is not running")
        batch.future = asyncio.get_running_loop().create_future()
        batch.queued_at = time.perf_counter()
        self._pending.append(batch)
        self._wakeup.set()
        # The writer owns the outcome: if the client goes away, the batch
        # is still committed or not as a whole.
        return await asyncio.shield(batch.future)

    async def _run(self) -> None:
        while True:
            if not self._pending:
                if self._stopping:
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            # Whatever waits, in arrival order, up to max_group statements
            # (a larger batch still goes, alone).
            group = [self._pending.popleft()]
            size = len(group[0].statements)
            while self._pending and size + len(self._pending[0].statements) <= self._max_group:
                group.append(self._pending.popleft())
                size += len(group[-1].statements)
            await self._commit(group)

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
                async with self._db.transaction() as conn:
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
