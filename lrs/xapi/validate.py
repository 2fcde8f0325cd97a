"""The statement validator: is this parsed JSON a valid xAPI Statement under
the rules of the request's version? Pure, and never mutates its input.

Entry points:
- validate_statements(payload, version): the body of POST /statements.
- validate_statement(stmt, version, path): one statement (PUT, or each item).
- validate_agent(obj, version, path): an `agent` query/document parameter.
The format checks (is_uuid, is_iri, parse_timestamp, ...) are re-exported
here for query-parameter validation (1.0.3 Data 2.2 / 2.0 LRS 4.1.6: a
parameter value follows the rules of the same type inside statements).

Speed (CPython 3.11, one core, a typical ~800-byte statement with result,
context and a definition, unique ids): about 15-18 us, 55-65k statements/s
validated; 30-40k/s including parse_json (2.0 with duplicate-key check).

Sources: xAPI 1.0.3 Data 2.2-2.4 and 4.x; 2.0 LRS 4.2.1-4.2.7; the ADL LRS
conformance suite where the texts leave a reading open (noted in place).
"""

from __future__ import annotations

import re
from typing import Any

from lrs.errors import ValidationError
from lrs.xapi.formats_check import (
    is_duration,
    is_iri,
    is_language_tag,
    is_mailto_iri,
    is_sha1_hex,
    is_statement_version,
    is_uuid,
    parse_timestamp,
    type_rule,
)
from lrs.xapi.validate_activity import check_activity
from lrs.xapi.validate_actor import IFIS, check_actor, check_group
from lrs.xapi.validate_common import (
    check_extensions,
    check_format,
    check_iri,
    check_keys,
    check_language_map,
    check_string,
    fail,
    require_object,
)
from lrs.xapi.validate_context import check_context, check_result, check_statement_ref
from lrs.xapi.versions import V1

__all__ = [
    "validate_statements", "validate_statement", "validate_agent",
    "validate_language_map", "validate_extensions", "is_uuid", "is_iri",
    "is_language_tag", "is_mailto_iri", "is_sha1_hex", "is_duration",
    "is_statement_version", "parse_timestamp", "VOIDED_VERB",
    "SIGNATURE_USAGE_TYPE",
]

VOIDED_VERB = "http://adlnet.gov/expapi/verbs/voided"
SIGNATURE_USAGE_TYPE = "http://adlnet.gov/expapi/attachments/signature"

_STATEMENT_KEYS = frozenset(("id", "actor", "verb", "object", "result", "context",
                             "timestamp", "stored", "authority", "version",
                             "attachments"))
_SUBSTATEMENT_KEYS = frozenset(("objectType", "actor", "verb", "object", "result",
                                "context", "timestamp", "attachments"))
# 1.0.3 Data 2.4.4.3: a SubStatement MUST NOT have these.
_NOT_IN_SUBSTATEMENT = ("id", "stored", "version", "authority")
_VERB_KEYS = frozenset(("id", "display"))
_ATTACHMENT_KEYS = frozenset(("usageType", "display", "description", "contentType",
                              "length", "sha2", "fileUrl"))
_REQUIRED_ATTACHMENT_KEYS = ("usageType", "display", "contentType", "length", "sha2")
# RFC 2045 5.1 / RFC 6838 4.2: type "/" subtype, optional ";" parameters.
_MEDIA_TYPE = re.compile(
    r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+\-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+\-]*"
    r"(?:\s*;\s*[^\s;=]+=(?:[^\s;\"]+|\"[^\"]*\"))*\s*")
# SHA-224, -256, -384, -512 as hex (1.0.3 Data 2.4.11: "The SHA-2 hash").
_SHA2 = re.compile(r"[0-9a-fA-F]{56}|[0-9a-fA-F]{64}|[0-9a-fA-F]{96}|[0-9a-fA-F]{128}")


def validate_statements(payload: Any, version: str) -> list[dict]:
    """Validate the parsed body of POST /statements; return its statements.

    One object gives paths `statement...`, an array `statement[i]...`.
    Reading: an empty array is a valid (empty) batch; the spec only says
    "an array of Statements". STPOST-05 (1.0.3 Communication 2.1.2 SHOULD*,
    2.0 LRS 4.1.6.1 shall): two statements sharing an id reject the batch.
    """
    if type(payload) is dict:
        validate_statement(payload, version, "statement")
        return [payload]
    if type(payload) is not list:
        raise ValidationError("statement", type_rule(payload, "a Statement object or an array of Statements"))
    seen: dict[str, int] = {}
    for i, stmt in enumerate(payload):
        path = f"statement[{i}]"
        validate_statement(stmt, version, path)
        sid = stmt.get("id")
        if sid is not None:
            key = sid.lower()  # UUIDs are hex: case does not make a new id
            if key in seen:
                raise ValidationError(f"{path}.id", f"repeats the id of statement[{seen[key]}] in this batch")
            seen[key] = i
    return payload


