"""PUT and POST /xapi/statements over HTTP, in both xAPI versions
(1.0.3 Communication 2.1.1/2.1.2, 2.0 LRS 4.1.6.1; STPUT, STPOST, ERR)."""

from __future__ import annotations

import datetime as dt
import gzip

import orjson
import pytest

from tests.conftest import add_credential
from tests.statements_support import (CONSISTENT, activity, error_of, get_one, listed_ids, new_id,
                                      post, put, statement, stored)


def test_put_stores_the_statement_and_answers_204(client):
    sid = new_id()
    response = put(client, sid, statement(id=sid))
    assert response.status_code == 204
    assert response.content == b""
    assert CONSISTENT in response.headers
    got = get_one(client, sid)
    assert got.status_code == 200
    assert got.json()["id"] == sid


def test_put_without_id_in_the_body_takes_the_statement_id(client):
    sid = new_id()
    assert put(client, sid, statement()).status_code == 204
    assert get_one(client, sid).json()["id"] == sid


def test_post_answers_the_ids_in_order(client):
    given = [new_id(), None, new_id()]
    body = [statement(id=given[0]), statement(), statement(id=given[2])]
    ids = stored(client, body)
    assert len(ids) == 3
    assert ids[0] == given[0] and ids[2] == given[2]
    assert ids[1] not in given
    for sid in ids:
        assert get_one(client, sid).json()["id"] == sid


def test_line_breaks_and_control_characters_in_a_batch_come_back_as_sent(client):
    # The group commit sends a group's payloads newline-separated
    # (migrations/0014): a string's line break is escaped in them, so each
    # statement keeps its own, and none runs into the next.
    texts = ["two\nlines", "\r\n\u2028\u2029", "tab\tand \\n, not a line break", "\x01\x1f}\n{"]
    body = [statement(result={"response": text}) for text in texts]
    ids = stored(client, body)
    assert [get_one(client, sid).json()["result"]["response"] for sid in ids] == texts


def test_post_of_one_statement_answers_a_one_id_array(client):
    ids = stored(client, statement())
    assert isinstance(ids, list) and len(ids) == 1


def test_a_body_after_a_utf8_byte_order_mark_is_read(client):
    # RFC 8259 8.1: PowerShell 5's and .NET's UTF-8 writers put one first.
    sid = new_id()
    response = client.post("/xapi/statements", headers={"Content-Type": "application/json"},
                           content=b"\xef\xbb\xbf" + orjson.dumps(statement(id=sid)))
    assert response.status_code == 200, response.text
    assert response.json() == [sid]
    assert get_one(client, sid).json()["id"] == sid


