"""multipart/mixed parsing and building (RFC 2046 §5.1; ATT-01, ATT-04, ATT-05, ATT-08)."""

from __future__ import annotations

import hashlib
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lrs.errors import BadRequest
from lrs.xapi.multipart import (
    Part,
    build_multipart,
    media_type,
    parse_content_type,
    parse_multipart,
)

TEXT = b"here is a simple attachment"
TEXT_SHA = "495395e777cd98da653df9615d09c0fd6bb2f8d4788394cd53c56a3bfdcd848a"
STATEMENT = b'{"actor":{"mbox":"mailto:a@example.com"}}'
BOUNDARY = "abcABC0123'()+_,-./:=?"
CT = f'multipart/mixed; boundary="{BOUNDARY}"'


def body(*lines: str, eol: str = "\r\n") -> bytes:
    return eol.join(lines).encode()


def spec_example(eol: str = "\r\n") -> bytes:
    """The example of xAPI 1.0.3 Communication 1.5.2 (with a short statement)."""
    return body(
        "",
        f"--{BOUNDARY}",
        "Content-Type:application/json",
        "",
        STATEMENT.decode(),
        f"--{BOUNDARY}",
        "Content-Type:text/plain",
        "Content-Transfer-Encoding:binary",
        f"X-Experience-API-Hash:{TEXT_SHA}",
        "",
        TEXT.decode(),
        f"--{BOUNDARY}--",
        eol=eol,
    )


def test_spec_example() -> None:
    first, parts = parse_multipart(spec_example(), CT)
    assert first == STATEMENT
    assert len(parts) == 1
    part = parts[0]
    assert part.body == TEXT
    assert hashlib.sha256(part.body).hexdigest() == TEXT_SHA
    assert part.sha2 == TEXT_SHA
    assert part.content_type == "text/plain"
    assert part.transfer_encoding == "binary"
    assert part.index == 2


def test_bare_lf_bodies_are_read_with_lf_line_endings() -> None:
    # The ADL conformance suite's fixture files use bare LF.
    first, parts = parse_multipart(spec_example(eol="\n"), CT)
    assert first == STATEMENT
    assert parts[0].body == TEXT


def test_lf_mode_keeps_a_carriage_return_in_the_data() -> None:
    raw = body("--b", "Content-Type: application/json", "", "{}", "--b",
               f"X-Experience-API-Hash: {TEXT_SHA}", "", "data\r", "--b--", eol="\n")
    _, parts = parse_multipart(raw, "multipart/mixed; boundary=b")
    assert parts[0].body == b"data\r"


def test_crlf_mode_does_not_split_on_bare_lf() -> None:
    # "\n--b" inside data is not a delimiter when the body uses CRLF.
    data = "line\n--b\nmore"
    raw = body("--b", "Content-Type: application/json", "", "{}", "--b",
               "X-Experience-API-Hash: ab", "", data, "--b--")
    _, parts = parse_multipart(raw, "multipart/mixed; boundary=b")
    assert parts[0].body == data.encode()


def test_preamble_and_epilogue_are_ignored() -> None:
    raw = (b"This is the preamble.\r\nIt says --abc nothing\r\n"
           + body("--abc", "Content-Type: application/json", "", "{}", "--abc--")
           + b"\r\nepilogue --abc\r\n")
    first, parts = parse_multipart(raw, "multipart/mixed; boundary=abc")
    assert first == b"{}"
    assert parts == []


def test_boundary_prefix_inside_data_is_not_a_delimiter() -> None:
    raw = body("--abc", "Content-Type: application/json", "", "{}", "--abc",
               "X-Experience-API-Hash: ab", "", "x", "--abcdef is data", "--abc--")
    _, parts = parse_multipart(raw, "multipart/mixed; boundary=abc")
    assert parts[0].body == b"x\r\n--abcdef is data"


def test_transport_padding_after_boundary() -> None:
    raw = body("--abc  ", "Content-Type: application/json", "", "{}", "--abc\t",
               "X-Experience-API-Hash: ab", "", "x", "--abc--")
    first, parts = parse_multipart(raw, "multipart/mixed; boundary=abc")
    assert (first, parts[0].body) == (b"{}", b"x")


def test_data_ending_in_line_breaks_keeps_them() -> None:
    raw = body("--abc", "Content-Type: application/json", "", "{}", "--abc",
               "X-Experience-API-Hash: ab", "", "x", "", "", "--abc--")
    _, parts = parse_multipart(raw, "multipart/mixed; boundary=abc")
    assert parts[0].body == b"x\r\n\r\n"


def test_empty_attachment_part() -> None:
    raw = body("--abc", "Content-Type: application/json", "", "{}", "--abc",
               "X-Experience-API-Hash: ab", "", "", "--abc--")
    _, parts = parse_multipart(raw, "multipart/mixed; boundary=abc")
    assert parts[0].body == b""


