"""The pure rules of the document resources (lrs.xapi.documents)."""

from __future__ import annotations

import hashlib

import orjson
import pytest

from lrs.errors import (BadRequest, Conflict, PayloadTooLarge, PreconditionFailed,
                        ValidationError)
from lrs.xapi import documents as d
from lrs.xapi.documents import (ACTIVITY_PROFILE, AGENT_PROFILE, STATE, Preconditions, Tag,
                                new_document, parse_preconditions)

V1, V2 = "1.0.3", "2.0.0"
AGENT = '{"mbox": "mailto:a@example.com"}'


def json_doc(value) -> d.Document:
    return new_document("application/json", orjson.dumps(value))


# --- ETags and precondition headers --------------------------------------------------

def test_etag_is_lowercase_hex_sha1():
    assert d.etag_of(b"abc") == hashlib.sha1(b"abc").hexdigest()
    assert d.quoted("ab") == '"ab"'


@pytest.mark.parametrize("header, expected", [
    (None, None),
    ("", ()),
    ("  ", ()),
    ("*", d.ANY),
    (' * ', d.ANY),
    ('"a"', (Tag("a"),)),
    ('"a", W/"b",c', (Tag("a"), Tag("b", weak=True), Tag("c"))),
])
def test_parse_tags(header, expected):
    assert parse_preconditions(header, None).if_match == expected
    assert parse_preconditions(None, header).if_none_match == expected


@pytest.mark.parametrize("header", ['"a", *', '*, "a"', "W/*", "*,*"])
def test_a_star_among_tags_is_400(header):
    for pre in ((header, None), (None, header)):
        with pytest.raises(BadRequest):
            parse_preconditions(*pre)


def _check(pre: Preconditions, current, method="PUT", kind=ACTIVITY_PROFILE, version=V2):
    d.check_preconditions(pre, current, method=method, kind=kind, version=version)


@pytest.mark.parametrize("method", ["PUT", "POST", "DELETE"])
def test_if_match(method):
    current = json_doc({"a": 1})
    _check(parse_preconditions(d.quoted(current.etag), None), current, method)
    _check(parse_preconditions("*", None), current, method)
    with pytest.raises(PreconditionFailed):
        _check(parse_preconditions('"other"', None), current, method)
    with pytest.raises(PreconditionFailed):
        _check(parse_preconditions("W/" + d.quoted(current.etag), None), current, method)
    for header in ("*", '"x"'):
        with pytest.raises(PreconditionFailed):
            _check(parse_preconditions(header, None), None, method)


@pytest.mark.parametrize("method", ["PUT", "POST", "DELETE"])
def test_if_none_match(method):
    current = json_doc({"a": 1})
    _check(parse_preconditions(None, "*"), None, method)
    _check(parse_preconditions(None, '"other"'), current, method)
    with pytest.raises(PreconditionFailed):
        _check(parse_preconditions(None, "*"), current, method)
    with pytest.raises(PreconditionFailed):
        _check(parse_preconditions(None, "W/" + d.quoted(current.etag)), current, method)


@pytest.mark.parametrize("kind, version, conflict", [
    (STATE, V1, False),  # 1.0.3 Communication 3.1: State is exempt
    (STATE, V2, True),   # 2.0 LRS 4.1.4: no exemption
    (ACTIVITY_PROFILE, V1, True), (ACTIVITY_PROFILE, V2, True),
    (AGENT_PROFILE, V1, True), (AGENT_PROFILE, V2, True),
])
def test_put_without_preconditions_over_an_existing_document(kind, version, conflict):
    current = json_doc({"a": 1})
    if conflict:
        with pytest.raises(Conflict):
            _check(Preconditions(), current, "PUT", kind, version)
    else:
        _check(Preconditions(), current, "PUT", kind, version)
    # Never for POST and DELETE.
    _check(Preconditions(), current, "POST", kind, version)
    _check(Preconditions(), current, "DELETE", kind, version)
    # A new document: a 1.0.x profile PUT must send one of the headers (1.0.3
    # Communication 3.1, a client MUST) unless the operator allows it.
    if kind != STATE and version == V1:
        with pytest.raises(BadRequest, match="If-None-Match"):
            _check(Preconditions(), None, "PUT", kind, version)
        d.check_preconditions(Preconditions(), None, method="PUT", kind=kind, version=version,
                              unconditional_create=True)
    else:
        _check(Preconditions(), None, "PUT", kind, version)


# --- merge --------------------------------------------------------------------------

def _post(current, sent):
    return d.plan_post(current, sent=sent, pre=Preconditions(), kind=STATE, version=V2)


def test_merge_replaces_top_level_properties_only():
    merged = _post(json_doc({"x": "foo", "y": "bar", "o": {"a": 1}}),
                   json_doc({"x": "bash", "z": "faz", "o": {"b": 2}}))
    assert orjson.loads(merged.content) == {"x": "bash", "y": "bar", "z": "faz", "o": {"b": 2}}
    assert merged.content_type == "application/json"
    assert merged.etag == d.etag_of(merged.content)


def test_post_without_a_current_document_stores_what_was_sent():
    sent = new_document("image/png", b"\x89PNG")
    assert _post(None, sent) == sent


@pytest.mark.parametrize("current, sent", [
    (new_document("text/plain", b"{}"), json_doc({"a": 1})),
    (json_doc({"a": 1}), new_document("text/plain", b"{}")),
    (json_doc([1]), json_doc({"a": 1})),
    (json_doc({"a": 1}), json_doc("s")),
    (json_doc({"a": 1}), new_document("application/json", b"{bad")),
    (new_document(None, b"{}"), json_doc({"a": 1})),
])
def test_merge_refuses_what_is_not_a_json_object(current, sent):
    with pytest.raises(BadRequest):
        _post(current, sent)


