"""GET /xapi/statements: one statement and the list filters, over HTTP, in
both versions (1.0.3 Communication 2.1.3, 2.0 LRS 4.1.6.1; STGET)."""

from __future__ import annotations

import datetime as dt
import email.utils

import orjson
import pytest

from lrs.store import statement_reader
from tests.conftest import add_credential, make_tenant
from tests.statements_support import (ATTEMPTED, CONSISTENT, EXPERIENCED, activity, agent,
                                      error_of, follow, get_one, listed_ids, listing, new_id,
                                      statement, stored, voiding)


def test_get_one_statement_as_stored(client):
    sent = statement(id=new_id(), result={"success": True})
    stored(client, sent)
    response = get_one(client, sent["id"])
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    got = response.json()
    for key in ("actor", "verb", "object", "result"):
        assert got[key] == sent[key]
    assert CONSISTENT in response.headers
    assert "Last-Modified" in response.headers


def test_get_one_statement_id_is_case_insensitive(client):
    sid = new_id()
    stored(client, statement(id=sid))
    assert get_one(client, sid.upper()).json()["id"] == sid


def test_an_unknown_statement_is_404_with_the_headers(client):
    response = get_one(client, new_id())
    assert response.status_code == 404
    assert error_of(response)["status"] == 404
    assert CONSISTENT in response.headers


@pytest.mark.parametrize("extra", [{"verb": EXPERIENCED}, {"limit": "1"},
                                   {"since": "2020-01-01T00:00:00Z"}, {"ascending": "true"}])
def test_get_one_with_a_list_parameter_is_400(client, extra):
    [sid] = stored(client, statement())
    response = get_one(client, sid, **extra)
    assert response.status_code == 400
    assert CONSISTENT in response.headers


def test_get_one_with_format_and_attachments_is_fine(client):
    [sid] = stored(client, statement())
    assert get_one(client, sid, format="ids").status_code == 200
    assert get_one(client, sid, attachments="false").status_code == 200


def test_both_ids_is_400(client):
    [sid] = stored(client, statement())
    response = client.get("/xapi/statements", params={"statementId": sid, "voidedStatementId": sid})
    assert response.status_code == 400


@pytest.mark.parametrize("params", [
    {"statementid": "x"}, {"Verb": EXPERIENCED}, {"foo": "bar"}, {"limit": "-1"}, {"limit": "x"},
    {"format": "full"}, {"ascending": "yes"}, {"agent": "not json"}, {"agent": '{"name": "x"}'},
    {"verb": "not an iri"}, {"registration": "nope"}, {"since": "yesterday"},
    {"statementId": "not-a-uuid"}, {"attachments": "1"}, {"limit": "\u00b2"}, {"limit": "+1"},
    {"agent": "[" * 5000}, {"agent": "[]"},
])
def test_bad_parameters_are_400(client, params):
    response = client.get("/xapi/statements", params=params)
    assert response.status_code == 400, response.text
    assert CONSISTENT in response.headers


def test_a_parameter_that_is_not_utf8_is_400(client):
    # GEN-05: %FF is no UTF-8; it must not be read as U+FFFD.
    response = client.get("/xapi/statements?verb=http%3A%2F%2Fa.org%2F%FF")
    assert response.status_code == 400, response.text


def test_a_repeated_parameter_is_400(client):
    response = client.get("/xapi/statements?verb=http://a.org/v&verb=http://a.org/w")
    assert response.status_code == 400


def test_the_list_is_newest_first_and_ascending_reverses_it(client):
    a = stored(client, statement())
    b = stored(client, [statement(), statement()])
    expected = [*reversed(b), *a]
    page = listing(client)
    assert [s["id"] for s in page["statements"]] == expected
    assert page["more"] == ""
    assert listed_ids(client, ascending="true") == list(reversed(expected))


