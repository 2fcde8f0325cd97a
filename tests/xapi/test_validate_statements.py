"""lrs.xapi.validate: valid statements pass (spec examples included), and
each invalid one fails with the exact property path and a rule."""

from __future__ import annotations

import copy
import json

import pytest

from lrs.errors import ValidationError
from lrs.xapi.validate import (validate_agent, validate_statement,
                               validate_statements)
from lrs.xapi.versions import V1, V2
from test_validate_data import (ACTIVITY, AGENT, ANON_GROUP, ATTACHMENT,
                                CONTEXT_AGENTS, CONTEXT_GROUPS, DELETE, FULL,
                                SUBSTATEMENT, WITH_SUB, change)

BOTH = (V1, V2)


def rejects(stmt, version, path, rule=""):
    with pytest.raises(ValidationError) as info:
        validate_statement(stmt, version)
    assert info.value.path == path, info.value.message
    assert rule in info.value.rule, info.value.message
    assert info.value.status == 400


# --- Valid statements ----------------------------------------------------------

SPEC_EXAMPLES = [
    # xAPI 1.0.3 Data 2.4 (simplest statement) and Appendix A, B, D.
    {"id": "12345678-1234-5678-1234-567812345678", "actor": {"mbox": "mailto:xapi@adlnet.gov"},
     "verb": {"id": "http://adlnet.gov/expapi/verbs/created", "display": {"en-US": "created"}},
     "object": {"id": "http://example.adlnet.gov/xapi/example/activity"}},
    {"id": "fd41c918-b88b-4b20-a0a5-a4c32391aaa0", "timestamp": "2015-11-18T12:17:00+00:00",
     "actor": {"objectType": "Agent", "name": "Project Tin Can API", "mbox": "mailto:user@example.com"},
     "verb": {"id": "http://example.com/xapi/verbs#sent-a-statement", "display": {"en-US": "sent"}},
     "object": {"id": "http://example.com/xapi/activity/simplestatement",
                "definition": {"name": {"en-US": "simple statement"},
                               "description": {"en-US": "A simple Experience API statement."}}}},
    {"id": "7ccd3322-e1a5-411a-a67d-6a735c76f119", "timestamp": "2015-12-18T12:17:00+00:00",
     "actor": {"objectType": "Agent", "name": "Example Learner", "mbox": "mailto:example.learner@adlnet.gov"},
     "verb": {"id": "http://adlnet.gov/expapi/verbs/attempted", "display": {"en-US": "attempted"}},
     "object": {"id": "http://example.adlnet.gov/xapi/example/simpleCBT",
                "definition": {"name": {"en-US": "simple CBT course"},
                               "description": {"en-US": "A fictitious example CBT course."}}},
     "result": {"score": {"scaled": 0.95}, "success": True, "completion": True, "duration": "PT1234S"}},
    json.loads(r'''{"id": "6690e6c9-3ef0-4ed3-8b37-7f3964730bee",
     "actor": {"name": "Team PB", "mbox": "mailto:teampb@example.com", "objectType": "Group",
       "member": [{"name": "Andrew Downes", "account": {"homePage": "http://www.example.com", "name": "13936749"}, "objectType": "Agent"},
                  {"name": "Toby Nichols", "openid": "http://toby.openid.example.org/", "objectType": "Agent"},
                  {"name": "Ena Hills", "mbox_sha1sum": "ebd31e95054c018b10727ccffd2ef2ec3a016ee9", "objectType": "Agent"}]},
     "verb": {"id": "http://adlnet.gov/expapi/verbs/attended", "display": {"en-GB": "attended", "en-US": "attended"}},
     "result": {"extensions": {"http://example.com/profiles/meetings/resultextensions/minuteslocation": "X:\\meetings\\minutes\\examplemeeting.one"},
       "success": true, "completion": true, "response": "We agreed on some example actions.", "duration": "PT1H0M0S"},
     "context": {"registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7",
       "contextActivities": {"parent": [{"id": "http://www.example.com/meetings/series/267", "objectType": "Activity"}],
         "category": [{"id": "http://www.example.com/meetings/categories/teammeeting", "objectType": "Activity",
           "definition": {"name": {"en": "team meeting"}, "description": {"en": "A category of meeting used for regular team meetings."},
             "type": "http://example.com/expapi/activities/meetingcategory"}}],
         "other": [{"id": "http://www.example.com/meetings/occurances/34257", "objectType": "Activity"},
                   {"id": "http://www.example.com/meetings/occurances/3425567", "objectType": "Activity"}]},
       "instructor": {"name": "Andrew Downes", "account": {"homePage": "http://www.example.com", "name": "13936749"}, "objectType": "Agent"},
       "team": {"name": "Team PB", "mbox": "mailto:teampb@example.com", "objectType": "Group"},
       "platform": "Example virtual meeting software", "language": "tlh",
       "statement": {"objectType": "StatementRef", "id": "6690e6c9-3ef0-4ed3-8b37-7f3964730bee"}},
     "timestamp": "2013-05-18T05:32:34.804+00:00", "stored": "2013-05-18T05:32:34.804+00:00",
     "authority": {"account": {"homePage": "http://cloud.scorm.com/", "name": "anonymous"}, "objectType": "Agent"},
     "version": "1.0.0",
     "object": {"id": "http://www.example.com/meetings/occurances/34534",
       "definition": {"extensions": {"http://example.com/profiles/meetings/activitydefinitionextensions/room": {"name": "Kilby", "id": "http://example.com/rooms/342"}},
         "name": {"en-GB": "example meeting", "en-US": "example meeting"},
         "description": {"en-GB": "An example meeting.", "en-US": "An example meeting."},
         "type": "http://adlnet.gov/expapi/activities/meeting", "moreInfo": "http://virtualmeeting.example.com/345256"},
       "objectType": "Activity"}}'''),
    {"actor": {"objectType": "Agent", "name": "Example Admin", "mbox": "mailto:admin@example.adlnet.gov"},
     "verb": {"id": "http://adlnet.gov/expapi/verbs/voided", "display": {"en-US": "voided"}},
     "object": {"objectType": "StatementRef", "id": "e05aa883-acaf-40ad-bf54-02c8ce485fb0"}},
    {"actor": {"objectType": "Agent", "mbox": "mailto:test@example.com"},
     "verb": {"id": "http://example.com/planned", "display": {"en-US": "planned"}},
     "object": {"objectType": "SubStatement",
                "actor": {"objectType": "Agent", "mbox": "mailto:test@example.com"},
                "verb": {"id": "http://example.com/visited", "display": {"en-US": "will visit"}},
                "object": {"objectType": "Activity", "id": "http://example.com/website",
                           "definition": {"name": {"en-US": "Some Awesome Website"}}}}},
    {"actor": AGENT, "verb": {"id": "http://example.com/interviewed"},
     "object": {"name": "Andrew Downes", "mbox": "mailto:andrew@example.co.uk", "objectType": "Agent"}},
    {"actor": AGENT, "verb": {"id": "http://example.com/met"},
     "object": {"name": "Example Group", "account": {"homePage": "http://example.com/homePage", "name": "GroupAccount"},
                "objectType": "Group",
                "member": [{"name": "Andrew Downes", "mbox": "mailto:andrew@example.com", "objectType": "Agent"},
                           {"name": "Aaron Silvers", "openid": "http://aaron.openid.example.org", "objectType": "Agent"}]}},
    {"actor": AGENT, "verb": {"id": "http://example.com/confirmed"},
     "object": {"objectType": "SubStatement", "actor": {"objectType": "Agent", "mbox": "mailto:agent@example.com"},
                "verb": {"id": "http://example.com/confirmed", "display": {"en": "confirmed"}},
                "object": {"objectType": "StatementRef", "id": "9e13cefd-53d3-4eac-b5ed-2cf6693903bb"}}},
    {"version": "1.0.0", "id": "33cff416-e331-4c9d-969e-5373a1756120",
     "actor": {"mbox": "mailto:example@example.com", "name": "Example Learner", "objectType": "Agent"},
     "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced", "display": {"en-US": "experienced"}},
     "object": {"id": "https://www.youtube.com/watch?v=xh4kIiH3Sm8", "objectType": "Activity",
                "definition": {"name": {"en-US": "Tax Tips & Information : How to File a Tax Return "},
                               "description": {"en-US": "Filing a tax return will require filling out a form"}}},
     "timestamp": "2013-04-01T12:00:00Z"},
]

