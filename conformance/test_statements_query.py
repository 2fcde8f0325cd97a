"""Statement GET filters, ordering, formats and parameter validation
(STGET-06..22, STGET-30, GEN-07..10, STGET-17)."""

from __future__ import annotations

import json
import time

import pytest

from conformance.lib import (VERB_ATTEMPTED, VERB_COMPLETED, VERB_EXPERIENCED, assert_statement_result,
                             assert_status, new_id, parse_iso, read_statement, single_statement)


def _agent_param(agent: dict) -> str:
    a = {k: v for k, v in agent.items() if k in ("objectType", "mbox", "mbox_sha1sum", "openid", "account")}
    return json.dumps(a)


def _sequential(lrs, stmts):
    """Store one by one so that `stored` increases."""
    for s in stmts:
        lrs.store(s)
        time.sleep(0.01)


def test_stget_06_empty_result(lrs):
    r = lrs.get("statements", params={"registration": new_id()})
    assert_status(r, 200)
    body = r.json()
    assert_statement_result(body)
    assert body["statements"] == []
    assert body.get("more", "") == ""


def test_stget_12_registration_filter(lrs, f, registration):
    mine = [f.statement(registration=registration) for _ in range(3)]
    other = [f.statement(registration=new_id()) for _ in range(2)]
    lrs.store(mine + other)
    ids = lrs.wait_for_count({"registration": registration}, 3)
    assert sorted(ids) == sorted(s["id"] for s in mine)


def test_stget_07_order_stored_descending_and_ascending(lrs, f, registration):
    stmts = [f.statement(registration=registration) for _ in range(4)]
    _sequential(lrs, stmts)
    lrs.wait_for_count({"registration": registration}, 4)
    desc = lrs.get("statements", params={"registration": registration}).json()["statements"]
    assert [s["id"] for s in desc] == [s["id"] for s in reversed(stmts)], "STGET-07: newest first by default"
    stored = [parse_iso(s["stored"]) for s in desc]
    assert stored == sorted(stored, reverse=True)
    asc = lrs.get("statements", params={"registration": registration, "ascending": "true"}).json()["statements"]
    assert [s["id"] for s in asc] == [s["id"] for s in stmts], "STGET-07: ascending=true oldest first"


def test_stget_10_verb_filter(lrs, f, registration):
    a = f.statement(registration=registration, verb=VERB_ATTEMPTED)
    c = f.statement(registration=registration, verb=VERB_COMPLETED)
    lrs.store([a, c])
    lrs.wait_for_count({"registration": registration}, 2)
    assert lrs.query_ids({"registration": registration, "verb": VERB_COMPLETED}) == [c["id"]]


def test_stget_11_13_activity_and_related_activities(lrs, f):
    act = f.activity_id("target")
    direct = f.statement(activity=act)
    in_context = f.statement()
    in_context["context"] = {"contextActivities": {"grouping": [{"id": act}]}}
    in_sub = f.statement()
    in_sub["object"] = {"objectType": "SubStatement", "actor": f.agent(),
                        "verb": {"id": VERB_EXPERIENCED}, "object": {"id": act}}
    in_sub_ctx = f.statement()
    in_sub_ctx["object"] = {"objectType": "SubStatement", "actor": f.agent(),
                            "verb": {"id": VERB_EXPERIENCED}, "object": {"id": f.activity_id()},
                            "context": {"contextActivities": {"parent": [{"id": act}]}}}
    unrelated = f.statement()
    lrs.store([direct, in_context, in_sub, in_sub_ctx, unrelated])
    lrs.wait_for_statement(unrelated["id"])
    assert lrs.query_ids({"activity": act}) == [direct["id"]], "STGET-11: object only"
    related = lrs.wait_for_count({"activity": act, "related_activities": "true"}, 4)
    assert sorted(related) == sorted([direct["id"], in_context["id"], in_sub["id"], in_sub_ctx["id"]]), \
        "STGET-13: related_activities covers context activities and SubStatements"


