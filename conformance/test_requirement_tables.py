"""GEN-11: the LRS enforces the requirement tables of every resource.

2.0 LRS §4.1 and §4.1.6: each resource's methods come with a table of
parameters (type, required or not), and the LRS rejects requests where a
parameter is missing though required, null, of the wrong type, not following
its format (the empty string included), or an enumerated value in the wrong
case, "with appropriate error code": 400 (§4.1.5). 1.0.3 has the same tables
(Part Three §2) and the same rules for parameter values (Part Two §2.2), so the
tables are checked in both versions, as GEN-09/10 there.

Every table is data here, and every row gets every breach its type allows.
Each invalid request must be answered 400 and change nothing: a document
PUT or POST creates no document, a DELETE removes none, a statement PUT
stores no statement. Free-form strings (`stateId`, `profileId`) have no format
to break, so their only breach is being left out."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field

import pytest

from conformance.lib import assert_status

# Values that break each parameter type, as §4.1.6 lists the ways to break one.
BREACHES = {
    "uuid": ["not-a-uuid", "", "null", "00000000-0000-0000-0000"],
    "iri": ["no-scheme", "", "null"],
    "agent": ["not json", "", "null", "[]", "{}", '"mailto:a@example.com"',
              '{"mbox": "a@example.com"}',  # an mbox without mailto:
              '{"mbox": "mailto:a@example.com", "openid": "http://example.com/a"}'],  # two IFIs
    "timestamp": ["yesterday", "", "null", "2020-13-01T00:00:00Z"],
    "integer": ["ten", "-1", "1.5", "", "null"],
    "boolean": ["yes", "True", "1", "", "null"],
    "format": ["IDS", "full", "", "null"],  # ids, exact or canonical, in that case
    "string": [],
}


@dataclass(frozen=True)
class Table:
    path: str
    method: str
    required: dict[str, str]  # parameter -> type
    optional: dict[str, str] = field(default_factory=dict)
    variant: str = ""  # tells apart the tables of one method (GET statements)

    @property
    def id(self) -> str:
        return "-".join(filter(None, (self.path.replace("/", "_"), self.method.lower(),
                                      self.variant)))


# A GET or DELETE without the document's id is the multiple-document form:
# leaving the id out is no breach there, and an id has no format to break, so
# those forms are checked without it (`since` then belongs to the GET).
_STATE = {"activityId": "iri", "agent": "agent"}
_STATE_ONE = {**_STATE, "stateId": "string"}
_AGENT_PROFILE = {"agent": "agent", "profileId": "string"}
_ACTIVITY_PROFILE = {"activityId": "iri", "profileId": "string"}

TABLES = [
    # §4.1.6.1
    Table("statements", "PUT", {"statementId": "uuid"}),
    Table("statements", "GET", {}, {"statementId": "uuid"}, "single"),
    Table("statements", "GET", {}, {"voidedStatementId": "uuid"}, "voided"),
    Table("statements", "GET", {}, {
        "agent": "agent", "verb": "iri", "activity": "iri", "registration": "uuid",
        "related_activities": "boolean", "related_agents": "boolean", "since": "timestamp",
        "until": "timestamp", "limit": "integer", "format": "format", "attachments": "boolean",
        "ascending": "boolean"}, "multiple"),
    # §4.1.6.2
    Table("activities/state", "PUT", _STATE_ONE, {"registration": "uuid"}),
    Table("activities/state", "POST", _STATE_ONE, {"registration": "uuid"}),
    Table("activities/state", "GET", _STATE, {"registration": "uuid", "since": "timestamp"}),
    Table("activities/state", "DELETE", _STATE, {"registration": "uuid"}),
    # §4.1.6.3, §4.1.6.4
    Table("agents", "GET", {"agent": "agent"}),
    Table("activities", "GET", {"activityId": "iri"}),
    # §4.1.6.5
    Table("agents/profile", "PUT", _AGENT_PROFILE),
    Table("agents/profile", "POST", _AGENT_PROFILE),
    Table("agents/profile", "DELETE", _AGENT_PROFILE),
    Table("agents/profile", "GET", {"agent": "agent"}, {"since": "timestamp"}),
    # §4.1.6.6
    Table("activities/profile", "PUT", _ACTIVITY_PROFILE),
    Table("activities/profile", "POST", _ACTIVITY_PROFILE),
    Table("activities/profile", "DELETE", _ACTIVITY_PROFILE),
    Table("activities/profile", "GET", {"activityId": "iri"}, {"since": "timestamp"}),
]


def _valid(table: Table, f) -> dict[str, str]:
    """Values for the table's required parameters that break nothing, for
    a document no other test uses."""
    tag = uuid.uuid4().hex[:10]
    values = {"activityId": f.activity_id(f"tables-{tag}"),
              "agent": json.dumps(f.agent(f"tables-{tag}")),
              "stateId": f"state-{tag}", "profileId": f"profile-{tag}",
              "statementId": str(uuid.uuid4())}
    return {name: values[name] for name in table.required}


def _invalid(table: Table, valid: dict[str, str],
             version: str) -> list[tuple[str, dict[str, str]]]:
    """(what is wrong, the parameters) for every breach of every row."""
    cases = [(f"{name} missing", {k: v for k, v in valid.items() if k != name})
             for name in table.required]
    for name, kind in {**table.required, **table.optional}.items():
        breaches = BREACHES[kind]
        if kind == "agent" and version.startswith("2."):
            breaches = [*breaches, _repeated_mbox(valid.get(name))]
        cases += [(f"{name}={bad!r}", {**valid, name: bad}) for bad in breaches]
    return cases


def _repeated_mbox(agent: str | None) -> str:
    """An agent that gives `mbox` twice (2.0 LRS 4.2.1, SV-08: a property is
    used at most once; GEN-09: a parameter is held to the rules of the same
    type in a statement), the valid agent's last: an LRS that keeps the last
    value silently reads, changes or deletes that agent's documents."""
    agent = agent or json.dumps({"objectType": "Agent", "mbox": "mailto:a@example.com"})
    return '{"mbox": "mailto:someone-else@example.com", ' + agent.lstrip()[1:]


