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
  is judged on the next one's;
- a request answered before its body came (401, 413 on its Content-Length)
  leaves the body to be read and dropped, so that the connection can serve
  the next request. uvicorn set no bound on it, in bytes or in time (any
  byte that came stopped its keep-alive timeout, and nothing restarted it):
  after a 413 on a Content-Length of 10**15 it read 13-17 GB in 8 s, and a
  client that sent one more byte held its connection for ever. The body
  left gets the rule a body has (LRS_BODY_TIMEOUT_SECONDS, plus 1 s for
  every LRS_BODY_MIN_RATE bytes), and at most twice LRS_MAX_BODY_BYTES of
  it (1 MiB at least) are read: past either, the connection closes. A request that asked for a
  `100 Continue` and was answered without it is answered with `Connection:
  close` (RFC 9110 10.1.1), as its client may not send the body at all,
  and so is one whose Content-Length is past what may be read of it;
- bytes that are no request (a stray CRLF between requests) no longer stop
  the keep-alive timeout: it runs on from the last answer;
- a chunked body's trailer fields take no more than the headers may
  (LRS_MAX_HEADER_BYTES; 431): httptools holds an unfinished one and copies
  it again at every read, and one without end held a worker's loop for
  seconds at a time and grew it by 180 MB.
"""

from __future__ import annotations

import functools
from asyncio import TimerHandle
from collections import deque
from typing import Any

from lrs import metrics
from lrs.config import Settings
from lrs.http.http11 import Http11Protocol, StopParsing
from lrs.store.db import RETRY_AFTER


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's options for serving with these limits: its protocol,
    picklable for `--workers N`; no WebSocket, which the LRS does not speak
    (with it, an `Upgrade: websocket` request was handed to another
    protocol, outside these limits, and answered 403 without the LRS); and
    the keep-alive timeout."""
    return {"http": functools.partial(
        LimitedHttpProtocol, header_timeout=settings.header_timeout_seconds,
        max_header_bytes=settings.max_header_bytes, max_body_bytes=settings.max_body_bytes,
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


class LimitedHttpProtocol(Http11Protocol):
    """uvicorn's httptools protocol, as lrs.http.http11 corrects it, with the
    limits of the module docstring."""

    def __init__(self, *args: Any, header_timeout: float, max_connections: int,
                 drain_grace: float, drain_rate: int, max_header_bytes: int = 65536,
                 max_body_bytes: int = 52428800, **kwargs: Any) -> None:
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
        # What may be read of a body left unread by its answer: enough for
        # a client that sends a body past the limit whole before it reads
        # the 413 (httpx does), as closing on it could lose the 413.
        self._max_dropped = max(2 * max_body_bytes, 1 << 20)
        # A body left unread by its answer: when that answer was complete,
        # and how much of the body came since (see _dropping).
        self._dropped_since = 0.0
        self._dropped = 0
        self._drop_deadline: TimerHandle | None = None
        # Bytes received, read after read, that gave the body being read
        # nothing: a chunked body's trailer fields, which httptools holds
        # until each is whole (see data_received).
        self._bodiless = 0
        self._body_parts = 0  # on_body calls so far
        self._idle_since = 0.0  # when the last answer was complete
        self._header_deadline: TimerHandle | None = None
        self._drain_deadline: TimerHandle | None = None
        # (bytes written when a response completed, when they must be sent
        # by), oldest first; both rise along it (_expect_sent).
        self._drain_due: deque[tuple[int, float]] = deque()
        self._written = 0  # bytes the request cycles wrote to the transport

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
        for deadline in (self._drain_deadline, self._drop_deadline):
            if deadline is not None:
                deadline.cancel()
        metrics.HTTP_CONNECTIONS.dec()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._parsed_header_bytes = 0
        self._unused.pop(self, None)
        # On a kept-alive connection the deadline runs from the request's
        # first byte (uvicorn's keep-alive timeout covers the wait for it).
        if self._header_deadline is None:
            self._arm_header_deadline()

    def data_received(self, data: bytes) -> None:  # type: ignore[override]
        headed, begun, parts = self._headed, self._request_begun, self._body_parts
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
                and not self._stopped and not self.transport.is_closing()):
            self._header_bytes += len(data)
            if self._header_bytes > self._max_header_bytes:
                self._too_large()
        elif self._stopped or self.transport.is_closing():
            pass
        elif self._in_body():
            # Within a body, read or dropped. Trailer fields, which httptools
            # holds (and copies again at each read) until each is whole, grow
            # only in reads that give the body nothing.
            self._bodiless = self._bodiless + len(data) if self._body_parts == parts else 0
            if self._bodiless > self._max_header_bytes:
                metrics.CONNECTIONS_CLOSED.labels(reason="large_headers").inc()
                self._stop_in_body((431, "request_header_fields_too_large",
                                    f"the request's trailer fields exceed "
                                    f"{self._max_header_bytes} bytes", None))
            elif self._dropped > self._max_dropped and self._dropping():
                self._close_dropping()
        elif (self._between_requests() and self.cycle is not None
              and self.timeout_keep_alive_task is None):
            # Stopped by bytes that were no request (a stray CRLF): it runs
            # on from the last answer (a fresh connection has its header
            # deadline).
            self.timeout_keep_alive_task = self.loop.call_at(
                self._idle_since + self.timeout_keep_alive, self.timeout_keep_alive_handler)

    def _dropping(self) -> bool:
        """The last request was answered before its body came whole, and
        the rest of it is read to be dropped."""
        return self._in_body() and self._between_requests()

    def _close_dropping(self) -> None:
        metrics.CONNECTIONS_CLOSED.labels(reason="unread_body").inc()
        self.transport.close()

    def _check_dropping(self) -> None:
        self._drop_deadline = None
        if not self._dropping():
            return
        due = self._dropped_since + self._drain_grace + self._dropped / self._drain_rate
        if due <= self.loop.time():
            self._close_dropping()
        else:
            self._drop_deadline = self.loop.call_at(due, self._check_dropping)

    def on_body(self, body: bytes) -> None:
        self._body_parts += 1
        if self.cycle.response_complete:
            self._dropped += len(body)
        super().on_body(body)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        if self._drop_deadline is not None and self._message_complete:
            self._drop_deadline.cancel()
            self._drop_deadline = None

    def _too_large(self) -> None:
        metrics.CONNECTIONS_CLOSED.labels(reason="large_headers").inc()
        self._stop(self._headers_too_large())

    def _headers_too_large(self) -> tuple[int, str, str, None]:
        return (431, "request_header_fields_too_large",
                f"the request's line and headers exceed {self._max_header_bytes} bytes", None)

    def on_url(self, url: bytes) -> None:
        if len(self.url) + len(url) > self._max_header_bytes:
            raise StopParsing("large_headers", (
                414, "uri_too_long",
                f"the request's target exceeds {self._max_header_bytes} bytes", None))
        self._count_parsed(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._request_begun:  # else a trailer field, dropped (lrs.http.http11)
            self._count_parsed(len(name) + len(value) + 4)  # ": " and CRLF
        super().on_header(name, value)

    def _count_parsed(self, size: int) -> None:
        self._parsed_header_bytes += size
        if self._parsed_header_bytes > self._max_header_bytes:
            # Raised inside the parser's callback: httptools stops (lrs.http.http11).
            raise StopParsing("large_headers", self._headers_too_large())

    def on_headers_complete(self) -> None:
        cycle = self.cycle
        super().on_headers_complete()
        if self.cycle is cycle:
            return  # it asked for an upgrade: parsed again (lrs.http.http11)
        self._headed += 1
        self._header_bytes = self._bodiless = 0
        self._disarm_header_deadline()
        # The request's task has not run yet: its writes are counted from
        # the first, so that what the client has taken in is known.
        self.cycle.transport = _CountedWrites(
            self.transport, self, hold_head=self.cycle.scope["method"] != "HEAD",
            closes_if_early=self.cycle if self._closes_if_early() else None)

    def _closes_if_early(self) -> bool:
        """Whether an answer given before this request's body came closes
        the connection: it asked for a 100 Continue (its client may not
        send the body), or its body is longer than what may be dropped
        (_max_dropped: the connection would close in the middle of it)."""
        if self.expect_100_continue:
            return True
        length = next((v for n, v in self.headers if n == b"content-length"), b"0")
        # (Leading zeros first: int() refuses more than 4,300 digits, and
        # httptools takes any number of them.)
        digits = length.lstrip(b"0")
        return digits.isdigit() and (len(digits) > 20 or int(digits) > self._max_dropped)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._idle_since = self.loop.time()
        if self._dropping() and self._drop_deadline is None:
            self._unset_keepalive_if_required()  # the body's deadline instead
            self._dropped_since, self._dropped = self._idle_since, 0
            self._drop_deadline = self.loop.call_later(self._drain_grace, self._check_dropping)
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
        if self.transport.is_closing() or self._stopped:  # what _stop left to say stands
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
    client waits for it to send the body. A request answered before its
    body came, whose connection must then close (`closes_if_early`: its
    cycle; LimitedHttpProtocol._closes_if_early), is answered with
    `Connection: close`."""

    __slots__ = ("_transport", "_protocol", "_head", "_hold", "_closes_if_early")

    def __init__(self, transport: Any, protocol: LimitedHttpProtocol, *, hold_head: bool,
                 closes_if_early: Any = None) -> None:
        self._transport, self._protocol = transport, protocol
        self._head: bytes | None = None
        self._hold = hold_head  # the next write, unless a 100 Continue, is the head
        self._closes_if_early = closes_if_early

    def write(self, data: bytes) -> None:
        if self._closes_if_early is not None:
            data = self._closing_if_early(data)
        self._protocol._written += len(data)
        if self._head is not None:
            head, self._head = self._head, None
            self._transport.writelines((head, data))
        elif self._hold and not data.startswith(_CONTINUE):
            self._hold = False
            self._head = data
        else:
            self._transport.write(data)

    def _closing_if_early(self, data: bytes) -> bytes:
        cycle, self._closes_if_early = self._closes_if_early, None
        body_came = self._protocol.cycle is cycle and self._protocol._message_complete
        if data.startswith(_CONTINUE) or body_came or not cycle.keep_alive:
            return data
        cycle.keep_alive = False  # closed once this answer is sent
        return data[:-2] + b"connection: close\r\n\r\n"  # before the head's blank line

    def close(self) -> None:
        if self._head is not None:
            head, self._head = self._head, None
            self._transport.write(head)
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


_CONTINUE = b"HTTP/1.1 100 "
