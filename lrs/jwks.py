"""Signing keys of agencies' identity providers, fetched from their JWKS
URLs. PyJWT's client caches the key set (5 minutes) and refetches once on an
unknown `kid`; its fetch blocks, so it runs in a worker thread."""

from __future__ import annotations

import asyncio

import jwt

from lrs.auth.tokens import TokenRefused

_clients: dict[str, jwt.PyJWKClient] = {}


def _client(url: str) -> jwt.PyJWKClient:
    client = _clients.get(url)
    if client is None:
        client = _clients[url] = jwt.PyJWKClient(
            url, cache_jwk_set=True, lifespan=300, timeout=5, cooldown_duration=10)
    return client


async def signing_key(url: str, token: str) -> object:
    try:
        jwk = await asyncio.to_thread(_client(url).get_signing_key_from_jwt, token)
    except jwt.PyJWKClientConnectionError:
        raise TokenRefused("the issuer's key set could not be fetched", "jwks_unavailable") from None
    except (jwt.PyJWKClientError, jwt.DecodeError):
        raise TokenRefused("token is signed with a key the issuer does not publish",
                           "unknown_key") from None
    return jwk.key
