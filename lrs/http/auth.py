"""Authenticate a request: HTTP Basic key/secret or a Bearer JWT."""

from __future__ import annotations

import base64
import binascii

from lrs import metrics
from lrs.auth import secrets, tokens
from lrs.auth.principal import Principal, authority_for, expand
from lrs.errors import Unauthorized
from lrs.runtime import Runtime
from lrs.store import tenants

_CHALLENGE = {"WWW-Authenticate": 'Basic realm="lrs", Bearer realm="lrs"'}


async def authenticate(runtime: Runtime, header: str | None) -> Principal:
    """The principal of an Authorization header value, or 401."""
    if not header:
        raise _refused("authentication required: send HTTP Basic or a Bearer token", "missing")
    scheme, _, value = header.partition(" ")
    scheme = scheme.lower()
    if scheme == "basic":
        principal = await _basic(runtime, value.strip())
    elif scheme == "bearer":
        principal = await _bearer(runtime, value.strip())
    else:
        raise _refused(f"unsupported authorization scheme {scheme!r}", "scheme")
    return principal


async def _basic(runtime: Runtime, value: str) -> Principal:
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise _refused("malformed Basic credentials", "malformed") from None
    key, sep, secret = decoded.partition(":")
    if not sep or not key:
        raise _refused("malformed Basic credentials", "malformed")
    async with runtime.db.connection() as conn:
        row = await tenants.credential_for_key(conn, key)
    # Compare even for an unknown key, so timing does not tell keys apart.
    stored = row.secret_hash if row is not None else b"\0" * 32
    if not secrets.secret_matches(secret, stored) or row is None:
        raise _refused("unknown key or wrong secret", "bad_credentials")
    return Principal(
        tenant_id=row.tenant_id, tenant=row.tenant, credential=key,
        scopes=expand(row.scopes), authority=authority_for(runtime.settings.base_url, key))


async def _bearer(runtime: Runtime, token: str) -> Principal:
    settings = runtime.settings
    try:
        claims = tokens.verify(token, runtime.signing_key, issuer=settings.jwt_issuer,
                               audience=settings.jwt_audience, leeway=settings.jwt_leeway)
    except tokens.TokenRefused as exc:
        metrics.AUTH_FAILURES.labels(reason=exc.reason).inc()
        raise
    async with runtime.db.connection() as conn:
        tenant_id = await tenants.find_tenant_id(conn, str(claims["tenant"]))
    if tenant_id is None:
        raise _refused("token names an unknown tenant", "tenant")
    subject = str(claims["sub"])
    return Principal(
        tenant_id=tenant_id, tenant=claims["tenant"], credential=subject,
        scopes=expand(str(claims["scope"]).split()),
        authority=authority_for(settings.base_url, subject))


def _refused(message: str, reason: str) -> Unauthorized:
    metrics.AUTH_FAILURES.labels(reason=reason).inc()
    return Unauthorized(message, headers=_CHALLENGE)
