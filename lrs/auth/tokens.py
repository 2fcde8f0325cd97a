"""JWTs the LRS issues and accepts (HS256 with the LRS's signing key).

Verification pins the algorithm list, so `alg: none` and HS/RS confusion
are refused by PyJWT itself; audience, issuer, expiry and not-before are
required claims."""

from __future__ import annotations

import time
import uuid

import jwt

from lrs.errors import Unauthorized

ALGORITHM = "HS256"
_REQUIRED = ["exp", "iat", "iss", "aud", "sub", "tenant", "scope"]


class TokenRefused(Unauthorized):
    """401 for a bearer token; `reason` is the bounded metric label."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message, headers={"WWW-Authenticate": 'Bearer realm="lrs"'})
        self.reason = reason


# What an agency's identity provider may sign with. Never HS* (a shared
# secret is not how an IdP works, and HS with a public key as the secret is
# the classic confusion attack) and never `none`.
EXTERNAL_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
                                 "ES256", "ES384", "ES512", "EdDSA"})


def issue(key: bytes, *, issuer: str, audience: str, tenant: str, subject: str,
          scopes: list[str], ttl: int, now: float | None = None,
          credential: str | None = None, secret_fingerprint: str | None = None,
          minted_by: tuple[str, str] | None = None) -> str:
    now = time.time() if now is None else now
    claims = {
        "iss": issuer,
        "aud": audience,
        "sub": subject,
        "tenant": tenant,
        "scope": " ".join(scopes),
        "iat": int(now),
        "nbf": int(now),
        "exp": int(now) + ttl,
        "jti": uuid.uuid4().hex,
    }
    if credential is not None:
        # Tokens traded for a key/secret die with that credential, and with
        # its secret when that is rotated (lrs.auth.secrets.fingerprint).
        claims["cred"] = credential
        if secret_fingerprint is not None:
            claims["sec"] = secret_fingerprint
    if minted_by is not None:
        # Tokens an operator minted through /admin/tokens die with the
        # credential (key, secret fingerprint) that minted them.
        claims["by"], claims["by_sec"] = minted_by
    return jwt.encode(claims, key, algorithm=ALGORITHM)


def peek(token: str) -> dict:
    """The unverified claims, only to pick the key to verify with."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        raise TokenRefused("token is malformed", "malformed") from None
    if not isinstance(claims, dict):
        raise TokenRefused("token is malformed", "malformed")
    return claims


def verify(token: str, key: object, *, issuer: str, audience: str, leeway: int,
           algorithms: list[str] | None = None, required: list[str] | None = None) -> dict:
    """The token's claims, or 401 with the reason it was refused. Without
    `algorithms`, only the LRS's own HS256."""
    try:
        return jwt.decode(
            token, key, algorithms=algorithms or [ALGORITHM], audience=audience, issuer=issuer,
            leeway=leeway, options={"require": _REQUIRED if required is None else required})
    except jwt.ExpiredSignatureError:
        raise TokenRefused("token expired", "expired") from None
    except jwt.ImmatureSignatureError:
        raise TokenRefused("token not yet valid", "not_yet_valid") from None
    except jwt.InvalidAudienceError:
        raise TokenRefused("token audience is not this LRS", "audience") from None
    except jwt.InvalidIssuerError:
        raise TokenRefused("token issuer is not trusted", "issuer") from None
    except jwt.InvalidAlgorithmError:
        raise TokenRefused("token algorithm is not accepted", "algorithm") from None
    except jwt.InvalidSignatureError:
        raise TokenRefused("token signature is invalid", "signature") from None
    except jwt.InvalidKeyError:
        raise TokenRefused("token algorithm does not fit the issuer's key", "algorithm") from None
    except jwt.MissingRequiredClaimError as exc:
        raise TokenRefused(f"token lacks the {exc.claim!r} claim", "claims") from None
    except jwt.InvalidTokenError:
        raise TokenRefused("token is malformed", "malformed") from None
    except (TypeError, ValueError):
        # The key cannot verify that algorithm (an IdP's EC key named by an
        # RS256 token, an `oct` key in its set): PyJWT lets these through.
        raise TokenRefused("token algorithm does not fit the issuer's key", "algorithm") from None


