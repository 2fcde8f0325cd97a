"""Agencies and access, from the outside: OAuth client credentials, tokens
from an agency's own identity provider (PEM and JWKS), the admin API, CORS
and per-credential rate limits."""

from __future__ import annotations

import base64
import json
import time

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from tests import live
from tests.conftest import serving
from tests.idp import JWKSServer

V2 = {"X-Experience-API-Version": "2.0.0"}
STATEMENT = {"actor": {"mbox": "mailto:a@example.org"},
             "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
             "object": {"id": "http://example.org/course"}}


@pytest.fixture
def admin(server, new_tenant):
    operators = new_tenant(scopes=("admin",))
    with httpx.Client(base_url=server.url, auth=(operators.key, operators.secret),
                      timeout=30) as client:
        yield client


def _pem(private) -> str:
    return private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _idp_token(private, algorithm: str, settings, *, issuer: str, tenant: str | None,
               scope: str = "statements/read statements/write", kid: str | None = None,
               **extra) -> str:
    now = int(time.time())
    claims = {"iss": issuer, "aud": settings.jwt_audience, "sub": "staff-42", "scope": scope,
              "iat": now, "exp": now + 300, **extra}
    if tenant is not None:
        claims["tenant"] = tenant
    return jwt.encode(claims, private, algorithm=algorithm, headers={"kid": kid} if kid else None)


def test_oauth_client_credentials(server, tenant, database_url):
    url = f"{server.url}/oauth/token"
    form = {"grant_type": "client_credentials", "scope": "statements/read"}
    response = httpx.post(url, data=form, auth=(tenant.key, tenant.secret))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer" and body["scope"] == "statements/read"
    assert response.headers["cache-control"] == "no-store"
    bearer = {"Authorization": f"Bearer {body['access_token']}", **V2}
    assert httpx.get(f"{server.url}/xapi/statements", headers=bearer).status_code == 200
    # Only the scopes asked for.
    assert httpx.post(f"{server.url}/xapi/statements", headers=bearer,
                      json=STATEMENT).status_code == 403

    assert httpx.post(url, data=form, auth=(tenant.key, "wrong")).json()["error"] == "invalid_client"
    assert httpx.post(url, data={**form, "grant_type": "password"},
                      auth=(tenant.key, tenant.secret)).json()["error"] == "unsupported_grant_type"
    by_form = httpx.post(url, data={**form, "client_id": tenant.key,
                                    "client_secret": tenant.secret})
    assert by_form.status_code == 200


def test_oauth_token_dies_with_its_credential(server, admin, tenant):
    token = httpx.post(f"{server.url}/oauth/token", data={"grant_type": "client_credentials"},
                       auth=(tenant.key, tenant.secret)).json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}", **V2}
    assert httpx.get(f"{server.url}/xapi/statements", headers=bearer).status_code == 200
    assert admin.post(f"/admin/credentials/{tenant.key}/revoke").status_code == 200
    response = httpx.get(f"{server.url}/xapi/statements", headers=bearer)
    assert response.status_code == 401
    assert "revoked" in response.json()["error"]["message"]


def test_oauth_token_dies_with_its_rotated_secret(server, admin, tenant):
    # Rotation is what an operator does when a secret leaks: a token traded
    # for the old secret (just before, by whoever holds it) must end with it.
    def traded(secret: str) -> dict:
        token = httpx.post(f"{server.url}/oauth/token", data={"grant_type": "client_credentials"},
                           auth=(tenant.key, secret)).json()["access_token"]
        return {"Authorization": f"Bearer {token}", **V2}

    old = traded(tenant.secret)
    assert httpx.get(f"{server.url}/xapi/statements", headers=old).status_code == 200
    rotated = admin.post(f"/admin/credentials/{tenant.key}/rotate")
    assert rotated.status_code == 200
    response = httpx.get(f"{server.url}/xapi/statements", headers=old)
    assert response.status_code == 401
    assert "rotated" in response.json()["error"]["message"]
    new = traded(rotated.json()["secret"])
    assert httpx.get(f"{server.url}/xapi/statements", headers=new).status_code == 200


