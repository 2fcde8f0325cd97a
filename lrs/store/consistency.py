"""X-Experience-API-Consistent-Through: an instant before which every
statement stored (or to be stored) is retrievable (2.0 LRS 4.1.6.1).

Writers hold their tenant's write lock from drawing `stored` until commit,
and `stored` only grows. So if no writer holds the lock, every statement
with stored <= now() is committed (a later writer will draw a later
stored); if one does, the newest committed `stored` is still a safe answer.
The shared try-lock is released when this one statement ends: it never
delays a writer for longer than that. Run it outside any transaction."""

from __future__ import annotations

import datetime as dt

import asyncpg

from lrs.store.db import Query, fetchval
from lrs.store.statement_insert import WRITE_LOCK_SPACE

CONSISTENT_THROUGH = Query("statements.consistent_through", """
SELECT CASE WHEN pg_try_advisory_xact_lock_shared($1, $2) THEN now()
            ELSE coalesce((SELECT stored FROM statements WHERE tenant_id = $2
                           ORDER BY seq DESC LIMIT 1), 'epoch'::timestamptz) END""")


async def consistent_through(conn: asyncpg.Connection, tenant_id: int) -> dt.datetime:
    return await fetchval(conn, CONSISTENT_THROUGH, WRITE_LOCK_SPACE, tenant_id)
