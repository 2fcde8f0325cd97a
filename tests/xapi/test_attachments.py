"""Matching attachment objects to multipart parts (ATT-02..07, ATT-09)."""

from __future__ import annotations

import copy
import hashlib

import pytest

from lrs.errors import BadRequest, ValidationError
from lrs.xapi.attachments import iter_attachments, match_attachments, require_file_urls
from lrs.xapi.multipart import Part, build_multipart, parse_multipart

TEXT = b"here is a simple attachment"
TEXT_SHA = "495395e777cd98da653df9615d09c0fd6bb2f8d4788394cd53c56a3bfdcd848a"
OTHER = b"here is another simple attachment"
OTHER_SHA = "7063d0a4cfa93373753ad2f5a6ffcf684559fb1df3c2f0473a14ece7d4edb06a"


def attachment(sha2: str = TEXT_SHA, length: int = len(TEXT), content_type: str = "text/plain",
               **extra: object) -> dict:
    return {"usageType": "http://example.com/attachment-usage/test",
            "display": {"en-US": "A test attachment"},
            "contentType": content_type, "length": length, "sha2": sha2, **extra}


def statement(*attachments: dict) -> dict:
    stmt: dict = {"actor": {"mbox": "mailto:a@example.com"},
                  "verb": {"id": "http://adlnet.gov/expapi/verbs/answered"},
                  "object": {"id": "http://example.com/activity"}}
    if attachments:
        stmt["attachments"] = list(attachments)
    return stmt


def part(data: bytes, sha2: str | None = None, content_type: str | None = "text/plain",
         index: int = 2, **headers: str) -> Part:
    h = {"x-experience-api-hash": sha2 or hashlib.sha256(data).hexdigest(), **headers}
    if content_type is not None:
        h["content-type"] = content_type
    return Part(h, data, index)


def test_fixture_hashes_are_real() -> None:
    assert hashlib.sha256(TEXT).hexdigest() == TEXT_SHA
    assert hashlib.sha256(OTHER).hexdigest() == OTHER_SHA


def test_match_by_hash() -> None:
    p = part(TEXT)
    assert match_attachments([statement(attachment())], [p]) == {TEXT_SHA: p}


def test_hash_case_does_not_matter() -> None:
    p = part(TEXT, sha2=TEXT_SHA.upper())
    got = match_attachments([statement(attachment(sha2=TEXT_SHA.upper()))], [p])
    assert got == {TEXT_SHA: p}


def test_one_part_serves_several_objects() -> None:  # ATT-09
    p = part(TEXT)
    statements = [statement(attachment()), statement(attachment(), attachment())]
    assert match_attachments(statements, [p]) == {TEXT_SHA: p}


def test_two_parts_two_objects() -> None:
    p1, p2 = part(TEXT), part(OTHER, index=3)
    stmts = [statement(attachment(), attachment(OTHER_SHA, len(OTHER)))]
    assert match_attachments(stmts, [p2, p1]) == {TEXT_SHA: p1, OTHER_SHA: p2}


def test_no_attachments_and_no_parts() -> None:  # ATT-06
    assert match_attachments([statement(), statement()], []) == {}


def test_only_file_url_attachments_need_no_parts() -> None:  # ATT-06
    stmts = [statement(attachment(fileUrl="http://example.com/file.txt"))]
    assert match_attachments(stmts, []) == {}


def test_a_part_may_also_serve_an_object_with_file_url() -> None:
    p = part(TEXT)
    stmts = [statement(attachment(fileUrl="http://example.com/file.txt"))]
    assert match_attachments(stmts, [p]) == {TEXT_SHA: p}


def test_missing_part_is_refused() -> None:  # ATT-03
    stmts = [statement(), statement(attachment(), attachment(OTHER_SHA, len(OTHER)))]
    with pytest.raises(ValidationError) as caught:
        match_attachments(stmts, [part(TEXT)])
    assert caught.value.path == "statement[1].attachments[1].sha2"