def test_agent_filter_matches_actor_object_and_group_members(client):
    ann, bob = agent("ann"), agent("bob")
    as_actor = stored(client, statement(actor=ann))
    as_object = stored(client, statement(actor=bob, object=ann))
    team = {"objectType": "Group", "member": [bob, ann]}
    as_member = stored(client, statement(actor=team))
    named_team = {"objectType": "Group", "mbox": "mailto:team@example.com", "member": [ann]}
    as_named_member = stored(client, statement(actor=named_team))
    stored(client, statement(actor=bob))
    as_instructor = stored(client, statement(actor=bob, context={"instructor": ann}))
    direct = as_named_member + as_member + as_object + as_actor
    assert listed_ids(client, agent=ann) == direct
    assert listed_ids(client, agent=ann, related_agents="true") == as_instructor + direct
    assert listed_ids(client, agent={"objectType": "Group", "mbox": "mailto:team@example.com"}) \
        == as_named_member


def test_related_agents_finds_the_authority(client):
    [sid] = stored(client, statement())
    authority = get_one(client, sid).json()["authority"]
    assert listed_ids(client, agent=authority) == []
    assert listed_ids(client, agent=authority, related_agents="true") == [sid]


def test_verb_filter(client):
    [tried] = stored(client, statement(verb={"id": ATTEMPTED}))
    stored(client, statement())
    assert listed_ids(client, verb=ATTEMPTED) == [tried]


def test_activity_filter_and_related_activities(client):
    target = activity("target")
    [direct] = stored(client, statement(object=target))
    [in_context] = stored(client, statement(context={"contextActivities": {"parent": target}}))
    sub = {"objectType": "SubStatement", "actor": agent(), "verb": {"id": EXPERIENCED},
           "object": target}
    [in_sub] = stored(client, statement(object=sub))
    stored(client, statement())
    assert listed_ids(client, activity=target["id"]) == [direct]
    assert listed_ids(client, activity=target["id"], related_activities="true") \
        == [in_sub, in_context, direct]


def test_registration_filter(client):
    reg = new_id()
    [sid] = stored(client, statement(context={"registration": reg}))
    stored(client, statement(context={"registration": new_id()}))
    stored(client, statement())
    assert listed_ids(client, registration=reg) == [sid]
    assert listed_ids(client, registration=reg.upper()) == [sid]


def test_since_is_exclusive_and_until_inclusive(client):
    ids = [stored(client, statement())[0] for _ in range(3)]
    times = [get_one(client, sid).json()["stored"] for sid in ids]
    assert times == sorted(times) and len(set(times)) == 3
    assert listed_ids(client, since=times[0]) == [ids[2], ids[1]]
    assert listed_ids(client, until=times[1]) == [ids[1], ids[0]]
    assert listed_ids(client, since=times[0], until=times[1]) == [ids[1]]
    assert listed_ids(client, since=times[2]) == []


def test_filters_combine(client):
    reg = new_id()
    [hit] = stored(client, statement(verb={"id": ATTEMPTED}, context={"registration": reg}))
    stored(client, statement(context={"registration": reg}))
    stored(client, statement(verb={"id": ATTEMPTED}))
    assert listed_ids(client, verb=ATTEMPTED, registration=reg, agent=agent()) == [hit]


