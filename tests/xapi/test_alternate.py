"""The 1.0.3 alternate request syntax (Communication 1.3; GEN-16..20)."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from lrs.errors import BadRequest
from lrs.xapi.alternate import AlternateRequest, is_alternate_request, parse_alternate_request

STATEMENT = ('{"id":"c70c2b85-c294-464f-baca-cebd4fb9b348","timestamp":"2014-12-29T12:09:37.468Z",'
             '"actor":{"objectType":"Agent","mbox":"mailto:example@example.com",'
             '"name":"Test User"},"verb":{"id":"http://adlnet.gov/expapi/verbs/experienced",'
             '"display":{"en-US":"experienced"}},"object":{"id":'
             '"http://example.com/xAPI/activities/myactivity","objectType":"Activity"}}')


def form(*pairs: tuple[str, str]) -> bytes:
    return urlencode(pairs).encode()


def test_appendix_c_example() -> None:
    # Communication Appendix C: a PUT statement sent as POST ?method=PUT.
    body = form(("statementId", "c70c2b85-c294-464f-baca-cebd4fb9b348"),
                ("Authorization", "Basic VGVzdFVzZXI6cGFzc3dvcmQ="),
                ("X-Experience-API-Version", "1.0.3"),
                ("Content-Type", "application/json"),
                ("Content-Length", "351"),
                ("content", STATEMENT))
    request = parse_alternate_request({"method": "PUT"}, body)
    assert request == AlternateRequest(
        method="PUT",
        headers={"Authorization": "Basic VGVzdFVzZXI6cGFzc3dvcmQ=",
                 "X-Experience-API-Version": "1.0.3",
                 "Content-Type": "application/json",
                 "Content-Length": "351"},
        params={"statementId": "c70c2b85-c294-464f-baca-cebd4fb9b348"},
        content=STATEMENT.encode())


def test_get_statements_with_form_parameters() -> None:  # Communication 2.1.2
    request = parse_alternate_request({"method": "GET"}, form(("limit", "1"),
                                                              ("verb", "http://x.example/v")))
    assert request.method == "GET"
    assert request.params == {"limit": "1", "verb": "http://x.example/v"}
    assert request.headers == {} and request.content == b""


def test_empty_form_for_get() -> None:
    assert parse_alternate_request({"method": "GET"}, b"").params == {}


@pytest.mark.parametrize("method", ["GET", "HEAD", "PUT", "POST", "DELETE"])
def test_every_method(method: str) -> None:
    body = form(("content", "{}")) if method in ("PUT", "POST") else b""
    assert parse_alternate_request({"method": method}, body).method == method


def test_header_fields_are_matched_without_case() -> None:
    body = form(("authorization", "Basic abc"), ("IF-MATCH", '"etag"'),
                ("if-none-match", "*"), ("x-experience-api-version", "1.0.3"))
    request = parse_alternate_request({"method": "GET"}, body)
    assert request.headers == {"Authorization": "Basic abc", "If-Match": '"etag"',
                               "If-None-Match": "*", "X-Experience-API-Version": "1.0.3"}


def test_content_transfer_encoding_is_not_a_header_field() -> None:
    # Communication 1.3: "It does not apply to Content-Transfer-Encoding."
    request = parse_alternate_request({"method": "GET"},
                                      form(("Content-Transfer-Encoding", "binary")))
    assert request.params == {"Content-Transfer-Encoding": "binary"}
    assert request.headers == {}


def test_content_without_a_content_type_field_is_json() -> None:
    # Content-Type is a SHOULD* field; the ADL 1.0.3 suite PUTs without it.
    request = parse_alternate_request({"method": "PUT"}, form(("content", "{}")))
    assert request.headers == {"Content-Type": "application/json"}
    typed = parse_alternate_request({"method": "PUT"}, form(("Content-Type", "text/plain"),
                                                            ("content", "x")))
    assert typed.headers == {"Content-Type": "text/plain"}


def test_content_is_url_decoded_utf8() -> None:
    text = '{"name": "Zoë & 日本 + more=yes"}'
    request = parse_alternate_request({"method": "POST"}, form(("content", text)))
    assert request.content == text.encode("utf-8")


def test_plus_is_a_space() -> None:
    request = parse_alternate_request({"method": "GET"}, b"activity=a+b%2Bc")
    assert request.params == {"activity": "a b+c"}


def test_blank_values_and_trailing_ampersand() -> None:
    request = parse_alternate_request({"method": "GET"}, b"since=&limit=2&")
    assert request.params == {"since": "", "limit": "2"}


def test_content_length_matching_utf8_octets() -> None:
    text = "é"
    request = parse_alternate_request({"method": "PUT"},
                                      form(("content", text), ("Content-Length", "2")))
    assert request.headers["Content-Length"] == "2"


def test_starlette_like_query_params_with_multi_items() -> None:
    class Query(dict):
        def multi_items(self) -> list[tuple[str, str]]:
            return [("method", "GET"), ("method", "PUT")]

    with pytest.raises(BadRequest, match="once"):
        parse_alternate_request(Query(method="PUT"), b"")


def test_query_as_pairs() -> None:
    assert parse_alternate_request([("method", "DELETE")], b"").method == "DELETE"


# --- refused -----------------------------------------------------------------

@pytest.mark.parametrize("query, message", [
    ({}, "once"),
    ({"method": "PUT", "statementId": "x"}, "statementId"),  # ADL: "extra information"
    ({"method": "put"}, "not one of"),
    ({"method": "PATCH"}, "not one of"),
    ({"method": ""}, "not one of"),
    ({"Method": "GET"}, "only 'method'"),
])
def test_bad_query(query: dict, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        parse_alternate_request(query, form(("content", "{}")))


@pytest.mark.parametrize("body, message", [
    (b"\xff=1", "not UTF-8"),
    (b"limit=%FF", "not UTF-8"),
    (b"limit=%zz", "percent-escape"),
    (b"limit=50%", "percent-escape"),
    (b"limit", "not form-encoded"),
    (b"=1", "not form-encoded"),
    (b'{"statementId": "x", "content": "{}"}', "not form-encoded"),
    (b"limit=1&limit=2", "repeated"),
    (b"content=1&content=2", "repeated"),
    (b"Authorization=a&authorization=b", "repeated"),
    (b"Content-Length=x", "not a number"),
    (b"Content-Length=-1", "not a number"),
    (b"Content-Length=3&content=%7B%7D", "2 octets"),
])
def test_bad_form(body: bytes, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        parse_alternate_request({"method": "GET"}, body)


@pytest.mark.parametrize("method", ["PUT", "POST"])
def test_put_and_post_need_content(method: str) -> None:  # ADL: "PUT with no content body"
    with pytest.raises(BadRequest, match="content"):
        parse_alternate_request({"method": method}, form(("statementId", "x")))


def test_empty_content_is_still_content() -> None:
    assert parse_alternate_request({"method": "PUT"}, b"content=").content == b""


# --- xAPI 2.0 dropped the syntax ---------------------------------------------------

@pytest.mark.parametrize("version", ["2.0.0", "2.0", "2.0.1"])
def test_refused_under_2_0_from_the_form(version: str) -> None:
    with pytest.raises(BadRequest, match="removed in xAPI 2.0"):
        parse_alternate_request({"method": "GET"},
                                form(("X-Experience-API-Version", version)))


def test_refused_under_2_0_from_the_http_header() -> None:
    with pytest.raises(BadRequest, match="removed in xAPI 2.0"):
        parse_alternate_request({"method": "GET"}, b"", version_header="2.0.0")


def test_form_version_wins_over_http_header() -> None:
    request = parse_alternate_request({"method": "GET"},
                                      form(("X-Experience-API-Version", "1.0.3")),
                                      version_header="2.0.0")
    assert request.headers["X-Experience-API-Version"] == "1.0.3"


def test_missing_or_unknown_versions_are_left_to_the_caller() -> None:
    assert parse_alternate_request({"method": "GET"}, b"").headers == {}
    request = parse_alternate_request({"method": "GET"},
                                      form(("X-Experience-API-Version", "0.95")))
    assert request.headers == {"X-Experience-API-Version": "0.95"}


# --- telling requests apart (GEN-20) ---------------------------------------------

def test_is_alternate_request() -> None:
    assert is_alternate_request("POST", {"method": "GET"})
    assert is_alternate_request("post", [("method", "PUT")])
    assert not is_alternate_request("POST", {})
    assert not is_alternate_request("POST", {"statementId": "x"})
    assert not is_alternate_request("GET", {"method": "GET"})
