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


def issue(key: bytes, *, issuer: str, audience: str, tenant: str, subject: str,
          scopes: list[str], ttl: int, now: float | None = None) -> str:
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
    return jwt.encode(claims, key, algorithm=ALGORITHM)


def verify(token: str, key: bytes, *, issuer: str, audience: str, leeway: int) -> dict:
    """The token's claims, or 401 with the reason it was refused."""
    try:
        return jwt.decode(
            token, key, algorithms=[ALGORITHM], audience=audience, issuer=issuer,
            leeway=leeway, options={"require": _REQUIRED})
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
    except jwt.MissingRequiredClaimError as exc:
        raise TokenRefused(f"token lacks the {exc.claim!r} claim", "claims") from None
    except jwt.InvalidTokenError:
        raise TokenRefused("token is malformed", "malformed") from None
