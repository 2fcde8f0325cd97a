"""Strict JSON for request bodies: UTF-8 only, no NaN/Infinity, bounded
nesting, and (when asked) no object that repeats a key.

Which versions reject duplicate keys: 2.0 LRS 4.2.1 "An LRS shall reject a
Statement that uses a property more than once" (SV-08). 1.0.3 Data 2.2 makes
it the provider's duty and says "the behavior of the LRS is undefined", so
the caller passes reject_duplicate_keys=(version == V2); for 1.0.3 the last
value wins, as in most parsers.

How, and what it costs (CPython 3.11, one core, an 814-byte statement / a
50-statement 41 KB batch; numbers in this module's history, /tmp benches):
- orjson.loads: 3.1 us / 124 us. It is strict (invalid UTF-8, lone
  surrogates, NaN, 1e400, control characters and trailing commas all fail)
  but silently keeps the last of duplicate keys.
- json.loads with an object_pairs_hook that compares len(dict(pairs)) to
  len(pairs): 10 us / 440 us; the cheapest correct duplicate detector we
  measured (a set of keys returning None, or building the dict, were equal
  or slower). It accepts NaN, 1e400 (as inf), lone surrogates and >64-bit
  integers, so it is never the source of the value.
So orjson always parses (fast common path, one strictness); the json pass
runs only when duplicates must be rejected and is used only as a detector,
and not even then when orjson.dumps gives the body back, apart from
whitespace and escaped slashes (see _kept_every_member: then nothing was
dropped).
Integers beyond 64 bits: orjson reads them as doubles, which would change
the statement we return (IMM-01). A body with a run of 19+ digits is parsed
again by json, which keeps integers exact; `dumps` and `loads` below keep
them exact on the way to storage and back. Such bodies are rare, and the
scan for them costs about 1.4 microseconds per kilobyte.
A UTF-8 byte-order mark before the JSON text is dropped: RFC 8259 8.1 lets a
parser ignore one "in the interests of interoperability", and Windows tools
(PowerShell 5's UTF8 encoding, .NET's StreamWriter by default) write one.
Nesting: a bytes-level scan (translate to brackets, strip innermost pairs)
costs 1.3 us / 28 us and settles the usual case; only when it cannot prove
depth <= MAX_DEPTH do we walk the parsed value (about 4-6 us a statement).
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from lrs.errors import BadRequest

MAX_DEPTH = 64

_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> None:
    if len(dict(pairs)) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


_DUP_DECODER = json.JSONDecoder(object_pairs_hook=_reject_duplicates)
# 19 digits may exceed 2**63; a few false alarms (digits inside strings)
# only cost the slower exact parse. Found by mapping digits to "0" and the
# rest to " " and searching for 19 zeros: 12x faster than a regex here
# (0.6 ms against 7.5 ms on 440 KB of UUIDs and timestamps).
_DIGITS_ONLY = bytes(48 if 48 <= b <= 57 else 32 for b in range(256))
_NINETEEN = b"0" * 19


def _has_long_digits(data: bytes) -> bool:
    return _NINETEEN in data.translate(_DIGITS_ONLY)


def dumps(value: Any, *, sort_keys: bool = False) -> bytes:
    """JSON bytes; exact for integers orjson cannot hold (beyond 64 bits)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS if sort_keys else 0)
    except TypeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"),
                          sort_keys=sort_keys).encode()


def loads(data: bytes | str) -> Any:
    """Stored JSON back to values, keeping integers beyond 64 bits exact."""
    if not _has_long_digits(data.encode() if isinstance(data, str) else data):
        return orjson.loads(data)
    return json.loads(data)


def strict_loads(data: bytes) -> Any:
    """`data` read as parse_json reads a body (strict JSON, integers beyond
    64 bits exact) but as deep as orjson reads: for documents, whose
    content is the client's own. ValueError when it is not strict JSON;
    RecursionError for a long integer nested deeper than the json module
    reads (about 990 levels)."""
    data = _without_bom(data)
    value = orjson.loads(data)
    return json.loads(data) if _has_long_digits(data) else value


def _without_bom(data: bytes) -> bytes:
    return data[3:] if data[:3] == b"\xef\xbb\xbf" else data