def test_empty_attachment_part_without_blank_line_is_tolerated() -> None:
    # The blank line after the headers doubles as the delimiter's line break.
    raw = body("--abc", "Content-Type: application/json", "", "{}", "--abc",
               "X-Experience-API-Hash: ab", "", "--abc--")
    _, parts = parse_multipart(raw, "multipart/mixed; boundary=abc")
    assert parts[0].body == b"" and parts[0].sha2 == "ab"


def test_headers_running_into_the_delimiter_are_refused() -> None:
    raw = body("--abc", "Content-Type: application/json", "", "{}", "--abc",
               "X-Experience-API-Hash: ab", "--abc--")
    with pytest.raises(BadRequest, match="blank line"):
        parse_multipart(raw, "multipart/mixed; boundary=abc")


def test_header_names_are_case_insensitive_and_folded_lines_joined() -> None:
    raw = body("--abc", "content-type: Application/JSON; charset=UTF-8", "", "{}", "--abc",
               "x-experience-api-hash:  ABCDEF ", "CONTENT-TYPE: text/plain;",
               "  charset=ascii", "Content-Disposition: attachment; filename=\"a.txt\"",
               "", "x", "--abc--")
    first, parts = parse_multipart(raw, "Multipart/Mixed; Boundary=abc")
    assert first == b"{}"
    assert parts[0].sha2 == "abcdef"
    assert parts[0].content_type == "text/plain; charset=ascii"
    assert parts[0].headers["content-disposition"] == 'attachment; filename="a.txt"'
    assert parts[0].transfer_encoding is None  # ATT-05: assumed binary


def test_several_parts_keep_their_order() -> None:
    raw = body("--abc", "Content-Type: application/json", "", "[]",
               "--abc", "X-Experience-API-Hash: 01", "", "one",
               "--abc", "X-Experience-API-Hash: 02", "", "two",
               "--abc", "X-Experience-API-Hash: 03", "", "three", "--abc--")
    _, parts = parse_multipart(raw, "multipart/mixed; boundary=abc")
    assert [(p.index, p.sha2, p.body) for p in parts] == [
        (2, "01", b"one"), (3, "02", b"two"), (4, "03", b"three")]


def test_binary_data_is_untouched() -> None:
    data = bytes(range(256)) * 4 + b"\r\n--ab\r\n\n\r"
    raw = (b"--abc\r\nContent-Type: application/json\r\n\r\n{}\r\n--abc\r\n"
           b"X-Experience-API-Hash: 00\r\nContent-Transfer-Encoding: BINARY\r\n\r\n"
           + data + b"\r\n--abc--")
    _, parts = parse_multipart(raw, "multipart/mixed; boundary=abc")
    assert parts[0].body == data


def test_a_part_whose_headers_take_more_than_16_kib_is_refused() -> None:
    """Fuzz round 4: 320,000 folded lines (1.3 MB) cost a worker 3 s, each
    fold copying the line so far."""
    folded = "X-Pad: a" + "\r\n b" * 5000
    raw = body("--abc", "Content-Type: application/json", folded, "", "{}", "--abc--")
    with pytest.raises(BadRequest, match="more than 16 KiB"):
        parse_multipart(raw, "multipart/mixed; boundary=abc")
    raw = body("--abc", "Content-Type: application/json", "X-Pad: a" + "\r\n b" * 1000, "",
               "{}", "--abc--")
    assert parse_multipart(raw, "multipart/mixed; boundary=abc")[0] == b"{}"


def test_big_body_parses_quickly() -> None:
    data = os.urandom(1024) * (24 * 1024)  # 24 MiB
    raw, ct = build_multipart(b"{}", [("ab", "application/octet-stream", data)])
    first, parts = parse_multipart(raw, ct)
    assert first == b"{}" and parts[0].body == data


# --- rejections ----------------------------------------------------------------

@pytest.mark.parametrize("content_type", [
    "multipart/mixed",
    "multipart/mixed;",
    "multipart/mixed; boundary=",
    'multipart/mixed; boundary=""',
    "multipart/form-data; boundary=abc",
    "application/json",
    "multipart/mixed; boundary=" + "a" * 71,
    'multipart/mixed; boundary="ends with space "',
    "multipart/mixed; boundary=a<b",
    'multipart/mixed; boundary="abc',
    "multipart/mixed; boundary=abc; boundary=abc",
    "multipart/mixed; boundary",
    "not a media type",
])
def test_bad_content_type(content_type: str) -> None:
    raw = body("--abc", "Content-Type: application/json", "", "{}", "--abc--")
    with pytest.raises(BadRequest):
        parse_multipart(raw, content_type)


