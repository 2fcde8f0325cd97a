import copy
import uuid
from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lrs.xapi.prepare import (new_statement_id, new_statement_ids, prepare_statement, to_utc,
                              utc_now_iso)
from lrs.xapi.versions import V1, V2

NOW = "2024-05-01T12:00:00.123Z"
AUTHORITY = {"objectType": "Agent", "account": {"homePage": "https://lrs.example", "name": "k1"}}


def statement(**extra):
    stmt = {
        "actor": {"mbox": "mailto:a@example.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/attempted", "display": {"en-US": "attempted"}},
        "object": {"id": "http://example.com/activity"},
    }
    stmt.update(extra)
    return stmt


def prepare(stmt, version=V1):
    return prepare_statement(stmt, version=version, authority=AUTHORITY, now_iso=NOW)


def test_assigns_a_uuid4_when_id_absent():
    out = prepare(statement())
    assert uuid.UUID(out["id"]).version == 4


def test_assigned_ids_are_canonical_random_uuids():
    # One at a time and drawn together (ingest.batch draws a batch's at once).
    ids = [new_statement_id() for _ in range(5_000)] + new_statement_ids(5_000)
    assert len(set(ids)) == len(ids)
    for sid in ids:
        parsed = uuid.UUID(sid)
        assert (str(parsed), parsed.version, parsed.variant) == (sid, 4, uuid.RFC_4122)


def test_takes_the_given_new_id_only_when_id_absent():
    sid = "12345678-1234-4234-8234-123456789012"
    new_id = new_statement_ids(1)[0]
    given = prepare_statement(statement(), version=V1, authority=AUTHORITY, now_iso=NOW,
                              new_id=new_id)
    kept = prepare_statement(statement(id=sid), version=V1, authority=AUTHORITY, now_iso=NOW,
                             new_id=new_id)
    assert given["id"] == new_id
    assert kept["id"] == sid


def test_keeps_a_client_id():
    sid = "12345678-1234-4234-8234-123456789012"
    assert prepare(statement(id=sid))["id"] == sid


def test_missing_timestamp_is_the_stored_time():
    # 1.0.3 Data 2.4.7 / 2.0 LRS 4.2.4.2: timestamp defaults to stored.
    assert prepare(statement())["timestamp"] == NOW


def test_client_timestamp_kept_and_converted_to_utc():
    assert prepare(statement(timestamp="2013-05-18T05:32:34.804Z"))["timestamp"] == \
        "2013-05-18T05:32:34.804Z"
    assert prepare(statement(timestamp="2013-05-18T07:32:34.804+02:00"))["timestamp"] == \
        "2013-05-18T05:32:34.804Z"


def test_authority_is_always_replaced():
    out = prepare(statement(authority={"mbox": "mailto:forged@example.com"}))
    assert out["authority"] == AUTHORITY


def test_stored_sent_by_client_is_dropped():
    # 1.0.3 Data 2.4.8: the LRS MUST overwrite stored; the store sets it.
    out = prepare(statement(stored="2000-01-01T00:00:00Z"))
    assert "stored" not in out


def test_version_defaults_per_request_version():
    assert prepare(statement(), V1)["version"] == "1.0.0"
    assert prepare(statement(), V2)["version"] == "2.0.0"


def test_client_version_is_retained():
    assert prepare(statement(version="1.0.3"), V1)["version"] == "1.0.3"
    assert prepare(statement(version="2.0.0"), V2)["version"] == "2.0.0"


def test_single_context_activities_become_arrays():
    stmt = statement(context={
        "registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7",
        "contextActivities": {
            "parent": {"id": "http://example.com/parent"},
            "grouping": [{"id": "http://example.com/g"}],
        }})
    out = prepare(stmt)
    assert out["context"]["contextActivities"] == {
        "parent": [{"id": "http://example.com/parent"}],
        "grouping": [{"id": "http://example.com/g"}],
    }
    assert out["context"]["registration"] == stmt["context"]["registration"]


def test_substatement_context_activities_become_arrays():
    sub = {"objectType": "SubStatement", "actor": {"mbox": "mailto:b@example.com"},
           "verb": {"id": "http://example.com/v"}, "object": {"id": "http://example.com/o"},
           "timestamp": "2030-01-01T01:00:00+01:00",
           "context": {"contextActivities": {"other": {"id": "http://example.com/x"}}}}
    out = prepare(statement(object=sub))
    assert out["object"]["context"]["contextActivities"]["other"] == [{"id": "http://example.com/x"}]
    assert out["object"]["timestamp"] == "2030-01-01T00:00:00Z"


