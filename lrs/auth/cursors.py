"""`more` cursors: the whole query state, encrypted, signed and bound to the
tenant.

A cursor is base64url(nonce || ciphertext) "." base64url(HMAC-SHA256(key,
tenant || nonce || ciphertext)): the JSON state XORed with a keystream of
HMAC-SHA256(key, nonce || counter) blocks (a PRF in counter mode), then
signed (encrypt-then-MAC). It is stateless (any node reads it: the key is
shared through the database), cannot be altered, is worthless to another
tenant (the tenant id is part of what is signed but not of what is sent),
and says nothing: its position in store order is a sequence shared by all
tenants, and in the clear two of a tenant's cursors told how many
statements the others had stored in between (fuzz round 7)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time

import orjson

from lrs.errors import BadRequest

# xAPI 1.0.3 Data 2.5 (STGET-33): a more IRL works for at least 24 hours.
LIFETIME_SECONDS = 7 * 24 * 3600
NONCE_BYTES = 16


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, tenant_id: int, sealed: bytes) -> bytes:
    return hmac.new(key, b"more2:%d:" % tenant_id + sealed, hashlib.sha256).digest()


def _plain_mac(key: bytes, tenant_id: int, body: bytes) -> bytes:
    # The cursors of earlier versions, state in the clear: still read for
    # their lifetime, so that an upgrade does not end paging in progress.
    return hmac.new(key, b"more:%d:" % tenant_id + body, hashlib.sha256).digest()


def _xor_stream(key: bytes, nonce: bytes, data: bytes) -> bytes:
    stream = b"".join(hmac.new(key, b"more-stream:" + nonce + i.to_bytes(4, "big"),
                               hashlib.sha256).digest()
                      for i in range((len(data) + 31) // 32))
    n = len(data)
    return (int.from_bytes(data, "big") ^ int.from_bytes(stream[:n], "big")).to_bytes(n, "big")


def encode(key: bytes, tenant_id: int, state: dict, *, now: float | None = None) -> str:
    body = orjson.dumps({**state, "iat": int(time.time() if now is None else now)})
    nonce = secrets.token_bytes(NONCE_BYTES)
    sealed = nonce + _xor_stream(key, nonce, body)
    return f"{_b64(sealed)}.{_b64(_mac(key, tenant_id, sealed))}"


def decode(key: bytes, tenant_id: int, token: str, *, now: float | None = None) -> dict:
    """The state of a cursor this tenant was given, or 400."""
    invalid = BadRequest("the 'more' cursor is invalid or was issued to someone else",
                         field="more")
    sealed_part, _, mac_part = token.partition(".")
    try:
        sealed, mac = _unb64(sealed_part), _unb64(mac_part)
    except (binascii.Error, ValueError):
        raise invalid from None
    if hmac.compare_digest(mac, _mac(key, tenant_id, sealed)):
        nonce = sealed[:NONCE_BYTES]
        body = _xor_stream(key, nonce, sealed[NONCE_BYTES:])
    elif hmac.compare_digest(mac, _plain_mac(key, tenant_id, sealed)):
        body = sealed
    else:
        raise invalid
    state = orjson.loads(body)
    if (time.time() if now is None else now) - state.get("iat", 0) > LIFETIME_SECONDS:
        raise BadRequest("the 'more' cursor has expired; run the query again", field="more")
    return state