# xAPI 1.0.3 Data Appendix C: one definition per interactionType.
APPENDIX_C = json.loads(r'''{
 "true-false": {"description": {"en-US": "Does the xAPI include the concept of statements?"}, "type": "http://adlnet.gov/expapi/activities/cmi.interaction", "interactionType": "true-false", "correctResponsesPattern": ["true"]},
 "choice": {"description": {"en-US": "Which of these prototypes are available at the beta site?"}, "type": "http://adlnet.gov/expapi/activities/cmi.interaction", "interactionType": "choice", "correctResponsesPattern": ["golf[,]tetris"],
   "choices": [{"id": "golf", "description": {"en-US": "Golf Example"}}, {"id": "facebook", "description": {"en-US": "Facebook App"}}, {"id": "tetris", "description": {"en-US": "Tetris Example"}}, {"id": "scrabble", "description": {"en-US": "Scrabble Example"}}]},
 "fill-in": {"description": {"en-US": "Ben is often heard saying: "}, "type": "http://adlnet.gov/expapi/activities/cmi.interaction", "interactionType": "fill-in", "correctResponsesPattern": ["Bob's your uncle"]},
 "long-fill-in": {"description": {"en-US": "What is the purpose of the xAPI?"}, "type": "http://adlnet.gov/expapi/activities/cmi.interaction", "interactionType": "long-fill-in", "correctResponsesPattern": ["{case_matters=false}{lang=en}To store and provide access to learning experiences."]},
 "likert": {"description": {"en-US": "How awesome is Experience API?"}, "type": "http://adlnet.gov/expapi/activities/cmi.interaction", "interactionType": "likert", "correctResponsesPattern": ["likert_3"],
   "scale": [{"id": "likert_0", "description": {"en-US": "It's OK"}}, {"id": "likert_1", "description": {"en-US": "It's Pretty Cool"}}, {"id": "likert_2", "description": {"en-US": "It's Damn Cool"}}, {"id": "likert_3", "description": {"en-US": "It's Gonna Change the World"}}]},
 "matching": {"description": {"en-US": "Match these people to their kickball team:"}, "type": "http://adlnet.gov/expapi/activities/cmi.interaction", "interactionType": "matching", "correctResponsesPattern": ["ben[.]3[,]chris[.]2[,]troy[.]4[,]freddie[.]1"],
   "source": [{"id": "ben", "description": {"en-US": "Ben"}}, {"id": "chris", "description": {"en-US": "Chris"}}],
   "target": [{"id": "1", "description": {"en-US": "Swift Kick in the Grass"}}, {"id": "2", "description": {"en-US": "We got Runs"}}]},
 "performance": {"description": {"en-US": "This interaction measures performance over a day of RS sports:"}, "type": "http://adlnet.gov/expapi/activities/cmi.interaction", "interactionType": "performance", "correctResponsesPattern": ["pong[.]1:[,]dg[.]:10[,]lunch[.]"],
   "steps": [{"id": "pong", "description": {"en-US": "Net pong matches won"}}, {"id": "dg", "description": {"en-US": "Strokes over par in disc golf at Liberty"}}, {"id": "lunch", "description": {"en-US": "Lunch having been eaten"}}]},
 "sequencing": {"description": {"en-US": "Order players by their pong ladder position:"}, "type": "http://adlnet.gov/expapi/activities/cmi.interaction", "interactionType": "sequencing", "correctResponsesPattern": ["tim[,]mike[,]ells[,]ben"],
   "choices": [{"id": "tim", "description": {"en-US": "Tim"}}, {"id": "ben", "description": {"en-US": "Ben"}}, {"id": "ells", "description": {"en-US": "Ells"}}, {"id": "mike", "description": {"en-US": "Mike"}}]},
 "numeric": {"description": {"en-US": "How many jokes is Chris the butt of each day?"}, "type": "http://adlnet.gov/expapi/activities/cmi.interaction", "interactionType": "numeric", "correctResponsesPattern": ["4[:]"]},
 "other": {"description": {"en-US": "On this map, please mark Franklin, TN"}, "type": "http://adlnet.gov/expapi/activities/cmi.interaction", "interactionType": "other", "correctResponsesPattern": ["(35.937432,-86.868896)"]}
}''')