def test_oauth_cannot_widen_scopes(server, make_credential, tenant):
    key, secret = make_credential(tenant.name, ["statements/read"])
    response = httpx.post(f"{server.url}/oauth/token", auth=(key, secret),
                          data={"grant_type": "client_credentials", "scope": "all"})
    assert response.status_code == 400 and response.json()["error"] == "invalid_scope"


def _new_key(algorithm: str):
    if algorithm == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if algorithm == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    return ed25519.Ed25519PrivateKey.generate()


@pytest.mark.parametrize("algorithm", ["RS256", "ES256", "EdDSA"])
def test_agency_idp_token_with_pem_key(server, settings, admin, tenant, algorithm):
    private = _new_key(algorithm)
    issuer = f"https://idp.{tenant.name}.example"
    created = admin.post(f"/admin/tenants/{tenant.name}/issuers", json={
        "issuer": issuer, "algorithms": [algorithm], "public_key": _pem(private)})
    assert created.status_code == 201, created.text

    token = _idp_token(private, algorithm, settings, issuer=issuer, tenant=tenant.name)
    bearer = {"Authorization": f"Bearer {token}", **V2}
    stored = httpx.post(f"{server.url}/xapi/statements", headers=bearer, json=STATEMENT)
    assert stored.status_code == 200, stored.text
    got = httpx.get(f"{server.url}/xapi/statements", params={"statementId": stored.json()[0]},
                    headers=bearer).json()
    # The authority is the IdP's subject, never what the client said.
    assert got["authority"]["account"] == {"homePage": issuer, "name": "staff-42"}

    # The same IdP cannot speak for another tenant, nor with another key.
    other = _idp_token(private, algorithm, settings, issuer=issuer, tenant="default")
    assert httpx.get(f"{server.url}/xapi/statements",
                     headers={"Authorization": f"Bearer {other}", **V2}).status_code == 401
    stranger = _new_key(algorithm)
    forged = _idp_token(stranger, algorithm, settings, issuer=issuer, tenant=tenant.name)
    assert httpx.get(f"{server.url}/xapi/statements",
                     headers={"Authorization": f"Bearer {forged}", **V2}).status_code == 401


def test_a_remembered_idp_token_follows_its_issuers_configuration(server, settings, admin,
                                                                  tenant):
    """The server remembers tokens it verified (lrs.auth.tokens.VerifiedTokens).
    An IdP's token must still stop working the moment the agency stops
    trusting that issuer, and must not outlive a change of the issuer's key."""
    first, second = _new_key("ES256"), _new_key("ES256")
    issuer = f"https://sso.{tenant.name}.example"
    issuers = f"/admin/tenants/{tenant.name}/issuers"

    def trust(private) -> None:
        created = admin.post(issuers, json={"issuer": issuer, "algorithms": ["ES256"],
                                            "public_key": _pem(private)})
        assert created.status_code == 201, created.text

    def call(token: str) -> httpx.Response:
        return httpx.get(f"{server.url}/xapi/statements",
                         headers={"Authorization": f"Bearer {token}", **V2})

    trust(first)
    token = _idp_token(first, "ES256", settings, issuer=issuer, tenant=tenant.name)
    assert call(token).status_code == 200
    assert call(token).status_code == 200  # as remembered

    assert admin.delete(issuers, params={"issuer": issuer}).status_code == 204
    untrusted = call(token)
    assert untrusted.status_code == 401 and "not trusted" in untrusted.json()["error"]["message"]

    trust(second)  # the same issuer, another key
    stale = call(token)
    assert stale.status_code == 401 and "signature" in stale.json()["error"]["message"]
    fresh = _idp_token(second, "ES256", settings, issuer=issuer, tenant=tenant.name)
    assert call(fresh).status_code == 200


