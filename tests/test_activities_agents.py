"""The Activities and Agents resources over HTTP (ACT, AGT), both versions."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from tests.conftest import add_credential, make_tenant

ACTIVITY = "http://example.com/activities/induction"


def _statement(actor: dict, activity: dict, verb: str = "http://adlnet.gov/expapi/verbs/attempted"):
    return {"id": str(uuid.uuid4()), "actor": actor, "verb": {"id": verb},
            "object": {"objectType": "Activity", **activity}}


def _store(client: httpx.Client, *statements: dict) -> None:
    response = client.post("/xapi/statements", json=list(statements))
    assert response.status_code == 200, response.text


def _error(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    return response.json()["error"]


# --- activities --------------------------------------------------------------------------

def test_unknown_activity_is_still_an_activity(client):
    response = client.get("/xapi/activities", params={"activityId": ACTIVITY + "/unknown"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"objectType": "Activity", "id": ACTIVITY + "/unknown"}


def test_activity_has_its_merged_canonical_definition(client):
    _store(client, _statement({"mbox": "mailto:a@example.com"}, {
        "id": ACTIVITY, "definition": {"name": {"en-GB": "Induction"},
                                       "type": "http://adlnet.gov/expapi/activities/course"}}))
    _store(client, _statement({"mbox": "mailto:a@example.com"}, {
        "id": ACTIVITY, "definition": {"description": {"en-GB": "The common induction course"}}}))
    activity = client.get("/xapi/activities", params={"activityId": ACTIVITY}).json()
    assert activity["objectType"] == "Activity" and activity["id"] == ACTIVITY
    definition = activity["definition"]
    assert definition["name"] == {"en-GB": "Induction"}
    assert definition["type"] == "http://adlnet.gov/expapi/activities/course"
    assert definition["description"] == {"en-GB": "The common induction course"}
    head = client.head("/xapi/activities", params={"activityId": ACTIVITY})
    assert head.status_code == 200 and head.content == b""


def test_a_definitions_integer_beyond_64_bits_reads_back_exact(client):
    """As statements keep it (fuzz round 3: it came back as 1.2345678901234568e+29)."""
    activity_id = f"{ACTIVITY}/{uuid.uuid4()}"
    body = ('[{"actor": {"mbox": "mailto:a@example.com"}, "verb": {"id": '
            '"http://adlnet.gov/expapi/verbs/attempted"}, "object": {"id": "%s", "definition": '
            '{"extensions": {"http://example.com/ext/n": 123456789012345678901234567890}}}}]'
            % activity_id)
    assert client.post("/xapi/statements", content=body,
                       headers={"Content-Type": "application/json"}).status_code == 200
    answer = client.get("/xapi/activities", params={"activityId": activity_id})
    assert b'"http://example.com/ext/n":123456789012345678901234567890' in answer.content
    assert json.loads(answer.content)["definition"]["extensions"] == {
        "http://example.com/ext/n": 123456789012345678901234567890}


def test_a_canonical_definition_grows_to_64_kib_then_stays(client):
    activity_id = f"{ACTIVITY}/{uuid.uuid4()}"

    def store(definition: dict) -> dict:
        _store(client, _statement({"mbox": "mailto:a@example.com"},
                                  {"id": activity_id, "definition": definition}))
        return client.get("/xapi/activities", params={"activityId": activity_id}).json()

    def extensions(prefix: str) -> dict:  # about 40 KB
        return {f"http://example.com/ext/{prefix}{i}": "v" * 20 for i in range(800)}

    held = store({"name": {"en": "Grown"}, "extensions": extensions("a")})["definition"]
    assert len(held["extensions"]) == 800
    # Merged, it would take about 80 KB: the held one stays as it was.
    assert store({"extensions": extensions("b")})["definition"] == held
    # A small correction still merges.
    assert store({"name": {"fr": "Grandi"}})["definition"]["name"] == {"en": "Grown",
                                                                       "fr": "Grandi"}
    # A first definition past 64 KiB is not held at all.
    other = f"{ACTIVITY}/{uuid.uuid4()}"
    _store(client, _statement({"mbox": "mailto:a@example.com"}, {"id": other, "definition": {
        "extensions": {**extensions("a"), **extensions("b")}}}))
    assert client.get("/xapi/activities", params={"activityId": other}).json() == {
        "objectType": "Activity", "id": other}


def test_activities_parameters(client):
    assert _error(client.get("/xapi/activities"), 400)["field"] == "activityId"
    _error(client.get("/xapi/activities", params={"activityId": "no-scheme"}), 400)
    _error(client.get("/xapi/activities", params={"activityId": ACTIVITY, "x": "1"}), 400)
    _error(client.get("/xapi/activities", params={"activityid": ACTIVITY}), 400)
    _error(client.put("/xapi/activities", params={"activityId": ACTIVITY}, json={}), 405)


@pytest.mark.parametrize("path", ["/xapi/activities", "/xapi/agents"])
def test_a_405_says_what_is_allowed(client, path):
    # RFC 9110 15.5.6: a 405 MUST carry Allow. POST is routed here (for the
    # 1.0.3 alternate syntax), and its 405 carried none (fuzz round 8).
    response = client.post(path, content=b"{}", headers={"Content-Type": "application/json"})
    _error(response, 405)
    assert response.headers["allow"] == "GET, HEAD"


def test_activities_of_another_tenant_are_not_seen(client_for, tenant, database_url, version):
    a = client_for(tenant.key, tenant.secret, version=version)
    _store(a, _statement({"mbox": "mailto:a@example.com"},
                         {"id": ACTIVITY, "definition": {"name": {"en": "A's"}}}))
    other = make_tenant(database_url)
    b = client_for(other.key, other.secret, version=version)
    assert b.get("/xapi/activities", params={"activityId": ACTIVITY}).json() == {
        "objectType": "Activity", "id": ACTIVITY}


# --- agents ------------------------------------------------------------------------------

@pytest.mark.parametrize("agent, expected", [
    ({"mbox": "mailto:bob@example.com"}, {"mbox": ["mailto:bob@example.com"]}),
    ({"objectType": "Agent", "name": "Bob", "mbox_sha1sum": "a" * 40},
     {"name": ["Bob"], "mbox_sha1sum": ["a" * 40]}),
    ({"openid": "http://id.example.com/bob"}, {"openid": ["http://id.example.com/bob"]}),
    ({"account": {"homePage": "http://moodle.example.gov", "name": "b123"}},
     {"account": [{"homePage": "http://moodle.example.gov", "name": "b123"}]}),
])
def test_unknown_agent_is_a_person_of_the_request(client, agent, expected):
    response = client.get("/xapi/agents", params={"agent": json.dumps(agent)})
    assert response.status_code == 200
    assert response.json() == {"objectType": "Person", **expected}


def test_person_has_the_names_statements_gave_the_same_ifi(client):
    bob = {"mbox": "mailto:bob@example.com"}
    _store(client,
           _statement({**bob, "name": "Bob"}, {"id": ACTIVITY}),
           _statement({**bob, "name": "Robert Smith"}, {"id": ACTIVITY}),
           _statement({"objectType": "Group", "name": "Team",
                       "member": [{**bob, "name": "R. Smith"},
                                  {"mbox": "mailto:eve@example.com", "name": "Eve"}]},
                      {"id": ACTIVITY}),
           # Another persona of the same name is not joined.
           _statement({"mbox": "mailto:other@example.com", "name": "Bob"}, {"id": ACTIVITY}))
    person = client.get("/xapi/agents", params={"agent": json.dumps({**bob, "name": "Bobby"})}).json()
    assert person["mbox"] == ["mailto:bob@example.com"]
    assert person["name"][0] == "Bobby"
    assert sorted(person["name"]) == sorted(["Bobby", "R. Smith", "Robert Smith", "Bob"])
    assert set(person) == {"objectType", "name", "mbox"}


def test_person_names_come_from_the_newest_megabyte_of_statements(client):
    """The newest statement always counts, then older ones while those before
    them hold under 1 MiB (lrs/store/agents.py): here the newest two."""
    carol = {"mbox": f"mailto:carol-{uuid.uuid4().hex[:8]}@example.com"}
    padding = {"http://example.com/ext/padding": "x" * 600_000}
    for name in ("Carol Oldest", "Carol Older", "Carol Newest"):
        stmt = _statement({**carol, "name": name}, {"id": ACTIVITY})
        stmt["result"] = {"extensions": padding}
        _store(client, stmt)
    person = client.get("/xapi/agents", params={"agent": json.dumps(carol)}).json()
    assert sorted(person["name"]) == ["Carol Newest", "Carol Older"]


def test_agents_parameters(client):
    assert _error(client.get("/xapi/agents"), 400)["field"] == "agent"
    for bad in ("not json", '{"name": "no ifi"}', '{"mbox": "bob@example.com"}',
                '{"objectType": "Group", "mbox": "mailto:team@example.com"}',
                '{"objectType": "Person", "mbox": ["mailto:a@example.com"]}'):
        _error(client.get("/xapi/agents", params={"agent": bad}), 400)
    _error(client.get("/xapi/agents", params={"agent": '{"mbox": "mailto:a@b.c"}', "x": "1"}), 400)


def test_scopes(client_for, tenant, database_url):
    key, secret = add_credential(database_url, tenant.name, ["state", "profile"])
    limited = client_for(key, secret)
    _error(limited.get("/xapi/activities", params={"activityId": ACTIVITY}), 403)
    _error(limited.get("/xapi/agents", params={"agent": '{"mbox": "mailto:a@b.c"}'}), 403)
    key, secret = add_credential(database_url, tenant.name, ["all/read"])
    reader = client_for(key, secret)
    assert reader.get("/xapi/activities", params={"activityId": ACTIVITY}).status_code == 200
    assert reader.get("/xapi/agents", params={"agent": '{"mbox": "mailto:a@b.c"}'}).status_code == 200


def test_canonical_definition_follows_each_statement_in_turn(client):
    # Each write either finds the canonical definition holding all it
    # brings (nothing written), or merges into it: the Activities resource
    # shows the result after every step.
    actor = {"mbox": "mailto:a@example.com"}
    course = "http://adlnet.gov/expapi/activities/course"
    steps = [
        ({"name": {"en-GB": "Induction"}, "type": course},
         {"name": {"en-GB": "Induction"}, "type": course}),
        ({"name": {"en-GB": "Induction"}},  # held already
         {"name": {"en-GB": "Induction"}, "type": course}),
        ({"name": {"fr-FR": "Intégration"}},  # another language joins
         {"name": {"en-GB": "Induction", "fr-FR": "Intégration"}, "type": course}),
        ({"name": {"en-GB": "Staff induction"}, "type": "http://example.com/other"},
         # newer text wins for its language; the type is kept once known
         {"name": {"en-GB": "Staff induction", "fr-FR": "Intégration"}, "type": course}),
        ({"extensions": {"http://example.com/ext/hours": 3}},
         {"name": {"en-GB": "Staff induction", "fr-FR": "Intégration"}, "type": course,
          "extensions": {"http://example.com/ext/hours": 3}}),
        ({"extensions": {"http://example.com/ext/hours": 4}},
         {"name": {"en-GB": "Staff induction", "fr-FR": "Intégration"}, "type": course,
          "extensions": {"http://example.com/ext/hours": 4}}),
    ]
    for sent, expected in steps:
        _store(client, _statement(actor, {"id": ACTIVITY, "definition": sent}))
        activity = client.get("/xapi/activities", params={"activityId": ACTIVITY}).json()
        assert activity["definition"] == expected, sent


def test_one_batch_folds_its_definitions_in_order(client):
    actor = {"mbox": "mailto:a@example.com"}
    _store(client,
           _statement(actor, {"id": ACTIVITY, "definition": {"name": {"en-GB": "One"}}}),
           _statement(actor, {"id": ACTIVITY, "definition": {"name": {"en-GB": "Two"},
                                                             "description": {"en-GB": "d"}}}))
    activity = client.get("/xapi/activities", params={"activityId": ACTIVITY}).json()
    assert activity["definition"] == {"name": {"en-GB": "Two"}, "description": {"en-GB": "d"}}
