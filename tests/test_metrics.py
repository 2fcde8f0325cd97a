"""The statement-path metrics move by exactly what a user did."""

from __future__ import annotations

import functools
import re

import httpx

from conformance.bench import ours
from conformance.bench.__main__ import WRITES, _group_commit_line
from tests import live

V2 = {"X-Experience-API-Version": "2.0.0"}
GOOD = {"actor": {"mbox": "mailto:m@example.org"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
        "object": {"id": "http://example.org/metrics"}}


def test_statement_counters_move_by_what_was_done(server, tenant):
    auth = (tenant.key, tenant.secret)
    url = f"{server.url}/xapi/statements"
    value = functools.partial(live.metric_total, server.url)
    before = {
        "stored": value("lrs_statements_stored_total", tenant=tenant.name),
        "validation": value("lrs_statements_rejected_total", reason="validation"),
        "auth": value("lrs_statements_rejected_total", reason="auth"),
        "conflict": value("lrs_statements_rejected_total", reason="conflict"),
        "query": value("lrs_statement_query_duration_seconds_count", filters="verb"),
    }
    ids = httpx.post(url, json=[GOOD, GOOD, GOOD], auth=auth, headers=V2).json()
    httpx.post(url, json=[GOOD, {"actor": {}}], auth=auth, headers=V2)  # 400
    httpx.post(url, json=GOOD, headers=V2)  # 401
    httpx.put(url, params={"statementId": ids[0]}, json={**GOOD, "verb": {"id": "http://x.org/v"}},
              auth=auth, headers=V2)  # 409
    httpx.get(url, params={"verb": GOOD["verb"]["id"]}, auth=auth, headers=V2)

    assert value("lrs_statements_stored_total", tenant=tenant.name) - before["stored"] == 3
    assert value("lrs_statements_rejected_total", reason="validation") - before["validation"] == 1
    assert value("lrs_statements_rejected_total", reason="auth") - before["auth"] == 1
    assert value("lrs_statements_rejected_total", reason="conflict") - before["conflict"] == 1
    assert value("lrs_statement_query_duration_seconds_count",
                 filters="verb") - before["query"] == 1


def test_no_unbounded_labels(server, tenant):
    httpx.get(f"{server.url}/xapi/statements", params={"statementId": "not-a-uuid"},
              auth=(tenant.key, tenant.secret), headers=V2)
    text = httpx.get(f"{server.url}/metrics").text
    assert tenant.key not in text and tenant.secret not in text
    assert "not-a-uuid" not in text
    assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-", text)  # no statement ids


def test_the_query_label_has_few_values_whatever_the_filters(server, tenant):
    """Found by a probe of the operations surface: each combination of
    filters was a label value of its own, 256 histograms one reading client
    could make. Only the content filters and a time bound are told apart."""
    agent = '{"mbox": "mailto:m@example.org"}'
    every = {"agent": agent, "verb": GOOD["verb"]["id"], "activity": GOOD["object"]["id"],
             "registration": "6d969975-8d7e-4506-ac19-877c57f2921a",
             "since": "2020-01-01T00:00:00Z", "until": "2030-01-01T00:00:00Z",
             "related_agents": "true", "related_activities": "true"}
    for mask in range(256):
        params = {k: v for i, (k, v) in enumerate(every.items()) if mask >> i & 1}
        response = httpx.get(f"{server.url}/xapi/statements", params=params,
                             auth=(tenant.key, tenant.secret), headers=V2)
        assert response.status_code == 200, response.text
    values = set(re.findall(r'lrs_statement_query_duration_seconds_count\{filters="([^"]*)"\}',
                            httpx.get(f"{server.url}/metrics").text))
    assert "agent+verb+activity+registration+time" in values
    assert len(values) <= 32, sorted(values)


def test_the_load_benchmark_reads_what_the_group_commits_were(server, tenant):
    # conformance.bench prints these under its table for our LRS: they must
    # move by what was written.
    before = ours.group_commits(server.url)
    url, auth = f"{server.url}/xapi/statements", (tenant.key, tenant.secret)
    assert httpx.post(url, json=[GOOD, GOOD, GOOD], auth=auth, headers=V2).status_code == 200
    assert httpx.post(url, json=GOOD, auth=auth, headers=V2).status_code == 200
    after = ours.group_commits(server.url)
    moved = {k: after[k] - before[k] for k in after}
    # One request after the other: a group commit and a call each.
    assert (moved["groups"], moved["statements"], moved["batches"], moved["calls"]) == (2, 4, 2, 2)
    assert moved["wait_seconds"] >= 0 and moved["call_seconds"] > 0
    line = _group_commit_line(WRITES[0].name, before, after)
    assert line.startswith(f"- {WRITES[0].name}: 2 group commits, 2.0 statements a group;")