def test_an_agent_with_a_second_filter_either_way_round(client, monkeypatch):
    # The query walks the agent's rows, or the second filter's (activity,
    # verb, registration) when the agent has DRIVER_COUNT or more and it
    # fewer (statement_reader._choice).
    busy, other, reg, rare = agent("busy"), agent("other"), new_id(), activity("rare")
    body = []
    for i in range(12):
        body.append(statement(actor=busy, context={"registration": reg}))
        if i % 4 == 0:
            body += [statement(actor=busy, verb={"id": ATTEMPTED}),
                     statement(actor=other, verb={"id": ATTEMPTED})]
        if i % 6 == 0:
            body += [statement(actor=busy, object=rare), statement(actor=other, object=rare),
                     statement(actor=other, context={"contextActivities": {"parent": rare}})]
    ids = stored(client, body)

    def hits(actor: dict, **match: object) -> list[str]:
        return [i for i, s in zip(ids, body, strict=True) if s["actor"] == actor and all(
            s["verb"]["id"] == v if k == "verb" else s["object"] == v for k, v in match.items())
        ][::-1]

    def paged(**params: object) -> list[str]:
        return follow(client, listing(client, limit=1, **params))

    # busy has 17 statements, other 7, ATTEMPTED 6, the registration 12 and
    # `rare` 4 as the object (6 with the parents). At 13 busy's are walked by
    # the second filter, other's by the agent; at 2 and 1000 all by the agent.
    for cap in (13, 2, 1000):
        monkeypatch.setattr(statement_reader, "DRIVER_COUNT", cap)
        assert listed_ids(client, agent=busy, verb=ATTEMPTED) == hits(busy, verb=ATTEMPTED)
        assert paged(agent=busy, verb=ATTEMPTED, ascending="true") \
            == hits(busy, verb=ATTEMPTED)[::-1]
        assert listed_ids(client, agent=busy, verb=ATTEMPTED,
                          related_agents="true") == hits(busy, verb=ATTEMPTED)
        assert paged(agent=other, verb=ATTEMPTED) == hits(other, verb=ATTEMPTED)
        assert paged(agent=busy, registration=reg) \
            == hits(busy, verb=EXPERIENCED, object=activity())
        assert listed_ids(client, agent=other, registration=reg) == []
        assert paged(agent=busy, activity=rare["id"]) == hits(busy, object=rare)
        assert listed_ids(client, agent=busy, activity=rare["id"],
                          related_activities="true") == hits(busy, object=rare)
        assert listed_ids(client, agent=other, activity=rare["id"]) == hits(other, object=rare)
        related = [i for i, s in zip(ids, body, strict=True) if s["actor"] == other and (
            s["object"] == rare or "context" in s and "contextActivities" in s["context"])][::-1]
        assert paged(agent=other, activity=rare["id"], related_activities="true") == related


def test_a_statement_referring_to_a_match_is_returned_too(client):
    # STGET-30: filters apply to the target of a StatementRef as well.
    [target] = stored(client, statement(verb={"id": ATTEMPTED}))
    [ref] = stored(client, statement(object={"objectType": "StatementRef", "id": target}))
    stored(client, statement())
    assert listed_ids(client, verb=ATTEMPTED) == [ref, target]


def test_a_voiding_statement_is_found_by_its_targets_activity(client):
    [target] = stored(client, statement(object=activity("special")))
    [void] = stored(client, voiding(target))
    assert listed_ids(client, activity=activity("special")["id"]) == [void]
    assert listed_ids(client, verb="http://adlnet.gov/expapi/verbs/voided") == [void]


def test_limit_and_limit_zero_is_the_server_maximum(client):
    ids = stored(client, [statement() for _ in range(105)])
    newest_first = list(reversed(ids))
    assert listed_ids(client, limit=3) == newest_first[:3]
    for limit in (0, 500):
        page = listing(client, limit=limit)
        assert [s["id"] for s in page["statements"]] == newest_first[:100]
        assert page["more"]


def test_format_ids_reduces_objects_to_their_identifiers(client):
    named = agent("ann") | {"name": "Ann"}
    described = activity("d", name={"en-US": "D"})
    [sid] = stored(client, statement(actor=named, object=described))
    for got in (get_one(client, sid, format="ids").json(),
                listing(client, format="ids")["statements"][0]):
        assert got["actor"] == agent("ann")
        assert got["verb"] == {"id": EXPERIENCED}
        assert got["object"] == {"id": activity("d")["id"]}


