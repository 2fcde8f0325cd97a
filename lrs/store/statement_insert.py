"""One group commit's SQL: what the StatementWriter runs in a transaction.

Per tenant, in one transaction, in three round trips and COMMIT (each round
trip costs the client more CPU than most statements do):
1. BEGIN and take the tenant's write lock (transaction advisory lock), as one
   simple query: writers of one tenant commit one after another, so `seq`,
   `stored` and commit order agree and a reader paging by seq never misses a
   late commit;
2. LOOKUP which incoming ids exist already (duplicates: equivalent -> skip,
   different -> 409 for that batch), which voiding targets exist, which
   incoming statements an earlier voiding statement targets (IMM-05), and
   the canonical definitions to merge into;
3. WRITE statements, index rows, attachment contents, merged activity
   definitions, and mark voided targets; all by arrays, in one statement.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections import Counter, defaultdict
from typing import Any

import asyncpg

from lrs import metrics
from lrs.errors import Conflict
from lrs.store.db import Query, fetch, fetchrow
from lrs.xapi import jsonparse
from lrs.xapi.definitions import merge_definition
from lrs.xapi.equivalence import statements_equivalent
from lrs.xapi.indexing import StatementIndex, index_key
from lrs.xapi.timestamps import iso

# Namespace of the tenants' write locks (pg_advisory_xact_lock(int, int)).
WRITE_LOCK_SPACE = 0x5354  # "ST"

# After the lock (its own statement: a statement's snapshot is taken when it
# starts, so one that waited for the lock inside would not see the rows of
# the writer it waited for), one query reads all this tenant's batches need:
# - the clock: `stored` strictly increases per tenant, in milliseconds (the
#   precision we return, so `since=<a stored value>` excludes that
#   statement), even if the clock steps back; and seqs for every incoming
#   statement, drawn under the lock (those of duplicates are just skipped);
# - the incoming ids and void targets that exist (duplicates, 409s, voids);
# - the incoming ids an earlier voiding statement targets (IMM-05);
# - the canonical definitions of the incoming activities that carry one
#   (read under the lock, merged and written in this transaction).
LOOKUP = Query("statements.lookup", """
SELECT 'clock' AS kind, NULL::uuid AS id, NULL::bool AS is_voiding, NULL::bytea AS payload,
       greatest(date_trunc('milliseconds', clock_timestamp()),
                (SELECT stored + interval '1 millisecond' FROM statements
                 WHERE tenant_id = $1 ORDER BY seq DESC LIMIT 1)) AS stored,
       ARRAY(SELECT nextval('statements_seq') FROM generate_series(1, $4)) AS seqs,
       NULL::text AS activity_id
UNION ALL
SELECT 'existing', id, is_voiding, payload, NULL, NULL, NULL FROM statements
WHERE tenant_id = $1 AND id = ANY($2::uuid[])
UNION ALL
SELECT DISTINCT 'voided', ref_target, NULL::bool, NULL::bytea, NULL::timestamptz, NULL::bigint[],
       NULL::text
FROM statements WHERE tenant_id = $1 AND ref_target = ANY($3::uuid[]) AND is_voiding
UNION ALL
SELECT 'definition', NULL, NULL, convert_to(definition::text, 'UTF8'), NULL, NULL, activity_id
FROM activities WHERE tenant_id = $1 AND activity_id = ANY($5::text[])""")
# Everything a group writes, in one statement (data-modifying CTEs): the
# statements and their index rows, the voiding of stored targets, attachment
# contents (stored once per tenant and hash) and the merged canonical
# activity definitions. Each CTE over empty arrays writes nothing.
WRITE = Query("statements.insert", """
WITH statement_rows AS (
  INSERT INTO statements (tenant_id, id, seq, stored, verb_id, registration, ref_target,
                          is_voiding, voided, credential, attachment_sha2, payload)
  SELECT $1, u.id, u.seq, $2, u.verb_id, u.registration, u.ref_target, u.is_voiding, u.voided,
         u.credential, CASE WHEN u.sha2 = '' THEN NULL ELSE string_to_array(u.sha2, ' ') END,
         u.payload
  FROM unnest($3::uuid[], $4::bigint[], $5::text[], $6::uuid[], $7::uuid[], $8::bool[],
              $9::bool[], $10::text[], $11::text[], $12::bytea[])
       AS u(id, seq, verb_id, registration, ref_target, is_voiding, voided, credential, sha2,
            payload)),
agent_rows AS (
  INSERT INTO statement_agents (tenant_id, agent_key, seq, direct)
  SELECT $1, u.k, u.s, u.d FROM unnest($13::text[], $14::bigint[], $15::bool[]) AS u(k, s, d)),
activity_rows AS (
  INSERT INTO statement_activities (tenant_id, activity_id, seq, direct)
  SELECT $1, u.k, u.s, u.d FROM unnest($16::text[], $17::bigint[], $18::bool[]) AS u(k, s, d)),
voided_rows AS (
  UPDATE statements SET voided = true
  WHERE tenant_id = $1 AND id = ANY($19::uuid[]) AND NOT is_voiding AND NOT voided
  RETURNING 1),