def test_stget_08_14_agent_and_related_agents(lrs, f, version):
    me = f.agent("me")
    reg = new_id()
    as_actor = f.statement(actor=me, registration=reg)
    as_object = f.statement(registration=reg)
    as_object["object"] = dict(me)
    as_member = f.statement(registration=reg, actor={"objectType": "Group", "member": [me, f.agent()]})
    as_instructor = f.statement(registration=reg)
    as_instructor["context"]["instructor"] = me
    in_sub = f.statement(registration=reg)
    in_sub["object"] = {"objectType": "SubStatement", "actor": me, "verb": {"id": VERB_EXPERIENCED},
                        "object": {"id": f.activity_id()}}
    unrelated = f.statement(registration=reg)
    batch = [as_actor, as_object, as_member, as_instructor, in_sub, unrelated]
    extra_related = []
    if version == "2.0.0":
        ctx_agent = f.statement(registration=reg)
        ctx_agent["context"]["contextAgents"] = [{"objectType": "contextAgent", "agent": me}]
        batch.append(ctx_agent)
        extra_related.append(ctx_agent["id"])
    lrs.store(batch)
    lrs.wait_for_count({"registration": reg}, len(batch))
    agent = _agent_param(me)
    got = lrs.query_ids({"agent": agent})
    assert sorted(got) == sorted([as_actor["id"], as_object["id"], as_member["id"]]), \
        "STGET-08: actor, object, and groups that have the agent as a member"
    related = lrs.query_ids({"agent": agent, "related_agents": "true"})
    want = [as_actor["id"], as_object["id"], as_member["id"], as_instructor["id"], in_sub["id"], *extra_related]
    assert sorted(related) == sorted(want), "STGET-14: related_agents covers instructor/team/SubStatement"


def test_stget_08_agent_filter_by_account(lrs, f):
    me = f.account_agent()
    s = f.statement(actor=me)
    lrs.store(s)
    lrs.wait_for_statement(s["id"])
    assert lrs.query_ids({"agent": _agent_param(me)}) == [s["id"]]


def test_stget_08_11_long_and_non_ascii_identifiers_are_found(lrs, f):
    """Nothing in the spec bounds an IRI's or an account name's length or
    script: an activity id and an account name of 1,200 UTF-8 bytes each
    (over what a database index key comfortably holds) are found by the
    activity and agent filters, and one character less is another id."""
    act = f.activity_id("kurs-" + "é" * 600)
    me = {"objectType": "Agent",
          "account": {"homePage": "http://conformance.example.com/accounts",
                      "name": f"Zoë-{new_id()}-" + "ł" * 600}}
    s = f.statement(actor=me, activity=act)
    shorter = dict(me["account"], name=me["account"]["name"][:-1])
    near_miss = f.statement(actor=dict(me, account=shorter), activity=act[:-1])
    lrs.store([s, near_miss])
    lrs.wait_for_statement(near_miss["id"])
    assert lrs.query_ids({"activity": act}) == [s["id"]], "STGET-11"
    assert lrs.query_ids({"agent": _agent_param(me)}) == [s["id"]], "STGET-08"


