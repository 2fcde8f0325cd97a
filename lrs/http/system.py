"""Operational endpoints outside the xAPI: /health, /ready, /metrics."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from lrs import metrics
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
    runtime: Runtime = request.app.state.runtime
    metrics.DB_UP.set(1 if await runtime.db.ping() else 0)
    body, content_type = metrics.render()
    return Response(body, media_type=content_type)
