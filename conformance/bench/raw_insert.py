"""The ceiling: how fast PostgreSQL on this machine inserts the rows our LRS
writes for the same statements, with the same indexes, with no HTTP, no
validation, no auth and no duplicate checks.

The rows are made once, before the clock starts, by the LRS's own steps
(lrs.ingest: parse, validate, prepare, index), so they are exactly what a
POST stores: the statement row (payload included) plus its agent and
activity index rows. They go into copies of our tables (`LIKE ... INCLUDING
ALL`: same columns, same indexes) in a scratch schema, from the same number
of concurrent connections as the HTTP run, one transaction per request-sized
chunk, synchronous_commit as the server has it (on). Two ways are timed and
the faster one counts: COPY of each table, and the one INSERT ... unnest
statement the LRS itself uses. This part knows our schema, so it runs
against our own database (the server the benchmark starts, or
--database-url), or, for another LRS, in a scratch embedded PostgreSQL with
our schema, where the copies start empty."""

from __future__ import annotations

import asyncio
import os
import statistics
import time
import uuid
from dataclasses import dataclass

import asyncpg

SCHEMA = "bench_raw"
TABLES = ("statements", "statement_agents", "statement_activities")
STATEMENT_COLUMNS = ("tenant_id", "id", "seq", "stored", "verb_id", "registration", "ref_target",
                     "is_voiding", "voided", "credential", "attachment_sha2", "payload")

INSERT = f"""
WITH s AS (
  INSERT INTO {SCHEMA}.statements
  SELECT $1, u.id, u.seq, now(), u.verb_id, u.registration, u.ref_target, u.is_voiding, false,
         'raw', NULL, u.payload
  FROM unnest($2::uuid[], $3::bigint[], $4::text[], $5::uuid[], $6::uuid[], $7::bool[],
              $8::bytea[]) AS u(id, seq, verb_id, registration, ref_target, is_voiding, payload)),
ag AS (
  INSERT INTO {SCHEMA}.statement_agents
  SELECT $1, u.k, u.s, u.d FROM unnest($9::uuid[], $10::bigint[], $11::bool[]) AS u(k, s, d)),
ac AS (
  INSERT INTO {SCHEMA}.statement_activities
  SELECT $1, u.k, u.s, u.d FROM unnest($12::uuid[], $13::bigint[], $14::bool[]) AS u(k, s, d))
SELECT 1"""


@dataclass
class Row:
    verb_id: str
    registration: uuid.UUID | None
    ref_target: uuid.UUID | None
    is_voiding: bool
    payload: bytes
    agents: list[tuple[str, bool]]
    activities: list[tuple[str, bool]]


@dataclass
class RawResult:
    method: str
    statements: int
    seconds: float
    p50_ms: float
    p99_ms: float
    # CPU a statement, when the caller measured it: PostgreSQL's, and this
    # process's (the raw client: asyncpg and building the chunks).
    postgres_us: float | None = None
    client_us: float | None = None

    @property
    def rate(self) -> float:
        return self.statements / self.seconds


def rows_for(statements: list[dict]) -> list[Row]:
    """What POST /statements would store for these statements (made by the
    LRS's own code; the clock does not run here)."""
    import orjson

    from lrs import ingest
    from lrs.auth.principal import Principal, authority_for, expand
    from lrs.xapi import jsonparse
    from lrs.xapi.indexing import index_key, key_hash

    principal = Principal(tenant_id=0, tenant="raw", credential="raw", scopes=expand(["all"]),
                          authority=authority_for("http://127.0.0.1", "raw"))
    received = ingest.receive(orjson.dumps(statements), "application/json", "2.0.0",
                              max_statements=len(statements))
    batch = ingest.batch(received, version="2.0.0", principal=principal)
    rows = []
    for p in batch.statements:
        index = p.index
        rows.append(Row(
            verb_id=index_key(index.verb),
            registration=uuid.UUID(index.registration) if index.registration else None,
            ref_target=uuid.UUID(index.ref_target) if index.ref_target else None,
            is_voiding=index.voids, payload=jsonparse.dumps(p.statement),
            agents=[(key_hash(k), d) for k, d in index.agents.items()],
            activities=[(key_hash(k), d) for k, d in index.activities.items()]))
    return rows


