"""HTTP/1.1 where uvicorn's httptools protocol departed from it
(lrs.http.http11), and the bounds on a body its answer left unread
(lrs.http.connections), over raw sockets against real servers: what a
client sees on the connection, and what was stored."""

from __future__ import annotations

import socket
import time
import urllib.parse

import httpx
import orjson

from lrs.http.http11 import MAX_QUEUED
from tests.conftest import server_with
from tests.statements_support import new_id, statement

ABOUT = b"GET /xapi/about HTTP/1.1\r\nHost: lrs\r\n\r\n"


def _connect(url: str) -> socket.socket:
    parts = urllib.parse.urlsplit(url)
    return socket.create_connection((parts.hostname, parts.port), timeout=10)


def _request(method: str, target: str, tenant=None, body: bytes = b"",
             headers: tuple[str, ...] = ()) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "Host: lrs", "X-Experience-API-Version: 2.0.0",
             *([f"Authorization: {tenant.authorization}"] if tenant else []), *headers]
    if body and not any(h.lower().startswith("transfer-encoding") for h in headers):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _answers(sock: socket.socket) -> tuple[list[tuple[int, bytes, bytes]], bool]:
    """The answers (status, head, body) until the server closes the
    connection or goes quiet for 2 s, and whether it closed it."""
    sock.settimeout(2)
    data, closed = b"", False
    try:
        while chunk := sock.recv(65536):
            data += chunk
        closed = True
    except TimeoutError:
        pass
    except ConnectionResetError:
        closed = True
    answers = []
    while data:
        head, _, data = data.partition(b"\r\n\r\n")
        fields = dict(line.lower().split(b": ", 1) for line in head.split(b"\r\n")[1:])
        length = int(fields.get(b"content-length", b"0"))
        answers.append((int(head.split()[1]), head, data[:length]))
        data = data[length:]
    return answers, closed


def _seconds_until_closed(sock: socket.socket, last: bytes) -> float:
    """Send `last`, then how long until the server closes the connection."""
    sock.sendall(last)
    started = time.monotonic()
    sock.settimeout(10)
    while sock.recv(65536):
        pass
    return time.monotonic() - started


def _document_url(activity: str, state_id: str) -> str:
    agent = urllib.parse.quote(orjson.dumps({"mbox": "mailto:h11@example.org"}).decode())
    return (f"/xapi/activities/state?activityId={urllib.parse.quote(activity)}"
            f"&agent={agent}&stateId={state_id}")


def test_past_the_queue_limit_pipelined_requests_are_not_read(server):
    """A connection pipelining 200 requests in one write gets the one in
    flight and MAX_QUEUED more answered, in order, then the connection
    closes: uvicorn queued them all (a read of 256 KB, 7,000 requests), and
    one connection grew a worker by 1 GB in 6 s."""
    with _connect(server.url) as sock:
        sock.sendall(ABOUT * 200)
        answers, closed = _answers(sock)
    assert closed
    assert MAX_QUEUED + 1 <= len(answers) < 200, len(answers)
    assert {status for status, _, _ in answers} == {200}
    assert b"connection: close" in answers[-1][1].lower()


def test_a_request_asking_for_an_upgrade_is_served_with_its_body(server, tenant):
    """`Connection: Upgrade` and `Upgrade: h2c`, as curl --http2 sends them:
    the PUT's body is stored, and the request pipelined after it is answered
    (httptools skipped the body: an empty document was stored, answered 204,
    and the rest of the read was dropped)."""
    target = _document_url("http://example.org/h11/upgrade", new_id())
    body = b'{"kept": true}'
    with _connect(server.url) as sock:
        sock.sendall(_request("PUT", target, tenant, body, (
            "Connection: Upgrade, HTTP2-Settings", "Upgrade: h2c", "HTTP2-Settings: AAMAAABkAAQAAP__",
            "Content-Type: application/json"))
            + _request("GET", target, tenant, headers=("Connection: close",)))
        answers, closed = _answers(sock)
    assert [(status, stored) for status, _, stored in answers] == [(204, b""), (200, body)]
    assert closed