def test_input_is_not_mutated():
    stmt = statement(
        stored="2000-01-01T00:00:00Z",
        context={"contextActivities": {"parent": {"id": "http://example.com/p"}}},
        object={"objectType": "SubStatement", "actor": {"mbox": "mailto:b@example.com"},
                "verb": {"id": "http://example.com/v"}, "object": {"id": "http://example.com/o"},
                "context": {"contextActivities": {"other": {"id": "http://example.com/x"}}}})
    before = copy.deepcopy(stmt)
    prepare(stmt)
    assert stmt == before


def test_context_already_in_array_form_is_shared_not_copied():
    stmt = statement(context={"contextActivities": {"parent": [{"id": "http://example.com/p"}]}})
    assert prepare(stmt)["context"] is stmt["context"]


def test_to_utc():
    assert to_utc("2020-01-01T00:00:00Z") == "2020-01-01T00:00:00Z"
    assert to_utc("2020-01-01t00:00:00.5z") == "2020-01-01t00:00:00.5z"
    assert to_utc("2020-01-01T00:00:00+00:00") == "2020-01-01T00:00:00+00:00"
    assert to_utc("2020-01-01T05:30:00.123456789+05:30") == "2020-01-01T00:00:00.123456789Z"
    assert to_utc("2020-01-01T00:30:00-01:00") == "2020-01-01T01:30:00Z"
    assert to_utc("2020-01-01T00:00:00") == "2020-01-01T00:00:00Z"
    assert to_utc("20200101T000000-0100") == "2020-01-01T01:00:00Z"
    assert to_utc("2020-01-01T00:30:00.5+01:00") == "2019-12-31T23:30:00.5Z"
    assert to_utc("not a timestamp") == "not a timestamp"


@pytest.mark.parametrize("sent, kept", [
    # ISO 8601 forms 1.0.3 accepts and RFC 3339 (2.0's format) lacks, all UTC
    ("20240501T120000Z", "2024-05-01T12:00:00Z"),
    ("2024-05-01T12:00:00,5Z", "2024-05-01T12:00:00.5Z"),
    ("2024-05-01T12:00Z", "2024-05-01T12:00:00Z"),
    ("2024-05-01T12:00:00.123+0000", "2024-05-01T12:00:00.123Z"),
    ("2024-05-01T12:00:00+00", "2024-05-01T12:00:00Z"),
    ("2024-05-01 12:00:00Z", "2024-05-01T12:00:00Z"),
    # already RFC 3339 in UTC: as sent
    ("2024-05-01T12:00:00.000+00:00", "2024-05-01T12:00:00.000+00:00"),
    ("2024-05-01t12:00:00z", "2024-05-01t12:00:00z"),
    ("2024-05-01T12:00:00.1234567Z", "2024-05-01T12:00:00.1234567Z"),
])
def test_utc_timestamps_are_kept_in_rfc_3339_form(sent, kept):
    assert to_utc(sent) == kept


def test_utc_now_iso():
    moment = datetime(2024, 5, 1, 14, 0, 0, 123999, tzinfo=timezone.utc)
    assert utc_now_iso(moment) == "2024-05-01T14:00:00.123Z"
    assert utc_now_iso().endswith("Z")


json_leaf = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
json_value = st.recursive(json_leaf, lambda inner: st.lists(inner, max_size=3)
                          | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=10)


@given(extensions=st.dictionaries(st.text(max_size=8).map(lambda s: "http://x.org/" + s),
                                  json_value, max_size=4),
       version=st.sampled_from([V1, V2]),
       single=st.booleans())
def test_prepare_never_loses_data(extensions, version, single):
    activity = {"id": "http://example.com/p", "definition": {"name": {"en": "P"}}}
    stmt = statement(
        result={"success": True, "extensions": extensions},
        context={"extensions": extensions,
                 "contextActivities": {"parent": activity if single else [activity]}})
    before = copy.deepcopy(stmt)
    out = prepare(stmt, version)
    assert stmt == before
    for key in ("actor", "verb", "object", "result"):
        assert out[key] == stmt[key]
    assert out["context"]["extensions"] == extensions
    assert out["context"]["contextActivities"]["parent"] == [activity]
    assert set(out) == set(stmt) | {"id", "timestamp", "authority", "version"}