def test_empty_file_url_is_not_a_file_url() -> None:
    with pytest.raises(ValidationError, match="sha2"):
        match_attachments([statement(attachment(fileUrl=""))], [])


def test_part_named_by_no_object_is_refused() -> None:  # ATT-04
    with pytest.raises(BadRequest, match="not the sha2 of any attachment") as caught:
        match_attachments([statement(attachment())], [part(TEXT), part(OTHER, index=3)])
    assert "part 3" in caught.value.message


def test_parts_without_any_attachment_objects_are_refused() -> None:
    with pytest.raises(BadRequest, match="not the sha2 of any attachment"):
        match_attachments([statement()], [part(TEXT)])


def test_data_must_hash_to_its_declared_hash() -> None:
    bad = part(b"something else", sha2=TEXT_SHA)
    with pytest.raises(BadRequest, match="does not hash"):
        match_attachments([statement(attachment(length=len(b"something else")))], [bad])


def test_hash_checking_can_be_turned_off() -> None:
    data = b"something else"
    bad = part(data, sha2=TEXT_SHA)
    stmts = [statement(attachment(length=len(data)))]
    assert match_attachments(stmts, [bad], verify_hashes=False) == {TEXT_SHA: bad}


@pytest.mark.parametrize("algorithm", ["sha224", "sha256", "sha384", "sha512",
                                       "sha512_224", "sha512_256"])
def test_every_sha2_variant_is_accepted(algorithm: str) -> None:
    digest = hashlib.new(algorithm, TEXT).hexdigest()
    p = part(TEXT, sha2=digest)
    assert match_attachments([statement(attachment(sha2=digest))], [p]) == {digest: p}


@pytest.mark.parametrize("declared", [
    hashlib.sha1(TEXT).hexdigest(),  # not SHA-2
    hashlib.md5(TEXT).hexdigest(),
    "zz" * 32,
    "SHA256:" + TEXT_SHA,
])
def test_declared_hash_that_is_no_sha2_hex_digest(declared: str) -> None:
    with pytest.raises(BadRequest, match="SHA-2"):
        match_attachments([statement(attachment(sha2=declared))], [part(TEXT, sha2=declared)])


@pytest.mark.parametrize("length", [26, 26.0])
def test_length_must_agree_with_a_part_content_length(length) -> None:  # ATT-04
    # 26.0 is an integer as JSON writes it too (the validator takes it): it
    # was not compared at all.
    p = part(TEXT, **{"content-length": str(len(TEXT))})
    with pytest.raises(ValidationError) as caught:
        match_attachments([statement(attachment(length=length))], [p])
    assert caught.value.path == "statement[0].attachments[0].length"
    assert match_attachments([statement(attachment(length=float(len(TEXT))))], [p])


def test_length_is_not_checked_against_a_part_without_content_length() -> None:
    # ADL 2.0 "should succeed when attachment is raw data and request
    # content-type is multipart/mixed": the part (hex text) is twice the
    # declared length, carries no Content-Length, and must be accepted.
    p = part(TEXT)
    assert match_attachments([statement(attachment(length=26))], [p]) == {TEXT_SHA: p}


def test_part_content_length_header_must_agree() -> None:
    with pytest.raises(BadRequest, match="Content-Length"):
        match_attachments([statement(attachment())],
                          [part(TEXT, **{"content-length": "26"})])
    p = part(TEXT, **{"content-length": str(len(TEXT))})
    assert match_attachments([statement(attachment())], [p]) == {TEXT_SHA: p}


def test_content_type_must_agree() -> None:  # ATT-04
    with pytest.raises(ValidationError) as caught:
        match_attachments([statement(attachment(content_type="image/png"))], [part(TEXT)])
    assert caught.value.path == "statement[0].attachments[0].contentType"


