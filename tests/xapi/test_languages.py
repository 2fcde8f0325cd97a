import pytest
from hypothesis import given
from hypothesis import strategies as st

from lrs.xapi.languages import (MAX_RANGES, Preferences, parse_accept_language,
                                pick_language, reduce_language_map)


def test_no_header_means_no_preferences():
    assert parse_accept_language(None) == Preferences()
    assert parse_accept_language("") == Preferences()


def test_rfc_2616_example_orders_by_quality():
    # RFC 2616 14.4: "Accept-Language: da, en-gb;q=0.8, en;q=0.7"
    assert parse_accept_language("da, en-gb;q=0.8, en;q=0.7").ranked == ("da", "en-gb", "en")


def test_quality_sorts_and_ties_keep_header_order():
    header = "en;q=0.5, fr, de;q=0.9, es;q=0.9, *;q=0.1"
    assert parse_accept_language(header).ranked == ("fr", "de", "es", "en", "*")


def test_q_zero_is_not_acceptable_and_malformed_items_are_skipped():
    header = "fr;q=0, en-US, x y, de;q=abc, it;q=2, ;q=1, pt ; q=0.3"
    assert parse_accept_language(header) == Preferences(
        (("fr", 0.0), ("en-us", 1.0), ("pt", 0.3)))
    assert parse_accept_language(header).ranked == ("en-us", "pt")


def test_exact_match_ignores_case_and_returns_map_key():
    lmap = {"en-US": "hello", "fr-FR": "bonjour"}
    assert pick_language(lmap, parse_accept_language("FR-fr")) == "fr-FR"


def test_range_matches_longer_tag_by_prefix():
    # RFC 2616 14.4: "en" matches "en-GB".
    assert pick_language({"de": "x", "en-GB": "y"}, parse_accept_language("en")) == "en-GB"


def test_prefix_must_end_at_subtag_boundary():
    assert pick_language({"fr": "y", "enx": "x"}, parse_accept_language("en")) == "fr"


def test_lookup_truncates_range():
    assert pick_language({"fr": "x", "en": "y"}, parse_accept_language("en-US")) == "en"


def test_preference_order_wins_over_map_order():
    lmap = {"en-US": "a", "de": "b", "fr": "c"}
    assert pick_language(lmap, parse_accept_language("fr, de")) == "fr"


def test_same_primary_language_other_region():
    assert pick_language({"fr": "x", "en-GB": "y"}, parse_accept_language("en-US")) == "en-GB"


def test_star_takes_first_key():
    assert pick_language({"de": "x", "fr": "y"}, parse_accept_language("it, *")) == "de"


def test_fallbacks_und_then_english_then_first():
    lmap = {"de": "x", "und": "y", "en-US": "z"}
    assert pick_language(lmap, parse_accept_language("ja")) == "und"
    assert pick_language({"de": "x", "en-us": "z"}, Preferences()) == "en-us"
    assert pick_language({"de": "x", "en": "z"}, Preferences()) == "en"
    assert pick_language({"de": "x", "fr": "z"}, Preferences()) == "de"


def test_a_refused_language_is_never_the_fallback():
    # RFC 2616 14.4: q=0 is "not acceptable". Nothing acceptable in the map:
    # another of its languages stands in, not the refused one (map order first).
    lmap = {"de": "x", "en": "y", "ja": "z"}
    assert pick_language(lmap, parse_accept_language("de;q=0, fr")) == "en"
    assert pick_language(lmap, parse_accept_language("en;q=0, de;q=0")) == "ja"
    # "*" takes the first language that is not refused.
    assert pick_language(lmap, parse_accept_language("de;q=0, *")) == "en"


def test_the_longest_matching_range_decides():
    lmap = {"en-GB": "a", "en-US": "b"}
    assert pick_language(lmap, parse_accept_language("en-GB;q=0, en")) == "en-US"
    assert pick_language(lmap, parse_accept_language("en;q=0, en-GB;q=0.5")) == "en-GB"
    # "*;q=0" refuses only what no other range names.
    assert pick_language({"de": "x", "fr": "y"}, parse_accept_language("*;q=0, fr;q=0.1")) == "fr"


