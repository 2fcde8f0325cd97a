"""The 1.0.3 alternate request syntax on /xapi/statements (1.0.3
Communication 1.3 and Appendix C; GEN-16..20), refused in 2.0 (V20-04)."""

from __future__ import annotations

import urllib.parse

import orjson

from tests.statements_support import CONSISTENT, get_one, new_id, statement, stored


def form(fields: dict[str, str]) -> bytes:
    return urllib.parse.urlencode(fields).encode()


def alternate(client_for, method: str, fields: dict[str, str]):
    anonymous = client_for(version=None)
    return anonymous.post("/xapi/statements", params={"method": method}, content=form(fields),
                          headers={"Content-Type": "application/x-www-form-urlencoded"})


def test_alternate_put_post_and_get_work_in_1_0_3(client_for, tenant):
    sid = new_id()
    common = {"Authorization": tenant.authorization, "X-Experience-API-Version": "1.0.3"}
    put = alternate(client_for, "PUT", {**common, "statementId": sid,
                                        "Content-Type": "application/json",
                                        "content": orjson.dumps(statement(id=sid)).decode()})
    assert put.status_code == 204, put.text
    assert CONSISTENT in put.headers
    assert put.headers["X-Experience-API-Version"] == "1.0.3"
    post = alternate(client_for, "POST", {**common, "Content-Type": "application/json",
                                          "content": orjson.dumps([statement()]).decode()})
    assert post.status_code == 200, post.text
    [posted] = post.json()
    got = alternate(client_for, "GET", {**common, "statementId": sid})
    assert got.status_code == 200
    assert got.json()["id"] == sid
    page = alternate(client_for, "GET", {**common, "limit": "5"})
    assert [s["id"] for s in page.json()["statements"]] == [posted, sid]


def test_alternate_put_without_a_content_type_field(client_for, tenant):
    # ADL 1.0.3 suite "accepts an alternate request syntax PUT issued as a POST":
    # real Authorization and version headers, a form of statementId and content only.
    sid = new_id()
    writer = client_for(tenant.key, tenant.secret, version="1.0.3")
    response = writer.post("/xapi/statements", params={"method": "PUT"},
                           content=form({"statementId": sid,
                                         "content": orjson.dumps(statement(id=sid)).decode()}),
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 204, response.text
    assert get_one(writer, sid).status_code == 200


def test_alternate_syntax_is_400_in_2_0(client_for, tenant):
    sid = new_id()
    response = alternate(client_for, "PUT", {
        "Authorization": tenant.authorization, "X-Experience-API-Version": "2.0.0",
        "statementId": sid,
        "Content-Type": "application/json", "content": orjson.dumps(statement()).decode()})
    assert response.status_code == 400
    reader = client_for(tenant.key, tenant.secret, version="2.0.0")
    assert get_one(reader, sid).status_code == 404


def test_alternate_put_with_a_bad_content_type_is_400(client_for, tenant):
    response = alternate(client_for, "PUT", {
        "Authorization": tenant.authorization, "X-Experience-API-Version": "1.0.3",
        "statementId": new_id(), "Content-Type": "text/plain",
        "content": orjson.dumps(statement()).decode()})
    assert response.status_code == 400


def test_alternate_syntax_needs_credentials_in_the_form(client_for, tenant):
    response = alternate(client_for, "GET", {"X-Experience-API-Version": "1.0.3"})
    assert response.status_code == 401


def test_the_spec_example_of_an_alternate_put(client_for, tenant):
    # 1.0.3 Communication Appendix C, with this tenant's credentials.
    content = ('{"id":"c70c2b85-c294-464f-baca-cebd4fb9b348",'
               '"timestamp":"2014-12-29T12:09:37.468Z","actor":{"objectType":"Agent",'
               '"mbox":"mailto:example@example.com","name":"Test User"},'
               '"verb":{"id":"http://adlnet.gov/expapi/verbs/experienced","display":{"en-US":'
               '"experienced"}},"object":{"id":"http://example.com/xAPI/activities/myactivity",'
               '"objectType":"Activity"}}')
    response = alternate(client_for, "PUT", {
        "statementId": "c70c2b85-c294-464f-baca-cebd4fb9b348",
        "Authorization": tenant.authorization,
        "X-Experience-API-Version": "1.0.3", "Content-Type": "application/json",
        "Content-Length": str(len(content)), "content": content})
    assert response.status_code == 204, response.text


def test_alternate_get_honours_the_real_accept_language_header(client_for, tenant):
    reader = client_for(tenant.key, tenant.secret, version="1.0.3")
    described = {"objectType": "Activity", "id": "http://example.com/activities/lang",
                 "definition": {"name": {"en-US": "Colour", "fr": "Couleur"}}}
    [sid] = stored(reader, statement(object=described))
    anonymous = client_for(version=None)
    response = anonymous.post(
        "/xapi/statements", params={"method": "GET"},
        content=form({"Authorization": tenant.authorization, "X-Experience-API-Version": "1.0.3",
                      "statementId": sid, "format": "canonical"}),
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept-Language": "fr"})
    assert response.status_code == 200
    assert response.json()["object"]["definition"]["name"] == {"fr": "Couleur"}


def test_a_tunneled_head_is_answered_without_a_body(client_for, tenant):
    # GEN-04: a HEAD is its GET without the body, through the alternate
    # syntax too, where HTTP sees a POST: so Content-Length 0, errors included.
    [sid] = stored(client_for(tenant.key, tenant.secret, version="1.0.3"), statement())
    fields = {"Authorization": tenant.authorization, "X-Experience-API-Version": "1.0.3",
              "statementId": sid}
    got = alternate(client_for, "GET", fields)
    head = alternate(client_for, "HEAD", fields)
    assert got.status_code == head.status_code == 200 and got.json()["id"] == sid
    assert head.content == b"" and head.headers["content-length"] == "0"
    assert CONSISTENT in head.headers and head.headers["content-type"] == "application/json"
    refused = alternate(client_for, "HEAD", {**fields, "Authorization": "Basic eDp5"})
    assert refused.status_code == 401 and refused.content == b""