async def prepare_schema(dsn: str, up_to_seq: int = 0) -> None:
    """Copies of our tables, holding what ours held when the measured
    scenario began (the rows with seq <= `up_to_seq`): inserting into empty
    tables, with small indexes that fit in memory, would flatter the raw
    rate against ours, which wrote into tables already filled by earlier
    scenarios."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE; CREATE SCHEMA {SCHEMA}")
        for table in TABLES:
            await conn.execute(f"CREATE TABLE {SCHEMA}.{table} (LIKE public.{table} INCLUDING ALL)")
            await conn.execute(f"INSERT INTO {SCHEMA}.{table} SELECT * FROM public.{table} "
                               "WHERE seq <= $1 ORDER BY seq", up_to_seq)
    finally:
        await conn.close()


async def drop_schema(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    finally:
        await conn.close()


async def _copy(conn: asyncpg.Connection, tenant: int, chunk: list[Row], seqs: range,
                stored: object) -> None:
    ids = [uuid.UUID(bytes=os.urandom(16), version=4) for _ in chunk]
    statements, agents, activities = [], [], []
    for row, seq, sid in zip(chunk, seqs, ids, strict=True):
        statements.append((tenant, sid, seq, stored, row.verb_id, row.registration, row.ref_target,
                           row.is_voiding, False, "raw", None, row.payload))
        agents.extend((tenant, k, seq, d) for k, d in row.agents)
        activities.extend((tenant, k, seq, d) for k, d in row.activities)
    async with conn.transaction():
        await conn.copy_records_to_table("statements", schema_name=SCHEMA, records=statements,
                                         columns=STATEMENT_COLUMNS)
        await conn.copy_records_to_table("statement_agents", schema_name=SCHEMA, records=agents)
        await conn.copy_records_to_table("statement_activities", schema_name=SCHEMA,
                                         records=activities)


async def _insert(conn: asyncpg.Connection, tenant: int, chunk: list[Row], seqs: range,
                  stored: object) -> None:  # `stored`: the SQL takes now()
    statements: list[list] = [[] for _ in range(7)]
    agents: list[list] = [[], [], []]
    activities: list[list] = [[], [], []]
    for row, seq in zip(chunk, seqs, strict=True):
        values = (uuid.UUID(bytes=os.urandom(16), version=4), seq, row.verb_id, row.registration,
                  row.ref_target, row.is_voiding, row.payload)
        for column, value in zip(statements, values, strict=True):
            column.append(value)
        for target, pairs in ((agents, row.agents), (activities, row.activities)):
            for key, direct in pairs:
                target[0].append(key)
                target[1].append(seq)
                target[2].append(direct)
    async with conn.transaction():
        await conn.execute(INSERT, tenant, *statements, *agents, *activities)


METHODS = {"copy": _copy, "insert": _insert}


async def measure(dsn: str, rows: list[Row], *, method: str, connections: int, per_txn: int,
                  seconds: float) -> RawResult:
    """`connections` connections, each committing chunks of `per_txn` rows
    until `seconds` have passed. Rows cycle; ids and seqs are fresh."""
    write = METHODS[method]
    conns = [await asyncpg.connect(dsn) for _ in range(connections)]
    stored = await conns[0].fetchval("SELECT now()")  # one value, as one group commit has
    latencies: list[float] = []
    counts = [0] * connections
    deadline = time.perf_counter() + seconds

    async def worker(n: int) -> None:
        position = (n * 7919) % len(rows)
        seq = (n + 1) * 10**12 + int(time.time() * 1000) * 1000
        while time.perf_counter() < deadline:
            chunk = [rows[(position + i) % len(rows)] for i in range(per_txn)]
            position = (position + per_txn) % len(rows)
            started = time.perf_counter()
            await write(conns[n], 1, chunk, range(seq, seq + per_txn), stored)
            latencies.append(time.perf_counter() - started)
            seq += per_txn
            counts[n] += per_txn

    started = time.perf_counter()
    try:
        await asyncio.gather(*(worker(n) for n in range(connections)))
    finally:
        elapsed = time.perf_counter() - started
        for conn in conns:
            await conn.close()
    latencies.sort()
    return RawResult(method, sum(counts), elapsed, statistics.median(latencies) * 1000,
                     latencies[int(len(latencies) * 0.99)] * 1000)

