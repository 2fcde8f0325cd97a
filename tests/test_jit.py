"""No JIT compilation on the LRS's connections (lrs.store.db.SERVER_SETTINGS),
against a PostgreSQL built with LLVM: Debian's postgresql-15, as many
deployments run. Such a server compiles every query whose estimated cost
passes jit_above_cost, and the page queries' estimates do: a page of a verb
over 200,000 statements took 430-480 ms there, 2-4 ms of it running the
query (docs/benchmarks.md, "Session 14"). The embedded server has no JIT,
so only this server shows it."""

from __future__ import annotations

import asyncpg
import orjson

from lrs.store.db import Database
from tests import live
from tests.conftest import run

# Costed far past jit_above_cost (100,000); only planned, never run.
COSTLY = "SELECT count(*) FROM generate_series(1, 1000000) a, generate_series(1, 1000) b"


async def _compiled(conn: asyncpg.Connection) -> bool:
    """Whether the server would JIT-compile COSTLY on `conn` (EXPLAIN says
    so without running it)."""
    plan = await conn.fetchval(f"EXPLAIN (FORMAT JSON) {COSTLY}")
    return "JIT" in orjson.loads(plan)[0]


@live.MAY_INSTALL
def test_the_lrs_connections_are_not_jit_compiled(postgres15):
    url = f"{postgres15}/lrs"

    async def scenario() -> tuple[bool, bool]:
        plain = await asyncpg.connect(url)
        try:
            server_compiles = await _compiled(plain)
        finally:
            await plain.close()
        db = await Database.connect(url, min_size=1, max_size=1, timeout=10,
                                    command_timeout=30, statement_cache=100)
        try:
            async with db.connection() as conn:
                return server_compiles, await _compiled(conn)
        finally:
            await db.close()

    server_compiles, lrs_compiles = run(scenario())
    assert server_compiles, "this server should JIT-compile a query that costly"
    assert not lrs_compiles