def test_format_canonical_picks_one_language(client):
    described = activity("c", name={"en-US": "Colour", "fr": "Couleur"})
    [sid] = stored(client, statement(object=described))
    got = client.get("/xapi/statements", params={"statementId": sid, "format": "canonical"},
                     headers={"Accept-Language": "fr"}).json()
    assert got["object"]["definition"]["name"] == {"fr": "Couleur"}
    assert list(got["verb"]["display"]) == ["en-US"]
    page = client.get("/xapi/statements", params={"format": "canonical"},
                      headers={"Accept-Language": "en-US"}).json()
    assert page["statements"][0]["object"]["definition"]["name"] == {"en-US": "Colour"}


def test_format_canonical_uses_the_latest_definition(client):
    [first] = stored(client, statement(object=activity("e", name={"en-US": "Old"})))
    stored(client, statement(object=activity("e", name={"en-US": "New"})))
    got = get_one(client, first, format="canonical").json()
    assert got["object"]["definition"]["name"] == {"en-US": "New"}
    assert get_one(client, first).json()["object"]["definition"]["name"] == {"en-US": "Old"}


def test_head_answers_the_get_headers_without_a_body(client):
    [sid] = stored(client, statement())
    for params in ({"statementId": sid}, {}):
        got = client.get("/xapi/statements", params=params)
        head = client.head("/xapi/statements", params=params)
        assert head.status_code == 200
        assert head.content == b""
        for name in ("content-type", "last-modified", "x-experience-api-version"):
            assert head.headers[name] == got.headers[name]
        assert CONSISTENT in head.headers
    assert client.head("/xapi/statements", params={"statementId": new_id()}).status_code == 404


def test_last_modified_is_the_newest_stored_returned(client):
    [sid] = stored(client, statement())
    stored_at = get_one(client, sid).json()["stored"]
    header = listing_response(client).headers["Last-Modified"]
    parsed = email.utils.parsedate_to_datetime(header)
    assert parsed.isoformat()[:19] == stored_at[:19]


def test_an_empty_list_has_the_consistent_through_header(client):
    response = listing_response(client)
    assert response.json() == {"statements": [], "more": ""}
    assert CONSISTENT in response.headers


def test_read_mine_sees_only_its_own_statements(client_for, database_url, tenant, version):
    key, secret = add_credential(database_url, tenant.name, ["statements/read/mine",
                                                            "statements/write"])
    mine_client = client_for(key, secret, version=version)
    everyone = client_for(tenant.key, tenant.secret, version=version)
    [theirs] = stored(everyone, statement())
    [mine] = stored(mine_client, statement())
    assert listed_ids(mine_client) == [mine]
    assert get_one(mine_client, theirs).status_code == 404
    assert get_one(mine_client, mine).status_code == 200
    assert listed_ids(everyone) == [mine, theirs]


def listing_response(client, **params):
    return client.get("/xapi/statements", params={
        k: orjson.dumps(v).decode() if isinstance(v, dict) else v for k, v in params.items()})


def test_the_statement_ref_rule_applies_recursively(client):
    # 1.0.3 Communication 2.1.3: "a is a match when a targets b which targets c"
    # and c matches the filter.
    [c] = stored(client, statement(verb={"id": ATTEMPTED}))
    [b] = stored(client, statement(object={"objectType": "StatementRef", "id": c}))
    [a] = stored(client, statement(object={"objectType": "StatementRef", "id": b}))
    assert listed_ids(client, verb=ATTEMPTED) == [a, b, c]


@pytest.mark.parametrize("other_targets", [0, 40])
def test_the_statement_ref_rule_follows_a_chain_of_any_length(client, other_targets):
    # No depth is set ("This rule applies recursively"): a chain of 20 refs
    # (the walk stopped at 16). With 40 other matches the referrers are
    # searched from the referrers' side, without them from the target's.
    chain = stored(client, statement(verb={"id": ATTEMPTED}))
    for _ in range(20):
        chain += stored(client, statement(object={"objectType": "StatementRef",
                                                  "id": chain[-1]}))
    others = stored(client, [statement(verb={"id": ATTEMPTED})] * other_targets)
    assert sorted(listed_ids(client, verb=ATTEMPTED)) == sorted(chain + others)