def _trust_new_issuer(admin, tenant, host: str):
    """A new ES256 key, trusted for `tenant` as https://HOST.TENANT.example:
    (the key, the issuer)."""
    private = _new_key("ES256")
    issuer = f"https://{host}.{tenant.name}.example"
    created = admin.post(f"/admin/tenants/{tenant.name}/issuers", json={
        "issuer": issuer, "algorithms": ["ES256"], "public_key": _pem(private)})
    assert created.status_code == 201, created.text
    return private, issuer


def test_an_idp_subject_cannot_be_one_of_the_agencys_keys(server, settings, admin, tenant,
                                                          make_credential):
    """statements/read/mine matches the key or the subject a statement was
    stored under. An IdP user whose subject is the key of the agency's
    platform would otherwise read the platform's statements as their own."""
    platform_key, platform_secret = make_credential(tenant.name, ["statements/write"])
    stored = httpx.post(f"{server.url}/xapi/statements", auth=(platform_key, platform_secret),
                        headers=V2, json=STATEMENT)
    assert stored.status_code == 200, stored.text
    private, issuer = _trust_new_issuer(admin, tenant, "login")

    def mine(subject: str) -> httpx.Response:
        token = _idp_token(private, "ES256", settings, issuer=issuer, tenant=tenant.name,
                           scope="statements/read/mine", sub=subject)
        return httpx.get(f"{server.url}/xapi/statements",
                         headers={"Authorization": f"Bearer {token}", **V2})

    posing = mine(platform_key)
    assert posing.status_code == 401, posing.text
    assert "subject is the key" in posing.json()["error"]["message"]
    # A revoked key's statements stay stored under it.
    assert admin.post(f"/admin/credentials/{platform_key}/revoke").status_code in (200, 204)
    assert mine(platform_key).status_code == 401
    learner = mine("staff-42")  # the same IdP, a subject of its own: served, nothing of others
    assert learner.status_code == 200 and learner.json()["statements"] == []


def test_an_idp_subject_cannot_take_the_form_of_the_lrss_own_tokens(server, settings, admin,
                                                                    tenant):
    """A token the LRS issues without being told a subject is `cli:<tenant>`
    or `admin:<tenant>`. An IdP user so named read that token's statements
    as their own under statements/read/mine (fuzz round 7)."""
    own = admin.post("/admin/tokens", json={"tenant": tenant.name, "scopes": ["all"]})
    assert own.status_code == 201, own.text
    written = httpx.post(f"{server.url}/xapi/statements", json=STATEMENT,
                         headers={"Authorization": f"Bearer {own.json()['token']}", **V2})
    assert written.status_code == 200, written.text
    private, issuer = _trust_new_issuer(admin, tenant, "sso2")
    for subject in (f"admin:{tenant.name}", f"cli:{tenant.name}"):
        token = _idp_token(private, "ES256", settings, issuer=issuer, tenant=tenant.name,
                           scope="statements/read/mine", sub=subject)
        posing = httpx.get(f"{server.url}/xapi/statements",
                           headers={"Authorization": f"Bearer {token}", **V2})
        assert posing.status_code == 401, posing.text
        assert "form of the LRS's own tokens" in posing.json()["error"]["message"]


