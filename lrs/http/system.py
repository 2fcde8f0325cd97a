"""Operational endpoints outside the xAPI: /health, /ready, /metrics."""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from lrs import metrics
from lrs.errors import Unauthorized
from lrs.runtime import Runtime


async def health(request: Request) -> Response:
    """The process is alive and answering (no dependency is checked)."""
    return JSONResponse({"status": "ok"})


async def ready(request: Request) -> Response:
    """Ready to serve: the database answers. 503 otherwise."""
    runtime: Runtime = request.app.state.runtime
    if await runtime.db.ping():
        return JSONResponse({"status": "ready", "database": "ok"})
    return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)


async def prometheus(request: Request) -> Response:
    """Every worker's metrics. Their labels name tenants and their volumes,
    so with LRS_METRICS_TOKEN set only a scraper holding it may read them."""
    runtime: Runtime = request.app.state.runtime
    token = runtime.settings.metrics_token
    # RFC 9110 11.1: the scheme's name is case-insensitive.
    scheme, _, sent = request.headers.get("authorization", "").partition(" ")
    if token is not None and not (scheme.lower() == "bearer" and hmac.compare_digest(
            sent.strip().encode(), token.encode())):
        raise Unauthorized("GET /metrics needs the Bearer token of LRS_METRICS_TOKEN",
                           headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    metrics.DB_UP.set(1 if await runtime.db.ping() else 0)
    body, content_type = metrics.render()
    return Response(body, media_type=content_type)
