"""Activities and their definitions: xAPI 1.0.3 Data 2.4.4.1, 2.0 LRS 4.2.2.3
(including Interaction Activities and interaction components)."""

from __future__ import annotations

from lrs.xapi.formats_check import type_rule
from lrs.xapi.validate_common import (check_extensions, check_iri, check_keys,
                                      check_language_map, check_string, fail,
                                      require_object)
from lrs.xapi.versions import V1

_ACTIVITY_KEYS = frozenset(("objectType", "id", "definition"))
_COMPONENT_LISTS = ("choices", "scale", "source", "target", "steps")
_DEFINITION_KEYS = frozenset(
    ("name", "description", "type", "moreInfo", "extensions",
     "interactionType", "correctResponsesPattern") + _COMPONENT_LISTS)
_INTERACTION_PROPS = ("correctResponsesPattern",) + _COMPONENT_LISTS
_COMPONENT_KEYS = frozenset(("id", "description"))

# 1.0.3 Data 2.4.4.1 "Interaction Components": which component lists each
# interactionType supports. The LRS MAY reject the others (SO-07); we do,
# because a list the type does not support has no defined meaning.
_LISTS_FOR_TYPE: dict[str, frozenset[str]] = {
    "true-false": frozenset(),
    "choice": frozenset(("choices",)),
    "fill-in": frozenset(),
    "long-fill-in": frozenset(),
    "matching": frozenset(("source", "target")),
    "performance": frozenset(("steps",)),
    "sequencing": frozenset(("choices",)),
    "likert": frozenset(("scale",)),
    "numeric": frozenset(),
    "other": frozenset(),
}


# 1.0.3 Data 2.2: "Statements and other objects SHOULD NOT include
# properties with a value of an empty object". ADL's 1.0.3 suite rejects
# `"definition": {}` (Data 2.4.4.1.s2) and `"contextActivities": {}`
# (XAPI-00095) with 400; its 2.0 suite accepts the empty definition, and the
# 2.0 book drops the rule, so only 1.0.x statements are held to it.
NO_EMPTY_OBJECT_V1 = ("must not be an empty object in xAPI 1.0.x (1.0.3 Data 2.2: leave the "
                      "property out instead)")


def check_activity(value: object, path: str, version: str, *,
                   object_type_required: bool = False) -> None:
    """An Activity. `objectType` is optional except where noted (it is
    optional everywhere Activities appear: object, contextActivities)."""
    obj = require_object(value, path, "an Activity object")
    if "objectType" in obj:
        kind = obj["objectType"]
        if kind != "Activity":
            if type(kind) is not str:
                fail(f"{path}.objectType", type_rule(kind, "a string"))
            fail(f"{path}.objectType", f'must be "Activity" (case-sensitive), got {kind!r}')
    elif object_type_required:
        fail(f"{path}.objectType", "is required")
    check_keys(obj, _ACTIVITY_KEYS, path)
    if "id" not in obj:
        fail(f"{path}.id", "is required")
    check_iri(obj["id"], f"{path}.id")
    if "definition" in obj:
        check_definition(obj["definition"], f"{path}.definition", version)


def check_definition(value: object, path: str, version: str) -> None:
    obj = require_object(value, path, "an Activity Definition object")
    if not obj and version == V1:
        fail(path, NO_EMPTY_OBJECT_V1)
    check_keys(obj, _DEFINITION_KEYS, path)
    if "name" in obj:
        check_language_map(obj["name"], f"{path}.name")
    if "description" in obj:
        check_language_map(obj["description"], f"{path}.description")
    if "type" in obj:
        check_iri(obj["type"], f"{path}.type")
    if "moreInfo" in obj:
        check_iri(obj["moreInfo"], f"{path}.moreInfo", "an IRL")
    if "extensions" in obj:
        check_extensions(obj["extensions"], f"{path}.extensions")
    if "interactionType" in obj:
        _check_interaction(obj, path)
    else:
        for prop in _INTERACTION_PROPS:
            if prop in obj:
                # ADL suite XAPI-00064: interaction properties imply an
                # Interaction Activity, which MUST have an interactionType.
                fail(f"{path}.interactionType", f"is required when {prop!r} is present")


def _check_interaction(obj: dict, path: str) -> None:
    kind = obj["interactionType"]
    allowed = _LISTS_FOR_TYPE.get(kind) if type(kind) is str else None
    if allowed is None:
        if type(kind) is not str:
            fail(f"{path}.interactionType", type_rule(kind, "a string"))
        fail(f"{path}.interactionType",
             f"must be one of {', '.join(_LISTS_FOR_TYPE)} (case-sensitive), got {kind!r}")
    if "correctResponsesPattern" in obj:
        crp = obj["correctResponsesPattern"]
        cpath = f"{path}.correctResponsesPattern"
        if type(crp) is not list:
            fail(cpath, type_rule(crp, "an array of strings"))
        for i, pattern in enumerate(crp):
            check_string(pattern, f"{cpath}[{i}]")
    for name in _COMPONENT_LISTS:
        if name in obj:
            if name not in allowed:  # type: ignore[operator]
                fail(f"{path}.{name}",
                     f"is not a component list of interactionType {kind!r}")
            _check_components(obj[name], f"{path}.{name}")


def _check_components(value: object, path: str) -> None:
    if type(value) is not list:
        fail(path, type_rule(value, "an array of interaction components"))
    seen: set[str] = set()
    for i, component in enumerate(value):  # type: ignore[arg-type]
        cpath = f"{path}[{i}]"
        comp = require_object(component, cpath, "an interaction component object")
        check_keys(comp, _COMPONENT_KEYS, cpath)
        if "id" not in comp:
            fail(f"{cpath}.id", "is required")
        cid = comp["id"]
        check_string(cid, f"{cpath}.id")
        # 1.0.3 Data 2.4.4.1: within one list, all id values MUST be distinct.
        if cid in seen:
            fail(f"{cpath}.id", f"duplicates the id {cid!r} earlier in this list")
        seen.add(cid)
        if "description" in comp:
            check_language_map(comp["description"], f"{cpath}.description")