def test_idp_token_with_hs256_using_the_public_key_is_refused(server, settings, admin, tenant):
    """The classic confusion: HS256 signed with the (public) PEM as secret."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    issuer = f"https://idp2.{tenant.name}.example"
    admin.post(f"/admin/tenants/{tenant.name}/issuers", json={
        "issuer": issuer, "algorithms": ["RS256"], "public_key": _pem(private)})
    now = int(time.time())
    claims = {"iss": issuer, "aud": settings.jwt_audience, "sub": "x", "tenant": tenant.name,
              "scope": "all", "exp": now + 60}
    import base64
    import hashlib
    import hmac
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps(claims).encode())
    sig = b64(hmac.new(_pem(private).encode(), f"{head}.{body}".encode(), hashlib.sha256).digest())
    response = httpx.get(f"{server.url}/xapi/statements",
                         headers={"Authorization": f"Bearer {head}.{body}.{sig}", **V2})
    assert response.status_code == 401


def test_agency_idp_token_with_jwks_and_key_rotation(server, settings, admin, tenant):
    idp = JWKSServer()
    try:
        first = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        idp.publish(first, "k1", "RS256")
        issuer = f"https://login.{tenant.name}.example"
        created = admin.post(f"/admin/tenants/{tenant.name}/issuers", json={
            "issuer": issuer, "algorithms": ["RS256"], "jwks_url": idp.url})
        assert created.status_code == 201, created.text

        def call(private, kid):
            token = _idp_token(private, "RS256", settings, issuer=issuer, tenant=tenant.name,
                               kid=kid)
            return httpx.get(f"{server.url}/xapi/statements",
                             headers={"Authorization": f"Bearer {token}", **V2})

        assert call(first, "k1").status_code == 200
        assert call(first, "k1").status_code == 200
        assert idp.fetches == 1  # cached
        unknown = call(rsa.generate_private_key(public_exponent=65537, key_size=2048), "nope")
        assert unknown.status_code == 401
    finally:
        idp.stop()


@pytest.fixture(scope="module")
def quick_refresh_server(settings):
    """Agencies' key sets fetched again after 1 s, and used for at most 3 s
    while their IdP cannot be reached (LRS_JWKS_*: 300 and 3600 by default)."""
    yield from serving(settings.replace(jwks_refresh_seconds=1, jwks_max_stale_seconds=3))


def _failed_jwks_fetches(server) -> float:
    exposition = httpx.get(f"{server.url}/metrics").text
    line = 'lrs_jwks_fetches_total{outcome="failed"}'
    return sum(float(row.rsplit(" ", 1)[1]) for row in exposition.splitlines()
               if row.startswith(line))


def test_an_agency_idp_that_goes_down_does_not_stop_its_tokens_at_once(
        quick_refresh_server, settings, admin, tenant):
    server = quick_refresh_server
    idp = JWKSServer()
    try:
        private = ec.generate_private_key(ec.SECP256R1())
        idp.publish(private, "k1", "ES256")
        issuer = f"https://sso.{tenant.name}.example"
        assert admin.post(f"/admin/tenants/{tenant.name}/issuers", json={
            "issuer": issuer, "algorithms": ["ES256"], "jwks_url": idp.url}).status_code == 201
        token = _idp_token(private, "ES256", settings, issuer=issuer, tenant=tenant.name,
                           kid="k1")
        post = lambda: httpx.post(f"{server.url}/xapi/statements", json=STATEMENT,  # noqa: E731
                                  headers={"Authorization": f"Bearer {token}", **V2})
        assert post().status_code == 200
        failed = _failed_jwks_fetches(server)
        idp.status = 503
        time.sleep(1.2)  # the key set, and the token's verdict, are due again
        assert post().status_code == 200  # the last key set, while the IdP is down
        assert idp.fetches == 2 and _failed_jwks_fetches(server) == failed + 1
        time.sleep(2.0)  # past 3 s since the key set was fetched
        refused = post()
        assert refused.status_code == 401
        assert "key set could not be fetched" in refused.json()["error"]["message"]
        idp.status = 200  # back: its keys count at the next try (10 s after the last)
        live.wait_until(lambda: post().status_code == 200, 15, "the IdP's keys to count again")
    finally:
        idp.stop()


def test_admin_api_manages_tenants_and_credentials(server, admin, tenant):
    name = f"agency-{tenant.name[-6:]}"
    assert admin.post("/admin/tenants", json={"name": name}).status_code == 201
    assert admin.post("/admin/tenants", json={"name": name}).status_code == 409
    assert name in [t["name"] for t in admin.get("/admin/tenants").json()]

    created = admin.post(f"/admin/tenants/{name}/credentials",
                         json={"scopes": ["statements/write"], "label": "moodle"})
    assert created.status_code == 201
    cred = created.json()
    listed = admin.get(f"/admin/tenants/{name}/credentials")
    assert cred["key"] in listed.text and cred["secret"] not in listed.text

    rotated = admin.post(f"/admin/credentials/{cred['key']}/rotate").json()
    assert rotated["secret"] != cred["secret"]
    post = lambda secret: httpx.post(f"{server.url}/xapi/statements", json=STATEMENT,  # noqa: E731
                                     auth=(cred["key"], secret), headers=V2)
    assert post(cred["secret"]).status_code == 401
    assert post(rotated["secret"]).status_code == 200

    bad = admin.post(f"/admin/tenants/{name}/credentials", json={"scopes": ["everything"]})
    assert bad.status_code == 400 and "scope" in bad.json()["error"]["message"]
    assert admin.get("/admin/tenants/nope/credentials").status_code == 404


def test_a_minted_token_dies_with_the_admin_credential_that_minted_it(server, admin, tenant,
                                                                      new_tenant):
    """/admin/tokens: a token lives no longer than the operator's credential
    that asked for it (revoked or rotated), not for its whole ttl."""
    def minted_by(operator) -> dict:
        response = httpx.post(f"{server.url}/admin/tokens", auth=(operator.key, operator.secret),
                              json={"tenant": tenant.name, "scopes": ["statements/read"],
                                    "ttl": 30 * 24 * 3600})
        assert response.status_code == 201, response.text
        return {"Authorization": f"Bearer {response.json()['token']}", **V2}

    for end in ("revoke", "rotate"):
        operator = new_tenant(scopes=("admin",))
        bearer = minted_by(operator)
        assert httpx.get(f"{server.url}/xapi/statements", headers=bearer).status_code == 200
        assert admin.post(f"/admin/credentials/{operator.key}/{end}").status_code == 200
        response = httpx.get(f"{server.url}/xapi/statements", headers=bearer)
        assert response.status_code == 401, end
        assert "revoked" in response.json()["error"]["message"]


def test_token_lifetimes_are_bounded(server, admin, tenant):
    base = {"tenant": tenant.name, "scopes": ["statements/read"]}
    for ttl in (0, -100, True, 10**19, 366 * 24 * 3600 + 1, 1.5, "60"):
        response = admin.post("/admin/tokens", json={**base, "ttl": ttl})
        assert response.status_code == 400, (ttl, response.text)
        assert response.json()["error"]["field"] == "ttl"
    assert admin.post("/admin/tokens", json={**base, "ttl": None}).json()["expires_in"] == 3600
    assert admin.post("/admin/tokens", json={**base, "ttl": 60}).json()["expires_in"] == 60


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/admin/tenants", {"name": "bad name!"}, "name"),
    ("/admin/tenants", {"name": "x" * 64}, "name"),
    ("/admin/tenants", {"name": None}, "name"),
    ("/admin/tenants", {"name": "a\x00b"}, "name"),
    ("/admin/tenants/{t}/credentials", {"scopes": None}, "scopes"),
    ("/admin/tenants/{t}/credentials", {"scopes": [["all"]]}, "scopes"),
    ("/admin/tenants/{t}/credentials", {"scopes": ["all"], "label": None}, "label"),
    ("/admin/tenants/{t}/credentials", {"scopes": ["all"], "label": "a\x00"}, "label"),
    ("/admin/tenants/{t}/credentials", {"scopes": ["everything"]}, "scopes"),
    ("/admin/tenants/{t}/issuers", {"issuer": "https://idp.example", "algorithms": [["RS256"]],
                                    "jwks_url": "https://idp.example/jwks"}, "algorithms"),
    ("/admin/tenants/{t}/issuers", {"issuer": "https://idp\x00.example", "algorithms": ["RS256"],
                                    "jwks_url": "https://idp.example/jwks"}, "issuer"),
    ("/admin/tenants/{t}/issuers", {"issuer": "https://idp.example", "algorithms": ["RS256"],
                                    "jwks_url": "https://idp.example/jwks",
                                    "claims": {"bogus": "x"}}, "claims"),
    ("/admin/tenants/{t}/issuers", {"issuer": "https://idp.example", "algorithms": ["RS256"],
                                    "jwks_url": "https://idp.example/jwks",
                                    "claims": {"scope_claim": 5}}, "claims"),
    ("/admin/tenants/{t}/issuers", {"issuer": "https://idp.example", "algorithms": ["RS256"],
                                    "jwks_url": "https://idp.example/jwks",
                                    "claims": {"scope_claim": None}}, "claims"),
    ("/admin/tenants/{t}/issuers", {"issuer": "https://idp.example/" + "x" * 1000,
                                    "algorithms": ["RS256"],
                                    "jwks_url": "https://idp.example/jwks"}, "issuer"),
    ("/admin/tenants/{t}/issuers", {"issuer": "https://idp.example", "algorithms": ["RS256"],
                                    "jwks_url": "http://127.0.0.1:99999/jwks"}, "jwks_url"),
    ("/admin/tenants/{t}/issuers", {"issuer": "https://idp.example", "algorithms": ["RS256"],
                                    "jwks_url": "http://[::1/jwks"}, "jwks_url"),
    ("/admin/tokens", {"tenant": None, "scopes": ["all"]}, "tenant"),
    ("/admin/tokens", {"tenant": "{t}", "scopes": None}, "scopes"),
    ("/admin/tokens", {"tenant": "{t}", "scopes": ["all"], "subject": None}, "subject"),
    ("/admin/tokens", {"tenant": "{t}", "scopes": ["all"], "subject": "x\x00y"}, "subject"),
    ("/admin/tokens", {"tenant": "{t}", "scopes": ["all"], "subject": ""}, "subject"),
    ("/admin/tokens", {"tenant": "{t}", "scopes": ["all"], "subject": "  "}, "subject"),
    ("/admin/tenants/a%00b/credentials", {"scopes": ["all"]}, "tenant"),
])
def test_admin_api_refuses_bad_input_naming_the_field(admin, tenant, path, body, field):
    body = {k: v.replace("{t}", tenant.name) if isinstance(v, str) else v for k, v in body.items()}
    before = admin.get("/admin/tenants").json()
    response = admin.post(path.replace("{t}", tenant.name), json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["field"] == field, response.text
    assert admin.get("/admin/tenants").json() == before


def test_tenant_access_is_all_or_nothing_and_checked(admin, tenant):
    """PUT .../access checks every field before it writes any: a request
    answered 400 changed nothing (its CORS origins were set before its bad
    rate was found, and a burst past the column's range was a 500)."""
    path = f"/admin/tenants/{tenant.name}/access"
    assert admin.put(path, json={"cors_origins": ["https://before.example"]}).status_code == 200
    for body, field in (
            ({"cors_origins": ["https://after.example"], "rate_limit_per_second": -1},
             "rate_limit_per_second"),
            ({"cors_origins": ["https://after.example"], "rate_limit_per_second": 1e300},
             "rate_limit_per_second"),
            ({"cors_origins": ["https://after.example"], "rate_limit_per_second": 5,
              "rate_limit_burst": 99_999_999_999}, "rate_limit_burst"),
            ({"rate_limit_burst": 3}, "rate_limit_burst"),
            ({"rate_limit_per_second": None, "rate_limit_burst": 200}, "rate_limit_burst"),
            ({"cors_origins": None}, "cors_origins"),
            ({"cors_origins": ["https://x.example/path?q=1 evil"]}, "cors_origins"),
            ({"cors_origins": ["https://user@x.example"]}, "cors_origins"),
            ({"cors_origins": ["https://x.example:99999"]}, "cors_origins"),
            ({"cors_origins": ["https://a\x00.example"]}, "cors_origins")):
        response = admin.put(path, json=body)
        assert response.status_code == 400, (body, response.text)
        assert response.json()["error"]["field"] == field, response.text
    current = admin.put(path, json={}).json()
    assert current["cors_origins"] == ["https://before.example"]
    assert current["rate_limit_per_second"] is None
    assert admin.put(path, json={"cors_origins": ["HTTPS://X.Example:8443/"],
                                 "rate_limit_per_second": 2.5}).json() == {
        "tenant": tenant.name, "cors_origins": ["https://x.example:8443"],
        "rate_limit_per_second": 2.5, "rate_limit_burst": None}
    assert admin.put(path, json={"rate_limit_per_second": None}).json()[
        "rate_limit_per_second"] is None


def test_admin_api_needs_the_admin_scope(server, tenant):
    response = httpx.get(f"{server.url}/admin/tenants", auth=(tenant.key, tenant.secret))
    assert response.status_code == 403  # `all` is every xAPI scope, not admin
    assert httpx.get(f"{server.url}/admin/tenants").status_code == 401


def test_cors_preflight_and_per_tenant_origins(server, admin, tenant, new_tenant):
    origin = f"https://content.{tenant.name}.example"
    assert admin.put(f"/admin/tenants/{tenant.name}/access",
                     json={"cors_origins": [origin]}).status_code == 200
    time.sleep(1.1)  # an origin not in the cache is looked up again after a second
    preflight = httpx.options(f"{server.url}/xapi/statements", headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type,x-experience-api-version"})
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == origin
    assert "X-Experience-API-Version" in preflight.headers["access-control-allow-headers"]

    own = httpx.get(f"{server.url}/xapi/statements", auth=(tenant.key, tenant.secret),
                    headers={"Origin": origin, **V2})
    assert own.headers["access-control-allow-origin"] == origin
    assert "X-Experience-API-Consistent-Through" in own.headers["access-control-expose-headers"]

    other = new_tenant()
    foreign = httpx.get(f"{server.url}/xapi/statements", auth=(other.key, other.secret),
                        headers={"Origin": origin, **V2})
    assert foreign.status_code == 200
    assert "access-control-allow-origin" not in foreign.headers

    unknown = httpx.options(f"{server.url}/xapi/statements", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in unknown.headers

    # Answers to no one are readable from any tenant's origin: a browser
    # client learns the versions, and why it was refused.
    for anonymous in (httpx.get(f"{server.url}/xapi/about", headers={"Origin": origin}),
                      httpx.get(f"{server.url}/xapi/statements", headers={"Origin": origin, **V2}),
                      httpx.get(f"{server.url}/xapi/statements", auth=(tenant.key, tenant.secret),
                                headers={"Origin": origin})):  # no version header: 400
        assert anonymous.status_code in (200, 400, 401)
        assert anonymous.headers["access-control-allow-origin"] == origin
    evil = httpx.get(f"{server.url}/xapi/about", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in evil.headers


def test_rate_limit_per_credential(server, admin, tenant, make_credential):
    assert admin.put(f"/admin/tenants/{tenant.name}/access",
                     json={"rate_limit_per_second": 1, "rate_limit_burst": 3}).status_code == 200
    statuses = [httpx.get(f"{server.url}/xapi/statements", auth=(tenant.key, tenant.secret),
                          headers=V2) for _ in range(6)]
    assert [r.status_code for r in statuses[:3]] == [200, 200, 200]
    limited = [r for r in statuses if r.status_code == 429]
    assert limited and int(limited[0].headers["retry-after"]) >= 1
    # Another credential of the same tenant has its own bucket.
    key, secret = make_credential(tenant.name, ["statements/read"])
    assert httpx.get(f"{server.url}/xapi/statements", auth=(key, secret),
                     headers=V2).status_code == 200


def test_idp_token_in_an_algorithm_the_issuer_is_not_configured_for(server, settings, admin,
                                                                    tenant):
    rsa_key, ec_key = _new_key("RS256"), _new_key("ES256")
    issuer = f"https://idp3.{tenant.name}.example"
    assert admin.post(f"/admin/tenants/{tenant.name}/issuers", json={
        "issuer": issuer, "algorithms": ["RS256"], "public_key": _pem(rsa_key)}).status_code == 201
    token = _idp_token(ec_key, "ES256", settings, issuer=issuer, tenant=tenant.name)
    response = httpx.get(f"{server.url}/xapi/statements",
                         headers={"Authorization": f"Bearer {token}", **V2})
    assert response.status_code == 401
    assert "algorithm" in response.json()["error"]["message"]
    # HS256 is never configurable for an agency's issuer.
    refused = admin.post(f"/admin/tenants/{tenant.name}/issuers", json={
        "issuer": issuer + "/hs", "algorithms": ["HS256"], "public_key": _pem(rsa_key)})
    assert refused.status_code == 400


def _unsigned(header: dict, claims: dict) -> str:
    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()
    return f"{part(header)}.{part(claims)}.AAAA"


def test_tokens_no_issuer_or_key_can_fit_get_401(server, settings, admin, tenant):
    """Found by fuzzing (session 35): each answered 500 before."""
    ec_key = _new_key("ES256")
    issuer = f"https://idp-fit.{tenant.name}.example"
    assert admin.post(f"/admin/tenants/{tenant.name}/issuers", json={
        "issuer": issuer, "algorithms": ["ES256", "RS256"],
        "public_key": _pem(ec_key)}).status_code == 201
    claims = {"iss": issuer, "aud": settings.jwt_audience, "sub": "z",
              "exp": int(time.time()) + 300}
    for token in (
            _unsigned({"alg": "RS256"}, claims),          # an RSA algorithm, an EC key
            _unsigned({"alg": "HS256"}, {"iss": "\ud800"}),  # an issuer no text can be
    ):
        r = httpx.get(f"{server.url}/xapi/statements",
                      headers={"Authorization": f"Bearer {token}", **V2})
        assert r.status_code == 401, r.text


def test_idp_claims_the_lrs_cannot_use(server, settings, admin, tenant):
    """Found by fuzzing (session 35): each answered 500 before."""
    private = _new_key("ES256")
    issuer = f"https://idp-claims.{tenant.name}.example"
    assert admin.post(f"/admin/tenants/{tenant.name}/issuers", json={
        "issuer": issuer, "algorithms": ["ES256"], "public_key": _pem(private)}).status_code == 201

    def answer(method: str = "GET", **claims) -> int:
        token = _idp_token(private, "ES256", settings, issuer=issuer, tenant=tenant.name,
                           **claims)
        return httpx.request(method, f"{server.url}/xapi/statements", json=STATEMENT
                             if method == "POST" else None,
                             headers={"Authorization": f"Bearer {token}", **V2}).status_code

    # A subject is stored with each statement: text of 1 to 255 characters,
    # not all blank.
    assert answer("POST", sub="a\x00b") == 401
    assert answer("POST", sub=" \t") == 401
    assert answer("POST", sub="x" * 256) == 401
    assert answer("POST", sub="x" * 255) == 200
    # A scope claim that is neither a string nor a list grants nothing.
    assert answer(scope=5) == 403
    # `exp` as a string of digits, as PyJWT reads it: good, and again once
    # the token is remembered as verified.
    token = _idp_token(private, "ES256", settings, issuer=issuer, tenant=tenant.name,
                       exp=str(int(time.time()) + 300))
    for _ in range(2):
        assert httpx.get(f"{server.url}/xapi/statements", headers={
            "Authorization": f"Bearer {token}", **V2}).status_code == 200


def test_a_rate_limit_too_small_to_store_is_refused(admin, tenant):
    r = admin.put(f"/admin/tenants/{tenant.name}/access", json={"rate_limit_per_second": 1e-300})
    assert r.status_code == 400 and r.json()["error"]["field"] == "rate_limit_per_second"
