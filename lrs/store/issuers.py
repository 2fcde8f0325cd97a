"""Agencies' trusted token issuers: SQL and nothing else."""

from __future__ import annotations

import dataclasses

import asyncpg

from lrs.errors import Conflict, NotFound
from lrs.store.db import Query, execute, fetch
from lrs.store.tenants import TenantAccess

FOR_ISSUER = Query("issuers.for_issuer", """
SELECT i.issuer, i.algorithms, i.public_key, i.jwks_url, i.audience,
       i.tenant_claim, i.scope_claim, i.subject_claim,
       t.id AS tenant_id, t.name AS tenant, t.cors_origins, t.rate_limit_per_second,
       t.rate_limit_burst
FROM trusted_issuers i JOIN tenants t ON t.id = i.tenant_id
WHERE i.issuer = $1""")
LIST = Query("issuers.list", """
SELECT t.name AS tenant, i.issuer, i.algorithms, i.public_key, i.jwks_url, i.audience,
       i.tenant_claim, i.scope_claim, i.subject_claim, i.created_at
FROM trusted_issuers i JOIN tenants t ON t.id = i.tenant_id
WHERE t.name = $1 ORDER BY i.issuer""")
ADD = Query("issuers.add", """
INSERT INTO trusted_issuers (tenant_id, issuer, algorithms, public_key, jwks_url, audience,
                             tenant_claim, scope_claim, subject_claim)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""")
REMOVE = Query("issuers.remove", """
DELETE FROM trusted_issuers i USING tenants t
WHERE t.id = i.tenant_id AND t.name = $1 AND i.issuer = $2""")


@dataclasses.dataclass(frozen=True)
class TrustedIssuer:
    issuer: str
    algorithms: list[str]
    public_key: str | None
    jwks_url: str | None
    audience: str | None
    tenant_claim: str = "tenant"
    scope_claim: str = "scope"
    subject_claim: str = "sub"


async def for_issuer(conn: asyncpg.Connection, issuer: str
                     ) -> list[tuple[TrustedIssuer, TenantAccess]]:
    found = []
    for row in await fetch(conn, FOR_ISSUER, issuer):
        values = dict(row)
        access = TenantAccess(**{k: values.pop(k) for k in (
            "tenant_id", "tenant", "cors_origins", "rate_limit_per_second", "rate_limit_burst")})
        found.append((TrustedIssuer(**values), access))
    return found


async def list_for_tenant(conn: asyncpg.Connection, tenant: str) -> list[dict]:
    return [dict(r) for r in await fetch(conn, LIST, tenant)]


async def add(conn: asyncpg.Connection, tenant_id: int, issuer: TrustedIssuer) -> None:
    try:
        await execute(conn, ADD, tenant_id, issuer.issuer, issuer.algorithms, issuer.public_key,
                      issuer.jwks_url, issuer.audience, issuer.tenant_claim, issuer.scope_claim,
                      issuer.subject_claim)
    except asyncpg.UniqueViolationError:
        raise Conflict(f"issuer {issuer.issuer!r} is already trusted by this tenant",
                       field="issuer") from None


async def remove(conn: asyncpg.Connection, tenant: str, issuer: str) -> None:
    if await execute(conn, REMOVE, tenant, issuer) == "DELETE 0":
        raise NotFound(f"tenant {tenant!r} does not trust issuer {issuer!r}", field="issuer")
