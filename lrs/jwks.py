"""Signing keys of agencies' identity providers, fetched from their JWKS
URLs: one key set per URL, shared by every request of the process.

- A key set is used for `lifespan` seconds after it was fetched
  (LRS_JWKS_REFRESH_SECONDS); then the first request that needs it fetches
  it again, and requests arriving meanwhile wait for that same fetch (one
  fetch per URL at a time).
- A token naming a key the set lacks (the IdP rotated its keys) fetches
  the set again, at most once every RETRY seconds per URL, so tokens with
  made-up key ids cannot make the LRS hammer the IdP.
- When a fetch fails (no connection, a timeout, an error status, a body
  that is not a JSON object), the set fetched last stays in use until it
  is `max_stale` seconds old (LRS_JWKS_MAX_STALE_SECONDS): an IdP that is
  down for a while must not stop an agency's platforms from recording
  learning, and an IdP that cannot be reached cannot withdraw a key either.
  Whatever the IdP does answer counts at once, an empty key set included.
  A failed fetch is retried at most every RETRY seconds, so requests do not
  each wait out a timeout.

The fetch itself is PyJWT's (http and https only, no redirects); it
blocks, so it runs in a worker thread."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
import time
import urllib.parse

import jwt
from jwt.exceptions import PyJWKSetError

from lrs import metrics
from lrs.auth.tokens import TokenRefused

log = logging.getLogger("lrs.jwks")

RETRY = 10.0  # seconds between fetches of one URL, after a failure or for an unknown key
TIMEOUT = 5.0  # seconds one socket operation of a fetch may take
FETCH_DEADLINE = 2 * TIMEOUT  # seconds a request waits for a whole fetch


@dataclasses.dataclass
class _KeySet:
    keys: dict[str | None, jwt.PyJWK] = dataclasses.field(default_factory=dict)
    fetched: float = -math.inf  # time.monotonic() when the last successful fetch ended
    tried: float = -math.inf  # when the last fetch ended, successful or not
    lock: asyncio.Lock = dataclasses.field(default_factory=asyncio.Lock)


_sets: dict[str, _KeySet] = {}


async def signing_key(url: str, token: str, *, lifespan: float, max_stale: float) -> object:
    """The key of `url`'s key set that `token` names in its `kid` header
    (or the set's only key, when the token names none)."""
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.DecodeError:
        raise TokenRefused("token is not a well-formed JWT", "malformed") from None
    entry = _sets.get(url) or _sets.setdefault(url, _KeySet())
    age = time.monotonic() - entry.fetched
    usable_for = max(lifespan, max_stale)
    # Past its lifespan the set is fetched again and this request waits for
    # it; but while another request's fetch is under way, a set the IdP's
    # outage would let us use anyway is used at once.
    if age > lifespan and not (entry.lock.locked() and age <= usable_for):
        await _refresh(url, entry)
        if time.monotonic() - entry.fetched > usable_for:
            raise TokenRefused("the issuer's key set could not be fetched", "jwks_unavailable")
    key = _find(entry.keys, kid)
    if key is None and time.monotonic() - entry.tried >= RETRY:
        await _refresh(url, entry)
        key = _find(entry.keys, kid)
    if key is None:
        raise TokenRefused("token is signed with a key the issuer does not publish",
                           "unknown_key")
    return key.key


def _find(keys: dict[str | None, jwt.PyJWK], kid: object) -> jwt.PyJWK | None:
    if kid is None and len(keys) == 1:
        return next(iter(keys.values()))
    return keys.get(kid) if isinstance(kid, str) else None


async def _refresh(url: str, entry: _KeySet) -> None:
    """Fetch `url`'s key set, unless another request's fetch ended while
    this one waited for it (that one counts), or the last fetch failed less
    than RETRY seconds ago."""
    asked = time.monotonic()
    async with entry.lock:
        failed = entry.tried > entry.fetched
        if entry.tried >= asked or (failed and asked - entry.tried < RETRY):
            return
        try:
            # TIMEOUT bounds each socket operation, not the whole fetch: an
            # IdP sending a byte every few seconds would hold requests without
            # end. The thread is left to finish; the requests go on.
            keys = await asyncio.wait_for(asyncio.to_thread(_download, url), FETCH_DEADLINE)
        except Exception as exc:  # noqa: BLE001 - any failure: keep the last set
            entry.tried = time.monotonic()
            metrics.JWKS_FETCHES.labels(outcome="failed").inc()
            age = entry.tried - entry.fetched
            log.warning("identity provider key set not fetched from %s: %s: %s; %s", _shown(url),
                        type(exc).__name__, exc,
                        f"using the one fetched {age:.0f} s ago" if math.isfinite(age)
                        else "no earlier one to use")
            return
        entry.keys = keys
        entry.fetched = entry.tried = time.monotonic()
        metrics.JWKS_FETCHES.labels(outcome="ok").inc()


def _shown(url: str) -> str:
    """`url` for the log: without credentials or a query, which could carry
    secrets."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:  # not a URL after all (the admin API checks new ones)
        return "(a malformed URL)"
    return f"{parts.scheme}://{parts.hostname}{f':{port}' if port else ''}{parts.path}"


def _download(url: str) -> dict[str | None, jwt.PyJWK]:
    """The signing keys `url` publishes now, by key id."""
    client = jwt.PyJWKClient(url, cache_jwk_set=False, timeout=TIMEOUT)
    try:
        jwk_set = client.get_jwk_set()
    except PyJWKSetError:
        return {}  # an answer, with no key this LRS can use: none is trusted
    return {k.key_id: k for k in jwk_set.keys if k.public_key_use in ("sig", None)}
