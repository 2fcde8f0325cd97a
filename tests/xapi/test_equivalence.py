import copy

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lrs.xapi.equivalence import statements_equivalent, truncate_duration
from lrs.xapi.prepare import prepare_statement
from lrs.xapi.versions import V1, V2


def statement():
    return {
        "id": "fd41c918-b88b-4b20-a0a5-a4c32391aaa0",
        "actor": {"objectType": "Agent", "name": "Project Tin Can API",
                  "mbox": "mailto:user@example.com"},
        "verb": {"id": "http://example.com/xapi/verbs#sent-a-statement",
                 "display": {"en-US": "sent"}},
        "object": {"id": "http://example.com/xapi/activity/simplestatement",
                   "definition": {"name": {"en-US": "simple statement"},
                                  "description": {"en-US": "A simple statement"}}},
        "result": {"score": {"scaled": 0.95, "raw": 95, "min": 0, "max": 100},
                   "success": True, "completion": True, "duration": "PT1H0M0S"},
        "context": {
            "registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7",
            "instructor": {"objectType": "Group", "member": [
                {"mbox": "mailto:a@example.com"}, {"openid": "http://example.com/b"}]},
            "contextActivities": {"parent": [{"id": "http://example.com/parent"}]},
            "language": "en-US",
            "statement": {"objectType": "StatementRef",
                          "id": "6690e6c9-3ef0-4ed3-8b37-7f3964730bee"},
            "extensions": {"http://example.com/ext": {"a": [1, 2, 3]}},
        },
        "timestamp": "2013-05-18T05:32:34.804Z",
    }


def variant(change):
    stmt = statement()
    change(stmt)
    return stmt


def test_identical():
    assert statements_equivalent(statement(), statement())


def test_lrs_assigned_properties_are_ignored():
    a = statement()
    b = prepare_statement(statement(), version=V1, now_iso="2024-01-01T00:00:00Z",
                          authority={"mbox": "mailto:lrs@example.com"})
    b["stored"] = "2024-01-01T00:00:00Z"
    b["id"] = "00000000-0000-4000-8000-000000000000"
    b["timestamp"] = "2000-01-01T00:00:00Z"
    b["version"] = "1.0.3"
    assert statements_equivalent(a, b)


def test_missing_timestamp_equals_lrs_set_timestamp():
    a = statement()
    del a["timestamp"]
    assert statements_equivalent(a, statement())


def test_attachments_are_ignored():
    b = variant(lambda s: s.update(attachments=[{
        "usageType": "http://adlnet.gov/expapi/attachments/signature",
        "display": {"en-US": "Signature"}, "contentType": "application/octet-stream",
        "length": 4235, "sha2": "dc9589e454ffa7ab3e2a1c8d1f0c4e9e"}]))
    assert statements_equivalent(statement(), b)


def test_activity_definitions_and_verb_display_are_ignored():
    def change(s):
        s["object"]["definition"] = {"name": {"fr": "autre"}}
        s["verb"]["display"] = {"de": "gesendet"}
        s["context"]["contextActivities"]["parent"][0]["definition"] = {"type": "http://x.org/t"}
    assert statements_equivalent(statement(), variant(change))


def test_group_member_order_is_ignored():
    b = variant(lambda s: s["context"]["instructor"]["member"].reverse())
    assert statements_equivalent(statement(), b)


def test_single_context_activity_equals_one_element_array():
    b = variant(lambda s: s["context"]["contextActivities"].update(
        parent={"id": "http://example.com/parent"}))
    assert statements_equivalent(statement(), b)


def test_case_insensitive_values():
    def change(s):
        s["actor"]["mbox"] = "MAILTO:user@EXAMPLE.com"
        s["context"]["registration"] = s["context"]["registration"].upper()
        s["context"]["language"] = "EN-us"
        s["context"]["statement"]["id"] = s["context"]["statement"]["id"].upper()
    assert statements_equivalent(statement(), variant(change))


