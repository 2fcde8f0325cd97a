"""Voiding, immutability and tenant isolation over HTTP (1.0.3 Data 2.3.2,
Communication 2.1.3; 2.0 LRS 4.1.6.1, 4.2.4.1; IMM, STGET voided rules)."""

from __future__ import annotations

import concurrent.futures

import pytest

from tests.conftest import make_tenant
from tests.statements_support import (CONSISTENT, get_one, listed_ids, new_id, post, statement,
                                      stored, voiding)


def voided_one(client, sid):
    return client.get("/xapi/statements", params={"voidedStatementId": sid})


def test_a_voided_statement_is_found_only_by_voided_statement_id(client):
    target = new_id()
    stored(client, statement(id=target))
    [void] = stored(client, voiding(target))
    assert get_one(client, target).status_code == 404
    got = voided_one(client, target)
    assert got.status_code == 200
    assert got.json()["id"] == target
    assert CONSISTENT in got.headers
    assert listed_ids(client) == [void]
    # A statement that is not voided is not found as a voided one.
    assert voided_one(client, void).status_code == 404


def test_voiding_a_voiding_statement_has_no_effect(client):
    target = new_id()
    stored(client, statement(id=target))
    [void] = stored(client, voiding(target))
    [void_of_void] = stored(client, voiding(void))
    assert get_one(client, void).status_code == 200
    assert voided_one(client, void).status_code == 404
    assert get_one(client, target).status_code == 404
    assert listed_ids(client) == [void_of_void, void]


def test_a_voiding_statement_arriving_first_still_voids_its_target(client):
    target = new_id()
    [void] = stored(client, voiding(target))
    stored(client, statement(id=target))
    assert get_one(client, target).status_code == 404
    assert voided_one(client, target).status_code == 200
    assert listed_ids(client) == [void]


def test_a_target_and_its_voiding_in_one_batch(client):
    target = new_id()
    [_, void] = stored(client, [statement(id=target), voiding(target)])
    assert get_one(client, target).status_code == 404
    assert listed_ids(client) == [void]
    # Voiding first in the batch, target second: the same outcome.
    target2 = new_id()
    [void2, _] = stored(client, [voiding(target2), statement(id=target2)])
    assert get_one(client, target2).status_code == 404
    assert listed_ids(client) == [void2, void]


def test_resending_a_voided_statement_does_not_unvoid_it(client):
    target = new_id()
    body = statement(id=target)
    stored(client, body)
    stored(client, voiding(target))
    assert stored(client, body) == [target]
    assert get_one(client, target).status_code == 404
    assert len(listed_ids(client)) == 1


def test_a_statement_ref_that_is_not_a_voiding_does_not_void(client):
    target = new_id()
    stored(client, statement(id=target))
    stored(client, statement(object={"objectType": "StatementRef", "id": target}))
    assert get_one(client, target).status_code == 200


def test_concurrent_posts_of_the_same_ids_store_one_copy_each(client_for, tenant, version):
    ids = [new_id() for _ in range(20)]
    body = [statement(id=sid) for sid in ids]
    clients = [client_for(tenant.key, tenant.secret, version=version) for _ in range(8)]

    def send(c):
        return post(c, body)

    with concurrent.futures.ThreadPoolExecutor(len(clients)) as pool:
        responses = list(pool.map(send, clients))
    assert [r.status_code for r in responses] == [200] * len(clients)
    assert all(r.json() == ids for r in responses)
    listed = listed_ids(clients[0])
    assert sorted(listed) == sorted(ids)


def test_concurrent_conflicting_posts_store_exactly_one_version(client_for, tenant, version):
    sid = new_id()
    bodies = [[statement(id=sid, object={"id": f"http://example.com/v{i}"})] for i in range(6)]
    clients = [client_for(tenant.key, tenant.secret, version=version) for _ in bodies]
    with concurrent.futures.ThreadPoolExecutor(len(bodies)) as pool:
        responses = list(pool.map(post, clients, bodies))
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] + [409] * (len(bodies) - 1)
    assert listed_ids(clients[0]) == [sid]


@pytest.fixture
def other(client_for, database_url, version):
    b = make_tenant(database_url)
    return client_for(b.key, b.secret, version=version)


def test_another_tenant_cannot_read_a_statement(client, other):
    [sid] = stored(client, statement())
    assert get_one(other, sid).status_code == 404
    assert listed_ids(other) == []
    assert listed_ids(other, verb=statement()["verb"]["id"]) == []


def test_another_tenant_cannot_void_a_statement(client, other):
    target = new_id()
    stored(client, statement(id=target))
    [void] = stored(other, voiding(target))
    assert get_one(client, target).status_code == 200
    assert listed_ids(client) == [target]
    assert listed_ids(other) == [void]
    assert voided_one(other, target).status_code == 404


def test_the_same_id_in_two_tenants_is_two_statements(client, other):
    sid = new_id()
    stored(client, statement(id=sid))
    # Different content under the same id is no conflict across tenants.
    assert stored(other, statement(id=sid, object={"id": "http://example.com/b"})) == [sid]
    assert get_one(client, sid).json()["object"]["id"] == "http://example.com/activities/a1"
    assert get_one(other, sid).json()["object"]["id"] == "http://example.com/b"


def test_a_voiding_by_another_tenant_before_the_target_does_not_void(client, other):
    target = new_id()
    stored(other, voiding(target))
    stored(client, statement(id=target))
    assert get_one(client, target).status_code == 200


def test_targets_and_voidings_sent_concurrently_are_always_voided(client_for, tenant, version):
    targets = [new_id() for _ in range(12)]
    requests = [statement(id=t) for t in targets] + [voiding(t) for t in targets]
    requests = requests[::2] + requests[1::2]  # interleave, voidings often first
    clients = [client_for(tenant.key, tenant.secret, version=version) for _ in range(6)]
    with concurrent.futures.ThreadPoolExecutor(len(clients)) as pool:
        responses = list(pool.map(post, clients * 4, requests))
    assert all(r.status_code == 200 for r in responses)
    for target in targets:
        assert get_one(clients[0], target).status_code == 404
        assert voided_one(clients[0], target).status_code == 200
    assert len(listed_ids(clients[0])) == len(targets)


def test_concurrent_writes_of_two_tenants_with_the_same_ids_stay_apart(client, other):
    ids = [new_id() for _ in range(10)]
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(
            lambda c, sid, n: post(c, statement(id=sid, object={"id": f"http://e.org/{n}"})),
            [client, other] * 10, [i for i in ids for _ in (0, 1)], ["a", "b"] * 10))
    assert all(r.status_code == 200 for r in results)
    assert all(get_one(client, sid).json()["object"]["id"] == "http://e.org/a" for sid in ids)
    assert all(get_one(other, sid).json()["object"]["id"] == "http://e.org/b" for sid in ids)
