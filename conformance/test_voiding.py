"""Voiding (IMM-04..07, STGET-02, STGET-03, STGET-31)."""

from __future__ import annotations

from conformance.lib import assert_status, new_id, read_statement


def test_stget_02_03_imm_05_voided_statement_hidden_found_by_voided_id(lrs, f, registration):
    act = f.activity_id()
    s = f.statement(registration=registration, activity=act)
    lrs.store(s)
    assert_status(lrs.wait_for_statement(s["id"]), 200)
    assert_status(lrs.get_statement(s["id"], voided=True), 404), "STGET-02: not voided yet → 404"
    v = f.voiding(s["id"], registration=registration)
    assert lrs.store(v) == [v["id"]]

    assert_status(lrs.wait_gone(s["id"]), 404)
    read_statement(lrs, s["id"], voided=True)  # STGET-02: the voided statement itself
    assert_status(lrs.wait_for_statement(v["id"]), 200)
    assert_status(lrs.get_statement(v["id"], voided=True), 404), "the voiding statement is not voided"

    ids = lrs.query_ids({"registration": registration})
    assert s["id"] not in ids, "STGET-03: a voided statement is never returned by a query"
    assert v["id"] in ids


def test_stget_30_31_statements_targeting_voided_are_returned(lrs, f):
    act = f.activity_id()
    s = f.statement(activity=act)
    lrs.store(s)
    v = f.voiding(s["id"])
    lrs.store(v)
    assert_status(lrs.wait_gone(s["id"]), 404, rule="STGET-03")
    ids = lrs.query_ids({"activity": act})
    assert s["id"] not in ids, "STGET-03: a voided statement is not listed"
    assert v["id"] in ids, "STGET-31: the voiding statement matches through its StatementRef target"


def test_imm_06_voiding_a_voiding_statement_has_no_effect(lrs, f):
    s = f.statement()
    lrs.store(s)
    v1 = f.voiding(s["id"])
    lrs.store(v1)
    v2 = f.voiding(v1["id"])
    r = lrs.post_statements(v2)
    assert_status(r, 200)
    assert_status(lrs.wait_for_statement(v2["id"]), 200)
    r1 = lrs.get_statement(v1["id"])
    assert_status(r1, 200)  # still there: a voiding statement cannot be voided
    assert_status(lrs.get_statement(v1["id"], voided=True), 404)
    assert_status(lrs.wait_gone(s["id"]), 404)  # and s stays voided


def test_imm_05_voiding_before_target_arrives(lrs, f):
    target = new_id()
    v = f.voiding(target)
    lrs.store(v)
    s = f.statement()
    s["id"] = target
    lrs.store(s)
    # whatever order they arrived in, the target is voided
    assert_status(lrs.wait_gone(target), 404)
    assert_status(lrs.wait_for_statement(target, voided=True), 200)


def test_imm_05_void_in_same_batch(lrs, f):
    s = f.statement()
    v = f.voiding(s["id"])
    r = lrs.post_statements([s, v])
    assert_status(r, 200)
    assert_status(lrs.wait_gone(s["id"]), 404)
    assert_status(lrs.wait_for_statement(s["id"], voided=True), 200)


def test_stput_01_imm_05_voiding_via_put(lrs, f):
    s = f.statement()
    lrs.store(s)
    v = f.voiding(s["id"])
    assert_status(lrs.put_statement(v), 204)
    assert_status(lrs.wait_gone(s["id"]), 404)
