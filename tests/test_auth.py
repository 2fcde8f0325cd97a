"""Authentication from the outside: Basic key/secret and Bearer JWTs."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import time

import asyncpg
import httpx
import jwt
import pytest

from conformance.lib import basic_authorization
from lrs import accounts
from lrs.app import create_app
from lrs.store import tenants
from tests.conftest import on_connection, server_with

V2 = {"X-Experience-API-Version": "2.0.0"}
STATEMENT = {"actor": {"mbox": "mailto:a@example.org"},
             "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
             "object": {"id": "http://example.org/course"}}


def _signing_key(database_url: str) -> bytes:
    async def get() -> bytes:
        conn = await asyncpg.connect(database_url)
        try:
            return await tenants.signing_key(conn)
        finally:
            await conn.close()
    return asyncio.run(get())


def _token(settings, key: bytes, **overrides) -> str:
    now = int(time.time())
    claims = {"iss": settings.jwt_issuer, "aud": settings.jwt_audience, "sub": "app-1",
              "tenant": overrides.pop("tenant"), "scope": "all", "iat": now, "nbf": now,
              "exp": now + 600, **overrides}
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, key, algorithm="HS256")


def _get(server, authorization: str | None) -> httpx.Response:
    headers = dict(V2)
    if authorization is not None:
        headers["Authorization"] = authorization
    return httpx.get(f"{server.url}/xapi/statements", headers=headers)


def test_issued_token_works(server, settings, database_url, tenant):
    async def issue() -> dict:
        conn = await asyncpg.connect(database_url)
        try:
            return await accounts.issue_token(conn, settings, tenant=tenant.name,
                                              scopes=["all"], subject="reporting")
        finally:
            await conn.close()
    token = asyncio.run(issue())["token"]
    response = _get(server, f"Bearer {token}")
    assert response.status_code == 200, response.text


def test_basic_with_wrong_or_revoked_secret_is_401(server, database_url, tenant):
    good = base64.b64encode(f"{tenant.key}:{tenant.secret}".encode()).decode()
    assert _get(server, f"Basic {good}").status_code == 200
    wrong = base64.b64encode(f"{tenant.key}:not-the-secret".encode()).decode()
    assert _get(server, f"Basic {wrong}").status_code == 401
    unknown = base64.b64encode(b"nokey:nosecret").decode()
    assert _get(server, f"Basic {unknown}").status_code == 401
    for garbage in ("Basic !!!", "Basic " + base64.b64encode(b"no-colon").decode(), "Digest x"):
        response = _get(server, garbage)
        assert response.status_code == 401
        assert "WWW-Authenticate" in response.headers

    async def revoke() -> None:
        conn = await asyncpg.connect(database_url)
        try:
            await tenants.revoke_credential(conn, tenant.key)
        finally:
            await conn.close()
    asyncio.run(revoke())
    # Revocation takes effect as soon as the database's notification is
    # delivered to the server (lrs/store/access_cache.py): milliseconds.
    assert _refused_within(server, f"Basic {good}", seconds=2)


def _refused_within(server, authorization: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _get(server, authorization).status_code == 401:
            return True
        time.sleep(0.01)
    return False


def _sql(database_url: str, sql: str, *args) -> None:
    on_connection(database_url, lambda conn: conn.execute(sql, *args))


def _lookups(metrics_text: str) -> float:
    """How many credential look-ups a /metrics page counts."""
    line = next(x for x in metrics_text.splitlines()
                if x.startswith('lrs_db_query_duration_seconds_count{query="credentials.lookup"}'))
    return float(line.rsplit(" ", 1)[1])


def _server_lookups(server) -> float:
    return _lookups(httpx.get(f"{server.url}/metrics").text)


def test_credential_lookups_are_cached_until_access_data_changes(server, database_url, tenant,
                                                                 make_credential):
    key, secret = make_credential(tenant.name, ["all"])
    basic = basic_authorization(key, secret)
    assert _get(server, basic).status_code == 200
    before = _server_lookups(server)
    for _ in range(20):
        assert _get(server, basic).status_code == 200
    assert _server_lookups(server) == before, "a known credential is not looked up again"
    # A change made outside the LRS (an operator's SQL) is seen at once.
    _sql(database_url, "UPDATE credentials SET scopes = '{statements/read}' WHERE key = $1", key)
    deadline = time.monotonic() + 2
    while httpx.post(f"{server.url}/xapi/statements", json=STATEMENT,
                     headers={**V2, "Authorization": basic}).status_code != 403:
        assert time.monotonic() < deadline, "the narrowed scopes were not applied"
        time.sleep(0.01)
    _sql(database_url, "UPDATE credentials SET revoked_at = now() WHERE key = $1", key)
    assert _refused_within(server, basic, seconds=2)


def test_a_lost_change_listener_never_leaves_a_revoked_credential_usable(server, database_url,
                                                                         tenant, make_credential):
    key, secret = make_credential(tenant.name, ["all"])
    basic = basic_authorization(key, secret)
    assert _get(server, basic).status_code == 200
    # The server's listening connection dies (a restart of PostgreSQL, a
    # network cut); the revocation's notification goes nowhere.
    _sql(database_url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                       "WHERE application_name = 'lrs-listen'")
    _sql(database_url, "UPDATE credentials SET revoked_at = now() WHERE key = $1", key)
    # Without a listener nothing is served from the cache; once it listens
    # again the cache starts empty.
    assert _refused_within(server, basic, seconds=3)


def test_missing_credentials_is_401(server):
    response = _get(server, None)
    assert response.status_code == 401
    assert response.json()["error"]["message"].startswith("authentication required")


def test_a_refused_authorization_header_is_not_echoed(server, tenant):
    # A header with no space after its scheme is the credential itself; a
    # tab after it was echoed back in the 401 (the key, and part of the
    # secret, in the message a proxy may log).
    pair = base64.b64encode(f"{tenant.key}:{tenant.secret}".encode()).decode()
    glued = _get(server, f"Basic{pair}")
    assert glued.status_code == 401
    assert pair.lower() not in glued.text.lower() and tenant.key not in glued.text
    assert _get(server, f"Basic\t{pair}").status_code == 200  # any whitespace separates
    digest = _get(server, "Digest username=x")
    assert digest.status_code == 401 and "'digest'" in digest.json()["error"]["message"]


@pytest.mark.parametrize("case", [
    "expired", "not_yet_valid", "wrong_audience", "wrong_issuer", "no_tenant_claim",
    "wrong_key", "unknown_tenant",
])
def test_jwt_edge_cases_are_401(server, settings, database_url, tenant, case):
    key = _signing_key(database_url)
    now = int(time.time())
    options = {
        "expired": {"exp": now - 3600},
        "not_yet_valid": {"nbf": now + 3600},
        "wrong_audience": {"aud": "some-other-service"},
        "wrong_issuer": {"iss": "https://idp.elsewhere"},
        "no_tenant_claim": {},
        "wrong_key": {},
        "unknown_tenant": {},
    }[case]
    signing = b"another key entirely, 32 bytes.." if case == "wrong_key" else key
    tenant_name = "no-such-tenant" if case == "unknown_tenant" else tenant.name
    token = _token(settings, signing, tenant=tenant_name, **options)
    if case == "no_tenant_claim":
        token = _token(settings, signing, tenant=None)
    response = _get(server, f"Bearer {token}")
    assert response.status_code == 401, (case, response.text)
    assert response.json()["error"]["message"]


def test_forged_tenant_claim_fails_the_signature(server, settings, database_url, tenant):
    key = _signing_key(database_url)
    token = _token(settings, key, tenant=tenant.name, scope="statements/read")
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["tenant"] = "default"
    claims["scope"] = "all"
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    response = _get(server, f"Bearer {header}.{forged_payload}.{signature}")
    assert response.status_code == 401
    assert "signature" in response.json()["error"]["message"]


def test_alg_none_and_garbage_tokens_are_401(server, settings, tenant):
    now = int(time.time())
    claims = {"iss": settings.jwt_issuer, "aud": settings.jwt_audience, "sub": "x",
              "tenant": tenant.name, "scope": "all", "iat": now, "exp": now + 60}
    unsigned = jwt.encode(claims, None, algorithm="none")
    for token in (unsigned, unsigned.rstrip(".") + ".", "garbage", "a.b.c"):
        response = _get(server, f"Bearer {token}")
        assert response.status_code == 401, token


def test_rs256_token_is_not_accepted_as_hs256(server, settings, database_url, tenant):
    """No algorithm confusion: only HS256 with the LRS's key is accepted."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    claims = {"iss": settings.jwt_issuer, "aud": settings.jwt_audience, "sub": "x",
              "tenant": tenant.name, "scope": "all", "iat": now, "exp": now + 60}
    token = jwt.encode(claims, private, algorithm="RS256")
    assert _get(server, f"Bearer {token}").status_code == 401


