import copy

import pytest

from lrs.xapi.formats import downgrade_for_v1, format_statement
from lrs.xapi.languages import parse_accept_language
from lrs.xapi.versions import V1, V2

CHOICE = {
    "name": {"en-US": "favourite game", "fr": "jeu préféré"},
    "description": {"en-US": "Which game?", "fr": "Quel jeu ?"},
    "type": "http://adlnet.gov/expapi/activities/cmi.interaction",
    "interactionType": "choice",
    "correctResponsesPattern": ["golf"],
    "choices": [{"id": "golf", "description": {"en-US": "Golf", "fr": "Le golf"}},
                {"id": "chess", "description": {"en-US": "Chess", "fr": "Les échecs"}}],
}


def statement():
    return {
        "id": "fd41c918-b88b-4b20-a0a5-a4c32391aaa0",
        "actor": {"objectType": "Agent", "name": "Ann", "mbox": "mailto:ann@example.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/answered",
                 "display": {"en-US": "answered", "fr": "a répondu"}},
        "object": {"objectType": "Activity", "id": "http://example.com/q1", "definition": CHOICE},
        "result": {"response": "golf"},
        "context": {
            "instructor": {"name": "Ian", "mbox": "mailto:ian@example.com"},
            "team": {"objectType": "Group", "name": "Team", "member": [
                {"name": "Bo", "account": {"homePage": "http://example.com", "name": "bo"}}]},
            "contextActivities": {"parent": [{"id": "http://example.com/quiz",
                                              "definition": {"name": {"en-US": "Quiz"}}}]},
        },
        "authority": {"objectType": "Agent", "name": "LRS key",
                      "account": {"homePage": "https://lrs.example", "name": "k"}},
        "timestamp": "2024-01-01T00:00:00Z",
        "stored": "2024-01-01T00:00:01Z",
        "version": "1.0.0",
    }


def fmt(stmt, name, languages=(), canonical=None, version=V2):
    return format_statement(stmt, name, languages=parse_accept_language(", ".join(languages)),
                            canonical=canonical, version=version)


@pytest.mark.parametrize("version", [V1, V2])
def test_exact_returns_the_statement(version):
    stmt = statement()
    assert fmt(stmt, "exact", version=version) is stmt


def test_unknown_format():
    with pytest.raises(ValueError):
        fmt(statement(), "full")


@pytest.mark.parametrize("version", [V1, V2])
def test_ids(version):
    out = fmt(statement(), "ids", version=version)
    assert out["actor"] == {"objectType": "Agent", "mbox": "mailto:ann@example.com"}
    assert out["verb"] == {"id": "http://adlnet.gov/expapi/verbs/answered"}
    assert out["object"] == {"id": "http://example.com/q1"}  # objectType Activity is implied
    assert out["context"]["instructor"] == {"mbox": "mailto:ian@example.com"}
    # Anonymous Group: each member's identifier.
    assert out["context"]["team"] == {"objectType": "Group", "member": [
        {"account": {"homePage": "http://example.com", "name": "bo"}}]}
    assert out["context"]["contextActivities"] == {"parent": [{"id": "http://example.com/quiz"}]}
    assert out["authority"] == {"objectType": "Agent",
                                "account": {"homePage": "https://lrs.example", "name": "k"}}
    # Everything that is not an Agent, Group, Activity or Verb stays.
    for key in ("id", "result", "timestamp", "stored", "version"):
        assert out[key] == statement()[key]


def test_ids_identified_group_drops_members():
    stmt = statement()
    stmt["actor"] = {"objectType": "Group", "name": "G", "openid": "http://example.com/g",
                     "member": [{"mbox": "mailto:m@example.com"}]}
    assert fmt(stmt, "ids")["actor"] == {"objectType": "Group", "openid": "http://example.com/g"}


def test_ids_agent_object_and_substatement():
    stmt = statement()
    stmt["object"] = {
        "objectType": "SubStatement",
        "actor": {"name": "Sub", "mbox": "mailto:sub@example.com"},
        "verb": {"id": "http://example.com/v", "display": {"en": "v"}},
        "object": {"objectType": "Agent", "name": "Obj", "mbox": "mailto:obj@example.com"},
        "context": {"contextAgents": [{"objectType": "contextAgent",
                                       "agent": {"name": "CA", "mbox": "mailto:ca@example.com"}}],
                    "contextGroups": [{"objectType": "contextGroup", "relevantTypes": ["http://x.org/t"],
                                       "group": {"objectType": "Group", "name": "CG",
                                                 "member": [{"name": "M", "mbox": "mailto:m@example.com"}]}}]},
    }
    sub = fmt(stmt, "ids")["object"]
    assert sub["actor"] == {"mbox": "mailto:sub@example.com"}
    assert sub["verb"] == {"id": "http://example.com/v"}
    assert sub["object"] == {"objectType": "Agent", "mbox": "mailto:obj@example.com"}
    assert sub["context"]["contextAgents"] == [
        {"objectType": "contextAgent", "agent": {"mbox": "mailto:ca@example.com"}}]
    assert sub["context"]["contextGroups"] == [
        {"objectType": "contextGroup", "relevantTypes": ["http://x.org/t"],
         "group": {"objectType": "Group", "member": [{"mbox": "mailto:m@example.com"}]}}]


