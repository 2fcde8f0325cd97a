"""Paging with `more` (STGET-16, STGET-32..35)."""

from __future__ import annotations

import pytest

from conformance.lib import assert_relative_more, assert_status, parse_iso


@pytest.mark.parametrize("ascending", ["false", "true"])
def test_stget_16_32_more_pages_no_duplicates_no_gaps(lrs, f, registration, ascending):
    n = 23
    sent = []
    for i in range(0, n, 5):  # several requests so `stored` differs across batches
        batch = [f.statement(registration=registration) for _ in range(min(5, n - i))]
        lrs.store(batch)
        sent.extend(s["id"] for s in batch)
    lrs.wait_for_count({"registration": registration}, n)
    stmts, pages = lrs.fetch_all({"registration": registration, "limit": 4, "ascending": ascending})
    ids = [s["id"] for s in stmts]
    assert len(ids) == len(set(ids)), "paging returned a statement twice"
    assert sorted(ids) == sorted(sent), "paging lost statements"
    # `limit` is a maximum: an LRS may cut a page shorter, and must then give `more`.
    assert all(len(p["statements"]) <= 4 for p in pages), "STGET-16: no page holds more than `limit`"
    for p in pages[:-1]:
        assert_relative_more(p["more"])
    assert pages[-1].get("more", "") == "", "STGET-32: the last page has an empty `more`"
    stored = [parse_iso(s["stored"]) for s in stmts]
    want = sorted(stored, reverse=(ascending == "false"))
    assert stored == want, "order holds across pages (STGET-07)"


def test_stget_16_32_exact_multiple_of_limit(lrs, f, registration):
    lrs.store([f.statement(registration=registration) for _ in range(6)])
    lrs.wait_for_count({"registration": registration}, 6)
    stmts, pages = lrs.fetch_all({"registration": registration, "limit": 3})
    assert len(stmts) == 6 and len({s["id"] for s in stmts}) == 6
    assert pages[-1].get("more", "") == ""
    assert all(len(p["statements"]) <= 3 for p in pages), "STGET-16: no page holds more than `limit`"


def test_stget_33_more_url_is_reusable(lrs, f, registration):
    lrs.store([f.statement(registration=registration) for _ in range(5)])
    lrs.wait_for_count({"registration": registration}, 5)
    first = lrs.get("statements", params={"registration": registration, "limit": 2}).json()
    more = first.get("more")
    assert more, "STGET-32: a page cut short by `limit` carries `more`"
    a = lrs.get(more)
    b = lrs.get(more)
    assert_status(a, 200)
    assert_status(b, 200)
    assert [s["id"] for s in a.json()["statements"]] == [s["id"] for s in b.json()["statements"]], \
        "following the same `more` twice gives the same page"


def test_stget_32_more_keeps_filters(lrs, f, registration):
    act = f.activity_id()
    lrs.store([f.statement(registration=registration, activity=act) for _ in range(4)])
    lrs.store([f.statement(registration=registration) for _ in range(4)])
    lrs.wait_for_count({"registration": registration}, 8)
    stmts, _ = lrs.fetch_all({"registration": registration, "activity": act, "limit": 1})
    assert len(stmts) == 4 and all(s["object"]["id"] == act for s in stmts)


def test_stget_32_more_with_format_ids(lrs, f, registration):
    lrs.store([f.statement(registration=registration) for _ in range(3)])
    lrs.wait_for_count({"registration": registration}, 3)
    stmts, _ = lrs.fetch_all({"registration": registration, "limit": 1, "format": "ids"})
    assert len(stmts) == 3
    assert "definition" not in stmts[0]["object"], "STGET-19: format=ids leaves out definitions"
    assert all("definition" not in s["object"] for s in stmts), "`more` keeps format=ids"
