"""A sample of invalid statements per version: each is rejected with 400 and nothing
is stored (STPOST-07), a MUST; apart from that, the 400's message names the
offending property (ERR-02), a SHOULD, so a terse 400 fails only the SHOULD test.

Requirement groups: SV, SA, SVB, SO, SR, SC, SP, DT, IMM-04, ATT-07/11; ERR-02."""

from __future__ import annotations

from datetime import timedelta, timezone
from typing import Callable

import pytest

from conformance.lib import Factory, assert_status, new_id, parse_iso, read_statement

Mutator = Callable[[dict, Factory], None]


def _set(path: str, value) -> Mutator:
    def m(s: dict, f: Factory) -> None:
        cur = s
        keys = path.split(".")
        for k in keys[:-1]:
            cur = cur.setdefault(k, {})
        cur[keys[-1]] = value
    return m


def _del(path: str) -> Mutator:
    def m(s: dict, f: Factory) -> None:
        cur = s
        keys = path.split(".")
        for k in keys[:-1]:
            cur = cur[k]
        del cur[keys[-1]]
    return m


def _two_ifis(s, f):
    s["actor"]["openid"] = "http://conformance.example.com/openid"


def _no_ifi(s, f):
    del s["actor"]["mbox"]


def _nested_group(s, f):
    s["actor"] = {"objectType": "Group", "name": "g",
                  "member": [{"objectType": "Group", "member": [f.agent()]}]}


def _anon_group_no_member(s, f):
    s["actor"] = {"objectType": "Group", "name": "g"}


def _substatement_with_id(s, f):
    s["object"] = {"objectType": "SubStatement", "id": new_id(), "actor": f.agent(),
                   "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
                   "object": {"id": f.activity_id()}}


def _nested_substatement(s, f):
    inner = {"objectType": "SubStatement", "actor": f.agent(),
             "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"}, "object": {"id": f.activity_id()}}
    s["object"] = {"objectType": "SubStatement", "actor": f.agent(),
                   "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"}, "object": inner}


def _voided_activity(s, f):
    s["verb"] = {"id": "http://adlnet.gov/expapi/verbs/voided"}


def _voided_ref_without_id(s, f):
    s["verb"] = {"id": "http://adlnet.gov/expapi/verbs/voided"}
    s["object"] = {"objectType": "StatementRef"}


def _agent_object_without_object_type(s, f):
    s["object"] = {"mbox": "mailto:obj@conformance.example.com"}


def _interaction_bad_type(s, f):
    s["object"]["definition"] = {"interactionType": "multiple-choice",
                                 "type": "http://adlnet.gov/expapi/activities/cmi.interaction"}


