"""Storage of State, Activity Profile and Agent Profile documents
(table `documents`, migrations/0003).

Writes are read-modify-write under a lock of the document: `modify` takes
the document's advisory lock, locks the current row (SELECT ... FOR UPDATE),
hands it to a pure `change` (lrs.xapi.documents plan_*: preconditions,
merge), and writes what it returns, all in one transaction. Two writes of
one document therefore run one after the other, and the second sees the
first's ETag: with the same If-Match, exactly one of them succeeds. The
advisory lock covers a document that does not exist yet, which has no row
to lock: without it, creators raced on the primary key (INSERT ... ON
CONFLICT DO NOTHING) and re-read, and with DELETEs between, a creator could
lose every round (a 503, fuzz round 6)."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable

import asyncpg

from lrs.errors import ServiceUnavailable
from lrs.store.db import Database, Query, execute, fetch, fetchrow, fetchval
from lrs.xapi.documents import Document, Target, check_set_room

# $1 tenant, $2 kind, $3 activity_id, $4 agent_key, $5 registration, $6 doc_id
_KEY = """tenant_id = $1 AND kind = $2 AND activity_id = $3 AND agent_key = $4
  AND registration = $5"""

GET = Query("documents.get", f"""
SELECT content_type, content, etag, updated FROM documents WHERE {_KEY} AND doc_id = $6""")
LOCK = Query("documents.lock", f"""
SELECT content_type, content, etag, updated FROM documents WHERE {_KEY} AND doc_id = $6
FOR UPDATE""")
# clock_timestamp(), not now(): a write that waited for the row lock is
# stamped when it happens, so `updated` follows commit order per document.
INSERT = Query("documents.insert", """
INSERT INTO documents (tenant_id, kind, activity_id, agent_key, registration, doc_id,
                       content_type, content, etag, updated)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, clock_timestamp())
ON CONFLICT DO NOTHING
RETURNING updated""")
UPDATE = Query("documents.update", f"""
UPDATE documents SET content_type = $7, content = $8, etag = $9, updated = clock_timestamp()
WHERE {_KEY} AND doc_id = $6
RETURNING updated""")
DELETE = Query("documents.delete", f"DELETE FROM documents WHERE {_KEY} AND doc_id = $6")
# Namespace of the documents' write locks (pg_advisory_xact_lock(int, int)),
# beside the tenants' statement write locks (lrs.store.statement_insert).
WRITE_LOCK_SPACE = 0x444F  # "DO"
WRITE_LOCK = Query("documents.write_lock", "SELECT pg_advisory_xact_lock($1, $2)")
# What the ids of a document's set take, before a document is added to it.
SET_ID_BYTES = Query("documents.set_id_bytes", f"""
SELECT coalesce(sum(octet_length(doc_id)), 0) FROM documents WHERE {_KEY}""")
# Id lists and DELETE of all State for activity + agent (+ registration).
IDS = Query("documents.ids", f"""
SELECT doc_id, updated FROM documents
WHERE {_KEY} AND ($6::timestamptz IS NULL OR updated > $6)
ORDER BY doc_id""")
# DELETE of all: the ids locked, checked against the request's preconditions,
# and exactly those deleted (not one created meanwhile, unseen by the check).
LOCK_ALL = Query("documents.lock_all", f"""
SELECT doc_id FROM documents WHERE {_KEY} ORDER BY doc_id FOR UPDATE""")
DELETE_LISTED = Query("documents.delete_listed", f"""
DELETE FROM documents WHERE {_KEY} AND doc_id = ANY($6::text[])""")

# A creator that lost the race re-reads: only against a writer that took
# no advisory lock (a server of an older version, during an upgrade).
_ATTEMPTS = 3


def _key(tenant_id: int, target: Target) -> tuple:
    return (tenant_id, target.kind, target.activity_id, target.agent_key,
            target.registration, target.doc_id)


def _lock_key(key: tuple) -> int:
    """The document's advisory lock: 32 bits of a hash of its key (two
    documents that share one only wait for each other)."""
    digest = hashlib.blake2b("\x00".join(map(str, key)).encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big", signed=True)


def _document(row: asyncpg.Record | None) -> Document | None:
    if row is None:
        return None
    return Document(row["content_type"], bytes(row["content"]), row["etag"], row["updated"])


async def get(conn: asyncpg.Connection, tenant_id: int, target: Target) -> Document | None:
    return _document(await fetchrow(conn, GET, *_key(tenant_id, target)))


async def ids(conn: asyncpg.Connection, tenant_id: int,
              target: Target) -> list[tuple[str, dt.datetime]]:
    key = _key(tenant_id, target)[:5]
    return [(r["doc_id"], r["updated"]) for r in await fetch(conn, IDS, *key, target.since)]


async def delete_all(db: Database, tenant_id: int, target: Target,
                     check: Callable[[list[str]], None]) -> None:
    """Delete every document of `target` (no doc_id) once `check` has
    passed their ids, in id order (it may raise: then nothing is deleted)."""
    key = _key(tenant_id, target)[:5]
    async with db.transaction() as conn:
        doc_ids = [r["doc_id"] for r in await fetch(conn, LOCK_ALL, *key)]
        check(doc_ids)
        if doc_ids:
            await execute(conn, DELETE_LISTED, *key, doc_ids)


async def modify(db: Database, tenant_id: int, target: Target,
                 change: Callable[[Document | None], Document | None]) -> Document | None:
    """Apply `change` to the current document (None: there is none) and
    store its result (None: delete). Returns what is stored afterwards.
    `change` may raise (412, 409, 400): then nothing is written."""
    key = _key(tenant_id, target)
    async with db.transaction() as conn:
        await execute(conn, WRITE_LOCK, WRITE_LOCK_SPACE, _lock_key(key))
        for _ in range(_ATTEMPTS):
            current = _document(await fetchrow(conn, LOCK, *key))
            wanted = change(current)
            if wanted is None:
                if current is not None:
                    await execute(conn, DELETE, *key)
                return None
            args = (*key, wanted.content_type, wanted.content, wanted.etag)
            if current is not None:
                updated = await fetchval(conn, UPDATE, *args)
            else:
                check_set_room(target, await fetchval(conn, SET_ID_BYTES, *key[:5]))
                updated = await fetchval(conn, INSERT, *args)
                if updated is None:
                    continue  # created concurrently: decide again against it
            return Document(wanted.content_type, wanted.content, wanted.etag, updated)
    raise ServiceUnavailable("the document changed too often while being written; retry")
