"""The embedded PostgreSQL's own settings (lrs/embedded.py)."""

import asyncio

import asyncpg

from lrs import embedded

MiB = 1024 * 1024


def test_shared_buffers_are_a_quarter_of_memory_between_128mb_and_1gb():
    assert embedded.settings(16 * 1024 * MiB) == {"shared_buffers": "1024MB"}
    assert embedded.settings(2 * 1024 * MiB) == {"shared_buffers": "512MB"}
    assert embedded.settings(256 * MiB) == {"shared_buffers": "128MB"}
    assert embedded.settings(None) == {}  # memory unknown: PostgreSQL's defaults


def _shared_buffers(url: str) -> int:
    async def run() -> int:
        conn = await asyncpg.connect(url)
        try:
            return await conn.fetchval("SELECT pg_size_bytes(current_setting('shared_buffers'))")
        finally:
            await conn.close()
    return asyncio.run(run())


def _alter_system(url: str, sql: str) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()
    asyncio.run(run())


def test_the_server_runs_with_them_from_its_first_start_and_alter_system_wins(tmp_path):
    wanted = embedded.settings(embedded.memory_bytes())["shared_buffers"]
    with embedded.running(tmp_path) as url:
        assert _shared_buffers(url) == int(wanted.removesuffix("MB")) * MiB
        _alter_system(url, "ALTER SYSTEM SET shared_buffers = '200MB'")
    with embedded.running(tmp_path) as url:  # a restart: the operator's choice holds
        assert _shared_buffers(url) == 200 * MiB
    conf = (tmp_path / "pgdata" / "postgresql.conf").read_text().splitlines()
    assert conf.count("include_if_exists = 'lrs.conf'") == 1