@pytest.mark.parametrize("version", BOTH)
@pytest.mark.parametrize("index", range(len(SPEC_EXAMPLES)))
def test_spec_examples_are_valid(index, version):
    validate_statement(SPEC_EXAMPLES[index], version)


@pytest.mark.parametrize("version", BOTH)
@pytest.mark.parametrize("kind", sorted(APPENDIX_C))
def test_interaction_examples_are_valid(kind, version):
    stmt = change(FULL, "object.definition", APPENDIX_C[kind])
    validate_statement(stmt, version)
    validate_statement(change(WITH_SUB, "object.object.definition", APPENDIX_C[kind]), version)


@pytest.mark.parametrize("version", BOTH)
def test_full_statement_and_substatement_valid(version):
    validate_statement(FULL, version)
    validate_statement(WITH_SUB, version)


def test_validation_does_not_mutate():
    before = copy.deepcopy(FULL)
    validate_statement(FULL, V2)
    validate_statements([FULL], V1)
    assert FULL == before


@pytest.mark.parametrize("change_args", [
    ("context.contextAgents", CONTEXT_AGENTS),
    ("context.contextGroups", CONTEXT_GROUPS),
])
def test_context_agents_and_groups_valid_in_2_0_only(change_args):
    stmt = change(change(FULL, *change_args), "version", "2.0.0")
    validate_statement(stmt, V2)
    sub = change(WITH_SUB, "object." + change_args[0], change_args[1])
    validate_statement(sub, V2)
    rejects(stmt, V1, f"statement.{change_args[0]}", "not an allowed property")
    # A statement that says it is 1.0.x is one, whatever the request's version.
    rejects(change(stmt, "version", "1.0.0"), V2, f"statement.{change_args[0]}",
            "2.0 property")
    rejects(change(sub, "version", "1.0.3"), V2, f"statement.object.{change_args[0]}",
            "2.0 property")
    validate_statement(change(stmt, "version", "2.0"), V2)


VALID_VARIANTS = [
    ("extensions may hold null", "result.extensions", {"http://example.com/n": None}),
    ("empty result", "result", {}),
    ("empty context", "context", {}),
    ("empty extensions", "context.extensions", {}),
    ("score raw equal to max", "result.score", {"raw": 100, "min": 0, "max": 100}),
    ("score raw alone, negative", "result.score", {"raw": -5.5}),
    ("scaled -1", "result.score", {"scaled": -1}),
    ("instructor as group", "context.instructor", ANON_GROUP),
    ("identified team", "context.team", {"objectType": "Group", "openid": "http://o.example.com/t"}),
    ("single context activity", "context.contextActivities", {"other": ACTIVITY}),
    ("version 1.0", "version", "1.0"),
    ("uppercase uuid", "id", "AA97B177-9383-4934-8543-0F91A7A02836"),
    ("future timestamp", "timestamp", "2999-01-01T00:00:00Z"),
    ("timestamp with offset", "timestamp", "2024-01-01T12:00:00.123+05:30"),
    ("anonymous group authority", "authority", ANON_GROUP),
    ("attachment without fileUrl", "attachments.0.fileUrl", DELETE),
    ("attachment length float integral", "attachments.0.length", 27.0),
    ("empty attachments", "attachments", []),
    ("empty correctResponsesPattern", "object.definition",
     {"interactionType": "choice", "correctResponsesPattern": []}),
    ("likert without scale", "object.definition", {"interactionType": "likert"}),
    ("component without description", "object.definition",
     {"interactionType": "choice", "choices": [{"id": "a"}, {"id": "b"}]}),
    ("group actor without objectType member", "actor", ANON_GROUP),
    ("agent object without name", "object", {"objectType": "Agent", "mbox_sha1sum": "a" * 40}),
    ("statementref object with revision absent", "object",
     {"objectType": "StatementRef", "id": "12345678-1234-5678-1234-567812345678"}),
]


@pytest.mark.parametrize("version", BOTH)
@pytest.mark.parametrize("label,dotted,value", VALID_VARIANTS, ids=[v[0] for v in VALID_VARIANTS])
def test_valid_variants(label, dotted, value, version):
    stmt = change(FULL, dotted, value)
    if dotted == "object":
        stmt = change(stmt, "context", {"registration": "12345678-1234-5678-1234-567812345679"})
    validate_statement(stmt, version)


# --- Invalid statements: (label, versions, dotted path, value, error path, rule) --

