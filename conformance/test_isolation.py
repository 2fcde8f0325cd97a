"""Tenant isolation: a second credential set (LRS_KEY_B) belonging to another,
isolated tenant must not see or touch tenant A's data (AUTH-03, STGET-29).

All tests here skip when LRS_KEY_B is unset."""

from __future__ import annotations

import json

import pytest

from conformance.lib import (assert_status, attachment_object, decode_multipart, encode_multipart,
                             new_id, read_statement, single_statement)

pytestmark = [pytest.mark.tenant_b]


def test_auth_03_b_cannot_read_a_statement_by_id(lrs, lrs_b, f):
    s = f.statement()
    lrs.store(s)
    assert_status(lrs.wait_for_statement(s["id"]), 200)
    # 404 (no such statement for B) or 403 (not B's): either, if nothing of it shows.
    r = lrs_b.get_statement(s["id"])
    assert_status(r, 403, 404)
    assert s["actor"]["mbox"] not in r.text, f"B's {r.status_code} shows A's statement: {r.text[:300]}"
    h = lrs_b.head("statements", params={"statementId": s["id"]})
    assert h.status_code != 200, "AUTH-03: HEAD tells B that A's statement exists"
    assert_status(h, 403, 404, rule="GEN-04")


def test_auth_03_b_cannot_find_a_statements_by_filters(lrs, lrs_b, f, registration):
    me = f.agent()
    act = f.activity_id()
    stmts = [f.statement(registration=registration, actor=me, activity=act) for _ in range(3)]
    lrs.store(stmts)
    lrs.wait_for_count({"registration": registration}, 3)
    agent = json.dumps({"mbox": me["mbox"]})
    for params in ({"registration": registration}, {"agent": agent}, {"activity": act},
                   {"activity": act, "related_activities": "true"},
                   {"agent": agent, "related_agents": "true"}):
        assert lrs_b.query_ids(params) == [], f"tenant B sees A's statements with {params}"
    # and B's unfiltered recent statements do not include them
    recent = lrs_b.get("statements", params={"limit": 50}).json()["statements"]
    assert not {s["id"] for s in recent} & {s["id"] for s in stmts}


def test_auth_03_b_cannot_follow_a_more_url(lrs, lrs_b, f, registration):
    lrs.store([f.statement(registration=registration) for _ in range(4)])
    lrs.wait_for_count({"registration": registration}, 4)
    page = lrs.get("statements", params={"registration": registration, "limit": 1}).json()
    more = page.get("more")
    assert more, "STGET-32: a page cut short by `limit` carries `more`"
    r = lrs_b.get(more)
    assert r.status_code in (200, 400, 401, 403, 404), r.status_code
    if r.status_code == 200:
        assert r.json().get("statements") == [], "tenant B read tenant A's page through A's `more` URL"


def test_auth_03_b_cannot_void_a_statement(lrs, lrs_b, f):
    s = f.statement()
    lrs.store(s)
    v = f.voiding(s["id"])
    r = lrs_b.post_statements(v)
    assert_status(r, 200, 403)  # B may store its own voiding statement, or be refused
    r = lrs.wait_for_statement(s["id"])
    assert_status(r, 200)
    assert_status(lrs.get_statement(s["id"], voided=True), 404)


def test_auth_03_same_id_in_two_tenants_does_not_conflict_or_leak(lrs, lrs_b, f):
    s = f.statement()
    lrs.store(s)
    other = f.statement()
    other["id"] = s["id"]
    r = lrs_b.post_statements(other)
    # Either tenants have separate id spaces (200) or ids are global (409); never a leak.
    assert_status(r, 200, 409)
    got_a = read_statement(lrs, s["id"])
    assert got_a["actor"] == s["actor"], "tenant B's write changed tenant A's statement"
    if r.status_code == 200:
        got_b = read_statement(lrs_b, s["id"])
        assert got_b["actor"] == other["actor"]


@pytest.mark.parametrize("path,id_key,scope", [
    ("activities/state", "stateId", "state"),
    ("activities/profile", "profileId", "aprof"),
    ("agents/profile", "profileId", "agprof"),
])
def test_auth_03_b_cannot_read_or_change_a_documents(lrs, lrs_b, f, path, id_key, scope):
    agent = json.dumps({"mbox": f.agent()["mbox"]})
    act = f.activity_id()
    params = {"state": {"activityId": act, "agent": agent}, "aprof": {"activityId": act},
              "agprof": {"agent": agent}}[scope]
    one = {**params, id_key: "secret"}
    r = lrs.put(path, params=one, json_body={"owner": "A"}, headers={"If-None-Match": "*"})
    assert_status(r, 204)
    assert_status(lrs_b.get(path, params=one), 404)
    assert lrs_b.get(path, params=params).json() == [], "tenant B lists tenant A's document ids"
    # B deleting / writing touches only B's own space
    lrs_b.delete(path, params=one)
    lrs_b.post(path, params=one, json_body={"owner": "B"})
    assert lrs.get(path, params=one).json() == {"owner": "A"}, "tenant B changed tenant A's document"