def test_stget_15_since_until(lrs, f, registration):
    stmts = [f.statement(registration=registration) for _ in range(3)]
    _sequential(lrs, stmts)
    lrs.wait_for_count({"registration": registration}, 3)
    asc = lrs.get("statements", params={"registration": registration, "ascending": "true"}).json()["statements"]
    written, returned = [s["id"] for s in stmts], [s["id"] for s in asc]
    order = ("oldest first, as asked" if returned == written else
             "newest first: ascending=true was ignored (STGET-07)" if returned == written[::-1] else
             "in neither order written")
    first, middle, last = asc
    assert parse_iso(first["stored"]) < parse_iso(middle["stored"]) < parse_iso(last["stored"]), (
        f"three statements written one after another, asked with ascending=true (oldest "
        f"first), came back {order}: stored {[s['stored'] for s in asc]}; the since/until "
        f"checks below need them in increasing `stored` order")
    since = lrs.query_ids({"registration": registration, "since": middle["stored"]})
    assert since == [last["id"]], "STGET-15: since is exclusive"
    until = lrs.query_ids({"registration": registration, "until": middle["stored"]})
    assert sorted(until) == sorted([first["id"], middle["id"]]), "STGET-15: until is inclusive"
    both = lrs.query_ids({"registration": registration, "since": first["stored"], "until": middle["stored"]})
    assert both == [middle["id"]]


def test_stget_16_limit_and_more(lrs, f, registration):
    lrs.store([f.statement(registration=registration) for _ in range(5)])
    lrs.wait_for_count({"registration": registration}, 5)
    r = lrs.get("statements", params={"registration": registration, "limit": 2})
    assert_status(r, 200)
    body = r.json()
    assert len(body["statements"]) == 2
    assert body.get("more"), "STGET-32: a cut-short page carries `more`"
    r0 = lrs.get("statements", params={"registration": registration, "limit": 0})
    assert len(r0.json()["statements"]) == 5, "STGET-16: limit=0 means the server maximum"


def test_stget_30_statement_ref_matches_target_filters(lrs, f):
    act = f.activity_id()
    target = f.statement(activity=act)
    lrs.store(target)
    ref = f.statement(verb=VERB_ATTEMPTED)
    ref["object"] = {"objectType": "StatementRef", "id": target["id"]}
    lrs.store(ref)
    ids = lrs.wait_for_count({"activity": act}, 2)
    assert sorted(ids) == sorted([target["id"], ref["id"]]), \
        "STGET-30: a statement referring to a matching statement matches too"


def test_stget_30_statement_ref_rule_at_any_depth(lrs, f):
    """"This rule applies recursively" (1.0.3 Part Three §2.1.3, 2.0
    §4.1.6.1), with no depth given: a chain of 20 StatementRefs ends at a
    match, so every link matches."""
    act = f.activity_id()
    chain = [f.statement(activity=act)]
    for _ in range(20):
        ref = f.statement(verb=VERB_ATTEMPTED)
        ref["object"] = {"objectType": "StatementRef", "id": chain[-1]["id"]}
        chain.append(ref)
    for s in chain:
        lrs.store(s)
    ids = lrs.wait_for_count({"activity": act}, len(chain))
    assert sorted(ids) == sorted(s["id"] for s in chain), \
        f"STGET-30: {len(chain) - len(ids)} links of a 20-step chain were not found"


# -- formats -----------------------------------------------------------------------------------

def _stored_for_format(lrs, f):
    s = f.statement()
    s["object"]["definition"] = {"name": {"en-US": "Colour", "en-GB": "Colour (GB)", "fr": "Couleur"},
                                 "description": {"en-US": "d", "fr": "d fr"},
                                 "type": "http://adlnet.gov/expapi/activities/lesson"}
    s["verb"]["display"] = {"en-US": "experienced", "fr": "a vécu"}
    lrs.store(s)
    lrs.wait_for_statement(s["id"])
    return s


def test_stget_18_svb_02_format_exact(lrs, f):
    s = _stored_for_format(lrs, f)
    got = read_statement(lrs, s["id"], format="exact")
    assert got["actor"] == s["actor"]
    assert got["verb"] == s["verb"]
    assert got["object"] == s["object"]


