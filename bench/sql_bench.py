"""Time the page query itself (no HTTP), and compare two query builders on
the same database in the same run; check that they return the same pages.

    git show <before>:lrs/store/statement_reader.py > /tmp/reader_before.py
    python bench/sql_bench.py --data-dir /tmp/bench-lrs --baseline /tmp/reader_before.py
    python bench/sql_bench.py --data-dir /tmp/bench-lrs --explain agent,verb

The same seeded parameters as bench/read_bench.py, parsed by the same code as
the HTTP layer (lrs.xapi.statement_query) into a StatementFilter."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import random
import statistics
import sys
import time
from pathlib import Path

import asyncpg
import orjson

from lrs import embedded
from lrs.store import statement_reader
from lrs.store.statement_reader import StatementFilter
from lrs.xapi import statement_query

sys.path.insert(0, str(Path(__file__).resolve().parent))
import workload


def _load(path: str):
    spec = importlib.util.spec_from_file_location("reader_baseline", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _filter(params: dict) -> tuple[StatementFilter, int]:
    listing = statement_query.parse(params, "2.0.0", page_limit=500)
    return StatementFilter(**listing.filters), listing.limit


def _forced(way: str, *args, **kwargs):
    """The current query with its choice of way (compile_page) replaced."""
    sql, values = statement_reader.compile_page(*args, **kwargs)
    head = "way AS MATERIALIZED (SELECT "
    start = sql.find(head)
    if start >= 0:
        start += len(head)
        end = sql.index(" AS stretch)", start)
        joiner = " OR " if way == "true" else " AND "
        sql = f"{sql[:start]}({sql[start:end]}){joiner}{way}{sql[end:]}"
    return sql, values


async def _time(conn, compile_page, tenant_id, f, limit, after=None):
    sql, args = compile_page(tenant_id, f, after=after, limit=limit)
    started = time.perf_counter()
    rows = await conn.fetch(sql, *args)
    return (time.perf_counter() - started) * 1000, [r["seq"] for r in rows]


async def run(url: str, manifest: dict, args: argparse.Namespace) -> None:
    tenant = manifest["tenants"][args.tenant]
    conn = await asyncpg.connect(url)
    tenant_id = await conn.fetchval("SELECT id FROM tenants WHERE name = $1", tenant["name"])
    builders = {"current": statement_reader.compile_page}
    if args.baseline:
        builders = {"baseline": _load(args.baseline).compile_page, **builders}
    kinds = args.kinds.split(",") if args.kinds else list(workload.KINDS)
    if args.check:
        # Force each of the two ways to find StatementRef referrers.
        for name, way in (("stretch", "true"), ("targets", "false")):
            builders[f"current/{name}"] = lambda *a, way=way, **kw: _forced(way, *a, **kw)
        await check(conn, builders, tenant, tenant_id, kinds, args)
        await conn.close()
        return
    if args.explain:
        for kind in args.explain.split(","):
            params = {**workload.KINDS[kind](tenant, random.Random(f"{args.seed}:{kind}")),
                      "limit": str(args.limit)}
            f, limit = _filter(params)
            for name, compile_page in builders.items():
                sql, values = compile_page(tenant_id, f, after=None, limit=limit)
                plan = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", *values)
                print(f"\n== {kind} [{name}] {params}\n{sql}\n")
                print("\n".join(r[0] for r in plan))
        await conn.close()
        return
    print(f"page query alone, limit {args.limit}, {args.requests} per kind (ms); "
          f"load average {' '.join(f'{x:.2f}' for x in __import__('os').getloadavg())}\n")
    names = list(builders)
    print("| filter | " + " | ".join(f"{n} p50 | {n} p95" for n in names) + " | same pages |")
    print("|---|" + "---:|---:|" * len(names) + "---|")
    for kind in kinds:
        rng = random.Random(f"{args.seed}:{kind}")
        times: dict[str, list[float]] = {n: [] for n in names}
        same = True
        spent = time.perf_counter()
        for i in range(args.warmup + args.requests):
            params = {**workload.KINDS[kind](tenant, rng), "limit": str(args.limit)}
            f, limit = _filter(params)
            seen = []
            # Alternate who goes first, so neither gets the other's warm cache.
            order = names if i % 2 == 0 else names[::-1]
            for name in order:
                ms, seqs = await _time(conn, builders[name], tenant_id, f, limit)
                if i >= args.warmup:
                    times[name].append(ms)
                seen.append(seqs)
            same = same and all(s == seen[0] for s in seen)
            if time.perf_counter() - spent > args.seconds:
                break
        cells = []
        for n in names:
            ordered = sorted(times[n])
            cells.append(f"{statistics.median(ordered):.2f} | "
                         f"{ordered[int(0.95 * (len(ordered) - 1))]:.2f}")
        print(f"| {kind} | " + " | ".join(cells) + f" | {'yes' if same else 'NO'} |", flush=True)
    await conn.close()


async def check(conn, builders, tenant, tenant_id, kinds, args) -> None:
    """Page through --check filters per kind (up to 20 pages each) with every
    builder, small pages, both orders; report any difference."""
    differences = 0
    # Filters that StatementRef referrers match through their targets.
    targets = await conn.fetch(
        "SELECT t.payload FROM statements s JOIN statements t ON t.tenant_id = s.tenant_id "
        "AND t.id = s.ref_target WHERE s.tenant_id = $1 ORDER BY s.seq LIMIT $2",
        tenant_id, args.check)
    via_refs = []
    for row in targets:
        t = orjson.loads(row["payload"])
        actor = {k: v for k, v in t["actor"].items() if k != "name"}
        via_refs += [{"agent": orjson.dumps(actor).decode()}, {"verb": t["verb"]["id"]},
                     {"agent": orjson.dumps(actor).decode(), "related_agents": "true"}]
        if t["object"].get("objectType", "Activity") == "Activity":
            via_refs += [{"activity": t["object"]["id"]},
                         {"activity": t["object"]["id"], "related_activities": "true"}]
        if t.get("context", {}).get("registration"):
            via_refs.append({"registration": t["context"]["registration"]})
    cases = [(k, None) for k in kinds] + [("via StatementRef", p) for p in via_refs]
    for kind, fixed in cases:
        rng = random.Random(f"check:{args.seed}:{kind}")
        for _ in range(args.check if fixed is None else 1):
            params = dict(fixed) if fixed else workload.KINDS[kind](tenant, rng)
            if rng.random() < 0.5:
                params["ascending"] = "true"
            f, _ = _filter({**params, "limit": "7"})
            pages = {}
            for name, compile_page in builders.items():
                after, seen = None, []
                for _ in range(20):
                    _, seqs = await _time(conn, compile_page, tenant_id, f, 7, after)
                    seen.append(seqs[:7])
                    if len(seqs) <= 7:
                        break
                    after = seqs[6]
                pages[name] = seen
            if len({repr(v) for v in pages.values()}) > 1:
                differences += 1
                print(f"DIFFERENT: {kind} {params}")
    print(f"checked {args.check} filters per kind over {len(kinds)} kinds and "
          f"{len(via_refs)} filters matching referrers' targets: {differences} differences")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Time and compare page queries.")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--data-dir")
    where.add_argument("--database-url")
    parser.add_argument("--manifest")
    parser.add_argument("--baseline", help="a statement_reader.py to compare against")
    parser.add_argument("--explain", help="comma-separated kinds: print EXPLAIN ANALYZE")
    parser.add_argument("--kinds")
    parser.add_argument("--check", type=int, default=0,
                        help="compare builders' pages for this many filters per kind")
    parser.add_argument("--tenant", type=int, default=0)
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    manifest_path = args.manifest or (Path(args.data_dir or ".") / "bench-manifest.json")
    manifest = orjson.loads(Path(manifest_path).read_bytes())
    with contextlib.ExitStack() as stack:
        url = args.database_url or stack.enter_context(embedded.running(Path(args.data_dir)))
        asyncio.run(run(url, manifest, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
