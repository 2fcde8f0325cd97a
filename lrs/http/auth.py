"""Authenticate a request: HTTP Basic key/secret, or a Bearer JWT issued
by this LRS or by an agency's trusted identity provider."""

from __future__ import annotations

import base64
import time

from cryptography.hazmat.primitives.serialization import load_pem_public_key

from lrs import accounts, jwks, metrics
from lrs.auth import secrets, tokens
from lrs.auth.principal import ADMIN_SCOPE, SCOPES, Principal, authority_for, expand
from lrs.errors import Unauthorized
from lrs.runtime import Runtime
from lrs.store import issuers, tenants
from lrs.store.issuers import TrustedIssuer
from lrs.store.tenants import TenantAccess

_CHALLENGE = {"WWW-Authenticate": 'Basic realm="lrs", Bearer realm="lrs"'}


async def authenticate(runtime: Runtime, header: str | None) -> Principal:
    """The principal of an Authorization header value, or 401."""
    if not header:
        raise _refused("authentication required: send HTTP Basic or a Bearer token", "missing")
    scheme, value = (header.split(None, 1) + [""])[:2]
    scheme = scheme.lower()
    if scheme == "basic":
        return await basic(runtime, value.strip())
    if scheme == "bearer":
        return await _bearer(runtime, value.strip())
    # Named only when it looks like a scheme (Digest, Negotiate): a header
    # without its space is the credential itself, never to be echoed back.
    named = f" {scheme!r}" if len(scheme) <= 16 and scheme.isalnum() else ""
    raise _refused(f"unsupported authorization scheme{named}: send HTTP Basic or a Bearer token",
                   "scheme")


