"""lrs.xapi.jsonparse: strict JSON with optional duplicate-key rejection."""

import json
import re

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lrs.errors import BadRequest
from lrs.xapi.jsonparse import MAX_DEPTH, parse_json, parse_parameter


@pytest.mark.parametrize("flag", [False, True])
def test_parses_valid_json(flag):
    body = '{"a": [1, 2.5, "x", true, null, {"b": "ü"}]}'.encode()
    assert parse_json(body, reject_duplicate_keys=flag) == {
        "a": [1, 2.5, "x", True, None, {"b": "ü"}]}


@pytest.mark.parametrize("body", [
    b"", b"{", b"[1,]", b"{'a': 1}", b'{"a": NaN}', b'{"a": Infinity}',
    b'{"a": -Infinity}', b'{"a": 1e400}', b'"\xff"', b'"\xed\xa0\x80"',
    b'"\\ud800"', b'"a\x01b"', b"\xef\xbb\xbf\xef\xbb\xbf{}", b"{\xef\xbb\xbf}", b"{} {}",
])
@pytest.mark.parametrize("flag", [False, True])
def test_rejects_invalid_json(body, flag):
    with pytest.raises(BadRequest) as info:
        parse_json(body, reject_duplicate_keys=flag)
    assert "JSON" in info.value.message


@pytest.mark.parametrize("flag", [False, True])
def test_a_leading_byte_order_mark_is_ignored(flag):
    # RFC 8259 8.1: a parser MAY ignore it; PowerShell 5 and .NET write one.
    assert parse_json(b'\xef\xbb\xbf{"a": [1]}', reject_duplicate_keys=flag) == {"a": [1]}
    with pytest.raises(BadRequest, match="'a'"):
        parse_json(b'\xef\xbb\xbf{"a": 1, "a": 2}', reject_duplicate_keys=True)


def test_duplicate_keys_rejected_only_when_asked():
    body = b'{"actor": {"mbox": "mailto:a@b.c", "mbox": "mailto:d@e.f"}}'
    assert parse_json(body, reject_duplicate_keys=False) == {"actor": {"mbox": "mailto:d@e.f"}}
    with pytest.raises(BadRequest) as info:
        parse_json(body, reject_duplicate_keys=True)
    assert "'mbox'" in info.value.message


def test_duplicate_keys_found_deep_in_arrays():
    body = b'[{"a": 1}, {"b": [{"c": 1, "d": 2, "c": 3}]}]'
    with pytest.raises(BadRequest, match="'c'"):
        parse_json(body, reject_duplicate_keys=True)


json_objects = st.recursive(
    st.dictionaries(st.text(max_size=6), st.none() | st.integers(-2**63, 2**63 - 1) | st.text(max_size=6),
                    min_size=1, max_size=4),
    lambda children: st.dictionaries(st.text(max_size=6), children | st.lists(children, max_size=3),
                                     min_size=1, max_size=4),
    max_leaves=12)


def _objects(value) -> list[dict]:
    """Every object in `value`, at any depth."""
    found = []
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            found.append(node)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


@given(json_objects, st.data())
def test_a_repeated_key_in_compact_json_is_found(value, data):
    # Compact bodies take the fast path (orjson writes them back unchanged
    # unless a pair was dropped): repeat one pair of one object, any depth.
    target = data.draw(st.sampled_from(_objects(value)))
    key = data.draw(st.sampled_from(sorted(target)))
    compact = orjson.dumps(value)
    assert parse_json(compact, reject_duplicate_keys=True) == value
    pair = orjson.dumps({key: target[key]})[1:-1]
    inner = orjson.dumps(target)
    repeated = inner[:-1] + b"," + pair + b"}"
    body = compact.replace(inner, repeated, 1)
    with pytest.raises(BadRequest, match="repeats the key"):
        parse_json(body, reject_duplicate_keys=True)


# How clients write JSON: (between items, between key and value, "\/" for "/").
STYLES = {
    "compact": (",", ":", False),  # JSON.stringify, Jackson, orjson
    "python": (", ", ": ", False),  # json.dumps's defaults
    "php": (",", ":", True),  # json_encode's defaults (Moodle's logstore_xapi)
    "pretty": (",\n    ", ": ", True),  # json_encode with JSON_PRETTY_PRINT
}
# Keys and strings full of what the formatting comparison must not be fooled
# by: spaces, slashes, backslashes, quotes, and the structural characters.
tricky_text = st.text(alphabet='a /\\":,{}[]\né', max_size=6)
tricky_objects = st.recursive(
    st.dictionaries(tricky_text, st.none() | st.integers(-2**63, 2**63 - 1) | tricky_text,
                    min_size=1, max_size=4),
    lambda children: st.dictionaries(tricky_text, children | st.lists(children, max_size=3),
                                     min_size=1, max_size=4),
    max_leaves=12)