@pytest.mark.parametrize("raw, message", [
    (b"", "does not contain the boundary"),
    (b'{"actor": {}}', "does not contain the boundary"),
    (body("--abcd", "Content-Type: application/json", "", "{}", "--abcd--"),
     "does not contain the boundary"),
    (body("--abc--"), "no parts"),
    (body("--abc", "Content-Type: application/json", "", "{}"), "no closing delimiter"),
    (body("--abc", "Content-Type: application/json", "", "{}", "--abc"),
     "no closing delimiter"),
    (body("--abc", "Content-Type: application/json", "{}", "--abc--"), "blank line"),
    (body("--abc", "Content-Type: application/json", "", "{}", "--abc",
          "no colon here", "", "x", "--abc--"), "malformed header"),
    (body("--abc", "Content-Type: application/json", "Content-Type: application/json",
          "", "{}", "--abc--"), "repeated"),
    (body("--abc", "", "{}", "--abc--"), "no Content-Type"),
    (body("--abc", "Content-Type: text/plain", "", "{}", "--abc--"),
     "must be application/json"),
    (body("--abc", "Content-Type: application/json; charset=latin-1", "", "{}", "--abc--"),
     "UTF-8"),
    (body("--abc", "Content-Type: application/json", "", "{}", "--abc",
          "Content-Type: text/plain", "", "x", "--abc--"), "X-Experience-API-Hash"),
    (body("--abc", "Content-Type: application/json", "", "{}", "--abc",
          "X-Experience-API-Hash:", "", "x", "--abc--"), "X-Experience-API-Hash"),
    (body("--abc", "Content-Type: application/json", "", "{}", "--abc",
          "X-Experience-API-Hash: ab", "Content-Transfer-Encoding: base64", "", "eA==",
          "--abc--"), "binary"),
    (body("--abc", "Content-Type: application/json", "", "{}", "--abc",
          "X-Experience-API-Hash: ab", "Content-Type: nonsense", "", "x", "--abc--"),
     "media type"),
])
def test_malformed_bodies(raw: bytes, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        parse_multipart(raw, "multipart/mixed; boundary=abc")


def test_statements_split_over_two_parts_are_refused() -> None:
    # The ADL suite's "statements separated into multiple parts": the second
    # part has no hash, so it cannot be an attachment.
    raw = body("--abc", "Content-Type: application/json", "", '[{"a":1},',
               "--abc", "Content-Type: application/json", "", '{"b":2}]', "--abc--")
    with pytest.raises(BadRequest, match="X-Experience-API-Hash"):
        parse_multipart(raw, "multipart/mixed; boundary=abc")


def test_non_utf8_headers() -> None:
    raw = (b"--abc\r\nContent-Type: application/json\r\nX-Name: \xff\r\n\r\n{}\r\n--abc--")
    with pytest.raises(BadRequest, match="UTF-8"):
        parse_multipart(raw, "multipart/mixed; boundary=abc")


# --- Content-Type values ------------------------------------------------------

def test_parse_content_type() -> None:
    assert parse_content_type('Multipart/Mixed; BOUNDARY="a \\"b\\";c"; x=y') == (
        "multipart/mixed", {"boundary": 'a "b";c', "x": "y"})
    assert parse_content_type("text/plain") == ("text/plain", {})
    assert media_type("text/plain; charset=ascii") == "text/plain"
    with pytest.raises(BadRequest):
        parse_content_type('text/plain; a="b" junk')


# --- building -----------------------------------------------------------------

def test_build_round_trip() -> None:
    attachments = [(TEXT_SHA, "text/plain", TEXT), ("ab", "image/png", b"\x89PNG\r\n")]
    raw, ct = build_multipart(STATEMENT, attachments)
    assert ct.startswith("multipart/mixed; boundary=")
    first, parts = parse_multipart(raw, ct)
    assert first == STATEMENT
    assert [(p.sha2, p.content_type, p.transfer_encoding, p.body) for p in parts] == [
        (TEXT_SHA, "text/plain", "binary", TEXT), ("ab", "image/png", "binary", b"\x89PNG\r\n")]
    assert raw.endswith(b"--\r\n") and b"\r\n\r\n" in raw


def test_build_sends_each_hash_once() -> None:
    raw, ct = build_multipart(b"[]", [("AB", "text/plain", b"x"), ("ab", "text/plain", b"x")])
    _, parts = parse_multipart(raw, ct)
    assert len(parts) == 1
    assert b"X-Experience-API-Hash: AB\r\n" in raw  # as the statement spells it


def test_build_without_attachments() -> None:
    raw, ct = build_multipart(b"[]", [])
    assert parse_multipart(raw, ct) == (b"[]", [])


def test_build_boundaries_are_random() -> None:
    assert build_multipart(b"{}", [])[1] != build_multipart(b"{}", [])[1]


def test_build_refuses_header_injection() -> None:
    with pytest.raises(ValueError):
        build_multipart(b"{}", [("ab", "text/plain\r\nX-Evil: 1", b"x")])


@settings(max_examples=200, deadline=None)
@given(first=st.binary(), datas=st.lists(st.binary(max_size=300), max_size=5))
def test_build_parse_round_trip_any_bytes(first: bytes, datas: list[bytes]) -> None:
    attachments = [(f"{i:02x}", "application/octet-stream", d) for i, d in enumerate(datas)]
    raw, ct = build_multipart(first, attachments)
    got_first, parts = parse_multipart(raw, ct)
    assert got_first == first
    assert [p.body for p in parts] == datas
    assert all(isinstance(p, Part) for p in parts)
