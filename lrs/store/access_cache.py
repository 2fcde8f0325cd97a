"""Who a credential is, cached per process, and forgotten the moment access
data changes anywhere.

Every request authenticates, and the look-up (credential, token's tenant,
trusted issuer) is a round trip of its own. Access data changes rarely, so
each process keeps what it looked up, and empties the cache whenever a
trigger (migration 0006) notifies `lrs_access`: a revocation, a rotated
secret, a changed rate limit or issuer is seen by every process and every
node within the notification's delivery time, not after a timeout.

While the listening connection is down nothing is cached or served from the
cache (a notification could be missed), so every request asks the database
as it would without the cache. A generation count keeps a look-up that
raced a change from being cached with the old answer."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

import asyncpg

log = logging.getLogger("lrs.access_cache")

CHANNEL = "lrs_access"


class AccessCache:
    def __init__(self, dsn: str, *, ttl: float = 300.0, max_entries: int = 100_000,
                 reconnect_seconds: float = 1.0) -> None:
        # The TTL is a backstop only; notifications do the real work.
        self._dsn, self._ttl, self._max = dsn, ttl, max_entries
        self._reconnect_seconds = reconnect_seconds
        self._entries: dict[Hashable, tuple[float, Any]] = {}
        self._generation = 0
        self._conn: asyncpg.Connection | None = None
        self._task: asyncio.Task | None = None

    @property
    def listening(self) -> bool:
        return self._conn is not None and not self._conn.is_closed()

    async def start(self) -> None:
        if self._ttl <= 0:
            return  # switched off: every look-up asks the database
        await self._listen()
        self._task = asyncio.create_task(self._keep_listening())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close(timeout=2)
        self._conn = None

    async def get(self, key: Hashable, load: Callable[[], Awaitable[Any]]) -> Any:
        """`load()`'s answer for `key`, from the cache when it is trustworthy.
        None answers (unknown key) are not kept."""
        if self.listening:
            entry = self._entries.get(key)
            if entry is not None and time.monotonic() - entry[0] < self._ttl:
                return entry[1]
        generation = self._generation
        value = await load()
        if value is not None and self.listening and generation == self._generation:
            if len(self._entries) >= self._max:
                self._entries.clear()
            self._entries[key] = (time.monotonic(), value)
        return value

    def forget(self, *_: object) -> None:
        self._generation += 1
        self._entries.clear()

    async def _listen(self) -> None:
        try:
            conn = await asyncpg.connect(self._dsn, timeout=5,
                                         server_settings={"application_name": "lrs-listen"})
            conn.add_termination_listener(self.forget)
            await conn.add_listener(CHANNEL, self.forget)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            log.warning("access cache off: cannot listen for changes (%s)", type(exc).__name__)
            return
        # Whatever changed while nobody listened is forgotten too.
        self.forget()
        self._conn = conn

    async def _keep_listening(self) -> None:
        while True:
            await asyncio.sleep(self._reconnect_seconds)
            if self.listening:
                # A connection can die without telling (a dropped network
                # path): one that does not answer is treated as lost.
                try:
                    await self._conn.fetchval("SELECT 1", timeout=self._reconnect_seconds * 2)
                    continue
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
                    self._conn.terminate()
            self._conn = None
            self.forget()
            await self._listen()