def test_content_type_parameters_and_case_are_ignored() -> None:
    # Communication 1.5.2's own example: "text/plain; charset=ascii" vs "text/plain".
    p = part(TEXT, content_type="Text/Plain")
    stmts = [statement(attachment(content_type="text/plain; charset=ascii"))]
    assert match_attachments(stmts, [p]) == {TEXT_SHA: p}


def test_part_without_content_type_is_fine() -> None:
    p = part(TEXT, content_type=None)
    assert match_attachments([statement(attachment())], [p]) == {TEXT_SHA: p}


def test_malformed_content_type_property() -> None:
    with pytest.raises(ValidationError) as caught:
        match_attachments([statement(attachment(content_type="plain"))], [part(TEXT)])
    assert caught.value.path == "statement[0].attachments[0].contentType"


def test_duplicate_parts_with_same_data_are_accepted() -> None:
    first, second = part(TEXT), part(TEXT, index=3)
    assert match_attachments([statement(attachment())], [first, second]) == {TEXT_SHA: first}


def test_duplicate_parts_with_different_data_are_refused() -> None:
    first, second = part(TEXT), part(b"other", sha2=TEXT_SHA, index=3)
    with pytest.raises(BadRequest, match="different data"):
        match_attachments([statement(attachment())], [first, second], verify_hashes=False)


def test_missing_sha2_property() -> None:
    att = attachment()
    del att["sha2"]
    with pytest.raises(ValidationError) as caught:
        match_attachments([statement(att)], [])
    assert caught.value.path == "statement[0].attachments[0].sha2"


def substatement(*attachments: dict) -> dict:
    stmt = statement()
    stmt["object"] = {"objectType": "SubStatement", **statement(*attachments)}
    return stmt


def test_substatement_attachments_are_matched_too() -> None:
    p = part(TEXT)
    assert match_attachments([substatement(attachment())], [p]) == {TEXT_SHA: p}
    with pytest.raises(ValidationError) as caught:
        match_attachments([statement(), substatement(attachment())], [])
    assert caught.value.path == "statement[1].object.attachments[0].sha2"


def test_iter_attachments_paths() -> None:
    stmts = [statement(attachment()), substatement(attachment(), attachment())]
    stmts[1]["attachments"] = [attachment()]
    assert [path for path, _ in iter_attachments(stmts)] == [
        "statement[0].attachments[0]",
        "statement[1].attachments[0]",
        "statement[1].object.attachments[0]",
        "statement[1].object.attachments[1]",
    ]


def test_end_to_end_with_parse_multipart() -> None:
    stmts = [statement(attachment(), attachment(OTHER_SHA, len(OTHER)))]
    raw, ct = build_multipart(b"[]", [(TEXT_SHA, "text/plain", TEXT),
                                      (OTHER_SHA, "text/plain", OTHER)])
    _, parts = parse_multipart(raw, ct)
    got = match_attachments(stmts, parts)
    assert {k: v.body for k, v in got.items()} == {TEXT_SHA: TEXT, OTHER_SHA: OTHER}


def test_statements_are_not_modified() -> None:
    stmts = [statement(attachment())]
    before = copy.deepcopy(stmts)
    match_attachments(stmts, [part(TEXT)])
    assert stmts == before


# --- application/json requests (ATT-07) ----------------------------------------

def test_require_file_urls_accepts_no_attachments_and_file_urls() -> None:  # GEN-14
    require_file_urls([statement()])
    require_file_urls([statement(attachment(fileUrl="http://example.com/a.txt"))])


def test_require_file_urls_refuses_raw_data_attachments() -> None:
    stmts = [statement(attachment(fileUrl="http://example.com/a.txt"), attachment())]
    with pytest.raises(ValidationError) as caught:
        require_file_urls(stmts)
    assert caught.value.path == "statement[0].attachments[1].fileUrl"
    assert caught.value.status == 400


def test_require_file_urls_covers_substatements() -> None:
    with pytest.raises(ValidationError) as caught:
        require_file_urls([substatement(attachment())])
    assert caught.value.path == "statement[0].object.attachments[0].fileUrl"