attachment_rows AS (
  INSERT INTO attachments (tenant_id, sha2, content_type, content)
  SELECT $1, u.h, u.t, u.c FROM unnest($20::text[], $21::text[], $22::bytea[]) AS u(h, t, c)
  ON CONFLICT (tenant_id, sha2) DO NOTHING
  RETURNING octet_length(content) AS bytes),
definition_rows AS (
  INSERT INTO activities (tenant_id, activity_id, definition)
  SELECT $1, u.a, u.d::jsonb FROM unnest($23::text[], $24::text[]) AS u(a, d)
  ON CONFLICT (tenant_id, activity_id)
  DO UPDATE SET definition = EXCLUDED.definition, updated = now())
SELECT (SELECT count(*) FROM voided_rows) AS voided,
       (SELECT coalesce(sum(bytes), 0) FROM attachment_rows) AS attachment_bytes""")


def lock_statement(group: list[WriteBatch]) -> Query:
    """The group's tenant write locks (transaction advisory locks), to run
    right after BEGIN in the same round trip: one statement per tenant, in
    tenant order everywhere, so two writers cannot deadlock. Integers only,
    so the SQL can be sent as text."""
    tenants = sorted({batch.tenant_id for batch in group})
    return Query("statements.lock", "; ".join(
        f"SELECT pg_advisory_xact_lock({WRITE_LOCK_SPACE:d}, {tenant:d})" for tenant in tenants))


@dataclasses.dataclass(slots=True)
class PendingStatement:
    id: str
    statement: dict  # prepared: everything but `stored`
    assign_timestamp: bool  # the client sent none: timestamp = stored
    index: StatementIndex
    definitions: dict[str, dict]  # those that can become canonical (definable)
    attachment_sha2: list[str]


def definable(definitions: dict[str, dict]) -> dict[str, dict]:
    """The activity definitions that can become canonical: an id too long to
    be a btree key (index_key hashes it) gets no canonical definition, and
    readers see the statement's own."""
    return {a: d for a, d in definitions.items() if index_key(a) == a}


@dataclasses.dataclass(slots=True)
class WriteBatch:
    """One request's statements: stored all together or not at all."""
    tenant_id: int
    tenant: str
    credential: str
    version: str
    define: bool  # the credential may update activity definitions (AUTH-09)
    statements: list[PendingStatement]
    attachments: list[tuple[str, str, bytes]] = dataclasses.field(default_factory=list)
    future: asyncio.Future | None = None
    queued_at: float = 0.0
    stored_new: int = 0
    # The `stored` drawn under the tenant's lock for this batch's group:
    # once that transaction commits, every statement stored at or before it
    # is committed (earlier holders of the lock committed first), so it is a
    # truthful Consistent-Through for the answer, with no query.
    consistent_through: dt.datetime | None = None


async def write_group(conn: asyncpg.Connection, group: list[WriteBatch]) -> list[Exception | None]:
    """Write `group` in the caller's transaction, which holds the locks of
    lock_statement(group). One outcome per batch: None or its Conflict."""
    by_tenant: dict[int, list[WriteBatch]] = defaultdict(list)
    for batch in group:
        by_tenant[batch.tenant_id].append(batch)
    outcomes: dict[int, Exception | None] = {}
    for tenant_id in sorted(by_tenant):
        outcomes.update(await _write_tenant(conn, tenant_id, by_tenant[tenant_id]))
    return [outcomes[id(batch)] for batch in group]


async def _write_tenant(conn: asyncpg.Connection, tenant_id: int,
                        batches: list[WriteBatch]) -> dict[int, Exception | None]:
    incoming = [p for b in batches for p in b.statements]
    targets = [p.index.ref_target for p in incoming if p.index.voids]
    ids = [p.id for p in incoming]
    defined = list({a for b in batches if b.define for p in b.statements for a in p.definitions})
    rows = await fetch(conn, LOOKUP, tenant_id, ids + targets, ids, len(incoming), defined)
    clock = next(r for r in rows if r["kind"] == "clock")
    existing = {str(r["id"]): r for r in rows if r["kind"] == "existing"}
    voided_earlier = {str(r["id"]) for r in rows if r["kind"] == "voided"}
    canonical = {r["activity_id"]: r["payload"] for r in rows if r["kind"] == "definition"}

    outcomes: dict[int, Exception | None] = {}
    accepted: dict[str, dict] = {}
    new: list[tuple[WriteBatch, PendingStatement]] = []
    for batch in batches:
        batch.consistent_through = clock["stored"]
        fresh, conflict = _sort_out(batch, existing, accepted)
        outcomes[id(batch)] = conflict
        if conflict is None:
            batch.stored_new = len(fresh)
            for pending in fresh:
                accepted[pending.id] = pending.statement
                new.append((batch, pending))
    if not new:
        return outcomes

    seqs = sorted(clock["seqs"])[:len(new)]
    voided = _voided_on_arrival(new, voided_earlier)
    row = await fetchrow(
        conn, WRITE, tenant_id, clock["stored"],
        *_statement_columns(new, clock["stored"], seqs, voided),
        [p.index.ref_target for _, p in new if p.index.voids and p.index.ref_target in existing],
        *_attachment_columns(batches, outcomes),
        *_merged_definitions([p for b, p in new if b.define], canonical))
    tenant = batches[0].tenant
    for version, count in Counter(batch.version for batch, _ in new).items():
        metrics.STATEMENTS_STORED.labels(tenant=tenant, version=version).inc(count)
    if row["voided"]:
        metrics.VOIDS.labels(tenant=tenant).inc(row["voided"])
    if row["attachment_bytes"]:
        metrics.ATTACHMENT_BYTES.labels(tenant=tenant).inc(row["attachment_bytes"])
    return outcomes


