"""POST /oauth/token: the OAuth 2.0 client-credentials grant (RFC 6749 4.4).

Trades a key/secret (HTTP Basic, or client_id/client_secret form fields) for
a short-lived Bearer JWT with the same or fewer scopes. Errors use RFC 6749's
body (`{"error": "invalid_client", ...}`), which OAuth client libraries
parse, instead of the LRS's own error shape; but a database outage is the
LRS's 503 with Retry-After, as on every route, not a client refused."""

from __future__ import annotations

import time
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from lrs.auth import tokens
from lrs.errors import LRSError, Unauthorized
from lrs.http.auth import basic_pair, current_signing_key, key_secret
from lrs.http.xrequest import read_body
from lrs.runtime import Runtime

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _oauth_error(status: int, error: str, description: str) -> Response:
    headers = dict(_NO_STORE)
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="lrs"'
    return JSONResponse({"error": error, "error_description": description},
                        status_code=status, headers=headers)


async def token(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return _oauth_error(400, "invalid_request", "send application/x-www-form-urlencoded")
    try:
        form = dict(parse_qsl((await read_body(request, 16_384)).decode(), strict_parsing=False))
    except (LRSError, UnicodeDecodeError):
        return _oauth_error(400, "invalid_request", "the form is too large or not UTF-8")
    if form.get("grant_type") != "client_credentials":
        return _oauth_error(400, "unsupported_grant_type", "only client_credentials is supported")
    try:
        key, secret = _client(request, form)
        principal = await key_secret(runtime, key, secret)
    except Unauthorized:  # not a 503: clients would take their credentials for wrong
        return _oauth_error(401, "invalid_client", "unknown client or wrong secret")
    requested = form.get("scope", "").split() or sorted(principal.scopes)
    if not set(requested) <= principal.scopes:
        return _oauth_error(400, "invalid_scope", "a requested scope exceeds the client's scopes")
    # Only the scopes asked for, expanded again by whoever checks the token.
    granted = sorted(set(requested))
    settings = runtime.settings
    issued = tokens.issue(await current_signing_key(runtime), issuer=settings.jwt_issuer,
                          audience=settings.jwt_audience, tenant=principal.tenant,
                          subject=key, scopes=granted, ttl=settings.token_ttl,
                          now=time.time(), credential=key,
                          # the fingerprint of the secret key_secret just checked
                          secret_fingerprint=principal.vouched_by[1])
    return JSONResponse({"access_token": issued, "token_type": "Bearer",
                         "expires_in": settings.token_ttl, "scope": " ".join(granted)},
                        headers=_NO_STORE)


def _client(request: Request, form: dict[str, str]) -> tuple[str, str]:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        return basic_pair(header[6:].strip())
    if "client_id" in form and "client_secret" in form:
        return form["client_id"], form["client_secret"]
    raise Unauthorized("no client credentials")
