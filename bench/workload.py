"""The GET /statements queries the benchmarks run, by filter kind.

Each kind draws its parameters at random (seeded) from values that occur in
the loaded data, as listed in the manifest bench/generate.py writes; so
frequent and rare values both turn up (a learner with 3 statements, a verb
with 300,000)."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable

import orjson

Params = dict[str, str]


def _when(tenant: dict, rng: random.Random) -> dt.datetime:
    lo = dt.datetime.fromisoformat(tenant["stored_min"])
    hi = dt.datetime.fromisoformat(tenant["stored_max"])
    return lo + (hi - lo) * rng.random()


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _agent(actor: dict) -> str:
    return orjson.dumps({k: v for k, v in actor.items() if k != "name"}).decode()


def agent(t: dict, rng: random.Random) -> Params:
    return {"agent": _agent(rng.choice(t["learners"]))}


def verb(t: dict, rng: random.Random) -> Params:
    return {"verb": rng.choice(t["verbs"])}


def activity(t: dict, rng: random.Random) -> Params:
    return {"activity": rng.choice(t["lessons"])}


def registration(t: dict, rng: random.Random) -> Params:
    return {"registration": rng.choice(t["registrations"])}


def since(t: dict, rng: random.Random) -> Params:
    return {"since": _iso(_when(t, rng))}


def until(t: dict, rng: random.Random) -> Params:
    return {"until": _iso(_when(t, rng))}


def since_until(t: dict, rng: random.Random) -> Params:
    a, b = sorted((_when(t, rng), _when(t, rng)))
    return {"since": _iso(a), "until": _iso(b)}


def related_activities(t: dict, rng: random.Random) -> Params:
    # A course or a module: found as parent/grouping of most statements.
    pick = rng.choice(t["courses"]) if rng.random() < 0.5 else rng.choice(t["modules"])
    return {"activity": pick, "related_activities": "true"}


def related_agents(t: dict, rng: random.Random) -> Params:
    # An instructor (context only) or a learner (actor).
    who = rng.choice(t["instructors"]) if rng.random() < 0.5 else rng.choice(t["learners"])
    return {"agent": _agent(who), "related_agents": "true"}


def agent_verb(t: dict, rng: random.Random) -> Params:
    return {**agent(t, rng), **verb(t, rng)}


def verb_since(t: dict, rng: random.Random) -> Params:
    return {**verb(t, rng), **since(t, rng)}


def busiest_agent(t: dict, rng: random.Random) -> Params:
    # The head of the learners' long tail: u0 has ~17% of the statements.
    home = f"https://moodle.{t['name']}.gov.example"
    return {"agent": _agent({"account": {"homePage": home, "name": f"u{rng.randrange(4)}"}})}


def busiest_agent_verb(t: dict, rng: random.Random) -> Params:
    # A busy learner and a verb: common for them too (answered), or common
    # in the agency but rare for them (failed).
    return {**busiest_agent(t, rng), **verb(t, rng)}


def course_direct(t: dict, rng: random.Random) -> Params:
    # A course as the object (launched, terminated, passed, failed): about a
    # fifth of the course's index rows are direct, the rest parent/grouping.
    return {"activity": rng.choice(t["courses"])}


def none(t: dict, rng: random.Random) -> Params:
    return {}


def ascending_activity(t: dict, rng: random.Random) -> Params:
    return {**related_activities(t, rng), "ascending": "true"}


KINDS: dict[str, Callable[[dict, random.Random], Params]] = {
    "agent": agent,
    "verb": verb,
    "activity": activity,
    "registration": registration,
    "since": since,
    "until": until,
    "since+until": since_until,
    "related_activities": related_activities,
    "related_agents": related_agents,
    "agent (busiest)": busiest_agent,
    "activity (course)": course_direct,
    "agent+verb": agent_verb,
    "agent (busiest)+verb": busiest_agent_verb,
    "verb+since": verb_since,
    "(none)": none,
    "related_activities asc": ascending_activity,
}
# The kinds the issue sets targets for (ms at p95, limit 50).
TARGETS = {"agent": 20, "verb": 20, "activity": 20, "registration": 20, "since": 20,
           "until": 20, "since+until": 20, "related_activities": 50, "related_agents": 50}