def test_a_malformed_request_behind_a_post_is_answered_after_it(server, tenant):
    """A statement POST and, pipelined behind it, a request httptools cannot
    parse: the POST's answer comes first, then the 400, then the close. The
    400 came alone, ahead of it: a client would post the statement again."""
    sent = statement(id=new_id())
    with _connect(server.url) as sock:
        sock.sendall(_request("POST", "/xapi/statements", tenant, orjson.dumps(sent),
                              ("Content-Type: application/json",))
                     + b"GET /xapi/about HTTP/1.1\r\nHost: lrs\r\nno colon here\r\n\r\n")
        answers, closed = _answers(sock)
    assert [status for status, _, _ in answers] == [200, 400], answers
    assert orjson.loads(answers[0][2]) == [sent["id"]]
    assert orjson.loads(answers[1][2])["error"]["code"] == "bad_request"
    assert closed


def test_headers_past_their_limit_behind_a_request_are_answered_after_it(settings, tenant):
    with server_with(settings.replace(max_header_bytes=4096)) as server:
        with _connect(server.url) as sock:
            sock.sendall(ABOUT + b"GET /xapi/about HTTP/1.1\r\nHost: lrs\r\nX-Big: "
                         + b"b" * 5000 + b"\r\n\r\n")
            answers, closed = _answers(sock)
    assert [status for status, _, _ in answers] == [200, 431], answers
    assert closed


def test_a_client_that_half_closes_after_its_request_gets_the_answer(server, tenant):
    """shutdown(SHUT_WR) after a complete request: no more requests, but the
    answer is awaited (RFC 9112 9.6). uvicorn closed at once and stored the
    statement unanswered."""
    sent = statement(id=new_id())
    with _connect(server.url) as sock:
        sock.sendall(_request("POST", "/xapi/statements", tenant, orjson.dumps(sent),
                              ("Content-Type: application/json",)))
        sock.shutdown(socket.SHUT_WR)
        answers, closed = _answers(sock)
    assert [(status, orjson.loads(body)) for status, _, body in answers] == [(200, [sent["id"]])]
    assert closed


def test_trailer_fields_are_not_taken_for_headers(server, tenant):
    """A chunked PUT without Content-Type whose trailer says
    application/json: the document is stored as the octet stream its headers
    made it (RFC 9110 6.5.1: a trailer is not merged into the headers)."""
    target = _document_url("http://example.org/h11/trailer", new_id())
    with _connect(server.url) as sock:
        sock.sendall(_request("PUT", target, tenant, b"", ("Transfer-Encoding: chunked",))
                     + b"5\r\nhello\r\n0\r\nContent-Type: application/json\r\n\r\n"
                     + _request("GET", target, tenant, headers=("Connection: close",)))
        answers, closed = _answers(sock)
    assert [status for status, _, _ in answers] == [204, 200], answers
    assert b"content-type: application/octet-stream" in answers[1][1].lower()
    assert answers[1][2] == b"hello"


def test_an_http_1_0_request_gets_no_100_continue(server, tenant):
    body = orjson.dumps(statement())
    head, _, _ = _request("POST", "/xapi/statements", tenant, body,
                          ("Content-Type: application/json", "Expect: 100-continue")
                          ).partition(b"\r\n\r\n")
    with _connect(server.url) as sock:
        sock.sendall(head.replace(b"HTTP/1.1", b"HTTP/1.0", 1) + b"\r\n\r\n")
        sock.settimeout(0.5)
        try:
            early = sock.recv(65536)
        except TimeoutError:
            early = b""
        assert early == b"", early  # RFC 9110 15.2: no 1xx to an HTTP/1.0 client
        sock.sendall(body)
        answers, _ = _answers(sock)
    assert [status for status, _, _ in answers] == [200], answers