def test_scopes_are_enforced_with_403_naming_the_scope(server, client_for, make_credential, tenant):
    key, secret = make_credential(tenant.name, ["statements/read"])
    reader = client_for(key, secret)
    response = reader.post("/xapi/statements", json=STATEMENT)
    assert response.status_code == 403
    assert "statements/write" in response.json()["error"]["message"]
    assert reader.get("/xapi/statements").status_code == 200


def test_with_the_access_cache_off_every_request_looks_its_credential_up(settings, tenant):
    # Behind a pooler in transaction mode LISTEN cannot work: the cache is
    # switched off and each request asks the database.
    app = create_app(dataclasses.replace(settings, access_cache_seconds=0))

    async def scenario() -> tuple[float, float]:
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://lrs",
                auth=(tenant.key, tenant.secret), headers=V2) as client:
            before = _lookups((await client.get("/metrics")).text)
            for _ in range(3):
                assert (await client.get("/xapi/statements")).status_code == 200
            return before, _lookups((await client.get("/metrics")).text)

    before, after = asyncio.run(scenario())
    assert after - before == 3


def test_a_token_verified_before_is_still_refused_once_expired_or_altered(settings, database_url,
                                                                           tenant):
    """The server remembers tokens it verified (lrs.auth.tokens.VerifiedTokens):
    a remembered token must still expire on time, and a copy with one
    character changed is a different token, verified afresh."""
    key = _signing_key(database_url)
    with server_with(settings.replace(jwt_leeway=0)) as server:
        expires = int(time.time()) + 2
        token = _token(settings, key, tenant=tenant.name, exp=expires)
        assert _get(server, f"Bearer {token}").status_code == 200
        assert _get(server, f"Bearer {token}").status_code == 200  # as remembered
        header, payload, signature = token.split(".")
        # The first character: all six of its bits are signature, so any
        # other letter decodes (a changed last character may set padding
        # bits that PyJWT refuses as malformed, once in ~1,000 tokens).
        altered = f"{header}.{payload}.{'B' if signature[0] == 'A' else 'A'}{signature[1:]}"
        refused = _get(server, f"Bearer {altered}")
        assert refused.status_code == 401 and "signature" in refused.json()["error"]["message"]
        while time.time() <= expires + 0.2:
            time.sleep(0.1)
        expired = _get(server, f"Bearer {token}")
        assert expired.status_code == 401 and "expired" in expired.json()["error"]["message"]


def test_a_remembered_verdict_lasts_no_longer_than_its_key_may_be_trusted():
    """An IdP's token is taken as verified for at most `until` (the life of
    its key set in lrs.jwks); after that it is verified afresh, and it is
    refused as expired at its `exp` (with the leeway) whichever comes first."""
    from lrs.auth.tokens import TokenRefused, VerifiedTokens

    verified = VerifiedTokens()
    context = ("idp", "https://sso.example", "agency-a")
    verified.put("t1", context, {"exp": 1_000}, until=500)
    assert verified.get("t1", leeway=0, now=499) == (context, {"exp": 1_000})
    assert verified.get("t1", leeway=0, now=501) is None  # key set may have changed
    verified.put("t2", context, {"exp": 1_000})
    assert verified.get("t2", leeway=30, now=1_029) is not None
    with pytest.raises(TokenRefused, match="expired"):
        verified.get("t2", leeway=30, now=1_030)
    assert verified.get("t2", leeway=30, now=1_030) is None  # forgotten once refused
