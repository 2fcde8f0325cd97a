"""The storage boundary: a pool of asyncpg connections and named queries.

Every query the LRS runs is a `Query` constant in a store module; running it
through `Database` records its latency under its name. Errors of PostgreSQL
are translated here by SQLSTATE class, not by message text."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any, NamedTuple

import asyncpg

from lrs import metrics
from lrs.errors import ServiceUnavailable


# Errors that mean "the database cannot be reached now", not "this request
# is wrong": answered 503 (lrs.http.errors), so clients and load balancers
# retry instead of reporting a bug.
UNAVAILABLE = (OSError, TimeoutError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError,
               asyncpg.CannotConnectNowError, asyncpg.AdminShutdownError)


class Query(NamedTuple):
    name: str  # a bounded metric label, e.g. "statements.insert"
    sql: str


async def _no_session_state(conn: asyncpg.Connection) -> None:
    """What a connection needs before it goes back to the pool: nothing.
    asyncpg's default runs `SELECT pg_advisory_unlock_all(); CLOSE ALL;
    UNLISTEN *; RESET ALL` on every release, a round trip per release
    (three per statement request). The LRS leaves no session state: its
    advisory locks are transaction-level, it never LISTENs, SETs or keeps
    cursors, and an open transaction is still rolled back by asyncpg."""


class Database:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @classmethod
    async def connect(cls, dsn: str, *, min_size: int = 2, max_size: int = 10) -> Database:
        pool = await asyncpg.create_pool(
            dsn, min_size=min_size, max_size=max_size,
            # Statements are prepared per connection by asyncpg; keep them.
            max_inactive_connection_lifetime=300,
            server_settings={"application_name": "lrs"},
            reset=_no_session_state,
        )
        metrics.DB_POOL_SIZE.inc(pool.get_size())
        return cls(pool)

    async def close(self) -> None:
        size = self._pool.get_size()
        await self._pool.close()
        metrics.DB_POOL_SIZE.dec(size)

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        started = time.perf_counter()
        try:
            conn = await self._pool.acquire(timeout=30)
        except UNAVAILABLE as exc:
            raise ServiceUnavailable(f"database unavailable: {type(exc).__name__}") from exc
        metrics.DB_POOL_WAIT.observe(time.perf_counter() - started)
        metrics.DB_POOL_IN_USE.inc()
        try:
            yield conn
        finally:
            metrics.DB_POOL_IN_USE.dec()
            await self._pool.release(conn)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[asyncpg.Connection]:
        async with self.connection() as conn, conn.transaction():
            yield conn

    async def ping(self) -> bool:
        try:
            async with self.connection() as conn:
                return await conn.fetchval("SELECT 1", timeout=2) == 1
        except Exception:  # noqa: BLE001 - readiness is a yes/no question
            return False


async def fetch(conn: asyncpg.Connection, query: Query, *args: Any) -> list[asyncpg.Record]:
    with _timed(query):
        return await conn.fetch(query.sql, *args)


async def fetchrow(conn: asyncpg.Connection, query: Query, *args: Any) -> asyncpg.Record | None:
    with _timed(query):
        return await conn.fetchrow(query.sql, *args)


async def fetchval(conn: asyncpg.Connection, query: Query, *args: Any) -> Any:
    with _timed(query):
        return await conn.fetchval(query.sql, *args)


async def execute(conn: asyncpg.Connection, query: Query, *args: Any) -> str:
    with _timed(query):
        return await conn.execute(query.sql, *args)


@contextlib.contextmanager
def _timed(query: Query) -> Any:
    started = time.perf_counter()
    try:
        yield
    finally:
        metrics.DB_QUERY_DURATION.labels(query=query.name).observe(time.perf_counter() - started)
