"""Agencies' identity provider key sets (lrs.jwks) against a real JWKS
server on loopback: fetched once for many requests, fetched again when
old, kept while the provider is down (for LRS_JWKS_MAX_STALE_SECONDS) and
given up once it answers otherwise. The lifespan and retry interval are
shortened here (LRS_JWKS_REFRESH_SECONDS, and the module's retry interval
and timeout) so that the tests take seconds, not minutes."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from lrs import jwks
from lrs.auth.tokens import TokenRefused
from tests.idp import JWKSServer

LIFESPAN = 0.6
RETRY = 0.3


@pytest.fixture
def idp(monkeypatch):
    monkeypatch.setattr(jwks, "RETRY", RETRY)
    monkeypatch.setattr(jwks, "TIMEOUT", 0.5)
    monkeypatch.setattr(jwks, "_sets", {})
    server = JWKSServer()
    yield server
    server.stop()


def _key(idp: JWKSServer, kid: str | None):
    private = ec.generate_private_key(ec.SECP256R1())
    idp.publish(private, kid, "ES256")
    return private


def _token(private, kid: str | None) -> str:
    return jwt.encode({"sub": "platform"}, private, algorithm="ES256",
                      headers={"kid": kid} if kid else None)


async def _accepted(idp: JWKSServer, token: str, max_stale: float = 3600) -> bool:
    """Whether the key lrs.jwks hands out for `token` verifies it."""
    key = await jwks.signing_key(idp.url, token, lifespan=LIFESPAN, max_stale=max_stale)
    return jwt.decode(token, key, algorithms=["ES256"]) == {"sub": "platform"}


async def _refused(idp: JWKSServer, token: str, max_stale: float = 3600) -> str:
    with pytest.raises(TokenRefused) as refused:
        await jwks.signing_key(idp.url, token, lifespan=LIFESPAN, max_stale=max_stale)
    return refused.value.reason


def test_many_requests_at_once_share_one_fetch(idp):
    token = _token(_key(idp, "k1"), "k1")

    async def scenario():
        idp.delay = 0.2  # they all arrive while the first fetch is under way
        assert all(await asyncio.gather(*(_accepted(idp, token) for _ in range(20))))
        assert await _accepted(idp, token)

    asyncio.run(scenario())
    assert idp.fetches == 1


def test_an_old_key_set_is_fetched_again_and_a_withdrawn_key_refused(idp):
    first = _key(idp, "k1")

    async def scenario():
        assert await _accepted(idp, _token(first, "k1"))
        idp.keys.clear()
        second = _key(idp, "k2")  # the IdP rotated its key
        assert await _accepted(idp, _token(first, "k1"))  # not known yet: no fetch
        assert idp.fetches == 1
        await asyncio.sleep(LIFESPAN + 0.05)
        assert await _refused(idp, _token(first, "k1")) == "unknown_key"
        assert await _accepted(idp, _token(second, "k2"))
        assert idp.fetches == 2

    asyncio.run(scenario())


def test_while_the_idp_is_down_its_last_key_set_is_used_until_max_stale(idp, caplog):
    private = _key(idp, "k1")
    token = _token(private, "k1")

    async def scenario():
        assert await _accepted(idp, token)
        idp.status = 503
        await asyncio.sleep(LIFESPAN + 0.05)
        with caplog.at_level(logging.WARNING, logger="lrs.jwks"):
            assert await _accepted(idp, token, max_stale=LIFESPAN + 0.5)
        assert idp.fetches == 2
        assert "503" in caplog.text and "using the one fetched" in caplog.text
        # Failed fetches are retried every RETRY seconds, not by every request.
        for _ in range(10):
            assert await _accepted(idp, token, max_stale=LIFESPAN + 0.5)
        assert idp.fetches == 2
        await asyncio.sleep(0.5)  # past max_stale
        assert await _refused(idp, token, max_stale=LIFESPAN + 0.5) == "jwks_unavailable"
        idp.status = 200  # back: its keys count again at the next try
        await asyncio.sleep(RETRY)
        assert await _accepted(idp, token, max_stale=LIFESPAN + 0.5)

    asyncio.run(scenario())


def test_with_max_stale_zero_tokens_are_refused_once_the_set_is_old(idp):
    token = _token(_key(idp, "k1"), "k1")

    async def scenario():
        assert await _accepted(idp, token, max_stale=0)
        idp.stop()  # connections refused
        await asyncio.sleep(LIFESPAN + 0.05)
        assert await _refused(idp, token, max_stale=0) == "jwks_unavailable"

    asyncio.run(scenario())


def test_a_slow_idp_holds_up_one_request_not_all(idp):
    token = _token(_key(idp, "k1"), "k1")

    async def scenario():
        assert await _accepted(idp, token)
        await asyncio.sleep(LIFESPAN + 0.05)
        idp.delay = 2.0  # past the fetch timeout (0.5 s here)
        first = asyncio.create_task(_accepted(idp, token))
        await asyncio.sleep(0.1)
        started = time.monotonic()
        assert await _accepted(idp, token)  # the set in use: no wait for the fetch
        assert time.monotonic() - started < 0.2
        assert await first  # timed out, and used the set it had

    asyncio.run(scenario())


def test_an_unknown_key_id_fetches_again_at_most_every_retry_interval(idp):
    _key(idp, "k1")
    later = ec.generate_private_key(ec.SECP256R1())

    async def scenario():
        await asyncio.sleep(0)
        assert await _refused(idp, _token(later, "k2")) == "unknown_key"  # first fetch
        for _ in range(5):  # made-up key ids do not hammer the IdP
            assert await _refused(idp, _token(later, "k2")) == "unknown_key"
        assert idp.fetches == 1
        idp.publish(later, "k2", "ES256")  # the IdP's new key
        await asyncio.sleep(RETRY)
        assert await _accepted(idp, _token(later, "k2"))
        assert idp.fetches == 2

    asyncio.run(scenario())


def test_an_empty_key_set_is_an_answer_not_an_outage(idp):
    token = _token(_key(idp, "k1"), "k1")

    async def scenario():
        assert await _accepted(idp, token)
        idp.keys.clear()  # the IdP withdrew every key
        await asyncio.sleep(LIFESPAN + 0.05)
        assert await _refused(idp, token) == "unknown_key"

    asyncio.run(scenario())


def test_an_idp_never_reached_is_refused_at_once(idp):
    token = _token(ec.generate_private_key(ec.SECP256R1()), "k1")
    idp.stop()

    async def scenario():
        assert await _refused(idp, token) == "jwks_unavailable"
        started = time.monotonic()
        assert await _refused(idp, token) == "jwks_unavailable"  # not tried again yet
        assert time.monotonic() - started < 0.1

    asyncio.run(scenario())


def test_a_token_without_key_id_uses_the_only_key(idp):
    private = _key(idp, None)

    async def scenario():
        assert await _accepted(idp, _token(private, None))
        _key(idp, "k2")  # two keys now: a token must say which
        await asyncio.sleep(LIFESPAN + 0.05)
        assert await _refused(idp, _token(private, None)) == "unknown_key"

    asyncio.run(scenario())



def test_a_request_cancelled_during_the_first_fetch_does_not_block_the_next(idp):
    token = _token(_key(idp, "k1"), "k1")

    async def scenario():
        idp.delay = 0.3
        cancelled = asyncio.create_task(_accepted(idp, token))
        await asyncio.sleep(0.1)
        cancelled.cancel()  # e.g. the server shutting down
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        idp.delay = 0.0
        assert await _accepted(idp, token)  # fetched again, not "tried a moment ago"

    asyncio.run(scenario())


def test_a_failed_fetch_is_logged_without_credentials_or_query(idp, caplog):
    token = _token(_key(idp, "k1"), "k1")
    port = idp.httpd.server_address[1]
    url = f"http://operator:s3cret@127.0.0.1:{port}/jwks.json?api_key=hunter2"
    idp.status = 503

    async def scenario():
        with caplog.at_level(logging.WARNING, logger="lrs.jwks"), pytest.raises(TokenRefused):
            await jwks.signing_key(url, token, lifespan=LIFESPAN, max_stale=3600)

    asyncio.run(scenario())
    assert f"from http://127.0.0.1:{port}/jwks.json:" in caplog.text
    assert "s3cret" not in caplog.text and "hunter2" not in caplog.text


def test_an_idp_that_drips_its_answer_is_given_up_after_the_fetch_deadline(monkeypatch):
    """Found by fuzzing (session 35): the socket timeout bounds each read, so
    headers and then a byte every few seconds held requests without end."""
    monkeypatch.setattr(jwks, "_sets", {})
    monkeypatch.setattr(jwks, "TIMEOUT", 0.5)
    monkeypatch.setattr(jwks, "FETCH_DEADLINE", 1.0)
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def drip() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 1000\r\n\r\n")
            while not stop.wait(0.3):  # within TIMEOUT each time
                conn.sendall(b" ")

    threading.Thread(target=drip, daemon=True).start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/jwks"
    token = _token(ec.generate_private_key(ec.SECP256R1()), "k1")

    async def scenario() -> tuple[str, float]:
        started = time.monotonic()
        try:
            with pytest.raises(TokenRefused) as refused:
                await jwks.signing_key(url, token, lifespan=LIFESPAN, max_stale=3600)
            return refused.value.reason, time.monotonic() - started
        finally:
            # The fetch's thread still reads; closing the connection ends it,
            # which asyncio.run waits for.
            stop.set()

    try:
        reason, took = asyncio.run(scenario())
    finally:
        listener.close()
    assert reason == "jwks_unavailable"
    assert took < 3.0, took
