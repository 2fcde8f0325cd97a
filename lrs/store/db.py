"""The storage boundary: a pool of asyncpg connections and named queries.

Every query the LRS runs is a `Query` constant in a store module; running it
through `Database` records its latency under its name. Errors of PostgreSQL
are translated here by SQLSTATE class, not by message text."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, NamedTuple

import asyncpg

from lrs import metrics
from lrs.errors import ServiceUnavailable

log = logging.getLogger("lrs.db")

# Errors that mean "the database cannot be reached now", not "this request
# is wrong": answered 503 (lrs.http.errors), so clients and load balancers
# retry instead of reporting a bug. By SQLSTATE class: 08 (connection),
# 57 (operator intervention: shut down, crashed, starting up, cancelled)
# and 53 (insufficient resources: too many connections, disk full). And
# asyncpg's InternalClientError: a pooled connection that received the
# server's FATAL while idle refuses every command with it until the
# connection's close is read (asyncpg issue #784).
UNAVAILABLE = (OSError, TimeoutError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError,
               asyncpg.OperatorInterventionError, asyncpg.InsufficientResourcesError,
               asyncpg.InternalClientError)
RETRY_AFTER = {"Retry-After": "5"}

# Set on every connection at start-up (no round trip). Every read the LRS
# makes is a walk of an index in key order that stops after a page, or a
# probe by key; a bitmap scan reads every match and sorts them. The planner
# picks one when it expects few matches: for a value it has no statistics
# for, as on a tenant bulk-loaded before autovacuum's first ANALYZE (a
# common verb over 100,000 statements: 80-130 ms a page, against 2-8 ms
# walking the verb's index; docs/benchmarks.md). With statistics the pages
# cost the same either way, and lrs_write_statements measured no different.
#
# And no JIT compilation. A server built with LLVM (Debian's and Ubuntu's
# packages, many managed services; not the embedded one) compiles every
# query whose estimated cost passes jit_above_cost, and the read queries'
# estimates do (a page walks an index that, for all the planner knows, it
# reads to the end): on Debian's PostgreSQL 15, a page of a verb or a
# registration over 200,000 statements took 430-480 ms with JIT, of which
# 2-4 ms running it, and the writes' time did not change (docs/benchmarks.md,
# "Session 14"; tests/test_jit.py).
SERVER_SETTINGS = {"application_name": "lrs", "enable_bitmapscan": "off", "jit": "off"}
# What a pooler accepts: PgBouncer refuses startup parameters it does not
# know (08P01, "unsupported startup parameter") unless told to ignore them,
# and knows application_name.
POOLER_SERVER_SETTINGS = {"application_name": "lrs"}
# What connections through such a pooler lack: to be set for the LRS's role,
# or by the pooler on its server connections (docs/operations.md).
POOLER_LACKS = {name: value for name, value in SERVER_SETTINGS.items()
                if name not in POOLER_SERVER_SETTINGS}


class Query(NamedTuple):
    name: str  # a bounded metric label, e.g. "statements.write"
    sql: str


async def _warm(warm_up: Callable[[asyncpg.Connection], Awaitable[None]],
                conn: asyncpg.Connection) -> None:
    """A new connection's warm-up: if it fails for any other reason than
    the database being unavailable, the connection serves cold."""
    try:
        await warm_up(conn)
    except UNAVAILABLE:
        raise
    except Exception as exc:  # noqa: BLE001 - a slower first request, not an outage
        log.warning("a new database connection was not warmed up: %s: %s",
                    type(exc).__name__, exc)


async def _no_session_state(conn: asyncpg.Connection) -> None:
    """What a connection needs before it goes back to the pool: nothing.
    asyncpg's default runs `SELECT pg_advisory_unlock_all(); CLOSE ALL;
    UNLISTEN *; RESET ALL` on every release, a round trip per release
    (three per statement request). The LRS leaves no session state: its
    advisory locks are transaction-level, it never LISTENs, SETs or keeps
    cursors, and an open transaction is still rolled back by asyncpg."""


# How often a worker reports its pool's size (lrs_db_pool_connections):
# asyncpg opens connections as requests need them and closes idle ones, so
# the size taken when the pool opened was soon wrong (4 against 17 open).
POOL_SIZE_REPORT_SECONDS = 1.0


class Database:
    def __init__(self, pool: asyncpg.Pool, timeout: float) -> None:
        self._pool = pool
        self._timeout = timeout
        self._reporter = asyncio.get_running_loop().create_task(self._report_size())

    async def _report_size(self) -> None:
        while True:
            metrics.DB_POOL_SIZE.set(self._pool.get_size())
            await asyncio.sleep(POOL_SIZE_REPORT_SECONDS)

    @classmethod
    async def connect(cls, dsn: str, *, min_size: int = 2, max_size: int = 10,
                      timeout: float = 5, command_timeout: float = 30,
                      statement_cache: int = 100,
                      warm_up: Callable[[asyncpg.Connection], Awaitable[None]] | None = None,
                      ) -> Database:
        """`timeout` bounds connecting and waiting for a pooled connection,
        `command_timeout` each SQL command (LRS_DB_TIMEOUT and
        LRS_DB_COMMAND_TIMEOUT): no request waits on the database for ever.
        `statement_cache` (LRS_DB_STATEMENT_CACHE): 0 behind a pooler that
        cannot carry prepared statements. `warm_up`: run on every new
        connection before it serves (a failure is logged, and it serves
        all the same)."""
        options = dict(min_size=min_size, max_size=max_size,
                       timeout=timeout, command_timeout=command_timeout,
                       statement_cache_size=statement_cache,
                       # Statements are prepared per connection by asyncpg; keep them.
                       max_inactive_connection_lifetime=300,
                       reset=_no_session_state,
                       init=functools.partial(_warm, warm_up) if warm_up else None)
        try:
            pool = await asyncpg.create_pool(dsn, server_settings=SERVER_SETTINGS, **options)
        except asyncpg.ProtocolViolationError as exc:
            # A pooler in front that refuses the setting: serve without it
            # rather than not at all, and say how to get it back.
            log.warning("the database refused the connection settings (%s); connecting "
                        "without %s: set them for the LRS's role instead (%s; "
                        "docs/operations.md)", exc,
                        " and ".join(f"{name}={value}" for name, value in POOLER_LACKS.items()),
                        "; ".join(f"ALTER ROLE ... SET {name} = {value}"
                                  for name, value in POOLER_LACKS.items()))
            pool = await asyncpg.create_pool(dsn, server_settings=POOLER_SERVER_SETTINGS,
                                             **options)
        return cls(pool, timeout)

    async def close(self) -> None:
        self._reporter.cancel()
        await self._pool.close()
        metrics.DB_POOL_SIZE.set(0)

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        started = time.perf_counter()
        try:
            conn = await self._pool.acquire(timeout=self._timeout)
        except UNAVAILABLE as exc:
            raise ServiceUnavailable(f"database unavailable: {type(exc).__name__}",
                                     headers=dict(RETRY_AFTER)) from exc
        metrics.DB_POOL_WAIT.observe(time.perf_counter() - started)
        metrics.DB_POOL_IN_USE.inc()
        try:
            yield conn
        except BaseException as exc:
            if _closed(conn) or isinstance(exc, (TimeoutError, asyncpg.InternalClientError)):
                # Its server went away (a restart, a failover, a terminated
                # session) or does not answer: drop the connection rather than
                # wait on resetting it, and replace the idle ones on their
                # next acquire too: they are likely dead without knowing it
                # yet, and would each hold a request for a command timeout.
                _terminate(conn)
                await self._pool.expire_connections()
            raise
        finally:
            metrics.DB_POOL_IN_USE.dec()
            await self._pool.release(conn)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[asyncpg.Connection]:
        """A transaction on a pooled connection."""
        for attempt in (1, 2):
            conn, began = None, False
            try:
                async with self.connection() as conn:
                    await conn.execute("BEGIN")
                    began = True
                    try:
                        yield conn
                    except BaseException:
                        if not _closed(conn):
                            with contextlib.suppress(Exception):
                                await conn.execute("ROLLBACK")
                        raise
                    # COMMIT of a transaction that failed unnoticed would
                    # answer ROLLBACK: never report that as written.
                    if await conn.execute("COMMIT") != "COMMIT":
                        raise asyncpg.InterfaceError("the transaction was rolled back")
                return
            except UNAVAILABLE as exc:
                # BEGIN is a pooled connection's first use: if it finds the
                # connection dead (it died idle), nothing of the transaction
                # ran, so once more on a fresh connection is safe. Not after
                # a timeout: a server that does not answer would be waited
                # for twice.
                if (began or attempt == 2 or isinstance(exc, TimeoutError)
                        or conn is None or not _closed(conn)):
                    raise

    async def ping(self) -> bool:
        try:
            async with self.connection() as conn:
                return await conn.fetchval("SELECT 1", timeout=2) == 1
        except Exception:  # noqa: BLE001 - readiness is a yes/no question
            return False


def _closed(conn: asyncpg.Connection) -> bool:
    try:
        return conn.is_closed()
    except asyncpg.InterfaceError:
        return True  # asyncpg hands a pooled connection back once it has closed


def _terminate(conn: asyncpg.Connection) -> None:
    with contextlib.suppress(asyncpg.InterfaceError):  # closed and handed back already
        conn.terminate()


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
        metrics.series(metrics.DB_QUERY_DURATION, query.name).observe(time.perf_counter() - started)