def basic_pair(value: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except ValueError:  # binascii.Error, UnicodeDecodeError, or non-ASCII input
        raise _refused("malformed Basic credentials", "malformed") from None
    key, sep, secret = decoded.partition(":")
    if not sep or not key:
        raise _refused("malformed Basic credentials", "malformed")
    return key, secret


async def basic(runtime: Runtime, value: str) -> Principal:
    key, secret = basic_pair(value)
    return await key_secret(runtime, key, secret)


async def _looked_up(runtime: Runtime, key: tuple, look_up) -> object:
    """`look_up(conn)` through the process's access cache (notified of
    every change, so a revocation takes effect at once)."""
    async def load() -> object:
        async with runtime.db.connection() as conn:
            return await look_up(conn)

    return await runtime.services["access_cache"].get(key, load)


async def current_signing_key(runtime: Runtime) -> bytes:
    """The key the LRS signs its tokens and `more` cursors with, as it is now:
    a rotation (lrs.accounts.rotate_signing_key) notifies every process's
    access cache, so the old key stops working on the next request."""
    return await _looked_up(runtime, ("signing key",),
                            lambda conn: accounts.signing_key(conn, runtime.settings))


async def key_secret(runtime: Runtime, key: str, secret: str) -> Principal:
    row = await _looked_up(runtime, ("key", key),
                           lambda conn: tenants.credential_for_key(conn, key))
    # Compare even for an unknown key, so timing does not tell keys apart.
    stored = row.secret_hash if row is not None else b"\0" * 32
    if not secrets.secret_matches(secret, stored) or row is None:
        raise _refused("unknown key or wrong secret", "bad_credentials")
    return _principal(row.access, key, expand(row.scopes),
                      authority_for(runtime.settings.base_url, key),
                      vouched_by=(key, secrets.fingerprint(row.secret_hash)))


# Tokens this process has verified (lrs.auth.tokens.VerifiedTokens).
_VERIFIED = tokens.VerifiedTokens()


async def _bearer(runtime: Runtime, token: str) -> Principal:
    settings = runtime.settings
    try:
        remembered = _VERIFIED.get(token, leeway=settings.jwt_leeway)
        if remembered is not None:
            context, claims = remembered
            if context[0] == "own" and context == await _own_context(runtime):
                return await _own_token(runtime, claims)
            if context[0] == "idp":
                trusted, access = await _trusted_issuer(runtime, claims)
                if context == _idp_context(runtime, trusted, access):
                    return _idp_principal(runtime, trusted, access, claims)
            # Verified against something else (another key or setting): again.
        unverified = tokens.peek(token)
        if unverified.get("iss") == settings.jwt_issuer:
            own = await _own_context(runtime)
            claims = tokens.verify(token, own[1], issuer=settings.jwt_issuer,
                                   audience=settings.jwt_audience, leeway=settings.jwt_leeway)
            _VERIFIED.put(token, own, claims)
            return await _own_token(runtime, claims)
        trusted, access = await _trusted_issuer(runtime, unverified)
        claims = await _verify_idp_token(runtime, token, trusted, access)
        await _not_a_key(runtime, tokens.claim_text(claims, trusted.subject_claim))
        # Taken as verified as long as lrs.jwks uses a key set before fetching
        # it again: a key the IdP withdraws stops working no later than it
        # would without this.
        _VERIFIED.put(token, _idp_context(runtime, trusted, access), claims,
                      until=time.time() + settings.jwks_refresh_seconds)
        return _idp_principal(runtime, trusted, access, claims)
    except tokens.TokenRefused as exc:
        metrics.AUTH_FAILURES.labels(reason=exc.reason).inc()
        raise


async def _own_context(runtime: Runtime) -> tuple:
    """What one of the LRS's own tokens is verified against: the signing key
    as it is now, the issuer and the audience. Looked up only for those
    tokens: an agency IdP's need no signing key."""
    settings = runtime.settings
    return ("own", await current_signing_key(runtime), settings.jwt_issuer, settings.jwt_audience)


async def _own_token(runtime: Runtime, claims: dict) -> Principal:
    """The principal of a verified token of the LRS's own: its tenant must
    not have revoked its tokens since it was issued; its credential, if it
    was traded for one, must still be active, and so must the admin
    credential that minted it, if one did."""
    settings = runtime.settings
    credential = tokens.claim_text(claims, "cred") if "cred" in claims else None
    tenant = tokens.claim_text(claims, "tenant")
    found = await _looked_up(runtime, ("token", tenant, credential),
                             lambda conn: tenants.token_access(conn, tenant, credential))
    if found is None:
        raise tokens.TokenRefused("token names an unknown tenant", "tenant")
    access, secret_hash = found.access, found.secret_hash
    if found.revoked_before is not None and not (
            isinstance(claims.get("iat"), int | float)
            and claims["iat"] >= found.revoked_before.timestamp()):
        raise tokens.TokenRefused("the tenant's tokens issued before "
                                  f"{found.revoked_before.isoformat()} are revoked", "revoked")
    vouched_by = None
    if credential is not None:
        if not _still_traded(secret_hash, claims):
            raise tokens.TokenRefused("the credential this token was issued for is revoked, "
                                      "or its secret was rotated", "revoked")
        vouched_by = (credential, secrets.fingerprint(secret_hash))
    if "by" in claims:
        vouched_by = await _minter(runtime, tokens.claim_text(claims, "by"),
                                   str(claims.get("by_sec")))
    subject = tokens.claim_text(claims, "sub")
    return _principal(access, subject, expand(str(claims["scope"]).split()),
                      authority_for(settings.base_url, subject), vouched_by=vouched_by)


async def _minter(runtime: Runtime, key: str, fingerprint: str) -> tuple[str, str]:
    """The admin credential that minted a token (/admin/tokens), which must
    still be active, hold the secret it held then, and the admin scope."""
    row = await _looked_up(runtime, ("key", key),
                           lambda conn: tenants.credential_for_key(conn, key))
    if (row is None or secrets.fingerprint(row.secret_hash) != fingerprint
            or ADMIN_SCOPE not in row.scopes):
        raise tokens.TokenRefused("the credential that issued this token is revoked, "
                                  "or its secret was rotated", "revoked")
    return key, fingerprint


def _still_traded(secret_hash: bytes | None, claims: dict) -> bool:
    """Whether the credential a token was traded for is active (`secret_hash`
    is its stored one) and holds the secret it was traded with. Tokens
    issued before the `sec` claim existed name no secret: they stay good
    until they expire, as they were."""
    if secret_hash is None:
        return False
    return "sec" not in claims or secrets.fingerprint(secret_hash) == str(claims["sec"])


async def _trusted_issuer(runtime: Runtime, claims: dict) -> tuple[TrustedIssuer, TenantAccess]:
    """The agency's identity provider a token's `iss` names, as configured
    now (the tenant claim picks among agencies sharing one IdP)."""
    issuer_name = claims.get("iss")
    if not isinstance(issuer_name, str) or not tokens.storable_text(issuer_name):
        raise tokens.TokenRefused("token has no issuer", "issuer")
    candidates = await _looked_up(runtime, ("issuer", issuer_name),
                                  lambda conn: issuers.for_issuer(conn, issuer_name))
    if len(candidates) > 1:
        # One IdP serving several agencies: its tenant claim picks one.
        candidates = [(i, a) for i, a in candidates if claims.get(i.tenant_claim) == a.tenant]
    if len(candidates) != 1:
        raise tokens.TokenRefused("token issuer is not trusted", "issuer")
    return candidates[0]


async def _not_a_key(runtime: Runtime, subject: str) -> None:
    """Refuse an IdP subject that is the key of a key/secret credential.
    statements/read/mine matches the credential a statement was stored
    under: the key, or the subject. An IdP user named like one of the
    agency's platforms would read the platform's statements as their own.
    Keys are random (lrs.auth.secrets.new_key), so no IdP names its users
    that by chance, and a key made later cannot have been aimed at. Revoked
    keys count: their statements stay stored under them."""
    if subject.startswith(tokens.OWN_SUBJECT_PREFIXES):
        # Nor the subject the LRS gives its own tokens when told none
        # (fuzz round 7: an IdP user `cli:A` read the CLI token's statements).
        raise tokens.TokenRefused("the token's subject has the form of the LRS's own tokens' "
                                  f"({' or '.join(tokens.OWN_SUBJECT_PREFIXES)}...)", "subject")
    if await _looked_up(runtime, ("key issued", subject),
                        lambda conn: tenants.key_issued(conn, subject)):
        raise tokens.TokenRefused("the token's subject is the key of a key/secret credential "
                                  "of this LRS", "subject")


def _idp_context(runtime: Runtime, trusted: TrustedIssuer, access: TenantAccess) -> tuple:
    """What an IdP's token was verified against: its issuer's whole
    configuration (keys, algorithms, audience, claim names) and agency."""
    return ("idp", trusted, access.tenant, runtime.settings.jwt_audience)


async def _verify_idp_token(runtime: Runtime, token: str, trusted: TrustedIssuer,
                            access: TenantAccess) -> dict:
    settings = runtime.settings
    key = (load_pem_public_key(trusted.public_key.encode()) if trusted.public_key
           else await jwks.signing_key(trusted.jwks_url, token,
                                       lifespan=settings.jwks_refresh_seconds,
                                       max_stale=settings.jwks_max_stale_seconds))
    claims = tokens.verify(
        token, key, issuer=trusted.issuer, audience=trusted.audience or settings.jwt_audience,
        leeway=settings.jwt_leeway,
        algorithms=[a for a in trusted.algorithms if a in tokens.EXTERNAL_ALGORITHMS],
        required=["exp", "iss", "aud", trusted.subject_claim])
    if trusted.tenant_claim in claims and claims[trusted.tenant_claim] != access.tenant:
        raise tokens.TokenRefused("token is for another tenant", "tenant")
    return claims


def _idp_principal(runtime: Runtime, trusted: TrustedIssuer, access: TenantAccess,
                   claims: dict) -> Principal:
    granted = claims.get(trusted.scope_claim, "")
    # A string of scopes, or a list of them (Azure's `roles`); anything else
    # grants nothing.
    requested = (granted.split() if isinstance(granted, str)
                 else [g for g in granted if isinstance(g, str)] if isinstance(granted, list)
                 else [])
    subject = tokens.claim_text(claims, trusted.subject_claim)
    # The IdP's subject, on the IdP's home page when its issuer is a URL.
    is_url = trusted.issuer.startswith(("https://", "http://"))
    home = trusted.issuer if is_url else runtime.settings.base_url
    return _principal(access, subject, expand([s for s in requested if s in SCOPES]),
                      authority_for(home, subject))


def _principal(access: TenantAccess, credential: str, scopes: frozenset[str],
               authority: dict, vouched_by: tuple[str, str] | None = None) -> Principal:
    rate = None
    if access.rate_limit_per_second is not None:
        burst = access.rate_limit_burst or max(1, int(access.rate_limit_per_second))
        rate = (access.rate_limit_per_second, burst)
    return Principal(tenant_id=access.tenant_id, tenant=access.tenant, credential=credential,
                     scopes=scopes, authority=authority,
                     cors_origins=tuple(access.cors_origins), rate_limit=rate,
                     vouched_by=vouched_by)


def _refused(message: str, reason: str) -> Unauthorized:
    metrics.AUTH_FAILURES.labels(reason=reason).inc()
    return Unauthorized(message, headers=_CHALLENGE)
