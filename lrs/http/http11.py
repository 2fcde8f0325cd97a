"""Where uvicorn's httptools protocol (0.55) departs from HTTP/1.1, and how
the LRS's protocol corrects it. Found by a review of the connection layer
from raw sockets (2026-12-03); each was seen on a running server:

- pipelined requests: uvicorn queued every request of a read (a read of
  256 KB of small requests queued 7,000 of them) and read on after each
  answer: one connection grew a worker by 1 GB in 6 s. Here at most
  MAX_QUEUED wait behind the one in flight; at the next, the parser stops,
  the ones queued are answered and the connection closes after them (RFC
  9112 9.3.2: a client sends again what was not answered);
- what the parser finds wrong in a pipelined request (a malformed request,
  headers past the limit) was answered at once, ahead of the answers due
  before it, which were lost (a client that sent its statement again stored
  it twice). It is answered after them, in order (RFC 9112 9.3.2);
- `Connection: upgrade` with `Upgrade:` (curl --http2 sends them on every
  http:// request): httptools skips such a request's body and stops, and
  uvicorn dropped the rest of the read. A PUT stored an empty document and
  answered 204. The LRS upgrades to nothing, so the request is parsed again
  as if Upgrade had not been sent (RFC 9110 7.8 lets a server ignore it);
- a client that half-closes after its request (shutdown(SHUT_WR)) means to
  send nothing more, not that it no longer waits (RFC 9112 9.6): uvicorn
  closed at once and the request, run all the same, went unanswered. Its
  answers are sent, then the connection closes;
- trailer fields of a chunked body were merged into the request's headers,
  which RFC 9110 6.5.1 forbids (a trailer set a stored document's
  Content-Type): they are dropped;
- an HTTP/1.0 request with `Expect: 100-continue` got a 100 Continue,
  which RFC 9110 10.1.1 and 15.2 rule out for HTTP/1.0;
- an HTTP/1.1 request without a Host, or with two, or with a Host that is
  not host[:port], was served: RFC 9112 3.2 says 400.
"""

from __future__ import annotations

import contextlib
import http
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from lrs import metrics
from lrs.http.errors import error_body
from lrs.xapi.versions import HEADER as VERSION_HEADER
from lrs.xapi.versions import V1

# Requests a connection may have waiting behind the one being answered.
# Clients that pipeline at all send a handful; each waiting one holds its
# request in memory, and its body as far as it has come.
MAX_QUEUED = 16

Answer = tuple[int, str, str, dict[str, str] | None]

# What RFC 3986 allows in a host (reg-name, IPv4, IP-literal) and a port.
_HOST_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                        b"-._~%!$&'()*+,;=:[]")


class StopParsing(Exception):
    """Raised in a parser callback at a request's head: the parser stops,
    nothing more is read, and the connection closes after the answers due,
    then `answer` (if any). `reason`: lrs_http_connections_closed_total's."""

    def __init__(self, reason: str, answer: Answer | None) -> None:
        super().__init__(reason, answer)
        self.reason, self.answer = reason, answer


