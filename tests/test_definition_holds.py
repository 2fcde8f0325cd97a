"""lrs_definition_holds (migrations/0007_write_statements.sql) lets a write
skip the canonical definition when it brings nothing new. It must never say
so when merge_definition (lrs/xapi/definitions.py) would change the
definition, and should say so for the usual repeats."""

from __future__ import annotations

import asyncpg
import orjson
import pytest

from lrs.xapi.definitions import merge_definition
from tests.conftest import run

COURSE = "http://adlnet.gov/expapi/activities/course"
HELD = {"name": {"en-GB": "Induction", "fr-FR": "Intégration"}, "type": COURSE,
        "description": {"en-GB": "The course"}, "moreInfo": "http://example.com/more",
        "extensions": {"http://example.com/x": {"a": 1, "b": [1, 2]}},
        "interactionType": "choice", "correctResponsesPattern": ["a"],
        "choices": [{"id": "a", "description": {"en-GB": "A"}},
                    {"id": "b", "description": {"en-GB": "B"}}]}

HELD_ALREADY = [
    {},
    {"name": {"en-GB": "Induction"}},
    {"name": {"fr-FR": "Intégration", "en-GB": "Induction"}},
    {"type": COURSE},
    {"type": "http://example.com/other-type"},  # kept once known
    {"interactionType": "sequencing", "correctResponsesPattern": ["b"]},
    {"extensions": {"http://example.com/x": {"b": [1, 2], "a": 1}}},
    {"moreInfo": "http://example.com/more"},
    {"choices": HELD["choices"]},
    HELD,
]
BRINGS_SOMETHING = [
    {"name": {"en-GB": "Staff induction"}},
    {"name": {"de-DE": "Einführung"}},
    {"description": {"fr-FR": "Le cours"}},
    {"moreInfo": "http://example.com/moved"},
    {"extensions": {"http://example.com/x": {"a": 1}}},  # replaced whole, so smaller
    {"extensions": {"http://example.com/y": 1}},
    {"choices": [{"id": "a", "description": {"en-GB": "Choice A"}}]},
    {"choices": [{"id": "a", "description": {"en-GB": "A"}}]},  # judged on the safe side
    {"name": "not a language map"},
    {"steps": [{"id": "s", "description": {"en-GB": "S"}}]},
]


async def _holds(database_url: str, cases: list[dict]) -> list[bool]:
    conn = await asyncpg.connect(database_url)
    try:
        return [await conn.fetchval("SELECT lrs_definition_holds($1::text::jsonb, $2::text::jsonb)",
                                    orjson.dumps(HELD).decode(), orjson.dumps(c).decode())
                for c in cases]
    finally:
        await conn.close()


@pytest.mark.parametrize("incoming", HELD_ALREADY)
def test_a_repeat_is_held_and_merging_it_changes_nothing(database_url, incoming):
    assert run(_holds(database_url, [incoming])) == [True]
    assert merge_definition(HELD, incoming) == HELD


@pytest.mark.parametrize("incoming", BRINGS_SOMETHING)
def test_never_held_when_merging_could_change_it(database_url, incoming):
    assert run(_holds(database_url, [incoming])) == [False]
