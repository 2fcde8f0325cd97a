"""The app factory. The lifespan owns every resource: the pool opens at
startup and closes at shutdown; nothing connects at import time."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import logging
import sys
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route

from lrs import accounts, config, logs, metrics, orphan
from lrs.backlog import WriteBacklog
from lrs.config import Settings
from lrs.errors import ServiceUnavailable, describe
from lrs.http import about, admin, errors, oauth, statements, system
from lrs.http import activities, agents, documents
from lrs.http.cors import CORS, TenantOrigins
from lrs.http.middleware import Observability, TunneledHead, XAPIVersionHeader
from lrs.ratelimit import RateLimiter
from lrs.runtime import Runtime
from lrs.store import statement_insert
from lrs.store.access_cache import AccessCache
from lrs.store.db import UNAVAILABLE, Database
from lrs.store.statement_writer import PATIENCE, StatementWriter

log = logging.getLogger("lrs.app")


def routes() -> list[Route]:
    # Starlette tries the routes in order, a regex each: the busiest first.
    return [
        # Every method RFC 9110 names (HEAD comes with GET): the handler
        # answers those it does not take 405 itself, so that they carry
        # Consistent-Through as all its answers do (STGET-26).
        Route("/xapi/statements", statements.statements,
              methods=["GET", "PUT", "POST", "DELETE", "PATCH", "OPTIONS", "TRACE"]),
        Route("/health", system.health, methods=["GET"]),
        Route("/ready", system.ready, methods=["GET"]),
        Route("/metrics", system.prometheus, methods=["GET"]),
        Route("/xapi/about", about.about, methods=["GET", "POST"]),
        Route("/oauth/token", oauth.token, methods=["POST"]),
        Route("/xapi/activities/state", documents.state,
              methods=["GET", "PUT", "POST", "DELETE"]),
        Route("/xapi/activities/profile", documents.activity_profile,
              methods=["GET", "PUT", "POST", "DELETE"]),
        Route("/xapi/agents/profile", documents.agent_profile,
              methods=["GET", "PUT", "POST", "DELETE"]),
        Route("/xapi/activities", activities.activities, methods=["GET", "POST"]),
        Route("/xapi/agents", agents.agents, methods=["GET", "POST"]),
        *admin.ROUTES,
    ]


def create_app(settings: Settings) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if not settings.database_url:
            raise RuntimeError("create_app needs settings.database_url (lrs serve sets it)")
        db = await _open_database(settings)
        try:
            # Half the pool at most for writes: reads keep connections.
            # Patience (StatementWriter) only where several workers share the
            # host's CPU with the database: one worker is its own bottleneck,
            # and waiting would only add latency.
            writer = StatementWriter(db, max_group=settings.group_commit_max,
                                     max_transactions=max(1, settings.pool_max // 2),
                                     patience=PATIENCE if settings.workers > 1 else 0.0)
            await writer.start()
            access_cache = AccessCache(settings.database_url, ttl=settings.access_cache_seconds)
            await access_cache.start()
            app.state.runtime = Runtime(settings=settings, db=db,
                                        services={"writer": writer,
                                                  "access_cache": access_cache,
                                                  "rate_limiter": RateLimiter.for_this_process(),
                                                  "write_backlog": WriteBacklog(
                                                      settings.write_backlog_bytes,
                                                      settings.write_backlog_wait_seconds),
                                                  "cors_origins": TenantOrigins(db)})
            metrics.mark_build()
            _tune_garbage_collector()
            _tune_allocator()
            # One of `lrs serve --workers N`'s processes: stop with it (lrs.orphan).
            parent = orphan.parent_pid()
            watchdog = (asyncio.create_task(orphan.stop_when_orphaned(parent))
                        if settings.workers > 1 and parent is not None else None)
            try:
                yield
            finally:
                if watchdog is not None:
                    watchdog.cancel()
                # Pending group commits are written before the pool closes.
                await writer.stop()
                await access_cache.stop()
        finally:
            await db.close()
            logs.write_through()

    return Starlette(
        routes=routes(),
        # Outermost first: the version header goes on every answer, 500s too.
        middleware=[Middleware(XAPIVersionHeader), Middleware(Observability),
                    Middleware(CORS), Middleware(TunneledHead)],
        exception_handlers=errors.HANDLERS,
        lifespan=lifespan,
    )


async def _open_database(settings: Settings) -> Database:
    """The pool, and the signing key made if the database has none yet.

    A worker whose database cannot be reached still starts: with no
    connection open, answering 503 until the database is back, as a running
    worker does (docs/operations.md). uvicorn starts a worker in place of one
    that died, and stops the whole server when that start fails (a start
    that fails, it reasons, would fail every time): a worker killed during
    an outage took the LRS down with it, for good. `lrs serve` itself checks
    the database before it starts any worker, so a wrong URL or a database
    down at the first start still stops it, with the reason."""
    options = dict(max_size=settings.pool_max, timeout=settings.db_timeout,
                   command_timeout=settings.db_command_timeout,
                   statement_cache=settings.db_statement_cache,
                   warm_up=statement_insert.warm_up)
    try:
        db = await Database.connect(settings.database_url, min_size=settings.pool_min,
                                    **options)
    except UNAVAILABLE as exc:
        log.warning("the database cannot be reached (%s): this worker starts without "
                    "connections and answers 503 until it can", describe(exc))
        return await Database.connect(settings.database_url, min_size=0, **options)
    try:
        async with db.connection() as conn:
            # Made now if there is none (a fresh database), before any
            # request looks it up (lrs.http.auth.current_signing_key), which
            # makes it otherwise.
            await accounts.signing_key(conn, settings)
    except (*UNAVAILABLE, ServiceUnavailable) as exc:
        log.warning("the database was lost while this worker started (%s)", describe(exc))
    return db


# Collections of the cyclic garbage collector: every 50,000 container
# allocations instead of 700. A 100-statement request allocates ~3,000 dicts
# and lists that live until it is answered, so with the default every request
# set off several collections that walked the live requests again and again:
# in one worker under 100-statement POSTs from 16 connections, 1.7 s of every
# 10 s went to collecting (about 200 young and 16 full collections), 0.03 s
# with these settings, and 6% more statements/s (gc.callbacks timer, two runs
# each). Reference cycles are rare in the request path, so memory does not
# grow between the rarer collections.
GC_THRESHOLDS = (50_000, 20, 100)


def _tune_garbage_collector() -> None:
    # What start-up made (modules, settings, pools) lives until exit: frozen
    # out of the collector's walks altogether.
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


# glibc's malloc serves blocks over its mmap threshold (128 kB at first) with
# fresh mmap()s and gives them back on free: every large buffer of a request
# (a 100-statement body, the JSON and arrays of a group commit, asyncpg's
# message of up to a few MB) was new memory, page-faulted in again each time
# (expensive under a hypervisor). Served from the heap and kept instead, the
# client side of one group-commit call of 800 statements cost 3.3-4.5 us a
# statement instead of 6.6-6.8 (bench probe, two runs each; docs/benchmarks.md
# "Large buffers and the allocator"). The heap then stays at its peak size.
MMAP_THRESHOLD = 64 * 1024 * 1024
TRIM_THRESHOLD = 128 * 1024 * 1024


def _tune_allocator() -> None:
    if sys.platform != "linux":
        return
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # a C library without mallopt
        return
    m_trim_threshold, m_mmap_threshold = -1, -3  # <malloc.h>
    mallopt(m_mmap_threshold, MMAP_THRESHOLD)
    mallopt(m_trim_threshold, TRIM_THRESHOLD)


def app_from_env() -> Starlette:
    """Entry point for uvicorn workers (`lrs serve`): settings from LRS_*."""
    settings = config.load()
    logs.configure(settings.log_level)
    return create_app(settings)