class Http11Protocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the corrections of the module
    docstring."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._running: Any = None  # the request cycle being answered (uvicorn's
        # `cycle` is the one parsed last, which may be waiting behind it)
        self._request_begun = False  # a request's line and headers are coming
        self._message_complete = False  # the last request parsed has come whole
        self._stopped = False  # the parser stopped: what arrives is dropped
        self._last_answer: Answer | None = None  # sent once the answers due are
        # A request with Upgrade, to be parsed again without it: its method,
        # target, headers and version.
        self._upgrade: tuple[str, bytes, list[tuple[bytes, bytes]], str] | None = None

    # Reading

    def data_received(self, data: bytes) -> None:  # type: ignore[override]
        if self._stopped:
            return
        self._unset_keepalive_if_required()
        while data:
            try:
                self.parser.feed_data(data)
                return
            except httptools.HttpParserUpgrade as exc:
                data = self._without_upgrade() + data[exc.args[0]:]
            except httptools.HttpParserError as exc:
                self._parse_failed(exc)
                return

    def _without_upgrade(self) -> bytes:
        """The request that asked for an upgrade, as if it had not; for a
        new parser (the old one, after `Connection: close` or HTTP/1.0,
        would drop what follows)."""
        assert self._upgrade is not None
        method, target, headers, version = self._upgrade
        self._upgrade = None
        self.parser = httptools.HttpRequestParser(self)
        with contextlib.suppress(AttributeError):  # as uvicorn's, where httptools has it
            self.parser.set_dangerous_leniencies(lenient_data_after_close=True)
        lines = [method.encode() + b" " + target + b" HTTP/" + version.encode()]
        for name, value in headers:
            if name == b"upgrade":
                continue
            if name == b"connection":
                tokens = [t for t in value.split(b",") if t.strip().lower() != b"upgrade"]
                if not tokens:
                    continue
                value = b",".join(tokens)
            lines.append(name + b": " + value)
        return b"\r\n".join(lines) + b"\r\n\r\n"

    def _parse_failed(self, exc: Exception) -> None:
        cause = exc.__context__
        if isinstance(cause, StopParsing):
            metrics.CONNECTIONS_CLOSED.labels(reason=cause.reason).inc()
            self._stop(cause.answer)
            return
        metrics.CONNECTIONS_CLOSED.labels(reason="bad_request").inc()
        message = str(exc).rstrip(".").lower()
        answer = (400, "bad_request", f"the request is not valid HTTP/1.1 ({message})", None)
        if self._in_body():
            self._stop_in_body(answer)
        else:
            self._stop(answer)

    def _in_body(self) -> bool:
        """The request parsed last has come as far as its body, not whole."""
        return self.cycle is not None and not self._request_begun and not self._message_complete

    def _stop_in_body(self, answer: Answer) -> None:
        """Stop on what is wrong in the body of the request parsed last:
        answered in its place, after the answers due before it."""
        if self.pipeline and self.pipeline[0][0] is self.cycle:
            self._drop_queued()
        elif self.cycle.response_started:
            # Answered already (early, its body unread): it ends there.
            self._stop(None)
            return
        elif self.cycle is self._running:  # being answered: the request is this one
            self._answer_and_close(*answer)
            return
        self._stop(answer)

    def _drop_queued(self) -> None:
        """The request parsed last, queued and never started, is not run."""
        self.pipeline.popleft()
        self.cycle = self.pipeline[0][0] if self.pipeline else self._running
        self._message_complete = True  # of the request now `cycle`

    def _stop(self, answer: Answer | None) -> None:
        """Read no more; close after the answers due, then `answer`."""
        if self._stopped:  # what it was left to say stands
            return
        self._stopped = True
        self._last_answer = answer
        if not self._answers_due():
            self._close_with_last_answer()
        elif answer is None:
            # The last request queued (or the one in flight) closes it.
            last = self.pipeline[0][0] if self.pipeline else self._running
            last.keep_alive = False

    def _answers_due(self) -> bool:
        return bool(self.pipeline) or (self._running is not None
                                       and not self._running.response_complete)

    def _start_asgi_task(self, cycle: Any, app: Any) -> None:
        self._running = cycle
        super()._start_asgi_task(cycle, app)

    def _close_with_last_answer(self) -> None:
        if self._last_answer is not None:
            answer, self._last_answer = self._last_answer, None
            self._answer_and_close(*answer)
        elif not self.transport.is_closing():
            self.transport.close()

    def eof_received(self) -> bool | None:  # type: ignore[override]
        """The client half-closed: the answers due are sent, then the
        connection closes; at once if nothing is due, or if the request
        being answered is cut short (its body will not come)."""
        if self._stopped:
            return True if self._answers_due() else None
        if not self._answers_due():
            return None
        if self._in_body():  # cut short
            if self.pipeline and self.pipeline[0][0] is self.cycle:
                self._drop_queued()
            elif not self.cycle.response_started:
                return None  # the request being answered: it cannot be
        self._stop(None)
        return True if self._answers_due() else None  # open for the answers

    # Parser callbacks

    def on_message_begin(self) -> None:
        if len(self.pipeline) >= MAX_QUEUED:
            raise StopParsing("pipeline_full", None)
        super().on_message_begin()
        self._request_begun = True
        self._message_complete = False

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self._request_begun:
            return  # a trailer field (RFC 9110 6.5.1: not merged)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        http_version = self.parser.get_http_version()
        if self.parser.should_upgrade():
            method = self.parser.get_method().decode("ascii", "replace")
            if method == "CONNECT":
                raise StopParsing("bad_request", (405, "method_not_allowed",
                                                  "CONNECT is not served here", None))
            # Parsed again (data_received), as if it asked for no upgrade.
            self._upgrade = (method, self.url, self.headers, http_version)
            return
        if http_version == "1.0":
            self.expect_100_continue = False
        else:
            self._check_host()
        self._request_begun = False
        super().on_headers_complete()

    def _check_host(self) -> None:
        hosts = [value for name, value in self.headers if name == b"host"]
        if len(hosts) != 1 or not _HOST_BYTES.issuperset(hosts[0]):
            raise StopParsing("bad_request", (
                400, "bad_request", "an HTTP/1.1 request must carry exactly one Host header, "
                "a host and an optional port (RFC 9112 3.2)", None))

    def on_body(self, body: bytes) -> None:
        if self._upgrade is None:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._upgrade is None:
            self._message_complete = True
            super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._stopped and not self._answers_due() and not self.transport.is_closing():
            self._close_with_last_answer()

    # Answers outside a request cycle

    def _answer_and_close(self, status: int, code: str, message: str,
                          headers: dict[str, str] | None = None) -> None:
        """Answer with the one JSON error body (lrs.http.errors) outside any
        request cycle (none is due), then close. What else the client sent
        on this connection is not read. Whether the request was for the
        xAPI and in which version is not known: the version header says
        1.0.3, as lrs.http.middleware does for a request without one (1.0.3
        Communication 3.3: every response carries it)."""
        self._stopped = True
        body = error_body(status, code, message)
        head = [f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}",
                "content-type: application/json", f"content-length: {len(body)}",
                f"{VERSION_HEADER}: {V1}",
                *(f"{k.lower()}: {v}" for k, v in (headers or {}).items()), "connection: close"]
        self.transport.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        self.transport.close()
