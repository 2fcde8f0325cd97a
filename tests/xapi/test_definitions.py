import copy

from hypothesis import given
from hypothesis import strategies as st

from lrs.xapi.definitions import merge_definition, merge_definitions

MEETING = {
    "name": {"en-US": "example meeting"},
    "description": {"en-US": "An example meeting that happened on a specific occasion."},
    "type": "http://adlnet.gov/expapi/activities/meeting",
    "moreInfo": "http://virtualmeeting.example.com/345256",
    "extensions": {"http://example.com/profiles/meetings/extension/location": "X:\\meetings\\"},
}
CHOICE = {
    "interactionType": "choice",
    "correctResponsesPattern": ["golf[,]tetris"],
    "choices": [
        {"id": "golf", "description": {"en-US": "Golf Example"}},
        {"id": "tetris", "description": {"en-US": "Tetris Example"}},
    ],
}


def test_first_definition_is_taken_whole():
    # ADL suite XAPI-00251: the Activities resource returns the object as sent.
    assert merge_definition(None, MEETING) == MEETING
    assert merge_definition({}, MEETING) == MEETING


def test_languages_accumulate():
    # ADL suite XAPI-00254: en-US from one statement, fr-FR from another.
    later = {**MEETING, "name": {"fr-FR": "réunion"}}
    merged = merge_definition(MEETING, later)
    assert merged["name"] == {"en-US": "example meeting", "fr-FR": "réunion"}


def test_newer_text_wins_for_the_same_language():
    later = {"name": {"en-US": "example meeting (corrected)"}}
    assert merge_definition(MEETING, later)["name"] == {"en-US": "example meeting (corrected)"}


def test_missing_properties_are_filled_in():
    merged = merge_definition({"name": {"en": "x"}}, {"type": "http://x.org/t"})
    assert merged == {"name": {"en": "x"}, "type": "http://x.org/t"}


def test_more_info_and_extensions_update():
    later = {"moreInfo": "http://example.com/new",
             "extensions": {"http://example.com/e2": 2}}
    merged = merge_definition(MEETING, later)
    assert merged["moreInfo"] == "http://example.com/new"
    assert merged["extensions"] == {**MEETING["extensions"], "http://example.com/e2": 2}


def test_significant_changes_are_not_made():
    # 1.0.3 Data 2.4.4.1: SHOULD NOT make significant changes "e.g. changes to
    # correct responses".
    later = {"type": "http://x.org/other", "interactionType": "sequencing",
             "correctResponsesPattern": ["tetris[,]golf"],
             "choices": [{"id": "chess", "description": {"en-US": "Chess"}}]}
    merged = merge_definition({**MEETING, **CHOICE}, later)
    assert merged["type"] == MEETING["type"]
    assert merged["interactionType"] == "choice"
    assert merged["correctResponsesPattern"] == ["golf[,]tetris"]
    assert [c["id"] for c in merged["choices"]] == ["golf", "tetris"]


def test_component_descriptions_merge_by_language():
    later = {"choices": [{"id": "tetris", "description": {"de": "Tetris Beispiel"}}]}
    merged = merge_definition(CHOICE, later)
    assert merged["choices"][1]["description"] == {"en-US": "Tetris Example",
                                                   "de": "Tetris Beispiel"}
    assert merged["choices"][0] == CHOICE["choices"][0]


def test_old_is_not_mutated_and_unchanged_merge_is_equal():
    old = copy.deepcopy({**MEETING, **CHOICE})
    snapshot = copy.deepcopy(old)
    merge_definition(old, {"name": {"fr": "x"}, "choices": [{"id": "golf", "description": {"fr": "g"}}]})
    assert old == snapshot
    assert merge_definition(old, {"name": {"en-US": "example meeting"}}) == old


def test_merge_definitions_folds_in_order():
    assert merge_definitions([]) == {}
    assert merge_definitions([{"name": {"en": "a"}}, {"name": {"en": "b", "fr": "c"}}]) == \
        {"name": {"en": "b", "fr": "c"}}


lmap = st.dictionaries(st.sampled_from(["en", "en-US", "fr", "de"]), st.text(max_size=5),
                       max_size=3)


@given(old=lmap, new=lmap)
def test_no_language_is_lost(old, new):
    merged = merge_definition({"name": old}, {"name": new})["name"]
    assert set(merged) == set(old) | set(new)
    assert all(merged[k] == v for k, v in new.items())


components = st.lists(st.fixed_dictionaries(
    {"id": st.sampled_from(["a", "b", "c"])}, optional={"description": lmap}), max_size=3)
definitions = st.fixed_dictionaries({}, optional={
    "name": lmap, "description": lmap, "type": st.sampled_from(["t:1", "t:2"]),
    "moreInfo": st.sampled_from(["http://m/1", "http://m/2"]),
    "extensions": st.dictionaries(st.sampled_from(["x:1", "x:2", "x:3"]), st.integers(0, 3),
                                  max_size=3),
    "interactionType": st.just("choice"), "choices": components})


@given(st.lists(definitions, max_size=6), st.one_of(st.none(), definitions))
def test_merge_definitions_is_merge_definition_applied_in_turn(news, held):
    inputs = copy.deepcopy((news, held))
    expected = held
    for new in news:
        expected = merge_definition(expected, new)
    assert merge_definitions(news, onto=held) == (expected or {})
    assert (news, held) == inputs  # nothing given was changed

