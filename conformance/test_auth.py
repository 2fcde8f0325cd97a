"""Authentication (AUTH-04, AUTH-10/11, AUTH-16)."""

from __future__ import annotations

import pytest

from conformance.lib import XAPI, assert_status, read_statement


@pytest.mark.parametrize("method,path,params", [
    ("GET", "statements", {"limit": 1}),
    ("POST", "statements", None),
    ("GET", "activities/state", {"activityId": "http://conformance.example.com/a",
                                 "agent": '{"mbox":"mailto:a@conformance.example.com"}'}),
    ("GET", "agents", {"agent": '{"mbox":"mailto:a@conformance.example.com"}'}),
])
def test_auth_04_no_credentials_401(anon, f, method, path, params):
    body = f.statement() if method == "POST" else None
    r = anon.request(method, path, params=params, json_body=body)
    assert_status(r, 401)


def test_auth_01_04_wrong_secret_401(cfg, version, f):
    """The run's credential made wrong: its secret, or, for a Bearer token, the
    token's last characters (a JWT's signature)."""
    if cfg.token:
        tail = "AAAA" if not cfg.token.endswith("AAAA") else "BBBB"
        wrong = {"authorization": f"Bearer {cfg.token[:-4]}{tail}"}
    else:
        wrong = {"key": cfg.key, "secret": cfg.secret + "-wrong"}
    with XAPI(cfg, version, **wrong) as c:
        assert_status(c.get("statements", params={"limit": 1}), 401)
        s = f.statement()
        assert_status(c.post_statements(s), 401)
    with XAPI(cfg, version) as good:
        assert_status(good.get_statement(s["id"]), 404)


def test_auth_04_unknown_key_401(cfg, version):
    with XAPI(cfg, version, key="conformance-unknown-key", secret="nope") as c:
        assert_status(c.get("statements", params={"limit": 1}), 401)


def test_auth_04_malformed_authorization_401(cfg, version):
    with XAPI(cfg, version, auth=False) as c:
        for value in ["Basic not-base64!!", "Bearer", "Basic " + "Zm9v"]:  # "foo": no colon
            r = c.get("statements", params={"limit": 1}, headers={"Authorization": value})
            assert r.status_code in (400, 401), f"Authorization {value!r} -> {r.status_code}"


def test_auth_10_11_statement_has_authority(lrs, f):
    s = f.statement()
    s["authority"] = {"objectType": "Agent", "mbox": "mailto:impostor@conformance.example.com"}
    r = lrs.post_statements(s)
    assert_status(r, 200, 400, 403)
    if r.status_code != 200:
        return  # an LRS may refuse a client-sent authority
    auth = read_statement(lrs, s["id"]).get("authority")
    assert isinstance(auth, dict), "AUTH-10: every stored statement has an authority"
    s2 = f.statement()
    lrs.store(s2)
    got2 = read_statement(lrs, s2["id"])
    assert isinstance(got2.get("authority"), dict), "AUTH-10: the LRS sets an authority"


def test_auth_11_client_authority_overwritten(lrs, f):
    """1.0.3 Part Two §2.4.9, 2.0 §4.2.4.2: "The LRS SHOULD overwrite the
    authority on all stored received Statements, based on the credentials
    used", and MAY keep a client's only under a strong trust relationship.
    A SHOULD: an LRS that keeps an authority any credential can claim fails
    only this test. Refusing the statement is within the rule too."""
    s = f.statement()
    impostor = {"objectType": "Agent", "mbox": "mailto:impostor@conformance.example.com"}
    s["authority"] = impostor
    r = lrs.post_statements(s)
    assert_status(r, 200, 400, 403)
    if r.status_code == 200:
        assert read_statement(lrs, s["id"]).get("authority") != impostor, (
            "AUTH-11: the stored authority is the one the client sent, not one derived from "
            "the credentials used")


@pytest.mark.basic_auth
@pytest.mark.versions("1.0.3")
def test_auth_16_a_basic_credential_records_one_agent_as_authority(lrs, f):
    """1.0.3 Part Three §4.1, "No Application + Known User" (HTTP Basic): "the
    LRS SHOULD record the authority as the Agent representing the known user"
    — one Agent, not a Group, and the same one for every statement the
    credential writes."""
    a, b = f.statement(), f.statement()
    lrs.store([a, b])
    first, second = (read_statement(lrs, s["id"])["authority"] for s in (a, b))
    assert first.get("objectType", "Agent") == "Agent" and "member" not in first, \
        f"AUTH-16: the authority of a Basic credential is an Agent, got {first}"
    ifis = [k for k in ("mbox", "mbox_sha1sum", "openid", "account") if k in first]
    assert len(ifis) == 1, f"AUTH-16: the authority Agent is identified by one IFI, got {first}"
    assert second == first, f"AUTH-16: one credential, one authority: {first} then {second}"
