"""An xAPI request as the handlers see it, whichever syntax carried it.

xAPI 1.0.3 Communication 1.3 lets clients tunnel any request through a form
POST (`?method=PUT`, headers and parameters as form fields). Both syntaxes
become one XRequest; handlers never know which was used."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Iterable
from urllib.parse import parse_qsl

from starlette.datastructures import Headers
from starlette.requests import Request

from lrs import metrics
from lrs.auth.principal import Principal
from lrs.backlog import BEFORE_AUTHENTICATION, Hold, WriteBacklog
from lrs.errors import BadRequest, PayloadTooLarge, RequestTimeout, UnsupportedMediaType
from lrs.http.auth import authenticate
from lrs.http.middleware import OMIT_BODY
from lrs.runtime import Runtime
from lrs.xapi import alternate
from lrs.xapi.versions import HEADER, negotiate


@dataclasses.dataclass
class XRequest:
    request: Request
    method: str
    headers: Headers
    params: dict[str, str]
    _body: bytes | None = None
    _hold: Hold | None = None  # this request's bytes in the write backlog, once admitted

    @property
    def runtime(self) -> Runtime:
        return self.request.app.state.runtime

    async def body(self, limit: int) -> bytes:
        if self._body is None:
            self._body = await read_body(self.request, limit)
            if self._hold is not None:
                self._hold.shrink(len(self._body))
        elif len(self._body) > limit:
            raise _too_large(limit)
        return self._body

    @contextlib.asynccontextmanager
    async def admitted(self, principal: Principal, limit: int) -> AsyncIterator[None]:
        """Hold this write's size in the write backlog (lrs.backlog) for the
        block: admitted before its body is read, so by what Content-Length
        declares (413 past `limit`), or by the size of a body already read
        (an alternate-syntax form's content). A body without Content-Length
        holds the largest size until it has been read, then its own."""
        size = body_size(self.request, limit) if self._body is None else len(self._body)
        backlog: WriteBacklog = self.runtime.services["write_backlog"]
        async with backlog.admitted(principal.tenant, size) as self._hold:
            try:
                yield
            finally:
                self._hold = None

    def param(self, name: str) -> str | None:
        return self.params.get(name)

    def allow_params(self, allowed: Iterable[str], required: Iterable[str] = ()) -> None:
        """GEN-07/08: unknown parameters, and known ones in the wrong case,
        are rejected; so are missing required ones."""
        allowed = set(allowed)
        lowered = {name.lower(): name for name in allowed}
        for name in self.params:
            if name not in allowed:
                hint = f" (did you mean {lowered[name.lower()]!r}?)" if name.lower() in lowered else ""
                raise BadRequest(f"parameter {name!r} is not allowed here{hint}", field=name)
        for name in required:
            if name not in self.params:
                raise BadRequest(f"parameter {name!r} is required", field=name)


async def begin(request: Request, *scopes: str) -> tuple[XRequest, Principal, str]:
    """Version, then credentials, then scope: the checks every xAPI call makes."""
    runtime: Runtime = request.app.state.runtime
    if not alternate.is_alternate_request(request.method, request.query_params):
        return await _checked(request, runtime, scopes)
    # An alternate-syntax form carries the credentials, so it is read before
    # anyone is authenticated: its bytes take their turn in the write backlog
    # as a party of their own (lrs.backlog), so that senders without
    # credentials cannot fill a worker's memory with forms.
    size = body_size(request, runtime.settings.max_body_bytes)
    backlog: WriteBacklog = runtime.services["write_backlog"]
    async with backlog.admitted(BEFORE_AUTHENTICATION, size):
        return await _checked(request, runtime, scopes)


async def _checked(request: Request, runtime: Runtime, scopes: tuple[str, ...]
                   ) -> tuple[XRequest, Principal, str]:
    xreq = await _from_request(request, runtime.settings.max_body_bytes)
    version = negotiate(field(xreq.headers, HEADER))
    state = request.scope["state"]
    state["xapi_version"] = version
    principal = await authenticate(runtime, xreq.headers.get("authorization"))
    state["tenant"] = principal.tenant
    state["principal"] = principal
    metrics.series(metrics.TENANT_REQUESTS, principal.tenant).inc()
    runtime.services["rate_limiter"].check(principal)
    if scopes:
        principal.require(*scopes)
    return xreq, principal, version


async def _from_request(request: Request, limit: int) -> XRequest:
    if not alternate.is_alternate_request(request.method, request.query_params):
        params = _single_params(_query_items(request))
        return XRequest(request, request.method, request.headers, params)
    form = await read_body(request, limit)
    tunneled = alternate.parse_alternate_request(
        request.query_params, form, version_header=field(request.headers, HEADER))
    if tunneled.method == "HEAD":
        request.scope["state"][OMIT_BODY] = True
    # The real headers stand, but for those describing the form itself;
    # the form's header fields (Authorization, Content-Type, ...) win.
    outer = {k: v for k, v in request.headers.items() if k not in ("content-type", "content-length")}
    headers = Headers(headers={**outer, **{k.lower(): v for k, v in tunneled.headers.items()}})
    return XRequest(request, tunneled.method, headers, _single_params(tunneled.params.items()),
                    tunneled.content)


def field(headers: Headers, name: str) -> str | None:
    """A header as one value: RFC 9110 5.3, several field lines of one name
    are one comma-separated list (If-None-Match: "a" and If-None-Match: "b"
    are "a", "b"; two version lines are no one version)."""
    lines = headers.getlist(name)
    return ", ".join(lines) if lines else None


def _query_items(request: Request) -> list[tuple[str, str]]:
    """xAPI 1.0.3 Communication 1.4, 2.0 LRS 4.1.2 (GEN-05): parameters are
    UTF-8. Starlette turns a percent-escape that is not UTF-8 into U+FFFD,
    which names another agent, activity or document: it is a 400 instead."""
    try:
        query = request.scope.get("query_string", b"").decode("utf-8")
        return parse_qsl(query, keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        raise BadRequest("the query string is not UTF-8 once percent-decoded") from None


def _single_params(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    params: dict[str, str] = {}
    for name, value in items:
        if name in params:
            raise BadRequest(f"parameter {name!r} is given more than once", field=name)
        params[name] = value
    return params


def body_size(request: Request, limit: int) -> int:
    """The body's size before it is read: its Content-Length (413 if over
    `limit`), or `limit` when it declares none."""
    declared = request.headers.get("content-length")
    if declared is None or not (declared.isascii() and declared.isdigit()):
        return limit
    # Leading zeros stripped, and compared by length first: int() refuses
    # more than 4,300 digits.
    digits = declared.lstrip("0") or "0"
    if len(digits) > len(str(limit)) or int(digits) > limit:
        raise _too_large(limit)
    return int(digits)


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body: 413 past `limit`, 408 if it does not arrive in time
    (LRS_BODY_TIMEOUT_SECONDS, plus 1 s per LRS_BODY_MIN_RATE bytes received)."""
    body_size(request, limit)  # 413 at once for a declared size past the limit
    _uncompressed(request)
    settings = request.app.state.runtime.settings
    deadline = _BodyDeadline(settings.body_timeout_seconds, settings.body_min_rate)
    chunks = []
    try:
        async for chunk in request.stream():
            deadline.received += len(chunk)
            if deadline.received > limit:
                raise _too_large(limit)
            chunks.append(chunk)
    except asyncio.CancelledError:
        if not deadline.expired:
            raise
        asyncio.current_task().uncancel()
        declared = request.headers.get("content-length")
        raise RequestTimeout(
            f"the request body did not arrive in time: {deadline.received} of "
            f"{declared + ' declared' if declared else 'an unknown number of'} bytes in "
            f"{deadline.elapsed():.1f} s (a body has {settings.body_timeout_seconds:g} s, "
            f"plus 1 s for every {settings.body_min_rate} bytes received)",
            headers={"Connection": "close"}) from None
    finally:
        deadline.stop()
    return b"".join(chunks)