def test_a_cycle_of_statement_refs_ends(client):
    # Ids are the client's: a can refer to b before b exists, and b to a.
    a, b = new_id(), new_id()
    stored(client, statement(id=a, object={"objectType": "StatementRef", "id": b}))
    stored(client, statement(id=b, object={"objectType": "StatementRef", "id": a}))
    assert listed_ids(client, verb=ATTEMPTED) == []
    [c] = stored(client, statement(verb={"id": ATTEMPTED}))
    [d] = stored(client, statement(object={"objectType": "StatementRef", "id": c}))
    assert listed_ids(client, verb=ATTEMPTED) == [d, c]


def test_a_context_statement_ref_does_not_match(client):
    [target] = stored(client, statement(verb={"id": ATTEMPTED}))
    stored(client, statement(context={"statement": {"objectType": "StatementRef", "id": target}}))
    assert listed_ids(client, verb=ATTEMPTED) == [target]


def test_consistent_through_covers_what_was_just_written(client, version):
    response = client.post("/xapi/statements", content=orjson.dumps(statement()),
                           headers={"Content-Type": "application/json"})
    [sid] = response.json()
    assert response.headers["X-Experience-API-Version"] == version
    stored_at = dt.datetime.fromisoformat(get_one(client, sid).json()["stored"])
    for r in (response, listing_response(client), get_one(client, new_id())):
        through = dt.datetime.fromisoformat(r.headers[CONSISTENT])
        assert through.tzinfo is not None
        assert through >= stored_at


def test_the_statement_ref_rule_keeps_since_on_the_referrer(client):
    [target] = stored(client, statement(verb={"id": ATTEMPTED}))
    [middle] = stored(client, statement())
    cut = get_one(client, middle).json()["stored"]
    [ref] = stored(client, statement(object={"objectType": "StatementRef", "id": target}))
    assert listed_ids(client, verb=ATTEMPTED, since=cut) == [ref]
    assert listed_ids(client, verb=ATTEMPTED, until=cut) == [target]


def test_the_statement_ref_rule_stays_within_the_tenant(client, client_for, database_url, version):
    b = make_tenant(database_url)
    other = client_for(b.key, b.secret, version=version)
    shared = new_id()
    stored(other, statement(id=shared, verb={"id": ATTEMPTED}))
    stored(client, statement(object={"objectType": "StatementRef", "id": shared}))
    assert listed_ids(client, verb=ATTEMPTED) == []


def test_the_statement_ref_rule_with_agents_and_registration(client):
    reg = new_id()
    bob = agent("bob")
    [target] = stored(client, statement(actor=agent("carol"), context={"registration": reg,
                                                                       "instructor": bob}))
    [ref] = stored(client, statement(object={"objectType": "StatementRef", "id": target}))
    assert listed_ids(client, registration=reg) == [ref, target]
    assert listed_ids(client, agent=agent("carol")) == [ref, target]
    assert listed_ids(client, agent=bob) == []
    assert listed_ids(client, agent=bob, related_agents="true") == [ref, target]


def test_related_agents_finds_2_0_context_agents_and_groups(client_for, tenant):
    writer = client_for(tenant.key, tenant.secret, version="2.0.0")
    dan, team = agent("dan"), {"objectType": "Group", "mbox": "mailto:team@example.com",
                               "member": [agent("eve")]}
    [sid] = stored(writer, statement(context={
        "contextAgents": [{"objectType": "contextAgent", "agent": dan}],
        "contextGroups": [{"objectType": "contextGroup", "group": team}]}))
    for who in (dan, agent("eve"), {"objectType": "Group", "mbox": "mailto:team@example.com"}):
        assert listed_ids(writer, agent=who) == []
        assert listed_ids(writer, agent=who, related_agents="true") == [sid]
