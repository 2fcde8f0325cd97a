"""One group commit's SQL: what the StatementWriter runs per group.

A group is waiting batches of one tenant or of several (migrations/0017).
Everything that needs no lock is
done here first: duplicates and conflicts within the group, the payloads and
index rows, attachment contents, and each activity's definitions folded
together (leaving out those this worker has seen held: held_definitions).
Then one call of lrs_write_statements (migrations/0007_write_statements.sql;
defined anew by 0009, 0010, 0013, 0014, 0016, 0017), one round trip and one
transaction, takes the tenants' write locks and either
writes it all or, when an incoming id is already stored (duplicates:
equivalent -> skip, different -> 409 for that batch) or a canonical
definition needs a merge it cannot judge, writes nothing and hands back what
it found; the group is then sorted out again, the definitions merged into
those handed back, and the call repeated. The lock makes writers of one
tenant commit one after another, so `seq`, `stored` and commit order agree
and a reader paging by seq never misses a late commit; it is held only for
the call, not across round trips and client work. Only a repeat holds it
across calls (write_group): else other workers could change the same
definitions between every two calls of a group, and its turn might never
come. Whatever is looked up, found or remembered is by tenant and id: two
tenants may use one statement id or activity id.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections import Counter, defaultdict
from typing import Any

import asyncpg
import orjson

from lrs import metrics
from lrs.errors import Conflict, ServiceUnavailable
from lrs.store.db import RETRY_AFTER, Query, fetch, fetchrow
from lrs.store.held_definitions import HELD, TenantFacts, fingerprint
from lrs.xapi import jsonparse
from lrs.xapi.definitions import merge_definitions
from lrs.xapi.equivalence import statements_equivalent
from lrs.xapi.indexing import StatementIndex, index_key, key_hash

# Namespace of the tenants' write locks (pg_advisory_xact_lock(int, int)).
# lrs_write_statements (migrations 0007, 0009, 0010, 0013, 0014, 0016-0018) takes
# the lock with this value written out, 21332: a new value needs a new
# migration of the function too.
WRITE_LOCK_SPACE = 0x5354  # "ST"

# lrs_write_statements (migrations/0007, as 0018 defines it anew): one group's
# writes under its tenants' write locks, in one call and one transaction.
WRITE = Query("statements.write", """
SELECT * FROM lrs_write_statements($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,
                                   $14, $15, $16, $17)""")
# A tenant that lives only inside warm_up's transaction, rolled back.
WARM_UP_TENANT = Query("statements.warm_up_tenant", """
INSERT INTO tenants (name) VALUES ('warm-up.' || replace(gen_random_uuid()::text, '-', ''))
RETURNING id""")
# The tenants' write locks for a whole transaction, in the order given
# (lrs_write_statements takes them again inside: advisory locks nest within
# one transaction).
WRITE_LOCKS = Query("statements.write_lock",
                    "SELECT pg_advisory_xact_lock($1, t) FROM unnest($2::integer[]) AS t")
# A group goes back and forth at most this often. Each extra call means
# another writer stored one of its ids or changed one of its definitions in
# the meantime; from the second call on the group holds its tenant's write
# lock, so nothing changes again and the third call writes (the fourth and
# fifth are to spare).
MAX_CALLS = 5

# A canonical Activity definition grows by merges up to this size, then stays
# as it is: a canonical read repeats it at every mention of its Activity, and
# each merge copies it (fuzz round 4: one grown to 2.3 MB made a 2.5 KB
# statement read back as 233 MB). Real definitions take a few kB.
MAX_DEFINITION_BYTES = 64 * 1024


@dataclasses.dataclass(slots=True)
class PendingStatement:
    id: str
    statement: dict  # prepared: everything but `stored`
    assign_timestamp: bool  # the client sent none: timestamp = stored
    index: StatementIndex
    definitions: dict[str, dict]  # those that can become canonical (definable)
    attachment_sha2: list[str]
    payload: bytes  # stored_payload's


def stored_payload(prepared: dict, *, assign_timestamp: bool) -> bytes:
    """What p_payloads holds of a statement: `prepared` as JSON without a
    timestamp the LRS assigns and without its closing brace (the call
    appends them with `stored`, known only under the lock). Made as soon as
    the statement is prepared, while its objects are in the CPU's caches:
    made when its group was written, after other requests had passed
    through, it took 7% of the worker's samples in the load benchmark's
    batches (~5 us a statement), against ~1 us in a loop."""
    if assign_timestamp:
        prepared = {k: v for k, v in prepared.items() if k != "timestamp"}
    return jsonparse.dumps(prepared)[:-1]


def definable(definitions: dict[str, dict], *, nul_free: bool = False) -> dict[str, dict]:
    """The activity definitions that can become canonical, as they can be
    stored: an id too long to be a btree key (index_key hashes it) gets no
    canonical definition, and readers see the statement's own; U+0000 is
    replaced (see _without_nul) unless the caller knows there is none
    (`nul_free`: the walk costs ~3 us a statement)."""
    return {a: d if nul_free else _without_nul(d)
            for a, d in definitions.items() if index_key(a) == a}


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
    # When its request arrived (time.time(); 0: unknown). A group's `stored`
    # is when its newest request arrived, if its locks came soon enough
    # after (migrations/0018).
    arrived: float = 0.0
    stored_new: int = 0
    # The `stored` drawn under the tenant's lock for this batch's group:
    # once that transaction commits, every statement stored at or before it
    # is committed (earlier holders of the lock committed first), so it is a
    # truthful Consistent-Through for the answer, with no query.
    consistent_through: dt.datetime | None = None


# A statement's or an activity's id within its tenant: what the group is
# sorted out and its definitions merged by.
Key = tuple[int, str]


class TenantBusy(Exception):
    """A batch's outcome when another transaction held its tenant's write
    lock: nothing of it was written, and it goes into a later group."""


async def write_group(conn: asyncpg.Connection, group: list[WriteBatch]) -> list[Exception | None]:
    """Write `group` (batches of one tenant or of several) on `conn`, outside
    a transaction: the first call of lrs_write_statements is one; if others
    wrote some of its ids or definitions meanwhile, the calls that sort it
    out again run in one transaction holding its tenants' write locks. One
    outcome per batch: None, its Conflict, or TenantBusy when another
    transaction was writing its tenant (but for the first batch's tenant,
    which the call waits for)."""
    found: dict[Key, bytes] = {}  # payloads of incoming ids found stored
    canonical: dict[Key, dict | None] = {}  # definitions handed back to merge into
    written = group
    outcomes = await _call(conn, written, found, canonical)
    while isinstance(outcomes, set):  # without the busy tenants' batches
        written = [batch for batch in written if batch.tenant_id not in outcomes]
        outcomes = await _call(conn, written, found, canonical)
    if outcomes is None:
        outcomes = await _call_holding_locks(conn, written, found, canonical)
    decided = dict(zip(map(id, written), outcomes, strict=True))
    return [decided.get(id(batch), _BUSY) for batch in group]


_BUSY = TenantBusy("another transaction was writing the tenant")


async def _call_holding_locks(conn: asyncpg.Connection, group: list[WriteBatch],
                              found: dict[Key, bytes], canonical: dict[Key, dict | None]
                              ) -> list[Exception | None]:
    """The calls that sort `group` out again once others wrote some of its
    ids or definitions, in one transaction holding its tenants' write locks
    (taken in ascending order, so that two such transactions cannot wait for
    each other; a single call holds no lock while it waits, see 0017)."""
    async with conn.transaction():
        await fetch(conn, WRITE_LOCKS, WRITE_LOCK_SPACE, sorted({b.tenant_id for b in group}))
        for _ in range(MAX_CALLS - 1):
            outcomes = await _call(conn, group, found, canonical)
            assert not isinstance(outcomes, set), "its own locks are never busy"
            if outcomes is not None:
                return outcomes
    raise ServiceUnavailable("the statements' ids and definitions kept changing under "
                             "concurrent writes; retry", headers=dict(RETRY_AFTER))


async def _call(conn: asyncpg.Connection, group: list[WriteBatch], found: dict[Key, bytes],
                canonical: dict[Key, dict | None]) -> list[Exception | None] | set[int] | None:
    """One call of lrs_write_statements for what of `group` is still to be
    written: the outcomes; or the tenants whose write locks other
    transactions held (nothing written); or None when others wrote some of
    its ids or definitions first (then `found` and `canonical` hold what
    they wrote)."""
    outcomes, new = _sort_out_group(group, found)
    if not new:
        return [outcomes[id(batch)] for batch in group]
    # The one waiting longest first: the call waits for its lock alone.
    first = new[0][0].tenant_id
    tenants = [first, *sorted({batch.tenant_id for batch, _ in new} - {first})]
    facts = {tenant: HELD.facts(tenant) for tenant in tenants}
    definitions, relied_on, holding = _definitions(
        [(b.tenant_id, p) for b, p in new if b.define], canonical, facts)
    row = await fetchrow(conn, WRITE, *_write_arguments(
        tenants, group, outcomes, new, definitions, [relied_on.get(t) for t in tenants]))
    if row["busy_tenants"]:
        return set(row["busy_tenants"])
    epochs = dict(zip(tenants, row["epochs"], strict=True))
    if row["stored"] is not None:
        for tenant in tenants:
            HELD.learn(tenant, epochs[tenant], holding.get(tenant, {}))
        _count(group, new, row)
        for batch in group:
            if batch.tenant_id in epochs:
                batch.consistent_through = row["stored"]
        return [outcomes[id(batch)] for batch in group]
    for tenant, epoch in relied_on.items():
        if epochs[tenant] != epoch:
            HELD.forget(tenant)  # a definition changed since: send them all
    # Written by others meanwhile: sort out again against what is stored.
    found.update(
        ((tenant, str(statement_id)), payload)
        for tenant, statement_id, payload in zip(row["existing_tenants"] or (),
                                                 row["existing_ids"] or (),
                                                 row["existing_payloads"] or (), strict=True))
    canonical.update(
        ((tenant, activity_id), None if text is None else jsonparse.loads(text))
        for tenant, activity_id, text in zip(row["stale_tenants"] or (), row["stale_ids"] or (),
                                             row["stale_definitions"] or (), strict=True))
    return None


async def warm_up(conn: asyncpg.Connection) -> None:
    """Run one group commit on a new connection, for a tenant made for it,
    and roll it back: so that the first group commits it serves are no
    slower than the others. A connection's first call waited for two things
    (bench/first_write.py; docs/benchmarks.md, "Session 28"): asyncpg
    looking up the statement's array types, 15-20 ms (with a query of its
    own that the server plans afresh on each connection), and PostgreSQL
    compiling lrs_write_statements and planning its statements for that
    connection, about 10 ms more. That was the first groups after a start,
    and after each time the pool grew for a burst (asyncpg closes the
    connections beyond its minimum after 5 minutes idle). Nothing of it
    stays but a tenant id and a `seq` never used; the write lock it takes
    is its own tenant's. Its arguments are made as a group's are."""
    activity = "http://example.org/warm-up"
    statement_id = "00000000-0000-4000-8000-000000000000"
    pending = PendingStatement(
        id=statement_id, statement={"id": statement_id}, assign_timestamp=False,
        index=StatementIndex(verb="http://adlnet.gov/expapi/verbs/experienced",
                             registration=None, ref_target=None, voids=False,
                             agents={"mbox:mailto:warm-up@example.org": True},
                             activities={activity: True}),
        definitions={activity: {"name": {"en": "warm-up"}}}, attachment_sha2=[],
        payload=stored_payload({"id": statement_id}, assign_timestamp=False))
    # On the connection itself, not through lrs.store.db's fetchval and
    # fetchrow: those time each query into the metrics, and a warm-up is no
    # query a request made.
    transaction = conn.transaction()
    await transaction.start()
    try:
        tenant_id = await conn.fetchval(WARM_UP_TENANT.sql)
        batch = WriteBatch(tenant_id=tenant_id, tenant="warm-up", credential="warm-up",
                           version="2.0.0", define=True, statements=[pending])
        definitions, _, _ = _definitions([(tenant_id, pending)], {}, {})
        await conn.fetchrow(WRITE.sql, *_write_arguments(
            [tenant_id], [batch], {id(batch): None}, [(batch, pending)], definitions, [None]))
    finally:
        await transaction.rollback()


def _write_arguments(tenants: list[int], group: list[WriteBatch],
                     outcomes: dict[int, Exception | None],
                     new: list[tuple[WriteBatch, PendingStatement]], definitions: str,
                     epochs: list[int | None]) -> list:
    """lrs_write_statements' arguments, in its parameters' order, for the
    statements `new` of `group` (whose batches have `outcomes`), of
    `tenants` (the one to wait for first); `epochs`: per tenant, the one
    relied on."""
    voiding = [(b.tenant_id, p.index.ref_target) for b, p in new if p.index.voids]
    arrived = max(batch.arrived for batch in group)
    return [tenants, *_statement_columns(new), [t for t, _ in voiding],
            [target for _, target in voiding], *_attachment_columns(group, outcomes),
            definitions, epochs,
            dt.datetime.fromtimestamp(arrived, dt.UTC) if arrived else None]


def _sort_out_group(group: list[WriteBatch], existing: dict[Key, bytes]
                    ) -> tuple[dict[int, Exception | None],
                               list[tuple[WriteBatch, PendingStatement]]]:
    """Each batch's outcome, and the statements to insert, in arrival order."""
    outcomes: dict[int, Exception | None] = {}
    accepted: dict[Key, dict] = {}
    new: list[tuple[WriteBatch, PendingStatement]] = []
    for batch in group:
        fresh, conflict = _sort_out(batch, existing, accepted)
        outcomes[id(batch)] = conflict
        batch.stored_new = 0
        if conflict is None:
            batch.stored_new = len(fresh)
            for pending in fresh:
                accepted[batch.tenant_id, pending.id] = pending.statement
                new.append((batch, pending))
    return outcomes, new


