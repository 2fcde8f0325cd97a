"""multipart/mixed statement bodies (RFC 2046 §5.1), bytes in and bytes out.

xAPI 1.0.3 Communication 1.5.2 and 2.0 LRS 4.1.3: a statement request that
may carry attachments is `multipart/mixed`; the first part is the statement
JSON (`application/json`), every other part is raw attachment data named by
its `X-Experience-API-Hash` header. GET statements?attachments=true answers
in the same format (ATT-08).

Parsing is one forward scan with `bytes.find`: bodies can be tens of MB, so
no regex over the body and no re-copying of what was already scanned. Each
part's data is sliced out exactly once.

Line endings: RFC 2046 says CRLF. The ADL conformance suite's multipart
fixtures are files checked out with bare LF line endings, and several
clients build bodies by joining with "\n", so a body whose first delimiter
line ends in a bare LF is read with LF line endings throughout. The choice
is made once per body, from the first delimiter line, never per line: part
data is never altered, and a CR before an LF delimiter stays in the data.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field

from lrs.errors import BadRequest

JSON = "application/json"
HASH_HEADER = "X-Experience-API-Hash"

# RFC 2046 §5.1.1: boundary := 0*69<bchars> bcharsnospace
_BOUNDARY = re.compile(r"^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$")
# RFC 2045 §5.1 tokens (media types, parameter names) and RFC 9110 field names.
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_LWSP = b" \t"
# A part's header block at most (an HTTP server's limit for a request's
# headers is of this order): ours are a line or three.
MAX_PART_HEADER_BYTES = 16 * 1024


@dataclass(frozen=True, slots=True)
class Part:
    """One attachment part: lower-cased header names, raw data."""

    headers: dict[str, str]
    body: bytes = field(repr=False)
    index: int = 0  # 1-based position in the body, for error messages

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")

    @property
    def sha2(self) -> str | None:
        """The declared hash, lower-cased: hex digits compare without case."""
        value = self.headers.get("x-experience-api-hash", "").strip()
        return value.lower() or None

    @property
    def transfer_encoding(self) -> str | None:
        value = self.headers.get("content-transfer-encoding")
        return value.strip().lower() if value is not None else None


# --- Content-Type header values -------------------------------------------

def parse_content_type(value: str) -> tuple[str, dict[str, str]]:
    """Split `type/subtype; name=value; ...` into the lower-cased media type
    and its parameters (lower-cased names, unquoted values). RFC 2045 §5.1."""
    essence, sep, rest = value.partition(";")
    essence = essence.strip().lower()
    kind, slash, subtype = essence.partition("/")
    if not (slash and _TOKEN.match(kind) and _TOKEN.match(subtype)):
        raise BadRequest(f"{value!r} is not a media type", field="Content-Type")
    return essence, _parameters(rest, value) if sep else {}


def media_type(value: str) -> str:
    """The lower-cased `type/subtype` of a Content-Type value, no parameters."""
    return parse_content_type(value)[0]


def _parameters(text: str, whole: str) -> dict[str, str]:
    params: dict[str, str] = {}
    pos, end = 0, len(text)
    while pos < end:
        while pos < end and text[pos] in " \t;":
            pos += 1  # tolerate empty parameters: "multipart/mixed;"
        if pos >= end:
            break
        eq = text.find("=", pos)
        if eq < 0:
            raise BadRequest(f"Content-Type {whole!r}: parameter without '='",
                             field="Content-Type")
        name = text[pos:eq].strip().lower()
        if not _TOKEN.match(name):
            raise BadRequest(f"Content-Type {whole!r}: bad parameter name {name!r}",
                             field="Content-Type")
        value, pos = _parameter_value(text, eq + 1, whole)
        if name in params:
            raise BadRequest(f"Content-Type {whole!r}: parameter {name!r} repeated",
                             field="Content-Type")
        params[name] = value
    return params


def _parameter_value(text: str, pos: int, whole: str) -> tuple[str, int]:
    """Read a token or a quoted-string (with backslash escapes) at `pos`;
    return it and the index just past the `;` that ends the parameter."""
    while pos < len(text) and text[pos] in " \t":
        pos += 1
    if pos < len(text) and text[pos] == '"':
        chars: list[str] = []
        pos += 1
        while pos < len(text) and text[pos] != '"':
            if text[pos] == "\\" and pos + 1 < len(text):
                pos += 1
            chars.append(text[pos])
            pos += 1
        if pos >= len(text):
            raise BadRequest(f"Content-Type {whole!r}: unterminated quoted string",
                             field="Content-Type")
        tail = text.find(";", pos + 1)
        tail = len(text) if tail < 0 else tail
        if text[pos + 1:tail].strip():
            raise BadRequest(f"Content-Type {whole!r}: text after a quoted value",
                             field="Content-Type")
        return "".join(chars), tail + 1
    tail = text.find(";", pos)
    tail = len(text) if tail < 0 else tail
    return text[pos:tail].strip(), tail + 1


def _boundary(content_type: str) -> bytes:
    essence, params = parse_content_type(content_type)
    if essence != "multipart/mixed":
        raise BadRequest(f"Content-Type {essence!r} is not multipart/mixed",
                         field="Content-Type")
    boundary = params.get("boundary")
    if not boundary:
        raise BadRequest("multipart/mixed Content-Type has no boundary parameter",
                         field="Content-Type")
    if not _BOUNDARY.match(boundary):
        raise BadRequest(f"multipart boundary {boundary!r} is not valid (RFC 2046 §5.1.1:"
                         " 1 to 70 characters, no trailing space)", field="Content-Type")
    return boundary.encode("ascii")


# --- parsing ----------------------------------------------------------------

def parse_multipart(body: bytes, content_type: str) -> tuple[bytes, list[Part]]:
    """Split a statement request into the statement JSON (first part) and the
    attachment parts. Raises BadRequest for anything malformed."""
    dash = b"--" + _boundary(content_type)
    start, eol, closed = _first_delimiter(body, dash)
    if closed:
        raise BadRequest("multipart body has no parts")
    delimiter = eol + dash
    spans: list[tuple[int, int]] = []
    while not closed:
        found = _next_delimiter(body, delimiter, eol, start)
        if found is None:
            raise BadRequest("multipart body has no closing delimiter "
                             f"(--{dash[2:].decode()}--)")
        end, after, closed = found
        spans.append((start, end))
        start = after
    first = _part(body, spans[0], eol, 1)
    _check_first(first)
    parts = [_part(body, span, eol, n) for n, span in enumerate(spans[1:], start=2)]
    for part in parts:
        _check_attachment_part(part)
    return first.body, parts


def _first_delimiter(body: bytes, dash: bytes) -> tuple[int, bytes, bool]:
    """Find the first delimiter line (at the very start, or after a preamble
    line); return where the first part starts, the body's line ending and
    whether it was already the close delimiter."""
    pos = 0 if body.startswith(dash) else -1
    search = 0
    while True:
        if pos < 0:
            hit = body.find(b"\n" + dash, search)
            if hit < 0:
                raise BadRequest("multipart body does not contain the boundary "
                                 "given in Content-Type")
            pos = hit + 1
        after = pos + len(dash)
        if body.startswith(b"--", after):
            return after + 2, b"\r\n", True
        line_end = _line_end(body, after)
        if line_end is not None:
            start, eol = line_end
            return start, eol, False
        search, pos = pos, -1  # the boundary was a prefix of a longer line


def _line_end(body: bytes, pos: int) -> tuple[int, bytes] | None:
    """After a boundary: optional linear whitespace, then CRLF or LF."""
    while pos < len(body) and body[pos] in _LWSP:
        pos += 1
    if body.startswith(b"\r\n", pos):
        return pos + 2, b"\r\n"
    if body.startswith(b"\n", pos):
        return pos + 1, b"\n"
    return None


def _next_delimiter(body: bytes, delimiter: bytes, eol: bytes,
                    start: int) -> tuple[int, int, bool] | None:
    """Return (end of this part, start of the next, closed?) or None."""
    search = start
    while True:
        hit = body.find(delimiter, search)
        if hit < 0:
            return None
        after = hit + len(delimiter)
        if body.startswith(b"--", after):
            return hit, after + 2, True  # close delimiter; the rest is epilogue
        line_end = _line_end(body, after)
        if line_end is not None and line_end[1] == eol:
            return hit, line_end[0], False
        search = hit + 1


def _part(body: bytes, span: tuple[int, int], eol: bytes, index: int) -> Part:
    start, end = span
    if body.startswith(eol, start, end):
        return Part({}, body[start + len(eol):end], index)  # no headers at all
    blank = body.find(eol + eol, start, end)
    if blank >= 0:
        header_end, data_start = blank, blank + 2 * len(eol)
    elif body.endswith(eol, start, end):
        # Headers then the delimiter, with no data line: an empty part whose
        # blank line is the delimiter's own line break. Unambiguous.
        header_end, data_start = end - len(eol), end
    else:
        raise BadRequest(f"multipart part {index}: headers are not followed by a blank line")
    headers = _headers(body[start:header_end], eol, index)
    return Part(headers, body[data_start:end], index)


def _headers(block: bytes, eol: bytes, index: int) -> dict[str, str]:
    if len(block) > MAX_PART_HEADER_BYTES:
        raise BadRequest(f"multipart part {index}: its headers take more than "
                         f"{MAX_PART_HEADER_BYTES // 1024} KiB")
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest(f"multipart part {index}: headers are not UTF-8") from None
    folded: list[list[str]] = []  # each header line's pieces, joined once
    for line in text.split(eol.decode()):
        if line[:1] in (" ", "\t") and folded:
            folded[-1].append(line.strip())  # RFC 5322 §2.2.3 folded line
        else:
            folded.append([line])
    headers: dict[str, str] = {}
    for line in map(" ".join, folded):
        name, colon, value = line.partition(":")
        name = name.strip().lower()
        if not colon or not _TOKEN.match(name):
            raise BadRequest(f"multipart part {index}: malformed header line {line[:80]!r}")
        if any(ord(c) < 32 and c != "\t" for c in value):
            raise BadRequest(f"multipart part {index}: control character in header {name}")
        if name in headers:
            raise BadRequest(f"multipart part {index}: header {name} repeated")
        headers[name] = value.strip()
    return headers


def _check_first(part: Part) -> None:
    # Communication 1.5.2 / LRS 4.1.3: the first part holds the statements
    # and its Content-Type MUST be application/json (ATT-01, ATT-04).
    if part.content_type is None:
        raise BadRequest("the first multipart part has no Content-Type; "
                         "it must be application/json")
    essence, params = parse_content_type(part.content_type)
    if essence != JSON:
        raise BadRequest(f"the first multipart part is {essence}; it must be {JSON}")
    charset = params.get("charset", "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        # Communication 1.4 / LRS 4.1.2: all strings are UTF-8.
        raise BadRequest(f"the first multipart part has charset {charset}; it must be UTF-8")


def _check_attachment_part(part: Part) -> None:
    # Communication 1.5.2: every part after the first MUST carry
    # X-Experience-API-Hash (ATT-04) and Content-Transfer-Encoding: binary;
    # a missing encoding is read as binary (ATT-05, "SHOULD assume").
    if part.sha2 is None:
        raise BadRequest(f"multipart part {part.index} has no {HASH_HEADER} header",
                         field=HASH_HEADER)
    encoding = part.transfer_encoding
    if encoding is not None and encoding != "binary":
        raise BadRequest(f"multipart part {part.index} has Content-Transfer-Encoding "
                         f"{encoding}; attachment data must be sent as binary")
    if part.content_type is not None:
        parse_content_type(part.content_type)


# --- building ----------------------------------------------------------------

def build_multipart(first_json: bytes,
                    attachments: list[tuple[str, str, bytes]]) -> tuple[bytes, str]:
    """Build a multipart/mixed body: the JSON first, then one part per
    distinct hash (ATT-08: "SHOULD only include one copy"). Each attachment
    is (sha2, content type, data). Returns (body, Content-Type header value)."""
    unique: dict[str, tuple[str, str, bytes]] = {}
    for sha2, content_type, data in attachments:
        _check_header_value(sha2)
        _check_header_value(content_type)
        unique.setdefault(sha2.lower(), (sha2, content_type, data))
    datas = [first_json, *(data for _, _, data in unique.values())]
    boundary = _fresh_boundary(datas)
    dash = b"--" + boundary
    chunks = [dash, b"\r\nContent-Type: application/json\r\n\r\n", first_json]
    for sha2, content_type, data in unique.values():
        chunks += [b"\r\n", dash, b"\r\nContent-Type: ", content_type.encode("ascii"),
                   b"\r\nContent-Transfer-Encoding: binary\r\n", HASH_HEADER.encode(),
                   b": ", sha2.encode("ascii"), b"\r\n\r\n", data]
    chunks += [b"\r\n", dash, b"--\r\n"]
    return b"".join(chunks), f"multipart/mixed; boundary={boundary.decode()}"


def _fresh_boundary(datas: list[bytes]) -> bytes:
    # 128 random bits make a collision practically impossible; the check makes
    # it impossible (RFC 2046 §5.1.1: the boundary must not occur in a part).
    while True:
        boundary = b"xapi-" + secrets.token_hex(16).encode()
        if not any(boundary in data for data in datas):
            return boundary


def _check_header_value(value: str) -> None:
    if not value.isascii() or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError(f"{value!r} cannot be sent as a header value")