def test_merge_keeps_values_the_post_did_not_touch_exactly():
    # Integers beyond 64 bits stay integers (orjson alone read them as floats).
    merged = _post(new_document("application/json", b'{"big":123456789012345678901234567890}'),
                   json_doc({"x": 1}))
    assert merged.content == b'{"big":123456789012345678901234567890,"x":1}'


@pytest.mark.parametrize("depth", [253, 600])
def test_merge_writes_a_document_deeper_than_orjson_writes(depth):
    # orjson reads 1,024 levels but writes only 254: such a merge was a 500.
    deep = b'{"d":' + b"[" * depth + b"]" * depth + b"}"
    merged = _post(new_document("application/json", deep), json_doc({"x": 1}))
    assert merged.content == deep[:-1] + b',"x":1}'


def test_a_merge_past_any_parser_depth_is_refused_not_failed():
    # A long integer sends the exact parse to the json module, whose depth
    # is Python's recursion limit.
    deep = b'{"d":' + b"[" * 1000 + b"12345678901234567890" + b"]" * 1000 + b"}"
    with pytest.raises(BadRequest, match="nests too deeply"):
        _post(new_document("application/json", deep), json_doc({"x": 1}))


def test_a_merge_past_the_document_limit_is_413():
    # Each POST within the limit, the merged document past it: merges grew a
    # document without bound (PUT of the same bytes was refused).
    current = json_doc({"x": "a" * 60})
    with pytest.raises(PayloadTooLarge):
        d.plan_post(current, sent=json_doc({"y": "b" * 60}), pre=Preconditions(), kind=STATE,
                    version=V2, max_bytes=100)
    assert d.plan_post(current, sent=json_doc({"y": 1}), pre=Preconditions(), kind=STATE,
                       version=V2, max_bytes=100)


def test_json_type_ignores_parameters_and_case():
    assert d.is_json_type("Application/JSON; charset=utf-8")
    assert not d.is_json_type("application/jsonp")
    assert not d.is_json_type("text/json")


def test_default_content_type():
    assert new_document(None, b"").content_type == "application/octet-stream"
    assert new_document("", b"").content_type == "application/octet-stream"


# --- parameters ----------------------------------------------------------------------

def test_params_for():
    allowed, required = d.params_for(STATE, "GET")
    assert allowed == {"activityId", "agent", "registration", "stateId", "since"}
    assert required == ("activityId", "agent")
    assert d.params_for(STATE, "PUT") == (
        frozenset({"activityId", "agent", "registration", "stateId"}),
        ("activityId", "agent", "stateId"))
    assert d.params_for(STATE, "DELETE")[1] == ("activityId", "agent")
    assert d.params_for(AGENT_PROFILE, "DELETE")[1] == ("agent", "profileId")
    assert "since" not in d.params_for(ACTIVITY_PROFILE, "POST")[0]


def test_parse_state_target():
    target = d.parse_target(STATE, {
        "activityId": "http://e.com/a", "agent": AGENT, "stateId": "s",
        "registration": "AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE"}, V2)
    assert target == d.Target(STATE, "http://e.com/a", "mbox:mailto:a@example.com",
                              "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "s")


def test_parse_since():
    target = d.parse_target(ACTIVITY_PROFILE, {"activityId": "http://e.com/a",
                                               "since": "2020-01-01T00:00:00Z"}, V2)
    assert target.doc_id is None and target.since.year == 2020
    with pytest.raises(BadRequest):
        d.parse_target(ACTIVITY_PROFILE, {"activityId": "http://e.com/a", "profileId": "p",
                                          "since": "2020-01-01T00:00:00Z"}, V2)
    beside_id = d.parse_target(ACTIVITY_PROFILE, {"activityId": "http://e.com/a",
                                                  "profileId": "p",
                                                  "since": "2020-01-01T00:00:00Z"}, V1)
    assert beside_id.doc_id == "p" and beside_id.since is None
    with pytest.raises(BadRequest):
        d.parse_target(ACTIVITY_PROFILE, {"activityId": "http://e.com/a", "profileId": "p",
                                          "since": "x"}, V1)
    with pytest.raises(BadRequest):
        d.parse_target(ACTIVITY_PROFILE, {"activityId": "http://e.com/a", "since": "x"}, V1)


@pytest.mark.parametrize("params", [
    {"activityId": "no-scheme"},
    {"activityId": ""},
    {"agent": "{"},
    {"agent": '{"name": "x"}'},
    {"agent": '{"objectType": "Group", "mbox": "mailto:g@e.com"}'},
    {"registration": "nope"},
    {"profileId": ""},
    # Ids and agent keys are kept as PostgreSQL text, which cannot hold
    # U+0000: a request naming one was a 500.
    {"profileId": "p\x00"},
    {"agent": '{"account": {"homePage": "http://e.com", "name": "a\\u0000"}}'},
])
def test_bad_values(params):
    base = {"activityId": "http://e.com/a", "agent": AGENT}
    kind = AGENT_PROFILE if "agent" in params or "profileId" in params else STATE
    with pytest.raises((BadRequest, ValidationError)):
        d.parse_target(kind, {**base, **params}, V2)


def test_state_accepts_an_identified_group():
    group = '{"objectType": "Group", "mbox": "mailto:g@e.com"}'
    target = d.parse_target(STATE, {"activityId": "http://e.com/a", "agent": group}, V1)
    assert target.agent_key == "mbox:mailto:g@e.com"
