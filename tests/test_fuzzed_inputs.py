"""Inputs that a fuzzing run against `lrs serve` (session 35, about 43,000
requests) found answered 500 or logged as server errors; each now gets the
client error the spec asks for, and stores nothing.

Three families: digit strings longer than int() reads (4,300 digits), text
holding U+0000 (which PostgreSQL text cannot), and a document address
longer than a B-tree entry holds."""

from __future__ import annotations

import base64
import hashlib
import json
import random
import socket
import string
import time
import urllib.parse

import httpx
import pytest

from tests.statements_support import new_id, statement

V1 = {"X-Experience-API-Version": "1.0.3"}
MANY_DIGITS = "0" * 5000


def _b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _raw(url: str, request: bytes) -> bytes:
    """The status line of the answer to `request`, sent as is."""
    parts = urllib.parse.urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(request)
        return sock.recv(65536).split(b"\r\n", 1)[0]


def test_a_limit_of_thousands_of_digits_is_read_as_its_value(client_for, tenant):
    client = client_for(tenant.key, tenant.secret)
    client.post("/xapi/statements", json=[statement(), statement()]).raise_for_status()
    one = client.get(f"/xapi/statements?limit={MANY_DIGITS}1")
    assert one.status_code == 200 and len(one.json()["statements"]) == 1
    capped = client.get(f"/xapi/statements?limit=1{MANY_DIGITS}")
    assert capped.status_code == 200 and len(capped.json()["statements"]) == 2


def test_a_content_length_of_thousands_of_digits(server, tenant):
    head = (f"POST /xapi/statements HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: {tenant.authorization}\r\n"
            "X-Experience-API-Version: 2.0.0\r\nContent-Type: application/json\r\n")
    # Leading zeros: the value is 2, and "[]" is an empty batch.
    assert _raw(server.url, f"{head}Content-Length: {MANY_DIGITS}2\r\n\r\n[]".encode()) \
        == b"HTTP/1.1 200 OK"
    # A length past 64 bits: the HTTP parser refuses the request itself.
    assert _raw(server.url, f"{head}Content-Length: 9{MANY_DIGITS}\r\n\r\n[]".encode()) \
        == b"HTTP/1.1 400 Bad Request"


def test_an_alternate_syntax_content_length_of_thousands_of_digits(client_for, tenant):
    client = client_for(version=None)
    agent = json.dumps({"mbox": "mailto:alt@example.org"})
    form = {"Authorization": tenant.authorization, "X-Experience-API-Version": "1.0.3",
            "Content-Type": "application/json", "content": "{}",
            "activityId": "http://example.org/a", "agent": agent, "stateId": "s"}
    wrong = client.post("/xapi/activities/state?method=PUT",
                        data={**form, "Content-Length": MANY_DIGITS + "3"})
    assert wrong.status_code == 400 and wrong.json()["error"]["field"] == "Content-Length"
    right = client.post("/xapi/activities/state?method=PUT",
                        data={**form, "Content-Length": MANY_DIGITS + "2"})
    assert right.status_code == 204


@pytest.mark.parametrize("authorization", [
    "Basic \u00e9",  # not base64: base64 reads only ASCII
    "Basic " + base64.b64encode(b"a\x00b:secret").decode(),  # a key holding U+0000
    "Bearer " + ".".join((_b64u(b'{"alg":"HS256"}'), _b64u(b'{"iss":"a\\u0000b"}'),
                          _b64u(b"x"))),  # an issuer holding U+0000
], ids=["basic-not-ascii", "basic-key-nul", "bearer-issuer-nul"])
def test_credentials_that_cannot_exist_get_401(client_for, authorization):
    client = client_for(version="1.0.3")
    r = client.get("/xapi/statements", headers={"Authorization": authorization.encode()})
    assert r.status_code == 401, r.text


def test_a_token_request_whose_client_id_holds_nul_gets_401(client_for):
    r = client_for(version=None).post("/oauth/token", data={
        "grant_type": "client_credentials", "client_id": "a\x00b", "client_secret": "x"})
    assert r.status_code == 401, r.text


def _random_text(size: int) -> str:
    # Random letters: they do not compress, so a B-tree entry cannot shrink them.
    rng = random.Random(size)
    return "".join(rng.choice(string.ascii_letters) for _ in range(size))


_AGENT = json.dumps({"mbox": "mailto:d@example.org"})


