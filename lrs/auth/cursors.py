"""`more` cursors: the whole query state, signed and bound to the tenant.

A cursor is base64url(JSON) "." base64url(HMAC-SHA256(key, tenant || JSON)).
It is stateless (any node verifies it: the key is shared through the
database), cannot be altered, and is worthless to another tenant: the
tenant id is part of what is signed but not of what is sent."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time

import orjson

from lrs.errors import BadRequest

# xAPI 1.0.3 Data 2.5 (STGET-33): a more IRL works for at least 24 hours.
LIFETIME_SECONDS = 7 * 24 * 3600


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, tenant_id: int, body: bytes) -> bytes:
    return hmac.new(key, b"more:%d:" % tenant_id + body, hashlib.sha256).digest()


def encode(key: bytes, tenant_id: int, state: dict, *, now: float | None = None) -> str:
    body = orjson.dumps({**state, "iat": int(time.time() if now is None else now)})
    return f"{_b64(body)}.{_b64(_mac(key, tenant_id, body))}"


def decode(key: bytes, tenant_id: int, token: str, *, now: float | None = None) -> dict:
    """The state of a cursor this tenant was given, or 400."""
    invalid = BadRequest("the 'more' cursor is invalid or was issued to someone else",
                         field="more")
    body_part, _, mac_part = token.partition(".")
    try:
        body, mac = _unb64(body_part), _unb64(mac_part)
    except (binascii.Error, ValueError):
        raise invalid from None
    if not hmac.compare_digest(mac, _mac(key, tenant_id, body)):
        raise invalid
    state = orjson.loads(body)
    if (time.time() if now is None else now) - state.get("iat", 0) > LIFETIME_SECONDS:
        raise BadRequest("the 'more' cursor has expired; run the query again", field="more")
    return state
