"""What the Agents resource reads: recent statements naming an agent."""

from __future__ import annotations

import asyncpg

from lrs.store.db import Query, fetch
from lrs.xapi.indexing import key_hash

# The newest statements whose actor or object is the agent (or a Group it
# is a member of): `direct` rows of the index (migrations/0002). Bounded in
# number and in bytes, so a busy learner costs the same as a new one, and a
# learner named in a few statements of megabytes does not hold a worker
# while they are parsed for names (fuzz round 4: 50 of 5 MB, 2 s of CPU a
# request): the newest always, then older ones while the payloads before
# them total under $4 bytes.
NAMING = Query("agents.naming_statements", """
SELECT newest.payload FROM (
    SELECT s.payload,
           sum(octet_length(s.payload)) OVER (ORDER BY a.seq DESC)
           - octet_length(s.payload) AS bytes_before
    FROM statement_agents a
    JOIN statements s ON s.tenant_id = a.tenant_id AND s.seq = a.seq
    WHERE a.tenant_id = $1 AND a.agent_hash = $2 AND a.direct AND NOT s.voided
    ORDER BY a.seq DESC
    LIMIT $3) AS newest
WHERE newest.bytes_before < $4""")

LIMIT = 50
BYTES = 1024 * 1024


async def statements_naming(conn: asyncpg.Connection, tenant_id: int, key: str,
                            limit: int = LIMIT, max_bytes: int = BYTES) -> list[bytes]:
    rows = await fetch(conn, NAMING, tenant_id, key_hash(key), limit, max_bytes)
    return [bytes(r["payload"]) for r in rows]
