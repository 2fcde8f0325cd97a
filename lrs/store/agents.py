"""What the Agents resource reads: recent statements naming an agent."""

from __future__ import annotations

import asyncpg

from lrs.store.db import Query, fetch
from lrs.xapi.indexing import key_hash

# The newest statements whose actor or object is the agent (or a Group it
# is a member of): `direct` rows of the index (migrations/0002). Bounded, so
# a busy learner costs the same as a new one.
NAMING = Query("agents.naming_statements", """
SELECT s.payload FROM statement_agents a
JOIN statements s ON s.tenant_id = a.tenant_id AND s.seq = a.seq
WHERE a.tenant_id = $1 AND a.agent_hash = $2 AND a.direct AND NOT s.voided
ORDER BY a.seq DESC
LIMIT $3""")

LIMIT = 50


async def statements_naming(conn: asyncpg.Connection, tenant_id: int, key: str,
                            limit: int = LIMIT) -> list[bytes]:
    rows = await fetch(conn, NAMING, tenant_id, key_hash(key), limit)
    return [bytes(r["payload"]) for r in rows]