def _uncompressed(request: Request) -> None:
    """415 for a body with a content coding (RFC 9110 8.4, 15.5.16): it would
    otherwise be read as the statements or stored as the document it is
    not, compressed bytes and all."""
    codings = [c.strip().lower() for c in request.headers.get("content-encoding", "").split(",")]
    if any(c not in ("", "identity") for c in codings):
        raise UnsupportedMediaType(
            f"a request body with Content-Encoding {request.headers['content-encoding']!r} "
            "is not accepted: send it uncompressed", field="Content-Encoding",
            headers={"Accept-Encoding": "identity"})


class _BodyDeadline:
    """Cancels the task reading a body once the body is late: `grace`
    seconds, plus 1 s for every `rate` bytes received (as Apache's
    mod_reqtimeout MinRate). One timer, moved only when it goes off early:
    asyncio.timeout() with a reschedule per chunk cost 8-12 us a request
    here, this about 3 (docs/benchmarks.md, "Session 11")."""

    __slots__ = ("_loop", "_task", "_started", "_grace", "_rate", "_timer", "received",
                 "expired")

    def __init__(self, grace: float, rate: int) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        self._started = self._loop.time()
        self._grace, self._rate = grace, rate
        self.received = 0
        self.expired = False
        self._timer = self._loop.call_at(self._started + grace, self._check)

    def elapsed(self) -> float:
        return self._loop.time() - self._started

    def _check(self) -> None:
        due = self._started + self._grace + self.received / self._rate
        if self._loop.time() < due:
            self._timer = self._loop.call_at(due, self._check)
        else:
            self.expired = True
            self._task.cancel()

    def stop(self) -> None:
        self._timer.cancel()


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"request body exceeds the limit of {limit} bytes")