def _document(table: Table, valid: dict[str, str]) -> dict[str, str]:
    """The single document the valid parameters name (for a multiple-document
    form: one such document in the set they name)."""
    if table.path == "activities/state" and "stateId" not in valid:
        return {**valid, "stateId": "tables-kept"}
    if table.path.endswith("/profile") and "profileId" not in valid:
        return {**valid, "profileId": "tables-kept"}
    return valid


@pytest.mark.parametrize("table", TABLES, ids=[t.id for t in TABLES])
def test_gen_09_10_11_requirement_tables(lrs, f, table):
    valid = _valid(table, f)
    registration = str(uuid.uuid4())
    statement = f.statement(registration=registration, with_id=False)
    is_document = table.path not in ("statements", "agents", "activities")
    if is_document and table.method == "DELETE":
        # Something a wrongly accepted DELETE would remove.
        assert_status(lrs.put(table.path, params=_document(table, valid), json_body={"kept": 1},
                              headers={"If-None-Match": "*"}), 204)

    wrong = []
    for what, params in _invalid(table, valid, lrs.version):
        kw = {}
        if table.method in ("PUT", "POST"):
            kw["json_body"] = statement if table.path == "statements" else {"stored": True}
        if table.method == "PUT" and is_document:
            kw["headers"] = {"If-None-Match": "*"}  # the precondition a PUT may need, met
        r = lrs.request(table.method, table.path, params=params, **kw)
        if r.status_code != 400:
            wrong.append(f"{what}: {r.status_code} {r.text[:120]}")
    assert not wrong, (f"GEN-11: {table.method} {table.path} must answer 400 when a parameter "
                       f"breaks its table; it answered otherwise for: " + "; ".join(wrong))

    # Nothing changed.
    if table.path == "statements" and table.method == "PUT":
        r = lrs.get("statements", params={"registration": registration})
        assert_status(r, 200)
        assert r.json()["statements"] == [], "GEN-11: a refused PUT stored its statement"
    elif is_document and table.method == "DELETE":
        r = lrs.get(table.path, params=_document(table, valid))
        assert_status(r, 200)
        assert r.json() == {"kept": 1}, "GEN-11: a refused DELETE removed the document"
    elif is_document and table.method in ("PUT", "POST"):
        assert_status(lrs.get(table.path, params=_document(table, valid)), 404)