def validate_statement(stmt: Any, version: str, path: str = "statement") -> None:
    """Raise ValidationError(path.to.property, rule) unless `stmt` is valid."""
    obj = require_object(stmt, path, "a Statement object")
    check_keys(obj, _STATEMENT_KEYS, path)
    if "id" in obj:
        check_format(obj["id"], f"{path}.id", is_uuid, "a UUID string",
                     "must be a UUID in standard string form")
    _check_core(obj, version, path, in_substatement=False)
    if "stored" in obj:
        # 1.0.3 Data 2.4.8: the LRS SHOULD validate, then MUST overwrite.
        parse_timestamp(obj["stored"], f"{path}.stored", version)
    if "authority" in obj:
        _check_authority(obj["authority"], f"{path}.authority")
    if "version" in obj:
        ver = obj["version"]
        allowed = "1.0 or 1.0.x" if version == V1 else "1.0[.x] or 2.0[.x]"
        check_format(ver, f"{path}.version", lambda v: is_statement_version(v, version),
                     "a string", f"must be {allowed}, got {ver!r}")
        if version != V1 and ver.startswith("1."):
            _check_1_0_context(obj, path, ver)


# What 2.0 added to Context (2.0 LRS 4.2.2.6).
_CONTEXT_KEYS_2_0 = ("contextAgents", "contextGroups")


def _check_1_0_context(obj: dict, path: str, ver: str) -> None:
    """A statement sent through 2.0 whose `version` says 1.0.x is a 1.0.x
    statement: it keeps that version (2.0 LRS 4.2.4.3) and 1.0.x clients read
    it back as stored, so it may not hold what 1.0.x lacks."""
    sub = obj.get("object")
    contexts = [("context", obj.get("context"))]
    if type(sub) is dict and sub.get("objectType") == "SubStatement":
        contexts.append(("object.context", sub.get("context")))
    for where, context in contexts:
        for key in _CONTEXT_KEYS_2_0:
            if type(context) is dict and key in context:
                fail(f"{path}.{where}.{key}", f"is a 2.0 property, not one of a statement "
                                              f"whose version is {ver!r}")


def validate_agent(obj: Any, version: str, path: str = "agent", *,
                   allow_group: bool = True) -> None:
    """An Agent, or (when `allow_group`) an Identified Group, given as a
    query or document parameter: exactly one IFI either way (1.0.3
    Communication 2.1.3 `agent`; 2.3 State/2.6 Agent Profile; 2.0 LRS 4.1.6).
    `version` is accepted for symmetry: the rules are the same in both."""
    value = require_object(obj, path, "an Agent JSON object")
    if value.get("objectType") == "Group":
        if not allow_group:
            fail(f"{path}.objectType", 'must be "Agent" here, not "Group"')
        check_group(value, path, identified_only=True)
        return
    check_actor(value, path)


def validate_language_map(value: Any, path: str) -> None:
    check_language_map(value, path)


def validate_extensions(value: Any, path: str) -> None:
    check_extensions(value, path)


def _check_core(obj: dict, version: str, path: str, *, in_substatement: bool) -> None:
    """What Statements and SubStatements share: actor, verb, object, result,
    context, timestamp, attachments (1.0.3 Data 2.4.4.3 "validated as a
    Statement")."""
    for key in ("actor", "verb", "object"):
        if key not in obj:
            fail(f"{path}.{key}", "is required")  # 1.0.3 Data 2.2
    check_actor(obj["actor"], f"{path}.actor")
    verb_id = _check_verb(obj["verb"], f"{path}.verb")
    object_is_activity = _check_object(obj["object"], version, f"{path}.object", in_substatement)
    if verb_id == VOIDED_VERB:
        # 1.0.3 Data 2.3.2 / 2.0 LRS 4.2.5: a voiding statement's object is a
        # StatementRef with an id (checked by _check_object already).
        target = obj["object"]
        if target.get("objectType") != "StatementRef":
            fail(f"{path}.object.objectType",
                 'must be "StatementRef" when the verb is http://adlnet.gov/expapi/verbs/voided')
    if "result" in obj:
        check_result(obj["result"], f"{path}.result")
    if "context" in obj:
        check_context(obj["context"], version, f"{path}.context", object_is_activity)
    if "timestamp" in obj:
        parse_timestamp(obj["timestamp"], f"{path}.timestamp", version)
    if "attachments" in obj:
        _check_attachments(obj["attachments"], f"{path}.attachments")


def _check_verb(value: object, path: str) -> str:
    obj = require_object(value, path, "a Verb object")
    check_keys(obj, _VERB_KEYS, path)
    if "id" not in obj:
        fail(f"{path}.id", "is required")
    verb_id = obj["id"]
    check_iri(verb_id, f"{path}.id")
    if "display" in obj:
        check_language_map(obj["display"], f"{path}.display")
    return verb_id


