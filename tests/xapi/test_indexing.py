from lrs.xapi.agents import matching_keys
from lrs.xapi.indexing import (
    StatementIndex,
    activity_definitions,
    statement_activities,
    statement_index,
)

A = {"mbox": "mailto:a@example.com"}
B = {"mbox": "mailto:b@example.com"}
C = {"openid": "http://example.com/c"}
D = {"account": {"homePage": "http://example.com", "name": "d"}}
KA, KB, KC = "mbox:mailto:a@example.com", "mbox:mailto:b@example.com", "openid:http://example.com/c"
KD = "account:http://example.com|d"
AUTH = {"account": {"homePage": "https://lrs.example", "name": "key"}}
KAUTH = "account:https://lrs.example|key"


def statement(**extra):
    stmt = {"actor": A, "verb": {"id": "http://example.com/v"},
            "object": {"id": "http://example.com/o"}, "authority": AUTH}
    stmt.update(extra)
    return stmt


def test_simple_statement():
    index = statement_index(statement())
    assert index == StatementIndex(
        verb="http://example.com/v", registration=None, ref_target=None, voids=False,
        agents={KA: True, KAUTH: False}, activities={"http://example.com/o": True})


def test_agent_object_is_direct():
    index = statement_index(statement(object={"objectType": "Agent", **B}))
    assert index.agents == {KA: True, KB: True, KAUTH: False}
    assert index.activities == {}


def test_group_members_of_actor_and_object_are_direct():
    # 1.0.3 Communication 2.1.3: "Groups that have members which match the
    # specified Agent ... are considered a match".
    group = {"objectType": "Group", "mbox": "mailto:g@example.com", "member": [B]}
    anonymous = {"objectType": "Group", "member": [C, D]}
    index = statement_index(statement(actor=group, object=anonymous))
    assert index.agents == {"mbox:mailto:g@example.com": True, KB: True, KC: True, KD: True,
                            KAUTH: False}


def test_context_agents_are_related():
    team = {"objectType": "Group", "openid": "http://example.com/team", "member": [C]}
    index = statement_index(statement(context={"instructor": B, "team": team}))
    assert index.agents == {KA: True, KB: False, "openid:http://example.com/team": False,
                            KC: False, KAUTH: False}


def test_direct_wins_over_related():
    index = statement_index(statement(context={"instructor": A}))
    assert index.agents[KA] is True


def test_authority_group_members_are_related():
    # 3-legged OAuth authority: a Group of the application and the user.
    authority = {"objectType": "Group", "member": [AUTH, B]}
    index = statement_index(statement(authority=authority))
    assert index.agents == {KA: True, KAUTH: False, KB: False}


def test_v2_context_agents_and_groups_are_related():
    context = {
        "contextAgents": [{"objectType": "contextAgent", "agent": B,
                           "relevantTypes": ["http://example.com/types/instructor"]}],
        "contextGroups": [{"objectType": "contextGroup",
                           "group": {"objectType": "Group", "member": [C]}}],
    }
    index = statement_index(statement(context=context))
    assert index.agents == {KA: True, KB: False, KC: False, KAUTH: False}


def test_context_activities_are_related():
    context = {"contextActivities": {
        "parent": {"id": "http://example.com/p"},
        "grouping": [{"id": "http://example.com/g1"}, {"id": "http://example.com/g2"}],
        "category": [{"id": "http://example.com/o"}],
        "other": [{"id": "http://example.com/x"}]}}
    index = statement_index(statement(context=context))
    assert index.activities == {
        "http://example.com/o": True, "http://example.com/p": False,
        "http://example.com/g1": False, "http://example.com/g2": False,
        "http://example.com/x": False}


def test_substatement_parts_are_related():
    sub = {"objectType": "SubStatement", "actor": B, "verb": {"id": "http://example.com/sv"},
           "object": {"objectType": "Agent", **C},
           "context": {"instructor": D,
                       "contextActivities": {"parent": [{"id": "http://example.com/sp"}]}}}
    index = statement_index(statement(object=sub))
    assert index.agents == {KA: True, KB: False, KC: False, KD: False, KAUTH: False}
    assert index.activities == {"http://example.com/sp": False}
    assert index.verb == "http://example.com/v"


