"""What a pooled connection's first group commit costs, with and without the
pool's warm-up (lrs.store.statement_insert.warm_up: one group commit, rolled
back, run on each new connection before it serves).

    python bench/first_write.py [--rounds 5] [--connections 3]

Each round opens a pool of `connections` connections each way (the warm-up
on, then off, or the other way round, alternating), takes them all at once,
and times two single-statement group commits on each in turn (write_group,
as the StatementWriter runs it), in a fresh embedded PostgreSQL. The table gives,
per way, the median over rounds and connections of the first write and of
the second. Wall time, so run it on a quiet machine. Bounded: a few seconds
a round."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg

from lrs import embedded, ingest
from lrs.auth.principal import Principal, authority_for, expand
from lrs.store import migrate, statement_insert, tenants
from lrs.store.db import Database


def _batch(tenant_id: int) -> statement_insert.WriteBatch:
    body = (b'{"actor":{"mbox":"mailto:learner@example.org"},'
            b'"verb":{"id":"http://adlnet.gov/expapi/verbs/completed"},'
            b'"object":{"id":"http://example.org/course/%s",'
            b'"definition":{"name":{"en":"A course"}}}}' % uuid.uuid4().hex.encode())
    principal = Principal(tenant_id=tenant_id, tenant="bench", credential="bench",
                          scopes=expand(["all"]), authority=authority_for("http://127.0.0.1", "k"))
    received = ingest.receive(body, "application/json", "2.0.0", max_statements=1)
    return ingest.batch(received, version="2.0.0", principal=principal)


async def _writes(db: Database, tenant_id: int, connections: int) -> list[tuple[float, float]]:
    """Each connection of the pool in turn (all held at once, so that each
    is another), writing one after the other: no write waits on another's
    hold of the tenant's lock."""
    async with contextlib.AsyncExitStack() as stack:
        held = [await stack.enter_async_context(db.connection()) for _ in range(connections)]
        figures = []
        for conn in held:
            times = []
            for _ in range(2):
                batch = _batch(tenant_id)
                started = time.perf_counter()
                await statement_insert.write_group(conn, [batch])
                times.append((time.perf_counter() - started) * 1000)
            figures.append((times[0], times[1]))
        return figures


async def _measure(url: str, rounds: int, connections: int) -> dict[str, list[tuple[float, float]]]:
    conn = await asyncpg.connect(url)
    try:
        await migrate.apply(conn)
        tenant_id = await tenants.create_tenant(conn, "bench")
    finally:
        await conn.close()
    figures: dict[str, list[tuple[float, float]]] = {"warm-up": [], "none": []}
    for round_ in range(rounds):
        ways = ["warm-up", "none"] if round_ % 2 == 0 else ["none", "warm-up"]
        for way in ways:
            warm_up = statement_insert.warm_up if way == "warm-up" else None
            db = await Database.connect(url, min_size=connections, max_size=connections,
                                        warm_up=warm_up)
            try:
                figures[way] += await _writes(db, tenant_id, connections)
            finally:
                await db.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=3)
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="lrs-first-write-"))
    try:
        with embedded.running(data) as url:
            figures = asyncio.run(_measure(url, args.rounds, args.connections))
    finally:
        shutil.rmtree(data, ignore_errors=True)
    print(f"ms a single-statement group commit on a new pooled connection, median of "
          f"{args.rounds} rounds x {args.connections} connections\n")
    print("| pool | first write | second write |")
    print("|---|---:|---:|")
    for way, pairs in figures.items():
        print(f"| {way} | {statistics.median(p[0] for p in pairs):.2f} | "
              f"{statistics.median(p[1] for p in pairs):.2f} |")


if __name__ == "__main__":
    main()