def test_case_sensitive_values_differ():
    assert not statements_equivalent(
        statement(), variant(lambda s: s["actor"].update(mbox="mailto:USER@example.com")))
    assert not statements_equivalent(
        statement(), variant(lambda s: s["actor"].update(name="project tin can api")))
    assert not statements_equivalent(
        statement(), variant(lambda s: s["verb"].update(id="http://EXAMPLE.com/xapi/verbs#sent-a-statement")))


def test_real_differences_are_found():
    assert not statements_equivalent(
        statement(), variant(lambda s: s["verb"].update(id="http://example.com/other")))
    assert not statements_equivalent(
        statement(), variant(lambda s: s["result"].update(success=False)))
    assert not statements_equivalent(
        statement(), variant(lambda s: s["context"]["extensions"].update({"http://x.org/n": 1})))
    assert not statements_equivalent(
        statement(), variant(lambda s: s["context"]["contextActivities"]["parent"].append(
            {"id": "http://example.com/p2"})))
    assert not statements_equivalent(
        statement(), variant(lambda s: s["context"]["instructor"]["member"].pop()))


def test_json_types_are_respected():
    # Python says True == 1; JSON does not.
    assert not statements_equivalent(
        variant(lambda s: s["context"]["extensions"].update({"http://x.org/n": True})),
        variant(lambda s: s["context"]["extensions"].update({"http://x.org/n": 1})))
    # ... but 1 and 1.0 are the same JSON number.
    assert statements_equivalent(
        variant(lambda s: s["result"]["score"].update(raw=95)),
        variant(lambda s: s["result"]["score"].update(raw=95.0)))


def test_omitted_object_type_is_a_different_serialization():
    # 1.0.3 Data 2.3.1: serialization differences outside the exceptions count.
    assert not statements_equivalent(
        statement(), variant(lambda s: s["actor"].pop("objectType")))


def test_duration_compares_to_hundredths():
    # 1.0.3 Data 4.6 / 2.0 LRS 4.2.7.
    a = variant(lambda s: s["result"].update(duration="PT1.2345S"))
    b = variant(lambda s: s["result"].update(duration="PT1.23S"))
    c = variant(lambda s: s["result"].update(duration="PT1.24S"))
    assert statements_equivalent(a, b)
    assert not statements_equivalent(a, c)
    # A duration is a string: equal lengths of time in other units differ.
    d = variant(lambda s: s["result"].update(duration="PT60M"))
    assert not statements_equivalent(statement(), d)


@pytest.mark.parametrize("first, second, same", [
    # Written with fewer digits than hundredths: still the same 0.01 s.
    ("PT1S", "PT1.001S", True), ("PT1.5S", "PT1.501S", True), ("PT1.50S", "PT1.5S", True),
    ("PT1,5S", "PT1.5S", True),
    ("PT1.2S", "PT1.234S", False), ("PT1S", "PT1.01S", False),
])
def test_durations_are_compared_to_the_hundredth_however_written(first, second, same):
    a = variant(lambda s: s["result"].update(duration=first))
    b = variant(lambda s: s["result"].update(duration=second))
    assert statements_equivalent(a, b) is same


def test_truncate_duration():
    assert truncate_duration("PT4H35M59.14S") == "PT4H35M59.14S"
    assert truncate_duration("PT59.149S") == "PT59.14S"
    assert truncate_duration("PT59S") == "PT59.00S"
    assert truncate_duration("P1D") == "P1D"


def substatement(**extra):
    sub = {"objectType": "SubStatement", "actor": {"mbox": "mailto:b@example.com"},
           "verb": {"id": "http://example.com/v", "display": {"en": "v"}},
           "object": {"id": "http://example.com/o", "definition": {"name": {"en": "o"}}},
           "timestamp": "2030-01-01T00:00:00Z",
           "context": {"contextActivities": {"other": [{"id": "http://example.com/x"}]}}}
    sub.update(extra)
    return sub


