"""Forward-only migrations: `migrations/NNNN_name.sql`, applied in order.

Each file runs once, inside its own transaction, and is recorded with its
SHA-256. A recorded file whose content changed is an error: migrations are
history, not configuration. Concurrent starts (several workers, several
nodes) serialise on a session advisory lock."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from importlib import resources
from pathlib import Path

import asyncpg

from lrs.errors import LRSError

# Any constant works; it only has to be the same in every process.
_LOCK_KEY = 0x4C52_535F  # "LRS_"

_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     integer PRIMARY KEY,
    name        text NOT NULL,
    checksum    text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
)"""
_APPLIED = "SELECT version, name, checksum FROM schema_migrations ORDER BY version"
_RECORD = "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)"

_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class MigrationError(LRSError):
    code = "migration_error"


@dataclasses.dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def migrations_dir() -> Path:
    """The source tree's `migrations/`, or the copy packaged inside `lrs`."""
    source = Path(__file__).resolve().parents[2] / "migrations"
    if source.is_dir():
        return source
    return Path(str(resources.files("lrs") / "migrations"))


def discover(directory: Path | None = None) -> list[Migration]:
    directory = directory or migrations_dir()
    found: list[Migration] = []
    for path in sorted(directory.glob("*.sql")):
        match = _FILE_NAME.match(path.name)
        if match is None:
            raise MigrationError(f"migration file {path.name!r} is not named NNNN_name.sql")
        found.append(Migration(int(match.group(1)), match.group(2), path.read_text()))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError("two migration files share a number")
    return found


async def apply(conn: asyncpg.Connection, migrations: list[Migration] | None = None) -> list[Migration]:
    """Apply pending migrations; return the ones applied by this call."""
    migrations = discover() if migrations is None else migrations
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
    try:
        await conn.execute(_CREATE_TABLE)
        applied = {row["version"]: row for row in await conn.fetch(_APPLIED)}
        for migration in migrations:
            row = applied.get(migration.version)
            if row is not None and row["checksum"] != migration.checksum:
                raise MigrationError(
                    f"migration {migration.version:04d}_{row['name']}.sql was changed after it "
                    "was applied; migrations are forward-only: add a new file instead")
        done = []
        for migration in migrations:
            if migration.version in applied:
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(_RECORD, migration.version, migration.name, migration.checksum)
            done.append(migration)
        return done
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)


async def any_applied(conn: asyncpg.Connection) -> bool:
    """Whether the database holds an LRS already (any migration applied)."""
    if not await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL"):
        return False
    return bool(await conn.fetchval("SELECT EXISTS (SELECT FROM schema_migrations)"))


async def gather_statistics(conn: asyncpg.Connection) -> None:
    """ANALYZE the whole database: after a bulk load (a restore) PostgreSQL
    has no statistics until autovacuum comes round, and plans reads blind."""
    await conn.execute("ANALYZE")


async def pending(conn: asyncpg.Connection) -> list[Migration]:
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    done = {r["version"] for r in await conn.fetch(_APPLIED)} if exists else set()
    return [m for m in discover() if m.version not in done]