@pytest.mark.parametrize("params", [{}, {"statementId": "not-a-uuid"}, {"statementId": ""}])
def test_put_needs_a_uuid_statement_id(client, params):
    response = client.put("/xapi/statements", params=params, content=orjson.dumps(statement()),
                          headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert error_of(response)["field"] == "statementId"
    assert CONSISTENT in response.headers


def test_put_body_id_must_equal_statement_id(client):
    sid, other = new_id(), new_id()
    response = put(client, sid, statement(id=other))
    assert response.status_code == 400
    for missing in (sid, other):
        assert get_one(client, missing).status_code == 404


def test_put_body_id_in_another_letter_case_is_the_same_id(client):
    sid = new_id()
    assert put(client, sid, statement(id=sid.upper())).status_code == 204
    assert get_one(client, sid).status_code == 200


def test_put_of_an_array_is_400(client):
    sid = new_id()
    assert put(client, sid, [statement(id=sid)]).status_code == 400


def test_put_with_other_parameters_is_400(client):
    response = client.put("/xapi/statements", params={"statementId": new_id(), "verb": "x"},
                          content=orjson.dumps(statement()),
                          headers={"Content-Type": "application/json"})
    assert response.status_code == 400


def test_one_invalid_statement_rejects_the_whole_batch(client):
    good = new_id()
    bad = statement(verb={"display": {"en-US": "no id"}})
    response = post(client, [statement(id=good), bad, statement()])
    assert response.status_code == 400
    error = error_of(response)
    assert error["field"].startswith("statement[1]")
    assert error["message"].startswith("statement[1]")
    assert get_one(client, good).status_code == 404
    assert listed_ids(client) == []


def test_the_same_id_twice_in_a_batch_is_400(client):
    sid = new_id()
    response = post(client, [statement(id=sid), statement(id=sid.upper())])
    assert response.status_code == 400
    assert "statement[1]" in error_of(response)["message"]
    assert listed_ids(client) == []


def test_an_existing_id_with_equivalent_content_is_accepted_without_a_copy(client):
    sid = new_id()
    first = statement(id=sid, timestamp="2024-01-02T03:04:05.000Z")
    assert stored(client, first) == [sid]
    # Equivalent: same statement, different key order, what the LRS sets differs.
    again = dict(reversed(list(first.items())), stored="2020-01-01T00:00:00Z")
    assert put(client, sid, again).status_code == 204
    assert stored(client, [statement(), again])[1] == sid
    assert listed_ids(client).count(sid) == 1
    assert len(listed_ids(client)) == 2


def test_an_existing_id_with_different_content_is_409_and_nothing_is_stored(client):
    sid = new_id()
    stored(client, statement(id=sid))
    other = new_id()
    response = post(client, [statement(id=other),
                             statement(id=sid, object={"id": "http://x.org/b"})])
    assert response.status_code == 409
    assert CONSISTENT in response.headers
    assert get_one(client, other).status_code == 404
    assert put(client, sid, statement(id=sid, verb={"id": "http://x.org/v"})).status_code == 409
    assert listed_ids(client) == [sid]
    assert get_one(client, sid).json()["object"]["id"] == "http://example.com/activities/a1"


def test_lrs_sets_id_stored_timestamp_authority_and_version(client, version):
    sent_authority = {"objectType": "Agent", "mbox": "mailto:forged@example.com"}
    [sid] = stored(client, statement(authority=sent_authority, stored="2001-01-01T00:00:00Z"))
    got = get_one(client, sid).json()
    assert got["id"] == sid
    stored_at = dt.datetime.fromisoformat(got["stored"])
    assert abs(dt.datetime.now(dt.UTC) - stored_at) < dt.timedelta(minutes=5)
    assert got["timestamp"] == got["stored"]
    assert got["authority"] != sent_authority
    assert got["authority"]["objectType"] == "Agent"
    assert got["version"] == ("1.0.0" if version == "1.0.3" else "2.0.0")


def test_a_timestamp_given_is_kept(client):
    [sid] = stored(client, statement(timestamp="2020-05-06T07:08:09.123Z"))
    got = get_one(client, sid).json()
    assert got["timestamp"] == "2020-05-06T07:08:09.123Z"
    assert got["stored"] != got["timestamp"]


def test_the_authority_is_the_credentials_one_for_every_statement(client):
    ids = stored(client, [statement(), statement()])
    authorities = [get_one(client, sid).json()["authority"] for sid in ids]
    assert authorities[0] == authorities[1]


def test_a_batch_shares_one_stored_and_later_batches_store_later(client):
    ids = stored(client, [statement(), statement()])
    [later] = stored(client, statement())
    first = [get_one(client, sid).json()["stored"] for sid in ids]
    assert first[0] == first[1]
    assert get_one(client, later).json()["stored"] > first[0]


def test_an_empty_array_stores_nothing(client):
    assert stored(client, []) == []


def test_a_read_only_credential_cannot_write(client_for, database_url, tenant, version):
    key, secret = add_credential_for(database_url, tenant, ["statements/read"])
    reader = client_for(key, secret, version=version)
    assert post(reader, statement()).status_code == 403
    response = put(reader, new_id(), statement())
    assert response.status_code == 403
    assert CONSISTENT in response.headers


def test_a_write_only_credential_cannot_read(client_for, database_url, tenant, version):
    key, secret = add_credential_for(database_url, tenant, ["statements/write"])
    writer = client_for(key, secret, version=version)
    [sid] = stored(writer, statement())
    assert get_one(writer, sid).status_code == 403
    assert writer.get("/xapi/statements").status_code == 403


def test_wrong_credentials_are_401(client_for, tenant, version):
    response = post(client_for(tenant.key, "wrong", version=version), statement())
    assert response.status_code == 401
    assert CONSISTENT in response.headers


def test_a_compressed_body_is_415_and_stores_nothing(client):
    # RFC 9110 15.5.16: a content coding the server does not take is 415,
    # with the codings it does take. It was read as (invalid) JSON.
    sid = new_id()
    body = gzip.compress(orjson.dumps(statement(id=sid)))
    response = client.post("/xapi/statements", content=body, headers={
        "Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert response.status_code == 415
    assert response.headers["accept-encoding"] == "identity"
    assert "Content-Encoding" in error_of(response)["message"]
    assert get_one(client, sid).status_code == 404


@pytest.mark.parametrize("method", ["DELETE", "PATCH", "OPTIONS"])
def test_other_methods_are_405_with_allow_and_consistent_through(client, method):
    # STGET-26: every answer of the resource carries Consistent-Through;
    # Starlette's own 405 did not.
    response = client.request(method, "/xapi/statements")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, PUT, POST"
    assert CONSISTENT in response.headers
    # The same through 1.0.3's alternate syntax (which tunnels DELETE, not
    # PATCH or OPTIONS: those are 400 there).
    if method == "DELETE" and client.headers["X-Experience-API-Version"].startswith("1."):
        tunneled = client.post("/xapi/statements", params={"method": method},
                               data={"X-Experience-API-Version": "1.0.3"})
        assert tunneled.status_code == 405
        assert tunneled.headers["allow"] == "GET, HEAD, PUT, POST"
        assert CONSISTENT in tunneled.headers


@pytest.mark.parametrize("method", ["DELETE", "PATCH"])
def test_a_method_the_resource_never_takes_is_405_before_credentials(client_for, method):
    # ADL's 1.0.3 suite (Communication 3.2) sends DELETE with no credentials.
    response = client_for(version="1.0.3").request(method, "/xapi/statements")
    assert response.status_code == 405, response.text
    assert response.headers["allow"] == "GET, HEAD, PUT, POST"
    assert CONSISTENT in response.headers
    # A method it takes still needs them.
    assert client_for(version="1.0.3").get("/xapi/statements").status_code == 401


def add_credential_for(database_url, tenant, scopes):
    return add_credential(database_url, tenant.name, scopes)


def test_a_resent_statement_does_not_change_the_activity_definition(client):
    sid = new_id()
    stored(client, statement(id=sid, object=activity("def", name={"en-US": "Old"})))
    # Equivalent (definitions are ignored when comparing), so accepted...
    assert stored(client, statement(id=sid, object=activity("def", name={"en-US": "New"}))) == [sid]
    # ...but nothing changes: not the statement, not the canonical definition.
    got = get_one(client, sid, format="canonical").json()
    assert got["object"]["definition"]["name"] == {"en-US": "Old"}


@pytest.mark.parametrize("held, newer", [(1, True), (0, False), ([1], [True]), (True, 1)])
def test_a_newer_extension_value_equal_only_to_python_replaces_the_held_one(client, held,
                                                                            newer):
    # Extensions: the newer value wins (lrs.xapi.definitions). 1 and true are
    # equal to Python, so the held 1 was kept.
    extension = "http://example.com/ext/x"
    for value in (held, newer):
        stored(client, statement(object=activity("ext", extensions={extension: value})))
    got = client.get("/xapi/activities", params={"activityId": activity("ext")["id"]}).json()
    # As JSON: to Python, 1 == true and [1] == [true].
    assert orjson.dumps(got["definition"]["extensions"][extension]) == orjson.dumps(newer)


def test_a_credential_without_define_does_not_change_definitions(client_for, database_url, tenant,
                                                                 version):
    key, secret = add_credential_for(database_url, tenant, ["statements/write", "statements/read"])
    plain = client_for(key, secret, version=version)
    [first] = stored(client_for(tenant.key, tenant.secret, version=version),
                     statement(object=activity("d2", name={"en-US": "Defined"})))
    stored(plain, statement(object=activity("d2", name={"en-US": "Overwritten"})))
    got = get_one(plain, first, format="canonical").json()
    assert got["object"]["definition"]["name"] == {"en-US": "Defined"}


def test_a_voided_verb_without_a_statement_ref_is_400(client):
    response = post(client, statement(verb={"id": "http://adlnet.gov/expapi/verbs/voided"}))
    assert response.status_code == 400


def test_a_409_request_changes_no_definition(client):
    sid = new_id()
    stored(client, statement(id=sid, object=activity("d3", name={"en-US": "Kept"})))
    response = post(client, [statement(object=activity("d3", name={"en-US": "Changed"})),
                             statement(id=sid, verb={"id": "http://example.com/verbs/other"})])
    assert response.status_code == 409
    got = get_one(client, sid, format="canonical").json()
    assert got["object"]["definition"]["name"] == {"en-US": "Kept"}
