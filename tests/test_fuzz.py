"""No input makes the LRS answer 5xx: random JSON, mutated statements,
random bytes and random query strings, against the live server (bounded
example counts, so the run stays short)."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

STATEMENT = {"actor": {"mbox": "mailto:f@example.org", "objectType": "Agent"},
             "verb": {"id": "http://adlnet.gov/expapi/verbs/completed", "display": {"en-US": "x"}},
             "object": {"id": "http://example.org/fuzz", "objectType": "Activity",
                        "definition": {"name": {"en-US": "n"}}},
             "result": {"score": {"scaled": 0.5}, "duration": "PT1S"},
             "context": {"registration": "6fbd600f-d17c-4c74-801a-2ec2e53231c7",
                         "contextActivities": {"parent": [{"id": "http://example.org/p"}]}}}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20)

FUZZ = settings(max_examples=120, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


def _paths(obj, prefix=()):
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield prefix + (key,)
            yield from _paths(value, prefix + (key,))
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            yield prefix + (i,)
            yield from _paths(value, prefix + (i,))


PATHS = sorted(_paths(STATEMENT), key=str)


def _replace(obj, path, value):
    if not path:
        return value
    copy = dict(obj) if isinstance(obj, dict) else list(obj)
    copy[path[0]] = _replace(copy[path[0]], path[1:], value)
    return copy


@pytest.fixture
def lrs(client_for, tenant):
    return client_for(tenant.key, tenant.secret, version="2.0.0")


@FUZZ
@given(body=json_values)
def test_random_json_is_never_a_5xx(lrs, body):
    response = lrs.post("/xapi/statements", json=body)
    assert response.status_code < 500, response.text


@FUZZ
@given(path=st.sampled_from(PATHS), value=json_values,
       version=st.sampled_from(["1.0.3", "2.0.0"]))
def test_mutated_statements_are_accepted_or_refused_cleanly(lrs, path, value, version):
    body = _replace(STATEMENT, path, value)
    response = lrs.post("/xapi/statements", json=body,
                        headers={"X-Experience-API-Version": version})
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        assert response.json()["error"]["message"]


@FUZZ
@given(raw=st.binary(max_size=200), content_type=st.sampled_from(
    ["application/json", "multipart/mixed; boundary=x", "multipart/mixed", "text/plain", ""]))
def test_random_bytes_are_never_a_5xx(lrs, raw, content_type):
    response = lrs.post("/xapi/statements", content=raw, headers={"Content-Type": content_type})
    assert response.status_code < 500, response.text


PARAMS = ["agent", "verb", "activity", "registration", "since", "until", "limit", "format",
          "attachments", "ascending", "related_agents", "related_activities", "statementId",
          "voidedStatementId", "more", "Agent", "stateId", "x"]


@FUZZ
@given(params=st.dictionaries(st.sampled_from(PARAMS),
                              st.text(max_size=30) | st.sampled_from(
                                  [json.dumps(STATEMENT["actor"]), "true", "0", "-1",
                                   "2026-01-01T00:00:00Z", "6fbd600f-d17c-4c74-801a-2ec2e53231c7"]),
                              max_size=4),
       resource=st.sampled_from(["statements", "activities/state", "activities/profile",
                                 "agents/profile", "activities", "agents"]))
def test_random_queries_are_never_a_5xx(lrs, params, resource):
    response = lrs.get(f"/xapi/{resource}", params=params)
    assert response.status_code < 500, (params, response.text)
