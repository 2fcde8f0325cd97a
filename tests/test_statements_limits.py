"""What /xapi/statements refuses, and what it must store although it is
unusual: content types, size limits (413), malformed JSON, version headers
(VER), and values PostgreSQL cannot index as they are (ERR, STPOST-07)."""

from __future__ import annotations

import os

import orjson
import pytest

from lrs.http.statements import IN_THREAD_BYTES
from tests.statements_support import (CONSISTENT, activity, error_of, follow, get_one, listed_ids,
                                      listing, new_id, post, statement, stored)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          None, "application/xml"])
def test_a_wrong_content_type_is_400(client, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post("/xapi/statements", content=orjson.dumps(statement()),
                           headers=headers)
    assert response.status_code == 400
    assert listed_ids(client) == []


def test_content_type_with_a_charset_parameter_is_json(client):
    response = client.post("/xapi/statements", content=orjson.dumps(statement()),
                           headers={"Content-Type": "application/json; charset=utf-8"})
    assert response.status_code == 200


def test_a_body_over_the_limit_is_413(client):
    big = statement(result={"response": "x" * 2_000_100})
    response = post(client, big)
    assert response.status_code == 413
    assert CONSISTENT in response.headers


def test_more_statements_than_allowed_in_one_request_is_413(client):
    response = post(client, [statement() for _ in range(501)])
    assert response.status_code == 413
    assert listed_ids(client, limit=1) == []


def test_a_body_checked_in_a_thread_gets_the_same_answers(client):
    """Bodies over IN_THREAD_BYTES are parsed and validated off the event loop:
    a bad statement at the end is still 400 naming it, with nothing stored,
    and the same batch made good is stored whole."""
    batch = [statement(id=new_id(), result={"response": "x" * 1000}) for _ in range(400)]
    batch[-1]["verb"] = {"id": "not an IRI"}
    assert len(orjson.dumps(batch)) > IN_THREAD_BYTES
    refused = post(client, batch)
    assert refused.status_code == 400
    assert error_of(refused)["field"] == "statement[399].verb.id"
    assert listed_ids(client) == []
    batch[-1]["verb"] = {"id": "http://adlnet.gov/expapi/verbs/answered"}
    accepted = post(client, batch)
    assert accepted.status_code == 200
    assert accepted.json() == [s["id"] for s in batch]
    assert sorted(follow(client, listing(client))) == sorted(s["id"] for s in batch)


@pytest.mark.parametrize("body", [
    b"{", b"", b"null", b"[1,2", b'{"actor": }', b"\xff\xfe{}", b'{"a": "\xc3\x28"}',
    b"[" * 10_000 + b"]" * 10_000, b'{"a":' * 5_000 + b"1" + b"}" * 5_000, b"42", b'"x"',
    b"[[]]", b"[null]",
])
def test_bad_json_is_400_never_500(client, body):
    response = client.post("/xapi/statements", content=body,
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert error_of(response)["status"] == 400
    sid = new_id()
    response = client.put("/xapi/statements", params={"statementId": sid}, content=body,
                          headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text


def test_a_nul_character_in_an_account_name_is_stored_and_found(client):
    # Any JSON string may hold U+0000; PostgreSQL text cannot.
    nul = {"objectType": "Agent", "account": {"homePage": "http://example.com", "name": "a\u0000b"}}
    lookalike = {"objectType": "Agent", "account": {"homePage": "http://example.com", "name": "a"}}
    [sid] = stored(client, statement(actor=nul))
    stored(client, statement(actor=lookalike))
    assert get_one(client, sid).json()["actor"] == nul
    assert listed_ids(client, agent=nul) == [sid]
    member = stored(client, statement(actor={"objectType": "Group", "member": [nul]}))
    assert listed_ids(client, agent=nul) == member + [sid]


def test_a_nul_character_in_a_definition_is_stored(client):
    described = activity("nul", name={"en-US": "a\u0000b"})
    [sid] = stored(client, statement(object=described))
    assert get_one(client, sid).json()["object"] == described
    canonical = get_one(client, sid, format="canonical").json()
    assert canonical["object"]["definition"]["name"] == {"en-US": "a\ufffdb"}


def test_long_identifiers_are_stored_and_found(client):
    # Random text does not compress: over ~2.7 kB it cannot be a btree key.
    name = os.urandom(3000).hex()
    actor = {"objectType": "Agent", "account": {"homePage": "http://example.com", "name": name}}
    verb = {"id": "http://example.com/verbs/" + os.urandom(3000).hex()}
    described = {"id": "http://example.com/activities/" + os.urandom(3000).hex(),
                 "definition": {"name": {"en-US": "Long"}}}
    [sid] = stored(client, statement(actor=actor, verb=verb, object=described))
    stored(client, statement(context={"contextActivities": {"grouping": [described]}}))
    assert listed_ids(client, agent=actor) == [sid]
    assert listed_ids(client, verb=verb["id"]) == [sid]
    assert listed_ids(client, activity=described["id"]) == [sid]
    assert len(listed_ids(client, activity=described["id"], related_activities="true")) == 2
    canonical = get_one(client, sid, format="canonical").json()
    assert canonical["object"]["definition"]["name"] == {"en-US": "Long"}


@pytest.mark.parametrize("timestamp", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_a_timestamp_outside_the_utc_range_is_400(client, timestamp):
    assert post(client, statement(timestamp=timestamp)).status_code == 400
    response = client.get("/xapi/statements", params={"since": timestamp})
    assert response.status_code == 400


def test_a_timestamp_with_an_offset_is_returned_in_utc(client):
    [sid] = stored(client, statement(timestamp="2020-01-01T00:00:00.123+05:30"))
    assert get_one(client, sid).json()["timestamp"] == "2019-12-31T18:30:00.123Z"


def test_a_1_0_3_timestamp_outside_rfc_3339_reads_back_as_rfc_3339_in_2_0(client_for, tenant):
    # Java's SimpleDateFormat writes "+0000"; ISO 8601's basic format is
    # 1.0.3's too. A 2.0 client reading them back expects RFC 3339.
    v1 = client_for(tenant.key, tenant.secret, version="1.0.3")
    v2 = client_for(tenant.key, tenant.secret, version="2.0.0")
    for sent, kept in (("2020-01-01T00:00:00.123+0000", "2020-01-01T00:00:00.123Z"),
                       ("20200101T000000Z", "2020-01-01T00:00:00Z")):
        [sid] = stored(v1, statement(timestamp=sent))
        assert get_one(v2, sid).json()["timestamp"] == kept
        assert post(v2, get_one(v2, sid).json()).status_code == 200  # the same, again


@pytest.mark.parametrize(("sent", "answered"), [
    ("1.0", "1.0.3"), ("1.0.0", "1.0.3"), ("1.0.2", "1.0.3"), ("1.0.3", "1.0.3"),
    ("1.0.9", "1.0.3"),
    ("2.0", "2.0.0"), ("2.0.0", "2.0.0"), ("2.0.1", "2.0.0")])
def test_accepted_version_headers(client_for, tenant, sent, answered):
    writer = client_for(tenant.key, tenant.secret, version=sent)
    response = post(writer, statement())
    assert response.status_code == 200, response.text
    assert response.headers["X-Experience-API-Version"] == answered
    got = get_one(writer, response.json()[0])
    assert got.json()["version"] == ("1.0.0" if answered == "1.0.3" else "2.0.0")


@pytest.mark.parametrize("sent", ["0.9", "0.95", "1.1.0", "2.1.0", "3.0", "abc", None])
def test_refused_version_headers_are_400(client_for, tenant, sent):
    writer = client_for(tenant.key, tenant.secret, version=sent)
    response = post(writer, statement())
    assert response.status_code == 400
    assert CONSISTENT in response.headers


def test_a_chunked_body_over_the_limit_is_413(client):
    def chunks():
        yield b'[{"actor": {"mbox": "mailto:a@example.com"}, "result": {"response": "'
        for _ in range(25):
            yield b"x" * 100_000
        yield b'"}}]'

    response = client.post("/xapi/statements", content=chunks(),
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert CONSISTENT in response.headers


def test_a_large_integer_extension_comes_back_unchanged(client):
    body = orjson.dumps(statement()).replace(
        b'"actor"', b'"result":{"extensions":{"http://example.com/e":'
                    b'123456789012345678901234567890}},"actor"', 1)
    response = client.post("/xapi/statements", content=body,
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 200
    got = get_one(client, response.json()[0])
    assert b"123456789012345678901234567890" in got.content
