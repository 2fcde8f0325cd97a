"""Inputs at the edges of what servers read: numbers of thousands of digits,
U+0000 where text goes to a database, document ids of random text too long
for a database index. ERR-01: a client error is a 4xx that fits, never a 5xx
(an LRS of ours answered each of these 500 until a fuzzing run found them)."""

from __future__ import annotations

import base64
import random
import string

import httpx
import pytest

from conformance.lib import assert_status, new_id

MANY_ZEROS = "0" * 5000


def test_stget_16_err_01_a_limit_of_thousands_of_digits_is_a_limit(lrs, f, registration):
    """5,000 digits are a non-negative integer; an LRS may also refuse a value
    that long as beyond its size limits or as suspect (1.0.3 Communication
    3.2's "Security"): 400, 413 or 414, never 5xx. Taken, it is a limit."""
    lrs.store([f.statement(registration=registration) for _ in range(2)])
    lrs.wait_for_count({"registration": registration}, 2)
    # 000...01 is 1 written with leading zeros; 1000...0 is past any server's maximum,
    # which caps it.
    for limit, count in ((MANY_ZEROS + "1", 1), ("1" + MANY_ZEROS, 2)):
        r = lrs.get("statements", params={"registration": registration, "limit": limit})
        assert_status(r, 200, 400, 413, 414, rule="ERR-01")
        if r.status_code == 200:
            got = len(r.json()["statements"])
            assert got == count, f"STGET-16: limit={limit[:3]}...{limit[-3:]} gave {got} statements, not {count}"


@pytest.mark.parametrize("authorization", [
    "Basic \u00e9t\u00e9".encode(),                                # not base64
    b"Basic " + base64.b64encode(b"a\x00b:secret"),                # a key holding U+0000
], ids=["not-base64", "key-with-nul"])
def test_err_01_basic_credentials_no_credential_can_match_get_401(anon, authorization: bytes):
    r = anon.get("statements", headers=[("Authorization", authorization)])
    assert_status(r, 401)


def _random_text(size: int, seed: int) -> str:
    rng = random.Random(seed)  # random letters: they do not compress
    return "".join(rng.choice(string.ascii_letters) for _ in range(size))


@pytest.mark.parametrize("size", [1000, 3000, 9000])
def test_err_01_err_06_a_long_state_id_is_stored_or_refused_never_5xx(lrs, size):
    params = {"activityId": f"http://example.org/edge/{new_id()}",
              "agent": '{"mbox": "mailto:edge@example.org"}',
              "stateId": _random_text(size, size)}
    r = lrs.put("activities/state", params=params, content=b'{"k": 1}',
                headers={"Content-Type": "application/json"})
    assert r.status_code < 500, f"ERR-01: a {size}-character stateId got {r.status_code}"
    back = lrs.get("activities/state", params=params)
    if 200 <= r.status_code < 300:
        assert_status(back, 200)
        assert back.json() == {"k": 1}
    else:
        assert 400 <= back.status_code < 500, "a document refused is not there"
        assert back.status_code != 200


def test_stpost_04_err_01_a_conflict_over_a_duration_of_thousands_of_digits_is_409(lrs, f):
    first = f.statement()
    first["result"] = {"duration": "PT1S"}
    lrs.store(first)
    other = {**first, "result": {"duration": "PT" + "1" * 5000 + "S"}}
    r = lrs.post_statements(other)
    assert r.status_code < 500, f"ERR-01: {r.status_code} {r.text[:300]}"
    assert_status(r, 409, rule="STPOST-04")


def _script_subtag(i: int) -> str:
    letters = string.ascii_lowercase
    return "".join(letters[i // 26 ** p % 26] for p in (3, 2, 1, 0))


def test_stget_21_err_01_canonical_maps_of_thousands_of_languages_against_a_long_header(
        lrs, f, registration):
    """Each language map of each statement is matched against the reader's
    Accept-Language: a server that compares every language with every range
    took ~8 s a statement here (5,000 languages, 1,000 ranges), holding its
    worker; 6 statements then outlast the client's 30 s."""
    display = {f"en-{_script_subtag(i)}": "x" for i in range(5000)}
    statements = []
    for _ in range(6):
        stmt = f.statement(registration=registration)
        stmt["verb"]["display"] = display
        stmt["object"]["definition"] = {"name": display, "description": display}
        statements.append(stmt)
    lrs.store(statements)
    lrs.wait_for_count({"registration": registration}, 6)
    header = ",".join(f"zq-{i:04d}" for i in range(1000))
    try:
        r = lrs.get("statements", params={"registration": registration,
                                          "format": "canonical"},
                    headers=[("Accept-Language", header)])
    except httpx.TimeoutException:
        pytest.fail("no answer within the client's timeout")
    assert_status(r, 200)
    got = r.json()["statements"]
    assert len(got) == 6
    assert all(len(s["verb"]["display"]) == 1 for s in got), "STGET-21: one language a map"