# The subjects of the tokens the LRS issues without being told one: the
# CLI's (`lrs token issue`) and the admin API's (/admin/tokens). An agency's
# IdP may not name its users so (lrs.http.auth): statements/read/mine goes
# by the subject, and such a user would read the tokens' statements.
OWN_ISSUERS = ("cli", "admin")


def own_subject(issued_by: str, tenant: str) -> str:
    """The subject of a token the CLI or the admin API (`issued_by`, one of
    OWN_ISSUERS) issues for `tenant` when it is told none."""
    return f"{issued_by}:{tenant}"


OWN_SUBJECT_PREFIXES = tuple(own_subject(by, "") for by in OWN_ISSUERS)

# A subject is stored with every statement it writes (1 to 255 characters,
# as /admin/tokens allows); tenant names and keys are shorter still.
MAX_CLAIM_TEXT = 255


def claim_text(claims: dict, name: str) -> str:
    """A claim that names something the LRS looks up or stores (the subject,
    tenant, credential): text PostgreSQL can hold (no U+0000, no lone
    surrogate), 1 to MAX_CLAIM_TEXT characters, not all blank (a blank
    subject is an IdP's mapping gone wrong, and would name no one in the
    statements' authority); numbers read as their text. Else 401: no such
    name can exist."""
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise TokenRefused(f"the token's {name!r} claim is not a string", "claims")
    text = str(value)
    if not (text.strip() and len(text) <= MAX_CLAIM_TEXT and storable_text(text)):
        raise TokenRefused(f"the token's {name!r} claim is not a name of 1 to "
                           f"{MAX_CLAIM_TEXT} characters of text, not all blank", "claims")
    return text


def storable_text(value: str) -> bool:
    """Whether PostgreSQL text can hold `value`: no U+0000, and no lone
    surrogate (JSON's \\u escapes can write both; UTF-8 cannot hold the
    second)."""
    if "\x00" in value:
        return False
    if value.isascii():
        return True
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


class VerifiedTokens:
    """Tokens already verified, by their exact text, with what they were
    verified against (`context`: the key, issuer and audience of the LRS's
    own, or the trusted issuer of an agency's identity provider).

    A client sends the same token with every request until it expires, and
    reading and verifying it (the unverified peek at its issuer, then the
    signature and every claim: 27 + 42 us in a loop here for the LRS's own
    HS256, 27 + 95 for an IdP's RS256 or ES256) made a single-statement POST
    with a Bearer token cost the LRS 607-718 us of CPU against 447-463 with
    this (docs/benchmarks.md). The same text verified against the same
    context is the same verdict, except for what time changes: the expiry,
    checked again on every hit as PyJWT checks it, and, with `until`, how
    long the key it was verified with may be trusted (an IdP's published key
    set is fetched again every LRS_JWKS_REFRESH_SECONDS, lrs.jwks). The caller compares the
    context with the current one, and checks revocation each time as before.
    Bounded: cleared when full."""

    def __init__(self, limit: int = 10_000) -> None:
        self._limit = limit
        self._verified: dict[str, tuple[tuple, dict, float | None]] = {}

    def get(self, token: str, *, leeway: int, now: float | None = None
            ) -> tuple[tuple, dict] | None:
        """(context, claims) of a token verified before, or None; TokenRefused
        once it has expired."""
        found = self._verified.get(token)
        if found is None:
            return None
        context, claims, until = found
        now = time.time() if now is None else now
        if until is not None and now > until:
            del self._verified[token]
            return None  # verified afresh, with the key as it is now
        # As PyJWT reads `exp` (int() of it: "1796292634" too).
        if int(claims["exp"]) <= now - leeway:
            del self._verified[token]
            raise TokenRefused("token expired", "expired")
        return context, claims

    def put(self, token: str, context: tuple, claims: dict, *, until: float | None = None) -> None:
        if len(self._verified) >= self._limit:
            self._verified.clear()
        self._verified[token] = (context, claims, until)
