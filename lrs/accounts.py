"""Tenants, credentials and tokens as operations, shared by the CLI and the
admin API: the pure rules of lrs.auth applied to the rows of lrs.store."""

from __future__ import annotations

import asyncpg
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from lrs.auth import secrets, tokens
from lrs.auth.principal import check_scopes
from lrs.config import Settings
from lrs.errors import BadRequest
from lrs.store import issuers
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


async def rotate_credential(conn: asyncpg.Connection, key: str) -> dict:
    """A new secret for an existing key; the old one stops working at once."""
    secret = secrets.new_secret()
    row = await store.rotate_credential(conn, key, secrets.hash_secret(secret))
    return {"key": key, "secret": secret, "tenant": row["tenant"], "scopes": row["scopes"]}


async def trust_issuer(conn: asyncpg.Connection, *, tenant: str, issuer: str,
                       algorithms: list[str], public_key: str | None = None,
                       jwks_url: str | None = None, audience: str | None = None,
                       claims: dict[str, str] | None = None) -> dict:
    """Let `tenant` authenticate with tokens from its own identity provider."""
    if not issuer:
        raise BadRequest("issuer is required", field="issuer")
    bad = [a for a in algorithms if a not in tokens.EXTERNAL_ALGORITHMS]
    if not algorithms or bad:
        raise BadRequest(f"algorithms must be some of {', '.join(sorted(tokens.EXTERNAL_ALGORITHMS))}",
                         field="algorithms")
    if (public_key is None) == (jwks_url is None):
        raise BadRequest("give exactly one of public_key (PEM) and jwks_url", field="public_key")
    if public_key is not None:
        try:
            load_pem_public_key(public_key.encode())
        except (ValueError, TypeError):
            raise BadRequest("public_key is not a PEM public key", field="public_key") from None
    if jwks_url is not None and not jwks_url.startswith(("https://", "http://")):
        raise BadRequest("jwks_url must be an http(s) URL", field="jwks_url")
    names = {"tenant_claim": "tenant", "scope_claim": "scope", "subject_claim": "sub",
             **(claims or {})}
    tenant_id = await store.tenant_id(conn, tenant)
    await issuers.add(conn, tenant_id, issuers.TrustedIssuer(
        issuer=issuer, algorithms=algorithms, public_key=public_key, jwks_url=jwks_url,
        audience=audience, **names))
    return {"tenant": tenant, "issuer": issuer, "algorithms": algorithms, "jwks_url": jwks_url,
            "audience": audience, **names}
