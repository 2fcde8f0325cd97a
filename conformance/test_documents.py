"""Document resources: activities/state, activities/profile, agents/profile
(DOC-01..18, STATE-01..07, APROF-01..04, AGPROF-01..03), plus the activities and
agents resources (ACT-01/02, AGT-01..03)."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest

from conformance.lib import assert_status, parse_http_date


@dataclass
class Doc:
    kind: str
    path: str
    id_key: str
    scope: dict        # params that select the document set (no id)

    def one(self, doc_id: str) -> dict:
        return {**self.scope, self.id_key: doc_id}


def _make_doc(kind: str, f) -> Doc:
    agent = json.dumps({"objectType": "Agent", "mbox": f"mailto:doc-{uuid.uuid4().hex[:8]}.{f.run}@conformance.example.com"})
    act = f.activity_id("doc-" + uuid.uuid4().hex[:8])
    if kind == "state":
        return Doc(kind, "activities/state", "stateId", {"activityId": act, "agent": agent})
    if kind == "activity_profile":
        return Doc(kind, "activities/profile", "profileId", {"activityId": act})
    return Doc(kind, "agents/profile", "profileId", {"agent": agent})


KINDS = ["state", "activity_profile", "agent_profile"]


@pytest.fixture(params=KINDS)
def doc(request, f) -> Doc:
    return _make_doc(request.param, f)


def _put_json(lrs, doc: Doc, doc_id: str, body, headers=None):
    h = {"If-None-Match": "*"}
    h.update(headers or {})
    return lrs.put(doc.path, params=doc.one(doc_id), json_body=body, headers=h)


def _create(lrs, doc: Doc, doc_id: str, body):
    assert_status(_put_json(lrs, doc, doc_id, body), 204)


def _get(lrs, doc: Doc, doc_id: str):
    return lrs.get(doc.path, params=doc.one(doc_id))


def _etag(r) -> str:
    et = r.headers.get("etag")
    assert et, "DOC-03: a document GET carries an ETag"
    return et


# -- CRUD -------------------------------------------------------------------------------------

def test_doc_09_13_14_aprof_01_agprof_01_put_get_delete(lrs, doc):
    body = {"answer": 42, "nested": {"a": [1, 2]}}
    r = _put_json(lrs, doc, "d1", body)
    assert_status(r, 204)
    g = _get(lrs, doc, "d1")
    assert_status(g, 200)
    assert g.json() == body
    assert g.headers["content-type"].startswith("application/json"), "DOC-01: stored Content-Type echoed"
    d = lrs.delete(doc.path, params=doc.one("d1"))
    assert_status(d, 204)
    assert_status(_get(lrs, doc, "d1"), 404)


def test_doc_01_binary_round_trip(lrs, doc):
    data = bytes(range(256)) * 8 + b"\x00\xff"
    r = lrs.put(doc.path, params=doc.one("bin"), content=data,
                headers={"Content-Type": "application/octet-stream", "If-None-Match": "*"})
    assert_status(r, 204)
    g = _get(lrs, doc, "bin")
    assert_status(g, 200)
    assert g.content == data, "DOC-01: binary documents round-trip byte for byte"
    assert g.headers["content-type"].startswith("application/octet-stream")


def test_doc_01_text_content_type_kept(lrs, doc):
    r = lrs.put(doc.path, params=doc.one("txt"), content="héllo wörld".encode(),
                headers={"Content-Type": "text/plain; charset=utf-8", "If-None-Match": "*"})
    assert_status(r, 204)
    g = _get(lrs, doc, "txt")
    assert g.headers["content-type"].startswith("text/plain")
    assert g.content.decode("utf-8") == "héllo wörld"


def test_doc_14_err_10_missing_document_404(lrs, doc):
    # The resource must exist first: on an LRS without it every GET is 404,
    # which says nothing about a missing document.
    _create(lrs, doc, "present", {"x": 1})
    assert_status(_get(lrs, doc, "present"), 200)
    assert_status(_get(lrs, doc, "never-" + uuid.uuid4().hex), 404)


def test_doc_02_unknown_activity_or_agent_accepted(lrs, doc):
    _create(lrs, doc, "unknown-owner", {"x": 1})


# -- concurrency ------------------------------------------------------------------------------

def test_doc_03_04_etag_quoted_and_sha1_in_1_0_3(lrs, doc, version):
    _create(lrs, doc, "etag", {"x": 1})
    g = _get(lrs, doc, "etag")
    et = _etag(g)
    strong = et[2:] if et.startswith("W/") else et
    assert strong.startswith('"') and strong.endswith('"') and len(strong) >= 3, \
        f"DOC-03: ETag must be quoted: {et!r}"
    if version == "1.0.3" and "content-encoding" not in g.headers:
        assert strong.strip('"') == hashlib.sha1(g.content).hexdigest(), \
            "DOC-04 (1.0.3): ETag is the hex SHA-1 of the content"
    h = lrs.head(doc.path, params=doc.one("etag"))
    assert_status(h, 200)
    assert h.headers.get("etag") == et, "GEN-04: HEAD carries the same ETag"
    assert h.content == b""


def test_doc_05_put_if_match(lrs, doc):
    _create(lrs, doc, "im", {"v": 1})
    et = _etag(_get(lrs, doc, "im"))
    bad = lrs.put(doc.path, params=doc.one("im"), json_body={"v": 2}, headers={"If-Match": '"0000"'})
    assert_status(bad, 412)
    assert _get(lrs, doc, "im").json() == {"v": 1}, "DOC-05: a failed precondition changes nothing"
    ok = lrs.put(doc.path, params=doc.one("im"), json_body={"v": 3}, headers={"If-Match": et})
    assert_status(ok, 204)
    assert _get(lrs, doc, "im").json() == {"v": 3}
    stale = lrs.put(doc.path, params=doc.one("im"), json_body={"v": 4}, headers={"If-Match": et})
    assert_status(stale, 412)
    assert _get(lrs, doc, "im").json() == {"v": 3}


def test_doc_05_06_a_precondition_on_several_header_lines(lrs, doc):
    """If-Match and If-None-Match are lists (RFC 2616 14.24/14.26), and a list
    sent on several header lines is the one list joined by commas (4.2)."""
    _create(lrs, doc, "lines", {"v": 1})
    et = _etag(_get(lrs, doc, "lines"))

    def put(name: str, first: str, second: str, body: dict):
        return lrs.put(doc.path, params=doc.one("lines"), json_body=body,
                       headers=[(name, first), (name, second)])

    assert_status(put("If-None-Match", '"other"', et, {"v": 2}), 412)
    assert _get(lrs, doc, "lines").json() == {"v": 1}, \
        "DOC-06: the current ETag on a second If-None-Match line must stop the write"
    assert_status(put("If-Match", '"stale"', et, {"v": 3}), 204)
    assert _get(lrs, doc, "lines").json() == {"v": 3}


def test_doc_05_put_if_match_when_absent_412(lrs, doc):
    r = lrs.put(doc.path, params=doc.one("absent"), json_body={"v": 1}, headers={"If-Match": '"abc"'})
    assert_status(r, 412)
    assert_status(_get(lrs, doc, "absent"), 404)


def test_doc_05_if_match_star(lrs, doc):
    r = lrs.put(doc.path, params=doc.one("star"), json_body={"v": 1}, headers={"If-Match": "*"})
    assert_status(r, 412)
    _create(lrs, doc, "star", {"v": 1})
    r = lrs.put(doc.path, params=doc.one("star"), json_body={"v": 2}, headers={"If-Match": "*"})
    assert_status(r, 204)


def test_doc_06_put_if_none_match_star_existing_412(lrs, doc):
    _create(lrs, doc, "inm", {"v": 1})
    r = lrs.put(doc.path, params=doc.one("inm"), json_body={"v": 2}, headers={"If-None-Match": "*"})
    assert_status(r, 412)
    assert _get(lrs, doc, "inm").json() == {"v": 1}


def test_doc_06_a_star_among_other_tags_changes_nothing(lrs, doc):
    """`*` stands alone (RFC 2616 14.26, RFC 9110 13.1.2); sent in a list or on
    a second header line it is an invalid header or still `*`, but a PUT it
    came with must not overwrite the document."""
    _create(lrs, doc, "inm-list", {"v": 1})
    for headers in ({"If-None-Match": '"abc", *'}, [("If-None-Match", '"abc"'),
                                                     ("If-None-Match", "*")]):
        r = lrs.put(doc.path, params=doc.one("inm-list"), json_body={"v": 2}, headers=headers)
        assert r.status_code in (400, 412), f"DOC-06: {headers} over a document: {r.status_code}"
        assert _get(lrs, doc, "inm-list").json() == {"v": 1}


def test_doc_05_07_a_blank_if_match_changes_nothing(lrs, doc):
    """An If-Match header that is present but blank lists no entity tag
    (RFC 9110 5.6.1: empty list elements are ignored; 13.1.1: the condition
    holds only when a listed tag matches): a PUT, POST or DELETE it comes
    with must not change the document, as with an ETag that does not match
    (DOC-05, DOC-07)."""
    _create(lrs, doc, "blank", {"v": 1})
    for method, body in (("PUT", {"v": 2}), ("POST", {"w": 2}), ("DELETE", None)):
        r = lrs.request(method, doc.path, params=doc.one("blank"), json_body=body,
                        headers={"If-Match": ""})
        assert r.status_code in (400, 412), (
            f"DOC-05/07: {method} with a blank If-Match over a document: {r.status_code}")
        assert _get(lrs, doc, "blank").json() == {"v": 1}, (
            f"DOC-05/07: {method} with a blank If-Match changed the document")


def test_doc_07_post_and_delete_if_match(lrs, doc):
    _create(lrs, doc, "pd", {"v": 1})
    et = _etag(_get(lrs, doc, "pd"))
    r = lrs.post(doc.path, params=doc.one("pd"), json_body={"w": 2}, headers={"If-Match": '"0000"'})
    assert_status(r, 412)
    r = lrs.delete(doc.path, params=doc.one("pd"), headers={"If-Match": '"0000"'})
    assert_status(r, 412)
    assert _get(lrs, doc, "pd").json() == {"v": 1}, "DOC-07: failed preconditions change nothing"
    r = lrs.post(doc.path, params=doc.one("pd"), json_body={"w": 2}, headers={"If-Match": et})
    assert_status(r, 204)
    et2 = _etag(_get(lrs, doc, "pd"))
    assert et2 != et, "the ETag changes with the content"
    r = lrs.delete(doc.path, params=doc.one("pd"), headers={"If-Match": et2})
    assert_status(r, 204)
    assert_status(_get(lrs, doc, "pd"), 404)


# If-None-Match on POST is a 1.0.3 SHOULD*, dropped in 2.0 (V20-08).
@pytest.mark.versions("1.0.3")
def test_doc_07_post_if_none_match_star_existing_412(lrs, doc, version):
    _create(lrs, doc, "pinm", {"v": 1})
    r = lrs.post(doc.path, params=doc.one("pinm"), json_body={"w": 2}, headers={"If-None-Match": "*"})
    assert_status(r, 412)
    assert _get(lrs, doc, "pinm").json() == {"v": 1}


def test_doc_08_state_07_aprof_03_agprof_03_put_without_precondition_on_existing(lrs, doc, version):
    _create(lrs, doc, "noprec", {"v": 1})
    r = lrs.put(doc.path, params=doc.one("noprec"), json_body={"v": 2})
    if doc.kind == "state" and version == "1.0.3":
        # 1.0.3 exempts the State resource (STATE-07): the PUT replaces the document.
        assert_status(r, 204)
        assert _get(lrs, doc, "noprec").json() == {"v": 2}
        return
    assert_status(r, 409)
    assert r.text.strip(), "DOC-08: the 409 explains how to resolve the conflict"
    assert _get(lrs, doc, "noprec").json() == {"v": 1}, "DOC-08: a 409 changes nothing"


def test_doc_09_put_without_precondition_when_absent(lrs, doc, version):
    r = lrs.put(doc.path, params=doc.one("fresh"), json_body={"v": 1})
    if doc.kind != "state" and version == "1.0.3" and r.status_code == 400:
        # 1.0.3 Communication 3.1: "A Client making a PUT request to either the
        # Agent Profile Resource or Activity Profile Resource MUST include the
        # If-Match header or the If-None-Match header". A client MUST, which an
        # LRS may enforce, as ADL's suite expects (XAPI-00273): 400, nothing
        # stored. The LRS's own rule (409) is for a document that exists.
        assert_status(_get(lrs, doc, "fresh"), 404)
        return
    assert_status(r, 204)
    assert _get(lrs, doc, "fresh").json() == {"v": 1}


# -- JSON merge -------------------------------------------------------------------------------

def test_doc_10_12_19_aprof_04_post_merges_json(lrs, doc):
    r = lrs.post(doc.path, params=doc.one("merge"), json_body={"a": 1, "b": {"x": 1}})
    assert_status(r, 204)  # DOC-12: POST creates
    r = lrs.post(doc.path, params=doc.one("merge"), json_body={"b": {"y": 2}, "c": 3})
    assert_status(r, 204)
    got = _get(lrs, doc, "merge")
    assert got.json() == {"a": 1, "b": {"y": 2}, "c": 3}, "DOC-10: shallow merge of top-level keys"
    assert got.headers["content-type"].startswith("application/json")


def test_doc_10_merge_keeps_a_deeply_nested_property(lrs, doc):
    """Other keys stay as they were, however deep: 300 levels, as any JSON
    parser reads them (an LRS that could not write them back answered 500)."""
    deep = {"d": json.loads("[" * 300 + "]" * 300), "n": 1}
    assert_status(lrs.put(doc.path, params=doc.one("deep"), json_body=deep,
                          headers={"If-None-Match": "*"}), 204)
    assert_status(lrs.post(doc.path, params=doc.one("deep"), json_body={"n": 2}), 204)
    assert _get(lrs, doc, "deep").json() == {**deep, "n": 2}, "DOC-10: other keys stay"


def test_err_01_a_null_character_in_a_document_id(lrs, doc):
    """An id is a String, and U+0000 is a JSON string's character: stored and
    read back, or refused as an invalid argument (400); never a server error."""
    r = lrs.put(doc.path, params=doc.one("a\x00b"), json_body={"v": 1},
                headers={"If-None-Match": "*"})
    assert_status(r, 204, 400)
    if r.status_code == 204:
        got = _get(lrs, doc, "a\x00b")
        assert_status(got, 200)
        assert got.json() == {"v": 1}


def test_doc_10_merge_with_charset_content_type(lrs, doc):
    lrs.post(doc.path, params=doc.one("mcs"), json_body={"a": 1})
    r = lrs.post(doc.path, params=doc.one("mcs"), content=json.dumps({"b": 2}).encode(),
                 headers={"Content-Type": "application/json; charset=utf-8"})
    assert_status(r, 204)
    assert _get(lrs, doc, "mcs").json() == {"a": 1, "b": 2}


def test_doc_11_post_json_onto_non_json_400(lrs, doc):
    r = lrs.put(doc.path, params=doc.one("nj"), content=b"plain text",
                headers={"Content-Type": "text/plain", "If-None-Match": "*"})
    assert_status(r, 204)
    r = lrs.post(doc.path, params=doc.one("nj"), json_body={"a": 1})
    assert_status(r, 400)
    g = _get(lrs, doc, "nj")
    assert g.content == b"plain text", "DOC-11: the document is left unchanged"


def test_doc_11_post_non_json_onto_json_400(lrs, doc):
    _create(lrs, doc, "jn", {"a": 1})
    r = lrs.post(doc.path, params=doc.one("jn"), content=b"not json", headers={"Content-Type": "text/plain"})
    assert_status(r, 400)
    r = lrs.post(doc.path, params=doc.one("jn"), json_body=[1, 2])
    assert_status(r, 400)
    assert _get(lrs, doc, "jn").json() == {"a": 1}


def test_doc_11_json_object_under_another_content_type_not_merged_400(lrs, doc):
    """1.0.3 Part Three §2.2, 2.0 §4.1.6.2/.5/.6: "If the document being
    posted or any existing document does not have a Content-Type of
    application/json ... the LRS MUST respond with HTTP status code 400".
    Both sides here parse as JSON objects: only the Content-Type forbids the
    merge, whichever side has the other one, and nothing changes."""
    r = lrs.put(doc.path, params=doc.one("tj"), content=b'{"a": 1}',
                headers={"Content-Type": "text/plain", "If-None-Match": "*"})
    assert_status(r, 204)
    assert_status(lrs.post(doc.path, params=doc.one("tj"), json_body={"b": 2}), 400)
    assert _get(lrs, doc, "tj").content == b'{"a": 1}', "DOC-11: the document is left unchanged"
    _create(lrs, doc, "jt", {"a": 1})
    r = lrs.post(doc.path, params=doc.one("jt"), content=b'{"b": 2}',
                 headers={"Content-Type": "text/plain"})
    assert_status(r, 400)
    assert _get(lrs, doc, "jt").json() == {"a": 1}, "DOC-11: the document is left unchanged"


# -- headers, lists ---------------------------------------------------------------------------

def test_doc_15_last_modified(lrs, doc):
    _create(lrs, doc, "lm", {"v": 1})
    g = _get(lrs, doc, "lm")
    lm = g.headers.get("last-modified")
    assert lm, "DOC-15: a single-document GET carries Last-Modified"
    parse_http_date(lm)


def test_doc_17_aprof_02_agprof_02_id_list_and_since(lrs, doc):
    empty = lrs.get(doc.path, params=doc.scope)
    assert_status(empty, 200)
    assert empty.json() == [], "DOC-17: an empty list is []"
    _create(lrs, doc, "first", {"v": 1})
    # The server's own clock: one second after "first"'s Last-Modified (whole seconds)
    # is strictly after "first" was stored; wait until that moment has passed.
    lm = _get(lrs, doc, "first").headers.get("last-modified")
    assert lm, "DOC-15: need Last-Modified to build a server-side `since`"
    since_dt = parse_http_date(lm) + timedelta(seconds=1)
    since = since_dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    time.sleep(1.6)
    _create(lrs, doc, "second", {"v": 2})
    r = lrs.get(doc.path, params=doc.scope)
    assert_status(r, 200)
    assert sorted(r.json()) == ["first", "second"]
    r = lrs.get(doc.path, params={**doc.scope, "since": since})
    assert_status(r, 200)
    assert r.json() == ["second"], f"DOC-17: since={since} keeps only later documents: {r.json()}"
    r = lrs.get(doc.path, params={**doc.scope, "since": "2999-01-01T00:00:00Z"})
    assert r.json() == []


def test_gen_07_doc_unknown_parameter_400(lrs, doc):
    r = lrs.get(doc.path, params={**doc.one("x"), "bogus": "1"})
    assert_status(r, 400)


def test_doc_18_state_01_missing_or_invalid_scope_400(lrs, doc):
    for k in doc.scope:
        params = dict(doc.one("x"))
        del params[k]
        assert_status(lrs.get(doc.path, params=params), 400)
        assert_status(lrs.put(doc.path, params=params, json_body={"a": 1}, headers={"If-None-Match": "*"}), 400)
    if "agent" in doc.scope:
        for bad in ["not json", '{"name": "no ifi"}', '{"mbox": "bob@example.com"}']:
            assert_status(lrs.get(doc.path, params={**doc.one("x"), "agent": bad}), 400)
    if "activityId" in doc.scope:
        assert_status(lrs.get(doc.path, params={**doc.one("x"), "activityId": "no-scheme"}), 400)


# -- state specifics --------------------------------------------------------------------------

@pytest.fixture
def state(f) -> Doc:
    return _make_doc("state", f)


def test_state_02_registration_scopes_documents(lrs, state):
    r1, r2 = str(uuid.uuid4()), str(uuid.uuid4())
    p1 = {**state.one("reg"), "registration": r1}
    assert_status(lrs.put(state.path, params=p1, json_body={"r": 1}, headers={"If-None-Match": "*"}), 204)
    assert lrs.get(state.path, params=p1).json() == {"r": 1}
    assert_status(lrs.get(state.path, params={**state.one("reg"), "registration": r2}), 404)
    lst = lrs.get(state.path, params={**state.scope, "registration": r2})
    assert lst.json() == []
    assert_status(lrs.get(state.path, params={**state.one("reg"), "registration": "not-a-uuid"}), 400)


def test_state_03_05_list_and_delete_all(lrs, state):
    for i in range(3):
        _create(lrs, state, f"s{i}", {"i": i})
    assert sorted(lrs.get(state.path, params=state.scope).json()) == ["s0", "s1", "s2"]
    assert_status(lrs.delete(state.path, params=state.scope), 204)
    assert lrs.get(state.path, params=state.scope).json() == []
    assert_status(_get(lrs, state, "s0"), 404)


def test_doc_07_state_05_delete_all_honours_if_match(lrs, state):
    """A DELETE of all State documents has If-Match handled as RFC 2616 has
    it (2.0 LRS 4.1.4): a tag no representation of the id list has is 412
    and deletes nothing; the ETag its GET just gave deletes them all."""
    for i in range(2):
        _create(lrs, state, f"d{i}", {"i": i})
    r = lrs.delete(state.path, params=state.scope, headers={"If-Match": '"0000-no-such-tag"'})
    assert_status(r, 412)
    assert sorted(lrs.get(state.path, params=state.scope).json()) == ["d0", "d1"], \
        "DOC-07: a failed precondition deletes nothing"
    etag = _etag(lrs.get(state.path, params=state.scope))
    assert_status(lrs.delete(state.path, params=state.scope, headers={"If-Match": etag}), 204)
    assert lrs.get(state.path, params=state.scope).json() == []


@pytest.mark.versions("2.0.0")
def test_state_04_state_id_and_since_exclusive_2_0(lrs, state, version):
    r = lrs.get(state.path, params={**state.one("x"), "since": "2020-01-01T00:00:00Z"})
    assert_status(r, 400)


# -- activities and agents resources ----------------------------------------------------------

def test_act_01_02_activities_resource(lrs, f):
    unknown = f.activity_id("never-used")
    r = lrs.get("activities", params={"activityId": unknown})
    assert_status(r, 200)
    body = r.json()
    assert body.get("id") == unknown, "ACT-02: an unknown activity still gets an Activity object"
    assert body.get("objectType", "Activity") == "Activity"
    s = f.statement()
    s["object"]["definition"] = {"name": {"en-US": "Known activity"},
                                 "type": "http://adlnet.gov/expapi/activities/course"}
    lrs.store(s)
    lrs.wait_for_statement(s["id"])
    r = lrs.get("activities", params={"activityId": s["object"]["id"]})
    assert_status(r, 200)
    d = r.json().get("definition", {})
    assert d.get("name", {}).get("en-US") == "Known activity", "ACT-01: the canonical definition is returned"
    assert d.get("type") == "http://adlnet.gov/expapi/activities/course"


def test_act_01_missing_or_bad_activity_id_400(lrs):
    assert_status(lrs.get("activities"), 400)
    assert_status(lrs.get("activities", params={"activityId": "no-scheme"}), 400)
    assert_status(lrs.get("activities", params={"activityId": "http://e.com/a", "x": "1"}), 400)


def test_agt_01_02_03_agents_resource_person(lrs, f):
    me = f.agent()
    r = lrs.get("agents", params={"agent": json.dumps({"mbox": me["mbox"]})})
    assert_status(r, 200)
    person = r.json()
    assert person.get("objectType") == "Person", "AGT-02: objectType Person"
    assert me["mbox"] in person.get("mbox", []), "AGT-03: the requested agent's identifier is returned"
    for k, v in person.items():
        if k != "objectType":
            assert isinstance(v, list), f"AGT-02: Person.{k} must be an array"
    acct = f.account_agent()
    r = lrs.get("agents", params={"agent": json.dumps(acct)})
    assert_status(r, 200)
    assert acct["account"] in r.json().get("account", [])


@pytest.mark.versions("1.0.3")
def test_agt_04_person_properties_appear_once(lrs, f):
    r = lrs.get("agents", params={"agent": json.dumps(f.agent())})
    assert_status(r, 200)

    def once(pairs: list) -> dict:
        keys = [k for k, _ in pairs]
        assert len(keys) == len(set(keys)), f"AGT-04: a Person property appears twice: {r.text}"
        return dict(pairs)

    json.loads(r.text, object_pairs_hook=once)


def test_agt_01_missing_or_bad_agent_400(lrs):
    assert_status(lrs.get("agents"), 400)
    assert_status(lrs.get("agents", params={"agent": "not json"}), 400)
    assert_status(lrs.get("agents", params={"agent": '{"name": "no ifi"}'}), 400)