def _count(group: list[WriteBatch], new: list[tuple[WriteBatch, PendingStatement]],
           row: Any) -> None:
    names = {batch.tenant_id: batch.tenant for batch in group}
    for (tenant, version), count in Counter((b.tenant, b.version) for b, _ in new).items():
        metrics.series(metrics.STATEMENTS_STORED, tenant, version).inc(count)
    for column, metric in (("voided", metrics.VOIDS), ("attachment_bytes", metrics.ATTACHMENT_BYTES)):
        for tenant_id, count in (jsonparse.loads(row[column]) if row[column] else {}).items():
            metrics.series(metric, names[int(tenant_id)]).inc(count)


def _sort_out(batch: WriteBatch, existing: dict[Key, bytes], accepted: dict[Key, dict]
              ) -> tuple[list[PendingStatement], Exception | None]:
    """The statements of `batch` to insert, or the conflict that rejects it.
    xAPI 1.0.3 Communication 2.1.1/2.1.2, 2.0 LRS 4.1.6.1: an id already
    stored changes nothing; equal content is accepted, different is 409."""
    fresh = []
    for pending in batch.statements:
        key = (batch.tenant_id, pending.id)
        earlier = accepted.get(key)
        if earlier is None and key in existing:
            earlier = jsonparse.loads(existing[key])
        if earlier is None:
            fresh.append(pending)
        elif not statements_equivalent(earlier, pending.statement):
            return [], Conflict(
                f"statement {pending.id} exists with different content", field="id")
    return fresh, None


