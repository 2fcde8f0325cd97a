"""The 1.0.3 alternate request syntax (Communication 1.3, GEN-16..20).

For browsers that could only send GET and POST without custom headers, a
request may arrive as `POST <resource>?method=<VERB>` with a form body
(application/x-www-form-urlencoded). The LRS MUST read it as the request it
stands for:

- `method` is the only query parameter allowed; it names the real method.
- The form fields Authorization, X-Experience-API-Version, Content-Type,
  Content-Length, If-Match and If-None-Match are headers.
- The form field `content` is the request body, read as UTF-8.
- Every other form field is a query parameter.

2.0 dropped this syntax (changes from 1.0.3, rows s26-s33; REQUIREMENTS
V20-04), so a request that names 2.0 in its version header is refused.

Readings where the text leaves room:
- Header fields are recognised without regard to letter case (HTTP field
  names are case-insensitive, RFC 9110 §5.1) and returned spelled as the
  spec spells them; `content`, `method` and parameters are case-sensitive.
- A field given twice is refused: which one was meant is unknowable.
- A Content-Length field must equal the UTF-8 length of `content` in octets
  (what Content-Length means); a mismatch means truncated content.
- PUT and POST always send content, so they need a `content` field
  ("If the xAPI call involved sending content ... MUST ... include it as a
  form parameter called content").
- `content` without a Content-Type field is read as application/json: the
  field is only a SHOULD*, the content is text, and JSON is what xAPI sends
  (the ADL 1.0.3 suite PUTs a statement this way and expects 204).
- `headers` holds only the form's header fields. The caller lays them over
  the HTTP request's own headers, whose Content-Type and Content-Length
  describe the form, not `content`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote_plus

from lrs.errors import BadRequest
from lrs.xapi.versions import HEADER as VERSION_HEADER
from lrs.xapi.versions import V2, negotiate

METHOD = "method"
CONTENT = "content"
DEFAULT_CONTENT_TYPE = "application/json"
METHODS = frozenset({"GET", "HEAD", "PUT", "POST", "DELETE"})
HEADER_FIELDS = ("Authorization", VERSION_HEADER, "Content-Type", "Content-Length",
                 "If-Match", "If-None-Match")
_BY_LOWER = {name.lower(): name for name in HEADER_FIELDS}
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")

Query = Mapping[str, str] | Iterable[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class AlternateRequest:
    """The request an alternate-syntax POST stands for."""

    method: str
    headers: dict[str, str]
    params: dict[str, str]
    content: bytes = field(repr=False)


def is_alternate_request(http_method: str, query: Query) -> bool:
    """Communication 2.1.2 (GEN-20): a POST is told apart from an
    alternate-syntax request by its parameters: the latter has `method`."""
    return http_method.upper() == "POST" and any(name == METHOD for name, _ in _pairs(query))


def parse_alternate_request(query: Query, form_body: bytes, *,
                            version_header: str | None = None,
                            versioned: bool = True) -> AlternateRequest:
    """Read an alternate-syntax POST. `query` is its query string (a mapping
    or name/value pairs; Starlette's QueryParams works), `form_body` its
    form-encoded body, `version_header` the X-Experience-API-Version of the
    HTTP request (the form's field of that name takes precedence): a 2.0
    one is refused (V20-04), unless not `versioned` (/about, which no
    version rule binds, VER-11)."""
    method = tunneled_method(query)
    headers, params, content = _split_fields(_form_fields(form_body))
    if versioned:
        _refuse_in_v2(headers.get(VERSION_HEADER, version_header))
    if content is None and method in ("PUT", "POST"):
        raise BadRequest(f"alternate request syntax: a {method} must send its body as the "
                         f"form field {CONTENT!r}", field=CONTENT)
    body = (content or "").encode("utf-8")
    if content is not None:
        headers.setdefault("Content-Type", DEFAULT_CONTENT_TYPE)
    _check_length(headers.get("Content-Length"), body)
    return AlternateRequest(method, headers, params, body)


def tunneled_method(query: Query) -> str:
    """The method an alternate-syntax POST stands for: 400 unless its query
    string is exactly one known `method`."""
    return _method(list(_pairs(query)))


def _pairs(query: Query) -> Iterable[tuple[str, str]]:
    multi_items = getattr(query, "multi_items", None)
    if callable(multi_items):
        return multi_items()  # keep repeated names visible
    if isinstance(query, Mapping):
        return query.items()
    return query


def _method(pairs: list[tuple[str, str]]) -> str:
    extra = sorted({name for name, _ in pairs if name != METHOD})
    if extra:
        raise BadRequest("alternate request syntax: the query string may hold only "
                         f"'method'; send {', '.join(extra)} as form fields",
                         field=extra[0])
    methods = [value for _, value in pairs]
    if len(methods) != 1:
        raise BadRequest("alternate request syntax: give the method query parameter once",
                         field=METHOD)
    if methods[0] not in METHODS:
        raise BadRequest(f"alternate request syntax: method {methods[0]!r} is not one of "
                         f"{', '.join(sorted(METHODS))}", field=METHOD)
    return methods[0]


def _form_fields(body: bytes) -> list[tuple[str, str]]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("alternate request syntax: the form body is not UTF-8") from None
    fields = []
    for piece in text.split("&"):
        if not piece:
            continue
        name, equals, value = piece.partition("=")
        if not equals or not name:
            raise BadRequest("alternate request syntax: the body is not form-encoded "
                             f"(name=value pairs joined by '&'): {piece[:60]!r}")
        fields.append((_unquote(name), _unquote(value)))
    return fields


def _unquote(text: str) -> str:
    if _BAD_ESCAPE.search(text):
        raise BadRequest(f"alternate request syntax: bad percent-escape in {text[:60]!r}")
    try:
        return unquote_plus(text, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise BadRequest("alternate request syntax: a form field is not UTF-8 "
                         "once percent-decoded") from None


def _split_fields(fields: list[tuple[str, str]]
                  ) -> tuple[dict[str, str], dict[str, str], str | None]:
    headers: dict[str, str] = {}
    params: dict[str, str] = {}
    content: str | None = None
    for name, value in fields:
        header = _BY_LOWER.get(name.lower())
        if header is not None:
            _put_once(headers, header, value)
        elif name == CONTENT:
            if content is not None:
                raise BadRequest("alternate request syntax: form field 'content' repeated",
                                 field=CONTENT)
            content = value
        else:
            _put_once(params, name, value)
    return headers, params, content


def _put_once(target: dict[str, str], name: str, value: str) -> None:
    if name in target:
        raise BadRequest(f"alternate request syntax: form field {name!r} repeated",
                         field=name)
    target[name] = value


def _refuse_in_v2(version: str | None) -> None:
    if version is None:
        return  # the caller's version check reports the missing header
    try:
        rules = negotiate(version)
    except BadRequest:
        return  # likewise for a version no rules serve
    if rules == V2:
        raise BadRequest("the alternate request syntax (?method=) was removed in xAPI 2.0; "
                         "send the request with its real method and headers",
                         field=METHOD)


def _check_length(declared: str | None, body: bytes) -> None:
    if declared is None:
        return
    if not (declared.isascii() and declared.isdigit()):
        raise BadRequest(f"alternate request syntax: Content-Length {declared!r} is not "
                         "a number of octets", field="Content-Length")
    # Compared as digits: int() refuses more than 4,300 of them.
    if (declared.lstrip("0") or "0") != str(len(body)):
        raise BadRequest(f"alternate request syntax: Content-Length is {declared} but the "
                         f"content field is {len(body)} octets of UTF-8",
                         field="Content-Length")
