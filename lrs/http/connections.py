"""Limits on HTTP connections, below the ASGI app: how long a request's
headers may take, how many connections a worker serves at once, and how
long a response may wait to be read.

uvicorn bounds the wait between requests on a kept-alive connection
(timeout_keep_alive), but nothing else before a request reaches the app: a
connection that opens and sends nothing, or sends its headers a byte at a
time, is held for ever (Slowloris), and there is no bound on how many are
open. Each one holds a file descriptor, and each request in flight its
memory. So, per connection (`server_options`: the protocol uvicorn serves
with):

- a request's headers must be complete within `header_timeout` seconds of
  its first byte, or of the connection's opening: else a connection that
  sent nothing is closed, and one that sent part of a request is answered
  408 and closed (as nginx's client_header_timeout and Apache's
  RequestReadTimeout header= do). Its body then has its own deadline
  (LRS_BODY_TIMEOUT_SECONDS, lrs.http.xrequest.read_body);
- a request's line and headers may take `max_header_bytes`: past that it is
  answered 431 (RFC 6585 5) and closed. The parser keeps what has come of
  them in memory, so without a bound every connection could hold as much as
  its client sent (16 MB of one header line was taken). Two counts: the
  bytes received in the reads after the one the request began in, while
  its headers are incomplete (which bounds the memory of headers trickling
  in, to the limit and one read), and what the parser hands over, line by
  line (which holds however the bytes came: headers complete in one read
  were not counted at all by the first);
- a worker keeps at most `max_connections` open. When one more arrives, the
  oldest connection that has not sent a byte makes room for it, else one
  kept alive between requests; only when every one is busy is the newcomer
  answered 503 with Retry-After and closed. Past the process's open-file
  limit the system itself would refuse connections (libuv then accepts and
  drops each at once): everyone, established clients included, lost service
  to a client that merely held connections open;
- a response the client does not take in is dropped with its connection:
  what is still unsent when the response is complete must be gone within
  LRS_BODY_TIMEOUT_SECONDS plus 1 s for every LRS_BODY_MIN_RATE bytes of it,
  the rule a request body has. A response is handed to the transport whole,
  so a client that asked for a page larger than the system's socket buffer
  and stopped reading held the rest in the worker's memory, and its
  connection, for ever: uvicorn's keep-alive timeout closes a connection
  only once what it holds has been sent. Each response on a connection has
  its own deadline: a client that took one in time and asked for the next
  is judged on the next one's.
"""

from __future__ import annotations

