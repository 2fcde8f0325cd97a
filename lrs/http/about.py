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
from lrs.errors import BadRequest, MethodNotAllowed
from lrs.http.middleware import OMIT_BODY
from lrs.http.xrequest import field, read_body
from lrs.xapi import alternate
from lrs.xapi.versions import HEADER, SUPPORTED, V1, negotiate

# An About request's form holds a few header fields at most.
_FORM_LIMIT = 16_384


def listed_versions(header: str | None) -> list[str]:
    """The versions About lists to a request with this version header."""
    try:
        if negotiate(header) == V1:
            return [V1]
    except BadRequest:
        pass
    return list(SUPPORTED)


async def about(request: Request) -> Response:
    version_header, params = field(request.headers, HEADER), request.query_params
    if request.method == "POST":
        # 1.0.3 Communication 1.3 (GEN-16): `POST /about?method=GET`, as
        # TinCanJS sends every request through XDomainRequest. The form's
        # version field is the request's; no version is refused here.
        if not alternate.is_alternate_request(request.method, params):
            raise MethodNotAllowed("POST is not allowed on /xapi/about",
                                   headers={"Allow": "GET, HEAD"})
        method = alternate.tunneled_method(params)
        if method not in ("GET", "HEAD"):
            raise MethodNotAllowed(f"{method} is not allowed on /xapi/about",
                                   headers={"Allow": "GET, HEAD"})
        tunneled = alternate.parse_alternate_request(
            params, await read_body(request, _FORM_LIMIT), versioned=False)
        if method == "HEAD":
            request.scope["state"][OMIT_BODY] = True
        version_header, params = tunneled.headers.get(HEADER, version_header), tunneled.params
    if params:
        # GEN-07 (1.0.3 Communication 3.2, 2.0 LRS 4.1.5): a parameter the
        # resource does not define is refused, here as on every resource.
        name = next(iter(params))
        raise BadRequest(f"parameter {name!r} is not allowed here", field=name)
    return JSONResponse({
        "version": listed_versions(version_header),
        "extensions": {"urn:x-lrs:build": {"version": __version__}},
    })
