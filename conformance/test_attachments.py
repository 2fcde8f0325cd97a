"""Attachments over multipart/mixed (ATT-01..09, STGET-24/25)."""

from __future__ import annotations

import json

from conformance.lib import (attachment_object, assert_status, decode_multipart, encode_multipart,
                             read_with_attachments, sha256_hex, single_statement)


def _post_multipart(lrs, body, parts, **kw):
    content, ctype = encode_multipart(body, parts, **kw)
    return lrs.post("statements", content=content, headers={"Content-Type": ctype})


def _accepted(lrs, f, *data: bytes, **kw) -> None:
    """The positive control of a rejection test: the same request made valid
    (a statement per item of `data`, each with that attachment and its part)
    is stored. Without it an LRS that refuses every multipart request would
    pass the 400s below."""
    statements = []
    for datum in data:
        statements.append(f.statement())
        statements[-1]["attachments"] = [attachment_object(datum)]
    body = statements[0] if len(statements) == 1 else statements
    r = _post_multipart(lrs, body, [(datum, "text/plain") for datum in data], **kw)
    assert r.status_code == 200, (
        f"the same multipart request made valid must be accepted first (ATT-01), got "
        f"{r.status_code}: {r.text[:300]}; without that the 400 this test expects proves nothing")


def _refused(lrs, f, data: bytes, parts: list[tuple[bytes, str]], **kw) -> None:
    """A statement with one attachment of `data`, sent with `parts` (and
    encode_multipart's `kw`), is refused with 400 and not stored; the same
    request made valid is accepted first (_accepted)."""
    _accepted(lrs, f, data)
    s = f.statement()
    s["attachments"] = [attachment_object(data)]
    assert_status(_post_multipart(lrs, s, parts, **kw), 400)
    assert_status(lrs.get_statement(s["id"]), 404)


def test_att_01_02_08_stget_24_multipart_round_trip(lrs, f):
    data = "conformance attachment ☃ ".encode() + bytes(range(256))
    s = f.statement()
    s["attachments"] = [attachment_object(data, "application/octet-stream")]
    r = _post_multipart(lrs, s, [(data, "application/octet-stream")])
    assert_status(r, 200)
    assert r.json() == [s["id"]]
    parts = read_with_attachments(lrs, s["id"])
    assert len(parts) >= 2, "STGET-24: statement part plus attachment part"
    head0, body0 = parts[0]
    assert head0.get("content-type", "").startswith("application/json"), "ATT-08: first part is JSON"
    stmt = json.loads(body0)
    assert stmt["id"] == s["id"]
    assert stmt["attachments"][0]["sha2"] == sha256_hex(data)
    by_hash = {h.get("x-experience-api-hash"): d for h, d in parts[1:]}
    assert sha256_hex(data) in by_hash, "ATT-08: attachment part carries X-Experience-API-Hash"
    assert by_hash[sha256_hex(data)] == data, "attachment bytes must round-trip unchanged"


def test_stget_24_attachments_on_query(lrs, f, registration):
    data = b"query attachment " + registration.encode()
    s = f.statement(registration=registration)
    s["attachments"] = [attachment_object(data)]
    assert_status(_post_multipart(lrs, s, [(data, "text/plain")]), 200)
    lrs.wait_for_count({"registration": registration}, 1)
    got = lrs.get("statements", params={"registration": registration, "attachments": "true"})
    assert_status(got, 200)
    parts = decode_multipart(got.headers.get("content-type", ""), got.content)
    result = json.loads(parts[0][1])
    assert [x["id"] for x in result["statements"]] == [s["id"]]
    assert any(d == data for _, d in parts[1:])


def test_stget_25_attachments_false_is_json(lrs, f):
    data = b"not sent back"
    s = f.statement()
    s["attachments"] = [attachment_object(data)]
    assert_status(_post_multipart(lrs, s, [(data, "text/plain")]), 200)
    lrs.wait_for_statement(s["id"])
    r = lrs.get("statements", params={"statementId": s["id"], "attachments": "false"})
    got = single_statement(r, s["id"])
    assert r.headers["content-type"].startswith("application/json")
    assert got["attachments"][0]["sha2"] == sha256_hex(data)


def test_att_03_missing_part_400(lrs, f):
    _refused(lrs, f, b"this part is never sent", [])


def test_att_02_03_part_with_wrong_hash_400(lrs, f):
    _refused(lrs, f, b"declared content", [(b"different content", "text/plain")])


def test_att_04_part_without_hash_header_400(lrs, f):
    data = b"no hash header"
    _refused(lrs, f, data, [(data, "text/plain")], hash_header=False)


def test_att_04_length_and_part_content_length_must_match(lrs, f):
    """1.0.3 Part Three §1.5.2, 2.0 §4.1.3: where a part's header has a
    property in the attachment object (Content-Length and `length`) and both
    are given, they MUST match. `length` written 999.0 is the same number."""
    data = b"sixteen octets.."
    _accepted(lrs, f, data, content_length=True)
    for length in (999, 999.0):
        s = f.statement()
        s["attachments"] = [{**attachment_object(data), "length": length}]
        r = _post_multipart(lrs, s, [(data, "text/plain")], content_length=True)
        assert_status(r, 400)
        assert_status(lrs.get_statement(s["id"]), 404)


