"""Tenants, their credentials and access settings, and the LRS's signing
key: SQL and nothing else."""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets

import asyncpg

from lrs.errors import Conflict, NotFound
from lrs.store.db import Query, execute, fetch, fetchrow, fetchval

CREATE_TENANT = Query("tenants.create", "INSERT INTO tenants (name) VALUES ($1) RETURNING id")
LIST_TENANTS = Query("tenants.list", "SELECT id, name, created_at FROM tenants ORDER BY id")
TENANT_ID = Query("tenants.id", "SELECT id FROM tenants WHERE name = $1")
COUNT_TENANTS = Query("tenants.count", "SELECT count(*) FROM tenants")

CREATE_CREDENTIAL = Query("credentials.create", """
INSERT INTO credentials (key, tenant_id, secret_hash, scopes, label)
VALUES ($1, $2, $3, $4, $5)""")
LIST_CREDENTIALS = Query("credentials.list", """
SELECT c.key, t.name AS tenant, c.scopes, c.label, c.created_at, c.revoked_at
FROM credentials c JOIN tenants t ON t.id = c.tenant_id
WHERE $1::text IS NULL OR t.name = $1
ORDER BY t.name, c.created_at""")
REVOKE_CREDENTIAL = Query("credentials.revoke", """
UPDATE credentials SET revoked_at = now() WHERE key = $1 AND revoked_at IS NULL""")
ROTATE_CREDENTIAL = Query("credentials.rotate", """
UPDATE credentials SET secret_hash = $2 WHERE key = $1 AND revoked_at IS NULL
RETURNING (SELECT name FROM tenants WHERE id = tenant_id) AS tenant, scopes""")
# The Basic-auth lookup: one primary-key probe per request, with what the
# request needs to know of the tenant.
CREDENTIAL_FOR_KEY = Query("credentials.lookup", """
SELECT c.tenant_id, t.name AS tenant, c.secret_hash, c.scopes,
       t.cors_origins, t.rate_limit_per_second, t.rate_limit_burst
FROM credentials c JOIN tenants t ON t.id = c.tenant_id
WHERE c.key = $1 AND c.revoked_at IS NULL""")
# Whether a key was ever issued, revoked or not: statements stored under a
# revoked key stay stored under it.
KEY_ISSUED = Query("credentials.issued", "SELECT EXISTS (SELECT FROM credentials WHERE key = $1)")
# A token's tenant, and the secret hash of the credential it was traded for
# (if any) while that is active: one round trip per Bearer request.
TOKEN_ACCESS = Query("tenants.token_access", """
SELECT t.id AS tenant_id, t.name AS tenant, t.cors_origins, t.rate_limit_per_second,
       t.rate_limit_burst, t.tokens_revoked_before,
       (SELECT c.secret_hash FROM credentials c WHERE c.key = $2 AND c.tenant_id = t.id
        AND c.revoked_at IS NULL) AS secret_hash
FROM tenants t WHERE t.name = $1""")
# Whole seconds, rounded up: tokens carry `iat` in whole seconds, so one
# issued in the second of the revocation, before it, must end too.
REVOKE_TOKENS = Query("tenants.revoke_tokens", """
UPDATE tenants SET tokens_revoked_before = date_trunc('second', now()) + interval '1 second'
WHERE name = $1 RETURNING tokens_revoked_before""")
TENANT_ACCESS = Query("tenants.access", """
SELECT id AS tenant_id, name AS tenant, cors_origins, rate_limit_per_second, rate_limit_burst
FROM tenants WHERE name = $1""")
ALL_CORS_ORIGINS = Query("tenants.cors_origins", """
SELECT DISTINCT unnest(cors_origins) FROM tenants""")
SET_CORS_ORIGINS = Query("tenants.set_cors_origins", """
UPDATE tenants SET cors_origins = $2 WHERE name = $1""")
SET_RATE_LIMIT = Query("tenants.set_rate_limit", """
UPDATE tenants SET rate_limit_per_second = $2, rate_limit_burst = $3 WHERE name = $1""")

SIGNING_KEY = Query("signing_keys.get", "SELECT secret FROM signing_keys WHERE name = $1")
ENSURE_SIGNING_KEY = Query("signing_keys.ensure", """
INSERT INTO signing_keys (name, secret) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING""")
ROTATE_SIGNING_KEY = Query("signing_keys.rotate", """
INSERT INTO signing_keys (name, secret) VALUES ($1, $2)
ON CONFLICT (name) DO UPDATE SET secret = EXCLUDED.secret, created_at = now()
RETURNING created_at""")


@dataclasses.dataclass(frozen=True)
class Tenant:
    id: int
    name: str
    created_at: dt.datetime


@dataclasses.dataclass(frozen=True)
class TenantAccess:
    """What a request needs to know of its tenant."""
    tenant_id: int
    tenant: str
    cors_origins: list[str]
    rate_limit_per_second: float | None
    rate_limit_burst: int | None


@dataclasses.dataclass(frozen=True)
class CredentialRow:
    secret_hash: bytes
    scopes: list[str]
    access: TenantAccess


async def create_tenant(conn: asyncpg.Connection, name: str) -> int:
    try:
        return await fetchval(conn, CREATE_TENANT, name)
    except asyncpg.UniqueViolationError:
        raise Conflict(f"tenant {name!r} already exists", field="name") from None


