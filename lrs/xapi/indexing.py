"""What a statement can be found by: the rows the GET /statements filters
search (1.0.3 Communication 2.1.3, 2.0 LRS 4.1.6.1).

Each Agent key and Activity id carries a flag, `direct`:

- True: the plain filter matches it. `agent` matches "the Actor or Object of
  the Statement", and "Groups that have members which match the specified
  Agent" (so the members of an actor or object Group are direct too).
  `activity` matches when "the Object of the Statement is an Activity with
  the specified id".
- False: only the broad filter matches it. `related_agents=true` adds
  "Authority, Instructor, Team" (2.0 adds "Context Agent, Context Group"),
  "or any of these properties in a contained SubStatement";
  `related_activities=true` adds "any of the context Activities, or any of
  those properties in a contained SubStatement".

Readings chosen:
- "Matching is defined in the same way it is for the agent parameter", so
  the members of an authority, instructor, team or context Group are indexed
  (not direct) as well as the Group itself. The authority Group of 3-legged
  OAuth (1.0.3 Data 2.4.9) holds the user and the application; both are
  found with related_agents.
- a SubStatement's actor and object are not "the Actor or Object of the
  Statement", so they are related only.
- contextAgents/contextGroups are indexed whatever the statement's version:
  they can only be present in statements accepted through 2.0.
- the StatementRef rule (STGET-30) is the query's business: the index only
  records the target (`ref_target`); `context.statement` is not a target.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from lrs.xapi.agents import agent_key_or_none, matching_keys
from lrs.xapi.definitions import merge_definitions

VOIDED = "http://adlnet.gov/expapi/verbs/voided"


# Index keys longer than this (in UTF-8 bytes) are stored hashed (index_key).
MAX_PLAIN_KEY = 1000


def index_key(key: str) -> str:
    """An agent key, activity id or verb id as the index stores and searches it.

    PostgreSQL text cannot hold U+0000, which a JSON string (an account name)
    may contain, and a btree entry cannot exceed about 2.7 kB, which an IRI
    or account name may: such a key is kept as its SHA-256 instead. No agent
    key or IRI starts with "#", so this cannot collide with a plain key."""
    if len(key) <= MAX_PLAIN_KEY // 4 and "\x00" not in key:
        return key  # at most 4 bytes a character: short enough, without encoding
    encoded = key.encode("utf-8", "surrogatepass")
    if len(encoded) <= MAX_PLAIN_KEY and b"\x00" not in encoded:
        return key
    return "#sha256:" + hashlib.sha256(encoded).hexdigest()


# Learners and activities recur, statement after statement: a hit costs
# 0.13 us, a hash 1.3 us (about six a statement). Full, the cache holds
# about 17 MB.
@functools.lru_cache(maxsize=1 << 16)
def key_hash(key: str) -> str:
    """What statement_agents and statement_activities hold for an agent key
    or activity id: the first 128 bits of the SHA-256 of its index_key, as
    a uuid's 32 hex digits. A fixed 16 bytes instead of IRIs and agent keys
    of 40-80 bytes: smaller indexes, cheaper to insert into (migration 0009;
    SQL's lrs_key_hash gives the same value). Two keys of one tenant share a
    hash as rarely as two random statement ids share an id."""
    encoded = index_key(key).encode("utf-8", "surrogatepass")
    return hashlib.sha256(encoded).hexdigest()[:32]


class StatementIndex(NamedTuple):
    """What the write path indexes of one statement. A tuple: one is made per
    statement stored, and a frozen dataclass sets each field through
    object.__setattr__."""

    verb: str
    registration: str | None
    # The id the object refers to when it is a StatementRef, lowercased.
    ref_target: str | None
    # A voiding statement (1.0.3 Data 2.3.2): verb voided, object a StatementRef.
    voids: bool
    # agent_key -> direct
    agents: dict[str, bool]
    # activity id -> direct
    activities: dict[str, bool]


def statement_index(stmt: Mapping, *, authority_keys: tuple[str, ...] | None = None,
                    activity_objects: list[Mapping] | None = None) -> StatementIndex:
    """The index rows of a validated (and prepared) statement. What the
    caller may have already, to save working it out again (ingest.batch):
    `authority_keys`, matching_keys of its authority (one authority for
    every statement of a request), and `activity_objects`, its
    statement_activities."""
    agents: dict[str, bool] = {}
    activities: dict[str, bool] = {}
    obj = stmt.get("object") or {}
    kind = obj.get("objectType", "Activity")

    _add_agent(agents, stmt["actor"], direct=True)
    if kind in ("Agent", "Group"):
        _add_agent(agents, obj, direct=True)
    if authority_keys is not None:
        _add(agents, authority_keys, direct=False)
    elif type(authority := stmt.get("authority")) is dict:
        _add_agent(agents, authority, direct=False)
    _index_context_agents(stmt.get("context"), agents)
    if kind == "SubStatement":
        _add_agent(agents, obj.get("actor") or {}, direct=False)
        sub_obj = obj.get("object") or {}
        if sub_obj.get("objectType", "Activity") in ("Agent", "Group"):
            _add_agent(agents, sub_obj, direct=False)
        _index_context_agents(obj.get("context"), agents)

    # The object first when it is an Activity (statement_activities' order):
    # direct; every other one, in the context or a SubStatement, is related.
    found = statement_activities(stmt) if activity_objects is None else activity_objects
    for activity in found:
        activities.setdefault(activity["id"], kind == "Activity" and activity is obj)

    context = stmt.get("context") or {}
    registration = context.get("registration")
    verb = stmt["verb"]["id"]
    ref_target = obj["id"].lower() if kind == "StatementRef" else None
    return StatementIndex(
        verb=verb,
        registration=registration.lower() if isinstance(registration, str) else None,
        ref_target=ref_target,
        voids=verb == VOIDED and ref_target is not None,
        agents=agents,
        activities=activities,
    )


def _add(agents: dict[str, bool], keys: Iterable[str], *, direct: bool) -> None:
    # Direct wins: an agent both actor and instructor matches the plain filter.
    for key in keys:
        if direct:
            agents[key] = True
        else:
            agents.setdefault(key, False)


def _add_agent(agents: dict[str, bool], actor: Mapping, *, direct: bool) -> None:
    """_add of matching_keys(actor), without a generator for a lone Agent
    (nearly every actor, instructor and authority): ~0.3 us each."""
    if actor.get("objectType") == "Group":
        _add(agents, matching_keys(actor), direct=direct)
        return
    key = agent_key_or_none(actor)
    if key is not None:
        if direct:
            agents[key] = True
        else:
            agents.setdefault(key, False)


def _index_context_agents(context: object, agents: dict[str, bool]) -> None:
    """Every agent in a context is related, never direct."""
    if type(context) is not dict:
        return
    for role in ("instructor", "team"):
        actor = context.get(role)
        if type(actor) is dict:
            _add_agent(agents, actor, direct=False)
    for entry in context.get("contextAgents") or ():
        if type(entry) is dict and type(entry.get("agent")) is dict:
            _add_agent(agents, entry["agent"], direct=False)
    for entry in context.get("contextGroups") or ():
        if type(entry) is dict and type(entry.get("group")) is dict:
            _add_agent(agents, entry["group"], direct=False)


def context_activities(context: object) -> list[Mapping]:
    """Every Activity in a context's contextActivities (parent, grouping,
    category, other), single values and arrays alike (1.0.3 Data 2.4.6.2)."""
    if type(context) is not dict:
        return []
    groups = context.get("contextActivities")
    if type(groups) is not dict:
        return []
    found: list[Mapping] = []
    for value in groups.values():
        for activity in value if isinstance(value, list) else (value,):
            if type(activity) is dict and "id" in activity:
                found.append(activity)
    return found


def statement_activities(stmt: Mapping) -> list[Mapping]:
    """Every Activity object in a statement, in document order: the object,
    the context activities, then the SubStatement's object and context
    activities."""
    found: list[Mapping] = []
    _collect(stmt, found)
    obj = stmt.get("object")
    if type(obj) is dict and obj.get("objectType") == "SubStatement":
        _collect(obj, found)
    return found


def _collect(holder: Mapping, found: list[Mapping]) -> None:
    obj = holder.get("object")
    if type(obj) is dict and obj.get("objectType", "Activity") == "Activity" \
            and "id" in obj:
        found.append(obj)
    found.extend(context_activities(holder.get("context")))


def activity_definitions(stmt: Mapping, *,
                         activity_objects: list[Mapping] | None = None) -> dict[str, dict]:
    """Activity id -> definition, for every Activity in `stmt` that carries a
    definition. An id seen several times with definitions gets them merged in
    document order (definitions.merge_definitions), so a later occurrence adds
    languages and corrects text the same way a later statement would.
    `activity_objects`: statement_activities(stmt), when the caller has it."""
    found: dict[str, dict] = {}
    repeated: dict[str, list[dict]] = {}  # ids met with a definition more than once
    for activity in statement_activities(stmt) if activity_objects is None else activity_objects:
        definition = activity.get("definition")
        if type(definition) is dict:
            activity_id = activity["id"]
            if activity_id in found:
                repeated.setdefault(activity_id, [found[activity_id]]).append(definition)
            else:
                found[activity_id] = dict(definition)
    for activity_id, definitions in repeated.items():
        found[activity_id] = merge_definitions(definitions)
    return found