def test_stget_19_format_ids(lrs, f, version):
    s = _stored_for_format(lrs, f)
    got = read_statement(lrs, s["id"], format="ids")
    assert "name" not in got["actor"], "STGET-19: ids format keeps only the IFI of agents"
    assert got["actor"]["mbox"] == s["actor"]["mbox"]
    assert got["object"] == {"id": s["object"]["id"]}, (
        "STGET-19: ids format keeps only the id of an Activity (its objectType is implied; "
        "ADL XAPI-00171 expects one key)")
    if version == "1.0.3":
        assert "display" not in got["verb"], "STGET-19 (1.0.3 SHOULD*): ids format drops verb display"
    # also on a query
    q = lrs.get("statements", params={"activity": s["object"]["id"], "format": "ids"}).json()
    assert all("definition" not in x["object"] for x in q["statements"])


def test_stget_20_21_22_23_format_canonical_one_language(lrs, f):
    s = _stored_for_format(lrs, f)
    r = lrs.get("statements", params={"statementId": s["id"], "format": "canonical"},
                headers={"Accept-Language": "fr"})
    got = single_statement(r, s["id"])
    assert got["actor"] == s["actor"], "STGET-20: agents as in exact"
    d = got["object"].get("definition", {})
    for key in ("name", "description"):
        if key in d:
            assert len(d[key]) == 1, f"STGET-21: canonical {key} must hold exactly one language: {d[key]}"
    if "name" in d:
        assert list(d["name"]) == ["fr"], f"STGET-22: Accept-Language fr should pick fr: {d['name']}"
    disp = got["verb"].get("display")
    if disp is not None:
        assert len(disp) == 1, "STGET-23: a returned canonical verb display holds one language"


def test_stget_20_canonical_is_the_lrs_definition(lrs, f):
    """1.0.3 Part Three §2.1.3, 2.0 §4.1.6.1: format=canonical returns
    "Activity Objects ... populated with the canonical definition of the
    Activity Objects ... as determined by the LRS". What the LRS determined
    is what GET activities answers (ACT-01): a statement that names the
    activity without a definition gets that definition (one language a map
    here, so the filtering leaves it whole), and none if the LRS has none."""
    first = f.statement()
    first["object"]["definition"] = {"name": {"en-US": "Canonical name"},
                                     "type": "http://adlnet.gov/expapi/activities/lesson"}
    lrs.store(first)
    bare = f.statement()
    bare["object"] = {"objectType": "Activity", "id": first["object"]["id"]}
    lrs.store(bare)
    lrs.wait_for_statement(bare["id"])
    r = lrs.get("activities", params={"activityId": first["object"]["id"]})
    assert_status(r, 200)
    canonical = r.json().get("definition") or {}
    r = lrs.get("statements", params={"statementId": bare["id"], "format": "canonical"},
                headers={"Accept-Language": "en-US"})
    got = single_statement(r, bare["id"])["object"].get("definition") or {}
    assert got == canonical, (
        f"STGET-20: format=canonical must give the LRS's canonical definition {canonical} "
        f"(GET activities), not {got}")


