"""Values an LRS keeps as sent: objects without objectType, timestamp precision,
IRIs, number precision, and the authority it sets (SO-01, SO-06, SO-10, DT-03,
DT-05, SV-10, AUTH-12..14); a refusal's message naming the property (ERR-02)."""

from __future__ import annotations

import pytest

from conformance.lib import assert_status, parse_iso, read_statement


def test_so_01_an_object_without_object_type_is_an_activity(lrs, f):
    s = f.statement()
    del s["object"]["objectType"]
    lrs.store(s)
    got = read_statement(lrs, s["id"])["object"]
    assert got["id"] == s["object"]["id"]
    assert got.get("objectType", "Activity") == "Activity", got
    assert lrs.query_ids({"activity": s["object"]["id"]}) == [s["id"]], "found by the activity filter"


def test_so_10_one_activity_id_is_one_activity(lrs, f):
    # Two statements about one id, with definitions in different languages:
    # one activity, found by one filter, with one Activity object.
    first, second = f.statement(), f.statement()
    activity = first["object"]["id"]
    first["object"]["definition"] = {"name": {"en-US": "Fire safety"}}
    second["object"] = {"objectType": "Activity", "id": activity,
                        "definition": {"name": {"fr-FR": "Sécurité incendie"}}}
    lrs.store([first, second])
    found = lrs.wait_for_count({"activity": activity}, 2)
    assert sorted(found) == sorted([first["id"], second["id"]])
    r = lrs.get("activities", params={"activityId": activity})
    assert_status(r, 200, rule="ACT-01")
    body = r.json()
    assert isinstance(body, dict) and body.get("id") == activity, body


REPEATED_CHOICES = [{"id": "a", "description": {"en-US": "Yes"}},
                    {"id": "a", "description": {"en-US": "Yes, again"}}]


def _with_repeated_component_ids(s: dict) -> dict:
    s["object"]["definition"] = {
        "type": "http://adlnet.gov/expapi/activities/cmi.interaction",
        "interactionType": "choice", "correctResponsesPattern": ["a"],
        "choices": REPEATED_CHOICES}
    return s


def test_so_06_repeated_component_ids_are_refused_or_kept_as_sent(lrs, f):
    # 1.0.3 Data 2.4.4.1: the ids within one component list MUST be distinct.
    # That binds the statement's author; the LRS MAY reject the statement (SO-07)
    # or store it, and then it returns what was sent: no component dropped or
    # merged, the batch it came in stored whole or not at all.
    ok, s = f.statement(), _with_repeated_component_ids(f.statement())
    r = lrs.post_statements([ok, s])
    if r.status_code == 400:
        assert lrs.get_statement(ok["id"]).status_code == 404, "a refused batch stores nothing"
        return
    assert r.status_code == 200, f"400 or 200, not {r.status_code}: {r.text[:300]}"
    got = read_statement(lrs, s["id"])["object"]["definition"]
    assert got["choices"] == REPEATED_CHOICES, got
    assert lrs.wait_for_statement(ok["id"]).status_code == 200


def test_err_02_a_refused_repeated_component_id_is_named(lrs, f):
    # A SHOULD (1.0.3 Communication 3.2, 2.0 4.1.5): the 400 explains itself.
    r = lrs.post_statements([f.statement(), _with_repeated_component_ids(f.statement())])
    if not 400 <= r.status_code < 500:
        pytest.skip(f"answered {r.status_code}, not a refusal (storing it is allowed, SO-07): "
                    "no error to explain")
    assert any(w in r.text.lower() for w in ("choices", "component")), \
        f"ERR-02: the {r.status_code} message should name the property: {r.text[:300]}"


def test_dt_03_timestamps_keep_milliseconds(lrs, f):
    s = f.statement(timestamp="2024-05-01T10:11:12.345Z")
    lrs.store(s)
    got = read_statement(lrs, s["id"])["timestamp"]
    assert parse_iso(got) == parse_iso(s["timestamp"]), f"sent {s['timestamp']}, got {got}"


def test_dt_05_iris_compared_as_strings(lrs, f):
    # Syntax-based normalization at most: a trailing slash or the default port
    # (protocol-based normalization) makes another IRI.
    s = f.statement()
    lrs.store(s)
    iri = s["object"]["id"]
    assert lrs.wait_for_count({"activity": iri}, 1) == [s["id"]]
    for other in (iri + "/", iri.replace(".com/", ".com:80/", 1)):
        assert lrs.query_ids({"activity": other}) == [], f"{other} is not {iri}"


def test_sv_10_numbers_keep_single_precision(lrs, f):
    # IEEE 754 single precision: about 7 significant digits, up to ~3.4e38.
    score = {"raw": 1.2345678, "min": -3.4e38, "max": 3.4e38}
    s = f.statement(result={"score": score})
    lrs.store(s)
    got = read_statement(lrs, s["id"])["result"]["score"]
    for key, sent in score.items():
        assert abs(got[key] - sent) <= abs(sent) * 1e-6, f"score.{key}: sent {sent}, got {got[key]}"


def test_auth_12_the_same_credentials_give_the_same_authority(lrs, f):
    a, b = f.statement(), f.statement()
    lrs.store(a)
    lrs.store(b)
    first = read_statement(lrs, a["id"])["authority"]
    assert read_statement(lrs, b["id"])["authority"] == first


@pytest.mark.versions("1.0.3")
def test_auth_13_14_authority_is_an_agent_or_a_group_of_two(lrs, f):
    s = f.statement()
    lrs.store(s)
    authority = read_statement(lrs, s["id"])["authority"]
    # Basic: the user as an Agent; 3-legged OAuth: a Group of application and user.
    group = authority.get("objectType") == "Group"
    agents = authority.get("member", []) if group else [authority]
    assert len(agents) == (2 if group else 1), authority
    ifis = ("mbox", "mbox_sha1sum", "openid", "account")
    assert all(sum(k in agent for k in ifis) == 1 for agent in agents), \
        f"each Agent of the authority has exactly one identifier: {authority}"
