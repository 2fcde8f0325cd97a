"""X-Experience-API-Consistent-Through: an instant before which every
statement stored (or to be stored) is retrievable (2.0 LRS 4.1.6.1).

Writers hold their tenant's write lock from drawing `stored` until commit,
and a tenant's `stored` only grows. A `stored` is when the group's newest
request arrived, but never earlier than lrs_stored_lead() (50 ms) before
the clock under the lock (migrations/0018). So if no writer holds the lock,
every statement with a `stored` up to now() less that lead is committed (a
later writer takes the lock later, and draws a later `stored`), and so is
every statement up to the newest committed one; if a writer holds it, the
newest committed `stored` is still a safe answer. The millisecond is
subtracted because `stored` is cut to milliseconds: a later writer's may
fall in the millisecond of now() less the lead, though not before it.
The shared try-lock is released when this one statement ends: it never
delays a writer for longer than that. Run it outside any transaction."""

from __future__ import annotations

import datetime as dt

import asyncpg

from lrs.store.db import Query, fetchval
from lrs.store.statement_insert import WRITE_LOCK_SPACE

CONSISTENT_THROUGH = Query("statements.consistent_through", """
SELECT CASE WHEN pg_try_advisory_xact_lock_shared($1, $2)
            THEN greatest(date_trunc('milliseconds', now() - lrs_stored_lead())
                          - interval '1 millisecond', newest.stored)
            ELSE coalesce(newest.stored, 'epoch'::timestamptz) END
FROM (SELECT (SELECT stored FROM statements WHERE tenant_id = $2
              ORDER BY seq DESC LIMIT 1) AS stored) AS newest""")


async def consistent_through(conn: asyncpg.Connection, tenant_id: int) -> dt.datetime:
    return await fetchval(conn, CONSISTENT_THROUGH, WRITE_LOCK_SPACE, tenant_id)
