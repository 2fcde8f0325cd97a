"""Result (xAPI 1.0.3 Data 2.4.5, 2.0 LRS 4.2.2.4) and Context (1.0.3 Data
2.4.6, 2.0 LRS 4.2.2.5), including 2.0's contextAgents and contextGroups."""

from __future__ import annotations

from lrs.xapi.formats_check import is_duration, is_language_tag, is_uuid, type_rule
from lrs.xapi.validate_activity import NO_EMPTY_OBJECT_V1, check_activity
from lrs.xapi.validate_actor import check_actor, check_agent, check_group
from lrs.xapi.validate_common import (
    check_bool,
    check_extensions,
    check_format,
    check_iri,
    check_keys,
    check_number,
    check_string,
    fail,
    require_object,
)
from lrs.xapi.versions import V1

_RESULT_KEYS = frozenset(("score", "success", "completion", "response",
                          "duration", "extensions"))
_SCORE_KEYS = frozenset(("scaled", "raw", "min", "max"))
_CONTEXT_KEYS_V1 = frozenset(("registration", "instructor", "team",
                              "contextActivities", "revision", "platform",
                              "language", "statement", "extensions"))
# 2.0 LRS 4.2.2.5 adds contextAgents and contextGroups; 1.0.3 rejects them as
# unknown properties (SV-06).
_CONTEXT_KEYS_V2 = _CONTEXT_KEYS_V1 | {"contextAgents", "contextGroups"}
_CONTEXT_ACTIVITY_KEYS = frozenset(("parent", "grouping", "category", "other"))
_CONTEXT_AGENT_KEYS = frozenset(("objectType", "agent", "relevantTypes"))
_CONTEXT_GROUP_KEYS = frozenset(("objectType", "group", "relevantTypes"))
_STATEMENT_REF_KEYS = frozenset(("objectType", "id"))


def check_result(value: object, path: str) -> None:
    obj = require_object(value, path, "a Result object")
    check_keys(obj, _RESULT_KEYS, path)
    if "score" in obj:
        check_score(obj["score"], f"{path}.score")
    if "success" in obj:
        check_bool(obj["success"], f"{path}.success")
    if "completion" in obj:
        check_bool(obj["completion"], f"{path}.completion")
    if "response" in obj:
        check_string(obj["response"], f"{path}.response")
    if "duration" in obj:
        check_format(obj["duration"], f"{path}.duration", is_duration, "a string",
                     "must be an ISO 8601 duration such as PT4H35M59.14S or P4W")
    if "extensions" in obj:
        check_extensions(obj["extensions"], f"{path}.extensions")


def check_score(value: object, path: str) -> None:
    """1.0.3 Data 2.4.5.1: scaled in [-1, 1]; raw in [min, max]; min < max.

    Reading: "min: less than max" is strict, so min == max is rejected."""
    obj = require_object(value, path, "a Score object")
    check_keys(obj, _SCORE_KEYS, path)
    numbers = {}
    for key in obj:
        numbers[key] = check_number(obj[key], f"{path}.{key}")
    scaled = numbers.get("scaled")
    if scaled is not None and not -1 <= scaled <= 1:
        fail(f"{path}.scaled", "must be between -1 and 1 inclusive")
    low, high, raw = numbers.get("min"), numbers.get("max"), numbers.get("raw")
    if low is not None and high is not None and not low < high:
        fail(f"{path}.min", "must be less than max")
    if raw is not None:
        if low is not None and raw < low:
            fail(f"{path}.raw", "must not be less than min")
        if high is not None and raw > high:
            fail(f"{path}.raw", "must not be greater than max")


def check_context(value: object, version: str, path: str, object_is_activity: bool) -> None:
    obj = require_object(value, path, "a Context object")
    check_keys(obj, _CONTEXT_KEYS_V1 if version == V1 else _CONTEXT_KEYS_V2, path)
    if "registration" in obj:
        check_format(obj["registration"], f"{path}.registration", is_uuid, "a UUID string",
                     "must be a UUID")
    if "instructor" in obj:
        check_actor(obj["instructor"], f"{path}.instructor")
    if "team" in obj:
        team = require_object(obj["team"], f"{path}.team", "a Group object")
        if team.get("objectType") != "Group":
            fail(f"{path}.team.objectType", 'must be "Group": a team is a Group')
        check_group(team, f"{path}.team")
    if "contextActivities" in obj:
        _check_context_activities(obj["contextActivities"], f"{path}.contextActivities",
                                  version)
    # 1.0.3 Data 2.4.6: revision and platform "MUST only be used if the
    # Statement's Object is an Activity". The 2.0 LRS book does not repeat
    # it, but the ADL 2.0 suite tests it (contexts.js, XAPI-00084), so both
    # versions enforce it.
    for key in ("revision", "platform"):
        if key in obj:
            check_string(obj[key], f"{path}.{key}")
            if not object_is_activity:
                fail(f"{path}.{key}", "is only allowed when the statement's object is an Activity")
    if "language" in obj:
        check_format(obj["language"], f"{path}.language", is_language_tag, "a string",
                     "must be an RFC 5646 language tag")
    if "statement" in obj:
        check_statement_ref(obj["statement"], f"{path}.statement")
    if "extensions" in obj:
        check_extensions(obj["extensions"], f"{path}.extensions")
    if "contextAgents" in obj:
        _check_context_entries("contextAgents", obj["contextAgents"], f"{path}.contextAgents")
    if "contextGroups" in obj:
        _check_context_entries("contextGroups", obj["contextGroups"], f"{path}.contextGroups")


