"""What PostgreSQL spends writing a group of statements: our group commit
(lrs_write_statements, through statement_insert.write_group) against the raw
baseline's COPY and INSERT ... unnest of the same rows (conformance.bench.
raw_insert), on one connection, interleaved, in a fresh embedded PostgreSQL.

    python bench/pg_write_cost.py [--per-group 100] [--rounds 6] [--groups 15] [--parts]
                                  [--variant FILE.sql ...] [--held] [--tenants N]

Prints the backend's user and system CPU per statement (median of the
rounds), read from /proc: the server's share of a write, with no HTTP and no
client CPU in it. Bounded: rounds x groups x writers writes.

--parts adds our group commit with one part taken away at a time, in the same
rounds: the verb and credential indexes, the activity definitions, the index
rows (statement_agents and statement_activities). Each is set up before its
rounds and undone after (DROP/CREATE INDEX, the function redefined from
pg_get_functiondef), and its line gives the median of its per-round
differences from ours as deployed: what that part costs.

--variant FILE.sql measures a candidate change the same way: FILE is run
before that writer's groups (a `CREATE OR REPLACE FUNCTION
lrs_write_statements ...` of the same signature) and the deployed function
put back after them. Paired with ours round by round, a difference of a few
us a statement shows through the machine's drift, which moves whole runs by
20% here. Set it against a variant that restates the deployed function
unchanged, not against ours alone: such a copy measured -3.3 and -5.0 us
a statement against ours in two runs (2026-12-01), an effect of its place
in the round.

--held writes every statement once before the rounds, so that every
activity's definition is held, as it is once a platform's courses are
known, and adds ours with no definition left out (the worker's facts about
held definitions, lrs/store/held_definitions.py, not consulted).

--tenants N adds groups of N tenants' statements (per-group / N each),
written as the statement writer puts several tenants' small groups
together, in one call, and as one call per tenant: what a call of several
tenants saves (migrations/0017)."""

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
from lrs.store import migrate, statement_insert
from lrs.store.held_definitions import HeldDefinitions
from lrs.store.statement_insert import write_group


def _backend_cpu(pid: int) -> tuple[float, float]:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


# --parts: (name, SQL that takes the part away, SQL that puts it back).
# The function's own text is edited: each edit must match exactly once, so a
# change to lrs_write_statements that breaks one stops the script, not the
# measurement's meaning.
_STATEMENT_INDEXES = ("statements_verb", "statements_credential")
_INDEX_ROW_INSERTS = """    INSERT INTO statement_agents (tenant_id, agent_hash, seq, direct)
    SELECT p_at_tenants[u.at], u.key, seqs[u.at], u.direct IS TRUE
    FROM jsonb_to_recordset(p_agents) AS u (key uuid, at integer, direct boolean);
    INSERT INTO statement_activities (tenant_id, activity_hash, seq, direct)
    SELECT p_at_tenants[u.at], u.key, seqs[u.at], u.direct IS TRUE
    FROM jsonb_to_recordset(p_activities) AS u (key uuid, at integer, direct boolean);
"""
_NO_DEFINITIONS = ("BEGIN\n", "BEGIN\n    p_definitions := '[]';\n")


async def _deployed_function(conn: asyncpg.Connection) -> str:
    return await conn.fetchval("SELECT pg_get_functiondef('lrs_write_statements'::regproc)")


async def _variants(conn: asyncpg.Connection, files: list[Path]
                    ) -> list[tuple[str, list[str], list[str]]]:
    function = await _deployed_function(conn)
    return [(f"... with {file.name}", [file.read_text()], [function]) for file in files]


async def _parts(conn: asyncpg.Connection) -> list[tuple[str, list[str], list[str]]]:
    function = await _deployed_function(conn)
    indexes = dict(await conn.fetch(
        "SELECT indexname, indexdef FROM pg_indexes WHERE indexname = ANY($1)",
        list(_STATEMENT_INDEXES)))

    def edited(old: str, new: str) -> str:
        assert function.count(old) == 1, f"lrs_write_statements no longer has {old[:40]!r}"
        return function.replace(old, new)

    def without_indexes(names: tuple[str, ...]) -> tuple[list[str], list[str]]:
        return [f"DROP INDEX {n}" for n in names], [indexes[n] for n in names]

    return [
        *((f"... without the index {name}", *without_indexes((name,)))
          for name in _STATEMENT_INDEXES),
        ("... without the activity definitions", [edited(*_NO_DEFINITIONS)], [function]),
        ("... without the index rows", [edited(_INDEX_ROW_INSERTS, "")], [function]),
    ]


def _principal(tenant_id: int) -> Principal:
    return Principal(tenant_id, f"cost-{tenant_id}", f"cost-key-{tenant_id}",
                     frozenset({"statements/write", "define"}),
                     {"objectType": "Agent", "mbox": "mailto:platform@example.com"})


class _KnowsNothing(HeldDefinitions):
    def facts(self, tenant_id: int) -> None:
        return None


