"""Are two statements the same statement? Used for a repeated statement id
(204/200 when equal, 409 when not: 1.0.3 Communication 2.1.1/2.1.2, 2.0 LRS
4.1.6.1) and for signed statements (the JWS payload against the statement
received: 1.0.3 Data 2.6, 2.0 LRS 4.2.6).

The rule (1.0.3 Data 2.3.1 "Statement Comparison Requirements"): differences
that "could have been caused by exceptions to Statement immutability MUST be
ignored", any other difference in serialization "MUST not be ignored". 2.0 LRS
4.2 lists what "shall specifically not" be considered: case, id, order of
group members, authority, stored, timestamp, version, any attachments, any
referenced Activity definitions; and Verb display (it is kept "except for
display").

Reading chosen, for both versions:

- ignored at the top level: `id`, `stored`, `authority`, `version`,
  `timestamp` (1.0.3 lists all five as LRS-assigned properties; 2.0 lists
  them outright) and `attachments` (1.0.3: "Attachments. These are not part
  of Statements"; 2.0: "any attachments"), also inside a SubStatement.
- ignored everywhere: Activity `definition` and Verb `display`.
- Group `member` lists compare as unordered (1.0.3 Data 2.4.2.2).
- a single contextActivities Activity equals a one-element array (the LRS
  itself makes that change, 1.0.3 Data 2.4.6.2).
- case is ignored where a value is case-insensitive by definition: the
  "mailto:" scheme and the e-mail domain (1.0.3 Data 2.3.1), mbox_sha1sum and
  UUID hex digits, language tags (RFC 5646 2.1.1). 2.0's bare "Case" is read
  the same way: making free text (names, responses) case-blind would call
  different statements equal.
- a SubStatement's `timestamp` compares as an instant (serialization of
  timestamps is an exception, 1.0.3 Data 2.3.1); `result.duration` compares
  as a string with digits beyond 0.01 s dropped (1.0.3 Data 4.6 SHOULD*, 2.0
  LRS 4.2.7 shall).
- everything else compares exactly, JSON-typed (true is not 1). IRIs are
  compared as simple strings (1.0.3 Data 3.1; 2.0 LRS 4.2.7), and an omitted
  objectType is not the same serialization as an explicit one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timezone

from lrs.errors import ValidationError
from lrs.xapi.agents import normalize_mbox
from lrs.xapi.formats_check import parse_timestamp
from lrs.xapi.jsonparse import dumps

# Top-level properties the LRS assigns or that are not part of the statement.
IGNORED_TOP_LEVEL = frozenset(
    ("id", "stored", "authority", "version", "timestamp", "attachments"))


def statements_equivalent(a: Mapping, b: Mapping) -> bool:
    """True when `a` and `b` are the same statement under the comparison
    rules above. Cheap when they are identical apart from the ignored
    top-level properties (the usual case: a client retrying a POST)."""
    if a is b or _same_json(a, b, IGNORED_TOP_LEVEL):
        return True
    return _same_json(_canonical_statement(a), _canonical_statement(b), IGNORED_TOP_LEVEL)


def _same_json(x: object, y: object, skip: frozenset[str] = frozenset()) -> bool:
    """Deep equality of parsed JSON with JSON's types: Python's `True == 1`
    and `1 == 1.0` are corrected to "different" and "same"."""
    if isinstance(x, dict) and isinstance(y, dict):
        keys = x.keys() - skip if skip else x.keys()
        if keys != (y.keys() - skip if skip else y.keys()):
            return False
        return all(_same_json(x[k], y[k]) for k in keys)
    if isinstance(x, list) and isinstance(y, list):
        return len(x) == len(y) and all(_same_json(i, j) for i, j in zip(x, y))
    tx, ty = type(x), type(y)
    if tx is not ty:
        numbers = (int, float)
        return tx in numbers and ty in numbers and x == y
    return x == y


def _canonical_statement(stmt: Mapping, sub: bool = False) -> dict:
    """A copy of `stmt` in which every permitted difference is erased."""
    out: dict = {}
    for key, value in stmt.items():
        if key in IGNORED_TOP_LEVEL and not (sub and key == "timestamp"):
            continue
        if key == "actor":
            value = _canonical_actor(value)
        elif key == "verb":
            value = {k: v for k, v in value.items() if k != "display"} \
                if type(value) is dict else value
        elif key == "object":
            value = _canonical_object(value)
        elif key == "context":
            value = _canonical_context(value)
        elif key == "result":
            value = _canonical_result(value)
        elif key == "timestamp":
            value = _instant(value)
        out[key] = value
    return out


def _canonical_actor(actor: object) -> object:
    if type(actor) is not dict:
        return actor
    out = dict(actor)
    if type(out.get("mbox")) is str:
        out["mbox"] = normalize_mbox(out["mbox"])
    if type(out.get("mbox_sha1sum")) is str:
        out["mbox_sha1sum"] = out["mbox_sha1sum"].lower()
    members = out.get("member")
    if isinstance(members, list):
        canonical = [_canonical_actor(m) for m in members]
        out["member"] = sorted(canonical, key=_sort_key)
    return out


def _canonical_object(obj: object) -> object:
    if type(obj) is not dict:
        return obj
    kind = obj.get("objectType", "Activity")
    if kind == "Activity":
        return _canonical_activity(obj)
    if kind in ("Agent", "Group"):
        return _canonical_actor(obj)
    if kind == "StatementRef":
        return _canonical_ref(obj)
    if kind == "SubStatement":
        return _canonical_statement(obj, sub=True)
    return obj


def _canonical_activity(activity: object) -> object:
    if type(activity) is not dict:
        return activity
    return {k: v for k, v in activity.items() if k != "definition"}


def _canonical_ref(ref: object) -> object:
    if type(ref) is dict and type(ref.get("id")) is str:
        return {**ref, "id": ref["id"].lower()}
    return ref


def _canonical_context(context: object) -> object:
    if type(context) is not dict:
        return context
    out = dict(context)
    for key in ("instructor", "team"):
        if key in out:
            out[key] = _canonical_actor(out[key])
    if type(out.get("registration")) is str:
        out["registration"] = out["registration"].lower()
    if type(out.get("language")) is str:
        out["language"] = out["language"].lower()
    if "statement" in out:
        out["statement"] = _canonical_ref(out["statement"])
    activities = out.get("contextActivities")
    if type(activities) is dict:
        out["contextActivities"] = {
            kind: [_canonical_activity(a) for a in (v if isinstance(v, list) else [v])]
            for kind, v in activities.items()}
    for key, inner in (("contextAgents", "agent"), ("contextGroups", "group")):
        entries = out.get(key)
        if isinstance(entries, list):
            out[key] = [{**e, inner: _canonical_actor(e.get(inner))}
                        if type(e) is dict and inner in e else e for e in entries]
    return out


def _canonical_result(result: object) -> object:
    if type(result) is dict and type(result.get("duration")) is str:
        return {**result, "duration": truncate_duration(result["duration"])}
    return result


def _sort_key(value: object) -> bytes:
    return dumps(value, sort_keys=True)


# A duration's seconds, and their fraction if any (1.0.3 Data 4.6: "any
# precision beyond 0.01 second precision SHOULD* NOT be included in the
# comparison"; 2.0 LRS 4.2.7: "shall not").
_SECONDS = re.compile(r"(\d+)(?:[.,](\d*))?S$")


def truncate_duration(duration: str) -> str:
    """`duration` with its seconds written to exactly 0.01 s, so that only
    that much is compared (2.0 LRS 4.2.7; 1.0.3 Data 4.6): "PT1.2345S",
    "PT1.23S" and "PT1.230S" are "PT1.23S"; "PT1S" and "PT1.001S" are
    "PT1.00S"."""
    # The seconds' digits without their leading zeros, as int() would write
    # them back, but for any number of digits (int() refuses over 4,300).
    return _SECONDS.sub(lambda m: f"{m[1].lstrip('0') or '0'}.{(m[2] or '')[:2]:0<2}S",
                        duration)


def _instant(timestamp: object) -> object:
    """A timestamp as a UTC instant to the millisecond (1.0.3 Data 4.5: an LRS
    MAY round to 3 decimal places), so "12:00:00.1234+01:00" equals
    "11:00:00.123Z". A timestamp without a zone is read as UTC, as the
    validator reads it. Anything unparseable compares as its string."""
    if type(timestamp) is not str:
        return timestamp
    try:
        # The validator's own reading (1.0.3's, which takes every form 2.0
        # does): datetime.fromisoformat refused a lower-case "z" before
        # Python 3.12, so such a timestamp compared as its string.
        moment = parse_timestamp(timestamp)
    except ValidationError:
        return timestamp
    moment = moment.astimezone(timezone.utc)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000).isoformat()