def _render(node, style: str, repeat: tuple[dict, str] | None = None) -> str:
    """`node` as a client writing in `style` would send it; with `repeat`,
    the object repeat[0] has its pair repeat[1] written twice."""
    item_sep, key_sep, escaped_slashes = STYLES[style]

    def text(s: str) -> str:
        written = json.dumps(s, ensure_ascii=False)
        return written.replace("/", "\\/") if escaped_slashes else written

    if isinstance(node, dict):
        pairs = list(node.items())
        if repeat is not None and node is repeat[0]:
            pairs.append((repeat[1], node[repeat[1]]))
        return "{" + item_sep.join(text(k) + key_sep + _render(v, style, repeat)
                                   for k, v in pairs) + "}"
    if isinstance(node, list):
        return "[" + item_sep.join(_render(v, style, repeat) for v in node) + "]"
    return text(node) if isinstance(node, str) else json.dumps(node)


@given(tricky_objects, st.sampled_from(sorted(STYLES)), st.data())
def test_a_repeated_key_is_found_however_the_body_is_formatted(value, style, data):
    # Spaced and slash-escaped bodies are compared with orjson's output once
    # both lose their formatting (jsonparse._kept_every_member); that must
    # never hide a repeated pair, whatever the strings hold.
    assert parse_json(_render(value, style).encode(), reject_duplicate_keys=True) == value
    target = data.draw(st.sampled_from(_objects(value)))
    key = data.draw(st.sampled_from(sorted(target)))
    body = _render(value, style, repeat=(target, key)).encode()
    with pytest.raises(BadRequest, match=re.escape(f"repeats the key {key!r}")):
        parse_json(body, reject_duplicate_keys=True)


def test_same_key_in_different_objects_is_fine():
    body = b'[{"id": 1}, {"id": 2, "x": {"id": 3}}]'
    assert parse_json(body, reject_duplicate_keys=True)[1]["x"]["id"] == 3


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def test_depth_limit():
    assert parse_json(_nested(MAX_DEPTH), reject_duplicate_keys=True)
    with pytest.raises(BadRequest, match="deeper"):
        parse_json(_nested(MAX_DEPTH + 1), reject_duplicate_keys=False)


@pytest.mark.parametrize("flag", [False, True])
def test_a_deep_body_with_a_long_integer_is_400_not_500(flag):
    # The exact parse of long integers (json) stops at Python's recursion
    # limit where orjson reads on: the depth is checked before it.
    body = b"[" * 1000 + b"12345678901234567890" + b"]" * 1000
    with pytest.raises(BadRequest, match="deeper"):
        parse_json(body, reject_duplicate_keys=flag)


def test_depth_limit_mixed_containers():
    body = b'{"a":' * 40 + b"[" * 30 + b"]" * 30 + b"}" * 40
    with pytest.raises(BadRequest, match="deeper"):
        parse_json(body, reject_duplicate_keys=False)
    ok = b'{"a":' * 34 + b"[" * 30 + b"]" * 30 + b"}" * 34
    assert parse_json(ok, reject_duplicate_keys=False)


def test_brackets_inside_strings_do_not_count():
    body = ('{"s": "' + "[" * 200 + '"}').encode()
    assert parse_json(body, reject_duplicate_keys=True) == {"s": "[" * 200}


def test_scalars_parse():
    assert parse_json(b"42", reject_duplicate_keys=True) == 42


@pytest.mark.parametrize("raw", [
    '{"mbox": "mailto:a@example.com", "mbox": "mailto:b@example.com"}',
    '{"objectType": "Group", "member": [], "objectType": "Agent"}',
    '{"account": {"name": "a", "homePage": "http://example.com", "name": "b"}}',
])
def test_a_parameter_that_repeats_a_key_is_refused_naming_it(raw):
    with pytest.raises(BadRequest, match="parameter 'agent' repeats the key") as caught:
        parse_parameter(raw, "agent", "a JSON Agent object")
    assert caught.value.field == "agent"


@pytest.mark.parametrize("raw, expected", [
    ('{"mbox": "mailto:a@example.com"}', {"mbox": "mailto:a@example.com"}),
    # As PHP writes it: spaced out, "/" escaped; compared after both are dropped.
    ('{ "openid" : "http:\\/\\/example.com\\/a" }', {"openid": "http://example.com/a"}),
])
def test_a_parameter_without_repeats_is_read(raw, expected):
    assert parse_parameter(raw, "agent", "a JSON Agent object") == expected


@pytest.mark.parametrize("raw", ["not json", '{"mbox": "mailto:\udc80@example.com"}'])
def test_a_parameter_that_is_not_json_is_refused_saying_what_was_expected(raw):
    with pytest.raises(BadRequest, match="parameter 'agent' must be a JSON Agent object"):
        parse_parameter(raw, "agent", "a JSON Agent object")