def test_auth_03_b_activity_definition_not_leaked(lrs, lrs_b, f):
    s = f.statement()
    s["object"]["definition"] = {"name": {"en-US": "Tenant A secret name " + new_id()}}
    lrs.store(s)
    lrs.wait_for_statement(s["id"])
    r = lrs_b.get("activities", params={"activityId": s["object"]["id"]})
    assert_status(r, 200, 404)
    if r.status_code == 200:
        assert "definition" not in r.json() or r.json()["definition"].get("name") != s["object"]["definition"]["name"], \
            "tenant B sees tenant A's canonical activity definition"


@pytest.mark.timeout(120)
def test_auth_03_concurrent_writes_from_two_tenants_stay_apart(cfg, version, lrs, lrs_b, f, registration):
    """Tenants A and B write at the same time into the same registration value, A also
    re-sending some ids B uses: each tenant lists exactly its own statements."""
    import threading

    from conformance.lib import XAPI

    shared = [new_id() for _ in range(20)]
    sent: dict[str, list[dict]] = {"a": [], "b": []}
    codes: dict[str, list[int]] = {"a": [], "b": []}
    barrier = threading.Barrier(2)

    def writer(tag: str, authorization: str) -> None:
        with XAPI(cfg, version, authorization=authorization) as c:
            barrier.wait(timeout=30)
            for i in range(10):
                batch = [f.statement(registration=registration, result={"response": tag}) for _ in range(8)]
                s = f.statement(registration=registration, result={"response": tag})
                s["id"] = shared[i * 2]
                batch.append(s)
                r = c.post_statements(batch)
                codes[tag].append(r.status_code)
                if r.status_code == 200:
                    sent[tag].extend(batch)

    threads = [threading.Thread(target=writer, args=(tag, cfg.authorization(which)), daemon=True)
               for tag, which in (("a", ""), ("b", "b"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    assert not any(t.is_alive() for t in threads), "writers did not finish in time"
    for tag in ("a", "b"):
        assert set(codes[tag]) <= {200, 409}, f"tenant {tag}: unexpected statuses {codes[tag]}"
    want_a = sorted(s["id"] for s in sent["a"])
    want_b = sorted(s["id"] for s in sent["b"])
    got_a = lrs.wait_for_count({"registration": registration}, len(want_a), timeout=15)
    got_b = lrs_b.wait_for_count({"registration": registration}, len(want_b), timeout=15)
    assert sorted(got_a) == want_a, f"tenant A lists {len(got_a)} statements, sent {len(want_a)}"
    assert sorted(got_b) == want_b, f"tenant B lists {len(got_b)} statements, sent {len(want_b)}"
    for sid in shared[::2][:5]:
        for client, tag in ((lrs, "a"), (lrs_b, "b")):
            r = client.get_statement(sid)
            if r.status_code == 200:
                assert single_statement(r, sid)["result"]["response"] == tag, f"tenant {tag} reads the other tenant's {sid}"


def test_auth_03_b_cannot_get_a_attachment_content_by_its_hash(lrs, lrs_b, f):
    """B knows the SHA-2 of A's attachment and names it with a fileUrl: asking for
    attachments=true must not hand B the bytes A uploaded."""
    secret = b"agency A's confidential attachment " + new_id().encode()
    mine = f.statement()
    mine["attachments"] = [attachment_object(secret, "application/octet-stream")]
    content, ctype = encode_multipart(mine, [(secret, "application/octet-stream")])
    assert_status(lrs.post("statements", content=content, headers={"Content-Type": ctype}), 200)

    probe = f.statement()
    probe["attachments"] = [attachment_object(secret, "application/octet-stream",
                                              file_url="http://b.example.com/guess")]
    assert_status(lrs_b.post_statements(probe), 200)
    lrs_b.wait_for_statement(probe["id"])
    got = lrs_b.get("statements", params={"statementId": probe["id"], "attachments": "true"})
    assert_status(got, 200)
    assert secret not in got.content
    parts = decode_multipart(got.headers.get("content-type", ""), got.content)
    assert all(data != secret for _, data in parts[1:])
