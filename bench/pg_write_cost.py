"""What PostgreSQL spends writing a group of statements: our group commit
(lrs_write_statements, through statement_insert.write_group) against the raw
baseline's COPY and INSERT ... unnest of the same rows (conformance.bench.
raw_insert), on one connection, interleaved, in a fresh embedded PostgreSQL.

    python bench/pg_write_cost.py [--per-group 100] [--rounds 6] [--groups 15]

Prints the backend's user and system CPU per statement (median of the
rounds), read from /proc: the server's share of a write, with no HTTP and no
client CPU in it. Bounded: rounds x groups x 3 writes."""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import shutil
import statistics
import tempfile
from pathlib import Path

import asyncpg
import orjson

from conformance.bench import raw_insert, workload
from lrs import embedded, ingest
from lrs.auth.principal import Principal
from lrs.store import migrate
from lrs.store.statement_insert import write_group


def _backend_cpu(pid: int) -> tuple[float, float]:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


async def measure(url: str, per: int, rounds: int, groups: int) -> dict[str, tuple[float, float]]:
    conn = await asyncpg.connect(url)
    try:
        await migrate.apply(conn)
        tenant = await conn.fetchval("INSERT INTO tenants (name) VALUES ('cost') RETURNING id")
        await raw_insert.prepare_schema(url)
        principal = Principal(tenant, "cost", "cost-key", frozenset({"statements/write", "define"}),
                              {"objectType": "Agent", "mbox": "mailto:platform@example.com"})
        # The load benchmark's statements, without ids (the LRS assigns them).
        n = per * (rounds * groups + 3)
        statements = workload.make_agencies([("cost", "cost")], n, seed=7)[0].statements[:n]
        batches = iter([
            ingest.batch(ingest.receive(orjson.dumps(statements[i:i + per]), "application/json",
                                        "1.0.3", max_statements=per),
                         version="1.0.3", principal=principal)
            for i in range(0, len(statements), per)])
        rows = raw_insert.rows_for(statements)
        chunks = itertools.cycle(range(0, len(rows) - per + 1, per))
        seq = itertools.count(10**12, per)
        stored = await conn.fetchval("SELECT now()")
        pid = await conn.fetchval("SELECT pg_backend_pid()")

        async def ours() -> None:
            assert await write_group(conn, [next(batches)]) == [None]

        def raw(method: str):
            async def write() -> None:
                start, first = next(chunks), next(seq)
                await raw_insert.METHODS[method](conn, tenant, rows[start:start + per],
                                                 range(first, first + per), stored)
            return write

        writers = {"ours (lrs_write_statements)": ours, "raw COPY": raw("copy"),
                   "raw INSERT ... unnest": raw("insert")}
        for _ in range(3):
            await ours()  # plans made, caches warm
        spent: dict[str, list[tuple[float, float]]] = {name: [] for name in writers}
        for _ in range(rounds):
            for name, write in writers.items():
                user, system = _backend_cpu(pid)
                for _ in range(groups):
                    await write()
                after = _backend_cpu(pid)
                n = groups * per
                spent[name].append(((after[0] - user) / n * 1e6, (after[1] - system) / n * 1e6))
        return {name: (statistics.median(u for u, _ in runs), statistics.median(s for _, s in runs))
                for name, runs in spent.items()}
    finally:
        await conn.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--per-group", type=int, default=100)
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--groups", type=int, default=15, help="groups per writer per round")
    args = p.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="lrs-pg-cost-"))
    try:
        with embedded.running(data_dir) as url:
            result = asyncio.run(measure(url, args.per_group, args.rounds, args.groups))
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    print(f"{args.per_group} statements a group, one connection, {os.cpu_count()} cores")
    print("| writer | PostgreSQL user CPU us/statement | system CPU us/statement |")
    print("|---|---:|---:|")
    for name, (user, system) in result.items():
        print(f"| {name} | {user:.1f} | {system:.1f} |")


if __name__ == "__main__":
    main()
