from hypothesis import given
from hypothesis import strategies as st

from lrs.xapi.languages import parse_accept_language, pick_language, reduce_language_map


def test_no_header_means_no_preferences():
    assert parse_accept_language(None) == []
    assert parse_accept_language("") == []


def test_rfc_2616_example_orders_by_quality():
    # RFC 2616 14.4: "Accept-Language: da, en-gb;q=0.8, en;q=0.7"
    assert parse_accept_language("da, en-gb;q=0.8, en;q=0.7") == ["da", "en-gb", "en"]


def test_quality_sorts_and_ties_keep_header_order():
    header = "en;q=0.5, fr, de;q=0.9, es;q=0.9, *;q=0.1"
    assert parse_accept_language(header) == ["fr", "de", "es", "en", "*"]


def test_q_zero_is_not_acceptable_and_malformed_items_are_skipped():
    header = "fr;q=0, en-US, x y, de;q=abc, it;q=2, ;q=1, pt ; q=0.3"
    assert parse_accept_language(header) == ["en-US", "pt"]


def test_exact_match_ignores_case_and_returns_map_key():
    lmap = {"en-US": "hello", "fr-FR": "bonjour"}
    assert pick_language(lmap, ["FR-fr"]) == "fr-FR"


def test_range_matches_longer_tag_by_prefix():
    # RFC 2616 14.4: "en" matches "en-GB".
    assert pick_language({"de": "x", "en-GB": "y"}, ["en"]) == "en-GB"


def test_prefix_must_end_at_subtag_boundary():
    assert pick_language({"fr": "y", "enx": "x"}, ["en"]) == "fr"


def test_lookup_truncates_range():
    assert pick_language({"fr": "x", "en": "y"}, ["en-US"]) == "en"


def test_preference_order_wins_over_map_order():
    lmap = {"en-US": "a", "de": "b", "fr": "c"}
    assert pick_language(lmap, ["fr", "de"]) == "fr"


def test_same_primary_language_other_region():
    assert pick_language({"fr": "x", "en-GB": "y"}, ["en-US"]) == "en-GB"


def test_star_takes_first_key():
    assert pick_language({"de": "x", "fr": "y"}, ["it", "*"]) == "de"


def test_fallbacks_und_then_english_then_first():
    assert pick_language({"de": "x", "und": "y", "en-US": "z"}, ["ja"]) == "und"
    assert pick_language({"de": "x", "en-us": "z"}, []) == "en-us"
    assert pick_language({"de": "x", "en": "z"}, []) == "en"
    assert pick_language({"de": "x", "fr": "z"}, []) == "de"


def test_empty_map():
    assert pick_language({}, ["en"]) is None
    assert reduce_language_map({}, ["en"]) == {}


def test_reduce_keeps_one_entry():
    assert reduce_language_map({"en-US": "a", "es": "b"}, ["es-MX"]) == {"es": "b"}


tags = st.from_regex(r"[a-z]{2,3}(-[A-Z]{2})?", fullmatch=True)


@given(st.dictionaries(tags, st.text(), min_size=1), st.lists(tags))
def test_pick_always_returns_a_key_of_a_non_empty_map(lmap, prefs):
    assert pick_language(lmap, prefs) in lmap
    assert len(reduce_language_map(lmap, prefs)) == 1


@given(st.text())
def test_parse_never_raises(header):
    result = parse_accept_language(header)
    assert all(isinstance(tag, str) and tag for tag in result)