def check_statement_ref(value: object, path: str) -> None:
    """1.0.3 Data 2.4.4.3: objectType "StatementRef" (required) and id (UUID)."""
    obj = require_object(value, path, "a StatementRef object")
    check_keys(obj, _STATEMENT_REF_KEYS, path)
    kind = obj.get("objectType")
    if kind != "StatementRef":
        if "objectType" not in obj:
            fail(f"{path}.objectType", 'is required and must be "StatementRef"')
        fail(f"{path}.objectType", type_rule(kind, "a string") if type(kind) is not str
             else f'must be "StatementRef" (case-sensitive), got {kind!r}')
    if "id" not in obj:
        fail(f"{path}.id", "is required")
    check_format(obj["id"], f"{path}.id", is_uuid, "a UUID string", "must be a UUID")


def _check_context_activities(value: object, path: str, version: str) -> None:
    """1.0.3 Data 2.4.6.2: keys parent/grouping/category/other; each value an
    Activity or an array of Activities."""
    obj = require_object(value, path, "a contextActivities object")
    if not obj and version == V1:
        fail(path, NO_EMPTY_OBJECT_V1)
    check_keys(obj, _CONTEXT_ACTIVITY_KEYS, path)
    for key, activities in obj.items():
        kpath = f"{path}.{key}"
        if type(activities) is list:
            for i, activity in enumerate(activities):
                check_activity(activity, f"{kpath}[{i}]", version)
        elif type(activities) is dict:
            check_activity(activities, kpath, version)
        else:
            fail(kpath, type_rule(activities, "an Activity or an array of Activities"))


def _context_agent(value: object, path: str) -> None:
    agent = require_object(value, path, "an Agent object")
    if agent.get("objectType", "Agent") != "Agent":
        fail(f"{path}.objectType", 'must be "Agent": use contextGroups for Groups')
    check_agent(agent, path)


def _context_group(value: object, path: str) -> None:
    group = require_object(value, path, "a Group object")
    if group.get("objectType") != "Group":
        fail(f"{path}.objectType", 'is required and must be "Group"')
    check_group(group, path)


# 2.0 LRS 4.2.2.5: contextAgents is [{objectType: "contextAgent", agent:
# Agent, relevantTypes?}], contextGroups [{objectType: "contextGroup", group:
# Group (anonymous or identified), relevantTypes?}]; relevantTypes is a
# non-empty array of IRIs.
_CONTEXT_ENTRIES = {
    "contextAgents": ("contextAgent", "agent", _CONTEXT_AGENT_KEYS, _context_agent),
    "contextGroups": ("contextGroup", "group", _CONTEXT_GROUP_KEYS, _context_group),
}


def _check_context_entries(prop: str, value: object, path: str) -> None:
    object_type, member, keys, check_member = _CONTEXT_ENTRIES[prop]
    if type(value) is not list:
        fail(path, type_rule(value, f"an array of {object_type} objects"))
    for i, item in enumerate(value):  # type: ignore[arg-type]
        ipath = f"{path}[{i}]"
        obj = require_object(item, ipath, f"a {object_type} object")
        check_keys(obj, keys, ipath)
        _check_fixed_type(obj, object_type, ipath)
        if member not in obj:
            fail(f"{ipath}.{member}", "is required")
        check_member(obj[member], f"{ipath}.{member}")
        if "relevantTypes" in obj:
            _check_relevant_types(obj["relevantTypes"], f"{ipath}.relevantTypes")


def _check_fixed_type(obj: dict, expected: str, path: str) -> None:
    if "objectType" not in obj:
        fail(f"{path}.objectType", f"is required and must be {expected!r}")
    kind = obj["objectType"]
    if kind != expected:
        fail(f"{path}.objectType", type_rule(kind, "a string") if type(kind) is not str
             else f"must be {expected!r} (case-sensitive), got {kind!r}")


def _check_relevant_types(value: object, path: str) -> None:
    if type(value) is not list:
        fail(path, type_rule(value, "an array of IRIs"))
    if not value:
        fail(path, "must hold at least one IRI when present")
    for i, iri in enumerate(value):  # type: ignore[arg-type]
        check_iri(iri, f"{path}[{i}]")