def _statement_columns(new: list[tuple[WriteBatch, PendingStatement]]) -> list:
    """lrs_write_statements' p_ids, p_payloads, p_statements, p_credential,
    p_at_tenants, p_agents, p_activities (migrations/0014: one value each,
    not an array element per statement, and per statement only what differs
    from the default). The payloads (stored_payload) are joined by newlines,
    which compact JSON never holds raw (a string escapes it)."""
    ids, payloads, rows, at_tenants = [], [], [], []
    agents: list[dict] = []
    activities: list[dict] = []
    credential = new[0][0].credential
    # IMM-05: a statement is voided when a voiding statement targets it,
    # whichever arrives first (the call checks stored ones); a voiding
    # statement is never voided (IMM-06).
    voided_here = {(b.tenant_id, p.index.ref_target) for b, p in new if p.index.voids}
    for at, (batch, p) in enumerate(new, 1):
        index = p.index
        ids.append(p.id)
        payloads.append(p.payload)
        at_tenants.append(batch.tenant_id)
        row = {"verb": index_key(index.verb)}
        if index.registration is not None:
            row["registration"] = index.registration
        if index.ref_target is not None:
            row["ref_target"] = index.ref_target
        if index.voids:
            row["voids"] = True
        elif voided_here and (batch.tenant_id, p.id) in voided_here:
            row["voided"] = True
        if batch.credential != credential:
            row["credential"] = batch.credential
        if p.attachment_sha2:
            row["sha2"] = " ".join(p.attachment_sha2)
        if p.assign_timestamp:
            row["assign_timestamp"] = True
        rows.append(row)
        for target, mapping in ((agents, index.agents), (activities, index.activities)):
            for key, direct in mapping.items():
                target.append({"key": key_hash(key), "at": at, "direct": True} if direct
                              else {"key": key_hash(key), "at": at})
    return [",".join(ids), b"\n".join(payloads), orjson.dumps(rows).decode(), credential,
            at_tenants, orjson.dumps(agents).decode(), orjson.dumps(activities).decode()]


