"""1.0.3 alternate request syntax (GEN-16..20) and its removal in 2.0 (V20-04)."""

from __future__ import annotations

import json

import pytest

from conformance.lib import XAPI, assert_status, new_id, single_statement


def _form_post(cfg, path: str, method: str, form: dict, query: dict | None = None):
    """A POST carrying everything (auth and version included) in the form body only."""
    with XAPI(cfg, None, auth=False) as c:
        return c.post(path, params={"method": method, **(query or {})},
                      content=_urlencode(form),
                      headers={"Content-Type": "application/x-www-form-urlencoded"})


def _urlencode(form: dict) -> bytes:
    from urllib.parse import urlencode
    return urlencode(form).encode()


@pytest.fixture
def v1(cfg):
    if "1.0.3" not in cfg.versions:
        pytest.skip("1.0.3 not selected in LRS_VERSIONS")


def test_gen_16_17_18_19_alternate_put_and_get_statement(cfg, f, v1):
    s = f.statement()
    r = _form_post(cfg, "statements", "PUT", {
        "statementId": s["id"], "content": json.dumps(s), "Authorization": cfg.authorization(),
        "X-Experience-API-Version": "1.0.3", "Content-Type": "application/json"})
    assert_status(r, 204)
    with XAPI(cfg, "1.0.3") as c:
        assert_status(c.wait_for_statement(s["id"]), 200)
    r = _form_post(cfg, "statements", "GET", {
        "statementId": s["id"], "Authorization": cfg.authorization(),
        "X-Experience-API-Version": "1.0.3"})
    single_statement(r, s["id"])


def test_gen_20_alternate_get_query(cfg, f, v1):
    reg = new_id()
    with XAPI(cfg, "1.0.3") as c:
        c.store([f.statement(registration=reg) for _ in range(2)])
        c.wait_for_count({"registration": reg}, 2)
    r = _form_post(cfg, "statements", "GET", {
        "registration": reg, "Authorization": cfg.authorization(),
        "X-Experience-API-Version": "1.0.3"})
    assert_status(r, 200)
    assert len(r.json()["statements"]) == 2


def test_gen_16_alternate_document_put(cfg, f, v1):
    params = {"activityId": f.activity_id(), "profileId": "alt"}
    r = _form_post(cfg, "activities/profile", "PUT", {
        **params, "content": json.dumps({"alt": True}), "Authorization": cfg.authorization(),
        "X-Experience-API-Version": "1.0.3", "Content-Type": "application/json", "If-None-Match": "*"})
    assert_status(r, 204)
    with XAPI(cfg, "1.0.3") as c:
        assert c.get("activities/profile", params=params).json() == {"alt": True}


def test_gen_16_alternate_extra_query_parameter_400(cfg, f, v1):
    s = f.statement()
    r = _form_post(cfg, "statements", "PUT", {
        "content": json.dumps(s), "Authorization": cfg.authorization(),
        "X-Experience-API-Version": "1.0.3", "Content-Type": "application/json"},
        query={"statementId": s["id"]})
    assert_status(r, 400)


def test_gen_16_alternate_without_auth_401(cfg, f, v1):
    r = _form_post(cfg, "statements", "GET", {"X-Experience-API-Version": "1.0.3", "limit": "1"})
    assert_status(r, 401)


@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_v20_04_alternate_syntax_rejected_in_2_0(cfg, f, method):
    if "2.0.0" not in cfg.versions:
        pytest.skip("2.0.0 not selected in LRS_VERSIONS")
    s = f.statement()
    with XAPI(cfg, "2.0.0") as c:
        r = c.post("statements", params={"method": method},
                   content=_urlencode({"statementId": s["id"], "content": json.dumps(s)}),
                   headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert 400 <= r.status_code < 500, f"2.0 has no alternate syntax: got {r.status_code}"
        assert_status(c.get_statement(s["id"]), 404)


def test_gen_04_16_alternate_head_has_no_body(cfg, f, v1):
    """1.0.3 Part Three §1.1: a HEAD is answered as its GET "except: The
    message-body MUST be omitted", and §1.3 tunnels any request, HEAD too."""
    s = f.statement()
    with XAPI(cfg, "1.0.3") as c:
        c.store(s)
        c.wait_for_statement(s["id"])
    fields = {"statementId": s["id"], "Authorization": cfg.authorization(),
              "X-Experience-API-Version": "1.0.3"}
    got = _form_post(cfg, "statements", "GET", fields)
    head = _form_post(cfg, "statements", "HEAD", fields)
    assert_status(got, 200)
    assert_status(head, 200)
    assert head.content == b"", f"GEN-04: a tunneled HEAD came back with a body: {head.text[:100]}"


def test_gen_16_about_through_the_alternate_syntax(cfg, v1):
    """§1.3: "The LRS MUST support the syntax above" on every resource:
    clients that tunnel every request (TinCanJS over XDomainRequest) ask
    /about that way too."""
    r = _form_post(cfg, "about", "GET", {"X-Experience-API-Version": "1.0.3"})
    assert_status(r, 200)
    assert "1.0.3" in r.json()["version"]
