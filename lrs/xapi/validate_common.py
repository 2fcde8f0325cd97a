"""Small checks shared by the statement validators: property sets, JSON
types, IRIs, language maps, extension maps. Each raises ValidationError
naming the property path and the rule broken.

Paths: `statement.actor.mbox` for fixed properties, `...member[2]` for array
items, `...display["en-US"]` for map keys (JSON-quoted so any key reads
unambiguously).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Set

from lrs.errors import ValidationError
from lrs.xapi.formats_check import is_iri, is_language_tag, type_rule


def fail(path: str, rule: str) -> None:
    raise ValidationError(path, rule)


def key_path(path: str, key: str) -> str:
    return f"{path}[{json.dumps(key, ensure_ascii=False)}]"


def require_object(value: object, path: str, what: str = "an object") -> dict:
    if type(value) is not dict:
        raise ValidationError(path, type_rule(value, what))
    return value  # type: ignore[return-value]


def check_keys(obj: dict, allowed: Set[str], path: str) -> None:
    """xAPI 1.0.3 Data 2.2, 2.0 LRS 4.2.1: reject keys the spec does not allow
    here, and keys whose letter case differs from the spec's."""
    if obj.keys() <= allowed:
        return
    for key in obj:
        if key not in allowed:
            lowered = key.lower()
            for good in allowed:
                if good.lower() == lowered:
                    fail(f"{path}.{key}",
                         f"is not an allowed property (keys are case-sensitive: use {good!r})")
            fail(f"{path}.{key}", "is not an allowed property here")


def check_string(value: object, path: str) -> None:
    if type(value) is not str:
        fail(path, type_rule(value, "a string"))


def check_bool(value: object, path: str) -> None:
    # 1.0.3 Data 2.2 / 2.0 LRS 4.2.1: "true" (a string) is not a boolean.
    if type(value) is not bool:
        fail(path, type_rule(value, "a boolean"))


def check_number(value: object, path: str) -> float:
    # JSON numbers arrive as int or float; bool is an int subclass, exclude it.
    if type(value) is not int and type(value) is not float:
        fail(path, type_rule(value, "a number"))
    return value  # type: ignore[return-value]


def check_format(value: object, path: str, valid: Callable[[object], bool], what: str,
                 rule: str) -> None:
    """A string of a given format: the JSON-type error when it is no string
    (`what`, e.g. "a UUID string"), else `rule` when it is malformed."""
    if not valid(value):
        fail(path, type_rule(value, what) if type(value) is not str else rule)


def check_iri(value: object, path: str, what: str = "an IRI") -> None:
    if type(value) is not str:
        fail(path, type_rule(value, f"{what} string"))
    if not is_iri(value):
        fail(path, f"must be {what} with a scheme (e.g. http://...), got {value!r}")


def check_language_map(value: object, path: str) -> None:
    """1.0.3 Data 4.2 / 2.0 LRS 4.2.7: keys are RFC 5646 tags, values strings.
    Reading: a language map needs at least one entry (the ADL suite rejects
    `{}` for display, name and description in both versions)."""
    if type(value) is not dict:
        fail(path, type_rule(value, "a language map object"))
    if not value:
        fail(path, "a language map needs at least one entry")
    for tag, text in value.items():  # type: ignore[union-attr]
        if not is_language_tag(tag):
            fail(key_path(path, tag), "key is not an RFC 5646 language tag")
        if type(text) is not str:
            fail(key_path(path, tag), type_rule(text, "a string"))


def check_extensions(value: object, path: str) -> None:
    """1.0.3 Data 4.1 / 2.0 LRS 4.2.7: keys must be IRIs; values are any JSON
    (null included) and are never a reason to reject."""
    if type(value) is not dict:
        fail(path, type_rule(value, "an extensions object"))
    for key in value:  # type: ignore[union-attr]
        if not is_iri(key):
            fail(key_path(path, key), "extension key must be an IRI")
