"""Statement fixtures and a mutation helper shared by the validator tests
(no tests here; imported as `test_validate_data`, a unique module name)."""

from __future__ import annotations

import copy
from typing import Any

DELETE = object()


def change(doc: Any, dotted: str, value: Any) -> Any:
    """A deep copy of `doc` with the property at `dotted` set to `value` (or
    removed when value is DELETE). Path parts that are digits index lists."""
    out = copy.deepcopy(doc)
    parts = dotted.split(".")
    node = out
    for part in parts[:-1]:
        node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
    last = parts[-1]
    if value is DELETE:
        del node[int(last) if last.isdigit() else last]
    elif last.isdigit():
        node[int(last)] = value
    else:
        node[last] = value
    return out


AGENT = {"objectType": "Agent", "name": "Ann", "mbox": "mailto:ann@example.com"}
ANON_GROUP = {"objectType": "Group", "member": [
    {"mbox": "mailto:a@example.com"}, {"account": {"homePage": "http://example.com", "name": "b"}}]}
ACTIVITY = {"objectType": "Activity", "id": "http://example.com/activities/1",
            "definition": {"name": {"en-US": "One"}, "description": {"en-US": "The first"},
                           "type": "http://adlnet.gov/expapi/activities/course",
                           "moreInfo": "http://example.com/more",
                           "extensions": {"http://example.com/ext": None}}}
ATTACHMENT = {
    "usageType": "http://example.com/attachment-usage/test",
    "display": {"en-US": "A test attachment"},
    "description": {"en-US": "A test attachment (description)"},
    "contentType": "text/plain; charset=ascii",
    "length": 27,
    "sha2": "495395e777cd98da653df9615d09c0fd6bb2f8d4788394cd53c56a3bfdcd848a",
    "fileUrl": "http://over.there.com/file.txt",
}

# Valid in both versions, and uses nearly every property.
FULL = {
    "id": "12345678-1234-5678-1234-567812345678",
    "actor": AGENT,
    "verb": {"id": "http://adlnet.gov/expapi/verbs/completed", "display": {"en-US": "completed"}},
    "object": ACTIVITY,
    "result": {"score": {"scaled": 0.5, "raw": 50, "min": 0, "max": 100},
               "success": True, "completion": False, "response": "yes",
               "duration": "PT1H2M3.45S", "extensions": {"http://example.com/r": [1, {"x": None}]}},
    "context": {"registration": "12345678-1234-5678-1234-567812345679",
                "instructor": AGENT, "team": ANON_GROUP,
                "contextActivities": {"parent": [{"id": "http://example.com/p"}],
                                      "grouping": {"id": "http://example.com/g"},
                                      "category": [], "other": [{"id": "http://example.com/o"}]},
                "revision": "r1", "platform": "web", "language": "en-US",
                "statement": {"objectType": "StatementRef", "id": "12345678-1234-5678-1234-56781234567a"},
                "extensions": {"http://example.com/c": "x"}},
    "timestamp": "2024-01-01T12:00:00.123Z",
    "stored": "2024-01-01T12:00:01.000Z",
    "authority": {"objectType": "Agent", "account": {"homePage": "http://lrs.example.com", "name": "key"}},
    "version": "1.0.0",
    "attachments": [ATTACHMENT],
}

SUBSTATEMENT = {
    "objectType": "SubStatement",
    "actor": AGENT,
    "verb": {"id": "http://example.com/planned"},
    "object": {"id": "http://example.com/website"},
    "result": {"success": True},
    "context": {"platform": "web", "language": "fr-CA"},
    "timestamp": "2030-01-01T00:00:00Z",
    "attachments": [ATTACHMENT],
}

WITH_SUB = {"actor": AGENT, "verb": {"id": "http://example.com/planned"}, "object": SUBSTATEMENT}

CONTEXT_AGENTS = [{"objectType": "contextAgent", "agent": {"mbox": "mailto:p1@example.com"},
                   "relevantTypes": ["http://example.com/types/instructor"]},
                  {"objectType": "contextAgent", "agent": {"objectType": "Agent",
                                                           "openid": "http://openid.example.com/1"}}]
CONTEXT_GROUPS = [{"objectType": "contextGroup", "group": ANON_GROUP,
                   "relevantTypes": ["http://example.com/types/team"]},
                  {"objectType": "contextGroup",
                   "group": {"objectType": "Group", "mbox": "mailto:team@example.com"}}]
