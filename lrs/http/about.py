"""GET /xapi/about (xAPI 1.0.3 Communication 2.8, 2.0 LRS 4.1.6.7).

No version-header rules apply here (VER-11): clients call it to learn which
versions we speak."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from lrs import __version__
from lrs.xapi.versions import SUPPORTED


async def about(request: Request) -> Response:
    return JSONResponse({
        "version": list(SUPPORTED),
        "extensions": {"urn:x-lrs:build": {"version": __version__}},
    })