S = "statement"
INVALID = [
    # Required properties and unknown/miscased keys (Data 2.2).
    ("missing actor", BOTH, "actor", DELETE, f"{S}.actor", "required"),
    ("missing verb", BOTH, "verb", DELETE, f"{S}.verb", "required"),
    ("missing object", BOTH, "object", DELETE, f"{S}.object", "required"),
    ("unknown top key", BOTH, "foo", 1, f"{S}.foo", "not an allowed"),
    ("miscased key", BOTH, "Actor", AGENT, f"{S}.Actor", "case-sensitive"),
    ("miscased timeStamp", BOTH, "timeStamp", "2024-01-01T00:00:00Z", f"{S}.timeStamp", "case"),
    # id
    ("id numeric", BOTH, "id", 12345, f"{S}.id", "UUID"),
    ("id too long", BOTH, "id", "AA97B177-9383-4934-8543-0F91A7A028368", f"{S}.id", "UUID"),
    ("id bad letter", BOTH, "id", "MA97B177-9383-4934-8543-0F91A7A02836", f"{S}.id", "UUID"),
    ("id null", BOTH, "id", None, f"{S}.id", "null"),
    ("id empty", BOTH, "id", "", f"{S}.id", "UUID"),
    # actor / agents / groups
    ("actor string", BOTH, "actor", "ann", f"{S}.actor", "object"),
    ("actor no ifi", BOTH, "actor", {"name": "x"}, f"{S}.actor", "exactly one"),
    ("actor two ifis", BOTH, "actor.openid", "http://o.example.com/1", f"{S}.actor", "exactly one"),
    ("actor name null", BOTH, "actor.name", None, f"{S}.actor.name", "null"),
    ("actor name number", BOTH, "actor.name", 123, f"{S}.actor.name", "string"),
    ("actor objectType lower", BOTH, "actor.objectType", "agent", f"{S}.actor.objectType", "case"),
    ("actor objectType number", BOTH, "actor.objectType", 123, f"{S}.actor.objectType", "string"),
    ("mbox not mailto", BOTH, "actor.mbox", "http://should.fail.com", f"{S}.actor.mbox", "mailto"),
    ("mbox no at", BOTH, "actor.mbox", "mailto:should.fail.com", f"{S}.actor.mbox", "mailto"),
    ("mbox object", BOTH, "actor.mbox", {"key": "value"}, f"{S}.actor.mbox", "string"),
    ("sha1 short", BOTH, "actor", {"mbox_sha1sum": "abc"}, f"{S}.actor.mbox_sha1sum", "SHA-1"),
    ("sha1 object", BOTH, "actor", {"mbox_sha1sum": {}}, f"{S}.actor.mbox_sha1sum", "string"),
    ("openid not uri", BOTH, "actor", {"openid": "ab=c://should.fail.com"}, f"{S}.actor.openid", "URI"),
    ("account no homePage", BOTH, "actor", {"account": {"name": "x"}}, f"{S}.actor.account.homePage", "required"),
    ("account no name", BOTH, "actor", {"account": {"homePage": "http://x.com"}}, f"{S}.actor.account.name", "required"),
    ("account name object", BOTH, "actor", {"account": {"homePage": "http://x.com", "name": {"k": 1}}},
     f"{S}.actor.account.name", "string"),
    ("account homePage not IRL", BOTH, "actor", {"account": {"homePage": "ab=c://should.fail.com", "name": "x"}},
     f"{S}.actor.account.homePage", "IRL"),
    ("account extra", BOTH, "actor", {"account": {"homePage": "http://x.com", "name": "x", "id": 1}},
     f"{S}.actor.account.id", "not an allowed"),
    ("agent with member", BOTH, "actor.member", [], f"{S}.actor.member", "not an allowed"),
    ("anonymous group no member", BOTH, "actor", {"objectType": "Group"}, f"{S}.actor.member", "required"),
    ("anonymous group empty member", BOTH, "actor", {"objectType": "Group", "member": []},
     f"{S}.actor.member", "at least one"),
    ("group two ifis", BOTH, "actor", {"objectType": "Group", "mbox": "mailto:a@b.c", "openid": "http://x.y/z"},
     f"{S}.actor", "at most one"),
    ("group member not array", BOTH, "actor", {"objectType": "Group", "member": AGENT}, f"{S}.actor.member", "array"),
    ("nested group", BOTH, "actor", {"objectType": "Group", "member": [ANON_GROUP]},
     f"{S}.actor.member[0].objectType", "not a Group"),
    ("nested group in identified", BOTH, "actor",
     {"objectType": "Group", "mbox": "mailto:g@x.com", "member": [AGENT, {"objectType": "Group", "mbox": "mailto:h@x.com"}]},
     f"{S}.actor.member[1].objectType", "not a Group"),
    ("member without ifi", BOTH, "actor", {"objectType": "Group", "member": [{"name": "x"}]},
     f"{S}.actor.member[0]", "exactly one"),
    # verb
    ("verb missing id", BOTH, "verb.id", DELETE, f"{S}.verb.id", "required"),
    ("verb id not IRI", BOTH, "verb.id", "completed", f"{S}.verb.id", "IRI"),
    ("verb display empty", BOTH, "verb.display", {}, f"{S}.verb.display", "at least one"),
    ("verb display string", BOTH, "verb.display", "completed", f"{S}.verb.display", "language map"),
    ("verb display bad tag", BOTH, "verb.display", {"something": "x"}, f'{S}.verb.display["something"]', "RFC 5646"),
    ("verb display null value", BOTH, "verb.display", {"en-US": None}, f'{S}.verb.display["en-US"]', "null"),
    ("verb display dup singleton", BOTH, "verb.display", {"zh-z-aaa-z-bbb-c-ccc": "x"},
     f'{S}.verb.display["zh-z-aaa-z-bbb-c-ccc"]', "RFC 5646"),
    ("verb extra", BOTH, "verb.name", "x", f"{S}.verb.name", "not an allowed"),
    ("voided verb with activity", BOTH, "verb.id", "http://adlnet.gov/expapi/verbs/voided",
     f"{S}.object.objectType", "StatementRef"),
    # object: activity
    ("object null", BOTH, "object", None, f"{S}.object", "null"),
    ("activity no id", BOTH, "object.id", DELETE, f"{S}.object.id", "required"),
    ("activity id not IRI", BOTH, "object.id", "ab=c://should.fail.com", f"{S}.object.id", "IRI"),
    ("activity objectType lower", BOTH, "object.objectType", "activity", f"{S}.object.objectType", "case"),
    ("object unknown objectType", BOTH, "object", {"objectType": "Thing", "id": "http://x.com"},
     f"{S}.object.objectType", "must be Activity"),
    ("definition string", BOTH, "object.definition", "x", f"{S}.object.definition", "object"),
    ("definition name string", BOTH, "object.definition.name", "x", f"{S}.object.definition.name", "language map"),
    ("definition name empty", BOTH, "object.definition.name", {}, f"{S}.object.definition.name", "at least one"),
    ("definition description bad tag", BOTH, "object.definition.description", {"a12345": "x"},
     f'{S}.object.definition.description["a12345"]', "RFC 5646"),
    ("definition type not IRI", BOTH, "object.definition.type", "should error", f"{S}.object.definition.type", "IRI"),
    ("definition moreInfo not IRL", BOTH, "object.definition.moreInfo", "should error",
     f"{S}.object.definition.moreInfo", "IRL"),
    ("definition moreInfo null", BOTH, "object.definition.moreInfo", None, f"{S}.object.definition.moreInfo", "null"),
    ("definition extensions string", BOTH, "object.definition.extensions", "x",
     f"{S}.object.definition.extensions", "object"),
    ("definition extension key not IRI", BOTH, "object.definition.extensions", {"id": "valid"},
     f'{S}.object.definition.extensions["id"]', "IRI"),
    ("definition unknown key", BOTH, "object.definition.foo", 1, f"{S}.object.definition.foo", "not an allowed"),
    ("interactionType miscased", BOTH, "object.definition.interactionType", "true-faLse",
     f"{S}.object.definition.interactionType", "case-sensitive"),
    ("interactionType IRI", BOTH, "object.definition.interactionType", "http://x.com/choice",
     f"{S}.object.definition.interactionType", "one of"),
    ("interactionType number", BOTH, "object.definition.interactionType", 12345,
     f"{S}.object.definition.interactionType", "string"),
    ("crp without interactionType", BOTH, "object.definition.correctResponsesPattern", ["a"],
     f"{S}.object.definition.interactionType", "required"),
    ("choices without interactionType", BOTH, "object.definition.choices", [{"id": "a"}],
     f"{S}.object.definition.interactionType", "required"),
    ("crp not array", BOTH, "object.definition", {"interactionType": "other", "correctResponsesPattern": "a"},
     f"{S}.object.definition.correctResponsesPattern", "array"),
    ("crp item number", BOTH, "object.definition", {"interactionType": "other", "correctResponsesPattern": ["a", 1]},
     f"{S}.object.definition.correctResponsesPattern[1]", "string"),
    ("choices on true-false", BOTH, "object.definition", {"interactionType": "true-false", "choices": [{"id": "a"}]},
     f"{S}.object.definition.choices", "not a component list"),
    ("scale on matching", BOTH, "object.definition", {"interactionType": "matching", "scale": [{"id": "a"}]},
     f"{S}.object.definition.scale", "not a component list"),
    ("component not array", BOTH, "object.definition", {"interactionType": "choice", "choices": {"id": "a"}},
     f"{S}.object.definition.choices", "array"),
    ("component no id", BOTH, "object.definition", {"interactionType": "likert", "scale": [{"description": {"en": "x"}}]},
     f"{S}.object.definition.scale[0].id", "required"),
    ("component id number", BOTH, "object.definition", {"interactionType": "performance", "steps": [{"id": 1}]},
     f"{S}.object.definition.steps[0].id", "string"),
    ("component duplicate id", BOTH, "object.definition",
     {"interactionType": "matching", "source": [{"id": "a"}, {"id": "a"}]},
     f"{S}.object.definition.source[1].id", "duplicates"),
    ("component bad description", BOTH, "object.definition",
     {"interactionType": "matching", "target": [{"id": "a", "description": {"xx-yyyyyyyyy": "x"}}]},
     f'{S}.object.definition.target[0].description["xx-yyyyyyyyy"]', "RFC 5646"),
    ("component extra key", BOTH, "object.definition",
     {"interactionType": "sequencing", "choices": [{"id": "a", "name": "x"}]},
     f"{S}.object.definition.choices[0].name", "not an allowed"),
    # object: agent / group / statementref / substatement
    ("agent object without objectType", BOTH, "object", {"mbox": "mailto:a@b.c"},
     f"{S}.object.objectType", "required"),
    ("group object without objectType", BOTH, "object", {"member": [AGENT]}, f"{S}.object.objectType", "required"),
    ("statementref bad id", BOTH, "object", {"objectType": "StatementRef", "id": "x"}, f"{S}.object.id", "UUID"),
    ("statementref no id", BOTH, "object", {"objectType": "StatementRef"}, f"{S}.object.id", "required"),
    ("statementref extra", BOTH, "object",
     {"objectType": "StatementRef", "id": "12345678-1234-5678-1234-567812345678", "definition": {}},
     f"{S}.object.definition", "not an allowed"),
    ("voided with activity-less ref", BOTH, "verb.id", "http://adlnet.gov/expapi/verbs/voided",
     f"{S}.object.objectType", "StatementRef"),
    # result
    ("result string", BOTH, "result", "x", f"{S}.result", "object"),
    ("result unknown key", BOTH, "result.RESULT", 1, f"{S}.result.RESULT", "not an allowed"),
    ("success string", BOTH, "result.success", "true", f"{S}.result.success", "boolean"),
    ("completion string", BOTH, "result.completion", "false", f"{S}.result.completion", "boolean"),
    ("completion number", BOTH, "result.completion", 1, f"{S}.result.completion", "boolean"),
    ("response number", BOTH, "result.response", 5, f"{S}.result.response", "string"),
    ("duration bad", BOTH, "result.duration", "PA1H0M0S", f"{S}.result.duration", "ISO 8601"),
    ("duration weeks mixed", BOTH, "result.duration", "P4W1D", f"{S}.result.duration", "ISO 8601"),
    ("duration number", BOTH, "result.duration", 12345, f"{S}.result.duration", "string"),
    ("score string max", BOTH, "result.score.max", "100", f"{S}.result.score.max", "number"),
    ("score bool raw", BOTH, "result.score.raw", True, f"{S}.result.score.raw", "number"),
    ("scaled too big", BOTH, "result.score.scaled", 1.01, f"{S}.result.score.scaled", "between -1 and 1"),
    ("scaled too small", BOTH, "result.score.scaled", -1.5, f"{S}.result.score.scaled", "between -1 and 1"),
    ("raw above max", BOTH, "result.score.raw", 101, f"{S}.result.score.raw", "max"),
    ("raw below min", BOTH, "result.score.raw", -1, f"{S}.result.score.raw", "min"),
    ("min above max", BOTH, "result.score", {"min": 10, "max": 5}, f"{S}.result.score.min", "less than max"),
    ("min equals max", BOTH, "result.score", {"min": 5, "max": 5}, f"{S}.result.score.min", "less than max"),
    ("score unknown", BOTH, "result.score.percent", 5, f"{S}.result.score.percent", "not an allowed"),
    ("result extension key", BOTH, "result.extensions", {"not iri": 1}, f'{S}.result.extensions["not iri"]', "IRI"),
    # context
    ("registration string", BOTH, "context.registration", "should fail", f"{S}.context.registration", "UUID"),
    ("registration object", BOTH, "context.registration", {"key": 1}, f"{S}.context.registration", "UUID"),
    ("registration null", BOTH, "context.registration", None, f"{S}.context.registration", "null"),
    ("instructor string", BOTH, "context.instructor", "x", f"{S}.context.instructor", "object"),
    ("instructor invalid", BOTH, "context.instructor", {"key": "x"}, f"{S}.context.instructor.key", "not an allowed"),
    ("team is agent", BOTH, "context.team", AGENT, f"{S}.context.team.objectType", "Group"),
    ("team string", BOTH, "context.team", "x", f"{S}.context.team", "Group"),
    ("contextActivities string", BOTH, "context.contextActivities", "x", f"{S}.context.contextActivities", "object"),
    ("contextActivities bad key", BOTH, "context.contextActivities.Parent", [],
     f"{S}.context.contextActivities.Parent", "case-sensitive"),
    ("contextActivities number", BOTH, "context.contextActivities.parent", 5,
     f"{S}.context.contextActivities.parent", "Activity"),
    ("contextActivities item bad", BOTH, "context.contextActivities.other", [{"id": "http://x.com"}, {"id": "x"}],
     f"{S}.context.contextActivities.other[1].id", "IRI"),
    ("contextActivities agent", BOTH, "context.contextActivities.category", [AGENT],
     f"{S}.context.contextActivities.category[0].objectType", "Activity"),
    ("revision number", BOTH, "context.revision", 12345, f"{S}.context.revision", "string"),
    ("platform object", BOTH, "context.platform", {"k": 1}, f"{S}.context.platform", "string"),
    ("language bad", BOTH, "context.language", "something", f"{S}.context.language", "RFC 5646"),
    ("language number", BOTH, "context.language", 5, f"{S}.context.language", "string"),
    ("context statement not ref", BOTH, "context.statement", {"id": "12345678-1234-5678-1234-567812345678"},
     f"{S}.context.statement.objectType", "required"),
    ("context statement miscased", BOTH, "context.statement.objectType", "statementref",
     f"{S}.context.statement.objectType", "case"),
    ("context extension key", BOTH, "context.extensions", {"x": 1}, f'{S}.context.extensions["x"]', "IRI"),
    ("context unknown", BOTH, "context.conText", 1, f"{S}.context.conText", "not an allowed"),
    # timestamp / stored / authority / version
    ("timestamp bad", BOTH, "timestamp", "01/011/2015", f"{S}.timestamp", "timestamp"),
    ("timestamp -00:00", BOTH, "timestamp", "2008-09-15T15:53:00.601-00:00", f"{S}.timestamp", "offset"),
    ("timestamp number", BOTH, "timestamp", 1234, f"{S}.timestamp", "Timestamp"),
    ("timestamp no zone 2.0", (V2,), "timestamp", "2008-09-15T15:53:00", f"{S}.timestamp", "RFC 3339"),
    ("stored bad", BOTH, "stored", "yesterday", f"{S}.stored", "timestamp"),
    ("authority invalid", BOTH, "authority", {"objectType": "Agent"}, f"{S}.authority", "exactly one"),
    ("authority identified group", BOTH, "authority", {"objectType": "Group", "openid": "http://x.com/g",
                                                       "member": ANON_GROUP["member"]},
     f"{S}.authority", "Anonymous"),
    ("authority group of one", BOTH, "authority", {"objectType": "Group", "member": [AGENT]},
     f"{S}.authority.member", "exactly two"),
    ("version 2.0.0 in 1.0.3", (V1,), "version", "2.0.0", f"{S}.version", "1.0"),
    # 1.0.3 Data 2.2 (no empty objects), as ADL's 1.0.3 suite holds it; 2.0 drops it.
    ("empty definition 1.0.3", (V1,), "object.definition", {}, f"{S}.object.definition",
     "empty object"),
    ("empty contextActivities 1.0.3", (V1,), "context.contextActivities", {},
     f"{S}.context.contextActivities", "empty object"),
    ("empty definition in contextActivities 1.0.3", (V1,), "context.contextActivities",
     {"parent": [{"id": "http://example.com/p", "definition": {}}]},
     f"{S}.context.contextActivities.parent[0].definition", "empty object"),
    ("version 1.1.0", BOTH, "version", "1.1.0", f"{S}.version", "must be"),
    ("version 0.9.9", BOTH, "version", "0.9.9", f"{S}.version", "must be"),
    ("version number", BOTH, "version", 1.0, f"{S}.version", "string"),
    ("version miscased key", BOTH, "Version", "1.0.0", f"{S}.Version", "case"),
    # attachments
    ("attachments object", BOTH, "attachments", ATTACHMENT, f"{S}.attachments", "array"),
    ("attachment no usageType", BOTH, "attachments.0.usageType", DELETE, f"{S}.attachments[0].usageType", "required"),
    ("attachment no display", BOTH, "attachments.0.display", DELETE, f"{S}.attachments[0].display", "required"),
    ("attachment no contentType", BOTH, "attachments.0.contentType", DELETE,
     f"{S}.attachments[0].contentType", "required"),
    ("attachment no length", BOTH, "attachments.0.length", DELETE, f"{S}.attachments[0].length", "required"),
    ("attachment no sha2", BOTH, "attachments.0.sha2", DELETE, f"{S}.attachments[0].sha2", "required"),
    ("attachment usageType bad", BOTH, "attachments.0.usageType", "test", f"{S}.attachments[0].usageType", "IRI"),
    ("attachment display empty", BOTH, "attachments.0.display", {}, f"{S}.attachments[0].display", "at least one"),
    ("attachment display bad tag", BOTH, "attachments.0.display", {"en-US": "a", "something": "b"},
     f'{S}.attachments[0].display["something"]', "RFC 5646"),
    ("attachment description string", BOTH, "attachments.0.description", "x",
     f"{S}.attachments[0].description", "language map"),
    ("attachment contentType bad", BOTH, "attachments.0.contentType", "text", f"{S}.attachments[0].contentType",
     "Media Type"),
    ("attachment length string", BOTH, "attachments.0.length", "27", f"{S}.attachments[0].length", "integer"),
    ("attachment length fraction", BOTH, "attachments.0.length", 2.5, f"{S}.attachments[0].length", "integer"),
    ("attachment length negative", BOTH, "attachments.0.length", -1, f"{S}.attachments[0].length", "negative"),
    ("attachment sha2 bad", BOTH, "attachments.0.sha2", "abc", f"{S}.attachments[0].sha2", "SHA-2"),
    ("attachment fileUrl bad", BOTH, "attachments.0.fileUrl", "file.txt", f"{S}.attachments[0].fileUrl", "IRL"),
    ("attachment extra", BOTH, "attachments.0.attachmentS", 1, f"{S}.attachments[0].attachmentS", "not an allowed"),
    ("signature wrong contentType", BOTH, "attachments.0.usageType",
     "http://adlnet.gov/expapi/attachments/signature", f"{S}.attachments[0].contentType", "octet-stream"),
]


