"""About resource (ABOUT), version header negotiation (VER), error bodies (ERR)."""

from __future__ import annotations

import re

import pytest

from conformance.lib import (CONSISTENT_THROUGH, VERSION_HEADER, XAPI, assert_json_error,
                             assert_status, new_id, read_statement)

SEMVER = re.compile(r"^\d+\.\d+\.\d+$")


# -- about -----------------------------------------------------------------------------

def test_about_01_02_versions_listed(cfg):
    with XAPI(cfg, None) as c:
        r = c.get("about")
    assert_status(r, 200)
    body = r.json()
    assert isinstance(body.get("version"), list) and body["version"], body
    for v in body["version"]:
        # 1.0.3 Communication 2.8: "0.9" and "0.95" MAY be listed, as such.
        assert isinstance(v, str) and (SEMVER.match(v) or v in ("0.9", "0.95")), \
            f"about.version entry {v!r} is not X.Y.Z"
    # ABOUT-02: the latest patch of each major version "is included"; earlier ones
    # (1.0.0 ... 1.0.2) may be listed beside it, as many LRSs do.
    for v in cfg.versions:
        assert v in body["version"], f"ABOUT-02: /about does not list {v}: {body['version']}"


@pytest.mark.versions("1.0.3")
def test_about_02_a_1_0_request_sees_1_0_3(cfg, version):
    # 1.0.3 Communication 2.8: "version" lists the xAPI versions the LRS
    # supports, the latest minor and patch for each major version: 1.0.3 for
    # an LRS tested as 1.0.3. Other majors (2.0.0) may be listed too, whatever
    # the request's header: listing only 1.0.x to a 1.0.x request (as ADL's
    # 1.0.3 suite, XAPI-00316, expects) is an LRS's choice, not a rule.
    with XAPI(cfg, version) as c:
        r = c.get("about")
    assert_status(r, 200)
    listed = r.json()["version"]
    assert "1.0.3" in listed, f"/about does not list 1.0.3 to a 1.0.3 request: {listed}"


@pytest.mark.versions("2.0.0")
def test_about_02_a_2_0_request_sees_2_0(cfg, version):
    with XAPI(cfg, version) as c:
        r = c.get("about")
    assert_status(r, 200)
    assert "2.0.0" in r.json()["version"], r.json()


def test_about_03_04_only_version_and_extensions(cfg):
    with XAPI(cfg, "1.0.3") as c:
        r = c.get("about")
    assert_status(r, 200)
    body = r.json()
    assert set(body) <= {"version", "extensions"}, f"ABOUT-03: extra keys {sorted(body)}"
    if "extensions" in body:
        assert isinstance(body["extensions"], dict)
        for k in body["extensions"]:
            assert re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", k), f"ABOUT-04: extension key {k!r} is not an IRI"


@pytest.mark.parametrize("header", [None, "0.9", "3.0.0", "garbage"])
def test_ver_11_about_06_about_ignores_version_header(cfg, header):
    with XAPI(cfg, header) as c:
        r = c.get("about")
    assert_status(r, 200)
    assert "version" in r.json()


def test_about_05_unauthenticated_access(cfg):
    with XAPI(cfg, None, auth=False) as c:
        r = c.get("about")
    assert_status(r, 200)


def test_gen_04_about_head(cfg):
    with XAPI(cfg, "1.0.3") as c:
        g = c.get("about")
        h = c.head("about")
    assert_status(g, 200)  # else HEAD matching GET would pass an LRS without /about
    assert_status(h, g.status_code)
    assert h.content == b""


def test_gen_07_about_unknown_parameter_400(cfg, version):
    """1.0.3 Part Three §3.2, 2.0 §4.1.5: "any requests to any of these
    resources that use any parameters which the LRS does not recognize" are
    400; About defines none (ABOUT-06 exempts its version header only)."""
    with XAPI(cfg, version) as c:
        r = c.get("about", params={"foo": "1"})
    assert_status(r, 400)


# -- version header negotiation ----------------------------------------------------------

