"""Tenants, credentials and tokens as operations, shared by the CLI and the
admin API: the pure rules of lrs.auth applied to the rows of lrs.store."""

from __future__ import annotations

import asyncpg

from lrs.auth import secrets, tokens
from lrs.auth.principal import check_scopes
from lrs.config import Settings
from lrs.errors import BadRequest
from lrs.store import tenants as store


async def create_credential(conn: asyncpg.Connection, *, tenant: str, scopes: list[str],
                            label: str = "") -> dict:
    """A new key/secret pair; the secret exists only in the returned dict."""
    try:
        scopes = check_scopes(scopes)
    except ValueError as exc:
        raise BadRequest(str(exc), field="scope") from None
    tenant_id = await store.tenant_id(conn, tenant)
    key, secret = secrets.new_key(), secrets.new_secret()
    await store.create_credential(conn, key=key, tenant_id=tenant_id,
                                  secret_hash=secrets.hash_secret(secret), scopes=scopes, label=label)
    return {"key": key, "secret": secret, "tenant": tenant, "scopes": scopes, "label": label}


async def issue_token(conn: asyncpg.Connection, settings: Settings, *, tenant: str,
                      scopes: list[str], subject: str, ttl: int | None = None) -> dict:
    try:
        scopes = check_scopes(scopes)
    except ValueError as exc:
        raise BadRequest(str(exc), field="scope") from None
    await store.tenant_id(conn, tenant)  # 404 for an unknown tenant
    key = await signing_key(conn, settings)
    ttl = ttl or settings.token_ttl
    token = tokens.issue(key, issuer=settings.jwt_issuer, audience=settings.jwt_audience,
                         tenant=tenant, subject=subject, scopes=scopes, ttl=ttl)
    return {"token": token, "tenant": tenant, "scopes": scopes, "subject": subject,
            "expires_in": ttl, "token_type": "Bearer"}


async def signing_key(conn: asyncpg.Connection, settings: Settings) -> bytes:
    if settings.jwt_secret:
        return settings.jwt_secret.encode()
    return await store.signing_key(conn)


async def bootstrap(conn: asyncpg.Connection) -> dict | None:
    """First start against an empty database: a default tenant and one
    credential with every scope. None when there are tenants already."""
    async with conn.transaction():
        # Two processes starting at once must not both create one.
        await conn.execute("LOCK TABLE tenants IN EXCLUSIVE MODE")
        if await store.count_tenants(conn):
            return None
        await store.create_tenant(conn, "default")
        return await create_credential(conn, tenant="default", scopes=["all"],
                                       label="created on first start")