@pytest.mark.parametrize("label,versions,dotted,value,path,rule", INVALID, ids=[c[0] for c in INVALID])
def test_invalid_statement(label, versions, dotted, value, path, rule):
    stmt = change(FULL, dotted, value)
    if label.startswith("voided"):
        stmt = change(stmt, "context", {})
    for version in versions:
        rejects(stmt, version, path, rule)


# Revision/platform need an Activity object (1.0.3 Data 2.4.6; ADL suite for 2.0).
NON_ACTIVITY_OBJECTS = [
    AGENT, ANON_GROUP,
    {"objectType": "StatementRef", "id": "12345678-1234-5678-1234-567812345678"},
    {k: v for k, v in SUBSTATEMENT.items() if k != "context"},
]


@pytest.mark.parametrize("version", BOTH)
@pytest.mark.parametrize("key", ["revision", "platform"])
@pytest.mark.parametrize("index", range(len(NON_ACTIVITY_OBJECTS)))
def test_revision_platform_need_activity(index, key, version):
    stmt = {"actor": AGENT, "verb": {"id": "http://example.com/v"},
            "object": NON_ACTIVITY_OBJECTS[index], "context": {key: "x"}}
    rejects(stmt, version, f"statement.context.{key}", "only allowed")
    sub = change(WITH_SUB, "object.object", NON_ACTIVITY_OBJECTS[index] if index < 3 else AGENT)
    rejects(change(sub, "object.context", {key: "x"}), version, f"statement.object.context.{key}", "only allowed")


