"""/admin: the operators' API (scope `admin`), JSON in and out. Everything
the CLI does, for operators without shell access.

Every field is checked before anything is written, and every write of one
request is one transaction: a request answered 4xx changed nothing."""

from __future__ import annotations

import math
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from lrs import accounts
from lrs.auth import tokens
from lrs.auth.principal import ADMIN_SCOPE, Principal
from lrs.config import http_url
from lrs.errors import BadRequest, Forbidden, NotFound
from lrs.http.auth import authenticate
from lrs.http.xrequest import read_body
from lrs.runtime import Runtime
from lrs.store import issuers, tenants


async def _authorized(request: Request) -> tuple[Runtime, Principal]:
    runtime: Runtime = request.app.state.runtime
    principal = await authenticate(runtime, request.headers.get("authorization"))
    if ADMIN_SCOPE not in principal.scopes:
        raise Forbidden(f"this credential lacks the scope {ADMIN_SCOPE!r}")
    # PostgreSQL's text cannot hold U+0000: refused here, not failed there.
    for name, value in [*request.path_params.items(), *request.query_params.items()]:
        _no_nul(value, name)
    return runtime, principal


async def _begin(request: Request) -> Runtime:
    return (await _authorized(request))[0]


async def _json(request: Request) -> dict[str, Any]:
    try:
        body = orjson.loads(await read_body(request, 65_536) or b"{}")
    except orjson.JSONDecodeError:
        raise BadRequest("the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    _no_nul(body, "body")
    return body


def _no_nul(value: Any, name: str) -> None:
    if isinstance(value, str) and "\x00" in value:
        raise BadRequest(f"{name!r} holds U+0000, which cannot be stored", field=name)
    if isinstance(value, dict):
        for key, item in value.items():
            _no_nul(key, name)
            _no_nul(item, key if name == "body" else name)
    elif isinstance(value, list):
        for item in value:
            _no_nul(item, name)


_MISSING = object()
_TYPES = {str: "a string", list: "an array", dict: "an object", int: "an integer",
          float: "a number"}


def _field(body: dict, name: str, kind: type, default: Any = _MISSING, *,
           items: type | None = None) -> Any:
    """body[name], of JSON type `kind` (arrays: of `items`). Absent, it is
    `default` (required without one); null is absent only for fields whose
    default is None (null means "none"), and a type error for the others."""
    if name not in body or (body[name] is None and default is None):
        if default is _MISSING:
            raise BadRequest(f"{name!r} is required", field=name)
        return default
    value = body[name]
    if not _of_type(value, kind) or (items is not None
                                     and not all(_of_type(v, items) for v in value)):
        wanted = _TYPES[kind] + (" of strings" if items is str else "")
        raise BadRequest(f"{name!r} must be {wanted}", field=name)
    return value


def _of_type(value: Any, kind: type) -> bool:
    if isinstance(value, bool):  # JSON's true is not the integer 1
        return kind is bool
    if kind is float:
        return isinstance(value, (int, float))
    return isinstance(value, kind)


def _dump(obj: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(obj, default=str), status_code=status,
                    media_type="application/json")


async def list_tenants(request: Request) -> Response:
    runtime = await _begin(request)
    async with runtime.db.connection() as conn:
        rows = await tenants.list_tenants(conn)
    return _dump([{"id": t.id, "name": t.name, "created_at": t.created_at} for t in rows])


async def create_tenant(request: Request) -> Response:
    runtime = await _begin(request)
    name = _field(await _json(request), "name", str)
    async with runtime.db.connection() as conn:
        tenant_id = await accounts.create_tenant(conn, name)
    return _dump({"id": tenant_id, "name": name}, 201)


async def tenant_credentials(request: Request) -> Response:
    runtime = await _begin(request)
    tenant = request.path_params["tenant"]
    async with runtime.db.connection() as conn:
        if request.method == "GET":
            await tenants.tenant_id(conn, tenant)
            return _dump(await tenants.list_credentials(conn, tenant))
        body = await _json(request)
        created = await accounts.create_credential(
            conn, tenant=tenant, scopes=_field(body, "scopes", list, items=str),
            label=_field(body, "label", str, ""))
    return _dump(created, 201)


async def revoke_credential(request: Request) -> Response:
    runtime = await _begin(request)
    async with runtime.db.connection() as conn:
        await tenants.revoke_credential(conn, request.path_params["key"])
    return _dump({"key": request.path_params["key"], "revoked": True})


async def rotate_credential(request: Request) -> Response:
    runtime = await _begin(request)
    async with runtime.db.connection() as conn:
        return _dump(await accounts.rotate_credential(conn, request.path_params["key"]))


async def revoke_tokens(request: Request) -> Response:
    runtime = await _begin(request)
    tenant = request.path_params["tenant"]
    async with runtime.db.connection() as conn:
        before = await tenants.revoke_tokens(conn, tenant)
    return _dump({"tenant": tenant, "tokens_revoked_before": before.isoformat()})


async def rotate_signing_key(request: Request) -> Response:
    runtime = await _begin(request)
    async with runtime.db.connection() as conn:
        return _dump(await accounts.rotate_signing_key(conn, runtime.settings))


async def tenant_issuers(request: Request) -> Response:
    runtime = await _begin(request)
    tenant = request.path_params["tenant"]
    async with runtime.db.connection() as conn:
        if request.method == "GET":
            await tenants.tenant_id(conn, tenant)
            return _dump(await issuers.list_for_tenant(conn, tenant))
        if request.method == "DELETE":
            issuer = request.query_params.get("issuer")
            if not issuer:
                raise BadRequest("parameter 'issuer' is required", field="issuer")
            await issuers.remove(conn, tenant, issuer)
            return Response(status_code=204)
        body = await _json(request)
        trusted = await accounts.trust_issuer(
            conn, tenant=tenant, issuer=_field(body, "issuer", str),
            algorithms=_field(body, "algorithms", list, items=str),
            public_key=_field(body, "public_key", str, None),
            jwks_url=_field(body, "jwks_url", str, None),
            audience=_field(body, "audience", str, None),
            claims=_field(body, "claims", dict, None))
    return _dump(trusted, 201)


# Far beyond any agency's need, and within the columns' types (real, integer).
MAX_RATE = 1_000_000
# One request in 1,000 s: slower is no limit but a ban, and far smaller
# values round to 0 in a real column.
MIN_RATE = 0.001


async def tenant_access(request: Request) -> Response:
    """PUT {"cors_origins": [...], "rate_limit_per_second": n, "rate_limit_burst": n}:
    what is given is set; null rates remove the limit."""
    runtime = await _begin(request)
    tenant = request.path_params["tenant"]
    body = await _json(request)
    origins = None
    if "cors_origins" in body:
        origins = [_origin(o) for o in _field(body, "cors_origins", list, items=str)]
    # A burst alone is checked too, and refused: it needs a rate.
    limit = _rate_limit(body) if {"rate_limit_per_second", "rate_limit_burst"} & body.keys() else None
    async with runtime.db.transaction() as conn:
        if origins is not None:
            await tenants.set_cors_origins(conn, tenant, origins)
        if limit is not None:
            await tenants.set_rate_limit(conn, tenant, *limit)
        access = await tenants.tenant_access(conn, tenant)
    if access is None:
        raise NotFound(f"no tenant named {tenant!r}", field="tenant")
    return _dump({"tenant": tenant, "cors_origins": access.cors_origins,
                  "rate_limit_per_second": access.rate_limit_per_second,
                  "rate_limit_burst": access.rate_limit_burst})


def _origin(value: str) -> str:
    """A browser's Origin: scheme://host[:port], nothing more (RFC 6454), in
    lower case as browsers send it (scheme and host are case-insensitive)."""
    parts = http_url(value.rstrip("/"))
    if parts is None or parts.path or parts.query or parts.fragment or "@" in parts.netloc:
        raise BadRequest(f"cors_origins: {value!r} is not an origin like https://host[:port]",
                         field="cors_origins")
    return value.rstrip("/").lower()


def _rate_limit(body: dict) -> tuple[float | None, int | None]:
    rate = _field(body, "rate_limit_per_second", float, None)
    burst = _field(body, "rate_limit_burst", int, None)
    if rate is not None and not (MIN_RATE <= rate <= MAX_RATE and math.isfinite(rate)):
        raise BadRequest(f"'rate_limit_per_second' must be {MIN_RATE} to {MAX_RATE}",
                         field="rate_limit_per_second")
    if burst is not None and not 1 <= burst <= MAX_RATE:
        raise BadRequest(f"'rate_limit_burst' must be 1 to {MAX_RATE}", field="rate_limit_burst")
    if burst is not None and rate is None:
        raise BadRequest("'rate_limit_burst' needs a 'rate_limit_per_second'",
                         field="rate_limit_burst")
    return rate, burst


async def issue_token(request: Request) -> Response:
    runtime, principal = await _authorized(request)
    body = await _json(request)
    tenant = _field(body, "tenant", str)
    async with runtime.db.connection() as conn:
        issued = await accounts.issue_token(
            conn, runtime.settings, tenant=tenant,
            scopes=_field(body, "scopes", list, items=str),
            subject=_field(body, "subject", str, tokens.own_subject("admin", tenant)),
            ttl=_field(body, "ttl", int, None), minted_by=principal.vouched_by)
    return _dump(issued, 201)


ROUTES = [
    Route("/admin/tenants", list_tenants, methods=["GET"]),
    Route("/admin/tenants", create_tenant, methods=["POST"]),
    Route("/admin/tenants/{tenant}/credentials", tenant_credentials, methods=["GET", "POST"]),
    Route("/admin/tenants/{tenant}/issuers", tenant_issuers, methods=["GET", "POST", "DELETE"]),
    Route("/admin/tenants/{tenant}/access", tenant_access, methods=["PUT"]),
    Route("/admin/tenants/{tenant}/tokens/revoke", revoke_tokens, methods=["POST"]),
    Route("/admin/credentials/{key}/revoke", revoke_credential, methods=["POST"]),
    Route("/admin/credentials/{key}/rotate", rotate_credential, methods=["POST"]),
    Route("/admin/tokens", issue_token, methods=["POST"]),
    Route("/admin/signing-key/rotate", rotate_signing_key, methods=["POST"]),
]
