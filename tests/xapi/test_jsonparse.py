"""lrs.xapi.jsonparse: strict JSON with optional duplicate-key rejection."""

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lrs.errors import BadRequest
from lrs.xapi.jsonparse import MAX_DEPTH, parse_json


@pytest.mark.parametrize("flag", [False, True])
def test_parses_valid_json(flag):
    body = '{"a": [1, 2.5, "x", true, null, {"b": "ü"}]}'.encode()
    assert parse_json(body, reject_duplicate_keys=flag) == {
        "a": [1, 2.5, "x", True, None, {"b": "ü"}]}


@pytest.mark.parametrize("body", [
    b"", b"{", b"[1,]", b"{'a': 1}", b'{"a": NaN}', b'{"a": Infinity}',
    b'{"a": -Infinity}', b'{"a": 1e400}', b'"\xff"', b'"\xed\xa0\x80"',
    b'"\\ud800"', b'"a\x01b"', b"\xef\xbb\xbf{}", b"{} {}",
])
@pytest.mark.parametrize("flag", [False, True])
def test_rejects_invalid_json(body, flag):
    with pytest.raises(BadRequest) as info:
        parse_json(body, reject_duplicate_keys=flag)
    assert "JSON" in info.value.message


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


@given(json_objects, st.data())
def test_a_repeated_key_in_compact_json_is_found(value, data):
    # Compact bodies take the fast path (orjson writes them back unchanged
    # unless a pair was dropped): repeat one pair of one object, any depth.
    objects = []

    def collect(node):
        if isinstance(node, dict):
            objects.append(node)
            for child in node.values():
                collect(child)
        elif isinstance(node, list):
            for child in node:
                collect(child)

    collect(value)
    target = data.draw(st.sampled_from(objects))
    key = data.draw(st.sampled_from(sorted(target)))
    compact = orjson.dumps(value)
    assert parse_json(compact, reject_duplicate_keys=True) == value
    pair = orjson.dumps({key: target[key]})[1:-1]
    inner = orjson.dumps(target)
    repeated = inner[:-1] + b"," + pair + b"}"
    body = compact.replace(inner, repeated, 1)
    with pytest.raises(BadRequest, match="repeats the key"):
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