def test_substatement_activity_object_is_related():
    sub = {"objectType": "SubStatement", "actor": B, "verb": {"id": "http://example.com/sv"},
           "object": {"id": "http://example.com/so"}}
    index = statement_index(statement(object=sub))
    assert index.activities == {"http://example.com/so": False}


def test_registration_and_statement_ref():
    ref = {"objectType": "StatementRef", "id": "6690E6C9-3EF0-4ED3-8B37-7F3964730BEE"}
    context = {"registration": "EC531277-B57B-4C15-8D91-D292C5B2B8F7",
               "statement": {"objectType": "StatementRef",
                             "id": "11111111-1111-4111-8111-111111111111"}}
    index = statement_index(statement(object=ref, context=context))
    assert index.registration == "ec531277-b57b-4c15-8d91-d292c5b2b8f7"
    assert index.ref_target == "6690e6c9-3ef0-4ed3-8b37-7f3964730bee"
    assert index.voids is False
    assert index.activities == {}


def test_voiding_statement():
    ref = {"objectType": "StatementRef", "id": "6690e6c9-3ef0-4ed3-8b37-7f3964730bee"}
    index = statement_index(statement(verb={"id": "http://adlnet.gov/expapi/verbs/voided"},
                                      object=ref))
    assert index.voids is True
    assert index.ref_target == "6690e6c9-3ef0-4ed3-8b37-7f3964730bee"


def test_voided_verb_with_activity_object_does_not_void():
    index = statement_index(statement(verb={"id": "http://adlnet.gov/expapi/verbs/voided"}))
    assert index.voids is False


def test_activity_definitions_everywhere():
    sub = {"objectType": "SubStatement", "actor": B, "verb": {"id": "http://example.com/sv"},
           "object": {"id": "http://example.com/so", "definition": {"name": {"en": "so"}}},
           "context": {"contextActivities": {"parent": {
               "id": "http://example.com/p", "definition": {"name": {"fr": "p"}}}}}}
    stmt = statement(
        object=sub,
        context={"contextActivities": {
            "parent": [{"id": "http://example.com/p", "definition": {"name": {"en": "P"}}}],
            "other": [{"id": "http://example.com/nodef"}]}})
    assert activity_definitions(stmt) == {
        "http://example.com/so": {"name": {"en": "so"}},
        "http://example.com/p": {"name": {"en": "P", "fr": "p"}},
    }
    assert [a["id"] for a in statement_activities(stmt)] == [
        "http://example.com/p", "http://example.com/nodef", "http://example.com/so",
        "http://example.com/p"]


def test_activity_definitions_of_object():
    stmt = statement(object={"objectType": "Activity", "id": "http://example.com/o",
                             "definition": {"type": "http://adlnet.gov/expapi/activities/meeting"}})
    assert activity_definitions(stmt) == {
        "http://example.com/o": {"type": "http://adlnet.gov/expapi/activities/meeting"}}
    assert activity_definitions(statement(object={"objectType": "Agent", **B})) == {}


def test_what_the_caller_hands_in_gives_the_same_index():
    # ingest.batch passes the authority's keys and the statement's activities
    # in, worked out once: the index must be the one worked out here.
    authority = {"objectType": "Group", "member": [AUTH, B]}
    sub = {"objectType": "SubStatement", "actor": C, "verb": {"id": "http://example.com/sv"},
           "object": {"id": "http://example.com/so"},
           "context": {"contextActivities": {"parent": [{"id": "http://example.com/o"}]}}}
    context = {"instructor": D, "contextActivities": {"grouping": [{"id": "http://example.com/g"}]}}
    for stmt in (statement(authority=authority, context=context),
                 statement(authority=authority, object=sub, context=context)):
        handed = statement_index(stmt, authority_keys=tuple(matching_keys(authority)),
                                 activity_objects=statement_activities(stmt))
        assert handed == statement_index(stmt)
        assert handed.agents[KAUTH] is False and handed.agents[KB] is False
