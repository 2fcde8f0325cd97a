"""Held activity definitions left out of group commits (migration 0016,
lrs/store/held_definitions.py): left out once a worker has seen them held,
sent again once any canonical definition of the tenant has changed, so
that a change made through another worker is never taken as held.

Two workers are two HeldDefinitions, swapped in as the write path's one
per process; the database is real."""

from __future__ import annotations

import asyncpg
import httpx
import orjson

from lrs.store import held_definitions, migrate, statement_insert
from lrs.store.held_definitions import HeldDefinitions
from lrs.store.statement_insert import write_group
from tests import live
from tests.conftest import run
from tests.statements_support import write_batch

COURSE = "http://example.com/course/held"


def _named(name: dict):
    def batch(tenant_id: int):
        return write_batch(tenant_id, [{
            "actor": {"mbox": "mailto:learner@example.com"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
            "object": {"id": COURSE, "definition": {"name": name}},
        }], define=True, tenant="held")
    return batch


async def _tenant(url: str) -> tuple[asyncpg.Connection, int]:
    conn = await asyncpg.connect(url)
    await migrate.apply(conn)
    return conn, await conn.fetchval("INSERT INTO tenants (name) VALUES ('held') RETURNING id")


async def _canonical(conn: asyncpg.Connection, tenant_id: int) -> dict:
    return orjson.loads(await conn.fetchval(
        "SELECT definition -> 'name' FROM activities WHERE tenant_id = $1 AND activity_id = $2",
        tenant_id, COURSE))


async def _epoch(conn: asyncpg.Connection, tenant_id: int) -> int | None:
    return await conn.fetchval("SELECT epoch FROM definition_epochs WHERE tenant_id = $1",
                               tenant_id)


def test_a_change_through_another_worker_is_not_taken_as_held(empty_database, monkeypatch):
    a, b = HeldDefinitions(), HeldDefinitions()
    one, two = _named({"en": "One"}), _named({"en": "Two"})

    async def as_worker(worker: HeldDefinitions, conn, tenant_id: int, batch) -> None:
        monkeypatch.setattr(statement_insert, "HELD", worker)
        assert await write_group(conn, [batch(tenant_id)]) == [None]

    async def scenario() -> list:
        conn, tenant_id = await _tenant(empty_database)
        try:
            seen = []
            await as_worker(a, conn, tenant_id, one)   # new: "One"
            await as_worker(a, conn, tenant_id, one)   # held, unchanged
            seen.append((await _canonical(conn, tenant_id), await _epoch(conn, tenant_id)))
            await as_worker(b, conn, tenant_id, two)   # changed by the other worker
            seen.append((await _canonical(conn, tenant_id), await _epoch(conn, tenant_id)))
            # Worker a has seen "One" held, at the epoch before b's change.
            await as_worker(a, conn, tenant_id, one)
            seen.append((await _canonical(conn, tenant_id), await _epoch(conn, tenant_id)))
            return seen
        finally:
            await conn.close()

    assert run(scenario()) == [
        ({"en": "One"}, None),  # no change yet: the tenant is at epoch 0
        ({"en": "Two"}, 1),
        ({"en": "One"}, 2),  # the newer statement's name, as without the facts
    ]


def test_a_held_definition_is_left_out(empty_database, monkeypatch):
    """Shown by a canonical definition changed behind the write path's back,
    without the epoch: a worker that has seen "One" held leaves it out and
    does not see the change. (Nothing but lrs_write_statements may change a
    canonical definition, for this reason: see migrations/0016.) A worker
    that has not seen it sends it, and the change is merged over."""
    monkeypatch.setattr(statement_insert, "HELD", HeldDefinitions())
    one = _named({"en": "One"})

    async def scenario() -> tuple:
        conn, tenant_id = await _tenant(empty_database)
        try:
            await write_group(conn, [one(tenant_id)])
            await conn.execute(
                "UPDATE activities SET definition = '{\"name\": {\"en\": \"Changed\"}}' "
                "WHERE tenant_id = $1", tenant_id)
            await write_group(conn, [one(tenant_id)])
            left_out = await _canonical(conn, tenant_id)
            monkeypatch.setattr(statement_insert, "HELD", HeldDefinitions())
            await write_group(conn, [one(tenant_id)])
            return left_out, await _canonical(conn, tenant_id)
        finally:
            await conn.close()

    assert run(scenario()) == ({"en": "Changed"}, {"en": "One"})


def _learnt(*calls: tuple[int, dict[str, int]]) -> tuple:
    held = HeldDefinitions()
    for epoch, holding in calls:
        held.learn(7, epoch, holding)
    facts = held.facts(7)
    return facts.epoch, facts.holding


def test_facts_of_one_epoch_are_kept_together():
    assert _learnt((3, {"x": 1, "y": 5}), (3, {"x": 2})) == (3, {"x": 2, "y": 5})


def test_a_newer_epoch_replaces_older_facts():
    assert _learnt((3, {"x": 1}), (4, {"y": 2})) == (4, {"y": 2})


def test_a_late_answer_from_an_older_epoch_adds_nothing():
    assert _learnt((4, {"x": 1}), (3, {"x": 9})) == (4, {"x": 1})


def test_past_its_bound_a_worker_starts_over():
    held = HeldDefinitions(max_activities=3)
    held.learn(1, 0, {"a": 1, "b": 2})
    held.learn(2, 5, {"c": 3})
    held.learn(1, 1, {"d": 4})  # tenant 1's older facts go: 2 activities in all
    assert (held.facts(1).holding, held.facts(2).holding) == ({"d": 4}, {"c": 3})
    held.learn(2, 5, {"e": 5, "f": 6})  # 4 > 3
    assert (held.facts(1), held.facts(2)) == (None, None)


def test_a_fingerprint_tells_definitions_apart():
    fingerprint = held_definitions.fingerprint
    assert fingerprint({"name": {"en": "One"}}) == fingerprint({"name": {"en": "One"}})
    assert fingerprint({"name": {"en": "One"}}) != fingerprint({"name": {"en": "One "}})


def test_two_hosts_serve_the_newest_definition_after_every_post(database_url, new_tenant):
    """Two `lrs serve` on one database, as two hosts behind a load balancer:
    a platform sends the two names of one activity by turns, to one host or
    the other. After every answer, either host's Activities resource gives
    the name just sent: host a, which saw "One" held before host b changed
    it, sends it again instead of leaving it out."""
    tenant = new_tenant()
    activity = f"{COURSE}/{tenant.name}"
    env = live.serve_env(database_url=database_url, log_level="warning")
    with live.served(env=env) as (a, _), live.served(env=env) as (b, _):
        hosts = {"a": a, "b": b}

        def post(host: str, name: str) -> dict:
            statement = {"actor": {"mbox": "mailto:learner@example.com"},
                         "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
                         "object": {"id": activity, "definition": {"name": {"en": name}}}}
            auth, headers = (tenant.key, tenant.secret), {"X-Experience-API-Version": "2.0.0"}
            answer = httpx.post(f"{hosts[host]}/xapi/statements", json=statement, auth=auth,
                                headers=headers)
            assert answer.status_code == 200, answer.text
            other = hosts["b" if host == "a" else "a"]
            return httpx.get(f"{other}/xapi/activities", params={"activityId": activity},
                             auth=auth, headers=headers).json()["definition"]["name"]

        sent = [("a", "One"), ("a", "One"), ("b", "Two"), ("a", "One"), ("b", "Two"),
                ("b", "Two"), ("a", "One")]
        assert [post(host, name) for host, name in sent] == [{"en": n} for _, n in sent]
