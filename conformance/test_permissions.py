"""Refusals for who is asking, not what: 403 for a credential that lacks the
permission (ERR-05), 429 for one over its request rate (ERR-07). Each needs a
credential of its own (LRS_KEY_READONLY: tenant A's, allowed to read
statements and nothing else; LRS_KEY_LIMITED: with a request rate limit);
without it the test skips and says so."""

from __future__ import annotations

import json
import time

from conformance.lib import assert_status

# Enough requests, as fast as one client sends them, to pass any rate limit
# meant to stop a runaway client; and a bound on the time spent trying.
RATE_PROBE_REQUESTS = 400
RATE_PROBE_SECONDS = 20


def test_err_05_statement_write_without_permission_403_stores_nothing(lrs_readonly, lrs, f):
    s = f.statement()
    assert_status(lrs_readonly.post_statements(s), 403)
    assert_status(lrs_readonly.put_statement(f.statement(), statement_id=s["id"]), 403)
    assert_status(lrs.get_statement(s["id"]), 404)
    # The refusal is about the permission: what the credential may do, it can.
    assert_status(lrs_readonly.get("statements", params={"limit": 1}), 200)


def test_err_05_document_write_without_permission_403_stores_nothing(lrs_readonly, lrs, f):
    params = {"activityId": f.activity_id("course"), "stateId": "bookmark",
              "agent": json.dumps(f.agent("learner"))}
    assert_status(lrs_readonly.put("activities/state", params=params, json_body={"page": 3}), 403)
    assert_status(lrs_readonly.post("activities/state", params=params, json_body={"page": 3}), 403)
    assert_status(lrs.get("activities/state", params=params), 404)


def test_err_07_over_the_rate_429(lrs_limited):
    answers: list[int] = []
    deadline = time.monotonic() + RATE_PROBE_SECONDS
    while len(answers) < RATE_PROBE_REQUESTS and time.monotonic() < deadline:
        r = lrs_limited.get("statements", params={"limit": 1})
        answers.append(r.status_code)
        if r.status_code != 200:
            break
    assert answers[-1] == 429, (
        f"after {len(answers)} requests the last answer was {answers[-1]}: a credential "
        f"refused for its request rate gets 429 (is LRS_KEY_LIMITED's limit below "
        f"{RATE_PROBE_REQUESTS} requests in {RATE_PROBE_SECONDS} s?)")
    assert set(answers[:-1]) <= {200}, answers