@pytest.mark.parametrize("header, lmap, picked", [
    # "*" gives its quality to every tag no other range matches.
    ("de;q=0.5, *;q=0.8", {"de": "x", "fr": "y"}, "fr"),
    ("*, de;q=0.1", {"de": "x", "fr": "y"}, "fr"),
    # The longest matching range gives a tag its quality, whatever the order.
    ("en-GB;q=0.5, en;q=0.9", {"en-GB": "x", "en-US": "y"}, "en-US"),
    ("en;q=0.9, en-AU;q=0.1", {"en-AU": "x", "en-US": "y"}, "en-US"),
    # An acceptable language beats one only the lookup fallback would find.
    ("en-US, fr;q=0.9", {"en": "x", "fr": "y"}, "fr"),
])
def test_each_language_has_the_quality_rfc_2616_gives_it(header, lmap, picked):
    assert pick_language(lmap, parse_accept_language(header)) == picked


def test_when_every_language_is_refused_one_is_still_shown():
    # STGET-21: a canonical map holds exactly one language.
    assert pick_language({"de": "x", "fr": "y"}, parse_accept_language("*;q=0")) == "de"
    assert pick_language({"de": "x"}, parse_accept_language("de;q=0")) == "de"


def test_empty_map():
    assert pick_language({}, parse_accept_language("en")) is None
    assert reduce_language_map({}, parse_accept_language("en")) == {}


def test_reduce_keeps_one_entry():
    lmap = {"en-US": "a", "es": "b"}
    assert reduce_language_map(lmap, parse_accept_language("es-MX")) == {"es": "b"}


tags = st.from_regex(r"[a-z]{2,3}(-[A-Z]{2})?", fullmatch=True)


@given(st.dictionaries(tags, st.text(), min_size=1), st.lists(tags), st.lists(tags))
def test_pick_always_returns_a_key_of_a_non_empty_map(lmap, ranked, refused):
    prefs = Preferences(tuple((r.lower(), 1.0) for r in ranked)
                        + tuple((r.lower(), 0.0) for r in refused))
    picked = pick_language(lmap, prefs)
    assert picked in lmap
    assert len(reduce_language_map(lmap, prefs)) == 1
    if any(not prefs.refuses(key.lower()) for key in lmap):
        assert not prefs.refuses(picked.lower())


@given(st.text())
def test_parse_never_raises(header):
    result = parse_accept_language(header)
    assert all(isinstance(tag, str) and tag and 0 <= q <= 1 for tag, q in result.ranges)


qualities = st.sampled_from([0.0, 0.1, 0.5, 0.9, 1.0])
primary_tags = st.from_regex(r"[a-z]{2}", fullmatch=True)
ranges = st.lists(st.tuples(st.one_of(tags, st.just("*"), primary_tags), qualities))


@given(st.dictionaries(tags, st.text(), min_size=1), ranges)
def test_the_language_chosen_is_one_the_reader_rates_highest(lmap, header_ranges):
    prefs = Preferences(tuple((r.lower(), q) for r, q in header_ranges))
    rated = {key: (prefs.quality(key.lower()) or (0.0, 0))[0] for key in lmap}
    picked = pick_language(lmap, prefs)
    assert rated[picked] == max(rated.values())


def _quality_by_scanning(ranges, tag):
    """RFC 2616 14.4 read literally: of the ranges matching `tag` (equal to
    it, or a prefix of it ending at a subtag), the longest, the first of
    equals; "*" only when none does."""
    found, longest = None, -1
    for position, (lang_range, quality) in enumerate(ranges):
        if lang_range == "*":
            length = 0
        elif tag == lang_range or tag.startswith(lang_range + "-"):
            length = len(lang_range)
        else:
            continue
        if length > longest:
            found, longest = (quality, position), length
    return found


long_tags = st.from_regex(r"[a-z]{1,3}(-[a-z0-9]{1,3}){0,3}", fullmatch=True)


@given(long_tags, st.lists(st.tuples(st.one_of(long_tags, st.just("*")), qualities)))
def test_a_languages_quality_is_that_of_its_longest_matching_range(tag, header_ranges):
    prefs = Preferences(tuple(header_ranges))
    assert prefs.quality(tag) == _quality_by_scanning(header_ranges, tag)


def test_only_the_first_ranges_of_a_long_header_count():
    """A reader cannot make each language map cost more with a longer list."""
    header = ",".join(f"x-r{i}" for i in range(1000)) + ",fr"
    prefs = parse_accept_language(header)
    assert len(prefs.ranges) == MAX_RANGES and prefs.ranges[0] == ("x-r0", 1.0)
    assert pick_language({"de": "a", "fr": "b"}, prefs) == "de"  # "fr" came too late
    assert pick_language({"de": "a", "x-r31": "b"}, prefs) == "x-r31"