def test_att_02_03_part_data_not_matching_its_declared_hash_400(lrs, f):
    """1.0.3 Part Three §1.5.2, 2.0 §4.1.3: the LRS matches a part to an
    attachment "by comparing the SHA-2 of the raw data to the SHA-2 declared
    in the header. It MUST not do so any other way." Here the part's header
    names the attachment's sha2 but its data (of the same length) hashes to
    something else: it matches nothing, so the attachment, which has no
    fileUrl, has no part (ATT-03: 400). Trusting the header alone would store
    wrong bytes under that hash."""
    data, other = b"declared content", b"other content!!!"
    assert len(data) == len(other)
    _refused(lrs, f, data, [(other, "text/plain")], hashes=[sha256_hex(data)])


def test_att_04_a_further_part_without_hash_header_400(lrs, f):
    """1.0.3 Part Three §1.5.2, 2.0 §4.1.3: every part after the first MUST
    carry X-Experience-API-Hash. The attachment's own part is there and
    right; a further part without the header (a second statement part, as
    ADL's XAPI-00133 sends; or an attachment's data beside its fileUrl) must
    not be passed over: 400, nothing stored."""
    data = b"the attachment itself"
    _accepted(lrs, f, data)
    s = f.statement()
    s["attachments"] = [attachment_object(data)]
    extra = json.dumps(f.statement()).encode()
    r = _post_multipart(lrs, s, [(data, "text/plain"), (extra, "application/json")],
                        hashes=[sha256_hex(data), None])
    assert_status(r, 400)
    assert_status(lrs.get_statement(s["id"]), 404)
    t = f.statement()
    t["attachments"] = [attachment_object(data, file_url="http://conformance.example.com/a.txt")]
    r = _post_multipart(lrs, t, [(data, "text/plain")], hashes=[None])
    assert_status(r, 400)
    assert_status(lrs.get_statement(t["id"]), 404)


def test_att_04_05_a_part_said_to_be_base64_is_refused_or_read_as_binary(lrs, f):
    """1.0.3 Part Three §1.5.2, 2.0 §4.1.3: every part after the first MUST
    carry Content-Transfer-Encoding: binary, a rule for the request that
    ADL's suites (XAPI-00135) expect enforced: 400, nothing stored. The LRS
    "SHOULD assume a Content-Transfer-Encoding of binary" (ATT-05), though,
    and the raw bytes hash to the declared sha2: an LRS that takes them as
    they are is right too, if it keeps them as they are, not decoded."""
    data = b"aGVyZSBpcyBhIHNpbXBsZSBhdHRhY2htZW50"  # base64 text, sent as it is
    # Other bytes for the control: what is returned below can be this request's only.
    _accepted(lrs, f, data + b"=")
    s = f.statement()
    s["attachments"] = [attachment_object(data)]
    r = _post_multipart(lrs, s, [(data, "text/plain")], encoding="base64")
    if r.status_code == 400:
        assert_status(lrs.get_statement(s["id"]), 404)
        return
    assert_status(r, 200)
    returned = {h.get("x-experience-api-hash"): d for h, d in read_with_attachments(lrs, s["id"])[1:]}
    assert returned.get(sha256_hex(data)) == data, \
        "ATT-05: an attachment taken as binary is returned as the bytes sent"


def test_att_01_04_first_part_not_json_400(lrs, f):
    """1.0.3 Part Three §1.5.2, 2.0 §4.1.3: the first part holds the
    statements "with type application/json" (1.0.3: "For the first part ...
    this MUST be application/json"; ADL XAPI-00134). The same JSON sent as
    text/plain is 400."""
    data = b"first part mislabelled"
    _refused(lrs, f, data, [(data, "text/plain")], first_type="text/plain")


def test_att_03_stpost_07_batch_missing_one_part_stores_nothing(lrs, f, registration):
    d1, d2 = b"first attachment", b"second attachment (missing)"
    _accepted(lrs, f, d1, d2)
    a = f.statement(registration=registration)
    a["attachments"] = [attachment_object(d1)]
    b = f.statement(registration=registration)
    b["attachments"] = [attachment_object(d2)]
    r = _post_multipart(lrs, [a, b], [(d1, "text/plain")])
    assert_status(r, 400)
    assert lrs.query_ids({"registration": registration}) == []


def test_att_09_one_part_serves_several_statements(lrs, f, registration):
    data = b"shared attachment"
    batch = []
    for _ in range(3):
        s = f.statement(registration=registration)
        s["attachments"] = [attachment_object(data)]
        batch.append(s)
    r = _post_multipart(lrs, batch, [(data, "text/plain")])
    assert_status(r, 200)
    assert r.json() == [s["id"] for s in batch]


def test_att_06_multipart_without_attachments_accepted(lrs, f):
    s = f.statement()
    assert_status(_post_multipart(lrs, s, []), 200)
    t = f.statement()
    t["attachments"] = [attachment_object(b"remote", file_url="http://conformance.example.com/file.txt")]
    assert_status(_post_multipart(lrs, t, []), 200)


def test_gen_14_json_with_file_url_attachment_accepted(lrs, f):
    s = f.statement()
    s["attachments"] = [attachment_object(b"remote", file_url="http://conformance.example.com/file.txt")]
    assert_status(lrs.post_statements(s), 200)


def test_att_01_multipart_put(lrs, f):
    data = b"put attachment"
    s = f.statement()
    s["attachments"] = [attachment_object(data)]
    content, ctype = encode_multipart(s, [(data, "text/plain")])
    r = lrs.put("statements", params={"statementId": s["id"]}, content=content, headers={"Content-Type": ctype})
    assert_status(r, 204)
