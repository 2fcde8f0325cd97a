"""/xapi/about, /health, /ready, /metrics and the error shape, over HTTP."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest

from lrs.app import create_app
from tests.conftest import server_with


def test_about_lists_the_versions_a_request_can_use(server):
    # VER-11: /about answers whatever the version header says, or without one.
    # A 1.0.x request is answered in 1.0.x's terms (lrs/http/about.py).
    for header, listed in ((None, ["1.0.3", "2.0.0"]), ("0.9", ["1.0.3", "2.0.0"]),
                           ("2.0.0", ["1.0.3", "2.0.0"]), ("2.0", ["1.0.3", "2.0.0"]),
                           ("1.0.3", ["1.0.3"]), ("1.0.0", ["1.0.3"]), ("1.0", ["1.0.3"])):
        headers = {} if header is None else {"X-Experience-API-Version": header}
        response = httpx.get(f"{server.url}/xapi/about", headers=headers)
        assert response.status_code == 200, header
        assert response.json()["version"] == listed, header
        assert response.headers["content-type"] == "application/json"


def test_about_refuses_a_parameter_it_does_not_define(server):
    # GEN-07, as every resource does; without credentials, as About is open.
    response = httpx.get(f"{server.url}/xapi/about", params={"foo": "1"})
    assert response.status_code == 400
    assert "'foo'" in response.json()["error"]["message"]


def test_about_through_the_alternate_syntax(server):
    # GEN-16: TinCanJS over XDomainRequest sends every request as a POST,
    # About's included; its form's version field is the request's.
    url = f"{server.url}/xapi/about"
    v1 = httpx.post(url, params={"method": "GET"}, data={"X-Experience-API-Version": "1.0.3"})
    assert v1.status_code == 200 and v1.json()["version"] == ["1.0.3"]
    bare = httpx.post(url, params={"method": "GET"}, content=b"",
                      headers={"Content-Type": "text/plain"})
    assert bare.status_code == 200 and bare.json()["version"] == ["1.0.3", "2.0.0"]
    head = httpx.post(url, params={"method": "HEAD"}, data={})
    assert head.status_code == 200 and head.content == b""
    for refused in (httpx.post(url, params={"method": "PUT"}, data={}), httpx.post(url)):
        assert refused.status_code == 405 and refused.headers["allow"] == "GET, HEAD"
    assert httpx.post(url, params={"method": "GET"}, data={"foo": "1"}).status_code == 400


def test_head_about_has_no_body(server):
    response = httpx.head(f"{server.url}/xapi/about")
    assert response.status_code == 200
    assert response.content == b""


def test_health_and_ready(server):
    assert httpx.get(f"{server.url}/health").json() == {"status": "ok"}
    ready = httpx.get(f"{server.url}/ready")
    assert ready.status_code == 200
    assert ready.json()["database"] == "ok"


def test_without_the_database_ready_and_requests_are_503(settings, tenant):
    # The pool is closed under a running app: the database "goes away".
    app = create_app(settings)
    auth = httpx.BasicAuth(tenant.key, tenant.secret)
    v2 = {"X-Experience-API-Version": "2.0.0"}

    async def scenario() -> list[httpx.Response]:
        async with app.router.lifespan_context(app):
            runtime = app.state.runtime
            await runtime.db._pool.close()
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://lrs") as c:
                return [await c.get("/ready"),
                        await c.post("/xapi/statements", auth=auth, headers=v2, json={
                            "actor": {"mbox": "mailto:a@example.org"},
                            "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
                            "object": {"id": "http://example.org/o"}}),
                        await c.get("/xapi/activities/state", auth=auth, headers=v2)]

    ready, post, state = asyncio.run(scenario())
    assert ready.status_code == 503
    assert ready.json()["database"] == "unreachable"
    for response in (post, state):
        assert response.status_code == 503, response.text
        assert response.json()["error"]["code"] == "service_unavailable"


def test_metrics_are_prometheus_text_with_route_templates(server):
    httpx.get(f"{server.url}/xapi/about")
    httpx.get(f"{server.url}/no/such/path/12345")
    response = httpx.get(f"{server.url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert re.search(r'lrs_http_requests_total\{method="GET",route="/xapi/about",status="200"\} \d', text)
    assert 'route="unmatched"' in text
    assert "/no/such/path" not in text  # raw paths never become labels
    for name in ("lrs_http_request_duration_seconds_bucket", "lrs_http_requests_in_flight",
                 "lrs_db_pool_connections", "lrs_db_pool_connections_in_use", "lrs_build_info"):
        assert name in text
    # The families of docs/operations.md only, as with several workers: no
    # process_*, python_* or *_created series beside them.
    families = re.findall(r"^# TYPE (\S+) ", text, re.MULTILINE)
    assert families and all(f.startswith("lrs_") and not f.endswith("_created")
                            for f in families), families


def test_every_error_is_the_one_json_shape(server):
    cases = [
        httpx.get(f"{server.url}/nope"),
        httpx.delete(f"{server.url}/xapi/about"),
        httpx.get(f"{server.url}/xapi/statements", headers={"X-Experience-API-Version": "2.0.0"}),
        httpx.get(f"{server.url}/xapi/statements"),
    ]
    assert [r.status_code for r in cases] == [404, 405, 401, 400]
    for response in cases:
        assert response.headers["content-type"] == "application/json"
        error = response.json()["error"]
        assert error["status"] == response.status_code
        assert error["message"]
        assert "Traceback" not in response.text


@pytest.mark.parametrize(("accept", "media_type"), [
    (None, "application/json"), ("*/*", "application/json"),
    ("application/json", "application/json"), ("text/plain, application/json", "application/json"),
    ("text/plain", "text/plain; charset=utf-8"), ("text/*", "text/plain; charset=utf-8"),
    ("text/plain;q=0.5, application/json;q=0.4", "text/plain; charset=utf-8"),
    # A browser's navigation.
    ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
     "text/html; charset=utf-8"),
    ("image/png", "application/json"),  # nothing acceptable: still answered, in JSON
])
def test_an_error_comes_in_the_format_the_client_prefers(server, tenant, accept, media_type):
    """ERR-03 (1.0.3 Communication 3.2, 2.0 LRS 4.1.5 SHOULD): the error's
    format by content negotiation, among JSON, plain text and HTML."""
    headers = {"X-Experience-API-Version": "2.0.0", **({"Accept": accept} if accept else {})}
    response = httpx.get(f"{server.url}/xapi/statements", headers=headers,
                         params={"statementId": "not-a-uuid"}, auth=(tenant.key, tenant.secret))
    assert response.status_code == 400
    assert response.headers["content-type"] == media_type
    assert response.headers["x-experience-api-version"] == "2.0.0"
    if media_type == "application/json":
        assert response.json()["error"]["field"] == "statementId"
    else:
        assert "400 Bad Request" in response.text and "statementId" in response.text
    if media_type.startswith("text/html"):
        assert response.text.startswith("<!DOCTYPE html>")
        assert "<script" not in httpx.get(f"{server.url}/<script>x", headers=headers).text



def test_xapi_errors_carry_the_version_header(server):
    response = httpx.get(f"{server.url}/xapi/statements", headers={"X-Experience-API-Version": "1.0.1"})
    assert response.status_code == 401
    assert response.headers["X-Experience-API-Version"] == "1.0.3"
    response = httpx.get(f"{server.url}/xapi/statements", headers={"X-Experience-API-Version": "3.0"})
    assert response.status_code == 400
    assert "X-Experience-API-Version" in response.json()["error"]["message"]


def test_a_request_without_the_version_header_is_answered_in_1_0_3(server, tenant):
    # ADL 1.0.3 suite XAPI-00321: the 400 must carry a 1.0.x version header
    # (the 2.0 suite accepts 1.0.x or 2.0.x there).
    response = httpx.get(f"{server.url}/xapi/statements", auth=(tenant.key, tenant.secret))
    assert response.status_code == 400
    assert response.headers["X-Experience-API-Version"] == "1.0.3"


def test_the_version_header_on_two_lines_is_one_list(server, tenant):
    """RFC 9110 5.3: two field lines of one name are one comma-joined list.
    The same version twice is that version; two versions are a 400 naming
    the header (the first line used to decide alone)."""
    auth = (tenant.key, tenant.secret)
    for lines, status in (([("1.0.3", "2.0.0")], 400), ([("2.0.0", "1.0.3")], 400),
                          ([("2.0.0", "2.0.0")], 200)):
        headers = [("X-Experience-API-Version", v) for v in lines[0]]
        response = httpx.get(f"{server.url}/xapi/statements", headers=headers, auth=auth,
                             params={"limit": "1"})
        assert response.status_code == status, (lines, response.text)
        if status == 400:
            error = response.json()["error"]
            assert error["field"] == "X-Experience-API-Version"
            assert "several versions" in error["message"]
    about = httpx.get(f"{server.url}/xapi/about",
                      headers=[("X-Experience-API-Version", "1.0.3"),
                               ("X-Experience-API-Version", "2.0.0")])
    assert about.json()["version"] == ["1.0.3", "2.0.0"]


def test_request_id_is_echoed_or_made(server):
    given = httpx.get(f"{server.url}/health", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    made = httpx.get(f"{server.url}/health")
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["x-request-id"])


def test_metrics_can_require_a_bearer_token(settings):
    # Their labels name every tenant and its volumes: readable by anyone who
    # reaches the port unless LRS_METRICS_TOKEN is set.
    with server_with(settings.replace(metrics_token="scrape-me")) as server:
        url = f"{server.url}/metrics"
        for refused in (httpx.get(url),
                        httpx.get(url, headers={"Authorization": "Bearer scrape-you"}),
                        httpx.get(url, headers={"Authorization": "Basic scrape-me"}),
                        httpx.get(url, headers={"Authorization": "Bearerscrape-me"})):
            assert refused.status_code == 401
            assert refused.headers["www-authenticate"].startswith("Bearer")
            assert "lrs_" not in refused.text
        # The scheme's name in any case (RFC 9110 11.1), as scrapers write it.
        for scheme in ("Bearer", "bearer", "BEARER"):
            allowed = httpx.get(url, headers={"Authorization": f"{scheme} scrape-me"})
            assert allowed.status_code == 200 and "lrs_tenant_requests_total" in allowed.text