def test_an_http_1_1_request_needs_one_valid_host(server):
    for head in (b"GET /xapi/about HTTP/1.1\r\n\r\n",
                 b"GET /xapi/about HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
                 b"GET /xapi/about HTTP/1.1\r\nHost: a b/c@d\r\n\r\n"):
        with _connect(server.url) as sock:
            sock.sendall(head)
            answers, closed = _answers(sock)
        assert [status for status, _, _ in answers] == [400], (head, answers)
        assert b"Host" in answers[0][2] and closed
    with _connect(server.url) as sock:  # HTTP/1.0 needs none
        sock.sendall(b"GET /xapi/about HTTP/1.0\r\n\r\n")
        assert [status for status, _, _ in _answers(sock)[0]] == [200]


def test_a_target_past_the_limit_is_414(settings):
    with server_with(settings.replace(max_header_bytes=2048)) as server:
        with _connect(server.url) as sock:
            sock.sendall(b"GET /xapi/about?x=" + b"a" * 2100 + b" HTTP/1.1\r\nHost: lrs\r\n\r\n")
            answers, closed = _answers(sock)
    assert [status for status, _, _ in answers] == [414], answers
    assert orjson.loads(answers[0][2])["error"]["code"] == "uri_too_long"


def test_a_body_its_answer_left_unread_is_read_within_bounds(settings, tenant):
    """After a 413 on its Content-Length, a body is read and dropped, so
    that the connection serves the next request; but no more than twice the
    body limit (1 MiB at least), and within the time a body has: after 413 on
    a Content-Length of 10**15 uvicorn read on for ever, and a client that
    sent one byte more and went quiet held its connection for ever."""
    limits = settings.replace(max_body_bytes=1000, body_timeout_seconds=1.0,
                              keep_alive_seconds=1.0)
    with server_with(limits) as server:
        head = _request("POST", "/xapi/statements", tenant, b"",
                        ("Content-Type: application/json", "Content-Length: 5000"))
        with _connect(server.url) as sock:  # the body, then the next request: served
            sock.sendall(head)
            time.sleep(0.2)
            sock.sendall(b"x" * 5000 + ABOUT)
            answers, _ = _answers(sock)
        assert [status for status, _, _ in answers] == [413, 200], answers

        with _connect(server.url) as sock:  # one byte of it, then nothing: closed in time
            sock.sendall(head)
            time.sleep(0.2)
            assert _seconds_until_closed(sock, b"x") < 5

        huge = head.replace(b"Content-Length: 5000", b"Content-Length: 1000000000000000")
        with _connect(server.url) as sock:  # a body without end: closed past 1 MiB
            sock.sendall(huge)
            sent = 0
            try:
                while sent < 64 << 20:
                    sock.sendall(b"x" * 65536)
                    sent += 65536
            except (BrokenPipeError, ConnectionResetError):
                pass
            assert sent < 64 << 20, "the server read 64 MB of a body it had refused"


def test_bytes_that_are_no_request_do_not_keep_a_connection_open(settings):
    with server_with(settings.replace(keep_alive_seconds=1.0)) as server:
        with _connect(server.url) as sock:
            sock.sendall(ABOUT)
            sock.recv(65536)
            assert _seconds_until_closed(sock, b"\r\n") < 4


def test_an_answer_before_a_100_continue_closes_the_connection(server, tenant):
    """A request that asked for a 100 Continue and is answered without one
    (401: no credentials) may never send its body: the answer says
    `Connection: close` (RFC 9110 10.1.1) and the connection closes, where
    the next request would have been read as that body."""
    with _connect(server.url) as sock:
        head, _, _ = _request("POST", "/xapi/statements", None, b"x" * 500, (
            "Content-Type: application/json", "Expect: 100-continue")).partition(b"\r\n\r\n")
        sock.sendall(head + b"\r\n\r\n")
        answers, closed = _answers(sock)
    assert [status for status, _, _ in answers] == [401], answers
    assert b"connection: close" in answers[0][1].lower() and closed