import functools
import http
from asyncio import TimerHandle
from collections import deque
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from lrs import metrics
from lrs.config import Settings
from lrs.http.errors import error_body
from lrs.store.db import RETRY_AFTER
from lrs.xapi.versions import HEADER as VERSION_HEADER
from lrs.xapi.versions import V1


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's options for serving with these limits: its protocol,
    picklable for `--workers N`; no WebSocket, which the LRS does not speak
    (with it, an `Upgrade: websocket` request was handed to another
    protocol, outside these limits, and answered 403 without the LRS); and
    the keep-alive timeout."""
    return {"http": functools.partial(
        LimitedHttpProtocol, header_timeout=settings.header_timeout_seconds,
        max_header_bytes=settings.max_header_bytes,
        max_connections=settings.max_connections, drain_grace=settings.body_timeout_seconds,
        drain_rate=settings.body_min_rate), "ws": "none",
        "timeout_keep_alive": settings.keep_alive_seconds}


def _unused_connections(server_state: Any) -> dict[Any, None]:
    """The worker's connections that have not sent a byte yet, oldest first
    (kept on uvicorn's state shared by the worker's protocols)."""
    unused = getattr(server_state, "lrs_unused_connections", None)
    if unused is None:
        unused = server_state.lrs_unused_connections = {}
    return unused


class LimitedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the limits of the module docstring."""

    def __init__(self, *args: Any, header_timeout: float, max_connections: int,
                 drain_grace: float, drain_rate: int, max_header_bytes: int = 65536,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timeout = header_timeout
        self._max_header_bytes = max_header_bytes
        # Bytes of the next request's line and headers received so far, and
        # how many requests' headers were complete (see data_received).
        self._header_bytes = 0
        self._headed = 0
        # The request line and header lines the parser handed over so far.
        self._parsed_header_bytes = 0
        self._max_connections = max_connections
        self._drain_grace, self._drain_rate = drain_grace, drain_rate
        self._header_deadline: TimerHandle | None = None
        self._drain_deadline: TimerHandle | None = None
        # (bytes written when a response completed, when they must be sent
        # by), oldest first; both rise along it (_expect_sent).
        self._drain_due: deque[tuple[int, float]] = deque()
        self._written = 0  # bytes the request cycles wrote to the transport
        self._request_begun = False

    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        super().connection_made(transport)
        metrics.HTTP_CONNECTIONS.inc()
        self._unused = _unused_connections(self.server_state)
        self._unused[self] = None
        self._arm_header_deadline()
        if len(self.connections) > self._max_connections:
            self._make_room()

    def _make_room(self) -> None:
        """Close a connection that is doing nothing, or else this new one."""
        victim = next((c for c in self._unused
                       if c is not self and not c.transport.is_closing()), None)
        if victim is None:  # a scan, but only when no connection is unused
            victim = next((c for c in self.connections if c is not self and c._between_requests()),
                          None)
        if victim is not None:
            metrics.CONNECTIONS_CLOSED.labels(reason="shed").inc()
            # Out of the running at once: it leaves `connections` only when
            # its close is done, and the next newcomer may come before that.
            self._unused.pop(victim, None)
            victim.transport.close()
            return
        metrics.CONNECTIONS_CLOSED.labels(reason="over_limit").inc()
        self._answer_and_close(503, "service_unavailable", "this server has "
                               f"{self._max_connections} connections open, all busy; retry",
                               RETRY_AFTER)

    def _between_requests(self) -> bool:
        return (not self._request_begun and not self.pipeline and not self.transport.is_closing()
                and (self.cycle is None or self.cycle.response_complete))

    def connection_lost(self, exc: Exception | None) -> None:
        self._unused.pop(self, None)
        self._disarm_header_deadline()
        if self._drain_deadline is not None:
            self._drain_deadline.cancel()
        metrics.HTTP_CONNECTIONS.dec()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._parsed_header_bytes = 0
        self._request_begun = True
        self._unused.pop(self, None)
        # On a kept-alive connection the deadline runs from the request's
        # first byte (uvicorn's keep-alive timeout covers the wait for it).
        if self._header_deadline is None:
            self._arm_header_deadline()

    def data_received(self, data: bytes) -> None:  # type: ignore[override]
        headed, begun = self._headed, self._request_begun
        super().data_received(data)
        # Counted only while one request's headers are still coming, chunk
        # after chunk (begun before this chunk and not complete): a chunk
        # that completes them may also hold its body, and a body's chunks
        # come after them. The chunk a request begins in may hold the tail
        # of the body before it (one answered before it was read, 413 on
        # its Content-Length): counted whole, that was answered 431. Its
        # header lines are counted by the parser's count; what it holds of
        # an unfinished line is at most one read (some 256 KB).
        if (begun and self._request_begun and self._headed == headed
                and not self.transport.is_closing()):
            self._header_bytes += len(data)
            if self._header_bytes > self._max_header_bytes:
                self._too_large()

    def _too_large(self) -> None:
        metrics.CONNECTIONS_CLOSED.labels(reason="large_headers").inc()
        self._answer_and_close(431, "request_header_fields_too_large",
                               f"the request's line and headers exceed {self._max_header_bytes} bytes")

    def on_url(self, url: bytes) -> None:
        self._count_parsed(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_parsed(len(name) + len(value) + 4)  # ": " and CRLF
        super().on_header(name, value)

    def _count_parsed(self, size: int) -> None:
        self._parsed_header_bytes += size
        if self._parsed_header_bytes > self._max_header_bytes:
            # Raised inside the parser's callback: httptools stops and raises
            # a parse error, which uvicorn answers with send_400_response.
            raise _HeadersTooLarge

    def on_headers_complete(self) -> None:
        self._headed += 1
        self._header_bytes = 0
        self._disarm_header_deadline()
        self._request_begun = False
        super().on_headers_complete()
        # The request's task has not run yet: its writes are counted from
        # the first, so that what the client has taken in is known.
        self.cycle.transport = _CountedWrites(self.transport, self,
                                              hold_head=self.cycle.scope["method"] != "HEAD")

    def on_response_complete(self) -> None:
        super().on_response_complete()
        unsent = self.transport.get_write_buffer_size()
        if unsent:
            self._expect_sent(self._written,
                              self.loop.time() + self._drain_grace + unsent / self._drain_rate)

    def _expect_sent(self, written: int, due: float) -> None:
        """What was written so far must have been sent by `due`. An earlier
        expectation due no sooner is implied by this one (it asks for fewer
        bytes), so it goes: the deadlines stay in order, and so few."""
        while self._drain_due and self._drain_due[-1][1] >= due:
            self._drain_due.pop()
        self._drain_due.append((written, due))
        if len(self._drain_due) == 1:  # the first due now: the check comes then
            if self._drain_deadline is not None:
                self._drain_deadline.cancel()
            self._drain_deadline = self.loop.call_at(due, self._check_taken)

    def _check_taken(self) -> None:
        self._drain_deadline = None
        sent = self._written - self.transport.get_write_buffer_size()
        while self._drain_due and self._drain_due[0][0] <= sent:
            self._drain_due.popleft()
        if not self._drain_due:
            return
        due = self._drain_due[0][1]
        if due <= self.loop.time():
            metrics.CONNECTIONS_CLOSED.labels(reason="slow_reader").inc()
            self.transport.abort()  # close() would wait for the client to read it all
        else:  # that one was taken in time; the next has until its own deadline
            self._drain_deadline = self.loop.call_at(due, self._check_taken)

    def _arm_header_deadline(self) -> None:
        self._header_deadline = self.loop.call_later(self._header_timeout, self._headers_late)

    def _disarm_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_late(self) -> None:
        self._header_deadline = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            # The request before it is still being answered: a 408 now would
            # land inside that answer. The connection closes after it instead.
            metrics.CONNECTIONS_CLOSED.labels(reason="slow_headers").inc()
            self.cycle.keep_alive = False
            return
        if not self._request_begun:
            # Opened and never used: closed as an idle kept-alive one is.
            metrics.CONNECTIONS_CLOSED.labels(reason="idle").inc()
            self.transport.close()
            return
        metrics.CONNECTIONS_CLOSED.labels(reason="slow_headers").inc()
        self._answer_and_close(408, "request_timeout", "the request's headers did not arrive "
                               f"within {self._header_timeout:g} s")

    def send_400_response(self, msg: str) -> None:
        """What httptools cannot parse (a malformed request line or header
        line): uvicorn answers text/plain without the xAPI version header;
        the LRS's one JSON error instead. Headers past the limit stop the
        parser the same way (_count_parsed)."""
        if self._parsed_header_bytes > self._max_header_bytes:
            self._too_large()
            return
        metrics.CONNECTIONS_CLOSED.labels(reason="bad_request").inc()
        self._answer_and_close(400, "bad_request", f"the request is not valid HTTP/1.1 "
                               f"({msg.rstrip('.').lower()})")

    def _answer_and_close(self, status: int, code: str, message: str,
                          headers: dict[str, str] | None = None) -> None:
        """Answer with the one JSON error body (lrs.http.errors) outside any
        request cycle (none is in flight), then close. What else the client
        sent on this connection is not read. Whether the request was for the
        xAPI and in which version is not known yet: the version header says
        1.0.3, as lrs.http.middleware does for a request without one (1.0.3
        Communication 3.3: every response carries it)."""
        body = error_body(status, code, message)
        head = [f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}",
                "content-type: application/json", f"content-length: {len(body)}",
                f"{VERSION_HEADER}: {V1}",
                *(f"{k.lower()}: {v}" for k, v in (headers or {}).items()), "connection: close"]
        self.transport.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        self.transport.close()


class _HeadersTooLarge(Exception):
    """A request's headers passed the limit (LimitedHttpProtocol._count_parsed)."""


class _CountedWrites:
    """A request cycle's view of the connection's transport that counts the
    bytes written through it into the protocol's `_written` (less what the
    transport still holds, that is what the client has taken in), and sends
    a response's status line and headers with its body.

    uvicorn writes the head, then the body: two sends, and two wake-ups of
    the client for one answer. So the head is held until the cycle's next
    write: GET /xapi/about then cost the server 180 against 195 us of CPU
    (bench/http_cost.py; docs/benchmarks.md, "Session 20"). uvicorn
    writes every body message, an empty one too, so the head waits no longer
    than the app's first; only to HEAD there is no body to write, and the
    head goes at once. A connection closed after the head (the app failed)
    sends it first, as before; a `100 Continue` goes out at once, as the
    client waits for it to send the body."""

    __slots__ = ("_transport", "_protocol", "_head", "_hold")

    def __init__(self, transport: Any, protocol: LimitedHttpProtocol, *, hold_head: bool) -> None:
        self._transport, self._protocol = transport, protocol
        self._head: bytes | None = None
        self._hold = hold_head  # the next write, unless a 100 Continue, is the head

    def write(self, data: bytes) -> None:
        self._protocol._written += len(data)
        if self._head is not None:
            head, self._head = self._head, None
            self._transport.writelines((head, data))
        elif self._hold and not data.startswith(_CONTINUE):
            self._hold = False
            self._head = data
        else:
            self._transport.write(data)

    def close(self) -> None:
        if self._head is not None:
            head, self._head = self._head, None
            self._transport.write(head)
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


_CONTINUE = b"HTTP/1.1 100 "
