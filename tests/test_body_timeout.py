"""A request body that arrives too slowly (lrs.http.xrequest.read_body): it
has LRS_BODY_TIMEOUT_SECONDS plus 1 s for every LRS_BODY_MIN_RATE bytes
received, then gets 408, nothing stored, its connection closed, and gives
back its share of the write backlog."""

from __future__ import annotations

import socket
import time
import urllib.parse

import httpx
import orjson

from tests.conftest import server_with
from tests.statements_support import new_id, statement

XAPI = {"X-Experience-API-Version": "2.0.0"}


def _slow_server(settings):
    """Bodies get 1 s, plus 1 s for every 2,000 bytes received."""
    return server_with(settings.replace(body_timeout_seconds=1.0, body_min_rate=2_000))


def _batch(registration: str, count: int) -> bytes:
    return orjson.dumps([statement(context={"registration": registration})
                         for _ in range(count)])


def _stalled_post(url: str, tenant, body: bytes, sent: int) -> tuple[bytes, float, bytes]:
    """POST `body` with its Content-Length but send only its first `sent`
    bytes; return the raw answer, the seconds it took, and what the socket
    gave after the answer (b"" once the server has closed it)."""
    parts = urllib.parse.urlsplit(url)
    head = (f"POST /xapi/statements HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            f"Authorization: {tenant.authorization}\r\nX-Experience-API-Version: 2.0.0\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        started = time.monotonic()
        sock.sendall(head.encode() + body[:sent])
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        took = time.monotonic() - started
        after = sock.recv(65536)
    return answer, took, after


def test_a_body_that_stops_arriving_gets_408_stores_nothing_and_frees_its_share(
        settings, tenant):
    with _slow_server(settings) as server, httpx.Client(
            base_url=server.url, auth=(tenant.key, tenant.secret), headers=XAPI,
            timeout=30) as client:
        registration = new_id()
        body = _batch(registration, 20)
        answer, took, after = _stalled_post(server.url, tenant, body, sent=100)
        head, _, payload = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 408"), answer
        assert b"connection: close" in head.lower()
        error = orjson.loads(payload)["error"]
        assert error["code"] == "request_timeout"
        assert f"100 of {len(body)} declared bytes" in error["message"]
        assert "1 s, plus 1 s for every 2000 bytes" in error["message"]
        # 1 s, plus 0.05 s for the 100 bytes that came.
        assert 1.0 <= took < 2.5, took
        assert after == b""  # the connection is closed
        r = client.get("/xapi/statements", params={"registration": registration})
        assert r.status_code == 200 and r.json()["statements"] == []
        metrics = httpx.get(f"{server.url}/metrics").text
        assert 'lrs_statements_rejected_total{reason="timeout"} 1.0' in metrics
        assert ('lrs_http_requests_total{method="POST",route="/xapi/statements",status="408"}'
                ' 1.0') in metrics  # what docs/operations.md's LRSSlowRequestBodies watches
        assert "lrs_write_backlog_bytes 0.0" in metrics


def test_a_slow_body_that_keeps_arriving_has_time_for_all_of_it(settings, tenant):
    with _slow_server(settings) as server, httpx.Client(
            base_url=server.url, auth=(tenant.key, tenant.secret), headers=XAPI,
            timeout=30) as client:
        registration = new_id()
        body = _batch(registration, 20)
        step = 1_000  # 1,000 bytes each 0.4 s: 2,500 bytes/s, over the 2,000 required

        def slowly():
            for at in range(0, len(body), step):
                yield body[at:at + step]
                time.sleep(0.4)

        started = time.monotonic()
        r = client.post("/xapi/statements", content=slowly(), headers={
            "Content-Type": "application/json", "Content-Length": str(len(body))})
        took = time.monotonic() - started
        assert r.status_code == 200, r.text
        assert took > 2.0, took  # well past the first 1 s
        stored = client.get("/xapi/statements", params={"registration": registration})
        assert len(stored.json()["statements"]) == 20
