"""Statement resource PUT/POST (STPUT, STPOST, ERR-04, IMM-02, SP), GET by id, HEAD,
Consistent-Through and Last-Modified (STGET-01..05, 26, 27, 28, 37)."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest

from conformance.lib import (CLIENT_STYLES, CONSISTENCY_WAIT, CONSISTENT_THROUGH, VERB_EXPERIENCED,
                             VERSION_HEADER, assert_status, client_json, deep, new_id, parse_http_date,
                             parse_iso, read_statement, single_statement)


def _same_core(sent: dict, got: dict) -> None:
    assert got["id"] == sent["id"]
    assert got["actor"] == sent["actor"]
    assert got["verb"]["id"] == sent["verb"]["id"]
    assert got["object"]["id"] == sent["object"]["id"]


# -- PUT -----------------------------------------------------------------------------------

def test_stput_01_07_put_stores_one_statement_204(lrs, f):
    s = f.statement()
    r = lrs.put_statement(s)
    assert_status(r, 204)
    assert r.content == b""
    assert r.headers.get(CONSISTENT_THROUGH), "STPUT-07: PUT responses carry Consistent-Through"
    _same_core(s, read_statement(lrs, s["id"]))


def test_stput_01_put_without_id_in_body_takes_statement_id(lrs, f):
    s = f.statement(with_id=False)
    sid = new_id()
    assert_status(lrs.put_statement(s, statement_id=sid), 204)
    read_statement(lrs, sid)  # checks that it is the statement of that id


@pytest.mark.parametrize("params", [{}, {"statementId": "not-a-uuid"}, {"statementId": ""},
                                    {"statementId": "12345678-1234-1234-1234-1234567890"}])
def test_stput_02_missing_or_invalid_statement_id_400(lrs, f, params):
    s = f.statement(with_id=False)
    r = lrs.put("statements", params=params, json_body=s)
    assert_status(r, 400)


def test_stput_03_body_id_differs_400(lrs, f):
    s = f.statement()
    r = lrs.put_statement(s, statement_id=new_id())
    assert_status(r, 400)
    assert_status(lrs.get_statement(s["id"]), 404)


def test_stput_03_array_body_400(lrs, f):
    s = f.statement()
    r = lrs.put("statements", params={"statementId": s["id"]}, json_body=[s])
    assert_status(r, 400)


def test_stput_04_05_existing_id_equal_204_different_409_unchanged(lrs, f):
    s = f.statement()
    assert_status(lrs.put_statement(s), 204)
    assert_status(lrs.put_statement(deep(s)), 204, rule="STPUT-05")
    other = deep(s)
    other["verb"]["id"] = "http://adlnet.gov/expapi/verbs/failed"
    r = lrs.put_statement(other)
    got = read_statement(lrs, s["id"])
    assert got["verb"]["id"] == s["verb"]["id"], "STPUT-04: a stored id changes nothing"
    assert_status(r, 409, rule="STPUT-05")


# -- POST ----------------------------------------------------------------------------------

def test_stpost_01_single_statement_returns_id_array(lrs, f):
    s = f.statement()
    r = lrs.post_statements(s)
    assert_status(r, 200)
    assert r.json() == [s["id"]]
    assert r.headers.get(CONSISTENT_THROUGH), "STGET-26: POST responses carry Consistent-Through"


def test_stpost_01_02_batch_ids_in_request_order_and_assigned(lrs, f, registration):
    batch = [f.statement(registration=registration, with_id=(i % 2 == 0)) for i in range(10)]
    r = lrs.post_statements(batch)
    assert_status(r, 200)
    ids = r.json()
    assert len(ids) == 10
    for i, (sent, got) in enumerate(zip(batch, ids)):
        uuid.UUID(got)
        if "id" in sent:
            assert got == sent["id"], f"STPOST-01: id #{i} out of order"
    assert len(set(ids)) == 10, "STPOST-02: assigned ids must be unique"
    for sid in ids:
        assert_status(lrs.wait_for_statement(sid), 200)
    assert sorted(lrs.wait_for_count({"registration": registration}, 10)) == sorted(ids)


def test_stpost_01_content_type_with_charset(lrs, f):
    s = f.statement()
    import json as _json
    r = lrs.post("statements", content=_json.dumps(s).encode(),
                 headers={"Content-Type": "application/json; charset=utf-8"})
    assert_status(r, 200)


def test_stpost_05_duplicate_ids_in_batch_rejected(lrs, f, registration):
    a = f.statement(registration=registration)
    b = f.statement(registration=registration)
    dup = deep(a)
    r = lrs.post_statements([a, b, dup])
    assert_status(r, 400)
    # different content, same id: also 400 (or 409) and nothing stored
    c = f.statement(registration=registration)
    d = f.statement(registration=registration)
    d["id"] = c["id"]
    r2 = lrs.post_statements([c, d])
    assert_status(r2, 400, 409)
    for sid in (a["id"], b["id"], c["id"]):
        assert_status(lrs.get_statement(sid), 404)
    assert lrs.query_ids({"registration": registration}) == [], "STPOST-07: nothing of the batch stored"


def test_stpost_07_err_04_batch_all_or_nothing_on_invalid(lrs, f, registration):
    good = [f.statement(registration=registration) for _ in range(5)]
    bad = f.statement(registration=registration)
    bad["verb"] = {"id": "not an iri"}
    r = lrs.post_statements(good + [bad])
    assert_status(r, 400)
    for s in good:
        assert_status(lrs.get_statement(s["id"]), 404)
    assert lrs.query_ids({"registration": registration}) == []


def test_stpost_03_04_07_batch_with_conflicting_stored_id_changes_nothing(lrs, f, registration):
    stored = f.statement(registration=registration)
    lrs.store(stored)
    clash = deep(stored)
    clash["verb"]["id"] = "http://adlnet.gov/expapi/verbs/failed"
    fresh = [f.statement(registration=registration) for _ in range(3)]
    r = lrs.post_statements(fresh + [clash])
    got = read_statement(lrs, stored["id"])
    assert got["verb"]["id"] == stored["verb"]["id"], "STPOST-03: a stored id changes nothing"
    if r.status_code >= 400:
        for s in fresh:
            assert_status(lrs.get_statement(s["id"]), 404, rule="STPOST-07")
    # Storing the batch but the clash is not checking the clash, a SHOULD (1.0.3 2.1.2).
    assert_status(r, 409, rule="STPOST-04")


# A POST of statements all stored already, equal: accepted (STPOST-04), as
# 200 with their ids or, as 1.0.3 Communication 2.1.2 and 2.0 LRS 4.1.6.1
# word it for an id the LRS has ("Whether it responds with 409 Conflict or
# 204 No Content"), 204.
ACCEPTED_AGAIN = (200, 204)


def _accepted_again(r, ids: list[str], rule: str = "STPOST-04") -> None:
    assert r.status_code in ACCEPTED_AGAIN, (
        f"{rule}: equal content under a stored id must be accepted (200 or 204), got "
        f"{r.status_code}: {r.text[:300]}")
    if r.status_code == 200:
        assert r.json() == ids


def _accepts_an_exact_copy(lrs, s: dict) -> None:
    """An LRS that refuses even an exact copy of a stored statement does not
    compare statements (a missed SHOULD, STPOST-04). One that takes the copy
    and refuses an equivalent statement compares by rules other than IMM-02's
    (a MUST): the tests of equivalence check the copy first."""
    _accepted_again(lrs.post_statements(deep(s)), [s["id"]])


def test_stpost_04_existing_id_equal_content_accepted(lrs, f, registration):
    s = f.statement(registration=registration)
    lrs.store(s)
    _accepted_again(lrs.post_statements([deep(s)]), [s["id"]])
    _accepted_again(lrs.post_statements(deep(s)), [s["id"]])
    ids = lrs.wait_for_count({"registration": registration}, 1)
    assert ids == [s["id"]], "STPOST-03: one copy only"


def test_stpost_04_imm_02_equivalent_statement_accepted(lrs, f, registration):
    """Verb display, activity definition, timestamp time zone are not part of equivalence."""
    s = f.statement(registration=registration, timestamp="2024-05-01T12:00:00.000Z")
    lrs.store(s)
    eq = deep(s)
    eq["verb"]["display"] = {"en-GB": "experienced (GB)"}
    eq["object"]["definition"] = {"name": {"en-US": "Another name"}}
    eq["timestamp"] = "2024-05-01T14:00:00.000+02:00"
    _accepts_an_exact_copy(lrs, s)
    _accepted_again(lrs.post_statements(eq), [s["id"]], rule="IMM-02")
    assert lrs.wait_for_count({"registration": registration}, 1) == [s["id"]]


def test_stpost_04_imm_03_different_content_409(lrs, f):
    s = f.statement()
    lrs.store(s)
    diff = deep(s)
    diff["result"] = {"success": True}
    r = lrs.post_statements(diff)
    got = read_statement(lrs, s["id"])
    assert "result" not in got, "IMM-03: a stored id changes nothing"
    assert_status(r, 409, rule="STPOST-04")


def test_stpost_01_empty_array(lrs):
    r = lrs.post_statements([])
    # An empty batch stores nothing; 200 [] or 400 are both defensible.
    assert_status(r, 200, 400)
    if r.status_code == 200:
        assert r.json() == []


# -- LRS-assigned properties --------------------------------------------------------------

def test_sp_02_04_07_stored_timestamp_version_assigned(lrs, f, version):
    s = f.statement()
    s["stored"] = "2001-01-01T00:00:00.000Z"
    lrs.store(s)
    got = read_statement(lrs, s["id"])
    stored = parse_iso(got["stored"])
    assert stored.year > 2001, "SP-02: the LRS sets stored itself"
    assert "timestamp" in got and parse_iso(got["timestamp"]) == stored, \
        "SP-04: a missing timestamp is set to stored"
    expected = "1.0.0" if version == "1.0.3" else "2.0.0"
    assert got.get("version") == expected, f"SP-07: version {got.get('version')!r}, expected {expected}"


def test_sp_07_version_kept(lrs, f, version):
    v = "1.0.2" if version == "1.0.3" else "2.0.0"
    s = f.statement(version=v)
    lrs.store(s)
    assert read_statement(lrs, s["id"])["version"] == v


def test_sc_04_05_stget_36_context_activities_returned_as_arrays(lrs, f):
    s = f.statement()
    s["context"] = {"contextActivities": {"parent": {"id": f.activity_id("parent")},
                                          "grouping": [{"id": f.activity_id("grouping")}]}}
    lrs.store(s)
    ca = read_statement(lrs, s["id"])["context"]["contextActivities"]
    assert isinstance(ca["parent"], list) and ca["parent"][0]["id"] == f.activity_id("parent")
    assert isinstance(ca["grouping"], list)


def test_sp_01_imm_01_exact_round_trip(lrs, f):
    s = f.statement(result={"score": {"scaled": 0.5, "raw": 5, "min": 0, "max": 10},
                            "success": True, "completion": False, "response": "ok",
                            "duration": "PT1M30S",
                            "extensions": {"http://conformance.example.com/ext": {"a": [1, None, "x"]}}},
                    timestamp="2024-05-01T12:00:00.123Z")
    s["context"] = {"registration": new_id(), "platform": "conformance", "language": "en-US",
                    "extensions": {"http://conformance.example.com/ctx": None}}
    lrs.store(s)
    got = read_statement(lrs, s["id"])
    for key in ("actor", "verb", "object", "result"):
        assert got[key] == s[key], f"IMM-01: {key} changed: {got[key]!r} != {s[key]!r}"
    assert got["context"]["registration"] == s["context"]["registration"]
    assert got["context"]["extensions"] == s["context"]["extensions"], "DT-10: null extension values kept"
    assert parse_iso(got["timestamp"]) == parse_iso(s["timestamp"])


def test_gen_05_utf8_round_trip(lrs, f):
    s = f.statement()
    s["object"]["definition"]["name"] = {"en-US": "Ünïcødé ☃ 漢字 \U0001f600"}
    lrs.store(s)
    got = read_statement(lrs, s["id"])
    assert got["object"]["definition"]["name"] == s["object"]["definition"]["name"]


# -- GET by id, HEAD, headers --------------------------------------------------------------

def test_stget_01_err_10_get_by_id_and_404(lrs, f):
    s = f.statement()
    lrs.store(s)
    r = lrs.wait_for_statement(s["id"])
    got = single_statement(r, s["id"])
    assert r.headers.get("content-type", "").startswith("application/json")
    _same_core(s, got)
    assert_status(lrs.get_statement(new_id()), 404)


@pytest.mark.parametrize("value", ["not-a-uuid", "", "{}"])
def test_stget_01_gen_09_invalid_statement_id_400(lrs, value):
    assert_status(lrs.get("statements", params={"statementId": value}), 400)


def test_stget_04_both_ids_400(lrs, f):
    s = f.statement()
    lrs.store(s)
    r = lrs.get("statements", params={"statementId": s["id"], "voidedStatementId": s["id"]})
    assert_status(r, 400)


@pytest.mark.parametrize("extra", [{"verb": "http://adlnet.gov/expapi/verbs/experienced"},
                                   {"limit": "1"}, {"ascending": "true"}, {"since": "2020-01-01T00:00:00Z"},
                                   {"registration": "b9f5a3cc-6b32-4c0d-9d3c-8a2c1b2b2b2b"}])
def test_stget_05_id_with_other_params_400(lrs, f, extra):
    s = f.statement()
    lrs.store(s)
    r = lrs.get("statements", params={"statementId": s["id"], **extra})
    assert_status(r, 400)


def test_stget_05_id_with_format_and_attachments_ok(lrs, f):
    s = f.statement()
    lrs.store(s)
    lrs.wait_for_statement(s["id"])
    r = lrs.get("statements", params={"statementId": s["id"], "format": "ids", "attachments": "false"})
    assert_status(r, 200)


def test_stget_26_consistent_through_on_every_statements_response(lrs, f):
    s = f.statement()
    # Errors included: a 404, a 400, and a method the resource does not take.
    rs = [lrs.post_statements(s), lrs.get_statement(s["id"]), lrs.get("statements", params={"limit": 1}),
          lrs.head("statements", params={"limit": 1}), lrs.get_statement(new_id()),
          lrs.get("statements", params={"nope": "1"}), lrs.delete("statements")]
    for r in rs:
        v = r.headers.get(CONSISTENT_THROUGH)
        assert v, f"no {CONSISTENT_THROUGH} on {r.request.method} {r.request.url} ({r.status_code})"
        parse_iso(v)


def test_stget_27_consistent_through_recent(lrs, f):
    """The header may lag "to allow for temporary delays": by no more than the
    time a write may take to become readable (LRS_CONSISTENCY_WAIT)."""
    s = f.statement()
    lrs.store(s)
    got = read_statement(lrs, s["id"])
    r = lrs.get("statements", params={"limit": 1})
    assert r.headers.get(CONSISTENT_THROUGH), \
        f"STGET-26: no {CONSISTENT_THROUGH} on GET statements ({r.status_code})"
    ct = parse_iso(r.headers[CONSISTENT_THROUGH])
    lag = parse_iso(got["stored"]) - ct
    assert lag <= timedelta(seconds=CONSISTENCY_WAIT), \
        f"consistent-through {ct} lags {lag} behind a statement already readable (stored {got['stored']})"


def test_stget_27_statements_shown_were_stored_before_consistent_through(lrs, f):
    """ADL's suite (XAPI-00152) wants the header at least the `stored` of
    whatever the answer shows. The spec does not: every statement stored
    before the header's instant is retrievable (STGET-26), and statements
    stored after it may be shown too. A header that trails what it comes with
    is not recent, though (STGET-27). A read right after a write is where a
    cached value shows."""
    for _ in range(5):
        before = lrs.get("statements", params={"limit": 1})
        lrs.store(f.statement())
        for r in (before, lrs.get("statements", params={"limit": 3})):
            assert_status(r, 200)
            ct = parse_iso(r.headers[CONSISTENT_THROUGH])
            for shown in r.json()["statements"]:
                assert parse_iso(shown["stored"]) <= ct, \
                    f"{shown['id']} stored {shown['stored']}, after consistent-through {ct}"


def test_stget_28_last_modified_single_statement(lrs, f):
    s = f.statement()
    lrs.store(s)
    r = lrs.wait_for_statement(s["id"])
    got = single_statement(r, s["id"])
    lm = r.headers.get("last-modified")
    assert lm, "STGET-28: GET of a statement carries Last-Modified"
    stored = parse_iso(got["stored"])
    # HTTP dates have whole seconds: Last-Modified is `stored` truncated to the second.
    assert int(parse_http_date(lm).timestamp()) == int(stored.timestamp()), \
        f"STGET-28: Last-Modified {lm} does not match stored {got['stored']} to the second"


# 1.0.3 defines Last-Modified for single statements only; 2.0 for every result.
@pytest.mark.versions("2.0.0")
def test_stget_28_last_modified_statement_result(lrs, f, registration, version):
    for _ in range(2):
        lrs.store(f.statement(registration=registration))
    lrs.wait_for_count({"registration": registration}, 2)
    r = lrs.get("statements", params={"registration": registration})
    lm = r.headers.get("last-modified")
    assert lm, "STGET-28: a StatementResult GET carries Last-Modified"
    newest = max(parse_iso(s["stored"]) for s in r.json()["statements"])
    assert int(parse_http_date(lm).timestamp()) == int(newest.timestamp()), \
        f"STGET-28 (2.0): Last-Modified {lm} is not the latest stored ({newest.isoformat()})"


def test_gen_04_stget_37_head_matches_get(lrs, f, registration):
    s = f.statement(registration=registration)
    lrs.store(s)
    # A GET that succeeds first: HEAD matching a 404 everywhere would prove nothing.
    assert_status(lrs.wait_for_statement(s["id"]), 200)
    for params in ({"statementId": s["id"]}, {"registration": registration}, {"statementId": new_id()}):
        g = lrs.get("statements", params=params)
        h = lrs.head("statements", params=params)
        assert h.status_code == g.status_code, params
        assert h.content == b"", "HEAD has no body"
        for name in ("content-type", VERSION_HEADER.lower(), CONSISTENT_THROUGH.lower()):
            if name in g.headers:
                assert name in h.headers, f"HEAD lacks {name} for {params}"
        if g.status_code == 200:
            assert h.headers.get("last-modified") == g.headers.get("last-modified")


@pytest.mark.versions("1.0.3")  # GEN-13 (Content-Type must match the body) was removed in 2.0
def test_gen_13_json_body_with_wrong_content_type_400_in_1_0_3(lrs, f, version):
    s = f.statement()
    import json as _json
    r = lrs.post("statements", content=_json.dumps(s).encode(), headers={"Content-Type": "text/plain"})
    assert_status(r, 400)
    assert_status(lrs.get_statement(s["id"]), 404)


def test_imm_02_sa_11_group_member_order_not_significant(lrs, f):
    a, b, c = f.agent(), f.agent(), f.agent()
    s = f.statement(actor={"objectType": "Group", "name": "team", "member": [a, b, c]})
    lrs.store(s)
    _accepts_an_exact_copy(lrs, s)
    same = deep(s)
    same["actor"]["member"] = [c, a, b]
    assert_status(lrs.post_statements(same), *ACCEPTED_AGAIN, rule="IMM-02")
    got = read_statement(lrs, s["id"])

    def by_mbox(member: dict) -> str:
        return member["mbox"]

    assert sorted(got["actor"]["member"], key=by_mbox) == sorted([a, b, c], key=by_mbox)


def test_imm_02_sr_05_06_stpost_04_duration_compared_to_hundredths(lrs, f, version):
    s = f.statement(result={"duration": "PT1.234S"})
    assert_status(lrs.post_statements(s), 200)  # SR-05: more precision than 0.01 s is not rejected
    _accepts_an_exact_copy(lrs, s)
    same = deep(s)
    same["result"]["duration"] = "PT1.23S"
    r = lrs.post_statements(same)
    if version == "1.0.3":
        assert_status(r, *ACCEPTED_AGAIN, 409)  # SHOULD* in 1.0.3
    else:
        # 2.0 MUST ignore precision beyond 0.01 s when comparing
        assert_status(r, *ACCEPTED_AGAIN, rule="SR-06")
    diff = deep(s)
    diff["result"]["duration"] = "PT1.25S"
    assert_status(lrs.post_statements(diff), 409, rule="STPOST-04")


@pytest.mark.parametrize("stored,sent", [("PT1S", "PT1.001S"), ("PT1.5S", "PT1.501S")])
def test_imm_02_sr_06_duration_written_with_fewer_digits(lrs, f, version, stored, sent):
    """The hundredths are compared, however few digits write them: PT1S is
    PT1.00S (a string cut at two digits would not make them equal)."""
    s = f.statement(result={"duration": stored})
    assert_status(lrs.post_statements(s), 200)
    _accepts_an_exact_copy(lrs, s)
    same = deep(s)
    same["result"]["duration"] = sent
    r = lrs.post_statements(same)
    if version == "1.0.3":
        assert_status(r, *ACCEPTED_AGAIN, 409)  # SHOULD* in 1.0.3
    else:
        assert_status(r, *ACCEPTED_AGAIN, rule="SR-06")


def test_imm_02_substatement_timestamp_with_a_lower_case_z(lrs, f):
    """RFC 3339 5.6 lets "T" and "Z" be lower case: the same instant, so the
    same statement (1.0.3 Part Two §2.3.1, 2.0 §4.2: a timestamp's
    serialization is not compared)."""
    s = f.statement()
    s["object"] = {"objectType": "SubStatement", "actor": f.agent(),
                   "verb": {"id": VERB_EXPERIENCED}, "object": {"id": f.activity_id()},
                   "timestamp": "2020-01-01T00:00:00z"}
    assert_status(lrs.post_statements(s), 200)
    _accepts_an_exact_copy(lrs, s)
    same = deep(s)
    same["object"]["timestamp"] = "2020-01-01T01:00:00+01:00"
    assert_status(lrs.post_statements(same), *ACCEPTED_AGAIN, rule="IMM-02")


def test_dt_04_timestamps_returned_in_utc_2_0(lrs, f, version):
    s = f.statement(timestamp="2024-05-01T12:00:00.000+05:30")
    lrs.store(s)
    got = read_statement(lrs, s["id"])
    assert parse_iso(got["timestamp"]) == parse_iso(s["timestamp"]), "the instant is kept"
    if version == "2.0.0":
        ts = got["timestamp"]
        assert ts.endswith("Z") or ts.endswith("+00:00"), f"DT-04 (2.0): timestamp {ts!r} not converted to UTC"


def test_stput_04_stpost_03_duplicate_id_changes_no_activity_definition(lrs, f):
    """Re-sending a stored id (equivalent statement, new activity definition) changes
    nothing: not even the canonical activity definition."""
    s = f.statement()
    s["object"]["definition"] = {"name": {"en-US": "Original name"}}
    lrs.store(s)
    lrs.wait_for_statement(s["id"])
    again = deep(s)
    again["object"]["definition"] = {"name": {"en-US": "Changed by a duplicate"}}
    r = lrs.post_statements(again)
    assert_status(r, *ACCEPTED_AGAIN, 409)
    r = lrs.put_statement(again)
    assert_status(r, 204, 409)
    r = lrs.get("activities", params={"activityId": s["object"]["id"]})
    assert_status(r, 200, rule="ACT-01")
    act = r.json()
    assert act.get("definition", {}).get("name") == {"en-US": "Original name"}, \
        f"STPUT-04/STPOST-03: a duplicate id changed the activity definition: {act.get('definition')}"
    got = read_statement(lrs, s["id"], format="exact")
    assert got["object"]["definition"] == s["object"]["definition"]


@pytest.mark.versions("2.0.0")  # SV-08 is a 2.0 LRS rule (1.0.3 leaves it undefined)
def test_sv_08_duplicate_property_rejected_2_0(lrs, f, version):
    s = f.statement()
    body = json.dumps(s)
    dup = body[:-1] + ', "verb": {"id": "http://adlnet.gov/expapi/verbs/failed"}}'
    r = lrs.post("statements", content=dup.encode(), headers={"Content-Type": "application/json"})
    assert_status(r, 400)
    assert_status(lrs.get_statement(s["id"]), 404)


@pytest.mark.versions("2.0.0")
@pytest.mark.parametrize("style", CLIENT_STYLES)
def test_sv_08_a_repeated_nested_property_is_rejected_however_written(lrs, f, version, style):
    # The same batch without the repetition is stored: the way the JSON is
    # written is not what is refused.
    assert_status(lrs.post("statements", content=client_json([f.statement()], style).encode(),
                           headers={"Content-Type": "application/json"}), 200)
    s = f.statement()
    s["actor"] = {"objectType": "Agent", "mbox": "mailto:first@conformance.example.com"}
    text = client_json([f.statement(), s], style)
    pair = client_json({"mbox": s["actor"]["mbox"]}, style)[1:-1]
    again = pair.replace("first@", "second@")
    body = text.replace(pair, pair + (", " if style == "python" else ",") + again, 1)
    assert body != text
    r = lrs.post("statements", content=body.encode(), headers={"Content-Type": "application/json"})
    assert_status(r, 400)
    assert_status(lrs.get_statement(s["id"]), 404)