# --- SubStatements ------------------------------------------------------------

SUB_INVALID = [
    ("sub with id", "object.id", "12345678-1234-5678-1234-567812345678", "statement.object.id", "SubStatement"),
    ("sub with stored", "object.stored", "2024-01-01T00:00:00Z", "statement.object.stored", "SubStatement"),
    ("sub with version", "object.version", "1.0.0", "statement.object.version", "SubStatement"),
    ("sub with authority", "object.authority", AGENT, "statement.object.authority", "SubStatement"),
    ("nested sub", "object.object", SUBSTATEMENT, "statement.object.object.objectType", "cannot contain"),
    ("sub miscased type", "object.objectType", "substatement", "statement.object.objectType", "case"),
    ("sub no actor", "object.actor", DELETE, "statement.object.actor", "required"),
    ("sub bad verb", "object.verb.id", "x", "statement.object.verb.id", "IRI"),
    ("sub agent object no type", "object.object", {"mbox": "mailto:a@b.c"},
     "statement.object.object.objectType", "required"),
    ("sub bad timestamp", "object.timestamp", "2008-09-15T15:53:00.601-0000", "statement.object.timestamp", ""),
    ("sub registration", "object.context.registration", "x", "statement.object.context.registration", "UUID"),
    ("sub duration", "object.result.duration", "P4W1D", "statement.object.result.duration", "ISO 8601"),
    ("sub attachment", "object.attachments.0.sha2", 5, "statement.object.attachments[0].sha2", "string"),
    ("sub unknown", "object.foo", 1, "statement.object.foo", "not an allowed"),
]