@pytest.mark.parametrize("accept,names,descriptions", [
    # Quality values rank the languages; each map takes its best acceptable
    # one: the name has fr, the description only de.
    ("de;q=0.5, fr;q=0.9, en;q=0.1", {"fr"}, {"de"}),
    # A range matches a tag it equals or is a prefix of, case aside; a more
    # specific range decides for the tags it matches, whatever its place.
    ("EN-us, fr;q=0.5", {"en-US"}, {"en-GB", "de", "ja"}),
    ("en-GB;q=0.5, en;q=0.9", {"en-US"}, {"en-GB"}),
    # "*" rates every language no other range names.
    ("de;q=0.5, *;q=0.8", {"en-GB", "en-US", "fr"}, {"en-GB", "ja"}),
    # q=0 is "not acceptable": with nothing acceptable in the description, any
    # of its languages may stand in but the one refused.
    ("de;q=0, fr", {"fr"}, {"en-GB", "ja"}),
])
def test_stget_21_22_canonical_language_chosen_per_map(lrs, f, accept, names, descriptions):
    """RFC 2616 14.4 applied to each language map separately (1.0.3 Part Three
    §2.1.3, 2.0 §4.1.6.1 "Language Filtering Requirements"): a language's
    quality is that of the longest range matching it, "*" matching the rest."""
    s = f.statement()
    s["object"]["definition"] = {
        "name": {"en-GB": "Colour", "en-US": "Color", "fr": "Couleur"},
        "description": {"en-GB": "A lesson", "de": "Eine Lektion", "ja": "授業"},
        "type": "http://adlnet.gov/expapi/activities/lesson"}
    lrs.store(s)
    lrs.wait_for_statement(s["id"])
    r = lrs.get("statements", params={"statementId": s["id"], "format": "canonical"},
                headers={"Accept-Language": accept})
    d = single_statement(r, s["id"])["object"]["definition"]
    assert len(d["name"]) == 1 and len(d["description"]) == 1, \
        f"STGET-21: a canonical language map holds exactly one language: {d}"
    assert set(d["name"]) <= names and set(d["description"]) <= descriptions, (
        f"STGET-22: with Accept-Language {accept!r} the name should be in one of "
        f"{sorted(names)} and the description in one of {sorted(descriptions)}, each map "
        f"chosen on its own: {d}")


# -- parameter validation ---------------------------------------------------------------------

@pytest.mark.parametrize("params", [
    pytest.param({"foo": "bar"}, id="gen07_unknown"),
    pytest.param({"Limit": "1"}, id="gen08_Limit"),
    pytest.param({"Verb": VERB_EXPERIENCED}, id="gen08_Verb"),
    pytest.param({"statementid": "6d969975-8d7e-4506-ac19-877c57f2921a"}, id="gen08_statementid"),
    pytest.param({"limit": "-1"}, id="limit_negative"),
    pytest.param({"limit": "abc"}, id="limit_text"),
    pytest.param({"limit": "1.5"}, id="limit_fraction"),
    pytest.param({"ascending": "yes"}, id="stget17_ascending_yes"),
    pytest.param({"ascending": "True"}, id="stget17_ascending_True"),
    pytest.param({"related_activities": "1"}, id="stget17_related_activities_1"),
    pytest.param({"related_agents": "TRUE"}, id="stget17_related_agents_TRUE"),
    pytest.param({"attachments": "maybe"}, id="stget17_attachments_maybe"),
    pytest.param({"format": "full"}, id="stget17_format_full"),
    pytest.param({"format": "IDS"}, id="stget17_format_IDS"),
    pytest.param({"since": "not a time"}, id="since_text"),
    pytest.param({"until": "2020-13-45T00:00:00Z"}, id="until_bad_date"),
    pytest.param({"since": ""}, id="since_empty"),
    pytest.param({"registration": "not-a-uuid"}, id="registration_bad"),
    pytest.param({"verb": "not an iri"}, id="verb_not_iri"),
    pytest.param({"activity": "no-scheme"}, id="activity_no_scheme"),
    pytest.param({"agent": "not json"}, id="agent_not_json"),
    pytest.param({"agent": '{"name": "no ifi"}'}, id="agent_no_ifi"),
    pytest.param({"agent": '{"mbox": "mailto:a@example.com", "openid": "http://e.com/o"}'}, id="agent_two_ifis"),
])
def test_gen_07_08_09_10_invalid_query_parameters_400(lrs, params):
    r = lrs.get("statements", params=params)
    assert_status(r, 400)


def test_gen_07_unknown_parameter_on_post_400(lrs, f):
    s = f.statement()
    r = lrs.post("statements", params={"foo": "bar"}, json_body=s)
    assert_status(r, 400)
    assert_status(lrs.get_statement(s["id"]), 404)


def test_gen_07_unknown_parameter_on_put_400(lrs, f):
    s = f.statement()
    r = lrs.put("statements", params={"statementId": s["id"], "registration": new_id()}, json_body=s)
    assert_status(r, 400)
