"""WAL segments made in advance, so that commits do not wait for one.

PostgreSQL writes its log into 16 MB segment files. A checkpoint renames
the segments it no longer needs into future ones; when none is left, the
process that fills a segment creates the next one, writing and syncing its
16 MB while every commit waits behind it. On a fresh cluster there are none
to rename: under 2,500 single-statement POSTs a second a segment fills
every 2 s, and each creation held every commit for 50-90 ms (part of the
tail of the benchmark's single statements; docs/benchmarks.md, Session 30).

So the embedded server keeps `min_wal_size` of segments and has them made
once, before the LRS serves: each segment is filled with one small record
and a switch to the next, and a checkpoint then turns them all into future
segments. A cluster that already has them is left as it is. With no pool
asked for (0), the settings a pool made are taken back (release)."""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import AsyncIterator

import asyncpg

log = logging.getLogger("lrs.embedded")

# Not the migrations' lock: this runs before them, in any process that
# starts or joins the embedded server.
_LOCK_KEY = 0x4C52_5357  # "LRSW"

_SEGMENT_BYTES = "SELECT setting::bigint FROM pg_settings WHERE name = 'wal_segment_size'"
_SEGMENTS = r"SELECT count(*) FROM pg_ls_waldir() WHERE name ~ '^[0-9A-F]{24}$'"
_SETTING_MB = ("SELECT setting::bigint * pg_size_bytes('1' || coalesce(unit, 'B')) / 1048576 "
               "FROM pg_settings WHERE name = $1")
# The pool's settings where ensure() made them (ALTER SYSTEM writes
# postgresql.auto.conf).
_POOL_SETTINGS = ("SELECT name FROM pg_file_settings WHERE name IN ('min_wal_size', "
                  "'max_wal_size') AND sourcefile LIKE '%/postgresql.auto.conf'")
# A switch with nothing written since the last one is a no-op: each needs a
# record first (not transactional, so no transaction is made for it).
_FILL_ONE = "SELECT pg_logical_emit_message(false, 'lrs', 'wal pool'), pg_switch_wal()"


async def ensure(conn: asyncpg.Connection, megabytes: int, *, free_bytes: int) -> int:
    """Keep `megabytes` of WAL segments (min_wal_size, and max_wal_size at
    least twice as much) and make those missing. Returns how many were made.
    `free_bytes`: the space left on the server's disk. When the missing
    segments would take more than half of it, nothing is changed: PostgreSQL
    stops when it cannot write its WAL, and a pool is not worth that.
    Needs a superuser (ALTER SYSTEM, pg_ls_waldir, CHECKPOINT)."""
    async with _pool_lock(conn):
        segment_bytes = await conn.fetchval(_SEGMENT_BYTES)
        missing = math.ceil(megabytes * 1048576 / segment_bytes) - await conn.fetchval(_SEGMENTS)
        if missing > 0 and 2 * missing * segment_bytes > free_bytes:
            log.warning("not making WAL segments in advance: %d MB would be more than half of "
                        "the %d MB free on the data folder's disk (LRS_EMBEDDED_WAL_MB=%d; "
                        "lower it, or 0 to silence this)", missing * segment_bytes // 1048576,
                        free_bytes // 1048576, megabytes)
            return 0
        # A checkpoint keeps at most about max_wal_size / (1 +
        # checkpoint_completion_target) of segments ahead (on PostgreSQL 18,
        # 35 of 64 with max_wal_size = 1 GB): so max_wal_size is raised to
        # twice the pool where it is lower.
        changed = False
        for name, wanted_mb in (("min_wal_size", megabytes), ("max_wal_size", 2 * megabytes)):
            current = await conn.fetchval(_SETTING_MB, name)
            if current != wanted_mb and (name == "min_wal_size" or current < wanted_mb):
                # ALTER SYSTEM takes no parameters: the value is formatted,
                # from an int.
                await conn.execute(f"ALTER SYSTEM SET {name} = '{int(wanted_mb)}MB'")
                changed = True
        if changed:
            await conn.execute("SELECT pg_reload_conf()")
        if missing <= 0:
            return 0
        log.info("making %d WAL segments in advance (%d MB, once: LRS_EMBEDDED_WAL_MB)",
                 missing, megabytes)
        started = time.monotonic()
        for _ in range(missing):
            await conn.execute(_FILL_ONE)
        await conn.execute("CHECKPOINT")
        log.info("WAL segments made in %.1f s", time.monotonic() - started)
        return missing


async def release(conn: asyncpg.Connection) -> list[str]:
    """Take back the settings a pool made (ALTER SYSTEM RESET), for a
    server asked to keep none: PostgreSQL's defaults apply again, and its
    next checkpoints remove the segments beyond them. Whoever set them with
    ALTER SYSTEM, they go: the embedded server's WAL sizes are the LRS's to
    manage. Returns the settings reset. Needs a superuser, as ensure()
    does."""
    async with _pool_lock(conn):
        names = [row["name"] for row in await conn.fetch(_POOL_SETTINGS)]
        for name in names:
            # A name from the fixed list above, not from outside.
            await conn.execute(f"ALTER SYSTEM RESET {name}")
        if names:
            await conn.execute("SELECT pg_reload_conf()")
            log.info("WAL pool off (LRS_EMBEDDED_WAL_MB=0): %s back to PostgreSQL's defaults",
                     " and ".join(names))
        return names


@contextlib.asynccontextmanager
async def _pool_lock(conn: asyncpg.Connection) -> AsyncIterator[None]:
    """One process at a time changes the pool (session lock, released even
    when the change fails)."""
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
    try:
        yield
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