@pytest.mark.parametrize("resource,field,params", [
    ("/xapi/activities/state", "stateId", lambda text: {
        "activityId": "http://example.org/a", "agent": _AGENT, "stateId": text}),
    ("/xapi/activities/profile", "profileId", lambda text: {
        "activityId": "http://example.org/a", "profileId": text}),
    ("/xapi/agents/profile", "agent", lambda text: {
        "agent": json.dumps({"account": {"homePage": "http://example.org", "name": text}}),
        "profileId": "p"}),
    ("/xapi/activities/profile", "activityId", lambda text: {
        "activityId": "http://example.org/" + text, "profileId": "p"}),
], ids=["stateId", "profileId", "agent", "activityId"])
def test_a_document_address_too_long_to_index_gets_400(client_for, tenant, resource, field,
                                                       params):
    client = client_for(tenant.key, tenant.secret)
    too_long = params(_random_text(3000))
    for method in ("PUT", "POST"):
        r = client.request(method, resource, params=too_long, content=b"{}",
                           headers={"Content-Type": "application/json"})
        assert r.status_code == 400, r.text
        assert r.json()["error"]["field"] == field
        assert "at most 2,400 bytes" in r.json()["error"]["message"]
    assert client.get(resource, params=too_long).status_code == 400
    # A long address that fits is stored.
    fitting = params(_random_text(2000))
    assert client.put(resource, params=fitting, content=b"{}",
                      headers={"Content-Type": "application/json"}).status_code == 204
    assert client.get(resource, params=fitting).content == b"{}"


def test_a_conflicting_statement_with_a_duration_of_thousands_of_digits_gets_409(
        client_for, tenant):
    client = client_for(tenant.key, tenant.secret)
    first = statement(id=new_id(), result={"duration": "PT1S"})
    client.post("/xapi/statements", json=first).raise_for_status()
    other = {**first, "result": {"duration": "PT" + "1" * 5000 + "S"}}
    assert client.post("/xapi/statements", json=other).status_code == 409
    assert client.get("/xapi/statements", params={"statementId": first["id"]}) \
        .json()["result"]["duration"] == "PT1S"


def _signed_post(client: httpx.Client, stmt: dict, payload: bytes) -> httpx.Response:
    jws = ".".join((_b64u(b'{"alg":"RS256"}'), _b64u(payload), _b64u(b"sig"))).encode()
    sha2 = hashlib.sha256(jws).hexdigest()
    stmt = {**stmt, "attachments": [{
        "usageType": "http://adlnet.gov/expapi/attachments/signature",
        "display": {"en-US": "signature"}, "contentType": "application/octet-stream",
        "length": len(jws), "sha2": sha2}]}
    body = (b"--b\r\nContent-Type: application/json\r\n\r\n" + json.dumps(stmt).encode()
            + b"\r\n--b\r\nContent-Type: application/octet-stream\r\n"
            + b"X-Experience-API-Hash: " + sha2.encode() + b"\r\n\r\n" + jws + b"\r\n--b--\r\n")
    return client.post("/xapi/statements", content=body,
                       headers={"Content-Type": "multipart/mixed; boundary=b"})


def test_a_signature_whose_payload_is_unreadable_gets_400(client_for, tenant):
    client = client_for(tenant.key, tenant.secret, version="1.0.3")
    registration = new_id()
    stmt = statement(result={"duration": "PT1S"}, context={"registration": registration})
    long_duration = {**stmt, "result": {"duration": "PT" + "1" * 5000 + "S"}}
    r = _signed_post(client, stmt, json.dumps(long_duration).encode())
    assert r.status_code == 400 and "not the same statement" in r.text, r.text
    deep = json.dumps({**stmt, "actor": {**stmt["actor"], "x": "DEEP"}}) \
        .replace('"DEEP"', "[" * 1000 + "]" * 1000)
    r = _signed_post(client, stmt, deep.encode())
    assert r.status_code == 400 and "nests deeper than 64 levels" in r.text, r.text
    assert client.get("/xapi/statements", params={"registration": registration}) \
        .json()["statements"] == []


def test_a_client_that_leaves_mid_body_is_no_server_error(server, tenant):
    def count(status: str) -> float:
        for line in httpx.get(f"{server.url}/metrics").text.splitlines():
            if line.startswith('lrs_http_requests_total{method="POST",'
                               f'route="/xapi/statements",status="{status}"}}'):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    errors_before, left_before = count("500"), count("499")
    parts = urllib.parse.urlsplit(server.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(f"POST /xapi/statements HTTP/1.1\r\nHost: x\r\n"
                     f"Authorization: {tenant.authorization}\r\n"
                     "X-Experience-API-Version: 2.0.0\r\n"
                     "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{".encode())
        time.sleep(0.3)
    deadline = time.monotonic() + 5
    while count("499") == left_before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert count("499") == left_before + 1
    assert count("500") == errors_before
