"""Key/secret pairs for HTTP Basic.

Secrets are 32 random bytes (256 bits), shown once and stored as SHA-256.
With that much entropy a single fast hash is as safe as a slow KDF is for a
password, and it costs microseconds, not the milliseconds that bcrypt costs
on every request."""

from __future__ import annotations

import hashlib
import hmac
import secrets


def new_key() -> str:
    return secrets.token_hex(10)


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def hash_secret(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def secret_matches(secret: str, stored_hash: bytes) -> bool:
    return hmac.compare_digest(hash_secret(secret), stored_hash)


def fingerprint(stored_hash: bytes) -> str:
    """A short digest of a credential's stored secret hash, carried by the
    tokens traded for it (the `sec` claim): rotating the secret changes it,
    and so ends those tokens. 64 bits of a hash of a hash of 256 random bits
    tell nothing of the secret to whoever reads a token."""
    return hashlib.sha256(stored_hash).hexdigest()[:16]
