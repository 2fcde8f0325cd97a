"""Tenants, credentials and tokens as operations, shared by the CLI and the
admin API: the pure rules of lrs.auth applied to the rows of lrs.store."""

from __future__ import annotations

import re

import asyncpg
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from lrs.auth import secrets, tokens
from lrs.auth.principal import check_scopes
from lrs.config import MAX_TOKEN_TTL, Settings, http_url
from lrs.errors import BadRequest, Conflict
from lrs.store import issuers
from lrs.store import tenants as store


# migrations/0001's CHECK on tenants.name, said before the database says it.
TENANT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")


async def create_tenant(conn: asyncpg.Connection, name: str) -> int:
    if not TENANT_NAME.fullmatch(name):
        raise BadRequest(f"tenant name {name!r}: 1 to 63 letters, digits, '.', '_' or '-', "
                         "beginning with a letter or digit", field="name")
    return await store.create_tenant(conn, name)


def _scopes(scopes: list[str]) -> list[str]:
    try:
        return check_scopes(scopes)
    except ValueError as exc:
        raise BadRequest(str(exc), field="scopes") from None


async def create_credential(conn: asyncpg.Connection, *, tenant: str, scopes: list[str],
                            label: str = "") -> dict:
    """A new key/secret pair; the secret exists only in the returned dict."""
    scopes = _scopes(scopes)
    tenant_id = await store.tenant_id(conn, tenant)
    key, secret = secrets.new_key(), secrets.new_secret()
    await store.create_credential(conn, key=key, tenant_id=tenant_id,
                                  secret_hash=secrets.hash_secret(secret), scopes=scopes, label=label)
    return {"key": key, "secret": secret, "tenant": tenant, "scopes": scopes, "label": label}


async def issue_token(conn: asyncpg.Connection, settings: Settings, *, tenant: str,
                      scopes: list[str], subject: str, ttl: int | None = None,
                      minted_by: tuple[str, str] | None = None) -> dict:
    """A Bearer token for `tenant`. `minted_by`: the credential (key, secret
    fingerprint) of the operator asking, whose revocation or rotation ends it."""
    scopes = _scopes(scopes)
    if not subject.strip() or len(subject) > 255:
        raise BadRequest("subject must be 1 to 255 characters, not all blank", field="subject")
    if ttl is not None and not 1 <= ttl <= MAX_TOKEN_TTL:
        raise BadRequest(f"ttl must be 1 to {MAX_TOKEN_TTL} seconds", field="ttl")
    await store.tenant_id(conn, tenant)  # 404 for an unknown tenant
    key = await signing_key(conn, settings)
    ttl = ttl or settings.token_ttl
    token = tokens.issue(key, issuer=settings.jwt_issuer, audience=settings.jwt_audience,
                         tenant=tenant, subject=subject, scopes=scopes, ttl=ttl,
                         minted_by=minted_by)
    return {"token": token, "tenant": tenant, "scopes": scopes, "subject": subject,
            "expires_in": ttl, "token_type": "Bearer"}


async def signing_key(conn: asyncpg.Connection, settings: Settings) -> bytes:
    if settings.jwt_secret:
        return settings.jwt_secret.encode()
    return await store.signing_key(conn)


async def rotate_signing_key(conn: asyncpg.Connection, settings: Settings) -> dict:
    """A new signing key: every token the LRS has issued, and every `more`
    cursor it has handed out, stops working on the next request."""
    if settings.jwt_secret:
        raise Conflict("the signing key is LRS_JWT_SECRET: change that variable and restart "
                       "the LRS", field="LRS_JWT_SECRET")
    return {"rotated_at": (await store.rotate_signing_key(conn)).isoformat()}


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


# An issuer is its tokens' `iss`, looked up by index: a URL or a name.
MAX_ISSUER = 1000


async def trust_issuer(conn: asyncpg.Connection, *, tenant: str, issuer: str,
                       algorithms: list[str], public_key: str | None = None,
                       jwks_url: str | None = None, audience: str | None = None,
                       claims: dict[str, str] | None = None) -> dict:
    """Let `tenant` authenticate with tokens from its own identity provider."""
    # Text PostgreSQL can hold already: the admin API refuses U+0000 and
    # lone surrogates in every field of its bodies.
    if not issuer or len(issuer) > MAX_ISSUER:
        raise BadRequest(f"issuer must be 1 to {MAX_ISSUER} characters", field="issuer")
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
    if jwks_url is not None and http_url(jwks_url) is None:
        raise BadRequest("jwks_url must be an http(s) URL", field="jwks_url")
    names = {"tenant_claim": "tenant", "scope_claim": "scope", "subject_claim": "sub"}
    for name, value in (claims or {}).items():
        if name not in names or not isinstance(value, str) or not value:
            raise BadRequest(f"claims: {name!r} must be one of {', '.join(names)}, "
                             "naming a claim (a non-empty string)", field="claims")
        names[name] = value
    tenant_id = await store.tenant_id(conn, tenant)
    await issuers.add(conn, tenant_id, issuers.TrustedIssuer(
        issuer=issuer, algorithms=algorithms, public_key=public_key, jwks_url=jwks_url,
        audience=audience, **names))
    return {"tenant": tenant, "issuer": issuer, "algorithms": algorithms, "jwks_url": jwks_url,
            "audience": audience, **names}