def test_empty_definition_and_context_activities_valid_in_2_0_only():
    # ADL's 2.0 suite accepts `"definition": {}` ("uses the following
    # properties"), its 1.0.3 suite refuses it; the 2.0 book has no rule
    # against empty objects.
    for stmt in (change(FULL, "object.definition", {}),
                 change(FULL, "context.contextActivities", {}),
                 change(WITH_SUB, "object.object.definition", {}),
                 change(WITH_SUB, "object.context.contextActivities", {})):
        validate_statement(stmt, V2)
        with pytest.raises(ValidationError, match="empty object"):
            validate_statement(stmt, V1)


@pytest.mark.parametrize("version", BOTH)
@pytest.mark.parametrize("label,dotted,value,path,rule", SUB_INVALID, ids=[c[0] for c in SUB_INVALID])
def test_invalid_substatement(label, dotted, value, path, rule, version):
    rejects(change(WITH_SUB, dotted, value), version, path, rule)


# --- 2.0 contextAgents / contextGroups --------------------------------------------

CTX_INVALID = [
    ("agents not array", "context.contextAgents", CONTEXT_AGENTS[0], "statement.context.contextAgents", "array"),
    ("agent bad type", "context.contextAgents.0.objectType", "Should fail",
     "statement.context.contextAgents[0].objectType", "contextAgent"),
    ("agent no type", "context.contextAgents.0.objectType", DELETE,
     "statement.context.contextAgents[0].objectType", "required"),
    ("agent invalid", "context.contextAgents.0.agent", {"key": "Should fail"},
     "statement.context.contextAgents[0].agent.key", "not an allowed"),
    ("agent missing", "context.contextAgents.0.agent", DELETE, "statement.context.contextAgents[0].agent", "required"),
    ("agent is group", "context.contextAgents.0.agent", ANON_GROUP,
     "statement.context.contextAgents[0].agent.objectType", "Agent"),
    ("relevantTypes empty", "context.contextAgents.0.relevantTypes", [],
     "statement.context.contextAgents[0].relevantTypes", "at least one"),
    ("relevantTypes non-IRI", "context.contextAgents.0.relevantTypes", ["abc"],
     "statement.context.contextAgents[0].relevantTypes[0]", "IRI"),
    ("agents extra", "context.contextAgents.1.group", ANON_GROUP,
     "statement.context.contextAgents[1].group", "not an allowed"),
    ("groups bad type", "context.contextGroups.0.objectType", "contextAgent",
     "statement.context.contextGroups[0].objectType", "contextGroup"),
    ("group is agent", "context.contextGroups.0.group", AGENT,
     "statement.context.contextGroups[0].group.objectType", "Group"),
    ("group missing", "context.contextGroups.1.group", DELETE, "statement.context.contextGroups[1].group", "required"),
    ("group relevantTypes string", "context.contextGroups.0.relevantTypes", "http://x.com",
     "statement.context.contextGroups[0].relevantTypes", "array"),
]