def _check_object(value: object, version: str, path: str, in_substatement: bool) -> bool:
    """Dispatch on objectType (1.0.3 Data 2.4.4: absent means Activity).
    Returns whether the object is an Activity."""
    obj = require_object(value, path, "an object (Activity, Agent, Group, StatementRef or SubStatement)")
    if "objectType" not in obj:
        if any(ifi in obj for ifi in IFIS) or "member" in obj:
            fail(f"{path}.objectType", "is required when an Agent or Group is the object")
        check_activity(obj, path, version)
        return True
    kind = obj["objectType"]
    if kind == "Activity":
        check_activity(obj, path, version)
        return True
    if kind == "Agent" or kind == "Group":
        check_actor(obj, path, object_type_required=True)
    elif kind == "StatementRef":
        check_statement_ref(obj, path)
    elif kind == "SubStatement":
        if in_substatement:
            # 1.0.3 Data 2.4.4.3: a SubStatement cannot be nested.
            fail(f"{path}.objectType", "a SubStatement cannot contain a SubStatement")
        _check_substatement(obj, version, path)
    elif type(kind) is not str:
        fail(f"{path}.objectType", type_rule(kind, "a string"))
    else:
        fail(f"{path}.objectType",
             "must be Activity, Agent, Group, StatementRef or SubStatement "
             f"(case-sensitive), got {kind!r}")
    return False


def _check_substatement(obj: dict, version: str, path: str) -> None:
    for key in _NOT_IN_SUBSTATEMENT:
        if key in obj:
            fail(f"{path}.{key}", "is not allowed in a SubStatement")
    check_keys(obj, _SUBSTATEMENT_KEYS, path)
    _check_core(obj, version, path, in_substatement=True)


def _check_authority(value: object, path: str) -> None:
    """1.0.3 Data 2.4.9: an Agent, or (3-legged OAuth) a Group of two Agents.
    The ADL suite (both versions, XAPI-00098) rejects an Identified Group and
    any Group without exactly two members, so we read the Group as an
    Anonymous Group of exactly two Agents in both versions."""
    if check_actor(value, path) == "Group":
        group: dict = value  # type: ignore[assignment]
        if any(ifi in group for ifi in IFIS):
            fail(path, "an authority Group must be an Anonymous Group (no IFI)")
        if len(group["member"]) != 2:
            fail(f"{path}.member", "an authority Group has exactly two Agents (application and user)")


def _check_attachments(value: object, path: str) -> None:
    """1.0.3 Data 2.4.11 / 2.0 LRS 4.2.2.6 (ATT-11); signature rules from
    1.0.3 Data 2.6 / 2.0 LRS 4.2.6 (the JWS itself is checked elsewhere)."""
    if type(value) is not list:
        fail(path, type_rule(value, "an array of Attachment objects"))
    for i, item in enumerate(value):  # type: ignore[arg-type]
        _check_attachment(item, f"{path}[{i}]")


def _check_attachment(value: object, path: str) -> None:
    obj = require_object(value, path, "an Attachment object")
    check_keys(obj, _ATTACHMENT_KEYS, path)
    for key in _REQUIRED_ATTACHMENT_KEYS:
        if key not in obj:
            fail(f"{path}.{key}", "is required (even when fileUrl is given)")
    usage = obj["usageType"]
    check_iri(usage, f"{path}.usageType")
    check_language_map(obj["display"], f"{path}.display")
    if "description" in obj:
        check_language_map(obj["description"], f"{path}.description")
    content_type = obj["contentType"]
    check_string(content_type, f"{path}.contentType")
    if _MEDIA_TYPE.fullmatch(content_type) is None:
        fail(f"{path}.contentType", "must be an Internet Media Type such as text/plain")
    if usage == SIGNATURE_USAGE_TYPE and content_type.split(";")[0].strip().lower() \
            != "application/octet-stream":
        fail(f"{path}.contentType", "a signature attachment must be application/octet-stream")
    length = obj["length"]
    # Reading: JSON has one number type, so 27.0 counts as the integer 27.
    if not ((type(length) is int) or (type(length) is float and length.is_integer())):
        fail(f"{path}.length", type_rule(length, "an integer"))
    if length < 0:
        fail(f"{path}.length", "must not be negative")
    sha2 = obj["sha2"]
    check_string(sha2, f"{path}.sha2")
    if _SHA2.fullmatch(sha2) is None:
        fail(f"{path}.sha2", "must be a hex SHA-2 digest (SHA-224/256/384/512)")
    if "fileUrl" in obj:
        check_iri(obj["fileUrl"], f"{path}.fileUrl", "an IRL")
