"""/admin: the operators' API (scope `admin`), JSON in and out. Everything
the CLI does, for operators without shell access."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from lrs import accounts
from lrs.auth.principal import ADMIN_SCOPE
from lrs.errors import BadRequest, Forbidden, NotFound
from lrs.http.auth import authenticate
from lrs.http.xrequest import read_body
from lrs.runtime import Runtime
from lrs.store import issuers, tenants


async def _begin(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    principal = await authenticate(runtime, request.headers.get("authorization"))
    if ADMIN_SCOPE not in principal.scopes:
        raise Forbidden(f"this credential lacks the scope {ADMIN_SCOPE!r}")
    return runtime


async def _json(request: Request) -> dict[str, Any]:
    try:
        body = orjson.loads(await read_body(request, 65_536) or b"{}")
    except orjson.JSONDecodeError:
        raise BadRequest("the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body


def _field(body: dict, name: str, kind: type, default: Any = ...) -> Any:
    value = body.get(name, default)
    if value is ...:
        raise BadRequest(f"{name!r} is required", field=name)
    if value is not None and value is not default and not isinstance(value, kind):
        raise BadRequest(f"{name!r} has the wrong JSON type", field=name)
    return value


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
        tenant_id = await tenants.create_tenant(conn, name)
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
            conn, tenant=tenant, scopes=_field(body, "scopes", list),
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
            algorithms=_field(body, "algorithms", list),
            public_key=_field(body, "public_key", str, None),
            jwks_url=_field(body, "jwks_url", str, None),
            audience=_field(body, "audience", str, None),
            claims=_field(body, "claims", dict, None))
    return _dump(trusted, 201)


async def tenant_access(request: Request) -> Response:
    """PUT {"cors_origins": [...], "rate_limit_per_second": n, "rate_limit_burst": n}."""
    runtime = await _begin(request)
    tenant = request.path_params["tenant"]
    body = await _json(request)
    async with runtime.db.connection() as conn:
        if "cors_origins" in body:
            origins = _field(body, "cors_origins", list)
            if not all(isinstance(o, str) and o.startswith(("https://", "http://")) for o in origins):
                raise BadRequest("cors_origins must be origins like https://host[:port]",
                                 field="cors_origins")
            await tenants.set_cors_origins(conn, tenant, [o.rstrip("/") for o in origins])
        if "rate_limit_per_second" in body:
            rate = _field(body, "rate_limit_per_second", (int, float), None)
            burst = _field(body, "rate_limit_burst", int, None)
            if (rate is not None and rate <= 0) or (burst is not None and burst < 1):
                raise BadRequest("rates must be positive", field="rate_limit_per_second")
            await tenants.set_rate_limit(conn, tenant, rate, burst)
        access = await tenants.tenant_access(conn, tenant)
    if access is None:
        raise NotFound(f"no tenant named {tenant!r}", field="tenant")
    return _dump({"tenant": tenant, "cors_origins": access.cors_origins,
                  "rate_limit_per_second": access.rate_limit_per_second,
                  "rate_limit_burst": access.rate_limit_burst})


async def issue_token(request: Request) -> Response:
    runtime = await _begin(request)
    body = await _json(request)
    tenant = _field(body, "tenant", str)
    async with runtime.db.connection() as conn:
        issued = await accounts.issue_token(
            conn, runtime.settings, tenant=tenant, scopes=_field(body, "scopes", list),
            subject=_field(body, "subject", str, f"admin:{tenant}"),
            ttl=_field(body, "ttl", int, None))
    return _dump(issued, 201)


ROUTES = [
    Route("/admin/tenants", list_tenants, methods=["GET"]),
    Route("/admin/tenants", create_tenant, methods=["POST"]),
    Route("/admin/tenants/{tenant}/credentials", tenant_credentials, methods=["GET", "POST"]),
    Route("/admin/tenants/{tenant}/issuers", tenant_issuers, methods=["GET", "POST", "DELETE"]),
    Route("/admin/tenants/{tenant}/access", tenant_access, methods=["PUT"]),
    Route("/admin/credentials/{key}/revoke", revoke_credential, methods=["POST"]),
    Route("/admin/credentials/{key}/rotate", rotate_credential, methods=["POST"]),
    Route("/admin/tokens", issue_token, methods=["POST"]),
]
