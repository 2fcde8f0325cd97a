"""Attachments (multipart/mixed) and signed statements on /xapi/statements
(1.0.3 Communication 1.5, Data 2.6; 2.0 LRS 4.1.3, 4.2.6; ATT, SIG)."""

from __future__ import annotations

import hashlib

import httpx
import orjson
import pytest

from tests.conftest import server_with
from tests.statements_support import (CONSISTENT, error_of, get_one, listed_ids, new_id,
                                      statement, stored)

USAGE = "http://example.com/attachment-usage/test"


def attachment(data: bytes, content_type: str = "text/plain", **extra: object) -> dict:
    return {"usageType": USAGE, "display": {"en-US": "a file"}, "contentType": content_type,
            "length": len(data), "sha2": hashlib.sha256(data).hexdigest(), **extra}


def multipart(statements: object, parts: list[tuple[bytes, str]],
              boundary: str = "test-boundary-7d1f") -> tuple[bytes, str]:
    chunks = [f"--{boundary}\r\nContent-Type: application/json\r\n\r\n".encode(),
              orjson.dumps(statements)]
    for data, content_type in parts:
        sha2 = hashlib.sha256(data).hexdigest()
        chunks += [f"\r\n--{boundary}\r\nContent-Type: {content_type}\r\n"
                   f"Content-Transfer-Encoding: binary\r\nX-Experience-API-Hash: {sha2}\r\n\r\n"
                   .encode(), data]
    chunks.append(f"\r\n--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/mixed; boundary={boundary}"


def post_multipart(client, statements, parts):
    body, content_type = multipart(statements, parts)
    return client.post("/xapi/statements", content=body, headers={"Content-Type": content_type})


def split_multipart(response) -> list[tuple[dict[str, str], bytes]]:
    """The parts of a multipart/mixed response: (headers, body) each."""
    content_type = response.headers["content-type"]
    assert content_type.startswith("multipart/mixed"), content_type
    boundary = content_type.split("boundary=", 1)[1].strip('"').encode()
    body = response.content
    assert body.rstrip(b"\r\n").endswith(b"--" + boundary + b"--")
    pieces = body.split(b"--" + boundary)[1:-1]
    parts = []
    for piece in pieces:
        head, _, data = piece[2:].partition(b"\r\n\r\n")
        headers = dict(line.split(": ", 1) for line in head.decode().split("\r\n"))
        parts.append(({k.lower(): v for k, v in headers.items()}, data[:-2]))
    return parts


def test_multipart_post_then_get_with_attachments(client):
    data = b"hello attachment \x00\xff binary"
    shared = attachment(data)
    ids = [new_id(), new_id()]
    # ATT-09: one part serves both statements.
    response = post_multipart(client, [statement(id=ids[0], attachments=[shared]),
                                       statement(id=ids[1], attachments=[shared])],
                              [(data, "text/plain")])
    assert response.status_code == 200, response.text
    assert response.json() == ids

    listed = client.get("/xapi/statements", params={"attachments": "true"})
    assert listed.status_code == 200
    assert CONSISTENT in listed.headers
    parts = split_multipart(listed)
    assert len(parts) == 2  # the JSON, then the attachment once (ATT-08)
    assert parts[0][0]["content-type"] == "application/json"
    assert [s["id"] for s in orjson.loads(parts[0][1])["statements"]] == list(reversed(ids))
    headers, content = parts[1]
    assert content == data
    assert headers["x-experience-api-hash"] == shared["sha2"]
    assert headers["content-transfer-encoding"] == "binary"

    one = get_one(client, ids[0], attachments="true")
    parts = split_multipart(one)
    assert orjson.loads(parts[0][1])["id"] == ids[0]
    assert [p[1] for p in parts[1:]] == [data]

    plain = get_one(client, ids[0])
    assert plain.headers["content-type"] == "application/json"
    assert plain.json()["attachments"] == [shared]


def test_a_part_goes_out_as_the_statement_declares_it(client):
    # The data is kept once a tenant, with the Content-Type of its first
    # upload; a part's Content-Type and hash must match the attachment object
    # it goes with (1.0.3 Communication 1.5.2), which another statement may
    # declare otherwise: as image/png, with its hash in capitals.
    data = b"\x89PNG the same bytes twice"
    first, second = attachment(data, "text/plain"), attachment(data, "image/png")
    second["sha2"] = second["sha2"].upper()
    assert post_multipart(client, statement(attachments=[first]),
                          [(data, "text/plain")]).status_code == 200
    posted = post_multipart(client, statement(attachments=[second]), [(data, "image/png")])
    assert posted.status_code == 200, posted.text
    response = client.get("/xapi/statements",
                          params={"statementId": posted.json()[0], "attachments": "true"})
    (_, json_part), (headers, body) = split_multipart(response)
    assert orjson.loads(json_part)["attachments"][0]["sha2"] == second["sha2"]
    assert (headers["content-type"], headers["x-experience-api-hash"], body) == (
        "image/png", second["sha2"], data)


def test_attachments_true_without_attachments_is_multipart_with_json_only(client):
    [sid] = stored(client, statement())
    parts = split_multipart(get_one(client, sid, attachments="true"))
    assert len(parts) == 1
    assert orjson.loads(parts[0][1])["id"] == sid


def test_json_post_with_an_attachment_lacking_file_url_is_400(client):
    response = client.post("/xapi/statements",
                           content=orjson.dumps([statement(),
                                                 statement(attachments=[attachment(b"x")])]),
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert error_of(response)["field"].startswith("statement[1].attachments[0]")
    assert listed_ids(client) == []


def test_json_post_with_file_url_attachments_is_fine(client):
    linked = attachment(b"far away", fileUrl="http://example.com/file.txt")
    [sid] = stored(client, statement(attachments=[linked]))
    assert get_one(client, sid).json()["attachments"] == [linked]


def test_multipart_without_attachment_parts_is_fine(client):
    response = post_multipart(client, statement(), [])
    assert response.status_code == 200


@pytest.mark.parametrize("case", ["missing part", "extra part", "wrong data"])
def test_multipart_whose_parts_do_not_match_is_400_and_stores_nothing(client, case):
    data = b"the data"
    if case == "missing part":
        body = [statement(attachments=[attachment(data)])]
        parts = []
    elif case == "extra part":
        body = [statement()]
        parts = [(data, "text/plain")]
    else:
        body = [statement(attachments=[attachment(b"other data")])]
        parts = [(data, "text/plain")]
    response = post_multipart(client, body, parts)
    assert response.status_code == 400, response.text
    assert listed_ids(client) == []
    if case == "missing part":
        # A multipart request with no attachment part is still multipart:
        # it was told a fileUrl is required "as application/json".
        message = error_of(response)["message"]
        assert "multipart part" in message and "application/json" not in message, message


def test_multipart_with_a_bad_first_part_is_400(client):
    body = b"--b\r\nContent-Type: text/plain\r\n\r\n{}\r\n--b--\r\n"
    response = client.post("/xapi/statements", content=body,
                           headers={"Content-Type": "multipart/mixed; boundary=b"})
    assert response.status_code == 400
    response = client.post("/xapi/statements", content=b"garbage",
                           headers={"Content-Type": "multipart/mixed; boundary=b"})
    assert response.status_code == 400
    response = client.post("/xapi/statements", content=b"garbage",
                           headers={"Content-Type": "multipart/mixed"})
    assert response.status_code == 400


def test_put_multipart(client):
    data = b"put data"
    sid = new_id()
    body, content_type = multipart(statement(attachments=[attachment(data)]),
                                   [(data, "text/plain")])
    response = client.put("/xapi/statements", params={"statementId": sid}, content=body,
                          headers={"Content-Type": content_type})
    assert response.status_code == 204, response.text
    assert split_multipart(get_one(client, sid, attachments="true"))[1][1] == data


def test_a_part_content_type_that_cannot_be_a_header_is_400(client):
    data = b"abc"
    content_type = 'text/plain; name="\u00e9"'
    att = attachment(data, content_type=content_type)
    body = (b"--b\r\nContent-Type: application/json\r\n\r\n"
            + orjson.dumps(statement(attachments=[att]))
            + b"\r\n--b\r\nContent-Type: " + content_type.encode()
            + b"\r\nX-Experience-API-Hash: " + att["sha2"].encode() + b"\r\n\r\n"
            + data + b"\r\n--b--\r\n")
    response = client.post("/xapi/statements", content=body,
                           headers={"Content-Type": "multipart/mixed; boundary=b"})
    assert response.status_code == 400
    assert client.get("/xapi/statements", params={"attachments": "true"}).status_code == 200


# --- signed statements (1.0.3 Data 2.6, 2.0 LRS 4.2.6; SIG) ------------------

SIGNATURE = "http://adlnet.gov/expapi/attachments/signature"


def signed(payload: dict, key) -> tuple[dict, bytes]:
    import jwt
    token = jwt.encode(payload, key, algorithm="RS256").encode()
    sig = {"usageType": SIGNATURE, "display": {"en-US": "signature"},
           "contentType": "application/octet-stream", "length": len(token),
           "sha2": hashlib.sha256(token).hexdigest()}
    return dict(payload, attachments=[sig]), token


@pytest.fixture(scope="module")
def rsa_key():
    from cryptography.hazmat.primitives.asymmetric import rsa
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def test_a_signed_statement_is_stored_with_its_signature(client, rsa_key):
    original = statement(id=new_id())
    body, token = signed(original, rsa_key)
    response = post_multipart(client, body, [(token, "application/octet-stream")])
    assert response.status_code == 200, response.text
    parts = split_multipart(get_one(client, original["id"], attachments="true"))
    assert parts[1][1] == token


def test_a_signature_over_another_statement_is_400(client, rsa_key):
    original = statement(id=new_id())
    body, token = signed(original, rsa_key)
    body["verb"] = {"id": "http://example.com/verbs/forged"}
    response = post_multipart(client, body, [(token, "application/octet-stream")])
    assert response.status_code == 400
    assert get_one(client, original["id"]).status_code == 404


def test_a_malformed_signature_is_400(client):
    junk = b"not a jws"
    sig = {"usageType": SIGNATURE, "display": {"en-US": "signature"},
           "contentType": "application/octet-stream", "length": len(junk),
           "sha2": hashlib.sha256(junk).hexdigest()}
    response = post_multipart(client, statement(attachments=[sig]),
                              [(junk, "application/octet-stream")])
    assert response.status_code == 400
    assert listed_ids(client) == []


def test_a_substatements_attachment_is_returned_too(client):
    data = b"sub data"
    sub = {"objectType": "SubStatement", "actor": {"mbox": "mailto:sub@example.com"},
           "verb": {"id": "http://example.com/verbs/did"},
           "object": {"id": "http://example.com/activities/sub"}, "attachments": [attachment(data)]}
    response = post_multipart(client, statement(object=sub), [(data, "text/plain")])
    assert response.status_code == 200, response.text
    parts = split_multipart(get_one(client, response.json()[0], attachments="true"))
    assert [p[1] for p in parts[1:]] == [data]


def test_one_batch_that_voids_attaches_and_defines_stores_all_of_it(client):
    # 100 statements whose group commit fills every part of the one WRITE
    # statement at once: statements and index rows, the void of a stored
    # statement, an attachment, new canonical activity definitions.
    [target] = stored(client, statement())
    registration = new_id()
    data = b"a large batch's attachment"
    slug = f"copy-{new_id()}"
    batch = [statement(context={"registration": registration},
                       object={"objectType": "Activity", "id": f"http://example.com/{slug}/{i}",
                               "definition": {"name": {"en-US": f"lesson {i}"}}})
             for i in range(97)]
    batch.append(statement(context={"registration": registration}, attachments=[attachment(data)]))
    batch.append(statement(context={"registration": registration},
                           verb={"id": "http://adlnet.gov/expapi/verbs/voided"},
                           object={"objectType": "StatementRef", "id": target}))
    batch.append(statement(context={"registration": registration},
                           object={"objectType": "StatementRef", "id": target}))
    response = post_multipart(client, batch, [(data, "text/plain")])
    assert response.status_code == 200, response.text
    ids = response.json()
    assert len(ids) == 100
    assert sorted(listed_ids(client, registration=registration, limit=0)) == sorted(ids)
    assert get_one(client, target).status_code == 404  # voided
    assert client.get("/xapi/statements", params={"voidedStatementId": target}).status_code == 200
    with_attachment = get_one(client, ids[97], attachments="true")
    assert split_multipart(with_attachment)[1][1] == data
    canonical = client.get("/xapi/activities", params={"activityId": f"http://example.com/{slug}/5"})
    assert canonical.json()["definition"]["name"] == {"en-US": "lesson 5"}


def test_a_page_of_large_attachments_ends_early_and_more_leads_on(settings, tenant):
    # LRS_PAGE_BYTES: the statements and their attachments, each attachment
    # counted once, the first statement always; `limit` is a maximum (1.0.3
    # Communication 2.1.3). The statements are ~400 bytes: attachments decide.
    contents = [bytes([i]) * 10_000 for i in range(5)]
    big = b"\xaa" * 40_000
    registration = new_id()
    ids = [new_id() for _ in range(7)]
    batch = [statement(id=ids[i], context={"registration": registration},
                       attachments=[attachment(contents[i])]) for i in range(5)]
    # Two statements share the last content: it counts, and is sent, once.
    batch.append(statement(id=ids[5], context={"registration": registration},
                           attachments=[attachment(contents[4])]))
    batch.append(statement(id=ids[6], context={"registration": registration},
                           attachments=[attachment(big)]))
    with server_with(settings.replace(page_bytes=25_000)) as server, httpx.Client(
            base_url=server.url, auth=(tenant.key, tenant.secret), timeout=30,
            headers={"X-Experience-API-Version": "2.0.0"}) as client:
        parts = [(c, "text/plain") for c in contents] + [(big, "text/plain")]
        response = post_multipart(client, batch, parts)
        assert response.status_code == 200, response.text
        pages, url = [], "/xapi/statements"
        params = {"registration": registration, "attachments": "true", "limit": "10"}
        while url:
            page = client.get(url, params=params)
            assert page.status_code == 200, page.text
            got = split_multipart(page)
            result = orjson.loads(got[0][1])
            pages.append(([s["id"] for s in result["statements"]], sorted(p[1] for p in got[1:])))
            url, params = result["more"], None
    newest_first = list(reversed(ids))
    assert pages == [
        ([newest_first[0]], [big]),  # 40,000 bytes: over the budget, alone
        (newest_first[1:4], [contents[3], contents[4]]),  # the shared content counted once
        (newest_first[4:6], [contents[1], contents[2]]),
        (newest_first[6:], [contents[0]]),
    ]


def test_naming_a_held_hash_does_not_serve_its_data(client_for, tenant, make_credential):
    """A credential that may read only its own statements posts one whose
    attachment has a fileUrl and the sha2 of data another credential of the
    agency stored: reading it back with attachments=true gets no data."""
    data = b"another credential's report"
    theirs = client_for(tenant.key, tenant.secret)
    assert post_multipart(theirs, [statement(attachments=[attachment(data)])],
                          [(data, "text/plain")]).status_code == 200
    key, secret = make_credential(tenant.name, ["statements/write", "statements/read/mine"])
    mine = client_for(key, secret)
    named = statement(attachments=[attachment(data, fileUrl="https://example.com/report")])
    response = mine.post("/xapi/statements", json=named)
    assert response.status_code == 200, response.text

    for params in ({"attachments": "true"},
                   {"statementId": response.json()[0], "attachments": "true"}):
        read = mine.get("/xapi/statements", params=params)
        assert read.status_code == 200, read.text
        parts = split_multipart(read)
        assert len(parts) == 1, [headers for headers, _ in parts[1:]]  # the JSON only
        assert data not in read.content
    # The owner's own statement still brings its data.
    assert data in theirs.get("/xapi/statements", params={"attachments": "true"}).content
