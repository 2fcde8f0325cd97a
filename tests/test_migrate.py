"""Migrations: applied once, in order, recorded; a changed file is refused."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from lrs.store import migrate
from lrs.store.migrate import Migration, MigrationError


async def _with_conn(url, job):
    conn = await asyncpg.connect(url)
    try:
        return await job(conn)
    finally:
        await conn.close()


def test_real_migrations_apply_once(empty_database):
    first = asyncio.run(_with_conn(empty_database, migrate.apply))
    assert [m.version for m in first] == [m.version for m in migrate.discover()]
    again = asyncio.run(_with_conn(empty_database, migrate.apply))
    assert again == []
    pending = asyncio.run(_with_conn(empty_database, migrate.pending))
    assert pending == []


def test_changed_migration_is_an_error(empty_database):
    one = [Migration(1, "first", "CREATE TABLE t1 (id int)")]
    asyncio.run(_with_conn(empty_database, lambda c: migrate.apply(c, one)))
    changed = [Migration(1, "first", "CREATE TABLE t1 (id bigint)")]
    with pytest.raises(MigrationError, match="changed after it was applied"):
        asyncio.run(_with_conn(empty_database, lambda c: migrate.apply(c, changed)))


def test_a_failing_migration_leaves_nothing_behind(empty_database):
    bad = [Migration(1, "ok", "CREATE TABLE good (id int)"),
           Migration(2, "broken", "CREATE TABLE half (id int); SELECT no_such_function()")]
    with pytest.raises(asyncpg.PostgresError):
        asyncio.run(_with_conn(empty_database, lambda c: migrate.apply(c, bad)))

    async def state(conn):
        versions = [r[0] for r in await conn.fetch("SELECT version FROM schema_migrations")]
        half = await conn.fetchval("SELECT to_regclass('half') IS NOT NULL")
        return versions, half

    versions, half = asyncio.run(_with_conn(empty_database, state))
    assert versions == [1]  # the good one stays applied
    assert half is False  # the broken one rolled back whole


def test_concurrent_starts_apply_each_migration_once(empty_database):
    slow = [Migration(1, "slow", "SELECT pg_sleep(0.3); CREATE TABLE once (id int)")]

    async def race():
        async def one():
            return await _with_conn(empty_database, lambda c: migrate.apply(c, slow))
        return await asyncio.gather(one(), one(), one())

    results = asyncio.run(race())
    assert sorted(len(r) for r in results) == [0, 0, 1]


def test_file_names_must_be_numbered(tmp_path):
    (tmp_path / "0001_ok.sql").write_text("SELECT 1")
    (tmp_path / "two.sql").write_text("SELECT 2")
    with pytest.raises(MigrationError, match="NNNN_name.sql"):
        migrate.discover(tmp_path)


def test_cors_origins_stored_before_0019_are_lower_cased(empty_database):
    before = [m for m in migrate.discover() if m.version < 19]

    async def run(conn):
        await migrate.apply(conn, before)
        await conn.execute("INSERT INTO tenants (name, cors_origins) VALUES "
                           "('mixed', '{HTTPS://Learn.Example,\"http://a.example:8080\"}')")
        await migrate.apply(conn)
        return await conn.fetchval("SELECT cors_origins FROM tenants WHERE name = 'mixed'")

    assert asyncio.run(_with_conn(empty_database, run)) == [
        "https://learn.example", "http://a.example:8080"]
