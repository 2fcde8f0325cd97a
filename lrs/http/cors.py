"""CORS for browser content that calls the xAPI directly (packages posting
with TinCanJS or xAPI.js from the learner's browser).

A preflight carries no credentials, so it is answered for an origin that
any tenant (or LRS_CORS_ORIGINS) allows. The real request is then answered
with Access-Control-Allow-Origin only when the caller's own tenant (or the
global setting) allows that origin: a browser page of agency A's origin
cannot read agency B's answers even with B's credentials. An answer given
to no one (GET /about, a 401, a version refused before authentication)
holds nothing of any tenant's, so it is readable by any tenant's origin, as
the preflight is: otherwise a browser client saw a failed request, not why
it failed, and could not learn the versions the LRS speaks."""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lrs.http.middleware import header
from lrs.store import tenants

ALLOW_METHODS = "GET, HEAD, PUT, POST, DELETE, OPTIONS"
ALLOW_HEADERS = ("Authorization, Content-Type, X-Experience-API-Version, If-Match, "
                 "If-None-Match, X-Request-ID, Accept-Language")
EXPOSE_HEADERS = ("ETag, Last-Modified, X-Experience-API-Version, "
                  "X-Experience-API-Consistent-Through, X-Request-ID, Retry-After")
_PREFIXES = ("/xapi/", "/oauth/")


class TenantOrigins:
    """The union of every tenant's origins, cached: reloaded every 30 s, and
    at most once a second when an origin is not in it (so a newly allowed
    origin works at once, and unknown origins cannot hammer the database)."""

    def __init__(self, db, ttl: float = 30.0, miss_ttl: float = 1.0) -> None:
        self._db, self._ttl, self._miss_ttl = db, ttl, miss_ttl
        self._origins: set[str] = set()
        self._loaded = -float("inf")

    async def any_tenant_allows(self, origin: str) -> bool:
        age = time.monotonic() - self._loaded
        if age > self._ttl or (origin not in self._origins and age > self._miss_ttl):
            async with self._db.connection() as conn:
                self._origins = await tenants.all_cors_origins(conn)
            self._loaded = time.monotonic()
        return origin in self._origins


class CORS:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        origin = header(scope, b"origin") if scope["type"] == "http" else None
        if origin is None or not scope["path"].startswith(_PREFIXES):
            await self.app(scope, receive, send)
            return
        runtime = scope["app"].state.runtime
        globally = "*" in runtime.settings.cors_origins or origin in runtime.settings.cors_origins
        if scope["method"] == "OPTIONS":
            await self._preflight(origin, globally or await runtime.services[
                "cors_origins"].any_tenant_allows(origin), send)
            return
        state = scope.setdefault("state", {})

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                principal = state.get("principal")
                allowed = globally or (
                    origin in principal.cors_origins if principal is not None
                    else await runtime.services["cors_origins"].any_tenant_allows(origin))
                headers = [*message.get("headers", []), (b"vary", b"Origin")]
                if allowed:
                    headers += [(b"access-control-allow-origin", origin.encode("latin-1")),
                                (b"access-control-expose-headers", EXPOSE_HEADERS.encode())]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_cors)

    @staticmethod
    async def _preflight(origin: str, allowed: bool, send: Send) -> None:
        headers = [(b"vary", b"Origin"), (b"content-length", b"0")]
        if allowed:
            headers += [(b"access-control-allow-origin", origin.encode("latin-1")),
                        (b"access-control-allow-methods", ALLOW_METHODS.encode()),
                        (b"access-control-allow-headers", ALLOW_HEADERS.encode()),
                        (b"access-control-max-age", b"600")]
        await send({"type": "http.response.start", "status": 204 if allowed else 403,
                    "headers": headers})
        await send({"type": "http.response.body", "body": b""})
