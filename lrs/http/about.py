"""GET /xapi/about (xAPI 1.0.3 Communication 2.8, 2.0 LRS 4.1.6.7).

No version-header rules apply here (VER-11): clients call it to learn which
versions we speak, and a missing or unknown header is never refused. A 1.0.x
header is answered in 1.0.x's terms, where the only versions are 0.9, 0.95 and
1.0.x (1.0.3 Communication 2.8; ADL's suite, XAPI-00316): 1.0.x clients such
as TinCanPython refuse an About that lists "2.0.0". Any other request, with a
2.0 header or none, gets every version we serve, the latest of each major."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from lrs import __version__
from lrs.errors import BadRequest
from lrs.xapi.versions import HEADER, SUPPORTED, V1, negotiate


def listed_versions(header: str | None) -> list[str]:
    """The versions About lists to a request with this version header."""
    try:
        if negotiate(header) == V1:
            return [V1]
    except BadRequest:
        pass
    return list(SUPPORTED)


async def about(request: Request) -> Response:
    if request.query_params:
        # GEN-07 (1.0.3 Communication 3.2, 2.0 LRS 4.1.5): a parameter the
        # resource does not define is refused, here as on every resource.
        name = next(iter(request.query_params))
        raise BadRequest(f"parameter {name!r} is not allowed here", field=name)
    return JSONResponse({
        "version": listed_versions(request.headers.get(HEADER)),
        "extensions": {"urn:x-lrs:build": {"version": __version__}},
    })
