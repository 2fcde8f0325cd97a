"""The request files wrk replays: statement writes and filtered reads.

Several agencies, each with its own credential; thousands of learners and
hundreds of courses between them (learning.Agency). Statements are sent
without ids, so every request stores new statements however often wrk cycles
through the file (with ids, the second pass would only meet duplicates)."""

from __future__ import annotations

import json
import random
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from conformance.bench.learning import Agency
from conformance.lib import basic_authorization, client_json


@dataclass
class AgencyLoad:
    """One agency's credential and the statements it will send."""
    name: str
    authorization: str
    model: Agency
    statements: list[dict] = field(default_factory=list)


def make_agencies(credentials: list[tuple[str, str] | str], statements_each: int,
                  seed: int) -> list[AgencyLoad]:
    """Generate `statements_each` statements per agency, without ids. A
    credential is a Basic (key, secret) pair or an Authorization value."""
    loads = []
    for i, credential in enumerate(credentials):
        name = f"agency-{chr(ord('a') + i)}"
        # Sized as a large agency: learners and courses scale with `total`.
        model = Agency(name, i, 2_000_000, seed)
        authorization = (credential if isinstance(credential, str)
                         else basic_authorization(*credential))
        load = AgencyLoad(name, authorization, model)
        while len(load.statements) < statements_each:
            for stmt in model.session():
                stmt.pop("id", None)
                load.statements.append(stmt)
        loads.append(load)
    return loads


def write_requests(path: Path, loads: list[AgencyLoad], per_request: int, xapi_path: str,
                   seed: int, style: str = "compact") -> int:
    """A file of POSTs of `per_request` statements each, agencies interleaved
    at random (as their traffic arrives), their bodies written as a client of
    `style` writes JSON (lib.CLIENT_STYLES). Returns the number of lines."""
    rng = random.Random(seed)
    requests = []
    for load in loads:
        stmts = load.statements
        for start in range(0, len(stmts) - per_request + 1, per_request):
            chunk = stmts[start:start + per_request]
            body = client_json(chunk[0] if per_request == 1 else chunk, style)
            requests.append(f"POST\t{xapi_path}statements\t{load.authorization}\t{body}")
    rng.shuffle(requests)
    path.write_text("\n".join(requests) + "\n")
    return len(requests)


# The filters of GET /statements a reporting tool uses, and how a value is
# drawn for each from what the agency sent.
def _agent(stmt: dict) -> dict:
    actor = stmt["actor"]
    return {k: actor[k] for k in ("mbox", "account") if k in actor}


FILTERS = {
    "agent": lambda s: {"agent": json.dumps(_agent(s))},
    "verb": lambda s: {"verb": s["verb"]["id"]},
    "activity": lambda s: {"activity": s["object"]["id"]},
    "registration": lambda s: {"registration": s["context"]["registration"]},
    "related_activities": lambda s: {"activity": s["context"]["contextActivities"]["grouping"][0]["id"],
                                     "related_activities": "true"},
    "related_agents": lambda s: {"agent": json.dumps(_agent(s)), "related_agents": "true"},
    "agent_verb": lambda s: {"agent": json.dumps(_agent(s)), "verb": s["verb"]["id"]},
    # A learner's statements in a course (the course groups each lesson).
    "agent_course": lambda s: {"agent": json.dumps(_agent(s)), "related_activities": "true",
                               "activity": s["context"]["contextActivities"]["grouping"][0]["id"]},
    "since": lambda s: {"since": "2000-01-01T00:00:00Z"},
    "no_filter": lambda s: {},
}


def queryable(statements: list[dict]) -> list[dict]:
    """Those a value of every filter can be drawn from (a StatementRef object
    or no context: no activity or registration to draw)."""
    return [s for s in statements
            if s["object"].get("objectType") != "StatementRef" and "context" in s]


def query_requests(path: Path, load: AgencyLoad, kind: str, xapi_path: str, seed: int,
                   limit: int = 50, count: int = 500,
                   drawn_from: list[dict] | None = None) -> list[str]:
    """A file of GET /statements with filter `kind`, values drawn from
    `drawn_from` (statements the LRS acknowledged, sample.py), else from
    every statement `load` generated. Returns the queries, in file order."""
    rng = random.Random(f"{seed}:{kind}")
    usable = queryable(load.statements if drawn_from is None else drawn_from)
    queries = []
    for _ in range(count):
        params = FILTERS[kind](rng.choice(usable)) | {"limit": str(limit)}
        queries.append(f"{xapi_path}statements?{urllib.parse.urlencode(params)}")
    path.write_text("".join(f"GET\t{q}\t{load.authorization}\t\n" for q in queries))
    return queries
