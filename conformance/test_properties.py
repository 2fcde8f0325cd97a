"""Property-based checks (hypothesis), bounded to a few dozen examples each.

IMM-01 / DT-10 / SV-10: extension values (any JSON) and result values round-trip exactly.
DOC-10: POST to a JSON document is a shallow merge (Python's dict.update).
GEN-05: arbitrary Unicode in language maps round-trips."""

from __future__ import annotations

import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.lib import assert_status, read_statement

# Any Unicode scalar value, NUL included (valid in JSON strings; a classic storage-engine
# edge case). Lone surrogates are excluded: they are not valid UTF-8 (GEN-05).
_text_chars = st.characters(exclude_categories=("Cs",))


def _text(**kw):
    return st.text(alphabet=_text_chars, **kw)

# database=None: no .hypothesis folder left in the directory the suite runs from.
SETTINGS = settings(max_examples=15, deadline=None, derandomize=False, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# JSON values whose serialization is unambiguous: no floats that need more than
# single precision (SV-10 only asks for IEEE 754 single precision), no NaN/inf.
_scalars = st.one_of(
    st.none(), st.booleans(),
    st.integers(min_value=-(2 ** 24), max_value=2 ** 24),
    st.integers(min_value=-64, max_value=64).map(lambda i: i / 4),
    _text(max_size=20),
)
json_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(_text(min_size=1, max_size=8), inner, max_size=4)),
    max_leaves=12,
)
ext_keys = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=10).map(
    lambda s: f"http://conformance.example.com/ext/{s}")


@SETTINGS
@given(ext=st.dictionaries(ext_keys, json_values, min_size=1, max_size=3),
       name=_text(min_size=1, max_size=30).filter(lambda s: s.strip() != ""))
def test_imm_01_dt_10_extensions_and_language_maps_round_trip(lrs, f, ext, name):
    s = f.statement(result={"extensions": ext, "response": name})
    s["object"]["definition"]["name"] = {"en-US": name}
    s["context"] = {"extensions": ext}
    r = lrs.post_statements(s)
    assert_status(r, 200)
    got = read_statement(lrs, s["id"])
    assert got["result"]["extensions"] == ext
    assert got["context"]["extensions"] == ext
    assert got["result"]["response"] == name
    assert got["object"]["definition"]["name"] == {"en-US": name}


_doc_values = st.one_of(st.integers(-1000, 1000), _text(max_size=10), st.booleans(), st.none(),
                        st.lists(st.integers(0, 9), max_size=3),
                        st.dictionaries(_text(min_size=1, max_size=4), st.integers(0, 9), max_size=3))
_docs = st.dictionaries(_text(min_size=1, max_size=6), _doc_values, max_size=5)


@SETTINGS
@given(first=_docs, second=_docs)
def test_doc_10_post_merge_is_shallow_update(lrs, f, first, second):
    params = {"activityId": f.activity_id("merge"), "profileId": "p-" + uuid.uuid4().hex}
    assert_status(lrs.post("activities/profile", params=params, json_body=first), 204)
    assert_status(lrs.post("activities/profile", params=params, json_body=second), 204)
    got = lrs.get("activities/profile", params=params)
    assert_status(got, 200)
    want = dict(first)
    want.update(second)
    assert got.json() == want