def test_substatement_rules():
    a = variant(lambda s: s.update(object=substatement()))
    same = variant(lambda s: s.update(object=substatement(
        verb={"id": "http://example.com/v"},
        object={"id": "http://example.com/o"},
        timestamp="2030-01-01T01:00:00.000+01:00",
        context={"contextActivities": {"other": {"id": "http://example.com/x"}}})))
    assert statements_equivalent(a, same)
    later = variant(lambda s: s.update(object=substatement(timestamp="2030-01-01T00:00:01Z")))
    assert not statements_equivalent(a, later)
    # RFC 3339 lets "t" and "z" be lower-case: the same instant.
    lower = variant(lambda s: s.update(object=substatement(timestamp="2030-01-01t00:00:00z")))
    assert statements_equivalent(a, lower)


def test_statement_ref_id_case():
    a = variant(lambda s: s.update(object={"objectType": "StatementRef",
                                           "id": "6690e6c9-3ef0-4ed3-8b37-7f3964730bee"}))
    b = variant(lambda s: s.update(object={"objectType": "StatementRef",
                                           "id": "6690E6C9-3EF0-4ED3-8B37-7F3964730BEE"}))
    assert statements_equivalent(a, b)


def test_v2_context_agents_and_groups():
    def with_context_agents(members):
        def change(s):
            s["context"]["contextAgents"] = [{"objectType": "contextAgent",
                                              "agent": {"mbox": "mailto:I@Example.com"},
                                              "relevantTypes": ["http://x.org/instructor"]}]
            s["context"]["contextGroups"] = [{"objectType": "contextGroup",
                                              "group": {"objectType": "Group", "member": members}}]
        return variant(change)
    m1, m2 = {"mbox": "mailto:a@example.com"}, {"mbox": "mailto:b@example.com"}
    assert statements_equivalent(with_context_agents([m1, m2]), with_context_agents([m2, m1]))
    assert not statements_equivalent(with_context_agents([m1, m2]), with_context_agents([m1]))


def test_prepared_statement_equals_its_input_in_both_versions():
    for version in (V1, V2):
        stmt = variant(lambda s: s["context"]["contextActivities"].update(
            parent={"id": "http://example.com/parent"}))
        del stmt["id"], stmt["timestamp"]
        prepared = prepare_statement(stmt, version=version, now_iso="2024-01-01T00:00:00Z",
                                     authority={"mbox": "mailto:lrs@example.com"})
        assert statements_equivalent(stmt, prepared)
        assert statements_equivalent(prepared, stmt)


json_leaf = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
json_value = st.recursive(json_leaf, lambda inner: st.lists(inner, max_size=3)
                          | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=12)
ignored = st.fixed_dictionaries({}, optional={
    "id": st.uuids().map(str), "stored": st.just("2024-01-01T00:00:00Z"),
    "timestamp": st.just("2020-01-01T00:00:00Z"), "version": st.sampled_from(["1.0.0", "2.0.0"]),
    "authority": st.just({"mbox": "mailto:x@example.com"}), "attachments": st.just([])})


@given(ext=st.dictionaries(st.text(max_size=6).map(lambda s: "http://x.org/" + s), json_value,
                           max_size=3),
       extra_a=ignored, extra_b=ignored)
def test_reflexive_and_blind_to_lrs_fields(ext, extra_a, extra_b):
    base = variant(lambda s: s["result"].update(extensions=ext))
    a = {**copy.deepcopy(base), **extra_a}
    b = {**copy.deepcopy(base), **extra_b}
    assert statements_equivalent(a, a)
    assert statements_equivalent(a, b)
    assert statements_equivalent(b, a)


@given(ext_a=json_value, ext_b=json_value)
def test_symmetric_and_sees_extension_changes(ext_a, ext_b):
    a = variant(lambda s: s["context"]["extensions"].update({"http://x.org/e": ext_a}))
    b = variant(lambda s: s["context"]["extensions"].update({"http://x.org/e": ext_b}))
    result = statements_equivalent(a, b)
    assert result == statements_equivalent(b, a)
    if result:
        assert ext_a == ext_b