def parse_json(body: bytes, *, reject_duplicate_keys: bool) -> Any:
    """Parse a request body; raise BadRequest with a clear message if it is
    not strict JSON (see the module docstring)."""
    body = _without_bom(body)
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}") from None
    # Depth first: orjson reads 1,024 levels, the json module fewer than
    # Python's recursion limit, so a deep body with a long integer in it
    # would stop json.loads with a RecursionError (a 500).
    if nests_too_deep(body, value):
        raise BadRequest(f"the JSON body nests deeper than {MAX_DEPTH} levels")
    if _has_long_digits(body):
        value = json.loads(body)  # orjson already proved it strict JSON
    if reject_duplicate_keys and (key := repeated_key(body, value)) is not None:
        raise BadRequest(
            f"the JSON body repeats the key {key!r} in one object "
            "(xAPI 2.0 LRS 4.2.1: a property is used at most once)")
    return value


def repeated_key(body: bytes, value: Any) -> str | None:
    """A key that some object of `body` repeats (orjson kept its last value
    in `value`), or None. `body` must be strict JSON, as orjson proved by
    parsing it, nested no deeper than MAX_DEPTH (nests_too_deep): the
    json module's detector recurses."""
    if _kept_every_member(body, value):
        return None
    try:
        _DUP_DECODER.decode(body.decode("utf-8"))
    except _DuplicateKey as exc:
        return exc.key
    return None


def parse_parameter(raw: str, name: str, expected: str) -> Any:
    """A JSON query parameter (`agent`): strict JSON that repeats no key, in
    either version. A parameter says which statements a request reads and
    which document it changes or deletes: with a key twice it would name
    two agents, and the last one, silently, would be the one served."""
    try:
        data = raw.encode()  # a lone surrogate cannot be: not JSON either
        value = orjson.loads(data)
    except (UnicodeEncodeError, orjson.JSONDecodeError):
        raise BadRequest(f"parameter {name!r} must be {expected}", field=name) from None
    if nests_too_deep(data, value):
        raise BadRequest(f"parameter {name!r} nests deeper than {MAX_DEPTH} levels",
                         field=name)
    if (key := repeated_key(data, value)) is not None:
        raise BadRequest(f"parameter {name!r} repeats the key {key!r} in one object: "
                         "it would name two things", field=name)
    return value


# What only formats JSON: whitespace between tokens (inside a string only a
# literal space can stand for itself: control characters must be escaped),
# and the backslash of "\/", which PHP's json_encode writes for every "/".
_WHITESPACE = b" \t\n\r"


def _unformatted(text: bytes) -> bytes:
    return text.translate(None, _WHITESPACE).replace(b"\\/", b"/")


def _kept_every_member(body: bytes, value: Any) -> bool:
    """True when parsing `body` provably dropped no repeated key.

    orjson keeps one pair per key, so if it dropped any, its compact output
    of `value` has fewer members than the body. Compact bodies (as
    JSON.stringify and most serializers send them) come back byte for byte:
    0.5 us a statement, against ~12 us for the detector in parse_json.
    Bodies spaced out (Python's json.dumps, pretty printers) or with escaped
    slashes (PHP's json_encode) are compared once both sides lose what only
    formats them. That comparison still counts members exactly: neither a
    space nor the backslash before "/" is ever part of the backslashes
    before a quote, so removing them moves no string's boundary, and every
    "," and ":" between members stays. Other differences (escaped non-ASCII,
    other escapes, numbers written differently) fall to the detector.
    The write path's CPU a statement of 2.0 bodies, with this comparison
    and without (bench/ingest_cost.py): PHP's 51.7 against 63.1 us, Python's
    49.4 against 61.3; compact 45.4 against 49.7, a gain that came from the
    cheaper timestamp paths measured in the same runs."""
    compact = dumps(value)
    return compact == body or _unformatted(compact) == _unformatted(body)


def nests_too_deep(body: bytes, value: Any) -> bool:
    """Whether `value`, parsed from `body`, nests deeper than MAX_DEPTH."""
    if type(value) is not dict and type(value) is not list:
        return False
    # Each pass deletes every innermost "[]" then "{}", removing at least
    # one level, at most two: after n passes to empty, depth <= 2n.
    # Brackets inside strings can only make the scan give up, never pass a
    # value it should not, because then we walk the parsed value instead.
    brackets = body.translate(None, _NOT_BRACKETS)
    for _ in range(MAX_DEPTH // 2):
        if not brackets:
            return False
        brackets = brackets.replace(b"[]", b"").replace(b"{}", b"")
    if not brackets:
        return False
    return _depth(value) > MAX_DEPTH


def _depth(value: Any) -> int:
    deepest = 0
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > deepest:
            deepest = depth
            if deepest > MAX_DEPTH:
                break
        children = node.values() if type(node) is dict else node
        for child in children:
            if type(child) is dict or type(child) is list:
                stack.append((child, depth + 1))
    return deepest
