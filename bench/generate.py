"""Load realistic xAPI statements into an LRS database, for benchmarks.

    python bench/generate.py --data-dir /tmp/bench-lrs --statements 1000000

Statements go through the same steps as POST /xapi/statements:
`ingest.receive` (parse + validate the JSON body), `ingest.batch` (prepare,
index) and the group-commit `StatementWriter`, so what is stored is exactly
what the HTTP path would store. Several tenants (agencies) are loaded
interleaved, as they would arrive; the first one gets `--statements`, the
others `--other-statements` each.

The shapes follow a Moodle-like platform: learners (account or mbox IFIs)
enrol in courses (one registration per enrolment) and work through modules
and lessons: launched / initialized / experienced / answered / progressed /
completed / passed / failed / terminated, with parent and grouping context
activities (module, course, programme), a category (cmi5 profile) on some,
an instructor on some, results with scores. A few statements are voided
later and a few others refer to earlier ones (StatementRef objects).

Deterministic for a given --seed (statement ids included); `stored` is the
clock of the load, as in production. At the end it runs VACUUM ANALYZE (what
autovacuum would do on its own, sooner or later) and writes a manifest JSON
(credentials and sample filter values) for bench/read_bench.py.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import sys
import time
from pathlib import Path

import asyncpg
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root
from conformance.bench.learning import VERBS, Agency
from lrs import accounts, embedded, ingest
from lrs.auth.principal import Principal, authority_for, expand
from lrs.store import migrate, tenants
from lrs.store.db import Database
from lrs.store.statement_writer import StatementWriter

VERSION = "2.0.0"


# -- loading -----------------------------------------------------------------

async def _tenant(conn: asyncpg.Connection, name: str, base_url: str) -> tuple[Principal, dict]:
    if await tenants.find_tenant_id(conn, name) is None:
        await tenants.create_tenant(conn, name)
    cred = await accounts.create_credential(conn, tenant=name, scopes=["all"], label="bench")
    tenant_id = await tenants.tenant_id(conn, name)
    principal = Principal(tenant_id=tenant_id, tenant=name, credential=cred["key"],
                          scopes=expand(["all"]), authority=authority_for(base_url, cred["key"]))
    return principal, cred


def _write_batch(agency: Agency, principal: Principal, size: int):
    statements: list[dict] = []
    while len(statements) < size and agency.made < agency.total:
        statements.extend(agency.session())
    body = orjson.dumps(statements)
    received = ingest.receive(body, "application/json", VERSION, max_statements=10_000)
    return ingest.batch(received, version=VERSION, principal=principal)


async def load(url: str, args: argparse.Namespace) -> dict:
    conn = await asyncpg.connect(url)
    try:
        await migrate.apply(conn)
        names = [f"agency-{chr(ord('a') + i)}" for i in range(1 + args.other_tenants)]
        made = [await _tenant(conn, n, args.base_url) for n in names]
    finally:
        await conn.close()
    sizes = [args.statements] + [args.other_statements] * args.other_tenants
    agencies = [Agency(n, i, s, args.seed) for i, (n, s) in enumerate(zip(names, sizes))]
    db = await Database.connect(url, min_size=2, max_size=4)
    writer = StatementWriter(db)
    await writer.start()
    started = time.perf_counter()
    deadline = started + args.max_seconds
    in_flight: set[asyncio.Task] = set()
    total = sum(sizes)
    done = 0
    last_report = started
    try:
        while True:
            open_ = [i for i, a in enumerate(agencies) if a.made < a.total]
            if not open_ or time.perf_counter() > deadline:
                break
            # Interleave agencies in proportion to what each has left.
            weights = [agencies[i].total - agencies[i].made for i in open_]
            i = random.Random(f"{args.seed}:{done}").choices(open_, weights)[0]
            batch = _write_batch(agencies[i], made[i][0], args.batch)
            done += len(batch.statements)
            in_flight.add(asyncio.ensure_future(writer.write(batch)))
            if len(in_flight) >= args.in_flight:
                finished, in_flight = await asyncio.wait(in_flight,
                                                         return_when=asyncio.FIRST_COMPLETED)
                for task in finished:
                    task.result()
            now = time.perf_counter()
            if now - last_report > 10:
                last_report = now
                print(f"  {done:>9,} / {total:,} statements, "
                      f"{done / (now - started):,.0f}/s", flush=True)
        if in_flight:
            for task in (await asyncio.wait(in_flight))[0]:
                task.result()
    finally:
        await writer.stop()
        await db.close()
    elapsed = time.perf_counter() - started
    print(f"loaded {done:,} statements in {elapsed:,.1f} s: {done / elapsed:,.0f}/s"
          + (" (stopped at --max-seconds)" if done < total else ""), flush=True)

    conn = await asyncpg.connect(url)
    try:
        t = time.perf_counter()
        await conn.execute("VACUUM ANALYZE statements, statement_agents, statement_activities")
        print(f"VACUUM ANALYZE in {time.perf_counter() - t:,.1f} s", flush=True)
        tenants_out = []
        for agency, (principal, cred) in zip(agencies, made, strict=True):
            row = await conn.fetchrow(
                "SELECT count(*) AS n, min(stored) AS lo, max(stored) AS hi FROM statements "
                "WHERE tenant_id = $1", principal.tenant_id)
            tenants_out.append(_manifest_tenant(agency, cred, row))
    finally:
        await conn.close()
    return {"seed": args.seed, "loaded": done, "seconds": round(elapsed, 1),
            "rate": round(done / elapsed), "tenants": tenants_out}


def _manifest_tenant(agency: Agency, cred: dict, row: asyncpg.Record) -> dict:
    """Credentials and filter values that occur in this tenant's data."""
    rng = random.Random(f"manifest:{agency.name}")
    from lrs.xapi.agents import agent_key  # noqa: F401 - the same key the reader uses
    used_learners = sorted({li for li, _ in agency.enrolments})
    learners = [agency.learners[i] for i in rng.sample(used_learners, min(200, len(used_learners)))]
    courses = agency.courses
    lessons = [lesson["id"] for c in courses for m in c["modules"] for lesson in m["lessons"]]
    modules = [m["id"] for c in courses for m in c["modules"]]
    regs = list(agency.enrolments.values())
    return {
        "name": agency.name, "key": cred["key"], "secret": cred["secret"],
        "statements": row["n"],
        "stored_min": row["lo"].isoformat() if row["lo"] else None,
        "stored_max": row["hi"].isoformat() if row["hi"] else None,
        "learners": learners,
        "instructors": agency.instructors,
        "verbs": [v for v in VERBS.values()],
        "lessons": rng.sample(lessons, min(200, len(lessons))),
        "modules": rng.sample(modules, min(100, len(modules))),
        "courses": [c["id"] for c in courses],
        "registrations": rng.sample(regs, min(200, len(regs))),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Load realistic xAPI statements for benchmarks.")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--data-dir", help="embedded PostgreSQL data folder (as `lrs serve`)")
    where.add_argument("--database-url", help="a PostgreSQL URL to load instead")
    parser.add_argument("--statements", type=int, default=1_000_000,
                        help="statements of the first tenant (default 1,000,000)")
    parser.add_argument("--other-tenants", type=int, default=3)
    parser.add_argument("--other-statements", type=int, default=50_000,
                        help="statements of each other tenant (default 50,000)")
    parser.add_argument("--batch", type=int, default=500, help="statements per request")
    parser.add_argument("--in-flight", type=int, default=4, help="batches queued at once")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-seconds", type=float, default=1800,
                        help="stop loading after this long (default 1800)")
    parser.add_argument("--base-url", default="http://127.0.0.1:8300",
                        help="the LRS base URL, for the authority of stored statements")
    parser.add_argument("--manifest", help="where to write the manifest "
                        "(default DATA_DIR/bench-manifest.json, or ./bench-manifest.json)")
    args = parser.parse_args(argv)
    manifest_path = Path(args.manifest or (Path(args.data_dir) / "bench-manifest.json"
                                           if args.data_dir else "bench-manifest.json"))
    with contextlib.ExitStack() as stack:
        url = args.database_url or stack.enter_context(embedded.running(Path(args.data_dir)))
        manifest = asyncio.run(load(url, args))
    manifest_path.parent.mkdir(parents=True, exist_ok=True)
    manifest_path.write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
    print(f"manifest: {manifest_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