def test_ids_keeps_only_the_id_of_an_activity_in_a_substatement():
    # ADL XAPI-00171 counts the keys of a SubStatement's Activity: one.
    stmt = statement()
    stmt["object"] = {"objectType": "SubStatement", "actor": {"mbox": "mailto:s@example.com"},
                      "verb": {"id": "http://example.com/v"},
                      "object": {"objectType": "Activity", "id": "http://example.com/a",
                                 "definition": {"name": {"en-US": "A"}}}}
    assert fmt(stmt, "ids")["object"]["object"] == {"id": "http://example.com/a"}


def test_statement_ref_unchanged_by_ids():
    stmt = statement()
    stmt["object"] = {"objectType": "StatementRef", "id": "6690e6c9-3ef0-4ed3-8b37-7f3964730bee"}
    assert fmt(stmt, "ids")["object"] == stmt["object"]


def test_canonical_uses_lrs_definition_and_one_language():
    canonical_defs = {"http://example.com/q1": {**CHOICE, "name": {**CHOICE["name"], "de": "Lieblingsspiel"}}}
    out = fmt(statement(), "canonical", languages=["de", "fr"], canonical=canonical_defs.get)
    definition = out["object"]["definition"]
    assert definition["name"] == {"de": "Lieblingsspiel"}
    assert definition["description"] == {"fr": "Quel jeu ?"}
    assert [c["description"] for c in definition["choices"]] == [{"fr": "Le golf"},
                                                                 {"fr": "Les échecs"}]
    assert definition["correctResponsesPattern"] == ["golf"]
    assert out["verb"]["display"] == {"fr": "a répondu"}
    # Unknown to the LRS: the statement's own definition, filtered.
    assert out["context"]["contextActivities"]["parent"][0]["definition"] == {
        "name": {"en-US": "Quiz"}}
    # Agents and Groups as in exact.
    assert out["actor"] == statement()["actor"]
    assert out["context"]["team"] == statement()["context"]["team"]


def test_canonical_without_accept_language_still_one_language():
    out = fmt(statement(), "canonical")
    assert out["object"]["definition"]["name"] == {"en-US": "favourite game"}
    assert out["verb"]["display"] == {"en-US": "answered"}


def test_canonical_activity_without_any_definition():
    stmt = statement()
    stmt["object"] = {"id": "http://example.com/bare"}
    assert fmt(stmt, "canonical", canonical=lambda _id: None)["object"] == {"id": "http://example.com/bare"}
    with_def = fmt(stmt, "canonical", canonical=lambda _id: {"name": {"en": "a", "de": "b"}},
                   languages=["de"])
    assert with_def["object"] == {"id": "http://example.com/bare", "definition": {"name": {"de": "b"}}}


def test_canonical_reaches_into_substatements():
    stmt = statement()
    stmt["object"] = {"objectType": "SubStatement", "actor": {"mbox": "mailto:s@example.com"},
                      "verb": {"id": "http://example.com/v", "display": {"en": "v", "fr": "w"}},
                      "object": {"id": "http://example.com/q1", "definition": CHOICE}}
    out = fmt(stmt, "canonical", languages=["fr"])
    assert out["object"]["verb"]["display"] == {"fr": "w"}
    assert out["object"]["object"]["definition"]["name"] == {"fr": "jeu préféré"}


@pytest.mark.parametrize("name", ["ids", "canonical"])
def test_formatting_never_mutates_the_stored_statement(name):
    stmt = statement()
    before = copy.deepcopy(stmt)
    fmt(stmt, name, languages=["fr"], canonical=lambda _id: copy.deepcopy(CHOICE))
    assert stmt == before


def test_downgrade_for_v1_keeps_v2_statements_as_they_are():
    # 1.0.3 Communication 3.3: newer statements MUST NOT be converted to a
    # prior version format; clients SHOULD ignore unknown properties.
    stmt = statement()
    stmt["version"] = "2.0.0"
    stmt["context"]["contextAgents"] = [{"objectType": "contextAgent",
                                         "agent": {"mbox": "mailto:x@example.com"}}]
    assert downgrade_for_v1(stmt) is stmt
    assert fmt(stmt, "exact", version=V1) is stmt