def test_a_half_close_behind_a_request_cut_short_answers_the_one_before(server, tenant):
    """A statement POST, a second POST whose body stops after 1 of 100
    bytes, then shutdown(SHUT_WR): the first is answered, the second is not
    run. (The first was stored, unanswered, and its client would post it
    again.)"""
    sent = statement(id=new_id())
    with _connect(server.url) as sock:
        sock.sendall(_request("POST", "/xapi/statements", tenant, orjson.dumps(sent),
                              ("Content-Type: application/json",))
                     + _request("POST", "/xapi/statements", tenant, b"",
                                ("Content-Type: application/json", "Content-Length: 100"))
                     + b"[")
        sock.shutdown(socket.SHUT_WR)
        answers, closed = _answers(sock)
    assert [(status, orjson.loads(body)) for status, _, body in answers] == [(200, [sent["id"]])]
    assert closed


def test_a_malformed_body_behind_a_request_is_answered_after_it(server, tenant):
    with _connect(server.url) as sock:
        sock.sendall(ABOUT + _request("POST", "/xapi/statements", tenant, b"", (
            "Content-Type: application/json", "Transfer-Encoding: chunked")) + b"zz\r\n")
        started = time.monotonic()
        answers, closed = _answers(sock)
    assert [status for status, _, _ in answers] == [200, 400], answers
    assert closed and time.monotonic() - started < 2  # not left to the keep-alive timeout


def test_an_upgrade_request_that_closes_the_connection_is_served(server, tenant):
    sent = statement(id=new_id())
    with _connect(server.url) as sock:
        sock.sendall(_request("POST", "/xapi/statements", tenant, orjson.dumps(sent), (
            "Content-Type: application/json", "Connection: upgrade, close", "Upgrade: h2c")))
        answers, closed = _answers(sock)
    assert [(status, orjson.loads(body)) for status, _, body in answers] == [(200, [sent["id"]])]
    assert closed


def test_trailer_fields_past_the_header_limit_get_431(settings, tenant):
    """A chunked body's last chunk, then a trailer field without end: 431
    once it passes LRS_MAX_HEADER_BYTES (it was held and copied again at
    every read, without bound, while the worker served others slower)."""
    with server_with(settings.replace(max_header_bytes=4096)) as server:
        with _connect(server.url) as sock:
            sock.sendall(_request("POST", "/xapi/statements", tenant, b"", (
                "Content-Type: application/json", "Transfer-Encoding: chunked"))
                + b"2\r\n[]\r\n0\r\nX-Trailer: ")
            try:
                for _ in range(20):
                    time.sleep(0.05)
                    sock.sendall(b"t" * 1024)
            except (BrokenPipeError, ConnectionResetError):
                pass
            answers, closed = _answers(sock)
    assert [status for status, _, _ in answers] == [431], answers
    assert closed


def test_a_body_longer_than_what_may_be_dropped_gets_its_413_and_a_close(settings, tenant):
    """httpx posts a 1.2 MB body against a limit of 1,000 bytes (past what
    is read of a refused body: 1 MiB here), then another request on the
    same client: the 413 says Connection: close, so the next request goes on
    a new connection and is answered (it failed on the closed one)."""
    with server_with(settings.replace(max_body_bytes=1000)) as server:
        with httpx.Client(base_url=server.url, auth=(tenant.key, tenant.secret),
                          headers={"X-Experience-API-Version": "2.0.0"}) as client:
            refused = client.post("/xapi/statements", content=b"x" * 1_200_000,
                                  headers={"Content-Type": "application/json"})
            assert refused.status_code == 413
            assert refused.headers["connection"] == "close"
            assert client.get("/xapi/about").status_code == 200