async def measure(url: str, per: int, rounds: int, groups: int, parts: bool = False,
                  variant_files: tuple[Path, ...] = (), held: bool = False, tenants: int = 1
                  ) -> dict[str, tuple[float, float, float | None]]:
    conn = await asyncpg.connect(url)
    try:
        await migrate.apply(conn)
        tenant = await conn.fetchval("INSERT INTO tenants (name) VALUES ('cost') RETURNING id")
        await raw_insert.prepare_schema(url)
        principal = _principal(tenant)
        others = [_principal(await conn.fetchval(
            "INSERT INTO tenants (name) VALUES ($1) RETURNING id", f"cost-{i}"))
            for i in range(1, tenants)] if tenants > 1 else []
        # The load benchmark's statements, without ids (the LRS assigns them).
        variants = [*(await _parts(conn) if parts else []),
                    *await _variants(conn, list(variant_files))]
        n = per * (rounds * (groups + 2) * (1 + len(variants) + int(held) + 2 * int(tenants > 1))
                   + 3)
        statements = workload.make_agencies([("cost", "cost")], n, seed=7)[0].statements[:n]

        def ingested(by: Principal = principal, size: int = per) -> list:
            # the LRS assigns new ids each time
            return [ingest.batch(ingest.receive(orjson.dumps(statements[i:i + size]),
                                                "application/json", "1.0.3", max_statements=size),
                                 version="1.0.3", principal=by)
                    for i in range(0, len(statements), size)]

        if held:
            for batch in ingested():
                await write_group(conn, [batch])
        batches = iter(ingested())
        if others:
            # Each tenant's own iterator of per/N-statement batches; held as
            # ours are when --held (the same statements, so the same courses).
            size = max(1, per // tenants)
            per_tenant = [iter(ingested(by, size)) for by in (principal, *others)]
            if held:
                for by in others:
                    for batch in ingested(by):
                        await write_group(conn, [batch])

            async def tenants_in_one_call() -> None:
                group = [next(i) for i in per_tenant]
                assert await write_group(conn, group) == [None] * len(group)

            async def a_call_per_tenant() -> None:
                for i in per_tenant:
                    assert await write_group(conn, [next(i)]) == [None]
        rows = raw_insert.rows_for(statements)
        chunks = itertools.cycle(range(0, len(rows) - per + 1, per))
        seq = itertools.count(10**12, per)
        stored = await conn.fetchval("SELECT now()")
        pid = await conn.fetchval("SELECT pg_backend_pid()")

        async def ours() -> None:
            assert await write_group(conn, [next(batches)]) == [None]

        async def ours_sending_every_definition() -> None:
            kept, statement_insert.HELD = statement_insert.HELD, _KnowsNothing()
            try:
                await ours()
            finally:
                statement_insert.HELD = kept

        def raw(method: str):
            async def write() -> None:
                start, first = next(chunks), next(seq)
                await raw_insert.METHODS[method](conn, tenant, rows[start:start + per],
                                                 range(first, first + per), stored)
            return write

        # name -> (write, SQL before its groups, SQL after them)
        writers = {"ours (lrs_write_statements)": (ours, [], []), "raw COPY": (raw("copy"), [], []),
                   "raw INSERT ... unnest": (raw("insert"), [], [])}
        writers.update((name, (ours, off, on)) for name, off, on in variants)
        if held:
            writers["... with every definition sent"] = (ours_sending_every_definition, [], [])
        if others:
            writers[f"... {tenants} tenants a group, in one call"] = (tenants_in_one_call, [], [])
            writers[f"... {tenants} tenants a group, a call per tenant"] = (a_call_per_tenant, [],
                                                                             [])
        for _ in range(3):
            await ours()  # plans made, caches warm
        spent: dict[str, list[tuple[float, float]]] = {name: [] for name in writers}
        for _ in range(rounds):
            for name, (write, before, after_sql) in writers.items():
                for sql in before:
                    await conn.execute(sql)
                if before:
                    for _ in range(2):
                        await write()  # planned again without the part
                user, system = _backend_cpu(pid)
                for _ in range(groups):
                    await write()
                after = _backend_cpu(pid)
                for sql in after_sql:
                    await conn.execute(sql)
                n = groups * per
                spent[name].append(((after[0] - user) / n * 1e6, (after[1] - system) / n * 1e6))
        ours_user = [u for u, _ in spent["ours (lrs_write_statements)"]]
        return {name: (statistics.median(u for u, _ in runs), statistics.median(s for _, s in runs),
                       statistics.median(u - o for (u, _), o in zip(runs, ours_user, strict=True))
                       if name.startswith("...") else None)
                for name, runs in spent.items()}
    finally:
        await conn.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--per-group", type=int, default=100)
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--groups", type=int, default=15, help="groups per writer per round")
    p.add_argument("--parts", action="store_true",
                   help="also ours without each of its costly parts (see above)")
    p.add_argument("--variant", type=Path, action="append", default=[], metavar="FILE.sql",
                   help="also ours redefined by FILE.sql (see above); may be repeated")
    p.add_argument("--held", action="store_true",
                   help="every activity held before the rounds, and ours sending every "
                        "definition (see above)")
    p.add_argument("--tenants", type=int, default=1,
                   help="also groups of N tenants' statements, in one call and in a call per "
                        "tenant (see above)")
    args = p.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="lrs-pg-cost-"))
    try:
        with embedded.running(data_dir) as url:
            result = asyncio.run(measure(url, args.per_group, args.rounds, args.groups,
                                         args.parts, tuple(args.variant), args.held,
                                         args.tenants))
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    print(f"{args.per_group} statements a group, one connection, {os.cpu_count()} cores")
    print("| writer | PostgreSQL user CPU us/statement | system CPU us/statement "
          "| user CPU against ours, median of the rounds' differences |")
    print("|---|---:|---:|---:|")
    for name, (user, system, difference) in result.items():
        against = "" if difference is None else f"{difference:+.1f}"
        print(f"| {name} | {user:.1f} | {system:.1f} | {against} |")


if __name__ == "__main__":
    main()