@pytest.mark.parametrize("sent,expected", [
    ("1.0.3", "1.0.3"), ("1.0", "1.0.3"), ("1.0.0", "1.0.3"), ("1.0.1", "1.0.3"), ("1.0.2", "1.0.3"),
    ("2.0.0", "2.0.0"), ("2.0", "2.0.0"),
])
def test_ver_02_03_04_accepted_versions_answered_with_latest_patch(cfg, sent, expected):
    if expected not in cfg.versions:
        pytest.skip(f"{expected} not selected in LRS_VERSIONS")
    with XAPI(cfg, sent) as c:
        r = c.get("statements", params={"limit": 1})
    assert_status(r, 200)
    assert r.headers.get(VERSION_HEADER) == expected, \
        f"request {sent} answered with {r.headers.get(VERSION_HEADER)!r}, expected {expected}"


# Not "1.0.x" or "1.0.3.1": 1.0.3 Communication 3.3 says the LRS "MUST accept requests with
# a version header starting with `1.0.`", so an LRS may take them; nor "1", which no rule
# names.
@pytest.mark.parametrize("sent", ["0.9", "0.95", "1.1.0", "1.1", "2.1.0", "2.1", "3.0.0",
                                  "abc", ""])
def test_ver_05_06_07_08_10_rejected_versions(cfg, sent):
    with XAPI(cfg, sent or None) as c:
        if sent == "":
            r = c.get("statements", params={"limit": 1}, headers={VERSION_HEADER: ""})
        else:
            r = c.get("statements", params={"limit": 1})
    assert_status(r, 400)
    assert r.text.strip(), "VER-10: the 400 should describe the problem"


@pytest.mark.parametrize("path,params", [
    ("statements", {"limit": 1}),
    ("activities", {"activityId": "http://conformance.example.com/x"}),
    ("agents", {"agent": '{"mbox":"mailto:x@conformance.example.com"}'}),
])
def test_ver_09_missing_version_header_rejected(cfg, path, params):
    with XAPI(cfg, None) as c:
        r = c.get(path, params=params)
    assert_status(r, 400)


def test_ver_09_missing_version_header_rejected_on_write(cfg, factory):
    with XAPI(cfg, None) as c:
        s = factory.statement()
        r = c.post_statements(s)
        assert_status(r, 400)
    with XAPI(cfg, cfg.versions[0]) as c:
        assert_status(c.get_statement(s["id"]), 404)


def test_ver_01_header_on_every_response(lrs, cfg, f, version):
    """Success, 400, 404, 409, HEAD, documents: every response carries the header."""
    s = f.statement()
    responses = [
        lrs.get("about"),
        lrs.post_statements(s),
        lrs.put_statement(s),
        lrs.get_statement(s["id"]),
        lrs.head("statements", params={"statementId": s["id"]}),
        lrs.get_statement(new_id()),                                        # 404
        lrs.get("statements", params={"bogus": "1"}),                        # 400
        lrs.put_statement(f.statement(), statement_id=s["id"]),             # 409
        lrs.get("activities", params={"activityId": f.activity_id()}),
        lrs.get("activities/state", params={"activityId": f.activity_id(),
                                            "agent": '{"mbox":"mailto:a@conformance.example.com"}',
                                            "stateId": "nope"}),             # 404
    ]
    with XAPI(cfg, version, auth=False) as anon:
        responses.append(anon.get("statements"))                            # 401
    for r in responses:
        assert r.headers.get(VERSION_HEADER), f"no {VERSION_HEADER} on {r.request.method} {r.request.url} ({r.status_code})"
        assert r.headers[VERSION_HEADER] == version or r.request.url.path.endswith("/about"), \
            f"{r.request.method} {r.request.url} answered {r.headers[VERSION_HEADER]!r} to a {version} request"


def test_ver_01_header_on_version_error(cfg):
    with XAPI(cfg, "9.9.9") as c:
        r = c.get("statements")
    assert_status(r, 400)
    assert r.headers.get(VERSION_HEADER), "VER-01: errors (the version error included) carry the header"


# -- error bodies -----------------------------------------------------------------------

def test_err_02_03_error_bodies_are_json(lrs, f):
    # ERR-03: the error's format is negotiated (RFC 7231), so each request
    # asks for JSON; without an Accept header any format would do.
    errs = [
        lrs.get("statements", params={"bogus": "1"}, headers={"Accept": "application/json"}),
        lrs.get("statements", params={"statementId": new_id()},
                headers={"Accept": "application/json"}),
        lrs.post("statements", content=b"{not json", headers={"Content-Type": "application/json",
                                                              "Accept": "application/json"}),
    ]
    s = f.statement()
    lrs.store(s)
    other = f.statement()
    other["id"] = s["id"]
    errs.append(lrs.post_statements(other, headers={"Accept": "application/json"}))
    codes = [e.status_code for e in errs]
    assert codes == [400, 404, 400, 409], codes
    for e in errs:
        body = assert_json_error(e)
        assert body, "ERR-02: an error body should explain the error"