def _sort_out(batch: WriteBatch, existing: dict, accepted: dict[str, dict]
              ) -> tuple[list[PendingStatement], Exception | None]:
    """The statements of `batch` to insert, or the conflict that rejects it.
    xAPI 1.0.3 Communication 2.1.1/2.1.2, 2.0 LRS 4.1.6.1: an id already
    stored changes nothing; equal content is accepted, different is 409."""
    fresh = []
    for pending in batch.statements:
        earlier = accepted.get(pending.id)
        if earlier is None and pending.id in existing:
            earlier = jsonparse.loads(existing[pending.id]["payload"])
        if earlier is None:
            fresh.append(pending)
        elif not statements_equivalent(earlier, pending.statement):
            return [], Conflict(
                f"statement {pending.id} exists with different content", field="id")
    return fresh, None


def _voided_on_arrival(new: list[tuple[WriteBatch, PendingStatement]],
                       voided_earlier: set[str]) -> set[str]:
    """IMM-05: a statement is voided when a voiding statement targets it,
    whichever arrived first; a voiding statement is never voided (IMM-06)."""
    plain = {p.id for _, p in new if not p.index.voids}
    in_this_group = {p.index.ref_target for _, p in new if p.index.voids}
    return (voided_earlier | in_this_group) & plain


def _statement_columns(new: list[tuple[WriteBatch, PendingStatement]], stored: dt.datetime,
                       seqs: list[int], voided: set[str]) -> list[list]:
    """WRITE's $3..$18: the statement rows and their index rows, as arrays."""
    stored_iso = iso(stored)
    columns: list[list] = [[] for _ in range(10)]
    agents: tuple[list, list, list] = ([], [], [])
    activities: tuple[list, list, list] = ([], [], [])
    for (batch, p), seq in zip(new, seqs, strict=True):
        statement = dict(p.statement, stored=stored_iso)
        if p.assign_timestamp:
            statement["timestamp"] = stored_iso
        index = p.index
        row = (p.id, seq, index_key(index.verb), index.registration, index.ref_target,
               index.voids, p.id in voided, batch.credential, " ".join(p.attachment_sha2),
               jsonparse.dumps(statement))
        for column, value in zip(columns, row, strict=True):
            column.append(value)
        for target, mapping in ((agents, index.agents), (activities, index.activities)):
            for key, direct in mapping.items():
                target[0].append(index_key(key))
                target[1].append(seq)
                target[2].append(direct)
    return [*columns, *agents, *activities]


def _attachment_columns(batches: list[WriteBatch], outcomes: dict) -> list[list]:
    """WRITE's $20..$22: the attachment contents of the accepted batches."""
    contents: dict[str, tuple[str, bytes]] = {}
    for batch in batches:
        if outcomes[id(batch)] is None:
            for sha2, content_type, content in batch.attachments:
                contents.setdefault(sha2, (content_type, content))
    return [list(contents), [t for t, _ in contents.values()], [c for _, c in contents.values()]]


def _merged_definitions(statements: list[PendingStatement],
                        canonical: dict[str, bytes]) -> list[list]:
    """WRITE's $23..$24: each statement's activity definitions folded into
    the canonical ones (`canonical`, read by LOOKUP under the lock), in
    store order, written in the same transaction (xAPI 2.0 LRS 4.1.6.4);
    only those that changed."""
    incoming: dict[str, list[dict]] = defaultdict(list)
    for pending in statements:
        for activity_id, definition in pending.definitions.items():
            incoming[activity_id].append(definition)
    merged = {a: jsonparse.loads(canonical[a]) for a in incoming if a in canonical}
    changed: dict[str, dict] = {}
    for activity_id, definitions in incoming.items():
        current = merged.get(activity_id)
        for definition in definitions:
            current = merge_definition(current, _without_nul(definition))
        if current != merged.get(activity_id):
            changed[activity_id] = current
    return [list(changed), [jsonparse.dumps(d).decode() for d in changed.values()]]


def _without_nul(value: Any) -> Any:
    """jsonb cannot hold U+0000, which any JSON string may contain: the
    canonical definition (the LRS's to determine, 2.0 LRS 4.1.6.4) carries
    U+FFFD in its place. The statement itself is stored as sent."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value