def _attachment_columns(batches: list[WriteBatch], outcomes: dict) -> list[list]:
    """lrs_write_statements' attachment contents of the accepted batches,
    with their tenants."""
    contents: dict[Key, tuple[str, bytes]] = {}
    for batch in batches:
        if outcomes[id(batch)] is None:
            for sha2, content_type, content in batch.attachments:
                contents.setdefault((batch.tenant_id, sha2), (content_type, content))
    return [[t for t, _ in contents], [h for _, h in contents],
            [t for t, _ in contents.values()], [c for _, c in contents.values()]]


def _definitions(statements: list[tuple[int, PendingStatement]],
                 canonical: dict[Key, dict | None], known: dict[int, TenantFacts | None]
                 ) -> tuple[str, dict[int, int], dict[int, dict[str, int]]]:
    """lrs_write_statements' p_definitions: per tenant and activity, its
    definitions in the group (statements: tenant and statement) folded
    together in store order (xAPI 2.0 LRS 4.1.6.4), on their own or, where
    the call handed back the canonical one (`canonical`), merged into it:
    {"tenant", "id", "expected": the one handed back, "definition": the
    merged one, left out when the same}. An activity whose every definition
    here is `known` (per tenant) to hold is left out.

    Also, per tenant that left some out, the epoch of the facts relied on
    (p_epochs), and what the call shows if it writes: per tenant, each
    activity whose definitions here are all one (by fingerprint) holds that
    one afterwards, merged or not, as merging a definition into one that
    holds it changes nothing."""
    incoming: dict[Key, list[dict]] = defaultdict(list)
    for tenant, pending in statements:
        for activity_id, definition in pending.definitions.items():
            incoming[tenant, activity_id].append(definition)
    definitions = []
    holding: dict[int, dict[str, int]] = defaultdict(dict)
    relied_on: dict[int, int] = {}
    for key, found in incoming.items():
        tenant, activity_id = key
        prints = {fingerprint(definition) for definition in found}
        if len(prints) == 1:
            holding[tenant][activity_id] = print_ = prints.pop()
            facts = known.get(tenant)
            if (facts is not None and key not in canonical
                    and facts.holds(activity_id, print_)):
                relied_on[tenant] = facts.epoch
                continue
        held = canonical.get(key)
        merged = merge_definitions(found, onto=held)
        # Compared as JSON: to Python `true == 1` and `[false] == [0]`, so a
        # newer extension value true over a held 1 was taken for no change.
        merged_text = jsonparse.dumps(merged, sort_keys=True)
        if len(merged_text) > MAX_DEFINITION_BYTES:  # kept as it was
            if held is None:
                continue
            merged = held
        if held is None:
            definitions.append({"tenant": tenant, "id": activity_id, "definition": merged})
        elif merged is held or merged_text == jsonparse.dumps(held, sort_keys=True):
            definitions.append({"tenant": tenant, "id": activity_id, "expected": held})
        else:
            definitions.append({"tenant": tenant, "id": activity_id, "expected": held,
                                "definition": merged})
    return jsonparse.dumps(definitions).decode(), relied_on, holding


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