async def list_tenants(conn: asyncpg.Connection) -> list[Tenant]:
    return [Tenant(**dict(r)) for r in await fetch(conn, LIST_TENANTS)]


async def count_tenants(conn: asyncpg.Connection) -> int:
    return await fetchval(conn, COUNT_TENANTS)


async def find_tenant_id(conn: asyncpg.Connection, name: str) -> int | None:
    return await fetchval(conn, TENANT_ID, name)


async def tenant_id(conn: asyncpg.Connection, name: str) -> int:
    found = await find_tenant_id(conn, name)
    if found is None:
        raise NotFound(f"no tenant named {name!r}", field="tenant")
    return found


async def create_credential(conn: asyncpg.Connection, *, key: str, tenant_id: int,
                            secret_hash: bytes, scopes: list[str], label: str = "") -> None:
    await execute(conn, CREATE_CREDENTIAL, key, tenant_id, secret_hash, scopes, label)


async def list_credentials(conn: asyncpg.Connection, tenant: str | None = None) -> list[dict]:
    return [dict(r) for r in await fetch(conn, LIST_CREDENTIALS, tenant)]


async def revoke_credential(conn: asyncpg.Connection, key: str) -> None:
    if await execute(conn, REVOKE_CREDENTIAL, key) == "UPDATE 0":
        raise NotFound(f"no active credential with key {key!r}", field="key")


async def credential_for_key(conn: asyncpg.Connection, key: str) -> CredentialRow | None:
    if "\x00" in key:  # text cannot hold U+0000, so no key does (the query would fail)
        return None
    row = await fetchrow(conn, CREDENTIAL_FOR_KEY, key)
    if row is None:
        return None
    values = dict(row)
    secret_hash, scopes = values.pop("secret_hash"), values.pop("scopes")
    return CredentialRow(secret_hash, scopes, TenantAccess(**values))


async def key_issued(conn: asyncpg.Connection, key: str) -> bool:
    return await fetchval(conn, KEY_ISSUED, key)


@dataclasses.dataclass(frozen=True)
class TokenAccess:
    """What verifying one of the LRS's own tokens needs of its tenant."""
    access: TenantAccess
    # The stored secret hash of the credential the token was traded for,
    # while that is active (None when it names none, or is revoked or unknown).
    secret_hash: bytes | None
    revoked_before: dt.datetime | None  # the tenant's tokens issued earlier are void


async def token_access(conn: asyncpg.Connection, tenant: str, credential: str | None
                       ) -> TokenAccess | None:
    """The tenant a token names, as TokenAccess; None for an unknown tenant."""
    row = await fetchrow(conn, TOKEN_ACCESS, tenant, credential)
    if row is None:
        return None
    values = dict(row)
    secret_hash, revoked_before = values.pop("secret_hash"), values.pop("tokens_revoked_before")
    return TokenAccess(TenantAccess(**values), secret_hash, revoked_before)


async def revoke_tokens(conn: asyncpg.Connection, tenant: str) -> dt.datetime:
    """End every token of the LRS's own issued for `tenant` until now; the
    instant before which they are void."""
    row = await fetchrow(conn, REVOKE_TOKENS, tenant)
    if row is None:
        raise NotFound(f"no tenant {tenant!r}", field="tenant")
    return row["tokens_revoked_before"]


async def rotate_credential(conn: asyncpg.Connection, key: str, secret_hash: bytes) -> dict:
    row = await fetchrow(conn, ROTATE_CREDENTIAL, key, secret_hash)
    if row is None:
        raise NotFound(f"no active credential with key {key!r}", field="key")
    return dict(row)


async def tenant_access(conn: asyncpg.Connection, name: str) -> TenantAccess | None:
    row = await fetchrow(conn, TENANT_ACCESS, name)
    return TenantAccess(**dict(row)) if row is not None else None


async def all_cors_origins(conn: asyncpg.Connection) -> set[str]:
    return {r[0] for r in await fetch(conn, ALL_CORS_ORIGINS)}


async def set_cors_origins(conn: asyncpg.Connection, name: str, origins: list[str]) -> None:
    if await execute(conn, SET_CORS_ORIGINS, name, origins) == "UPDATE 0":
        raise NotFound(f"no tenant named {name!r}", field="tenant")


async def set_rate_limit(conn: asyncpg.Connection, name: str, per_second: float | None,
                         burst: int | None) -> None:
    if await execute(conn, SET_RATE_LIMIT, name, per_second, burst) == "UPDATE 0":
        raise NotFound(f"no tenant named {name!r}", field="tenant")


async def signing_key(conn: asyncpg.Connection, name: str = "default") -> bytes:
    """The shared signing key, generated by whichever process asks first."""
    secret = await fetchval(conn, SIGNING_KEY, name)
    if secret is None:
        await execute(conn, ENSURE_SIGNING_KEY, name, secrets.token_bytes(32))
        secret = await fetchval(conn, SIGNING_KEY, name)
    return bytes(secret)


async def rotate_signing_key(conn: asyncpg.Connection, name: str = "default") -> dt.datetime:
    """A new random signing key in place of the old one; when it took effect."""
    return await fetchval(conn, ROTATE_SIGNING_KEY, name, secrets.token_bytes(32))