def test_err_01_malformed_json_400(lrs):
    r = lrs.post("statements", content=b'{"actor": ', headers={"Content-Type": "application/json"})
    assert_status(r, 400)
    assert r.headers.get(CONSISTENT_THROUGH), "STGET-26: error responses on statements carry Consistent-Through"


def test_gen_01_required_resources_exist(lrs, f):
    agent = '{"mbox":"mailto:gen01@conformance.example.com"}'
    act = f.activity_id()
    for path, params, ok in [
        ("statements", {"limit": 1}, {200}),
        ("agents", {"agent": agent}, {200}),
        ("agents/profile", {"agent": agent}, {200}),
        ("activities", {"activityId": act}, {200}),
        ("activities/profile", {"activityId": act}, {200}),
        ("activities/state", {"activityId": act, "agent": agent}, {200}),
        ("about", {}, {200}),
    ]:
        r = lrs.get(path, params=params)
        assert r.status_code in ok, f"GEN-01: GET {path} -> {r.status_code}: {r.text[:200]}"


def test_gen_04_head_everywhere_get_is(lrs, f, version):
    agent = '{"mbox":"mailto:head@conformance.example.com"}'
    act = f.activity_id()
    assert_status(lrs.put("activities/state", json_body={"h": 1}, headers={"If-None-Match": "*"},
                          params={"activityId": act, "agent": agent, "stateId": "h"}), 204)
    for path, params in [
        ("statements", {"limit": 1}),
        ("activities", {"activityId": act}),
        ("agents", {"agent": agent}),
        ("activities/state", {"activityId": act, "agent": agent}),
        ("activities/state", {"activityId": act, "agent": agent, "stateId": "h"}),
        ("activities/profile", {"activityId": act}),
        ("agents/profile", {"agent": agent}),
    ]:
        g = lrs.get(path, params=params)
        h = lrs.head(path, params=params)
        # Each GET is of something that exists: a HEAD matching a 404 shows nothing.
        # (An unknown activity may be 404 in 1.0.3; 2.0 always answers one, V20-06.)
        found = (200, 404) if path == "activities" and version == "1.0.3" else (200,)
        assert g.status_code in found, f"GET {path} -> {g.status_code}: {g.text[:200]}"
        assert h.status_code == g.status_code, f"GEN-04: HEAD {path} -> {h.status_code}, GET -> {g.status_code}"
        assert h.content == b"", f"GEN-04: HEAD {path} has a body"
        assert h.headers.get(VERSION_HEADER), f"VER-01: HEAD {path} lacks the version header"


def test_ver_01_unsupported_method_still_versioned(lrs):
    r = lrs.delete("statements", params={"statementId": new_id()})
    assert r.status_code in (400, 404, 405), r.status_code
    assert r.headers.get(VERSION_HEADER), "VER-01: every response carries the version header"


@pytest.mark.versions("1.0.3")
def test_ver_12_a_newer_statement_is_not_converted_down(cfg, f, version):
    # Stored through 2.0.0 with a 2.0-only property, read through 1.0.3: it
    # comes back as it was accepted, not rewritten into the older format.
    if "2.0.0" not in cfg.versions:
        pytest.skip("needs 2.0.0 among the selected versions (LRS_VERSIONS, --versions): "
                    "the statement is stored through 2.0.0")
    s = f.statement()
    s["version"] = "2.0.0"
    s["context"] = {"contextAgents": [{"objectType": "contextAgent", "agent": f.agent("peer"),
                                       "relevantTypes": [f.activity_id("peer-type")]}]}
    with XAPI(cfg, "2.0.0") as newer, XAPI(cfg, version) as older:
        newer.store(s)
        body = read_statement(older, s["id"])
    assert body["version"] == "2.0.0", body
    assert body["context"]["contextAgents"] == s["context"]["contextAgents"], body