def _attachment_without_file_url(s, f):
    s["attachments"] = [{"usageType": "http://conformance.example.com/usage", "display": {"en-US": "a"},
                         "contentType": "text/plain", "length": 3,
                         "sha2": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"}]


def _attachment_without_sha2(s, f):
    s["attachments"] = [{"usageType": "http://conformance.example.com/usage", "display": {"en-US": "a"},
                         "contentType": "text/plain", "length": 3, "fileUrl": "http://conformance.example.com/f"}]


def _revision_on_agent_object(s, f):
    s["object"] = {"objectType": "Agent", "mbox": "mailto:obj@conformance.example.com"}
    s["context"] = {"revision": "1"}


# (case id, mutator, words the error message should contain (any one of them))
COMMON: list[tuple[str, Mutator, tuple[str, ...]]] = [
    ("sv01_missing_actor", _del("actor"), ("actor",)),
    ("sv01_missing_verb", _del("verb"), ("verb",)),
    ("sv01_missing_object", _del("object"), ("object",)),
    ("sv02_null_value", _set("result", {"success": None}), ("success", "result")),
    ("sv03_string_for_number", _set("result", {"score": {"raw": "5"}}), ("raw", "score")),
    ("sv03_string_for_boolean", _set("result", {"completion": "true"}), ("completion",)),
    ("sv04_bad_timestamp", _set("timestamp", "yesterday"), ("timestamp",)),
    ("sv04_empty_timestamp", _set("timestamp", ""), ("timestamp",)),
    ("sv04_bad_registration", _set("context", {"registration": "not-a-uuid"}), ("registration",)),
    ("sv04_bad_statement_id", _set("id", "not-a-uuid"), ("id",)),
    ("sv04_bad_language_tag", _set("verb.display", {"not a tag!": "x"}), ("display", "language", "tag")),
    ("sv05_wrong_case_object_type", _set("object.objectType", "activity"), ("objectType",)),
    ("sv05_wrong_case_key", _set("Verb", {"id": "http://adlnet.gov/expapi/verbs/experienced"}), ("Verb",)),
    ("sv06_unknown_top_level_property", _set("foo", "bar"), ("foo",)),
    ("sv06_unknown_nested_property", _set("verb.foo", "bar"), ("foo",)),
    ("sv07_verb_iri_without_scheme", _set("verb.id", "experienced"), ("verb", "id")),
    ("sv07_activity_id_without_scheme", _set("object.id", "activity-without-scheme"), ("object", "id")),
    ("svb01_empty_verb_id", _set("verb.id", ""), ("verb", "id")),
    ("sa01_two_ifis", _two_ifis, ("actor", "mbox", "openid", "identifier", "ifi")),
    ("sa01_no_ifi", _no_ifi, ("actor", "mbox", "identifier", "ifi")),
    ("sa03_mbox_without_mailto", _set("actor.mbox", "someone@conformance.example.com"), ("mbox",)),
    ("sa04_bad_mbox_sha1sum", _set("actor", {"mbox_sha1sum": "xyz"}), ("mbox_sha1sum",)),
    ("sa06_account_without_home_page", _set("actor", {"account": {"name": "x"}}), ("homePage", "account")),
    ("sa06_account_extra_key", _set("actor", {"account": {"name": "x", "homePage": "http://e.com",
                                                           "extra": 1}}), ("extra", "account")),
    ("sa08_anonymous_group_without_member", _anon_group_no_member, ("member", "group", "actor")),
    ("sa10_nested_group", _nested_group, ("member", "group")),
    ("so04_bad_interaction_type", _interaction_bad_type, ("interactionType",)),
    ("so11_agent_object_without_object_type", _agent_object_without_object_type, ("object", "id", "objectType")),
    ("so14_substatement_with_id", _substatement_with_id, ("id", "substatement")),
    ("so15_nested_substatement", _nested_substatement, ("substatement", "object")),
    ("sr02_scaled_out_of_range", _set("result", {"score": {"scaled": 1.5}}), ("scaled",)),
    ("sr03_raw_above_max", _set("result", {"score": {"raw": 11, "min": 0, "max": 10}}), ("raw", "max")),
    ("sr03_raw_below_min", _set("result", {"score": {"raw": -1, "min": 0, "max": 10}}), ("raw", "min")),
    ("sr03_min_above_max", _set("result", {"score": {"min": 10, "max": 5}}), ("min", "max")),
    ("sr04_bad_duration", _set("result", {"duration": "1 hour"}), ("duration",)),
    # ISO 8601's and RFC 3339's digits are ASCII; a regex's \d and int() take others.
    ("sr04_duration_with_other_digits", _set("result", {"duration": "PT\u0661H"}), ("duration",)),
    ("dt02_timestamp_with_other_digits",
     _set("timestamp", "\uff12\uff10\uff12\uff13-11-15T07:41:07.000Z"), ("timestamp",)),
    ("sc03_bad_context_activities_key", _set("context", {"contextActivities": {"parents": [{"id": "http://e.com/a"}]}}),
     ("parents", "contextActivities")),
    ("sc01_bad_context_language", _set("context", {"language": "xx yy"}), ("language",)),
    ("dt09_extension_key_not_iri", _set("result", {"extensions": {"notaniri": 1}}), ("extensions", "notaniri")),
    ("imm04_voiding_activity_object", _voided_activity, ("object", "statementref", "void")),
    ("imm04_voiding_ref_without_id", _voided_ref_without_id, ("id", "object", "statementref")),
    ("att07_json_attachment_without_file_url", _attachment_without_file_url, ("attachment", "fileUrl", "sha2")),
    ("att11_attachment_without_sha2", _attachment_without_sha2, ("sha2",)),
    ("sa02_actor_object_type_person", _set("actor.objectType", "Person"), ("objectType",)),
    ("sa05_openid_not_a_uri", _set("actor", {"openid": "not a uri"}), ("openid",)),
    ("sa09_identified_group_two_ifis", _set("actor", {"objectType": "Group", "mbox": "mailto:g@conformance.example.com",
                                                       "openid": "http://conformance.example.com/g"}),
     ("actor", "mbox", "openid", "identifier", "ifi")),
    ("so02_activity_without_id", _set("object", {"objectType": "Activity"}), ("object", "id")),
    ("so03_definition_type_not_iri", _set("object.definition.type", "lesson"), ("type",)),
    ("so03_definition_name_not_language_map", _set("object.definition.name", "x"), ("name",)),
    ("so05_correct_responses_not_strings", _set("object.definition", {
        "interactionType": "choice", "correctResponsesPattern": [1]}), ("correctResponsesPattern",)),
    ("so05_choice_without_id", _set("object.definition", {
        "interactionType": "choice", "choices": [{"description": {"en-US": "x"}}]}), ("choices", "id")),
    ("so12_statement_ref_id_not_uuid", _set("object", {"objectType": "StatementRef", "id": "not-a-uuid"}),
     ("object", "id")),
    ("so13_substatement_without_verb", _set("object", {"objectType": "SubStatement", "actor": {
        "mbox": "mailto:sub@conformance.example.com"}, "object": {"id": "http://conformance.example.com/a"}}),
     ("verb",)),
    ("sc04_context_activity_as_string", _set("context", {"contextActivities": {
        "parent": "http://conformance.example.com/parent"}}), ("parent", "contextActivities")),
    ("sr01_response_not_a_string", _set("result", {"response": 5}), ("response",)),
    ("sv14_unknown_object_type", _set("object.objectType", "Thing"), ("objectType",)),
    ("dt01_uuid_without_hyphens", _set("id", "0123456789abcdef0123456789abcdef"), ("id",)),
    ("dt02_timestamp_not_iso_8601", _set("timestamp", "2024/05/01 10:00:00"), ("timestamp",)),
    ("dt08_language_tag_empty_subtag", _set("verb.display", {"en--US": "x"}), ("display", "language", "tag")),
    ("sa07_group_without_object_type", _set("actor", {"name": "g", "member": [
        {"mbox": "mailto:m@conformance.example.com"}]}), ("actor", "member", "objectType", "mbox")),
]

V1_ONLY: list[tuple[str, Mutator, tuple[str, ...]]] = [
    ("sc09_context_agents_in_1_0_3", _set("context", {"contextAgents": [
        {"objectType": "contextAgent", "agent": {"mbox": "mailto:ca@conformance.example.com"}}]}),
     ("contextAgents",)),
    ("sp06_version_2_in_1_0_3", _set("version", "2.0.0"), ("version",)),
    ("sc02_revision_with_agent_object", _revision_on_agent_object, ("revision",)),
]

V2_ONLY: list[tuple[str, Mutator, tuple[str, ...]]] = [
    # SV-09 only where no IRI can be meant: 2.0 LRS 4.2.4.1 lets an LRS skip full RFC 3987 checks.
    ("sv09_iri_with_a_space", _set("object.id", "http://conformance.example.com/a b"), ("object", "id")),
    ("sv09_iri_with_angle_brackets", _set("verb.id", "http://conformance.example.com/<v>"), ("verb", "id")),
    ("sv09_iri_with_a_bad_percent_escape", _set("object.id", "http://conformance.example.com/%zz"),
     ("object", "id")),
    ("sc06_context_agent_without_object_type", _set("context", {"contextAgents": [
        {"agent": {"mbox": "mailto:ca@conformance.example.com"}}]}), ("objectType", "contextAgent")),
    ("sc06_context_agent_empty_relevant_types", _set("context", {"contextAgents": [
        {"objectType": "contextAgent", "agent": {"mbox": "mailto:ca@conformance.example.com"},
         "relevantTypes": []}]}), ("relevantTypes",)),
    ("sc07_context_group_with_agent", _set("context", {"contextGroups": [
        {"objectType": "contextGroup", "group": {"objectType": "Agent", "mbox": "mailto:ca@conformance.example.com"}}]}),
     ("group", "contextGroup", "objectType")),
    ("sc06_context_agents_not_array", _set("context", {"contextAgents": {
        "objectType": "contextAgent", "agent": {"mbox": "mailto:ca@conformance.example.com"}}}), ("contextAgents",)),
]


def _cases(rule_ids: bool = True):
    """One param per case. Without `rule_ids` its id drops the rule prefix
    (`sv01_missing_actor` -> `missing_actor`), so that the test names ERR-02
    only: a test's level is that of the strongest requirement it names."""
    out = []
    for only, cases in (("both", COMMON), ("1.0.3", V1_ONLY), ("2.0.0", V2_ONLY)):
        for cid, m, words in cases:
            marks = () if only == "both" else pytest.mark.versions(only)
            out.append(pytest.param(m, words, marks=marks,
                                    id=cid if rule_ids else cid.split("_", 1)[1]))
    return out


@pytest.mark.parametrize("mutate,words", _cases())
def test_sv_invalid_statement_rejected_400_and_nothing_stored(lrs, f, registration, mutate, words):
    s = f.statement(registration=registration)
    mutate(s, f)
    sid = s.get("id") if isinstance(s.get("id"), str) else None
    ok = f.statement(registration=registration)
    r = lrs.post_statements([ok, s])
    assert_status(r, 400)
    # and the PUT path rejects it too
    if sid and len(sid) == 36:
        assert_status(lrs.put_statement(s), 400)
    assert_status(lrs.get_statement(ok["id"]), 404)


@pytest.mark.parametrize("mutate,words", _cases(rule_ids=False))
def test_err_02_a_refused_statement_s_message_names_the_property(lrs, f, mutate, words):
    """1.0.3 Communication 3.2, 2.0 4.1.5: the LRS SHOULD explain the error.
    Whether the status is 400 is test_sv_invalid_statement_rejected_400_and_nothing_stored's
    question; this one asks of any refusal (4xx) that it says why."""
    s = f.statement()
    mutate(s, f)
    r = lrs.post_statements([f.statement(), s])
    if not 400 <= r.status_code < 500:
        pytest.skip(f"answered {r.status_code}, not a refusal: the MUST test of the case "
                    "reports it")
    text = r.text.lower()
    assert any(w.lower() in text for w in words), \
        f"ERR-02: the {r.status_code} message should name the property " \
        f"({' / '.join(words)}): {r.text[:300]}"


def test_sv_12_property_order_irrelevant(lrs, f):
    s = f.statement()
    reordered = {k: s[k] for k in reversed(list(s))}
    assert_status(lrs.post_statements(reordered), 200)


def test_dt_10_extension_values_anything(lrs, f):
    s = f.statement(result={"extensions": {"http://conformance.example.com/e": {"n": None, "l": [1, "a", None]}}})
    assert_status(lrs.post_statements(s), 200)


@pytest.mark.versions("2.0.0")  # contextAgents/contextGroups are 2.0 properties
def test_sc_06_07_context_agents_groups_valid_in_2_0(lrs, f, version):
    s = f.statement()
    s["context"] = {
        "contextAgents": [{"objectType": "contextAgent", "agent": f.agent(),
                           "relevantTypes": ["http://conformance.example.com/types/t"]}],
        "contextGroups": [{"objectType": "contextGroup",
                           "group": {"objectType": "Group", "member": [f.agent()]}}],
    }
    r = lrs.post_statements(s)
    assert_status(r, 200)
    got = read_statement(lrs, s["id"])
    assert got["context"]["contextAgents"] == s["context"]["contextAgents"]


def test_sp_05_future_timestamp_accepted(lrs, f):
    """A minute ahead of the LRS's own clock (read from a `stored`): 2.0 lets
    an LRS reject timestamps beyond "an acceptable margin of error", which it
    does not specify; a minute is clock skew any LRS should take."""
    clock = f.statement()
    lrs.store(clock)
    now = parse_iso(read_statement(lrs, clock["id"])["stored"]).astimezone(timezone.utc)
    ahead = (now + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    assert_status(lrs.post_statements(f.statement(timestamp=ahead)), 200)


def test_dt_04_non_utc_timestamp_accepted(lrs, f):
    s = f.statement(timestamp="2024-05-01T12:00:00.000+05:30")
    lrs.store(s)
    got = read_statement(lrs, s["id"])
    assert parse_iso(got["timestamp"]) == parse_iso(s["timestamp"])


def test_imm_07_voiding_missing_target_accepted(lrs, f):
    v = f.voiding(new_id())
    assert_status(lrs.post_statements(v), 200)