@pytest.mark.parametrize("label,dotted,value,path,rule", CTX_INVALID, ids=[c[0] for c in CTX_INVALID])
def test_invalid_context_agents_groups(label, dotted, value, path, rule):
    base = change(change(FULL, "context.contextAgents", CONTEXT_AGENTS), "context.contextGroups", CONTEXT_GROUPS)
    rejects(change(base, dotted, value), V2, path, rule)
    sub = change(change(WITH_SUB, "object.context.contextAgents", CONTEXT_AGENTS),
                 "object.context.contextGroups", CONTEXT_GROUPS)
    rejects(change(sub, "object." + dotted, value), V2, path.replace("statement.", "statement.object.", 1), rule)


# --- Batches ------------------------------------------------------------------------

@pytest.mark.parametrize("version", BOTH)
def test_batch_paths_and_returns(version):
    second = change(FULL, "id", "12345678-1234-5678-1234-567812345670")
    assert validate_statements([FULL, second], version) == [FULL, second]
    assert validate_statements(FULL, version) == [FULL]
    assert validate_statements([], version) == []
    with pytest.raises(ValidationError) as info:
        validate_statements([FULL, change(second, "context.registration", "nope")], version)
    assert info.value.path == "statement[1].context.registration"


@pytest.mark.parametrize("version", BOTH)
def test_batch_duplicate_ids_rejected(version):
    with pytest.raises(ValidationError) as info:
        validate_statements([FULL, WITH_SUB, change(FULL, "id", FULL["id"].upper())], version)
    assert info.value.path == "statement[2].id"
    assert "statement[0]" in info.value.rule


@pytest.mark.parametrize("payload", ["x", 5, None, True])
def test_batch_must_be_object_or_array(payload):
    with pytest.raises(ValidationError) as info:
        validate_statements(payload, V2)
    assert info.value.path == "statement"


def test_batch_item_not_object():
    with pytest.raises(ValidationError) as info:
        validate_statements([FULL, "x"], V1)
    assert info.value.path == "statement[1]"


# --- Agent parameters ----------------------------------------------------------------

@pytest.mark.parametrize("agent", [
    {"mbox": "mailto:a@b.c"}, {"objectType": "Agent", "account": {"homePage": "http://x.com", "name": "n"}},
    {"objectType": "Group", "openid": "http://x.com/g"}, {"mbox_sha1sum": "a" * 40, "name": "n"},
])
@pytest.mark.parametrize("version", BOTH)
def test_agent_parameter_valid(agent, version):
    validate_agent(agent, version, "agent")


@pytest.mark.parametrize("agent,path", [
    ({}, "agent"), ({"mbox": "a@b.c"}, "agent.mbox"), ("x", "agent"),
    ({"objectType": "Group", "member": [{"mbox": "mailto:a@b.c"}]}, "agent"),
    ({"mbox": "mailto:a@b.c", "openid": "http://x.com"}, "agent"),
    ({"objectType": "Person", "mbox": "mailto:a@b.c"}, "agent.objectType"),
])
def test_agent_parameter_invalid(agent, path):
    with pytest.raises(ValidationError) as info:
        validate_agent(agent, V2, "agent")
    assert info.value.path == path


def test_agent_parameter_group_refused_when_not_allowed():
    with pytest.raises(ValidationError) as info:
        validate_agent({"objectType": "Group", "openid": "http://x.com/g"}, V1, "agent", allow_group=False)
    assert info.value.path == "agent.objectType"
